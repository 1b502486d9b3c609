//! Resource names: the stable, human-chosen identifiers of every resource.
//!
//! Names follow the DNS-label rule that Kubernetes and Backstage use for
//! `metadata.name`, so a name can appear in a URL, a file name or a label without
//! escaping. This module only validates; it does not check that a name exists.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A validated resource name: 1 to 63 characters of `a-z`, `0-9` and `-`,
/// starting and ending with a letter or digit.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

/// Why a string is not a valid [`Name`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The string is empty.
    #[error("a name cannot be empty")]
    Empty,
    /// The string is longer than 63 characters.
    #[error("name `{0}` is longer than 63 characters")]
    TooLong(String),
    /// The string holds a character outside `a-z`, `0-9` and `-`.
    #[error("name `{name}` contains `{bad}`: use lowercase letters, digits and `-`")]
    BadCharacter {
        /// The rejected name.
        name: String,
        /// The first offending character.
        bad: char,
    },
    /// The string starts or ends with `-`.
    #[error("name `{0}` must start and end with a letter or digit")]
    BadEdge(String),
}

impl Name {
    /// Longest accepted name, as for a DNS label.
    pub const MAX_LEN: usize = 63;

    /// Parses a name, rejecting anything that is not a DNS label.
    pub fn parse(raw: &str) -> Result<Name, NameError> {
        if raw.is_empty() {
            return Err(NameError::Empty);
        }
        if raw.len() > Self::MAX_LEN {
            return Err(NameError::TooLong(
                raw.chars().take(Self::MAX_LEN).collect(),
            ));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(NameError::BadCharacter {
                name: raw.to_owned(),
                bad,
            });
        }
        if raw.starts_with('-') || raw.ends_with('-') {
            return Err(NameError::BadEdge(raw.to_owned()));
        }
        Ok(Name(raw.to_owned()))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Name {
    type Error = NameError;
    fn try_from(raw: String) -> Result<Name, NameError> {
        Name::parse(&raw)
    }
}

impl From<Name> for String {
    fn from(name: Name) -> String {
        name.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dns_labels() {
        assert_eq!(
            Name::parse("q1-2025").map(|n| n.to_string()),
            Ok("q1-2025".to_owned())
        );
    }

    #[test]
    fn rejects_what_is_not_a_dns_label() {
        assert_eq!(Name::parse(""), Err(NameError::Empty));
        assert!(matches!(
            Name::parse("Api"),
            Err(NameError::BadCharacter { bad: 'A', .. })
        ));
        assert!(matches!(
            Name::parse("a/b"),
            Err(NameError::BadCharacter { bad: '/', .. })
        ));
        assert!(matches!(Name::parse("-a"), Err(NameError::BadEdge(_))));
        assert!(matches!(
            Name::parse(&"a".repeat(64)),
            Err(NameError::TooLong(_))
        ));
    }
}
