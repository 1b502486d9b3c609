//! Security headers on every response, and static files served from a set embedded in
//! the binary.
//!
//! The content security policy allows scripts and styles only from this origin, so no
//! inline script can run; frames are refused. Static files are looked up by exact name
//! in a fixed table, never on the file system, so no path (`..`, `%2f`, absolute) can
//! reach anything else.

use axum::extract::{Path, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::ApiError;

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'; \
                   object-src 'none'";

/// Adds the security headers to every response.
pub async fn headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// The embedded static files: (name, content type, bytes).
const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../static/app.css"),
    ),
    (
        "live.js",
        "text/javascript; charset=utf-8",
        include_str!("../static/live.js"),
    ),
];

/// `GET /favicon.ico`: the icon, as SVG (browsers go by the content type, not the name).
pub async fn favicon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../static/favicon.svg"),
    )
        .into_response()
}

/// `GET /static/{*path}`: an embedded file by exact name.
pub async fn static_file(Path(path): Path<String>) -> Result<Response, ApiError> {
    let (_, content_type, body) =
        FILES
            .iter()
            .find(|(name, _, _)| *name == path)
            .ok_or_else(|| ApiError::NotFound {
                kind: "static file",
                name: path.clone(),
            })?;
    Ok((
        [
            (header::CONTENT_TYPE, *content_type),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        *body,
    )
        .into_response())
}
