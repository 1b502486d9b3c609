//! iCalendar feeds over HTTP, at stable URLs carrying a per-user secret:
//! `/feeds/{token}/org.ics`, `/feeds/{token}/teams/{team}.ics` and
//! `/feeds/{token}/releases/{release}.ics`; the token API (`POST /api/v1/me/feed-token`)
//! and the subscribe page (`/feeds`).
//!
//! Calendar apps poll a URL and cannot send headers, so the URL is the credential. The
//! token is stored as its SHA-256 (`lockstep_store::auth`), shown once, and replaced
//! when rotated. A wrong, rotated or unknown token, and an unknown release or team, all
//! get the same 404, so the feed URL space reveals nothing. Responses carry a weak
//! `ETag` over the feed without its `DTSTAMP` lines (which change with every request),
//! and `If-None-Match` gets a 304, so a calendar app polling an unchanged plan costs a
//! digest and no body. The feed itself is written by `lockstep_comms::calendar`; this
//! module only authenticates, picks the scope and speaks HTTP.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, State as Extract};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use lockstep_comms::calendar::{Scope, feed};
use lockstep_core::Name;
use lockstep_store::auth::AuthStore;
use serde_json::json;
use sha2::Digest as _;

use crate::auth::{Caller, Via, digest, random_secret};
use crate::pages::escape;
use crate::{ApiError, AppState};

/// The prefix of feed tokens, so a leaked one is recognisable (and never confused with an
/// API token, `lst_`).
pub const FEED_TOKEN_PREFIX: &str = "lsf_";

/// Makes a new feed token for user `name`, replacing the old one (whose URLs stop
/// working). The token is returned once and stored hashed.
pub async fn rotate_feed_token(
    auth: &AuthStore,
    name: &str,
    now: jiff::Timestamp,
) -> Result<String, ApiError> {
    if auth.user(name).await?.is_none() {
        return Err(ApiError::NotFound {
            kind: "user",
            name: name.to_owned(),
        });
    }
    let token = format!("{FEED_TOKEN_PREFIX}{}", random_secret()?);
    auth.set_feed_token(name, &digest(&token), now.as_second())
        .await?;
    Ok(token)
}

/// The feed paths of `token`: organization-wide, the user's team (when their member
/// handle belongs to one) and every release, by name.
pub fn feed_paths(
    token: &str,
    team: Option<&Name>,
    releases: &[&Name],
) -> (String, Option<String>, Vec<(String, String)>) {
    (
        format!("/feeds/{token}/org.ics"),
        team.map(|team| format!("/feeds/{token}/teams/{team}.ics")),
        releases
            .iter()
            .map(|release| {
                (
                    release.to_string(),
                    format!("/feeds/{token}/releases/{release}.ics"),
                )
            })
            .collect(),
    )
}

/// The one answer for every feed that cannot be served: no hint whether the token, the
/// release or the team was wrong.
fn hidden() -> ApiError {
    ApiError::NotFound {
        kind: "feed",
        name: "this feed".to_owned(),
    }
}

/// `name.ics` → `name`, as a valid name; anything else is hidden.
fn ics_name(file: &str) -> Result<Name, ApiError> {
    file.strip_suffix(".ics")
        .and_then(|stem| Name::parse(stem).ok())
        .ok_or_else(hidden)
}

/// The weak validator of a feed: its digest without the `DTSTAMP` lines, which are the
/// serving time and say nothing about the plan.
fn etag(body: &str) -> String {
    let mut hasher = sha2::Sha256::new();
    for line in body.split("\r\n") {
        if !line.starts_with("DTSTAMP:") {
            hasher.update(line.as_bytes());
            hasher.update(b"\n");
        }
    }
    let digest = hasher.finalize();
    format!("W/\"{}\"", crate::auth::hex(&digest[..16]))
}

/// Whether `If-None-Match` names `etag` (weak comparison, `*` matches anything).
fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim() == "*" || opaque(tag) == opaque(etag))
}

async fn serve_feed(
    app: &AppState,
    token: &str,
    scope: Scope,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    if !token.starts_with(FEED_TOKEN_PREFIX) {
        return Err(hidden());
    }
    app.auth
        .user_by_feed_token(&digest(token))
        .await?
        .ok_or_else(hidden)?;
    let body = {
        let state = app.state.read().await;
        feed(&state, &scope, app.now()).map_err(|_| hidden())?
    };
    let etag = etag(&body);
    let etag_value =
        HeaderValue::from_str(&etag).map_err(|e| ApiError::Internal(format!("etag: {e}")))?;
    // Feed URLs are secrets: no shared cache may keep them.
    let cache = HeaderValue::from_static("private, max-age=300");
    if not_modified(headers, &etag) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag_value), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/calendar; charset=utf-8"),
            ),
            (header::ETAG, etag_value),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response())
}

/// `GET /feeds/{token}/org.ics`: every release and blackout.
pub(crate) async fn organization(
    Extract(app): Extract<Arc<AppState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    serve_feed(&app, &token, Scope::Organization, &headers).await
}

/// `GET /feeds/{token}/releases/{release}.ics`.
pub(crate) async fn release(
    Extract(app): Extract<Arc<AppState>>,
    Path((token, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let release = ics_name(&file)?;
    serve_feed(&app, &token, Scope::Release(release), &headers).await
}

/// `GET /feeds/{token}/teams/{team}.ics`.
pub(crate) async fn team(
    Extract(app): Extract<Arc<AppState>>,
    Path((token, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let team = ics_name(&file)?;
    serve_feed(&app, &token, Scope::Team(team), &headers).await
}

/// The team of the caller's member handle, and every release, for listing feed URLs.
async fn subscriptions_of(app: &AppState, member: Option<&Name>) -> (Option<Name>, Vec<Name>) {
    let state = app.state.read().await;
    let team = member
        .and_then(|m| state.team_of_member(m.as_str()))
        .cloned();
    (team, state.releases().keys().cloned().collect())
}

/// `POST /api/v1/me/feed-token`: a new feed token for the caller (the old one stops
/// working), with the feed paths it opens. Shown once.
pub(crate) async fn rotate(
    Extract(app): Extract<Arc<AppState>>,
    caller: Caller,
    _: crate::extract::NoBody,
) -> Result<Response, ApiError> {
    let principal = caller.principal()?;
    let token = rotate_feed_token(&app.auth, &principal.user, app.now()).await?;
    let (team, releases) = subscriptions_of(&app, principal.member.as_ref()).await;
    let release_names: Vec<&Name> = releases.iter().collect();
    let (organization, team_path, release_paths) =
        feed_paths(&token, team.as_ref(), &release_names);
    let releases: serde_json::Map<String, serde_json::Value> = release_paths
        .into_iter()
        .map(|(name, path)| (name, json!(path)))
        .collect();
    let body = json!({
        "token": token,
        "organization": organization,
        "team": team_path,
        "releases": releases,
    });
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        axum::Json(body),
    )
        .into_response())
}

/// The base URL the caller reached us at, for absolute feed links.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

/// `GET /feeds?release=R|team=T`: how to subscribe, with a button that makes the links.
pub(crate) async fn page(caller: Caller, uri: axum::http::Uri) -> Result<Response, ApiError> {
    if caller.principal.is_none() {
        let next = uri.path_and_query().map_or("/feeds", |p| p.as_str());
        return Ok(Redirect::to(&format!("/login?next={}", url_encode(next))).into_response());
    }
    let query = crate::extract::form_pairs(uri.query().unwrap_or(""));
    let field = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let (what, hidden_field) = match (field("release"), field("team")) {
        (Some(release), _) => (
            format!("release {}", escape(&release)),
            format!(
                r#"<input type="hidden" name="release" value="{}">"#,
                escape(&release)
            ),
        ),
        (None, Some(team)) => (
            format!("team {}", escape(&team)),
            format!(
                r#"<input type="hidden" name="team" value="{}">"#,
                escape(&team)
            ),
        ),
        (None, None) => ("every release".to_owned(), String::new()),
    };
    let body = format!(
        r#"<h1>Subscribe in your calendar</h1>
<p>Calendar apps (Google Calendar, Outlook, Apple Calendar, Thunderbird) can follow the
release calendar of {what}: release days, freezes, milestones, deployment windows and
blackouts, updated as the plan changes.</p>
<p>The link carries a secret that is yours alone. Making a new one replaces the old:
calendars subscribed with the old link stop updating.</p>
<form method="post" action="/feeds"><input type="hidden" name="csrf" value="{csrf}">{hidden_field}
<button type="submit">Make my calendar link</button></form>"#,
        csrf = escape(caller.csrf().unwrap_or("")),
    );
    let role = None;
    Ok(Html(crate::pages::layout(
        "Calendar feeds",
        &caller,
        role,
        "/feeds",
        &body,
    ))
    .into_response())
}

/// `POST /feeds` (form: csrf, release or team): rotates the caller's feed token and shows
/// the links once.
pub(crate) async fn make_links(
    Extract(app): Extract<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let principal = caller.principal()?.clone();
    let form = crate::extract::form_pairs(&String::from_utf8_lossy(&body));
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let Via::Session { csrf } = &caller.via
        && !crate::auth::same(field("csrf").unwrap_or(""), csrf)
    {
        return Err(ApiError::CsrfMismatch);
    }
    let token = rotate_feed_token(&app.auth, &principal.user, app.now()).await?;
    let base = base_url(&headers);
    let (team, releases) = subscriptions_of(&app, principal.member.as_ref()).await;
    let wanted_release = field("release").and_then(|r| Name::parse(r).ok());
    let wanted_team = field("team").and_then(|t| Name::parse(t).ok());
    let release_names: Vec<&Name> = releases
        .iter()
        .filter(|r| wanted_release.as_ref().is_none_or(|w| w == *r))
        .collect();
    let team = wanted_team.or(team);
    let (organization, team_path, release_paths) =
        feed_paths(&token, team.as_ref(), &release_names);
    let mut links = String::new();
    let mut link = |label: &str, path: &str| {
        let http = format!("{base}{path}");
        let webcal = http
            .replacen("https://", "webcal://", 1)
            .replacen("http://", "webcal://", 1);
        let _ = write!(
            links,
            r#"<li>{label}: <a href="{webcal}">subscribe</a> · <code>{http}</code></li>"#,
            label = escape(label),
            webcal = escape(&webcal),
            http = escape(&http),
        );
    };
    for (name, path) in &release_paths {
        link(&format!("Release {name}"), path);
    }
    if let Some(path) = &team_path
        && let Some(team) = &team
    {
        link(&format!("Team {team}"), path);
    }
    link("Everything", &organization);
    let body = format!(
        r#"<h1>Your calendar links</h1>
<p>Copy a link into your calendar app (“subscribe to calendar” / “from URL”). They are
shown once; your previous links no longer work.</p><ul class="feeds">{links}</ul>"#
    );
    let mut response = Html(crate::pages::layout(
        "Calendar feeds",
        &caller,
        None,
        "/feeds",
        &body,
    ))
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_etag_ignores_the_serving_time_but_not_the_plan() {
        let a = "BEGIN:VEVENT\r\nDTSTAMP:20250120T120000Z\r\nSUMMARY:x\r\n";
        let b = "BEGIN:VEVENT\r\nDTSTAMP:20250121T080000Z\r\nSUMMARY:x\r\n";
        let c = "BEGIN:VEVENT\r\nDTSTAMP:20250120T120000Z\r\nSUMMARY:y\r\n";
        assert_eq!(etag(a), etag(b));
        assert_ne!(etag(a), etag(c));
        assert!(etag(a).starts_with("W/\""));
    }

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists() {
        let tag = "W/\"abc\"";
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", \"abc\""),
        );
        assert!(not_modified(&headers, tag));
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("W/\"other\""),
        );
        assert!(!not_modified(&headers, tag));
        assert!(!not_modified(&HeaderMap::new(), tag));
    }

    #[test]
    fn only_names_ending_in_ics_are_feeds() {
        assert!(ics_name("q1-2025.ics").is_ok());
        assert!(ics_name("q1-2025").is_err());
        assert!(ics_name("../x.ics").is_err());
    }
}
