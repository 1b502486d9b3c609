//! One error type for every handler, rendered as RFC 9457 problem details.
//!
//! Handlers return `Result<_, ApiError>` and use `?`; the status code, the stable
//! problem `type` and the title are chosen here and nowhere else. Internal errors are
//! logged with their cause and sent without it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lockstep_core::DomainError;
use lockstep_core::access::Denied;
use lockstep_store::StoreError;
use lockstep_store::program::ProgramError;
use serde::Serialize;

/// Base of every problem type URI.
const PROBLEM_BASE: &str = "https://lockstep.dev/problems/";

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
    /// The route exists but not for this method (the `Allow` header lists those it has).
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed {
        /// The method asked for.
        method: String,
        /// The route's path.
        path: String,
    },
    /// The request is malformed: bad JSON syntax, bad query, bad header.
    #[error("{detail}")]
    BadRequest {
        /// What is wrong.
        detail: String,
        /// The offending field or parameter, if one.
        field: Option<String>,
    },
    /// The request is well-formed JSON but does not fit the schema (wrong type,
    /// unknown or missing field, invalid name or date).
    #[error("{detail}")]
    Unprocessable {
        /// What is wrong.
        detail: String,
        /// The offending field, as a JSON pointer-ish dotted path.
        field: Option<String>,
    },
    /// The body is not JSON.
    #[error("expected a body of type application/json")]
    UnsupportedMediaType,
    /// The body is larger than the server accepts.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The business rules refused the command.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// No credentials, or credentials that are not valid (forged, expired, revoked).
    #[error("{0}")]
    Unauthenticated(String),
    /// The principal may not do this.
    #[error(transparent)]
    Forbidden(#[from] Denied),
    /// A browser write without the session's CSRF token.
    #[error("missing or wrong CSRF token")]
    CsrfMismatch,
    /// `If-Match` names a version the resource is no longer at.
    #[error("{kind} `{name}` is at version {actual}; the request expected {expected}")]
    PreconditionFailed {
        /// Kind of resource.
        kind: &'static str,
        /// Its name.
        name: String,
        /// The ETag the client sent.
        expected: String,
        /// The current version.
        actual: i64,
    },
    /// Another writer changed what this command read; retry.
    #[error("another change was committed first: {0}")]
    Conflict(String),
    /// An `Idempotency-Key` was reused with a different request.
    #[error("idempotency key `{0}` was already used for a different request")]
    IdempotencyKeyReused(String),
    /// The store failed; details are logged, never sent.
    #[error("internal error")]
    Internal(String),
}

impl From<ProgramError> for ApiError {
    fn from(error: ProgramError) -> ApiError {
        if error.is_conflict() {
            ApiError::Conflict(error.to_string())
        } else {
            ApiError::Internal(error.to_string())
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        ApiError::from(ProgramError::from(error))
    }
}

impl ApiError {
    /// Shorthand for a 422 about one field.
    pub fn unprocessable(field: impl Into<String>, detail: impl Into<String>) -> ApiError {
        ApiError::Unprocessable {
            detail: detail.into(),
            field: Some(field.into()),
        }
    }

    /// Shorthand for a 400 about one parameter.
    pub fn bad_request(field: impl Into<String>, detail: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            detail: detail.into(),
            field: Some(field.into()),
        }
    }

    /// Status, stable type slug and title.
    pub fn classify(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::NotFound { .. } => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::NoRoute(_) => (StatusCode::NOT_FOUND, "no-route", "No such route"),
            ApiError::MethodNotAllowed { .. } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            ApiError::BadRequest { .. } => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            ApiError::Unprocessable { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-body",
                "The request body is not valid",
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            ApiError::PayloadTooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
            ),
            ApiError::Domain(DomainError::NotFound { .. }) => {
                (StatusCode::NOT_FOUND, "not-found", "Not found")
            }
            ApiError::Domain(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "rejected",
                "The command was rejected",
            ),
            ApiError::Unauthenticated(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
            ),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            ApiError::CsrfMismatch => (StatusCode::FORBIDDEN, "csrf", "CSRF check failed"),
            ApiError::PreconditionFailed { .. } => (
                StatusCode::PRECONDITION_FAILED,
                "stale-version",
                "The resource changed since it was read",
            ),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Concurrent change"),
            ApiError::IdempotencyKeyReused(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency key reused",
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }

    fn field(&self) -> Option<String> {
        match self {
            ApiError::BadRequest { field, .. } | ApiError::Unprocessable { field, .. } => {
                field.clone()
            }
            ApiError::Domain(DomainError::Invalid { field, .. }) => Some(field.clone()),
            ApiError::Domain(DomainError::DatesOutOfOrder { later_field, .. }) => {
                Some(later_field.clone())
            }
            _ => None,
        }
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        let (status, slug, title) = self.classify();
        Problem {
            kind: format!("{PROBLEM_BASE}{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            field: self.field(),
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Problem {
    /// Stable URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Human title of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened this time.
    pub detail: String,
    /// The offending field or parameter, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _, _) = self.classify();
        match &self {
            ApiError::Internal(cause) => tracing::error!(%cause, "request failed"),
            ApiError::Unauthenticated(_) | ApiError::Forbidden(_) | ApiError::CsrfMismatch => {
                tracing::warn!(status = status.as_u16(), detail = %self, "request refused");
            }
            _ => tracing::info!(status = status.as_u16(), detail = %self, "request refused"),
        }
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"lockstep\""),
            );
        }
        response
    }
}
