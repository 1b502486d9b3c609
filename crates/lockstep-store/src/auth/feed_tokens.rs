//! Calendar feed tokens: one secret per user, in the URL of their iCalendar feeds,
//! because calendar apps cannot send an `Authorization` header.
//!
//! Like API tokens, only the SHA-256 digest is kept (the server makes and digests the
//! token); setting a new one replaces the old, which is how a leaked feed URL is revoked.
//! This module does not decide what a token may read.

use super::{AuthStore, UserRecord, UserRow, user};
use crate::StoreError;
use crate::side::{execute, fetch_optional};

impl AuthStore {
    /// Makes `token_hash` the feed token of `user_name`, replacing any earlier one.
    pub async fn set_feed_token(
        &self,
        user_name: &str,
        token_hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        execute!(
            self,
            "saving a feed token",
            "INSERT INTO feed_tokens (user_name, token_hash, created_at) VALUES (?, ?, ?) \
             ON CONFLICT (user_name) DO UPDATE SET token_hash = excluded.token_hash, \
             created_at = excluded.created_at",
            user_name.to_owned(),
            token_hash.to_owned(),
            now,
        )?;
        Ok(())
    }

    /// The user whose current feed token has this digest.
    pub async fn user_by_feed_token(
        &self,
        token_hash: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let row = fetch_optional!(
            self,
            "checking a feed token",
            UserRow,
            "SELECT u.name, u.password_hash, u.member, u.admin FROM feed_tokens f \
             JOIN auth_users u ON u.name = f.user_name WHERE f.token_hash = ?",
            token_hash.to_owned(),
        )?;
        Ok(row.map(user))
    }
}
