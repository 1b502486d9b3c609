//! The schema's versioned SQL, embedded in the binary, one list per engine.
//!
//! A migration is applied once, in a transaction, and `lockstep_meta.schema_version`
//! records the last one applied. The runners live in `sqlite.rs` and `postgres.rs` because
//! locking differs per engine. This module never edits a shipped migration: a change to the
//! schema is a new entry at the end of both lists.

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: i64 = 7;

/// One step of the schema.
#[derive(Debug)]
pub(crate) struct Migration {
    /// The schema version after this step.
    pub(crate) version: i64,
    /// Statements, run as one batch.
    pub(crate) sql: &'static str,
}

pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../migrations/sqlite/0001_event_log.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../migrations/sqlite/0002_auth.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("../migrations/sqlite/0003_outbox_delivery.sql"),
    },
    Migration {
        version: 4,
        sql: include_str!("../migrations/sqlite/0004_token_lifecycle.sql"),
    },
    Migration {
        version: 5,
        sql: include_str!("../migrations/sqlite/0005_feed_tokens.sql"),
    },
    Migration {
        version: 6,
        sql: include_str!("../migrations/sqlite/0006_audit.sql"),
    },
    Migration {
        version: 7,
        sql: include_str!("../migrations/sqlite/0007_automation.sql"),
    },
];

pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../migrations/postgres/0001_event_log.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../migrations/postgres/0002_auth.sql"),
    },
    Migration {
        version: 3,
        sql: include_str!("../migrations/postgres/0003_outbox_delivery.sql"),
    },
    Migration {
        version: 4,
        sql: include_str!("../migrations/postgres/0004_token_lifecycle.sql"),
    },
    Migration {
        version: 5,
        sql: include_str!("../migrations/postgres/0005_feed_tokens.sql"),
    },
    Migration {
        version: 6,
        sql: include_str!("../migrations/postgres/0006_audit.sql"),
    },
    Migration {
        version: 7,
        sql: include_str!("../migrations/postgres/0007_automation.sql"),
    },
];

/// The key of the schema version in `lockstep_meta`.
pub(crate) const SCHEMA_VERSION_KEY: &str = "schema_version";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_engines_end_at_the_supported_version() {
        for migrations in [SQLITE, POSTGRES] {
            let versions: Vec<i64> = migrations
                .iter()
                .map(|migration| migration.version)
                .collect();
            let expected: Vec<i64> = (1..=SCHEMA_VERSION).collect();
            assert_eq!(versions, expected);
        }
    }
}
