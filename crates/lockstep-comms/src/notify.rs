//! Who gets which message where: the notification configuration (`notifications.yaml`),
//! subscription matching, and quiet hours in the subscriber's own team time zone.
//!
//! Channels live in their own small file (they hold credentials, which never enter the
//! log); subscriptions may be written there or declared in the program as `kind:
//! Subscription` manifests, and [`NotificationConfig::with_program`] merges the two. This
//! module parses text and answers questions; it does not read the file, resolve secrets
//! or send anything.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Time;
use jiff::tz::TimeZone;
use lockstep_core::{Name, Role, State};
use serde::{Deserialize, Serialize};

use crate::MessageKind;
use crate::escalation::EscalationPolicy;

/// The whole `notifications.yaml`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NotificationConfig {
    /// Channels by name.
    #[serde(default)]
    pub channels: BTreeMap<String, Channel>,
    /// Who wants what.
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
    /// How long owners and backups have to acknowledge a blocker.
    #[serde(default)]
    pub escalation: EscalationPolicy,
    /// How deliveries are retried.
    #[serde(default)]
    pub retry: RetryPolicy,
}

/// A place messages go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Channel {
    /// What speaks at the other end.
    pub kind: ChannelKind,
    /// Webhook URL (chat and generic webhooks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// HMAC-SHA256 key of a generic webhook (`env:NAME` reads the environment at the edge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// SMTP settings of an e-mail channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<Smtp>,
    /// Seconds to wait for the receiver.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
}

fn default_timeout() -> u32 {
    10
}

/// The kinds of channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChannelKind {
    /// A Slack-compatible incoming webhook (Block Kit).
    Slack,
    /// A Microsoft Teams-compatible incoming webhook (MessageCard).
    Teams,
    /// A generic webhook: CloudEvents JSON signed with HMAC-SHA256.
    Webhook,
    /// E-mail over SMTP.
    Email,
}

impl ChannelKind {
    /// The name written in the notification file.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Slack => "slack",
            ChannelKind::Teams => "teams",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Email => "email",
        }
    }
}

/// SMTP settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Smtp {
    /// Server host.
    pub host: String,
    /// Server port (587 for STARTTLS submission).
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// Upgrade with STARTTLS (required unless explicitly off, e.g. a local sink).
    #[serde(default = "default_true")]
    pub starttls: bool,
    /// Login user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Login password (`env:NAME` reads the environment at the edge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The From address.
    pub from: String,
    /// A PEM file of certificate authorities to trust for this server besides the
    /// default roots (a company CA, or a test's own), read when the worker starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
}

fn default_smtp_port() -> u16 {
    587
}

fn default_true() -> bool {
    true
}

/// Retries: exponential backoff with full jitter, capped, then a dead letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts before a message becomes a dead letter.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// The first backoff, in milliseconds.
    #[serde(default = "default_base")]
    pub base_millis: u64,
    /// The longest backoff, in milliseconds.
    #[serde(default = "default_max")]
    pub max_millis: u64,
}

fn default_attempts() -> u32 {
    8
}
fn default_base() -> u64 {
    2_000
}
fn default_max() -> u64 {
    3_600_000
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: default_attempts(),
            base_millis: default_base(),
            max_millis: default_max(),
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1` after `attempt` failures (1-based), given
    /// a uniform random `unit` in [0, 1): full jitter over the capped exponential, with a
    /// floor of half so that retries never bunch at zero. `None` once attempts run out.
    pub fn backoff_millis(&self, attempt: u32, unit: f64) -> Option<u64> {
        if attempt >= self.max_attempts {
            return None;
        }
        let exponent = attempt.saturating_sub(1).min(40);
        let ceiling = self
            .base_millis
            .saturating_mul(1_u64 << exponent)
            .min(self.max_millis);
        let unit = unit.clamp(0.0, 1.0);
        Some(ceiling / 2 + ((ceiling / 2) as f64 * unit) as u64)
    }
}

/// Quiet hours in the subscriber's team time zone, e.g. 18:00–08:00.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuietHours {
    /// When quiet starts.
    pub start: Time,
    /// When it ends (may be the next day).
    pub end: Time,
}

/// How a subscriber wants messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cadence {
    /// As soon as they are written (outside quiet hours).
    #[default]
    Immediate,
    /// Held to the subscriber's digest time, then sent together.
    Digest,
}

/// One subscription: a person (member handle) or everyone with a role, on a channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Subscription {
    /// A member handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Name>,
    /// Or: every member with this role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The channel name.
    pub channel: String,
    /// Only these releases (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub releases: Vec<Name>,
    /// Only messages about these teams (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<Name>,
    /// Only messages about the subscriber's own team, for each person it reaches.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own_team: bool,
    /// Only these kinds (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<MessageKind>,
    /// Immediate or digest.
    #[serde(default)]
    pub cadence: Cadence,
    /// Local time of the digest (default 09:00).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_at: Option<Time>,
    /// Quiet hours, in `time_zone` when given, else the subscriber's team time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<QuietHours>,
    /// The person's own IANA time zone, when it is not their team's (someone in Berlin
    /// on a New York team): digest times and quiet hours are read in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// What is wrong with a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not valid YAML for this format, at a 1-based line and column.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// The line.
        line: u64,
        /// The column.
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// A subscription names a channel that is not declared.
    #[error("subscription {} (of `subscriptions`, counting from 1) uses unknown channel `{channel}`{}", index + 1, lockstep_core::suggest::hint(channel, known.iter().map(String::as_str)))]
    UnknownChannel {
        /// 0-based.
        index: usize,
        /// The name.
        channel: String,
        /// The declared channels.
        known: Vec<String>,
    },
    /// A subscription names neither a member nor a role, or both.
    #[error("subscription {} (of `subscriptions`, counting from 1) needs exactly one of `member` or `role`", index + 1)]
    Subscriber {
        /// 0-based.
        index: usize,
    },
    /// A subscription names a time zone the time zone database does not know.
    #[error("subscription {} (of `subscriptions`, counting from 1) has unknown time zone `{zone}`", index + 1)]
    UnknownTimeZone {
        /// 0-based.
        index: usize,
        /// The name.
        zone: String,
    },
    /// A channel lacks what its kind needs.
    #[error("channel `{channel}` (kind: {}) needs {what}", kind.as_str())]
    Incomplete {
        /// The channel.
        channel: String,
        /// Its kind.
        kind: ChannelKind,
        /// What is missing.
        what: &'static str,
    },
}

impl NotificationConfig {
    /// Parses and checks `notifications.yaml`.
    pub fn parse(text: &str) -> Result<NotificationConfig, ConfigError> {
        let mut config: NotificationConfig = serde_saphyr::from_str(text).map_err(|error| {
            let at = error.location().unwrap_or(serde_saphyr::Location::UNKNOWN);
            // The first line without the parser's own " at line L, column C" and snippet.
            let rendered = error.without_snippet().to_string();
            let first = rendered.lines().next().unwrap_or("invalid YAML").trim();
            let message = first
                .rfind(" at line ")
                .map_or(first, |cut| &first[..cut])
                .trim_end_matches('.')
                .to_owned();
            ConfigError::Syntax {
                line: at.line(),
                column: at.column(),
                message,
            }
        })?;
        for (name, channel) in &config.channels {
            let missing = match channel.kind {
                ChannelKind::Slack | ChannelKind::Teams if channel.url.is_none() => Some("a url"),
                ChannelKind::Webhook if channel.url.is_none() => Some("a url"),
                ChannelKind::Webhook if channel.secret.is_none() => Some("a secret"),
                ChannelKind::Email if channel.smtp.is_none() => Some("smtp settings"),
                _ => None,
            };
            if let Some(what) = missing {
                return Err(ConfigError::Incomplete {
                    channel: name.clone(),
                    kind: channel.kind,
                    what,
                });
            }
        }
        for (index, subscription) in config.subscriptions.iter_mut().enumerate() {
            if subscription.member.is_some() == subscription.role.is_some() {
                return Err(ConfigError::Subscriber { index });
            }
            if let Some(zone) = &mut subscription.time_zone {
                // Kept as the time zone database spells it (`europe/berlin` is
                // `Europe/Berlin`), like the zones of manifests.
                let Some(canonical) = TimeZone::get(zone)
                    .ok()
                    .and_then(|tz| tz.iana_name().map(str::to_owned))
                else {
                    return Err(ConfigError::UnknownTimeZone {
                        index,
                        zone: zone.clone(),
                    });
                };
                *zone = canonical;
            }
            if !config.channels.contains_key(&subscription.channel) {
                return Err(ConfigError::UnknownChannel {
                    index,
                    channel: subscription.channel.clone(),
                    known: config.channels.keys().cloned().collect(),
                });
            }
        }
        Ok(config)
    }
}

impl NotificationConfig {
    /// This file's subscriptions plus those declared in the program (`kind:
    /// Subscription` manifests), which is what every message is matched against. A
    /// program subscription naming a channel this file does not declare is left out
    /// ([`NotificationConfig::undeclared_channels`] names them, for a warning).
    pub fn with_program(&self, state: &State) -> NotificationConfig {
        let mut merged = self.clone();
        merged.subscriptions.extend(
            state
                .subscriptions()
                .values()
                .filter(|s| self.channels.contains_key(&s.spec.channel))
                .map(|s| from_spec(&s.spec)),
        );
        merged
    }

    /// Program subscriptions whose channel this file does not declare: (subscription,
    /// channel).
    pub fn undeclared_channels(&self, state: &State) -> Vec<(Name, String)> {
        state
            .subscriptions()
            .values()
            .filter(|s| !self.channels.contains_key(&s.spec.channel))
            .map(|s| (s.name.clone(), s.spec.channel.clone()))
            .collect()
    }
}

/// A program subscription in this crate's terms. Kinds were checked against
/// [`lockstep_core::MESSAGE_KINDS`] when it was declared.
fn from_spec(spec: &lockstep_core::SubscriptionSpec) -> Subscription {
    Subscription {
        member: spec.member.clone(),
        role: spec.role,
        channel: spec.channel.clone(),
        releases: spec.releases.clone(),
        teams: spec.teams.clone(),
        own_team: spec.own_team,
        kinds: spec
            .kinds
            .iter()
            .filter_map(|kind| MessageKind::parse(kind.as_str()).ok())
            .collect(),
        cadence: match spec.cadence {
            lockstep_core::SubscriptionCadence::Immediate => Cadence::Immediate,
            lockstep_core::SubscriptionCadence::Digest => Cadence::Digest,
        },
        digest_at: spec.digest_at,
        quiet_hours: spec.quiet_hours.map(|q| QuietHours {
            start: q.start,
            end: q.end,
        }),
        time_zone: spec.time_zone.clone(),
    }
}

/// A person a message goes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    /// Member handle.
    pub handle: Name,
    /// Display name.
    pub name: String,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The team's IANA time zone.
    pub time_zone: String,
}

/// A recipient of a message with the subscription that matched.
#[derive(Clone, Debug)]
pub struct Target<'a> {
    /// Who.
    pub recipient: Recipient,
    /// Through which subscription.
    pub subscription: &'a Subscription,
}

/// The member `handle` as a recipient.
pub fn recipient(state: &State, handle: &Name) -> Option<Recipient> {
    let team = state.teams().get(state.team_of_member(handle.as_str())?)?;
    let member = team.spec.members.iter().find(|m| &m.handle == handle)?;
    Some(Recipient {
        handle: handle.clone(),
        name: member.name.clone().unwrap_or_else(|| handle.to_string()),
        email: member.email.clone(),
        time_zone: team.spec.time_zone.clone(),
    })
}

/// Everyone subscribed to a message of `kind` about `release` (and `team`, if the
/// message is about one), once per (person, channel).
pub fn targets<'a>(
    config: &'a NotificationConfig,
    state: &State,
    kind: MessageKind,
    release: &Name,
    team: Option<&Name>,
) -> Vec<Target<'a>> {
    subscribers(
        config,
        state,
        kind,
        |subscription| {
            (subscription.releases.is_empty() || subscription.releases.contains(release))
                && team.is_none_or(|team| {
                    subscription.teams.is_empty() || subscription.teams.contains(team)
                })
        },
        |own| team.is_none_or(|team| team == own),
    )
}

/// Where a message about the program (a change request, an interface change) applies,
/// for matching subscribers' release and team filters. `None` means not known: only a
/// subscription without that filter matches, since nothing says the message concerns
/// what the filter names. A list matches a subscription whose filter is empty or names
/// one of its entries.
#[derive(Clone, Copy, Debug, Default)]
pub struct Scope<'s> {
    /// The releases it touches, when known.
    pub releases: Option<&'s [Name]>,
    /// The teams it concerns, when known.
    pub teams: Option<&'s [Name]>,
}

impl Scope<'_> {
    fn admits(&self, subscription: &Subscription) -> bool {
        let overlaps = |filter: &[Name], known: Option<&[Name]>| {
            filter.is_empty() || known.is_some_and(|known| known.iter().any(|n| filter.contains(n)))
        };
        overlaps(&subscription.releases, self.releases) && overlaps(&subscription.teams, self.teams)
    }
}

/// Everyone subscribed to a message of `kind` about the program within `scope`, once per
/// (person, channel).
pub fn targets_in<'a>(
    config: &'a NotificationConfig,
    state: &State,
    kind: MessageKind,
    scope: Scope<'_>,
) -> Vec<Target<'a>> {
    subscribers(
        config,
        state,
        kind,
        |subscription| scope.admits(subscription),
        // Unknown teams: only a subscription without a team filter matches.
        |own| scope.teams.is_some_and(|teams| teams.contains(own)),
    )
}

/// The people of every subscription to `kind` that `admits`, once per (person, channel).
/// Through an `own_team` subscription, only those whose team `about_team` admits.
fn subscribers<'a>(
    config: &'a NotificationConfig,
    state: &State,
    kind: MessageKind,
    admits: impl Fn(&Subscription) -> bool,
    about_team: impl Fn(&Name) -> bool,
) -> Vec<Target<'a>> {
    let mut out: Vec<Target<'a>> = Vec::new();
    for subscription in &config.subscriptions {
        if !subscription.kinds.is_empty() && !subscription.kinds.contains(&kind) {
            continue;
        }
        if !admits(subscription) {
            continue;
        }
        let handles: Vec<Name> = match (&subscription.member, subscription.role) {
            (Some(member), _) => vec![member.clone()],
            (None, Some(role)) => state
                .teams()
                .values()
                .flat_map(|t| t.spec.members.iter())
                .filter(|m| m.roles.contains(&role))
                .map(|m| m.handle.clone())
                .collect(),
            (None, None) => Vec::new(),
        };
        for handle in handles {
            if subscription.own_team
                && !state
                    .team_of_member(handle.as_str())
                    .is_some_and(&about_team)
            {
                continue;
            }
            let Some(mut recipient) = recipient(state, &handle) else {
                continue;
            };
            if let Some(zone) = &subscription.time_zone {
                recipient.time_zone = zone.clone();
            }
            let duplicate = out.iter().any(|t| {
                t.recipient.handle == recipient.handle
                    && t.subscription.channel == subscription.channel
            });
            if !duplicate {
                out.push(Target {
                    recipient,
                    subscription,
                });
            }
        }
    }
    out
}

/// The subscriptions through which the member `handle` takes messages of `kind` — as
/// that member, or through one of their roles — whatever their release and team
/// filters, one per channel. Messages addressed to a person because of who they are
/// (an escalation's next contact, a runbook contact during an incident) go there.
pub fn subscriptions_of<'a>(
    config: &'a NotificationConfig,
    state: &State,
    handle: &Name,
    kind: MessageKind,
) -> Vec<&'a Subscription> {
    let roles: Vec<Role> = state
        .teams()
        .values()
        .flat_map(|t| t.spec.members.iter())
        .filter(|m| &m.handle == handle)
        .flat_map(|m| m.roles.iter().copied())
        .collect();
    let mut out: Vec<&'a Subscription> = Vec::new();
    for subscription in &config.subscriptions {
        if !subscription.kinds.is_empty() && !subscription.kinds.contains(&kind) {
            continue;
        }
        let theirs = subscription.member.as_ref() == Some(handle)
            || subscription.role.is_some_and(|role| roles.contains(&role));
        if theirs && !out.iter().any(|s| s.channel == subscription.channel) {
            out.push(subscription);
        }
    }
    out.sort_by(|a, b| a.channel.cmp(&b.channel));
    out
}

/// The earliest instant at or after `now` a message may be sent to someone with these
/// settings: after quiet hours, and at the digest time for digest subscribers.
pub fn send_after(subscription: &Subscription, time_zone: &str, now: Timestamp) -> Timestamp {
    let zone = TimeZone::get(time_zone).unwrap_or(TimeZone::UTC);
    let local = now.to_zoned_datetime(zone.clone());
    let mut at = now;
    if subscription.cadence == Cadence::Digest {
        let digest = subscription.digest_at.unwrap_or(Time::constant(9, 0, 0, 0));
        let today = local.date().to_datetime(digest);
        let next = if local.datetime() <= today {
            today
        } else {
            local
                .date()
                .tomorrow()
                .map(|d| d.to_datetime(digest))
                .unwrap_or(today)
        };
        at = zone.to_timestamp(next).unwrap_or(now);
    }
    if let Some(quiet) = subscription.quiet_hours {
        at = after_quiet(quiet, &zone, at);
    }
    at
}

fn after_quiet(quiet: QuietHours, zone: &TimeZone, at: Timestamp) -> Timestamp {
    let local = at.to_zoned_datetime(zone.clone());
    let time = local.time();
    let in_quiet = if quiet.start <= quiet.end {
        time >= quiet.start && time < quiet.end
    } else {
        time >= quiet.start || time < quiet.end
    };
    if !in_quiet {
        return at;
    }
    let end_day = if quiet.start > quiet.end && time >= quiet.start {
        local.date().tomorrow().unwrap_or(local.date())
    } else {
        local.date()
    };
    zone.to_timestamp(end_day.to_datetime(quiet.end))
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's delivery commands use this file.
    #[test]
    fn the_example_notification_file_parses() {
        let config =
            NotificationConfig::parse(include_str!("../../../examples/notifications.yaml"))
                .expect("examples/notifications.yaml");
        assert_eq!(config.channels["mail"].kind, ChannelKind::Email);
        assert_eq!(config.subscriptions.len(), 4);
        assert!(config.subscriptions[1].own_team);
    }

    fn subscription(yaml: &str) -> Subscription {
        serde_saphyr::from_str(yaml).expect("subscription")
    }

    #[test]
    fn quiet_hours_hold_a_message_until_they_end_in_the_local_zone() {
        let quiet = subscription(
            "{member: sarah, channel: c, quietHours: {start: \"18:00\", end: \"08:00\"}}",
        );
        // 23:30 UTC is 18:30 in New York (EST): held to 08:00 EST = 13:00 UTC next day.
        let now: Timestamp = "2025-02-05T23:30:00Z".parse().expect("ts");
        assert_eq!(
            send_after(&quiet, "America/New_York", now).to_string(),
            "2025-02-06T13:00:00Z"
        );
        // 15:00 UTC is 10:00 in New York: not quiet.
        let day: Timestamp = "2025-02-05T15:00:00Z".parse().expect("ts");
        assert_eq!(send_after(&quiet, "America/New_York", day), day);
        // 03:00 UTC is 22:00 the previous evening: held to 08:00 the same UTC day.
        let night: Timestamp = "2025-02-06T03:00:00Z".parse().expect("ts");
        assert_eq!(
            send_after(&quiet, "America/New_York", night).to_string(),
            "2025-02-06T13:00:00Z"
        );
    }

    #[test]
    fn digest_subscribers_get_messages_at_their_digest_time() {
        let digest =
            subscription("{member: alex, channel: c, cadence: digest, digestAt: \"09:00\"}");
        // 10:00 in London is past today's digest: tomorrow 09:00 GMT.
        let now: Timestamp = "2025-02-05T10:00:00Z".parse().expect("ts");
        assert_eq!(
            send_after(&digest, "Europe/London", now).to_string(),
            "2025-02-06T09:00:00Z"
        );
    }

    #[test]
    fn backoff_grows_exponentially_with_jitter_then_stops() {
        let policy = RetryPolicy {
            max_attempts: 4,
            base_millis: 1_000,
            max_millis: 3_000,
        };
        assert_eq!(policy.backoff_millis(1, 0.0), Some(500));
        assert_eq!(policy.backoff_millis(1, 0.999_999), Some(999));
        assert_eq!(policy.backoff_millis(2, 0.0), Some(1_000));
        assert_eq!(policy.backoff_millis(3, 1.0), Some(3_000), "capped");
        assert_eq!(policy.backoff_millis(4, 0.5), None, "attempts exhausted");
    }

    #[test]
    fn rejects_a_subscription_to_an_undeclared_channel() {
        let error = NotificationConfig::parse(
            "channels: {}\nsubscriptions:\n  - {member: sarah, channel: chat}\n",
        )
        .expect_err("unknown channel");
        assert_eq!(
            error.to_string(),
            "subscription 1 (of `subscriptions`, counting from 1) uses unknown channel `chat`"
        );
        let error = NotificationConfig::parse(
            "channels: {hook: {kind: webhook, url: \"http://127.0.0.1:9/\", secret: s}}\nsubscriptions:\n  - {member: sarah, channel: hok}\n",
        )
        .expect_err("a typo");
        assert!(
            error
                .to_string()
                .ends_with("uses unknown channel `hok` (did you mean `hook`?)"),
            "{error}"
        );
        let error = NotificationConfig::parse("channels: {}\nretry:\n  maxAtempts: 2\n")
            .expect_err("unknown field");
        let text = error.to_string();
        assert!(
            text.starts_with("line 3, column 3: unknown field `maxAtempts`")
                && !text.contains('\n')
                && !text.contains("-->"),
            "located, one line, no snippet: {text}"
        );
    }

    #[test]
    fn the_kinds_core_accepts_are_the_kinds_this_crate_writes() {
        let ours: Vec<&str> = MessageKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(ours, lockstep_core::MESSAGE_KINDS);
    }

    #[test]
    fn a_subscribers_time_zone_is_kept_as_the_database_spells_it() {
        let config = NotificationConfig::parse(
            "channels:\n  chat: {kind: slack, url: \"http://127.0.0.1:9/\"}\n\
             subscriptions:\n  - {member: sarah, channel: chat, timeZone: europe/berlin}\n",
        )
        .expect("valid");
        assert_eq!(
            config.subscriptions[0].time_zone.as_deref(),
            Some("Europe/Berlin")
        );
        let error = NotificationConfig::parse(
            "channels:\n  chat: {kind: slack, url: \"http://127.0.0.1:9/\"}\n\
             subscriptions:\n  - {member: sarah, channel: chat, timeZone: europe/atlantis}\n",
        )
        .expect_err("unknown zone");
        assert_eq!(
            error.to_string(),
            "subscription 1 (of `subscriptions`, counting from 1) has unknown time zone `europe/atlantis`"
        );
    }

    #[test]
    fn rejects_a_webhook_without_a_secret() {
        let error = NotificationConfig::parse(
            "channels:\n  hook: {kind: webhook, url: \"http://127.0.0.1:1/\"}\n",
        )
        .expect_err("no secret");
        assert!(
            error.to_string().contains("(kind: webhook) needs a secret"),
            "{error}"
        );
    }
}
