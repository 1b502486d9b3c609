//! API tokens with a life cycle: issued with an optional expiry, listed without their
//! secret, revoked by id; and `/api/v1/tokens`, where a user manages their own.
//!
//! A token is `lst_` + 32 random bytes in hex, stored as its SHA-256 digest; its public
//! id is the first 12 hex digits of that digest, enough to name it and useless to
//! forge it. An expired or revoked token is refused with 401 and a problem saying
//! which, so a script knows to get a new one rather than retry.
//!
//! `POST /api/v1/tokens` is also where `lockstep login` trades a user name and password
//! (HTTP Basic, on this route only) for a token. These routes are deliberately outside
//! the `Idempotency-Key` layer: a replayed response would keep a token in clear text
//! in the idempotency table.
//!
//! What it does not do: decide roles (`lockstep_core::access`), or let anyone but an
//! administrator touch another user's tokens.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Request, State as Extract};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use lockstep_store::auth::{AuthStore, NewToken, TokenRecord, UserRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Caller, Via, digest, principal_of, random_secret, verify_password};
use crate::extract::ApiJson;
use crate::{ApiError, AppState};

type Shared = Extract<Arc<AppState>>;

/// The longest expiry a token may be given: ten years.
const MAX_EXPIRY_DAYS: i64 = 3650;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/tokens", get(list_own).post(create_own))
        .route("/tokens/{id}", delete(revoke_own))
}

/// A token just issued: the only time its secret is seen.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// Public id.
    pub id: String,
    /// The secret, `lst_…`.
    pub token: String,
    /// When it stops working.
    pub expires_at: Option<jiff::Timestamp>,
}

/// Parses an expiry such as `30d`, `12h` or `2w` (a whole number and a unit: `h`
/// hours, `d` days, `w` weeks), at most ten years.
pub fn parse_expiry(raw: &str) -> Result<jiff::SignedDuration, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let number: i64 = number.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
        format!("`{raw}` is not an expiry: use a whole number and h, d or w, as in `30d`")
    })?;
    let hours = match unit {
        "h" => number,
        "d" => number.saturating_mul(24),
        "w" => number.saturating_mul(24 * 7),
        _ => {
            return Err(format!(
                "`{raw}` is not an expiry: the unit is h (hours), d (days) or w (weeks), as in `30d`"
            ));
        }
    };
    if hours > MAX_EXPIRY_DAYS * 24 {
        return Err(format!(
            "`{raw}` is too long: a token expires within {MAX_EXPIRY_DAYS} days"
        ));
    }
    Ok(jiff::SignedDuration::from_hours(hours))
}

/// Issues a token for `user_name` (who must exist); the caller checks that.
pub(crate) async fn issue(
    auth: &AuthStore,
    user_name: &str,
    label: Option<&str>,
    expires_in: Option<jiff::SignedDuration>,
    now: jiff::Timestamp,
) -> Result<IssuedToken, ApiError> {
    if let Some(label) = label
        && (label.len() > 100 || label.chars().any(char::is_control))
    {
        return Err(ApiError::unprocessable(
            "label",
            "a label is at most 100 characters, without control characters",
        ));
    }
    // Whole seconds, as stored: the answer and every later listing agree.
    let expires_at = expires_in
        .map(|ttl| {
            now.checked_add(ttl)
                .and_then(|at| jiff::Timestamp::from_second(at.as_second()))
        })
        .transpose()
        .map_err(|_| ApiError::unprocessable("expiresIn", "the expiry is out of range"))?;
    let token = format!("lst_{}", random_secret()?);
    let token_hash = digest(&token);
    let id = token_hash[..12].to_owned();
    auth.add_token(&NewToken {
        id: &id,
        token_hash: &token_hash,
        user_name,
        label,
        created_at: now.as_second(),
        expires_at: expires_at.map(|at| at.as_second()),
    })
    .await?;
    Ok(IssuedToken {
        id,
        token,
        expires_at,
    })
}

/// The user behind bearer `token`, or 401 saying whether it is unknown, expired or
/// revoked.
pub(crate) async fn check(app: &AppState, token: &str) -> Result<UserRecord, ApiError> {
    let now = app.now().as_second();
    let Some((record, user)) = app.auth().token(&digest(token)).await? else {
        return Err(ApiError::Unauthenticated("unknown token".into()));
    };
    if let Some(at) = record.revoked_at {
        return Err(ApiError::Unauthenticated(format!(
            "token {} was revoked at {}",
            record.id,
            instant(at)
        )));
    }
    if let Some(at) = record.expires_at
        && now >= at
    {
        return Err(ApiError::Unauthenticated(format!(
            "token {} expired at {}; issue a new one",
            record.id,
            instant(at)
        )));
    }
    Ok(user)
}

fn instant(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds).map_or_else(|_| seconds.to_string(), |t| t.to_string())
}

/// Whether `request` is a password exchange: `POST /api/v1/tokens` with HTTP Basic.
pub(crate) fn is_password_exchange(request: &Request) -> bool {
    request.method() == Method::POST
        && request.uri().path() == "/api/v1/tokens"
        && request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Basic "))
}

/// The caller of a password exchange: HTTP Basic checked against the password hash.
/// The principal acts as if it came with a token (no CSRF: a browser never sends
/// these credentials by itself to this route, because no page asks for them).
pub(crate) async fn resolve_basic(app: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let refused = || ApiError::Unauthenticated("wrong user name or password".into());
    let encoded = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .ok_or_else(refused)?;
    let decoded = base64_decode(encoded.trim()).ok_or_else(|| {
        ApiError::Unauthenticated("the Basic credentials are not valid base64".into())
    })?;
    let text = String::from_utf8(decoded).map_err(|_| refused())?;
    let (name, password) = text.split_once(':').ok_or_else(refused)?;
    let user = app.auth().user(name).await?;
    let valid = match user.as_ref().and_then(|u| u.password_hash.as_deref()) {
        Some(hash) => verify_password(hash, password),
        None => {
            // Hash anyway, so that the answer takes as long for a user who does not
            // exist: timing must not tell which names do.
            let _ = crate::auth::hash_password(password, app.config.password_cost);
            false
        }
    };
    match user.filter(|_| valid) {
        Some(user) => Ok(Caller {
            principal: Some(principal_of(user)),
            via: Via::Token,
        }),
        None => {
            tracing::warn!(
                user = name,
                "token exchange refused: wrong user name or password"
            );
            Err(refused())
        }
    }
}

/// Standard base64 with padding (RFC 4648), as HTTP Basic uses.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) || bytes.len() > 4096 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for chunk in bytes.chunks(4) {
        let padding = chunk.iter().rev().take_while(|c| **c == b'=').count();
        if padding > 2 {
            return None;
        }
        let mut acc = 0_u32;
        for (index, c) in chunk.iter().enumerate() {
            let v = if index >= 4 - padding { 0 } else { value(*c)? };
            acc = (acc << 6) | v;
        }
        let [_, a, b, c] = acc.to_be_bytes();
        out.extend_from_slice(&[a, b, c][..3 - padding]);
    }
    Some(out)
}

/// The public view of a token: never its secret or digest.
pub fn token_json(token: &TokenRecord, now: jiff::Timestamp) -> Value {
    let state = if token.revoked_at.is_some() {
        "revoked"
    } else if token.is_valid(now.as_second()) {
        "active"
    } else {
        "expired"
    };
    let at = |seconds: Option<i64>| seconds.map(instant);
    json!({
        "id": token.id,
        "user": token.user_name,
        "label": token.label,
        "createdAt": instant(token.created_at),
        "expiresAt": at(token.expires_at),
        "revokedAt": at(token.revoked_at),
        "state": state,
    })
}

/// `POST /api/v1/tokens` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateToken {
    /// What it is for.
    #[serde(default)]
    label: Option<String>,
    /// `30d`, `12h`, `2w`; absent: never expires.
    #[serde(default)]
    expires_in: Option<String>,
}

/// `GET /api/v1/tokens`: the caller's tokens.
async fn list_own(Extract(app): Shared, caller: Caller) -> Result<Json<Value>, ApiError> {
    let principal = caller.principal()?;
    let now = app.now();
    let tokens = app.auth().tokens_of(&principal.user).await?;
    Ok(Json(json!({
        "items": tokens.iter().map(|t| token_json(t, now)).collect::<Vec<_>>(),
    })))
}

/// `POST /api/v1/tokens`: a new token for the caller, shown once.
async fn create_own(
    Extract(app): Shared,
    caller: Caller,
    ApiJson(body): ApiJson<CreateToken>,
) -> Result<Response, ApiError> {
    let principal = caller.principal()?;
    let expires_in = body
        .expires_in
        .as_deref()
        .map(parse_expiry)
        .transpose()
        .map_err(|detail| ApiError::unprocessable("expiresIn", detail))?;
    let now = app.now();
    let issued = issue(
        app.auth(),
        &principal.user,
        body.label.as_deref(),
        expires_in,
        now,
    )
    .await?;
    tracing::info!(user = %principal.user, id = %issued.id, "issued a token");
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, "no-store")],
        Json(json!({
            "id": issued.id,
            "token": issued.token,
            "user": principal.user,
            "label": body.label,
            "expiresAt": issued.expires_at,
        })),
    )
        .into_response())
}

/// `DELETE /api/v1/tokens/{id}`: revokes one of the caller's tokens (an administrator:
/// anyone's). Someone else's token is "not found", so ids cannot be probed.
async fn revoke_own(
    Extract(app): Shared,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let principal = caller.principal()?;
    let not_found = || ApiError::NotFound {
        kind: "token",
        name: id.clone(),
    };
    let token = app
        .auth()
        .token_by_id(&id)
        .await?
        .filter(|t| principal.admin || t.user_name == principal.user)
        .ok_or_else(not_found)?;
    let now = app.now();
    app.auth().revoke_token(&token.id, now.as_second()).await?;
    tracing::info!(user = %principal.user, id = %token.id, "revoked a token");
    let token = app.auth().token_by_id(&id).await?.ok_or_else(not_found)?;
    Ok(Json(token_json(&token, now)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_are_a_number_and_a_unit() {
        assert_eq!(
            parse_expiry("30d"),
            Ok(jiff::SignedDuration::from_hours(720))
        );
        assert_eq!(
            parse_expiry("12h"),
            Ok(jiff::SignedDuration::from_hours(12))
        );
        assert_eq!(
            parse_expiry("2w"),
            Ok(jiff::SignedDuration::from_hours(336))
        );
        for bad in ["", "d", "30", "30 days", "-1d", "0d", "1y", "99999d"] {
            assert!(parse_expiry(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn basic_credentials_decode() {
        assert_eq!(
            base64_decode("YWRtaW46YWRtaW4=").as_deref(),
            Some(&b"admin:admin"[..])
        );
        assert_eq!(
            base64_decode("bWlrZTpwdw==").as_deref(),
            Some(&b"mike:pw"[..])
        );
        assert_eq!(base64_decode("YWJj").as_deref(), Some(&b"abc"[..]));
        assert_eq!(base64_decode("abc"), None);
        assert_eq!(base64_decode("a===").as_deref(), None);
        assert_eq!(base64_decode("ab!="), None);
    }
}
