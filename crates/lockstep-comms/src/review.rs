//! What the two review workflows tell whom: a change request (`lockstep_core::change`)
//! proposed, approved with the impact of what it applied, rejected or withdrawn; and a
//! new version of an interface (`lockstep_core::contract`) proposed, decided or
//! published.
//!
//! Both are about the program rather than one release — a change may move several
//! releases or none, an interface may touch no open release — so their messages name no
//! release (`Message::release` is `None`) and subscribers are matched by a
//! [`Scope`] of releases and teams instead.
//!
//! Who hears what ([`audience`]):
//!
//! - **A change proposed**: the release managers, and subscribers without a release or
//!   team filter. Which releases a proposal touches is known only by planning its
//!   manifests, which is `lockstep-manifest`'s job; comms does not depend on it, and the
//!   impact computed at proposal time would be stale by the review anyway (it is
//!   computed again whenever the request is shown). So a filtered subscriber is not
//!   told of a proposal they might not care about; they hear of the approval.
//! - **A change approved**: the requester (when their login is a member handle), the
//!   tech leads and on-call primaries of the teams `change::impact` names, the release
//!   managers, and subscribers of the releases and teams it touched. The impact is
//!   computed from the state before the batch and the events the approval applied in it.
//! - **A change rejected or withdrawn**: the requester and the release managers, with
//!   the rationale.
//! - **An interface change** (proposed, decided, published): the tech leads and on-call
//!   primaries of the consumer teams and of the producer team, and subscribers of the
//!   open releases and the teams `contract::impact` names.
//!
//! Named people get the message on every channel they take its kind on, whatever their
//! filters (as run notices' contacts do). None of it is urgent: quiet hours and digests
//! hold it like an announcement. Pure: the routing goes through `policy::on_commit`,
//! which stores what comes out; nothing here reads the clock.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use lockstep_core::change::Impact;
use lockstep_core::contract::{DecisionRecord, InterfaceVersion, ProposalDecision, Version};
use lockstep_core::{Event, EventMeta, Name, Role, State};
use serde_json::json;

use crate::notify::{NotificationConfig, Scope, Target, targets_in};
use crate::policy::{Envelope, Pending, held, with_named};
use crate::{ComposeError, Format, Message, MessageKind, Templates};

/// Something a review workflow did that people must be told about.
#[derive(Clone, Debug, PartialEq)]
pub enum ReviewNotice {
    /// A change request moved.
    Change {
        /// The request (`cr-1`).
        change: Name,
        /// What happened to it.
        occurrence: ChangeOccurrence,
        /// Who did it (a login name).
        by: String,
        /// When.
        at: Timestamp,
    },
    /// A new version of an interface moved.
    Interface {
        /// The interface.
        interface: Name,
        /// What happened.
        occurrence: InterfaceOccurrence,
        /// Who did it (a login name).
        by: String,
        /// When.
        at: Timestamp,
    },
}

/// What happened to a change request.
#[derive(Clone, Debug, PartialEq)]
pub enum ChangeOccurrence {
    /// Proposed for review.
    Proposed,
    /// Approved; its events were applied in the same commit.
    Approved {
        /// The approver's note, if any.
        rationale: Option<String>,
        /// What the applied events did to the program as it stood before them.
        impact: Box<Impact>,
    },
    /// Rejected, with the rationale.
    Rejected {
        /// Why.
        rationale: String,
    },
    /// Withdrawn by the requester.
    Withdrawn {
        /// The reason recorded with the event, if any.
        reason: Option<String>,
    },
}

/// What happened to a proposed version of an interface.
#[derive(Clone, Debug, PartialEq)]
pub enum InterfaceOccurrence {
    /// A new version was proposed.
    Proposed {
        /// The proposal's number.
        number: u32,
    },
    /// A proposal was approved or rejected.
    Decided {
        /// The proposal's number.
        number: u32,
        /// The version proposed.
        version: Version,
        /// The decision record.
        record: DecisionRecord,
        /// The version published by the approval in the same commit.
        published: Option<InterfaceVersion>,
    },
    /// A version was published without a decision in the same commit.
    Published {
        /// The version and its changelog entry.
        entry: InterfaceVersion,
    },
}

impl ReviewNotice {
    /// The kind of message it becomes.
    pub fn kind(&self) -> MessageKind {
        match self {
            ReviewNotice::Change { .. } => MessageKind::ChangeRequest,
            ReviewNotice::Interface { .. } => MessageKind::InterfaceChange,
        }
    }

    /// The change request or interface it is about: the second part of its keys.
    pub fn subject(&self) -> &Name {
        match self {
            ReviewNotice::Change { change, .. } => change,
            ReviewNotice::Interface { interface, .. } => interface,
        }
    }
}

fn is_change_event(event: &Event) -> bool {
    matches!(
        event,
        Event::ChangeProposed { .. }
            | Event::ChangeApproved { .. }
            | Event::ChangeRejected { .. }
            | Event::ChangeWithdrawn { .. }
    )
}

fn is_review_event(event: &Event) -> bool {
    is_change_event(event)
        || matches!(
            event,
            Event::InterfaceChangeProposed { .. }
                | Event::InterfaceChangeDecided { .. }
                | Event::InterfaceVersionPublished { .. }
        )
}

/// The notices a batch causes, each with its cause (`change:cr-1@2`). `before` is the
/// state the batch was decided against: an approval's impact is computed from it and the
/// events that follow the approval in the batch, up to the next change request event.
pub fn notices(
    before: &State,
    events: &[Pending<'_>],
    meta: &EventMeta,
) -> Vec<(String, ReviewNotice)> {
    if !events.iter().any(|p| is_review_event(p.event)) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (index, pending) in events.iter().enumerate() {
        let cause = format!("{}@{}", pending.stream, pending.stream_version);
        let later = &events[index + 1..];
        let notice = match pending.event {
            Event::ChangeProposed { change, by, at, .. } => ReviewNotice::Change {
                change: change.clone(),
                occurrence: ChangeOccurrence::Proposed,
                by: by.clone(),
                at: *at,
            },
            Event::ChangeApproved { change, decision } => {
                let applied: Vec<Event> = later
                    .iter()
                    .map(|p| p.event)
                    .take_while(|event| !is_change_event(event))
                    .cloned()
                    .collect();
                // The approval leads its batch; fold anything before it all the same.
                let mut state = before.clone();
                for earlier in &events[..index] {
                    state.apply(state.position(), earlier.event);
                }
                ReviewNotice::Change {
                    change: change.clone(),
                    occurrence: ChangeOccurrence::Approved {
                        rationale: decision.rationale.clone(),
                        impact: Box::new(lockstep_core::change::impact(&state, &applied)),
                    },
                    by: decision.by.clone(),
                    at: decision.at,
                }
            }
            Event::ChangeRejected { change, decision } => ReviewNotice::Change {
                change: change.clone(),
                occurrence: ChangeOccurrence::Rejected {
                    rationale: decision.rationale.clone().unwrap_or_default(),
                },
                by: decision.by.clone(),
                at: decision.at,
            },
            Event::ChangeWithdrawn { change, by, at } => ReviewNotice::Change {
                change: change.clone(),
                occurrence: ChangeOccurrence::Withdrawn {
                    reason: meta.reason.clone(),
                },
                by: by.clone(),
                at: *at,
            },
            Event::InterfaceChangeProposed {
                interface,
                proposal,
            } => ReviewNotice::Interface {
                interface: interface.clone(),
                occurrence: InterfaceOccurrence::Proposed {
                    number: proposal.number,
                },
                by: proposal.by.clone(),
                at: proposal.at,
            },
            Event::InterfaceChangeDecided {
                interface,
                number,
                version,
                record,
            } => {
                // An approval publishes in the same commit: one message says both.
                let published = later.iter().find_map(|p| match p.event {
                    Event::InterfaceVersionPublished {
                        interface: published,
                        entry,
                    } if published == interface && &entry.version == version => Some(entry.clone()),
                    _ => None,
                });
                ReviewNotice::Interface {
                    interface: interface.clone(),
                    occurrence: InterfaceOccurrence::Decided {
                        number: *number,
                        version: version.clone(),
                        record: record.clone(),
                        published,
                    },
                    by: record.by.clone(),
                    at: record.at,
                }
            }
            Event::InterfaceVersionPublished { interface, entry } => {
                let announced = events[..index].iter().any(|p| {
                    matches!(
                        p.event,
                        Event::InterfaceChangeDecided { interface: decided, version, .. }
                            if decided == interface && version == &entry.version
                    )
                });
                if announced {
                    continue;
                }
                ReviewNotice::Interface {
                    interface: interface.clone(),
                    occurrence: InterfaceOccurrence::Published {
                        entry: entry.clone(),
                    },
                    by: meta.actor.clone(),
                    at: meta.at,
                }
            }
            _ => continue,
        };
        out.push((cause, notice));
    }
    out
}

/// Who must hear of a notice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Audience {
    /// People told on every channel they take the kind on, whatever their filters, in
    /// the order they were found, once each.
    pub named: Vec<Name>,
    /// Whether subscribers of the kind are told (within `releases` and `teams`).
    pub subscribers: bool,
    /// The releases it touches, when known.
    pub releases: Option<Vec<Name>>,
    /// The teams it concerns, when known.
    pub teams: Option<Vec<Name>>,
}

impl Audience {
    fn name(&mut self, handle: Name) {
        if !self.named.contains(&handle) {
            self.named.push(handle);
        }
    }

    /// The subscribers' scope.
    pub fn scope(&self) -> Scope<'_> {
        Scope {
            releases: self.releases.as_deref(),
            teams: self.teams.as_deref(),
        }
    }
}

/// Every member with the release-manager role, in team order.
fn release_managers(state: &State) -> Vec<Name> {
    state
        .teams()
        .values()
        .flat_map(|team| team.spec.members.iter())
        .filter(|member| member.roles.contains(&Role::ReleaseManager))
        .map(|member| member.handle.clone())
        .collect()
}

/// The people who answer for a team: its tech leads, then its on-call primary.
pub(crate) fn leads(state: &State, team: &Name) -> Vec<Name> {
    let Some(team) = state.teams().get(team) else {
        return Vec::new();
    };
    team.spec
        .members
        .iter()
        .filter(|member| member.roles.contains(&Role::TechLead))
        .map(|member| member.handle.clone())
        .chain(team.spec.on_call.as_ref().map(|c| c.primary.clone()))
        .collect()
}

/// The requester, when their login name is a member handle.
fn member(state: &State, login: &str) -> Option<Name> {
    let handle = Name::parse(login).ok()?;
    state.team_of_member(handle.as_str())?;
    Some(handle)
}

/// Who hears of `notice`, given the state after its commit (see the module's doc).
pub fn audience(state: &State, notice: &ReviewNotice) -> Audience {
    let mut audience = Audience::default();
    match notice {
        ReviewNotice::Change {
            change, occurrence, ..
        } => {
            let requester = state
                .change_requests()
                .get(change)
                .and_then(|request| member(state, &request.requested_by));
            match occurrence {
                ChangeOccurrence::Proposed => {
                    audience.subscribers = true;
                }
                ChangeOccurrence::Approved { impact, .. } => {
                    audience.named.extend(requester);
                    for team in &impact.teams {
                        for lead in leads(state, team) {
                            audience.name(lead);
                        }
                    }
                    audience.subscribers = true;
                    audience.releases =
                        Some(impact.releases.iter().map(|r| r.release.clone()).collect());
                    audience.teams = Some(impact.teams.clone());
                }
                ChangeOccurrence::Rejected { .. } | ChangeOccurrence::Withdrawn { .. } => {
                    audience.named.extend(requester);
                }
            }
            for manager in release_managers(state) {
                audience.name(manager);
            }
        }
        ReviewNotice::Interface { interface, .. } => {
            let Some(found) = state.contracts().interfaces.get(interface) else {
                return audience;
            };
            let impact = lockstep_core::contract::impact(state, found);
            let mut teams = impact.teams.clone();
            if !teams.contains(&found.spec.producer) {
                teams.push(found.spec.producer.clone());
            }
            for team in &teams {
                for lead in leads(state, team) {
                    audience.name(lead);
                }
            }
            audience.subscribers = true;
            audience.releases = Some(impact.releases.iter().map(|r| r.release.clone()).collect());
            audience.teams = Some(teams);
        }
    }
    audience
}

/// The messages of one notice: to its subscribers within its scope, then to its named
/// people on every channel they take the kind on; once per (person, channel). Keys are
/// `KIND:SUBJECT:CAUSE:HANDLE` (`change-request:cr-1:change:cr-1@2:rita`), like the
/// announcements' with the request or interface in place of the release.
pub(crate) fn envelopes(
    config: &NotificationConfig,
    templates: &Templates,
    state: &State,
    notice: &ReviewNotice,
    cause: &str,
    now: Timestamp,
) -> Vec<Envelope> {
    let kind = notice.kind();
    let date = now.to_zoned_datetime(TimeZone::UTC).date();
    let Ok(message) = compose(state, templates, notice, date, Format::Markdown) else {
        return Vec::new();
    };
    let audience = audience(state, notice);
    let subscribers: Vec<Target<'_>> = if audience.subscribers {
        targets_in(config, state, kind, audience.scope())
    } else {
        Vec::new()
    };
    let recipients = with_named(config, state, kind, subscribers, &audience.named);
    held(&message, recipients, notice.subject().as_str(), cause, now)
}

// ---------------------------------------------------------------- composing

fn long(date: Date) -> String {
    date.strftime("%B %-d, %Y").to_string()
}

/// `February 4, 2025 at 16:00 UTC`: one message goes to people in several zones.
fn when(at: Timestamp) -> String {
    let utc = at.to_zoned_datetime(TimeZone::UTC);
    format!("{} at {} UTC", long(utc.date()), utc.strftime("%H:%M"))
}

/// `Mike (@mike)` for a member, the login name as given otherwise.
fn person(state: &State, login: &str) -> String {
    let found = Name::parse(login).ok().and_then(|handle| {
        let team = state.teams().get(state.team_of_member(handle.as_str())?)?;
        team.spec
            .members
            .iter()
            .find(|m| m.handle == handle)
            .map(|m| m.name.clone().unwrap_or_else(|| login.to_owned()))
    });
    match found {
        Some(name) => format!("{name} (@{login})"),
        None => login.to_owned(),
    }
}

fn team_title(state: &State, team: &Name) -> String {
    state
        .teams()
        .get(team)
        .and_then(|t| t.spec.title.clone())
        .unwrap_or_else(|| team.to_string())
}

fn release_title(state: &State, release: &Name) -> String {
    state
        .releases()
        .get(release)
        .and_then(|r| r.spec.title.clone())
        .unwrap_or_else(|| release.to_string())
}

fn item_title(state: &State, item: &Name) -> String {
    state.items().get(item).map_or_else(
        || item.to_string(),
        |i| format!("{} ({item})", i.spec.title),
    )
}

/// Writes the message of `notice` from the state after its commit.
pub fn compose(
    state: &State,
    templates: &Templates,
    notice: &ReviewNotice,
    date: Date,
    format: Format,
) -> Result<Message, ComposeError> {
    let kind = notice.kind();
    let context = match notice {
        ReviewNotice::Change {
            change,
            occurrence,
            by,
            at,
        } => change_context(state, change, occurrence, by, *at),
        ReviewNotice::Interface {
            interface,
            occurrence,
            by,
            at,
        } => interface_context(state, interface, occurrence, by, *at),
    }
    .ok_or_else(|| ComposeError::UnknownSubject(notice.subject().to_string()))?;
    let (subject, body) = templates.render(kind, &context, format)?;
    Ok(Message {
        kind,
        release: None,
        team: None,
        role: None,
        date,
        subject: subject.unwrap_or_else(|| format!("{} - {kind}", notice.subject())),
        body,
        // Written inside the commit, before positions exist: `caused_by` traces it.
        sources: Vec::new(),
    })
}

fn change_context(
    state: &State,
    change: &Name,
    occurrence: &ChangeOccurrence,
    by: &str,
    at: Timestamp,
) -> Option<serde_json::Value> {
    let request = state.change_requests().get(change)?;
    let (what, rationale) = match occurrence {
        ChangeOccurrence::Proposed => ("proposed", None),
        ChangeOccurrence::Approved { rationale, .. } => ("approved", rationale.clone()),
        ChangeOccurrence::Rejected { rationale } => ("rejected", Some(rationale.clone())),
        ChangeOccurrence::Withdrawn { reason } => ("withdrawn", reason.clone()),
    };
    let empty = Impact::default();
    let impact = match occurrence {
        ChangeOccurrence::Approved { impact, .. } => impact.as_ref(),
        _ => &empty,
    };
    let moved: Vec<serde_json::Value> = impact
        .releases
        .iter()
        .filter(|r| r.target_before != r.target_after)
        .map(|r| {
            json!({
                "name": r.release.to_string(),
                "title": release_title(state, &r.release),
                "before": r.target_before.map_or_else(|| "not planned".to_owned(), long),
                "after": r.target_after.map_or_else(|| "not planned".to_owned(), long),
            })
        })
        .collect();
    let mut scope = Vec::new();
    for release in &impact.releases {
        let title = release_title(state, &release.release);
        if !release.items_added.is_empty() {
            let items: Vec<String> = release
                .items_added
                .iter()
                .map(|i| item_title(state, i))
                .collect();
            scope.push(format!("{title} gains {}", items.join(", ")));
        }
        if !release.items_removed.is_empty() {
            let items: Vec<String> = release
                .items_removed
                .iter()
                .map(|i| item_title(state, i))
                .collect();
            scope.push(format!("{title} loses {}", items.join(", ")));
        }
        if release.deployment_changed {
            scope.push(format!("{title}: its scheduled deployment changes"));
        }
    }
    let newly_at_risk: Vec<serde_json::Value> = impact
        .newly_at_risk
        .iter()
        .map(|(item, chain)| {
            json!({
                "title": item_title(state, item),
                "chain": chain.join(" → "),
            })
        })
        .collect();
    let name = change.as_str();
    Some(json!({
        "what": what,
        "change": {
            "name": name,
            "title": request.title,
            "requester": person(state, &request.requested_by),
            "requested_at": when(request.requested_at),
        },
        "files": request.sources.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        "by": person(state, by),
        "at": when(at),
        "rationale": rationale,
        "changes": impact.changes,
        "moved": moved,
        "scope": scope,
        "newly_at_risk": newly_at_risk,
        "no_longer_at_risk": impact
            .no_longer_at_risk
            .iter()
            .map(|i| item_title(state, i))
            .collect::<Vec<_>>(),
        "teams": impact.teams.iter().map(|t| team_title(state, t)).collect::<Vec<_>>(),
        "page": format!("/changes/{name}"),
        "commands": {
            "show": format!("lockstep change show {name}"),
            "approve": format!("lockstep change approve {name} --note \"…\""),
            "reject": format!("lockstep change reject {name} --reason \"…\""),
        },
    }))
}

fn interface_context(
    state: &State,
    interface: &Name,
    occurrence: &InterfaceOccurrence,
    by: &str,
    at: Timestamp,
) -> Option<serde_json::Value> {
    let found = state.contracts().interfaces.get(interface)?;
    let spec = &found.spec;
    let proposal_numbered = |number: u32| found.proposals.iter().find(|p| p.number == number);
    let (what, version, compatibility, proposal, rationale, changelog) = match occurrence {
        InterfaceOccurrence::Proposed { number } => {
            let proposal = proposal_numbered(*number)?;
            (
                "proposed",
                proposal.version.clone(),
                proposal.compatibility,
                Some(proposal),
                None,
                None,
            )
        }
        InterfaceOccurrence::Decided {
            number,
            version,
            record,
            published,
        } => {
            let proposal = proposal_numbered(*number)?;
            (
                match record.decision {
                    ProposalDecision::Approve => "approved",
                    ProposalDecision::Reject => "rejected",
                },
                version.clone(),
                proposal.compatibility,
                Some(proposal),
                Some(record.rationale.clone()),
                published.as_ref().and_then(|entry| entry.changelog.clone()),
            )
        }
        InterfaceOccurrence::Published { entry } => (
            "published",
            entry.version.clone(),
            entry.compatibility,
            None,
            None,
            entry.changelog.clone(),
        ),
    };
    let published = matches!(
        occurrence,
        InterfaceOccurrence::Decided {
            published: Some(_),
            ..
        } | InterfaceOccurrence::Published { .. }
    );
    // The version consumers have now: the newest released one before this.
    let previous = spec
        .versions
        .iter()
        .filter(|v| v.status != lockstep_core::contract::VersionStatus::Draft)
        .filter(|v| v.version < version)
        .map(|v| &v.version)
        .max()
        .map(Version::to_string);
    let impact = lockstep_core::contract::impact(state, found);
    let consumers: Vec<String> = impact
        .teams
        .iter()
        .map(|team| {
            let components: Vec<&str> = impact
                .components
                .iter()
                .filter(|c| {
                    state
                        .components()
                        .get(*c)
                        .is_some_and(|c| &c.spec.team == team)
                })
                .map(Name::as_str)
                .collect();
            if components.is_empty() {
                team_title(state, team)
            } else {
                format!("{}: {}", team_title(state, team), components.join(", "))
            }
        })
        .collect();
    let releases: Vec<serde_json::Value> = impact
        .releases
        .iter()
        .map(|r| {
            json!({
                "name": r.release.to_string(),
                "title": release_title(state, &r.release),
                "state": r.state.to_string(),
                "target": long(r.target_date),
                "items": r.items.iter().map(|i| item_title(state, i)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let deployments: Vec<serde_json::Value> = impact
        .deployments
        .iter()
        .map(|d| {
            json!({
                "release": d.release.to_string(),
                "component": d.component.to_string(),
                "environment": d.environment.to_string(),
                "date": long(d.date),
                "at": d
                    .at
                    .parse::<jiff::civil::Time>()
                    .map_or_else(|_| d.at.clone(), |t| t.strftime("%-I:%M %p").to_string()),
                "time_zone": d.time_zone,
                "run": d.run,
            })
        })
        .collect();
    let name = interface.as_str();
    Some(json!({
        "what": what,
        "published": published,
        "interface": {
            "name": name,
            "title": spec.title.clone().unwrap_or_else(|| name.to_owned()),
            "kind": spec.kind.as_str(),
        },
        "producer": team_title(state, &spec.producer),
        "version": version.to_string(),
        "compatibility": compatibility.as_str(),
        "previous": previous,
        "summary": proposal.map(|p| p.summary.clone()),
        "proposed_by": proposal.map(|p| person(state, &p.by)),
        "by": person(state, by),
        "at": when(at),
        "rationale": rationale,
        "changelog": changelog,
        "consumers": consumers,
        "releases": releases,
        "deployments": deployments,
        "page": format!("/contracts#interface-{name}"),
        "commands": {
            "describe": format!("lockstep describe interface {name}"),
            "approve": format!("lockstep interface approve {name} {version} --rationale \"…\""),
            "reject": format!("lockstep interface reject {name} {version} --rationale \"…\""),
            "changelog": format!("lockstep interface changelog {name}"),
        },
    }))
}

/// The envelopes of every review notice of a batch, for `policy::on_commit`.
pub(crate) fn on_commit(
    config: &NotificationConfig,
    templates: &Templates,
    before: &State,
    after: &State,
    events: &[Pending<'_>],
    meta: &EventMeta,
) -> Vec<Envelope> {
    notices(before, events, meta)
        .iter()
        .flat_map(|(cause, notice)| envelopes(config, templates, after, notice, cause, meta.at))
        .collect()
}
