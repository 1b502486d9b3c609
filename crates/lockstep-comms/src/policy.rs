//! From events and schedules to outbox envelopes: who is sent which message, on which
//! channel, under which idempotency key, and not before when.
//!
//! [`on_commit`] runs inside `Program::commit` (as the store's outbox policy, wrapped by
//! `lockstep-delivery`), so a message exists if and only if the events that caused it
//! do: announcements when a release starts or ships, escalation notices when a blocker
//! newly endangers other items and dependency alerts to the teams that wait on it (or
//! whose risk cleared), the notices of a deployment run (a failed step, a
//! tripped rollback trigger, a rollback, the run's end) and those of the review
//! workflows (a change request or an interface change proposed or decided: `review`).
//! [`scheduled`] writes the time-driven messages (daily updates, weekly agendas) with
//! keys that make enqueueing them twice a no-op. Pure: the caller passes `now` and
//! stores what comes out.

use jiff::Timestamp;
use lockstep_core::{Event, EventMeta, Name, ReleaseState, State};
use serde::{Deserialize, Serialize};

use crate::escalation::{self, EscalationNotice};
use crate::notify::{
    Cadence, NotificationConfig, Recipient, Target, send_after, subscriptions_of, targets,
};
use crate::run_notice::{self, RunNotice};
use crate::{Compose, ComposeError, Format, Message, MessageKind, Provenance, Request, Templates};

/// An outbox message as this crate writes it (the store's `NewOutboxMessage` by another
/// name, so that this crate stays free of the store).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    /// The channel name from the configuration.
    pub channel: String,
    /// Unique per channel.
    pub idempotency_key: String,
    /// A serialized [`Delivery`].
    pub payload: String,
}

/// What the delivery worker sends: the message, to whom, and from when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// The message.
    pub message: Message,
    /// The person, when it is addressed to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Recipient>,
    /// Not to be sent before (quiet hours, digests, escalation steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<Timestamp>,
    /// The events that caused it, as `stream@version` (stable before positions exist).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caused_by: Vec<String>,
    /// Held for the recipient's digest: the worker merges every digest message due to
    /// the same person on the same channel into one (`digest::merge`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub digest: bool,
}

/// An event about to be committed, with its stream version.
#[derive(Clone, Copy, Debug)]
pub struct Pending<'a> {
    /// Stream.
    pub stream: &'a str,
    /// Version it will have.
    pub stream_version: i64,
    /// The event.
    pub event: &'a Event,
}

/// `recipients`, then the `named` people on every channel they take `kind` on, whatever
/// their filters; once per (person, channel).
pub(crate) fn with_named<'a>(
    config: &'a NotificationConfig,
    state: &State,
    kind: MessageKind,
    mut recipients: Vec<Target<'a>>,
    named: &[Name],
) -> Vec<Target<'a>> {
    for handle in named {
        for subscription in subscriptions_of(config, state, handle, kind) {
            let known = recipients.iter().any(|t| {
                &t.recipient.handle == handle && t.subscription.channel == subscription.channel
            });
            if known {
                continue;
            }
            let Some(mut recipient) = crate::notify::recipient(state, handle) else {
                continue;
            };
            if let Some(zone) = &subscription.time_zone {
                recipient.time_zone = zone.clone();
            }
            recipients.push(Target {
                recipient,
                subscription,
            });
        }
    }
    recipients
}

/// The envelopes of a message that is not urgent: quiet hours and digests hold it like an
/// announcement. Keys are `KIND:SUBJECT:CAUSE:HANDLE`.
pub(crate) fn held(
    message: &Message,
    targets: Vec<Target<'_>>,
    subject: &str,
    cause: &str,
    now: Timestamp,
) -> Vec<Envelope> {
    let kind = message.kind;
    targets
        .into_iter()
        .map(|target| {
            let not_before = send_after(target.subscription, &target.recipient.time_zone, now);
            let key = format!("{kind}:{subject}:{cause}:{}", target.recipient.handle);
            let delivery = Delivery {
                message: message.clone(),
                recipient: Some(target.recipient),
                not_before: (not_before > now).then_some(not_before),
                caused_by: vec![cause.to_owned()],
                digest: target.subscription.cadence == Cadence::Digest,
            };
            envelope(&target.subscription.channel, key, &delivery)
        })
        .collect()
}

pub(crate) fn envelope(channel: &str, key: String, delivery: &Delivery) -> Envelope {
    Envelope {
        channel: channel.to_owned(),
        idempotency_key: key,
        payload: serde_json::to_string(delivery).expect("a delivery serializes"),
    }
}

/// The messages a batch of events causes. `before` is the state the events were decided
/// against; `meta.at` is their time.
pub fn on_commit(
    config: &NotificationConfig,
    templates: &Templates,
    before: &State,
    events: &[Pending<'_>],
    meta: &EventMeta,
) -> Vec<Envelope> {
    let declares = events.iter().any(|p| {
        matches!(
            p.event,
            Event::SubscriptionDefined { .. } | Event::SubscriptionRedefined { .. }
        )
    });
    // Nobody subscribed anywhere: skip the copy of the state.
    if events.is_empty()
        || (config.subscriptions.is_empty() && before.subscriptions().is_empty() && !declares)
    {
        return Vec::new();
    }
    let mut after = before.clone();
    // A run's notices compare its state just before and just after their own event: a
    // batch may both trip a trigger and start the rollback.
    let mut run_notices: Vec<(String, Name, RunNotice)> = Vec::new();
    for pending in events {
        let release = run_notice::release_of(pending.event).cloned();
        let run_before = release
            .as_ref()
            .and_then(|release| after.runs().get(release).cloned());
        after.apply(after.position(), pending.event);
        if let Some(release) = release
            && let Some(notice) = run_notice::notice(
                run_before.as_ref(),
                after.runs().get(&release),
                pending.event,
                meta,
            )
        {
            let cause = format!("{}@{}", pending.stream, pending.stream_version);
            run_notices.push((cause, release, notice));
        }
    }
    // Subscriptions declared in the program count as of the state after the commit.
    let merged = config.with_program(&after);
    let config = &merged;
    if config.subscriptions.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let empty = Provenance::default();
    let risk_after = lockstep_core::risk::assess(&after);
    let compose_for = |kind: MessageKind,
                       release: &Name,
                       team: Option<&Name>,
                       late: Option<crate::LateNotice>|
     -> Result<Message, ComposeError> {
        crate::compose(
            Compose {
                state: &after,
                history: &[],
                provenance: &empty,
                risk: &risk_after,
                templates,
            },
            &Request {
                kind,
                release: release.clone(),
                team: team.cloned(),
                role: None,
                date: meta.at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date(),
                format: Format::Markdown,
                escalation: None,
                run: None,
                late,
            },
        )
    };
    for pending in events {
        let cause = format!("{}@{}", pending.stream, pending.stream_version);
        let Event::ReleaseStateChanged { release, to, .. } = pending.event else {
            continue;
        };
        let kind = match to {
            ReleaseState::InProgress => MessageKind::PreReleaseAnnouncement,
            ReleaseState::Released => MessageKind::CompletionAnnouncement,
            _ => continue,
        };
        let Ok(message) = compose_for(kind, release, None, None) else {
            continue;
        };
        for target in targets(config, &after, kind, release, None) {
            let not_before = send_after(target.subscription, &target.recipient.time_zone, meta.at);
            let key = format!("{kind}:{release}:{cause}:{}", target.recipient.handle);
            let delivery = Delivery {
                message: message.clone(),
                recipient: Some(target.recipient),
                not_before: (not_before > meta.at).then_some(not_before),
                caused_by: vec![cause.clone()],
                digest: target.subscription.cadence == Cadence::Digest,
            };
            out.push(envelope(&target.subscription.channel, key, &delivery));
        }
    }
    for (cause, release, notice) in &run_notices {
        out.extend(run_envelopes(
            config,
            Compose {
                state: &after,
                history: &[],
                provenance: &empty,
                risk: &risk_after,
                templates,
            },
            release,
            notice,
            cause,
            meta.at,
        ));
    }
    // Change requests and interface changes: the review workflows' notices.
    out.extend(crate::review::on_commit(
        config, templates, before, &after, events, meta,
    ));
    let risk_before = lockstep_core::risk::assess(before);
    let cause = events
        .last()
        .map(|p| format!("{}@{}", p.stream, p.stream_version))
        .unwrap_or_default();
    // Dependency alerts: a waiting team whose items of a release came to be, or stopped
    // being, at risk because of what they wait on. Whoever follows several of those teams
    // (a subscriber with no team filter) hears them in one message per release.
    let kind = MessageKind::DependencyAlert;
    let mut alerts: std::collections::BTreeMap<(Name, String, Name), Vec<(Message, Target<'_>)>> =
        Default::default();
    for (release, team) in dependency_changes(&after, &risk_before, &risk_after) {
        let Ok(message) = compose_for(kind, &release, Some(&team), None) else {
            continue;
        };
        let subscribers = targets(config, &after, kind, &release, Some(&team));
        let leads = crate::review::leads(&after, &team);
        for target in with_named(config, &after, kind, subscribers, &leads) {
            let to = (
                release.clone(),
                target.subscription.channel.clone(),
                target.recipient.handle.clone(),
            );
            alerts
                .entry(to)
                .or_default()
                .push((message.clone(), target));
        }
    }
    for ((release, _, _), mut parts) in alerts {
        let teams: Vec<&str> = parts
            .iter()
            .filter_map(|(message, _)| message.team.as_ref().map(Name::as_str))
            .collect();
        let subject = format!("{release}:{}", teams.join("+"));
        let message = match parts.len() {
            1 => parts[0].0.clone(),
            _ => merged_alert(&release, &teams, &parts),
        };
        let Some((_, target)) = parts.pop() else {
            continue;
        };
        out.extend(held(&message, vec![target], &subject, &cause, meta.at));
    }
    out.extend(late_changes(
        config,
        &after,
        before,
        events,
        meta,
        |release, notice| compose_for(MessageKind::LateChange, release, None, Some(notice)),
    ));
    // Escalations: blockers that newly endanger something downstream.
    for risk in risk_after.items.values().filter(|r| r.upstream) {
        if risk_before
            .items
            .get(&risk.item)
            .is_some_and(|r| r.upstream)
        {
            continue;
        }
        for blocker in after.blocked_by(&risk.item).map(|d| &d.blocker) {
            if !risk_after.chain(&risk.item).iter().any(|link| {
                after
                    .items()
                    .get(blocker)
                    .is_some_and(|b| link.starts_with(&b.spec.title))
            }) {
                continue;
            }
            for notice in escalation::plan(&after, blocker, meta.at, config.escalation) {
                out.extend(escalation_envelopes(
                    config,
                    templates,
                    &after,
                    &risk_after,
                    &notice,
                    &cause,
                ));
            }
        }
    }
    // One blocker endangering two items must not notify twice.
    out.sort_by(|a, b| (&a.channel, &a.idempotency_key).cmp(&(&b.channel, &b.idempotency_key)));
    out.dedup_by(|a, b| a.channel == b.channel && a.idempotency_key == b.idempotency_key);
    out
}

/// One message holding the dependency alerts of several teams of `release` for one
/// person: each team's, in team order, under one subject.
fn merged_alert(release: &Name, teams: &[&str], parts: &[(Message, Target<'_>)]) -> Message {
    let bodies: Vec<&str> = parts
        .iter()
        .map(|(message, _)| message.body.trim_end())
        .collect();
    let mut sources: Vec<i64> = parts
        .iter()
        .flat_map(|(message, _)| message.sources.iter().copied())
        .collect();
    sources.sort_unstable();
    sources.dedup();
    Message {
        kind: MessageKind::DependencyAlert,
        release: Some(release.clone()),
        team: None,
        role: None,
        date: parts[0].0.date,
        subject: format!(
            "[Dependency alerts] {} teams of {release}: {}",
            teams.len(),
            teams.join(", ")
        ),
        body: format!("{}\n", bodies.join("\n\n---\n\n")),
        sources,
    }
}

/// Late changes: a person changed the plan of a release that already existed (scope, an
/// ETA, a dependency, its dates) in the 48 hours before its deployment. Its manager and
/// the kind's subscribers hear it once per release and commit, with every change, who
/// made them and why. Not urgent: quiet hours and digests hold it.
fn late_changes(
    config: &NotificationConfig,
    after: &State,
    before: &State,
    events: &[Pending<'_>],
    meta: &EventMeta,
    compose: impl Fn(&Name, crate::LateNotice) -> Result<Message, ComposeError>,
) -> Vec<Envelope> {
    use lockstep_core::coordination::{
        deployment_start, is_late, is_person, is_plan_change, planned_start,
    };
    if !is_person(&meta.actor) {
        return Vec::new();
    }
    let mut changed: std::collections::BTreeMap<Name, Vec<String>> = Default::default();
    for pending in events.iter().filter(|p| is_plan_change(p.event)) {
        let Some(release) = pending
            .stream
            .strip_prefix("release:")
            .and_then(|name| Name::parse(name).ok())
        else {
            continue;
        };
        changed
            .entry(release)
            .or_default()
            .push(pending.event.describe());
    }
    let cause = events
        .last()
        .map(|p| format!("{}@{}", p.stream, p.stream_version))
        .unwrap_or_default();
    let mut out = Vec::new();
    for (release, changes) in changed {
        let Some(current) = after.releases().get(&release) else {
            continue;
        };
        // The apply that plans a release declares its plan; it changes nothing.
        if !before.releases().contains_key(&release)
            || matches!(
                current.state,
                ReleaseState::Released | ReleaseState::Cancelled
            )
        {
            continue;
        }
        let run_start = after.runs().get(&release).map(|run| run.started_at);
        let zones: std::collections::BTreeMap<String, jiff::tz::TimeZone> = current
            .spec
            .deployment
            .iter()
            .map(|plan| {
                let zone = crate::compose::zone_named(&plan.time_zone);
                (plan.time_zone.clone(), zone)
            })
            .collect();
        let planned = planned_start(&current.spec, &zones);
        let start = deployment_start(run_start, planned, current.spec.target_date);
        if !is_late(meta.at, start) {
            continue;
        }
        let notice = crate::LateNotice {
            deployment: start,
            at: meta.at,
            changes,
            by: meta.actor.clone(),
            reason: meta.reason.clone(),
        };
        let Ok(message) = compose(&release, notice) else {
            continue;
        };
        let kind = MessageKind::LateChange;
        let subscribers = targets(config, after, kind, &release, None);
        let managers: Vec<Name> = current.spec.manager.iter().cloned().collect();
        let recipients = with_named(config, after, kind, subscribers, &managers);
        out.extend(held(
            &message,
            recipients,
            release.as_str(),
            &cause,
            meta.at,
        ));
    }
    out
}

/// (release, team) of every item that came to be, or stopped being, at risk because of
/// a blocker (`upstream`), in that order and once each.
fn dependency_changes(
    after: &State,
    before: &lockstep_core::risk::RiskReport,
    now: &lockstep_core::risk::RiskReport,
) -> std::collections::BTreeSet<(Name, Name)> {
    let upstream = |report: &lockstep_core::risk::RiskReport, item: &Name| {
        report.items.get(item).is_some_and(|risk| risk.upstream)
    };
    after
        .items()
        .values()
        .filter(|item| upstream(before, &item.name) != upstream(now, &item.name))
        .map(|item| (item.release.clone(), item.spec.team.clone()))
        .collect()
}

fn escalation_envelopes(
    config: &NotificationConfig,
    templates: &Templates,
    state: &State,
    risk: &lockstep_core::risk::RiskReport,
    notice: &EscalationNotice,
    cause: &str,
) -> Vec<Envelope> {
    let Some(item) = state.items().get(&notice.blocker) else {
        return Vec::new();
    };
    let Some(recipient) = crate::notify::recipient(state, &notice.to) else {
        return Vec::new();
    };
    let empty = Provenance::default();
    let Ok(message) = crate::compose(
        Compose {
            state,
            history: &[],
            provenance: &empty,
            risk,
            templates,
        },
        &Request {
            kind: MessageKind::Escalation,
            release: item.release.clone(),
            team: Some(item.spec.team.clone()),
            role: None,
            date: notice
                .not_before
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .date(),
            format: Format::Markdown,
            escalation: Some(notice.clone()),
            run: None,
            late: None,
        },
    ) else {
        return Vec::new();
    };
    // Escalations go to every channel the person subscribed to for escalations (or to
    // everything), ignoring quiet hours: a blocker does not wait for the morning.
    subscriptions_of(config, state, &notice.to, MessageKind::Escalation)
        .into_iter()
        .map(|subscription| {
            let channel = subscription.channel.as_str();
            let key = format!(
                "{}{cause}:{}",
                escalation::key_prefix(&notice.blocker),
                notice.level.as_str()
            );
            let delivery = Delivery {
                message: message.clone(),
                recipient: Some(recipient.clone()),
                not_before: Some(notice.not_before),
                caused_by: vec![cause.to_owned()],
                // A blocker does not wait for a digest either.
                digest: false,
            };
            envelope(channel, key, &delivery)
        })
        .collect()
}

/// The messages of one run notice: to everyone subscribed to its kind for the release
/// (and the team whose step it is about), and to the people who must hear it — the
/// release manager and the runbook contacts concerned — on every channel they take that
/// kind on, whatever their release and team filters. An incident or a rollback goes out
/// at once, past quiet hours and digests; a completed run waits for them like an
/// announcement. Keys follow the announcements': `KIND:RELEASE:CAUSE:HANDLE`.
fn run_envelopes(
    config: &NotificationConfig,
    input: Compose<'_>,
    release: &Name,
    notice: &RunNotice,
    cause: &str,
    now: Timestamp,
) -> Vec<Envelope> {
    let state = input.state;
    let Some(run) = state
        .runs()
        .get(release)
        .filter(|run| run.number == notice.number)
    else {
        return Vec::new();
    };
    let kind = notice.kind();
    let team = notice.team(run).cloned();
    let Ok(message) = crate::compose(
        input,
        &Request {
            kind,
            release: release.clone(),
            team: team.clone(),
            role: None,
            date: now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date(),
            format: Format::Markdown,
            escalation: None,
            run: Some(notice.clone()),
            late: None,
        },
    ) else {
        return Vec::new();
    };
    let subscribers = targets(config, state, kind, release, team.as_ref());
    let recipients = with_named(
        config,
        state,
        kind,
        subscribers,
        &notice.contacts(state, run),
    );
    let urgent = notice.urgent();
    recipients
        .into_iter()
        .map(|target| {
            let not_before = if urgent {
                now
            } else {
                send_after(target.subscription, &target.recipient.time_zone, now)
            };
            let key = format!("{kind}:{release}:{cause}:{}", target.recipient.handle);
            let delivery = Delivery {
                message: message.clone(),
                recipient: Some(target.recipient),
                not_before: (not_before > now).then_some(not_before),
                caused_by: vec![cause.to_owned()],
                // An incident does not wait for a digest either.
                digest: !urgent && target.subscription.cadence == Cadence::Digest,
            };
            envelope(&target.subscription.channel, key, &delivery)
        })
        .collect()
}

/// The time-driven messages of one day for `release`: the daily update for each
/// subscriber (per team when they follow teams), and the weekly agenda on `weekly_on`.
/// Keys name the release, kind, day and person, so enqueueing twice sends once.
pub fn scheduled(
    config: &NotificationConfig,
    input: Compose<'_>,
    release: &Name,
    date: jiff::civil::Date,
    weekly_on: jiff::civil::Weekday,
    now: Timestamp,
) -> Result<Vec<Envelope>, ComposeError> {
    let merged = config.with_program(input.state);
    let config = &merged;
    let mut kinds = vec![MessageKind::DailyUpdate];
    if date.weekday() == weekly_on {
        kinds.push(MessageKind::WeeklyAgenda);
    }
    let mut out = Vec::new();
    for kind in kinds {
        let message = crate::compose(
            input,
            &Request {
                kind,
                release: release.clone(),
                team: None,
                role: None,
                date,
                format: Format::Markdown,
                escalation: None,
                run: None,
                late: None,
            },
        )?;
        for target in targets(config, input.state, kind, release, None) {
            let not_before = send_after(target.subscription, &target.recipient.time_zone, now);
            let key = format!("{kind}:{release}:{date}:{}", target.recipient.handle);
            let delivery = Delivery {
                message: message.clone(),
                recipient: Some(target.recipient),
                not_before: (not_before > now).then_some(not_before),
                caused_by: Vec::new(),
                digest: target.subscription.cadence == Cadence::Digest,
            };
            out.push(envelope(&target.subscription.channel, key, &delivery));
        }
    }
    Ok(out)
}
