//! Database URLs: which engine a URL names, and how to show it without its password.
//!
//! Only the scheme is interpreted here; everything after `postgres://` is left to the
//! driver. This module does not connect or check that files exist.

use std::path::PathBuf;

use crate::error::StoreError;

/// Where the log lives, parsed from a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// `sqlite://PATH` (or `sqlite:PATH`).
    SqliteFile(PathBuf),
    /// `sqlite::memory:`: a private database that lives as long as the store.
    SqliteMemory,
    /// `postgres://...` or `postgresql://...`, passed to the driver as is.
    Postgres(String),
}

impl Location {
    pub(crate) fn parse(url: &str) -> Result<Location, StoreError> {
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            return Ok(Location::SqliteMemory);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_owned()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .filter(|path| !path.is_empty() && !path.contains('?'));
        match path {
            Some(path) => Ok(Location::SqliteFile(PathBuf::from(path))),
            None => Err(StoreError::UnsupportedUrl {
                url: redact_url(url),
            }),
        }
    }
}

/// The URL with any password replaced by `***`, for messages and logs: both the
/// `user:password@` form and a `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let mut redacted = url.to_owned();
    if let Some(scheme_end) = redacted.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = redacted[authority_start..]
            .find(['/', '?'])
            .map_or(redacted.len(), |offset| authority_start + offset);
        if let Some(at) = redacted[authority_start..authority_end].rfind('@') {
            let userinfo_end = authority_start + at;
            if let Some(colon) = redacted[authority_start..userinfo_end].find(':') {
                redacted.replace_range(authority_start + colon + 1..userinfo_end, "***");
            }
        }
    }
    if let Some(query_start) = redacted.find('?') {
        let (base, query) = redacted.split_at(query_start + 1);
        let query = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&");
        redacted = format!("{base}{query}");
    }
    redacted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_password_in_userinfo_and_query() {
        assert_eq!(
            redact_url("postgres://alice:s3cret@db:5432/app"),
            "postgres://alice:***@db:5432/app"
        );
        assert_eq!(
            redact_url("postgres://alice@db/app?password=s3cret&sslmode=disable"),
            "postgres://alice@db/app?password=***&sslmode=disable"
        );
        assert_eq!(redact_url("postgres://db/app"), "postgres://db/app");
    }

    #[test]
    fn parses_supported_schemes() {
        assert_eq!(
            Location::parse("sqlite:///tmp/a.db").ok(),
            Some(Location::SqliteFile(PathBuf::from("/tmp/a.db")))
        );
        assert_eq!(
            Location::parse("sqlite::memory:").ok(),
            Some(Location::SqliteMemory)
        );
        assert!(matches!(
            Location::parse("postgresql://x/y"),
            Ok(Location::Postgres(_))
        ));
        assert!(matches!(
            Location::parse("mysql://root:pw@x/y"),
            Err(StoreError::UnsupportedUrl { url }) if url == "mysql://root:***@x/y"
        ));
    }
}
