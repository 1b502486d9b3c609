//! Change requests: a change to the program (a release's date or scope, an item moved
//! to another release, a team's calendar) proposed as manifests, assessed for its
//! impact, and applied only when someone else approves it: a pull request for the plan.
//!
//! The request keeps the manifests as written. They are planned and decided again
//! against the state of the moment whenever the impact is shown and when the request is
//! approved, so an approval applies what the approver saw or is refused; never a
//! change computed against an older plan. Approval and the change it applies are
//! committed together. The requester cannot approve their own request (four eyes);
//! every decision keeps who, when and why.
//!
//! Parsing manifests is the edge's (`lockstep-manifest`): this module sees the commands
//! they plan to.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{DomainError, Event, Name, State};

/// One manifest file of a change request, as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSource {
    /// The file name it was proposed from, for located errors.
    pub name: String,
    /// The YAML text.
    pub text: String,
}

/// Where a change request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeStatus {
    /// Waiting for a decision.
    Open,
    /// Approved and applied, in one commit.
    Approved,
    /// Rejected, with a rationale.
    Rejected,
    /// Withdrawn by the requester.
    Withdrawn,
}

impl ChangeStatus {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeStatus::Open => "open",
            ChangeStatus::Approved => "approved",
            ChangeStatus::Rejected => "rejected",
            ChangeStatus::Withdrawn => "withdrawn",
        }
    }
}

impl std::fmt::Display for ChangeStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decision on a change request: who, when, why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeDecision {
    /// Who decided (a login name).
    pub by: String,
    /// When.
    pub at: jiff::Timestamp,
    /// Why; required to reject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<String>,
}

/// A change request as the state holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeRequest {
    /// `cr-1`, `cr-2`…, in the order they were proposed.
    pub name: Name,
    /// What it is for, in one line.
    pub title: String,
    /// The manifests it applies.
    pub sources: Vec<ChangeSource>,
    /// The releases it touched when proposed: its review is part of their coordination.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub releases: Vec<Name>,
    /// Who proposed it (a login name), and when.
    pub requested_by: String,
    /// When it was proposed.
    pub requested_at: jiff::Timestamp,
    /// Where it stands.
    pub status: ChangeStatus,
    /// The decision that closed it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<ChangeDecision>,
}

/// `command`, a proposal, with the releases `impact` says it touches; any other command
/// as it is.
pub fn with_releases(command: crate::Command, impact: &Impact) -> crate::Command {
    match command {
        crate::Command::ProposeChange {
            title, sources, by, ..
        } => crate::Command::ProposeChange {
            title,
            sources,
            releases: impact.touched_releases(),
            by,
        },
        other => other,
    }
}

/// The name the next change request gets.
pub fn next_name(state: &State) -> Name {
    let next = state.change_requests().len() + 1;
    Name::parse(&format!("cr-{next}")).unwrap_or_else(|_| unreachable!("cr-N is a valid name"))
}

/// How one release would change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseImpact {
    /// The release.
    pub release: Name,
    /// Its target date now, if it exists.
    pub target_before: Option<jiff::civil::Date>,
    /// Its target date after the change.
    pub target_after: Option<jiff::civil::Date>,
    /// Items the change adds to it.
    pub items_added: Vec<Name>,
    /// Items the change takes out of it (moved to another release).
    pub items_removed: Vec<Name>,
    /// Whether its release-day deployment plan changes (steps, times, environment).
    pub deployment_changed: bool,
    /// Whether it is at risk now, and after.
    pub at_risk_before: bool,
    /// Whether it is at risk after the change.
    pub at_risk_after: bool,
}

/// What a change request would do to the program as it stands.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Impact {
    /// The change, one line per event (`release q1-2025 changed`…).
    pub changes: Vec<String>,
    /// Releases it touches.
    pub releases: Vec<ReleaseImpact>,
    /// Items it touches directly (declared, moved, re-dated, re-scoped).
    pub items: Vec<Name>,
    /// Teams to hear about it: owners of touched items, of items depending on them, and
    /// of teams redefined.
    pub teams: Vec<Name>,
    /// Items at risk after the change that are not now, each with its causal chain.
    pub newly_at_risk: Vec<(Name, Vec<String>)>,
    /// Items at risk now that no longer would be.
    pub no_longer_at_risk: Vec<Name>,
}

impl Impact {
    /// The names of the releases it touches.
    pub fn touched_releases(&self) -> Vec<Name> {
        self.releases.iter().map(|r| r.release.clone()).collect()
    }

    /// The impact as Markdown, for the CLI and messages.
    pub fn to_markdown(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "### Changes\n");
        if self.changes.is_empty() {
            let _ = writeln!(out, "- none: the program already says this");
        }
        for change in &self.changes {
            let _ = writeln!(out, "- {change}");
        }
        if !self.releases.is_empty() {
            let _ = writeln!(out, "\n### Releases\n");
        }
        for release in &self.releases {
            let mut facts = Vec::new();
            if release.target_before != release.target_after {
                facts.push(format!(
                    "target {} → {}",
                    release
                        .target_before
                        .map_or("none".to_owned(), |d| d.to_string()),
                    release
                        .target_after
                        .map_or("none".to_owned(), |d| d.to_string())
                ));
            }
            if !release.items_added.is_empty() {
                facts.push(format!("adds {}", join(&release.items_added)));
            }
            if !release.items_removed.is_empty() {
                facts.push(format!("loses {}", join(&release.items_removed)));
            }
            if release.deployment_changed {
                facts.push("its scheduled deployment changes".to_owned());
            }
            match (release.at_risk_before, release.at_risk_after) {
                (false, true) => facts.push("**becomes at risk**".to_owned()),
                (true, false) => facts.push("is no longer at risk".to_owned()),
                _ => {}
            }
            if facts.is_empty() {
                facts.push("details only".to_owned());
            }
            let _ = writeln!(out, "- {}: {}", release.release, facts.join("; "));
        }
        let items = self.item_risk_lines();
        if !items.is_empty() {
            let _ = writeln!(out, "\n### Risk\n");
        }
        for line in items {
            let _ = writeln!(out, "- {line}");
        }
        if !self.teams.is_empty() {
            let _ = writeln!(out, "\n### Teams to tell\n\n{}", join(&self.teams));
        }
        out
    }
}

impl Impact {
    /// What changes in the risk of items: those newly at risk with their chains, then those
    /// no longer at risk.
    fn item_risk_lines(&self) -> Vec<String> {
        let newly = self
            .newly_at_risk
            .iter()
            .map(|(item, chain)| format!("{item} becomes at risk: {}", chain.join(" → ")));
        let cleared = self
            .no_longer_at_risk
            .iter()
            .map(|item| format!("{item} is no longer at risk"));
        newly.chain(cleared).collect()
    }

    /// What changes in risk, releases first, one line each: what a dry run ends with.
    pub fn risk_lines(&self) -> Vec<String> {
        let releases =
            self.releases
                .iter()
                .filter_map(|r| match (r.at_risk_before, r.at_risk_after) {
                    (false, true) => Some(format!("release {} becomes at risk", r.release)),
                    (true, false) => Some(format!("release {} is no longer at risk", r.release)),
                    _ => None,
                });
        releases.chain(self.item_risk_lines()).collect()
    }
}

fn join(names: &[Name]) -> String {
    names
        .iter()
        .map(Name::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The program as `events` would leave it, without storing them: what a preview shows.
pub fn after(state: &State, events: &[Event]) -> State {
    let mut after = state.clone();
    for event in events {
        after.apply_event(event);
    }
    after
}

/// The impact of `events` (what the change decides to, against `state`).
pub fn impact(state: &State, events: &[Event]) -> Impact {
    let after = after(state, events);
    let risk_before = crate::risk::assess(state);
    let risk_after = crate::risk::assess(&after);

    let mut items: BTreeSet<Name> = BTreeSet::new();
    let mut releases: BTreeSet<Name> = BTreeSet::new();
    let mut teams: BTreeSet<Name> = BTreeSet::new();
    for event in events {
        match event {
            Event::ReleasePlanned { release, .. }
            | Event::ReleaseRedefined { release, .. }
            | Event::ReleaseStateChanged { release, .. } => {
                releases.insert(release.clone());
            }
            Event::ItemAdded { item, release, .. } => {
                items.insert(item.clone());
                releases.insert(release.clone());
            }
            Event::ItemRedefined { item, .. }
            | Event::ItemStatusChanged { item, .. }
            | Event::ItemEtaChanged { item, .. } => {
                items.insert(item.clone());
            }
            Event::DependencyAdded { dependency } | Event::DependencyChanged { dependency } => {
                items.insert(dependency.blocker.clone());
                items.insert(dependency.blocked.clone());
            }
            Event::DependencyRemoved { blocker, blocked } => {
                items.insert(blocker.clone());
                items.insert(blocked.clone());
            }
            Event::TeamDefined { team, .. } | Event::TeamRedefined { team, .. } => {
                teams.insert(team.clone());
            }
            _ => {}
        }
    }
    for item in &items {
        for view in [state, &after] {
            if let Some(found) = view.items().get(item) {
                releases.insert(found.release.clone());
                teams.insert(found.spec.team.clone());
            }
            // Whoever waits on a touched item hears about it.
            for dependency in view.blocks(item) {
                if let Some(dependant) = view.items().get(&dependency.blocked) {
                    teams.insert(dependant.spec.team.clone());
                }
            }
        }
    }

    let members = |view: &State, release: &Name| -> BTreeSet<Name> {
        view.items_of(release).map(|i| i.name.clone()).collect()
    };
    let release_impacts = releases
        .iter()
        .map(|release| {
            let before = state.releases().get(release);
            let later = after.releases().get(release);
            let (was, will) = (members(state, release), members(&after, release));
            ReleaseImpact {
                release: release.clone(),
                target_before: before.map(|r| r.spec.target_date),
                target_after: later.map(|r| r.spec.target_date),
                items_added: will.difference(&was).cloned().collect(),
                items_removed: was.difference(&will).cloned().collect(),
                deployment_changed: before.map(|r| &r.spec.deployment)
                    != later.map(|r| &r.spec.deployment),
                at_risk_before: risk_before.releases.contains_key(release),
                at_risk_after: risk_after.releases.contains_key(release),
            }
        })
        .collect();
    let newly_at_risk = risk_after
        .items
        .keys()
        .filter(|item| !risk_before.items.contains_key(*item))
        .map(|item| (item.clone(), risk_after.chain(item)))
        .collect();
    let no_longer_at_risk = risk_before
        .items
        .keys()
        .filter(|item| !risk_after.items.contains_key(*item))
        .cloned()
        .collect();
    Impact {
        changes: events.iter().map(Event::describe).collect(),
        releases: release_impacts,
        items: items.into_iter().collect(),
        teams: teams.into_iter().collect(),
        newly_at_risk,
        no_longer_at_risk,
    }
}

/// Checks a decision on `request` by `by` before it is recorded.
pub(crate) fn check_decision(
    request: Option<&ChangeRequest>,
    change: &Name,
    by: &str,
    approve: bool,
    rationale: Option<&str>,
) -> Result<(), DomainError> {
    let Some(request) = request else {
        return Err(DomainError::NotFound {
            kind: "change request",
            name: change.to_string(),
            suggestion: None,
        });
    };
    if request.status != ChangeStatus::Open {
        return Err(DomainError::invalid(
            "change",
            format!(
                "change request {change} is already {}{}",
                request.status,
                request
                    .decision
                    .as_ref()
                    .map(|d| format!(" (by {} at {})", d.by, d.at))
                    .unwrap_or_default()
            ),
        ));
    }
    if approve && request.requested_by == by {
        return Err(DomainError::invalid(
            "by",
            format!("{by} proposed change request {change}: someone else approves it (four eyes)"),
        ));
    }
    if !approve && rationale.is_none_or(|r| r.trim().is_empty()) {
        return Err(DomainError::invalid(
            "rationale",
            "a rejection says why: give a rationale",
        ));
    }
    Ok(())
}
