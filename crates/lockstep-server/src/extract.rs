//! Extractors whose rejections are problem documents: JSON bodies, list queries,
//! `If-Match` and `dryRun`.
//!
//! axum's own rejections are plain text; wrapping them here means a client always gets
//! `application/problem+json` with the offending field, and no handler maps a status.

use std::collections::BTreeMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use lockstep_core::Name;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// The largest accepted request body, in bytes. A full release declaration with
/// hundreds of milestones is far below it.
pub const BODY_LIMIT: usize = 256 * 1024;

/// A JSON body whose rejections are problem documents. `LIMIT` is the body limit the
/// route sets (with `DefaultBodyLimit`), named in the 413 problem.
#[derive(Debug, Clone)]
pub struct ApiJson<T, const LIMIT: usize = BODY_LIMIT>(pub T);

impl<S, T, const LIMIT: usize> FromRequest<S> for ApiJson<T, LIMIT>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_problem(&rejection, LIMIT)),
        }
    }
}

/// A raw body (a webhook's, whose signature covers the bytes) whose rejections are
/// problem documents.
#[derive(Debug, Clone)]
pub struct ApiBytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::body::Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(ApiBytes(bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT })
            }
            Err(rejection) => Err(ApiError::BadRequest {
                detail: rejection.body_text(),
                field: None,
            }),
        }
    }
}

/// The body of a POST that takes no parameters: nothing, or the JSON object `{}`.
/// Anything else is refused as any other bad body is, never silently ignored.
#[derive(Debug, Clone, Copy)]
pub struct NoBody;

impl<S: Send + Sync> FromRequest<S> for NoBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
        let ApiBytes(bytes) = ApiBytes::from_request(request, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(NoBody);
        }
        if !json {
            return Err(ApiError::UnsupportedMediaType);
        }
        match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&bytes) {
            Ok(fields) => match fields.keys().next() {
                None => Ok(NoBody),
                Some(field) => Err(ApiError::Unprocessable {
                    detail: format!("unknown field `{field}`: this operation takes no body"),
                    field: Some(field.clone()),
                }),
            },
            Err(error) => Err(ApiError::BadRequest {
                detail: format!("the body is not a JSON object: {error}"),
                field: None,
            }),
        }
    }
}

/// Maps axum's JSON rejection onto our problems, recovering the field path that
/// serde_path_to_error puts in the message.
fn json_problem(rejection: &JsonRejection, limit: usize) -> ApiError {
    let text = rejection.body_text();
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge { limit };
    }
    if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
        return ApiError::UnsupportedMediaType;
    }
    let message = text
        .split_once("target type: ")
        .or_else(|| text.split_once("JSON body: "))
        .map_or(text.as_str(), |(_, rest)| rest);
    let (mut field, mut detail) = match message.split_once(": ") {
        Some((path, detail)) if !path.contains(' ') => (Some(path.to_owned()), detail.to_owned()),
        _ => (None, message.to_owned()),
    };
    if let Some(problem) = lockstep_core::date_problem(&detail) {
        let at = detail.rfind(" at line ").map_or("", |i| &detail[i..]);
        detail = format!("not a date: {problem}{at}");
    }
    if let Some(unknown) = detail
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split('`').next())
    {
        field = Some(match field.as_deref() {
            None | Some(".") => unknown.to_owned(),
            // serde_path_to_error already ends the path with the unknown key.
            Some(path) if path == unknown || path.ends_with(&format!(".{unknown}")) => {
                path.to_owned()
            }
            Some(parent) => format!("{parent}.{unknown}"),
        });
    }
    if status == StatusCode::UNPROCESSABLE_ENTITY {
        ApiError::Unprocessable {
            detail: detail.clone(),
            field,
        }
    } else {
        ApiError::BadRequest { detail, field }
    }
}

/// `?limit&cursor` plus the filters a list endpoint accepts.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// At most this many results (1..=1000, default 100).
    pub limit: usize,
    /// Start after this name.
    pub cursor: Option<Name>,
    /// Filters by name, validated by the endpoint with [`ListQuery::filters`].
    filters: BTreeMap<String, String>,
    /// `limit` or `cursor`, when the request gave one.
    paged_by: Option<&'static str>,
}

impl ListQuery {
    /// Default page size.
    pub const DEFAULT_LIMIT: usize = 100;
    /// Largest page size.
    pub const MAX_LIMIT: usize = 1000;

    /// The filters of a list answered whole (small, or ordered by something other than
    /// name), refusing `limit` and `cursor` as well as any filter not in `allowed`.
    pub fn whole(&self, allowed: &[&str]) -> Result<&BTreeMap<String, String>, ApiError> {
        if let Some(parameter) = self.paged_by {
            return Err(ApiError::bad_request(
                parameter,
                format!(
                    "this list is answered whole and takes no `{parameter}`{}",
                    accepted(&[], allowed)
                ),
            ));
        }
        self.checked(&[], allowed)
    }

    /// The filters, refusing any not in `allowed` with a 400.
    pub fn filters(&self, allowed: &[&str]) -> Result<&BTreeMap<String, String>, ApiError> {
        self.checked(&["limit", "cursor"], allowed)
    }

    fn checked(
        &self,
        paging: &[&str],
        allowed: &[&str],
    ) -> Result<&BTreeMap<String, String>, ApiError> {
        match self
            .filters
            .keys()
            .find(|key| !allowed.contains(&key.as_str()))
        {
            Some(key) => Err(ApiError::bad_request(
                key.clone(),
                format!(
                    "unknown query parameter `{key}`{}",
                    accepted(paging, allowed)
                ),
            )),
            None => Ok(&self.filters),
        }
    }

    /// One page of `items` (already filtered and ordered by name), and the cursor of
    /// the next page.
    pub fn page<'a, T: 'a>(
        &self,
        items: impl Iterator<Item = (&'a Name, T)>,
    ) -> (Vec<T>, Option<String>) {
        let mut page = Vec::new();
        let mut last: Option<&Name> = None;
        let mut more = false;
        for (name, item) in items {
            if self.cursor.as_ref().is_some_and(|cursor| name <= cursor) {
                continue;
            }
            if page.len() == self.limit {
                more = true;
                break;
            }
            last = Some(name);
            page.push(item);
        }
        let next = if more {
            last.map(|name| name.as_str().to_owned())
        } else {
            None
        };
        (page, next)
    }
}

/// `; this list accepts a, b` for an error about a query parameter, or nothing.
fn accepted(paging: &[&str], allowed: &[&str]) -> String {
    let all: Vec<&str> = paging.iter().chain(allowed).copied().collect();
    if all.is_empty() {
        "; this list takes no parameters".to_owned()
    } else {
        format!("; this list accepts {}", all.join(", "))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or("");
        let mut filters = BTreeMap::new();
        let mut limit = ListQuery::DEFAULT_LIMIT;
        let mut cursor = None;
        let mut paged_by = None;
        let mut seen = std::collections::BTreeSet::new();
        for (key, value) in form_pairs(raw) {
            if !seen.insert(key.clone()) {
                return Err(ApiError::bad_request(
                    key,
                    "query parameter given more than once",
                ));
            }
            match key.as_str() {
                "limit" => {
                    paged_by = Some("limit");
                    limit = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=ListQuery::MAX_LIMIT).contains(n))
                        .ok_or_else(|| {
                            ApiError::bad_request(
                                "limit",
                                format!(
                                    "limit must be a whole number from 1 to {}, not `{value}`",
                                    ListQuery::MAX_LIMIT
                                ),
                            )
                        })?;
                }
                "cursor" => {
                    paged_by = Some("cursor");
                    cursor = Some(Name::parse(&value).map_err(|error| {
                        ApiError::bad_request("cursor", format!("invalid cursor: {error}"))
                    })?);
                }
                _ => {
                    filters.insert(key, value);
                }
            }
        }
        Ok(ListQuery {
            limit,
            cursor,
            filters,
            paged_by,
        })
    }
}

/// Decodes `application/x-www-form-urlencoded` pairs (also query strings).
pub fn form_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The ETags of an `If-Match` header: `None` when absent, `Some(None)` for `*`.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(pub Option<Vec<String>>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(axum::http::header::IF_MATCH) else {
            return Ok(IfMatch(None));
        };
        let value = value
            .to_str()
            .map_err(|_| ApiError::bad_request("If-Match", "If-Match is not ASCII"))?;
        if value.trim() == "*" {
            return Ok(IfMatch(Some(Vec::new())));
        }
        // RFC 9110: a list of quoted entity tags compared strongly, so a weak tag
        // (`W/"3"`) never matches; anything that is not an entity tag is a bad request.
        let mut tags = Vec::new();
        for raw in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (weak, quoted) = match raw.strip_prefix("W/") {
                Some(rest) => (true, rest),
                None => (false, raw),
            };
            let Some(tag) = quoted
                .strip_prefix('"')
                .and_then(|rest| rest.strip_suffix('"'))
                .filter(|tag| !tag.contains('"'))
            else {
                return Err(ApiError::bad_request(
                    "If-Match",
                    format!(
                        "`{raw}` is not an entity tag: send the ETag as the server gave it, quoted (`\"3\"`)"
                    ),
                ));
            };
            // Kept as written so that the 412 says what was sent; it matches no version.
            tags.push(if weak { raw.to_owned() } else { tag.to_owned() });
        }
        if tags.is_empty() {
            return Err(ApiError::bad_request("If-Match", "If-Match names no ETag"));
        }
        Ok(IfMatch(Some(tags)))
    }
}

/// `?dryRun` (or `?dryRun=true`) on a write: decide it, answer with the change and its
/// impact, commit nothing. Absent or `false`, it is a real write; any other value is
/// refused, so that a typo never turns a preview into a change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DryRun(pub bool);

impl DryRun {
    /// The flag in a request's query string.
    pub fn from_query(query: Option<&str>) -> Result<DryRun, ApiError> {
        let mut dry_run = None;
        for (key, value) in form_pairs(query.unwrap_or_default()) {
            if key != "dryRun" {
                continue;
            }
            if dry_run.is_some() {
                return Err(ApiError::bad_request(
                    "dryRun",
                    "dryRun is given more than once: give it once",
                ));
            }
            dry_run = Some(match value.as_str() {
                "true" | "" => DryRun(true),
                "false" => DryRun(false),
                other => {
                    return Err(ApiError::bad_request(
                        "dryRun",
                        format!("`{other}` is not a flag: use dryRun=true or dryRun=false"),
                    ));
                }
            });
        }
        Ok(dry_run.unwrap_or_default())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for DryRun {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        DryRun::from_query(parts.uri.query())
    }
}

/// The ETag of a resource whose stream is at `version`.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}
