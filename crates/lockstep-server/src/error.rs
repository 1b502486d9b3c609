//! One error type for every handler, rendered as RFC 9457 problem details.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// What a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The resource does not exist.
    #[error("{kind} `{name}` not found")]
    NotFound {
        /// Kind of resource.
        kind: &'static str,
        /// The name asked for.
        name: String,
    },
    /// The route does not exist.
    #[error("no route for {0}")]
    NoRoute(String),
    /// The store failed; details are logged, never sent.
    #[error("internal error")]
    Internal(#[from] lockstep_store::program::ProgramError),
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, title) = match &self {
            ApiError::NotFound { .. } => (
                StatusCode::NOT_FOUND,
                "https://lockstep.dev/problems/not-found",
                "Not found",
            ),
            ApiError::NoRoute(_) => (
                StatusCode::NOT_FOUND,
                "https://lockstep.dev/problems/no-route",
                "No such route",
            ),
            ApiError::Internal(error) => {
                tracing::error!(%error, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "https://lockstep.dev/problems/internal",
                    "Internal error",
                )
            }
        };
        let problem = Problem {
            kind,
            title,
            status: status.as_u16(),
            detail: self.to_string(),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}
