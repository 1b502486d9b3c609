//! Who is calling: API tokens, browser sessions, CSRF tokens, passwords, and the
//! bootstrap of the first administrator.
//!
//! - Passwords are hashed with argon2id (PHC strings); API tokens (`lst_` + 32 random
//!   bytes) and session ids are stored as SHA-256 digests, so a leaked database holds
//!   no usable credential. Tokens are shown once, when issued.
//! - Every request is resolved once, by [`authenticate`], into a [`Caller`]: a bearer
//!   token, else a session cookie, else anonymous. Credentials that are present but not
//!   valid (forged, revoked, expired) are refused with 401 on the API; pages treat
//!   them as anonymous and send the browser to the login page.
//! - Session writes must echo the session's CSRF token (`X-CSRF-Token` header, or the
//!   `csrf` form field); token writes need none because a browser never sends a
//!   bearer token by itself.
//!
//! What a principal may do is not decided here but by `lockstep_core::access`.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::extract::{FromRequestParts, Request, State as Extract};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use lockstep_core::Name;
use lockstep_core::access::{Principal, role_of};
use lockstep_store::auth::{AuthStore, UserRecord};
use serde_json::json;
use sha2::Digest;

use crate::{ApiError, AppState};

/// The session cookie.
pub const SESSION_COOKIE: &str = "lockstep_session";
/// The login form's double-submit cookie (CSRF protection before there is a session).
const LOGIN_COOKIE: &str = "lockstep_login";
/// The header that carries the CSRF token of a session write.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// How expensive password hashing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCost {
    /// argon2id with OWASP's parameters (19 MiB, 2 passes): for real use.
    Interactive,
    /// The smallest parameters argon2 accepts: for tests only.
    Test,
}

fn hasher(cost: PasswordCost) -> Argon2<'static> {
    let params = match cost {
        PasswordCost::Interactive => Params::default(),
        PasswordCost::Test => Params::new(Params::MIN_M_COST, 1, 1, None).unwrap_or_default(),
    };
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The argon2id PHC string of `password`.
pub fn hash_password(password: &str, cost: PasswordCost) -> Result<String, ApiError> {
    let salt_bytes = random_bytes::<16>()?;
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|error| ApiError::Internal(format!("cannot encode a salt: {error}")))?;
    hasher(cost)
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| ApiError::Internal(format!("cannot hash a password: {error}")))
}

/// Whether `password` matches the PHC string `hash`.
pub fn verify_password(hash: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    // The parameters come from the PHC string, so any cost verifies.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0_u8; N];
    getrandom::getrandom(&mut bytes)
        .map_err(|error| ApiError::Internal(format!("no randomness: {error}")))?;
    Ok(bytes)
}

/// Lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

/// 32 random bytes in hex: a session id, a CSRF token, a generated password.
pub fn random_secret() -> Result<String, ApiError> {
    Ok(hex(&random_bytes::<32>()?))
}

/// The SHA-256 digest, in hex, under which a token or session id is stored.
pub fn digest(secret: &str) -> String {
    hex(&sha2::Sha256::digest(secret.as_bytes()))
}

pub(crate) fn same(a: &str, b: &str) -> bool {
    // Constant time in the length of the expected value: no early exit on a mismatch.
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// How a caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    /// No credentials.
    Anonymous,
    /// A bearer API token.
    Token,
    /// A browser session, whose writes must echo `csrf`.
    Session {
        /// The session's CSRF token.
        csrf: String,
    },
}

/// The resolved caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who, when authenticated.
    pub principal: Option<Principal>,
    /// How.
    pub via: Via,
}

impl Caller {
    fn anonymous() -> Caller {
        Caller {
            principal: None,
            via: Via::Anonymous,
        }
    }

    /// The principal, or 401.
    pub fn principal(&self) -> Result<&Principal, ApiError> {
        self.principal
            .as_ref()
            .ok_or_else(|| ApiError::Unauthenticated("sign in or send a bearer token".into()))
    }

    /// The session's CSRF token, for pages.
    pub fn csrf(&self) -> Option<&str> {
        match &self.via {
            Via::Session { csrf } => Some(csrf),
            _ => None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or_else(Caller::anonymous))
    }
}

pub(crate) fn principal_of(user: UserRecord) -> Principal {
    Principal {
        member: user.member.as_deref().and_then(|m| Name::parse(m).ok()),
        admin: user.admin,
        user: user.name,
    }
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

async fn resolve(app: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| {
                ApiError::Unauthenticated("the Authorization header must be `Bearer TOKEN`".into())
            })?;
        let user = crate::tokens::check(app, token).await?;
        return Ok(Caller {
            principal: Some(principal_of(user)),
            via: Via::Token,
        });
    }
    if let Some(session) = cookie(headers, SESSION_COOKIE) {
        let record = app
            .auth
            .session(&digest(session), app.now().as_second())
            .await?
            .ok_or_else(|| ApiError::Unauthenticated("the session is unknown or expired".into()))?;
        return Ok(Caller {
            principal: Some(principal_of(record.user)),
            via: Via::Session { csrf: record.csrf },
        });
    }
    Ok(Caller::anonymous())
}

/// Resolves the caller of every request and puts it in the request's extensions.
/// Invalid credentials are a 401 on the API; elsewhere the caller is anonymous.
pub async fn authenticate(
    Extract(app): Extract<Arc<AppState>>,
    mut request: Request,
    next: Next,
) -> Response {
    // `lockstep login` trades a user name and password for a token: HTTP Basic is
    // accepted on that one route only, so argon2 runs once per login, never per request.
    let resolved = if crate::tokens::is_password_exchange(&request) {
        crate::tokens::resolve_basic(&app, request.headers()).await
    } else {
        resolve(&app, request.headers()).await
    };
    let caller = match resolved {
        Ok(caller) => caller,
        Err(error) if request.uri().path().starts_with("/api/") => {
            return error.into_response();
        }
        Err(ApiError::Unauthenticated(_)) => Caller::anonymous(),
        Err(error) => return error.into_response(),
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Guards `/api/v1`: every request needs a principal, and a session's writes need its
/// CSRF token.
pub async fn require_api_access(caller: Caller, request: Request, next: Next) -> Response {
    let read = matches!(*request.method(), Method::GET | Method::HEAD);
    if read {
        if caller.principal.is_none() {
            return ApiError::Unauthenticated("sign in or send a bearer token".into())
                .into_response();
        }
        return next.run(request).await;
    }
    if caller.principal.is_none() {
        return ApiError::Unauthenticated("writes need a signed-in user or a bearer token".into())
            .into_response();
    }
    if let Via::Session { csrf } = &caller.via {
        let sent = request
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !same(sent, csrf) {
            return ApiError::CsrfMismatch.into_response();
        }
    }
    next.run(request).await
}

/// `GET /api/v1/me`: who the caller is and what role the program gives them.
pub async fn me(
    Extract(app): Extract<Arc<AppState>>,
    caller: Caller,
) -> Result<axum::Json<serde_json::Value>, ApiError> {
    let principal = caller.principal()?;
    let state = app.state.read().await;
    Ok(axum::Json(json!({
        "user": principal.user,
        "admin": principal.admin,
        "member": principal.member,
        "role": role_of(&state, principal).label(),
    })))
}

fn secure(app: &AppState, headers: &HeaderMap) -> bool {
    app.config.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

fn set_cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=1; Max-Age=0"))
}

/// Where to go after logging in: a local path only, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// `GET /login`.
pub async fn login_page(
    Extract(app): Extract<Arc<AppState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let next = crate::extract::form_pairs(request.uri().query().unwrap_or(""))
        .into_iter()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v);
    login_form(
        &app,
        request.headers(),
        None,
        "",
        next.as_deref(),
        StatusCode::OK,
    )
}

fn login_form(
    app: &AppState,
    headers: &HeaderMap,
    error: Option<&str>,
    username: &str,
    next: Option<&str>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let token = random_secret()?;
    let html = crate::pages::login(error, username, &token, &safe_next(next));
    let mut response = (status, Html(html)).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, &token, "/login", 3600, secure(app, headers)),
    );
    Ok(response)
}

/// `POST /login` (form: username, password, csrf, next).
pub async fn login(
    Extract(app): Extract<Arc<AppState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let form = crate::extract::form_pairs(&String::from_utf8_lossy(&body));
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let next = field("next");
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !same(field("csrf").unwrap_or(""), expected) {
        tracing::warn!("login refused: missing or wrong CSRF token");
        return login_form(
            &app,
            &headers,
            Some("Your login form expired. Please try again."),
            field("username").unwrap_or("").trim(),
            next,
            StatusCode::FORBIDDEN,
        );
    }
    let username = field("username").unwrap_or("").trim();
    let password = field("password").unwrap_or("");
    let user = app.auth.user(username).await?;
    let valid = user.as_ref().is_some_and(|u| {
        u.password_hash
            .as_deref()
            .is_some_and(|hash| verify_password(hash, password))
    });
    let Some(user) = user.filter(|_| valid) else {
        tracing::warn!(username, "login refused: wrong user name or password");
        return login_form(
            &app,
            &headers,
            Some("Wrong user name or password."),
            username,
            next,
            StatusCode::UNAUTHORIZED,
        );
    };
    let session = random_secret()?;
    let csrf = random_secret()?;
    let ttl = app.config.session_ttl.as_secs();
    app.auth
        .create_session(
            &digest(&session),
            &user.name,
            &csrf,
            app.now().as_second() + ttl,
        )
        .await?;
    tracing::info!(user = %user.name, "signed in");
    let mut response = Redirect::to(&safe_next(next)).into_response();
    let secure = secure(&app, &headers);
    let cookies = response.headers_mut();
    cookies.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &session, "/", ttl, secure),
    );
    cookies.append(
        header::SET_COOKIE,
        set_cookie(LOGIN_COOKIE, "", "/login", 0, secure),
    );
    Ok(response)
}

/// `POST /logout` (form: csrf).
pub async fn logout(
    Extract(app): Extract<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let form = crate::extract::form_pairs(&String::from_utf8_lossy(&body));
    let sent = form
        .iter()
        .find(|(k, _)| k == "csrf")
        .map_or("", |(_, v)| v.as_str());
    if let Via::Session { csrf } = &caller.via {
        if !same(sent, csrf) {
            return Err(ApiError::CsrfMismatch);
        }
        if let Some(session) = cookie(&headers, SESSION_COOKIE) {
            app.auth.delete_session(&digest(session)).await?;
        }
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", "/", 0, secure(&app, &headers)),
    );
    Ok(response)
}

/// A user to create or update.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewUser<'a> {
    /// Login name.
    pub name: &'a str,
    /// The team member handle they act as; their roles follow from it.
    pub member: Option<&'a str>,
    /// Administers the server.
    pub admin: bool,
    /// Not a person (a CI job): their actions are no one's coordination time.
    pub automation: bool,
}

impl<'a> NewUser<'a> {
    /// A person called `name`, with no member link and no administration.
    pub fn named(name: &'a str) -> NewUser<'a> {
        NewUser {
            name,
            ..NewUser::default()
        }
    }
}

/// Creates or updates `user`, replacing their password, member link and flags; returns
/// the password when one was generated.
pub async fn add_user(
    auth: &AuthStore,
    user: &NewUser<'_>,
    password: Option<&str>,
    cost: PasswordCost,
    now: jiff::Timestamp,
) -> Result<Option<String>, ApiError> {
    let NewUser {
        name,
        member,
        admin,
        automation,
    } = *user;
    if name.is_empty() || name.len() > 64 || name.chars().any(|c| c.is_whitespace()) {
        return Err(ApiError::unprocessable(
            "name",
            "a user name is 1 to 64 characters without spaces",
        ));
    }
    if let Some(member) = member {
        Name::parse(member).map_err(|e| ApiError::unprocessable("member", e.to_string()))?;
    }
    let generated = match password {
        Some(_) => None,
        None => Some(random_secret()?[..20].to_owned()),
    };
    let password = password.or(generated.as_deref()).unwrap_or_default();
    let record = UserRecord {
        name: name.to_owned(),
        password_hash: Some(hash_password(password, cost)?),
        member: member.map(str::to_owned),
        admin,
    };
    auth.save_user(&record, automation, now.as_second()).await?;
    Ok(generated)
}

/// Issues a new API token for user `name`; the token is returned once and stored hashed.
/// It expires `expires_in` after `now`, or never.
pub async fn issue_token(
    auth: &AuthStore,
    name: &str,
    label: Option<&str>,
    expires_in: Option<jiff::SignedDuration>,
    now: jiff::Timestamp,
) -> Result<crate::tokens::IssuedToken, ApiError> {
    if auth.user(name).await?.is_none() {
        return Err(ApiError::NotFound {
            kind: "user",
            name: name.to_owned(),
        });
    }
    crate::tokens::issue(auth, name, label, expires_in, now).await
}

impl AppState {
    /// Creates the first administrator, `admin`, when there are no users yet. Returns
    /// the password when it was generated (to be shown once), `None` otherwise.
    pub async fn bootstrap_admin(
        &self,
        password: Option<&str>,
    ) -> Result<Option<String>, ApiError> {
        if self.auth.count_users().await? > 0 {
            return Ok(None);
        }
        let admin = NewUser {
            admin: true,
            ..NewUser::named("admin")
        };
        let generated = add_user(
            &self.auth,
            &admin,
            password,
            self.config.password_cost,
            self.now(),
        )
        .await?;
        tracing::info!("created the first administrator, `admin`");
        Ok(generated)
    }

    /// Creates or updates a user with this server's password cost.
    pub async fn add_user(
        &self,
        user: &NewUser<'_>,
        password: Option<&str>,
    ) -> Result<Option<String>, ApiError> {
        add_user(
            &self.auth,
            user,
            password,
            self.config.password_cost,
            self.now(),
        )
        .await
    }

    /// Issues an API token for `name` that never expires.
    pub async fn issue_token(&self, name: &str) -> Result<String, ApiError> {
        issue_token(&self.auth, name, None, None, self.now())
            .await
            .map(|issued| issued.token)
    }
}
