//! `GET /metrics` and `GET /releases/{name}/retrospective`: release metrics and the
//! post-release review, read off the event log (`lockstep_core::metrics`).
//!
//! The server keeps one [`Ledger`] and folds only the events committed since the last
//! request, so a request costs the new events, not the whole log.

use std::sync::Arc;

use axum::Json;
use axum::extract::Path;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use lockstep_core::metrics::Ledger;
use serde_json::Value;

use axum::extract::State as Extract;

use crate::extract::ListQuery;
use crate::{ApiError, AppState};

/// Days a period spans when the request names no start.
pub const DEFAULT_DAYS: i32 = 90;

async fn ledger(app: &AppState) -> Result<tokio::sync::MutexGuard<'_, Ledger>, ApiError> {
    let mut ledger = app.ledger.lock().await;
    app.program.fold_ledger(&mut ledger).await?;
    Ok(ledger)
}

fn date_param(query: &ListQuery, key: &str) -> Result<Option<Date>, ApiError> {
    query
        .filters(&["from", "to"])?
        .get(key)
        .map(|raw| {
            raw.parse::<Date>().map_err(|_| {
                ApiError::bad_request(key, format!("`{raw}` is not a date: use YYYY-MM-DD"))
            })
        })
        .transpose()
}

/// The period `[from, to)` of whole UTC days: `to` is the day after the last (today by
/// default), `from` defaults to [`DEFAULT_DAYS`] before it.
pub fn period(
    from: Option<Date>,
    to: Option<Date>,
    now: Timestamp,
) -> Result<(Timestamp, Timestamp), String> {
    let last = to.unwrap_or_else(|| now.to_zoned_datetime(TimeZone::UTC).date());
    let end = last
        .checked_add(1.day())
        .map_err(|_| format!("{last} is too late a date"))?;
    let start = match from {
        Some(from) => from,
        None => end
            .checked_sub(DEFAULT_DAYS.days())
            .map_err(|_| format!("{last} is too early a date"))?,
    };
    if start >= end {
        return Err(format!(
            "the period starts ({start}) after it ends ({last})"
        ));
    }
    let instant = |date: Date| {
        date.to_datetime(jiff::civil::Time::midnight())
            .to_zoned_datetime(TimeZone::UTC)
            .map(|zoned| zoned.timestamp())
            .map_err(|e| e.to_string())
    };
    Ok((instant(start)?, instant(end)?))
}

/// `GET /metrics?from=&to=`: the figures of releases shipped from `from` to `to`
/// (inclusive UTC days; the last 90 days by default).
pub(crate) async fn metrics(
    Extract(app): Extract<Arc<AppState>>,
    query: ListQuery,
) -> Result<Json<Value>, ApiError> {
    let (from, to) = period(
        date_param(&query, "from")?,
        date_param(&query, "to")?,
        Timestamp::now(),
    )
    .map_err(|detail| ApiError::bad_request("from", detail))?;
    let ledger = ledger(&app).await?;
    let state = app.state.read().await;
    let zones =
        crate::runs::time_zones(&state).map_err(|e| ApiError::unprocessable("timeZone", e))?;
    Ok(Json(
        serde_json::to_value(ledger.metrics(&state, &zones, from, to))
            .map_err(|e| ApiError::Internal(format!("metrics: {e}")))?,
    ))
}

/// `GET /releases/{name}/retrospective`: the seeds' post-release review questions with
/// the facts the log holds.
pub(crate) async fn retrospective(
    Extract(app): Extract<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ledger = ledger(&app).await?;
    let state = app.state.read().await;
    let release = crate::wire::path_name("release", &name)?;
    let retro = ledger
        .retrospective(&state, &release)
        .ok_or(ApiError::NotFound {
            kind: "release",
            name,
        })?;
    Ok(Json(serde_json::to_value(retro).map_err(|e| {
        ApiError::Internal(format!("retrospective: {e}"))
    })?))
}
