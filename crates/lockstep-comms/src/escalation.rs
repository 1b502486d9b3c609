//! Escalation policy: a blocker not acknowledged by its owner within the agreed time goes
//! to the team's backup contact, then to the release manager; acknowledgement stops it.
//!
//! Pure: given who is involved, when the blocker was raised and how long each contact has
//! to acknowledge, [`plan`] says who is told when. The durable part — sending each notice
//! when its time comes unless the blocker was acknowledged first — is the outbox's: every
//! notice is written at once with a not-before time, and acknowledging cancels the ones
//! not sent yet, in the commit of the `EscalationAcknowledged` event that records who
//! answered (which names each escalation by the event that raised it, [`causes`]).
//! Nothing here reads the clock or remembers acknowledgements.

use jiff::{SignedDuration, Timestamp};
use lockstep_core::{Name, State};
use serde::{Deserialize, Serialize};

/// Who an escalation notice goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// The blocker item's owner: its team's primary on-call contact (or tech lead).
    Owner,
    /// The team's backup contact.
    Backup,
    /// The release's manager.
    ReleaseManager,
}

impl Level {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Owner => "owner",
            Level::Backup => "backup",
            Level::ReleaseManager => "release-manager",
        }
    }
}

/// How long each contact has to acknowledge before the next one is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EscalationPolicy {
    /// Minutes the owner has.
    #[serde(default = "default_minutes")]
    pub owner_minutes: u32,
    /// Minutes the backup has after being told.
    #[serde(default = "default_minutes")]
    pub backup_minutes: u32,
}

fn default_minutes() -> u32 {
    120
}

impl Default for EscalationPolicy {
    fn default() -> Self {
        EscalationPolicy {
            owner_minutes: default_minutes(),
            backup_minutes: default_minutes(),
        }
    }
}

/// One notice of an escalation: who is asked to act on which blocker, and from when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EscalationNotice {
    /// The blocking item.
    pub blocker: Name,
    /// The level of this notice.
    pub level: Level,
    /// Who it goes to (member handle).
    pub to: Name,
    /// The owner who did not acknowledge (the `to` of the first notice).
    pub owner: Name,
    /// When the blocker was raised.
    pub raised_at: Timestamp,
    /// Not to be sent before this instant.
    pub not_before: Timestamp,
}

/// The idempotency-key prefix shared by every notice of one escalation; acknowledging
/// cancels the undelivered messages whose key starts with it.
pub fn key_prefix(blocker: &Name) -> String {
    format!("escalation:{blocker}:")
}

/// The key prefix of the notices of one escalation of `blocker`: the one raised by the
/// event `cause` (`release:q1-2025@24`). Keys are `escalation:BLOCKER:CAUSE:LEVEL`.
pub fn cause_prefix(blocker: &Name, cause: &str) -> String {
    format!("{}{cause}:", key_prefix(blocker))
}

/// The escalations of `blocker` that notice keys name, by the event that raised each,
/// in order and once each: what an acknowledgement answers for.
pub fn causes<'k>(blocker: &Name, keys: impl IntoIterator<Item = &'k str>) -> Vec<String> {
    let prefix = key_prefix(blocker);
    let mut causes: Vec<String> = keys
        .into_iter()
        .filter_map(|key| key.strip_prefix(&prefix))
        .filter_map(|rest| rest.rsplit_once(':'))
        .map(|(cause, _level)| cause.to_owned())
        .collect();
    causes.sort();
    causes.dedup();
    causes
}

/// The notices for blocker item `blocker` raised at `raised_at`, in order. Contacts that
/// are missing or repeat an earlier one are skipped, so nobody is told twice.
pub fn plan(
    state: &State,
    blocker: &Name,
    raised_at: Timestamp,
    policy: EscalationPolicy,
) -> Vec<EscalationNotice> {
    let Some(item) = state.items().get(blocker) else {
        return Vec::new();
    };
    let team = state.teams().get(&item.spec.team);
    let owner = team.and_then(|t| {
        t.spec
            .on_call
            .as_ref()
            .map(|c| c.primary.clone())
            .or_else(|| {
                t.spec
                    .members
                    .iter()
                    .find(|m| m.roles.contains(&lockstep_core::Role::TechLead))
                    .map(|m| m.handle.clone())
            })
    });
    let backup = team.and_then(|t| t.spec.on_call.as_ref().and_then(|c| c.backup.clone()));
    let manager = state
        .releases()
        .get(&item.release)
        .and_then(|r| r.spec.manager.clone());
    let Some(owner) = owner.or_else(|| manager.clone()) else {
        return Vec::new();
    };
    let owner_wait = SignedDuration::from_mins(i64::from(policy.owner_minutes));
    let backup_wait = SignedDuration::from_mins(i64::from(policy.backup_minutes));
    let steps = [
        (Level::Owner, Some(owner.clone()), SignedDuration::ZERO),
        (Level::Backup, backup, owner_wait),
        (
            Level::ReleaseManager,
            manager,
            owner_wait.saturating_add(backup_wait),
        ),
    ];
    let mut told: Vec<Name> = Vec::new();
    let mut notices = Vec::new();
    for (level, to, after) in steps {
        let Some(to) = to else { continue };
        if told.contains(&to) {
            continue;
        }
        told.push(to.clone());
        notices.push(EscalationNotice {
            blocker: blocker.clone(),
            level,
            to,
            owner: owner.clone(),
            raised_at,
            not_before: raised_at.saturating_add(after).unwrap_or(raised_at),
        });
    }
    notices
}

/// The notices still to send at `now` given an acknowledgement time: none once the
/// blocker is acknowledged, otherwise those whose time has come.
pub fn due(
    notices: &[EscalationNotice],
    acknowledged_at: Option<Timestamp>,
    now: Timestamp,
) -> Vec<&EscalationNotice> {
    notices
        .iter()
        .filter(|n| n.not_before <= now)
        .filter(|n| acknowledged_at.is_none_or(|ack| ack > n.not_before))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_escalation_is_named_by_the_event_that_raised_it() {
        let blocker = Name::parse("api").expect("name");
        let keys = [
            "escalation:api:release:q1-2025@24:owner",
            "escalation:api:release:q1-2025@24:backup",
            "escalation:api:release:q1-2025@2:owner",
            "escalation:api-v2:release:q1-2025@9:owner",
        ];
        assert_eq!(
            causes(&blocker, keys),
            ["release:q1-2025@2", "release:q1-2025@24"]
        );
        assert_eq!(
            cause_prefix(&blocker, "release:q1-2025@2"),
            "escalation:api:release:q1-2025@2:"
        );
    }
}
