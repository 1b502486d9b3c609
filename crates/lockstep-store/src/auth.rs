//! Credentials of the HTTP server: users, API tokens, browser sessions, and the stored
//! responses of idempotent POSTs.
//!
//! These are secrets and request bookkeeping, not facts of the release program, so they
//! live in tables of their own beside the log and never in it: a credential must be
//! deletable, an event never is. The store only keeps what it is given: hashing
//! passwords (argon2id) and digesting tokens and session ids (SHA-256) is the server's
//! job, so no secret in clear text ever reaches this module.
//!
//! [`AuthStore`] opens its own small connection pool to the same database as the log
//! (`side::open`; for `sqlite::memory:`, a private in-memory database). Its tables are
//! schema versions 2, 4, 5 and 7 of the log's migrations.

use std::collections::BTreeSet;

use crate::side::{self, Pool, SideTables, execute, fetch_all, fetch_optional};
use crate::{OpenOptions, StoreError};

mod feed_tokens;

// Version 2 made the tables; version 4 moved tokens to a table with a life cycle;
// version 5 added calendar feed tokens.
const SQLITE_SCHEMA: &str = concat!(
    include_str!("../migrations/sqlite/0002_auth.sql"),
    include_str!("../migrations/sqlite/0004_token_lifecycle.sql"),
    include_str!("../migrations/sqlite/0005_feed_tokens.sql"),
    include_str!("../migrations/sqlite/0007_automation.sql"),
);
const POSTGRES_SCHEMA: &str = concat!(
    include_str!("../migrations/postgres/0002_auth.sql"),
    include_str!("../migrations/postgres/0004_token_lifecycle.sql"),
    include_str!("../migrations/postgres/0005_feed_tokens.sql"),
    include_str!("../migrations/postgres/0007_automation.sql"),
);

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Login name, unique.
    pub name: String,
    /// PHC string of the password hash; `None` for token-only users.
    pub password_hash: Option<String>,
    /// The team member handle this user acts as, if any.
    pub member: Option<String>,
    /// Whether the user administers the server.
    pub admin: bool,
}

/// A new API token to store: its digest, never the token.
#[derive(Debug, Clone, Copy)]
pub struct NewToken<'a> {
    /// Public id, to list and revoke it by.
    pub id: &'a str,
    /// SHA-256 of the token, in hex.
    pub token_hash: &'a str,
    /// Its owner.
    pub user_name: &'a str,
    /// What it is for.
    pub label: Option<&'a str>,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
    /// Seconds since the Unix epoch after which it is refused; `None` never expires.
    pub expires_at: Option<i64>,
}

/// An API token as stored, without its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Public id.
    pub id: String,
    /// Its owner.
    pub user_name: String,
    /// What it is for.
    pub label: Option<String>,
    /// Seconds since the Unix epoch.
    pub created_at: i64,
    /// Seconds since the Unix epoch after which it is refused.
    pub expires_at: Option<i64>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

impl TokenRecord {
    /// Whether the token is accepted at `now` (seconds).
    pub fn is_valid(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}

type TokenRow = (
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
);

fn token(row: TokenRow) -> TokenRecord {
    TokenRecord {
        id: row.0,
        user_name: row.1,
        label: row.2,
        created_at: row.3,
        expires_at: row.4,
        revoked_at: row.5,
    }
}

/// A browser session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The user.
    pub user: UserRecord,
    /// The CSRF token that writes in this session must echo.
    pub csrf: String,
    /// Seconds since the Unix epoch after which the session is dead.
    pub expires_at: i64,
}

/// A stored response to an idempotent request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// Digest of the request it answered.
    pub request_hash: String,
    /// HTTP status.
    pub status: u16,
    /// Body, as sent.
    pub body: String,
}

/// The credential tables.
#[derive(Debug, Clone)]
pub struct AuthStore {
    pool: Pool,
}

type UserRow = (String, Option<String>, Option<String>, i64);

fn user(row: UserRow) -> UserRecord {
    UserRecord {
        name: row.0,
        password_hash: row.1,
        member: row.2,
        admin: row.3 != 0,
    }
}

impl AuthStore {
    /// Opens the credential tables in the database at `url` (the log's URL), creating
    /// them if needed.
    pub async fn open(url: &str, options: &OpenOptions) -> Result<AuthStore, StoreError> {
        let tables = SideTables {
            opening: "opening the credential store",
            creating: "creating the credential tables",
            sqlite_schema: SQLITE_SCHEMA,
            postgres_schema: POSTGRES_SCHEMA,
            memory_prelude: None,
        };
        let pool = side::open(url, options, &tables).await?;
        Ok(AuthStore { pool })
    }

    /// The pool, for tables kept beside the credentials (`audit`).
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// How many users exist.
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        let row = fetch_optional!(
            self,
            "counting users",
            (i64,),
            "SELECT COUNT(*) FROM auth_users"
        )?;
        Ok(row.map_or(0, |(n,)| n))
    }

    /// Creates `user`, or replaces its password hash, member link and admin flag, and
    /// marks it an automation account (not a person: see `auth_automation`) or not, in
    /// one transaction.
    pub async fn save_user(
        &self,
        user: &UserRecord,
        automation: bool,
        now: i64,
    ) -> Result<(), StoreError> {
        const UPSERT: &str = "INSERT INTO auth_users (name, password_hash, member, admin, created_at) \
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET \
             password_hash = excluded.password_hash, member = excluded.member, admin = excluded.admin";
        let flag = if automation {
            "INSERT INTO auth_automation (user_name) VALUES (?) ON CONFLICT (user_name) DO NOTHING"
        } else {
            "DELETE FROM auth_automation WHERE user_name = ?"
        };
        macro_rules! in_transaction {
            ($pool:expr, $sql:expr) => {
                async {
                    let mut tx = $pool.begin().await?;
                    sqlx::query(&$sql(UPSERT))
                        .bind(user.name.clone())
                        .bind(user.password_hash.clone())
                        .bind(user.member.clone())
                        .bind(i64::from(user.admin))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(&$sql(flag))
                        .bind(user.name.clone())
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await
                }
                .await
            };
        }
        match &self.pool {
            Pool::Sqlite(pool) => in_transaction!(pool, str::to_owned),
            Pool::Postgres(pool) => in_transaction!(pool, side::numbered),
        }
        .map_err(StoreError::database("saving a user"))
    }

    /// The names of the automation accounts.
    pub async fn automation_accounts(&self) -> Result<BTreeSet<String>, StoreError> {
        let rows = fetch_all!(
            self,
            "listing automation accounts",
            (String,),
            "SELECT user_name FROM auth_automation"
        )?;
        Ok(rows.into_iter().map(|(name,)| name).collect())
    }

    /// The user called `name`.
    pub async fn user(&self, name: &str) -> Result<Option<UserRecord>, StoreError> {
        let row = fetch_optional!(
            self,
            "reading a user",
            UserRow,
            "SELECT name, password_hash, member, admin FROM auth_users WHERE name = ?",
            name.to_owned(),
        )?;
        Ok(row.map(user))
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        const SQL: &str = "SELECT name, password_hash, member, admin FROM auth_users ORDER BY name";
        let rows = match &self.pool {
            Pool::Sqlite(pool) => sqlx::query_as::<_, UserRow>(SQL).fetch_all(pool).await,
            Pool::Postgres(pool) => sqlx::query_as::<_, UserRow>(SQL).fetch_all(pool).await,
        }
        .map_err(StoreError::database("listing users"))?;
        Ok(rows.into_iter().map(user).collect())
    }

    /// Stores the digest of a new API token of `token.user_name`.
    pub async fn add_token(&self, token: &NewToken<'_>) -> Result<(), StoreError> {
        execute!(
            self,
            "saving a token",
            "INSERT INTO auth_api_tokens (id, token_hash, user_name, label, created_at, expires_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
            token.id.to_owned(),
            token.token_hash.to_owned(),
            token.user_name.to_owned(),
            token.label.map(str::to_owned),
            token.created_at,
            token.expires_at,
        )?;
        Ok(())
    }

    /// The token with this digest and its user, whether or not it is still valid:
    /// the caller tells expired and revoked apart from unknown.
    pub async fn token(
        &self,
        token_hash: &str,
    ) -> Result<Option<(TokenRecord, UserRecord)>, StoreError> {
        let row = fetch_optional!(
            self,
            "checking a token",
            (
                String,
                String,
                Option<String>,
                i64,
                Option<i64>,
                Option<i64>,
                String,
                Option<String>,
                Option<String>,
                i64
            ),
            "SELECT t.id, t.user_name, t.label, t.created_at, t.expires_at, t.revoked_at, \
             u.name, u.password_hash, u.member, u.admin FROM auth_api_tokens t \
             JOIN auth_users u ON u.name = t.user_name WHERE t.token_hash = ?",
            token_hash.to_owned(),
        )?;
        Ok(row.map(
            |(
                id,
                user_name,
                label,
                created_at,
                expires_at,
                revoked_at,
                name,
                hash,
                member,
                admin,
            )| {
                (
                    TokenRecord {
                        id,
                        user_name,
                        label,
                        created_at,
                        expires_at,
                        revoked_at,
                    },
                    user((name, hash, member, admin)),
                )
            },
        ))
    }

    /// The user owning the token with this digest, if it is neither expired nor
    /// revoked at `now` (seconds).
    pub async fn user_by_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<UserRecord>, StoreError> {
        Ok(self
            .token(token_hash)
            .await?
            .filter(|(token, _)| token.is_valid(now))
            .map(|(_, user)| user))
    }

    /// Every token of `user_name` (never their digests), oldest first.
    pub async fn tokens_of(&self, user_name: &str) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = fetch_all!(
            self,
            "listing tokens",
            TokenRow,
            "SELECT id, user_name, label, created_at, expires_at, revoked_at FROM auth_api_tokens \
             WHERE user_name = ? ORDER BY created_at, id",
            user_name.to_owned(),
        )?;
        Ok(rows.into_iter().map(token).collect())
    }

    /// The token with public id `id`.
    pub async fn token_by_id(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row = fetch_optional!(
            self,
            "reading a token",
            TokenRow,
            "SELECT id, user_name, label, created_at, expires_at, revoked_at FROM auth_api_tokens \
             WHERE id = ?",
            id.to_owned(),
        )?;
        Ok(row.map(token))
    }

    /// Marks token `id` revoked at `now` (seconds). Returns whether a live token was
    /// revoked; revoking twice keeps the first instant.
    pub async fn revoke_token(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let n = execute!(
            self,
            "revoking a token",
            "UPDATE auth_api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
            now,
            id.to_owned(),
        )?;
        Ok(n > 0)
    }

    /// Starts a session; `session_hash` is the digest of the cookie value.
    pub async fn create_session(
        &self,
        session_hash: &str,
        user_name: &str,
        csrf: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        execute!(
            self,
            "starting a session",
            "INSERT INTO auth_sessions (session_hash, user_name, csrf, expires_at) VALUES (?, ?, ?, ?)",
            session_hash.to_owned(),
            user_name.to_owned(),
            csrf.to_owned(),
            expires_at,
        )?;
        Ok(())
    }

    /// The live session with this digest at `now` (seconds); expired sessions are absent.
    pub async fn session(
        &self,
        session_hash: &str,
        now: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = fetch_optional!(
            self,
            "reading a session",
            (String, Option<String>, Option<String>, i64, String, i64),
            "SELECT u.name, u.password_hash, u.member, u.admin, s.csrf, s.expires_at FROM auth_sessions s \
             JOIN auth_users u ON u.name = s.user_name WHERE s.session_hash = ? AND s.expires_at > ?",
            session_hash.to_owned(),
            now,
        )?;
        Ok(row.map(
            |(name, hash, member, admin, csrf, expires_at)| SessionRecord {
                user: user((name, hash, member, admin)),
                csrf,
                expires_at,
            },
        ))
    }

    /// Ends a session (logout). Returns whether it existed.
    pub async fn delete_session(&self, session_hash: &str) -> Result<bool, StoreError> {
        let n = execute!(
            self,
            "ending a session",
            "DELETE FROM auth_sessions WHERE session_hash = ?",
            session_hash.to_owned(),
        )?;
        Ok(n > 0)
    }

    /// The response stored for `principal`'s request with `key`.
    pub async fn idempotent_response(
        &self,
        principal: &str,
        key: &str,
    ) -> Result<Option<StoredResponse>, StoreError> {
        let row = fetch_optional!(
            self,
            "reading an idempotent response",
            (String, i64, String),
            "SELECT request_hash, status, body FROM idempotency_keys WHERE principal = ? AND key = ?",
            principal.to_owned(),
            key.to_owned(),
        )?;
        Ok(row.map(|(request_hash, status, body)| StoredResponse {
            request_hash,
            status: u16::try_from(status).unwrap_or(500),
            body,
        }))
    }

    /// Remembers the response to `principal`'s request with `key`; the first one wins.
    pub async fn save_idempotent_response(
        &self,
        principal: &str,
        key: &str,
        response: &StoredResponse,
        now: i64,
    ) -> Result<(), StoreError> {
        execute!(
            self,
            "saving an idempotent response",
            "INSERT INTO idempotency_keys (principal, key, request_hash, status, body, created_at) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (principal, key) DO NOTHING",
            principal.to_owned(),
            key.to_owned(),
            response.request_hash.clone(),
            i64::from(response.status),
            response.body.clone(),
            now,
        )?;
        Ok(())
    }
}
