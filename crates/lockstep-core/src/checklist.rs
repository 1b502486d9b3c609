//! Release checklists and the go/no-go meeting: checklist templates (declared, or
//! the seeds' defaults built in), their items instantiated per release with an
//! owner role and a due date, items that check themselves from signals, manual
//! ticks, approval rules with quorum, and the sign-offs of the meeting.
//!
//! A release's checklist is *derived*, not copied: it is the template that applies
//! to the release's kind now (a declared `ChecklistTemplate` listing that kind in
//! `appliesTo`, else the built-in one), with due dates computed from the release's
//! current target date. Only the facts are stored: who ticked which item id when,
//! the approval rules of a release, who asked for go/no-go and who signed. So a
//! template change shows at once in every open release, a moved release moves its
//! due dates, and ticks of items a template no longer has stay in the log but no
//! longer count.
//!
//! Approval rules can never deadlock: when rules are defined (on a template or a
//! release) and when go/no-go is requested, every required approval must be
//! assignable to a distinct existing person who is not the requester (a bipartite
//! matching of people to approval slots). The same matching counts the approvals
//! given, so one person never fills two slots.
//!
//! This module does not decide who may issue a command (that is
//! [`crate::access`]) and reads no clock: timestamps arrive in the commands' `now`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::readiness::{Criterion, CriterionStatus, Verdict};
use crate::{DomainError, Event, Name, ReleaseKind, Role, State, suggest};

/// When in a release an item is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChecklistPhase {
    /// One to two weeks before the release date.
    PreRelease,
    /// The release day.
    ReleaseDay,
    /// One to three days after.
    PostRelease,
}

impl ChecklistPhase {
    /// `pre-release`, `release-day` or `post-release`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChecklistPhase::PreRelease => "pre-release",
            ChecklistPhase::ReleaseDay => "release-day",
            ChecklistPhase::PostRelease => "post-release",
        }
    }

    /// A heading (`Pre-release`).
    pub fn title(self) -> &'static str {
        match self {
            ChecklistPhase::PreRelease => "Pre-release",
            ChecklistPhase::ReleaseDay => "Release day",
            ChecklistPhase::PostRelease => "Post-release",
        }
    }
}

/// A due date relative to the release date, in days: `-14d`, `0d`, `+3d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DueOffset(i32);

impl DueOffset {
    /// Largest offset accepted either way: a year.
    pub const MAX_DAYS: i32 = 366;

    /// An offset of `days` (negative is before the release date).
    pub fn days(days: i32) -> Result<DueOffset, String> {
        if days.abs() > Self::MAX_DAYS {
            return Err(format!(
                "due offset {days}d is more than {} days from the release date",
                Self::MAX_DAYS
            ));
        }
        Ok(DueOffset(days))
    }

    /// The number of days (negative is before).
    pub fn as_days(self) -> i32 {
        self.0
    }

    /// The due date for a release on `target`.
    pub fn due(self, target: Date) -> Date {
        crate::add_days(target, i64::from(self.0)).unwrap_or(target)
    }

    /// Parses `-14d`, `0d`, `+3d` (the `d` is required so the unit is never a guess).
    pub fn parse(raw: &str) -> Result<DueOffset, String> {
        let trimmed = raw.trim();
        let Some(number) = trimmed.strip_suffix('d') else {
            return Err(format!(
                "due offset `{raw}` must be days like `-14d`, `0d` or `+3d`"
            ));
        };
        let days: i32 = number
            .parse()
            .map_err(|_| format!("due offset `{raw}` must be days like `-14d`, `0d` or `+3d`"))?;
        DueOffset::days(days)
    }
}

impl fmt::Display for DueOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 > 0 {
            write!(f, "+{}d", self.0)
        } else {
            write!(f, "{}d", self.0)
        }
    }
}

impl Serialize for DueOffset {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DueOffset {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        DueOffset::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A signal-backed check an item can carry instead of a manual tick. The ids are
/// the go/no-go criteria of [`crate::readiness`], plus the meeting's sign-offs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AutoCheck {
    /// CI green for every component of the release.
    CiGreen,
    /// No open critical or high bugs.
    NoBlockingBugs,
    /// The latest security scans have no critical findings.
    SecurityScanClean,
    /// Staging smoke tests passed.
    StagingSmokeTests,
    /// Every integration scenario passed.
    IntegrationScenariosPassed,
    /// Every item is ready for release (acceptance criteria met).
    ItemsReady,
    /// The go/no-go meeting's approvals are complete and nobody rejects.
    SignOffs,
    /// A CI workflow named *rollback* (a rollback drill) passed for every component.
    RollbackRehearsed,
}

impl AutoCheck {
    /// The criterion id it follows.
    pub fn as_str(self) -> &'static str {
        match self {
            AutoCheck::CiGreen => "ci-green",
            AutoCheck::NoBlockingBugs => "no-blocking-bugs",
            AutoCheck::SecurityScanClean => "security-scan-clean",
            AutoCheck::StagingSmokeTests => "staging-smoke-tests",
            AutoCheck::IntegrationScenariosPassed => "integration-scenarios-passed",
            AutoCheck::ItemsReady => "items-ready",
            AutoCheck::SignOffs => "sign-offs",
            AutoCheck::RollbackRehearsed => "rollback-rehearsed",
        }
    }
}

/// One item of a checklist template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChecklistItemSpec {
    /// Unique within the template; what `lockstep checklist check` names.
    pub id: Name,
    /// The item as the seeds word it.
    pub title: String,
    /// Pre-release, release day or post-release.
    pub phase: ChecklistPhase,
    /// The role that ticks it (a release manager may tick any item).
    pub owner: Role,
    /// Due date relative to the release date (`-14d`, `0d`, `+3d`).
    pub due: DueOffset,
    /// Set when the item checks itself from signals; such items cannot be ticked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<AutoCheck>,
}

/// One approval rule: `quorum` approvals from holders of `role`, or from the named
/// `people`. Exactly one of `role` and `people` is set (checked by `decide`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApprovalRule {
    /// Approvals come from people holding this role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Approvals come from these people (member handles).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<Name>,
    /// How many distinct approvals the rule needs (default 1).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub quorum: u32,
}

fn one() -> u32 {
    1
}

fn is_one(value: &u32) -> bool {
    *value == 1
}

impl ApprovalRule {
    /// In words: `1 approval from a security`, `2 of rita, sid, sam`.
    pub fn describe(&self) -> String {
        match &self.role {
            Some(role) => format!(
                "{} approval{} from role {}",
                self.quorum,
                if self.quorum == 1 { "" } else { "s" },
                role.as_str()
            ),
            None => format!(
                "{} of {}",
                self.quorum,
                self.people
                    .iter()
                    .map(Name::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// Who may fill this rule, in `state` (before excluding the requester).
    fn eligible(&self, state: &State) -> BTreeSet<Name> {
        match self.role {
            Some(role) => state
                .teams()
                .values()
                .flat_map(|team| team.spec.members.iter())
                .filter(|member| member.roles.contains(&role))
                .map(|member| member.handle.clone())
                .collect(),
            None => self.people.iter().cloned().collect(),
        }
    }
}

/// A checklist template: the items a release of the listed kinds goes through and
/// the approvals its go/no-go needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChecklistTemplateSpec {
    /// Display title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The release kinds it applies to; one template per kind.
    pub applies_to: Vec<ReleaseKind>,
    /// Marks the expedited path (hotfix, emergency): named approvers required,
    /// and the verdict says the release went this way.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expedited: bool,
    /// The items, in order.
    pub items: Vec<ChecklistItemSpec>,
    /// The go/no-go approvals (a release may define its own instead).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<ApprovalRule>,
}

/// A declared template as the state holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecklistTemplate {
    /// Name.
    pub name: Name,
    /// Declaration.
    pub spec: ChecklistTemplateSpec,
}

/// A sign-off in the go/no-go meeting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum SignOffDecision {
    /// Go.
    Approve,
    /// No-go, with why; blocks until that person withdraws it or approves.
    Reject {
        /// Why.
        reason: String,
    },
}

/// A manual tick of a checklist item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tick {
    /// Who ticked it.
    pub by: Name,
    /// When.
    pub at: Timestamp,
    /// What they said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A sign-off as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignOff {
    /// Approve or reject (with reason).
    pub decision: SignOffDecision,
    /// When.
    pub at: Timestamp,
}

/// Who asked for go/no-go, and when: the meeting record's opening.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoNoGoRequest {
    /// The requester, who cannot approve.
    pub by: Name,
    /// When.
    pub at: Timestamp,
    /// Whether the release was on the expedited path when go/no-go was requested.
    #[serde(default)]
    pub expedited: bool,
}

/// What the log says about one release's checklist and meeting.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRecord {
    /// Manual ticks by item id.
    #[serde(default)]
    pub ticks: BTreeMap<Name, Tick>,
    /// Release-specific approval rules, replacing the template's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_rules: Option<Vec<ApprovalRule>>,
    /// The go/no-go request, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<GoNoGoRequest>,
    /// The standing sign-off of each person.
    #[serde(default)]
    pub signoffs: BTreeMap<Name, SignOff>,
}

/// Templates and per-release records: the part of [`State`] this module folds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Declared templates by name.
    #[serde(default)]
    pub templates: BTreeMap<Name, ChecklistTemplate>,
    /// Records by release.
    #[serde(default)]
    pub releases: BTreeMap<Name, ReleaseRecord>,
}

impl Ledger {
    /// Folds one event; other events are ignored. Never fails: it is replay.
    pub(crate) fn apply(&mut self, event: &Event) {
        match event {
            Event::ChecklistTemplateDefined { template, spec }
            | Event::ChecklistTemplateRedefined { template, spec } => {
                self.templates.insert(
                    template.clone(),
                    ChecklistTemplate {
                        name: template.clone(),
                        spec: spec.clone(),
                    },
                );
            }
            Event::ChecklistItemChecked {
                release,
                item,
                by,
                at,
                note,
            } => {
                self.releases
                    .entry(release.clone())
                    .or_default()
                    .ticks
                    .insert(
                        item.clone(),
                        Tick {
                            by: by.clone(),
                            at: *at,
                            note: note.clone(),
                        },
                    );
            }
            Event::ApprovalRulesDefined { release, rules } => {
                self.releases
                    .entry(release.clone())
                    .or_default()
                    .approval_rules = Some(rules.clone());
            }
            Event::GoNoGoRequested {
                release,
                by,
                at,
                expedited,
            } => {
                self.releases.entry(release.clone()).or_default().request = Some(GoNoGoRequest {
                    by: by.clone(),
                    at: *at,
                    expedited: *expedited,
                });
            }
            Event::SignOffRecorded {
                release,
                by,
                decision,
                at,
            } => {
                self.releases
                    .entry(release.clone())
                    .or_default()
                    .signoffs
                    .insert(
                        by.clone(),
                        SignOff {
                            decision: decision.clone(),
                            at: *at,
                        },
                    );
            }
            Event::SignOffWithdrawn { release, by } => {
                if let Some(record) = self.releases.get_mut(release) {
                    record.signoffs.remove(by);
                }
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// Built-in templates: the seeds' checklists.
// ---------------------------------------------------------------------------

/// The name of the built-in template for regular and out-of-band releases.
pub const STANDARD: &str = "standard";
/// The name of the built-in template for hotfix and emergency releases.
pub const EXPEDITED: &str = "expedited";

fn item(
    id: &str,
    title: &str,
    phase: ChecklistPhase,
    owner: Role,
    due: i32,
    check: Option<AutoCheck>,
) -> ChecklistItemSpec {
    ChecklistItemSpec {
        id: Name::parse(id).expect("built-in item ids are valid names"),
        title: title.to_owned(),
        phase,
        owner,
        due: DueOffset(due),
        check,
    }
}

/// The built-in templates, by name: `standard` (seed 003's release coordination
/// checklist plus seed 000's T-1 week items) and `expedited` (a smaller one for
/// hotfix and emergency releases).
#[rustfmt::skip] // A table: one item per line reads like the seed.
pub fn builtin_templates() -> Vec<ChecklistTemplate> {
    use AutoCheck as A;
    use ChecklistPhase::{PostRelease as Post, PreRelease as Pre, ReleaseDay as Day};
    use Role::*;
    let standard = ChecklistTemplateSpec {
        title: Some("Release coordination checklist".to_owned()),
        applies_to: vec![ReleaseKind::Regular, ReleaseKind::OutOfBand],
        expedited: false,
        items: vec![
            item("scope-finalized", "Release scope finalized and communicated", Pre, ReleaseManager, -14, None),
            item("release-branch", "Release branch created and protected", Pre, TechLead, -14, None),
            item("code-freeze-announced", "Code freeze date announced", Pre, ReleaseManager, -14, None),
            item("release-notes-drafted", "Release notes drafted", Pre, ReleaseManager, -10, None),
            item("acceptance-criteria", "All features meet acceptance criteria", Pre, ProductOwner, -7, Some(A::ItemsReady)),
            item("ci-green", "CI/CD pipeline passing for release branch", Pre, TechLead, -7, Some(A::CiGreen)),
            item("security-scans", "Security scans completed with no critical issues", Pre, Security, -7, Some(A::SecurityScanClean)),
            item("design-qa", "Design QA completed for UI changes", Pre, UxDesigner, -7, None),
            item("support-docs", "Support documentation updated", Pre, SupportLiaison, -7, None),
            item("rollback-plan", "Rollback plan documented and reviewed", Pre, ReleaseManager, -7, None),
            item("deployment-window", "Deployment window scheduled and announced", Pre, ReleaseManager, -7, None),
            item("staging-smoke-tests", "Staging environment updated and smoke tests passed", Pre, Qa, -2, Some(A::StagingSmokeTests)),
            item("integration-tests", "All integration tests passing", Pre, Qa, -7, Some(A::IntegrationScenariosPassed)),
            item("performance-testing", "Performance testing complete", Pre, Qa, -7, None),
            item("security-review", "Security review signed off", Pre, Security, -7, None),
            item("rollback-tested", "Rollback procedures tested", Pre, TechLead, -7, Some(A::RollbackRehearsed)),
            item("monitoring-configured", "Monitoring/alerts configured", Pre, TechLead, -7, None),
            item("stakeholders-timeline", "Stakeholders notified of timeline", Pre, ReleaseManager, -7, None),
            item("go-no-go", "Go/no-go meeting completed", Day, ReleaseManager, 0, Some(A::SignOffs)),
            item("backup-taken", "Backup or snapshot taken (if applicable)", Day, TechLead, 0, None),
            item("pre-deployment-review", "Pre-deployment checklist reviewed", Day, ReleaseManager, 0, None),
            item("deployment-initiated", "Deployment initiated", Day, TechLead, 0, None),
            item("post-deployment-verified", "Post-deployment verifications passed", Day, Qa, 0, None),
            item("dashboards-reviewed", "Monitoring dashboards reviewed", Day, TechLead, 0, None),
            item("release-notes-published", "Release notes published", Day, ReleaseManager, 0, None),
            item("stakeholders-notified", "Stakeholders notified of successful deployment", Day, ReleaseManager, 0, None),
            item("support-briefed", "Support team briefed", Day, SupportLiaison, 0, None),
            item("monitor-metrics", "Monitor error rates and performance metrics", Post, TechLead, 1, None),
            item("review-incidents", "Review any incidents or issues", Post, ReleaseManager, 2, None),
            item("gather-feedback", "Gather feedback from team and stakeholders", Post, ReleaseManager, 3, None),
            item("lessons-learned", "Document lessons learned", Post, ReleaseManager, 3, None),
            item("archive-materials", "Archive release materials", Post, ReleaseManager, 3, None),
            item("update-metrics", "Update release metrics dashboard", Post, ReleaseManager, 3, None),
        ],
        approvals: vec![],
    };
    let expedited = ChecklistTemplateSpec {
        title: Some("Expedited path (hotfix and emergency)".to_owned()),
        applies_to: vec![ReleaseKind::Hotfix, ReleaseKind::Emergency],
        expedited: true,
        items: vec![
            item("ci-green", "CI/CD pipeline passing for release branch", Pre, TechLead, 0, Some(A::CiGreen)),
            item("no-blocking-bugs", "No critical or high-severity open bugs", Pre, Qa, 0, Some(A::NoBlockingBugs)),
            item("security-scans", "Security scans completed with no critical issues", Pre, Security, 0, Some(A::SecurityScanClean)),
            item("staging-smoke-tests", "Staging environment updated and smoke tests passed", Pre, Qa, 0, Some(A::StagingSmokeTests)),
            item("rollback-plan", "Rollback plan documented and reviewed", Pre, ReleaseManager, 0, None),
            item("go-no-go", "Go/no-go meeting completed", Day, ReleaseManager, 0, Some(A::SignOffs)),
            item("deployment-initiated", "Deployment initiated", Day, TechLead, 0, None),
            item("post-deployment-verified", "Post-deployment verifications passed", Day, Qa, 0, None),
            item("stakeholders-notified", "Stakeholders notified of successful deployment", Day, ReleaseManager, 0, None),
            item("monitor-metrics", "Monitor error rates and performance metrics", Post, TechLead, 1, None),
            item("lessons-learned", "Document lessons learned", Post, ReleaseManager, 3, None),
        ],
        approvals: vec![],
    };
    vec![
        ChecklistTemplate {
            name: Name::parse(STANDARD).expect("valid name"),
            spec: standard,
        },
        ChecklistTemplate {
            name: Name::parse(EXPEDITED).expect("valid name"),
            spec: expedited,
        },
    ]
}

/// The template that applies to releases of `kind`, and whether it is built in.
pub fn template_for(state: &State, kind: ReleaseKind) -> (ChecklistTemplate, bool) {
    if let Some(declared) = state
        .checklists()
        .templates
        .values()
        .find(|t| t.spec.applies_to.contains(&kind))
    {
        return (declared.clone(), false);
    }
    let builtin = builtin_templates()
        .into_iter()
        .find(|t| t.spec.applies_to.contains(&kind))
        .expect("the built-in templates cover every release kind");
    (builtin, true)
}

// ---------------------------------------------------------------------------
// Validation, used by `decide`.
// ---------------------------------------------------------------------------

fn not_found_member(state: &State, handle: &Name) -> DomainError {
    DomainError::NotFound {
        kind: "member",
        name: handle.to_string(),
        suggestion: suggest::closest(
            handle.as_str(),
            state
                .teams()
                .values()
                .flat_map(|t| t.spec.members.iter().map(|m| m.handle.as_str())),
        )
        .map(str::to_owned),
    }
}

/// Checks a template's own rules (ids, titles, kinds) and its approval rules.
pub(crate) fn check_template(
    state: &State,
    template: &Name,
    spec: &ChecklistTemplateSpec,
) -> Result<(), DomainError> {
    if spec.applies_to.is_empty() {
        return Err(DomainError::invalid(
            "spec.appliesTo",
            "a template applies to at least one release kind (regular, hotfix, emergency, out-of-band)",
        ));
    }
    for kind in &spec.applies_to {
        if let Some(other) = state
            .checklists()
            .templates
            .values()
            .find(|t| &t.name != template && t.spec.applies_to.contains(kind))
        {
            return Err(DomainError::invalid(
                "spec.appliesTo",
                format!(
                    "release kind `{}` already has checklist template `{}`; a kind has one template",
                    kind_str(*kind),
                    other.name
                ),
            ));
        }
    }
    if spec.items.is_empty() {
        return Err(DomainError::invalid(
            "spec.items",
            "a checklist template needs at least one item",
        ));
    }
    let mut ids = BTreeSet::new();
    for item in &spec.items {
        if !ids.insert(&item.id) {
            return Err(DomainError::Duplicate {
                kind: "checklist item",
                name: item.id.to_string(),
            });
        }
        if item.title.trim().is_empty() {
            return Err(DomainError::invalid(
                format!("spec.items.{}.title", item.id),
                "a checklist item needs a title",
            ));
        }
    }
    check_rules(state, &spec.approvals, None)
}

/// `regular`, `hotfix`, …
pub fn kind_str(kind: ReleaseKind) -> &'static str {
    match kind {
        ReleaseKind::Regular => "regular",
        ReleaseKind::Hotfix => "hotfix",
        ReleaseKind::Emergency => "emergency",
        ReleaseKind::OutOfBand => "out-of-band",
    }
}

/// Checks that `rules` are well formed, name existing people and roles, and can
/// all be met at once by distinct people other than `requester`.
pub(crate) fn check_rules(
    state: &State,
    rules: &[ApprovalRule],
    requester: Option<&Name>,
) -> Result<(), DomainError> {
    for (index, rule) in rules.iter().enumerate() {
        let field = format!("approvals[{index}]");
        match (&rule.role, rule.people.is_empty()) {
            (Some(_), false) => {
                return Err(DomainError::invalid(
                    field,
                    "name either a role or people, not both",
                ));
            }
            (None, true) => {
                return Err(DomainError::invalid(field, "name a role or people"));
            }
            _ => {}
        }
        if rule.quorum == 0 {
            return Err(DomainError::invalid(
                field,
                "a quorum of 0 approves nothing; use at least 1",
            ));
        }
        let mut seen = BTreeSet::new();
        for person in &rule.people {
            if state.team_of_member(person.as_str()).is_none() {
                return Err(not_found_member(state, person));
            }
            if !seen.insert(person) {
                return Err(DomainError::Duplicate {
                    kind: "approver",
                    name: person.to_string(),
                });
            }
        }
        let mut eligible = rule.eligible(state);
        if let Some(requester) = requester {
            eligible.remove(requester);
        }
        if (eligible.len() as u64) < u64::from(rule.quorum) {
            return Err(DomainError::invalid(
                field,
                format!(
                    "{} can never be met: only {} eligible {}{}",
                    rule.describe(),
                    eligible.len(),
                    if eligible.len() == 1 {
                        "person"
                    } else {
                        "people"
                    },
                    match (rule.role, requester) {
                        (_, Some(requester)) => {
                            format!(" besides the requester `{requester}`")
                        }
                        (Some(role), None) => format!(" hold role {}", role.as_str()),
                        (None, None) => String::new(),
                    }
                ),
            ));
        }
    }
    let candidates: BTreeSet<Name> = rules
        .iter()
        .flat_map(|rule| rule.eligible(state))
        .filter(|person| Some(person) != requester)
        .collect();
    let filled = assign(state, rules, &candidates);
    let n_slots: u64 = rules.iter().map(|r| u64::from(r.quorum)).sum();
    let n_filled: u64 = filled.iter().map(|people| people.len() as u64).sum();
    if n_filled < n_slots {
        return Err(DomainError::invalid(
            "approvals",
            format!(
                "the rules need {n_slots} approvals from distinct people, but only {n_filled} can be given at once{}: \
                 they would deadlock",
                requester
                    .map(|r| format!(" without the requester `{r}`"))
                    .unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

/// Assigns `people` to the rules' approval slots, each person to at most one slot
/// (Kuhn's augmenting paths; rules and people are few). Returns, per rule, the
/// people assigned to it.
fn assign(state: &State, rules: &[ApprovalRule], people: &BTreeSet<Name>) -> Vec<Vec<Name>> {
    let slots: Vec<usize> = rules
        .iter()
        .enumerate()
        .flat_map(|(index, rule)| std::iter::repeat_n(index, rule.quorum as usize))
        .collect();
    let eligible: Vec<BTreeSet<Name>> = rules.iter().map(|r| r.eligible(state)).collect();
    let people: Vec<&Name> = people.iter().collect();
    let mut slot_of_person: Vec<Option<usize>> = vec![None; people.len()];
    let mut person_of_slot: Vec<Option<usize>> = vec![None; slots.len()];
    fn augment(
        person: usize,
        people: &[&Name],
        slots: &[usize],
        eligible: &[BTreeSet<Name>],
        seen: &mut [bool],
        slot_of_person: &mut [Option<usize>],
        person_of_slot: &mut [Option<usize>],
    ) -> bool {
        for slot in 0..slots.len() {
            if seen[slot] || !eligible[slots[slot]].contains(people[person]) {
                continue;
            }
            seen[slot] = true;
            let free = match person_of_slot[slot] {
                None => true,
                Some(other) => augment(
                    other,
                    people,
                    slots,
                    eligible,
                    seen,
                    slot_of_person,
                    person_of_slot,
                ),
            };
            if free {
                person_of_slot[slot] = Some(person);
                slot_of_person[person] = Some(slot);
                return true;
            }
        }
        false
    }
    for person in 0..people.len() {
        let mut seen = vec![false; slots.len()];
        augment(
            person,
            &people,
            &slots,
            &eligible,
            &mut seen,
            &mut slot_of_person,
            &mut person_of_slot,
        );
    }
    let mut filled = vec![Vec::new(); rules.len()];
    for (slot, person) in person_of_slot.iter().enumerate() {
        if let Some(person) = person {
            filled[slots[slot]].push(people[*person].clone());
        }
    }
    for people in &mut filled {
        people.sort();
    }
    filled
}

/// The approval rules that apply to `release`: its own, else its template's.
pub fn rules_of(state: &State, release: &Name) -> Vec<ApprovalRule> {
    if let Some(rules) = state
        .checklists()
        .releases
        .get(release)
        .and_then(|r| r.approval_rules.clone())
    {
        return rules;
    }
    state
        .releases()
        .get(release)
        .map(|r| template_for(state, r.spec.kind).0.spec.approvals)
        .unwrap_or_default()
}

/// Whether `person` may fill any of `rules`.
pub(crate) fn is_named_approver(state: &State, rules: &[ApprovalRule], person: &Name) -> bool {
    rules
        .iter()
        .any(|rule| rule.eligible(state).contains(person))
}

// ---------------------------------------------------------------------------
// Views: the checklist of a release and its meeting, and the full verdict.
// ---------------------------------------------------------------------------

/// How a checklist item stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ItemState {
    /// Ticked, or its signals say met.
    Done,
    /// Its signals say not met.
    Failed,
    /// Not ticked (or no evidence yet).
    Open,
}

impl ItemState {
    /// `done`, `failed` or `open`.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Done => "done",
            ItemState::Failed => "failed",
            ItemState::Open => "open",
        }
    }
}

/// One item of a release's checklist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChecklistEntry {
    /// The template item.
    pub spec: ChecklistItemSpec,
    /// Its due date for this release.
    pub due: Date,
    /// How it stands.
    pub state: ItemState,
    /// The tick, for a manual item.
    pub tick: Option<Tick>,
    /// Why it stands so: the tick or the signals' evidence and what is missing.
    pub evidence: Vec<String>,
}

/// A release's checklist, derived from its template and the recorded ticks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checklist {
    /// The release.
    pub release: Name,
    /// The template's name.
    pub template: Name,
    /// Whether the template is built in.
    pub builtin: bool,
    /// Whether this is the expedited path.
    pub expedited: bool,
    /// The items, in template order.
    pub entries: Vec<ChecklistEntry>,
}

impl Checklist {
    /// Done items over all items.
    pub fn progress(&self) -> (usize, usize) {
        let done = self
            .entries
            .iter()
            .filter(|e| e.state == ItemState::Done)
            .count();
        (done, self.entries.len())
    }
}

/// One approval rule with how far it is met.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleProgress {
    /// The rule.
    pub rule: ApprovalRule,
    /// Who may approve under it (the requester excluded).
    pub eligible: Vec<Name>,
    /// Approvals counted towards it.
    pub approved_by: Vec<Name>,
    /// Approvals still needed.
    pub missing: u32,
}

/// A rejection that blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    /// Who rejected.
    pub by: Name,
    /// Why.
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

/// The go/no-go meeting record of a release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meeting {
    /// Who asked for go/no-go and when.
    pub request: Option<GoNoGoRequest>,
    /// Whether the rules are the release's own (else the template's).
    pub release_rules: bool,
    /// Each rule and its approvals.
    pub rules: Vec<RuleProgress>,
    /// Everyone who approved, when.
    pub approvals: Vec<(Name, Timestamp)>,
    /// Standing rejections.
    pub rejections: Vec<Rejection>,
    /// Whether the path is expedited and so needs named approvers.
    pub expedited: bool,
}

impl Meeting {
    /// The sign-offs criterion of `release`.
    fn criterion(&self, release: &Name) -> Criterion {
        let mut evidence = Vec::new();
        let mut missing = Vec::new();
        let mut failed = false;
        match &self.request {
            Some(request) => evidence.push(format!(
                "go/no-go requested by {} at {}{}",
                request.by,
                request.at,
                if request.expedited {
                    " on the expedited path"
                } else {
                    ""
                }
            )),
            None if !self.rules.is_empty() => missing.push(format!(
                "go/no-go not requested yet (`lockstep signoff {release} --request`)"
            )),
            None => {}
        }
        if self.rules.is_empty() {
            if self.expedited {
                missing.push(
                    "the expedited path needs named approvers: define approval rules with people"
                        .to_owned(),
                );
            } else {
                evidence.push("no approval rules apply to this release".to_owned());
            }
        } else if self.expedited && self.rules.iter().all(|r| r.rule.people.is_empty()) {
            missing.push(
                "the expedited path needs named approvers: add a rule with people".to_owned(),
            );
        }
        for (person, at) in &self.approvals {
            evidence.push(format!("{person} approved at {at}"));
        }
        for progress in &self.rules {
            if progress.missing > 0 {
                missing.push(format!(
                    "{}: {} more needed (eligible: {})",
                    progress.rule.describe(),
                    progress.missing,
                    progress
                        .eligible
                        .iter()
                        .map(Name::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        for rejection in &self.rejections {
            failed = true;
            missing.push(format!(
                "{} rejected at {}: {}",
                rejection.by, rejection.at, rejection.reason
            ));
        }
        let status = if failed {
            CriterionStatus::Failed
        } else if missing.is_empty() {
            CriterionStatus::Met
        } else {
            CriterionStatus::Missing
        };
        Criterion {
            id: "sign-offs",
            title: "All stakeholders aligned on release (go/no-go sign-offs)",
            status,
            evidence,
            missing,
        }
    }
}

/// The meeting record of `release`.
pub fn meeting(state: &State, release: &Name) -> Meeting {
    let record = state.checklists().releases.get(release);
    let kind = state
        .releases()
        .get(release)
        .map(|r| r.spec.kind)
        .unwrap_or_default();
    let expedited = template_for(state, kind).0.spec.expedited;
    let rules = rules_of(state, release);
    let request = record.and_then(|r| r.request.clone());
    let requester = request.as_ref().map(|r| &r.by);
    let mut approvals = Vec::new();
    let mut rejections = Vec::new();
    for (person, signoff) in record.map(|r| &r.signoffs).into_iter().flatten() {
        match &signoff.decision {
            SignOffDecision::Approve => approvals.push((person.clone(), signoff.at)),
            SignOffDecision::Reject { reason } => rejections.push(Rejection {
                by: person.clone(),
                reason: reason.clone(),
                at: signoff.at,
            }),
        }
    }
    let approvers: BTreeSet<Name> = approvals
        .iter()
        .map(|(person, _)| person.clone())
        .filter(|person| Some(person) != requester)
        .collect();
    let filled = assign(state, &rules, &approvers);
    let progress = rules
        .iter()
        .zip(filled)
        .map(|(rule, approved_by)| RuleProgress {
            eligible: rule
                .eligible(state)
                .into_iter()
                .filter(|p| Some(p) != requester)
                .collect(),
            missing: rule.quorum.saturating_sub(approved_by.len() as u32),
            approved_by,
            rule: rule.clone(),
        })
        .collect();
    Meeting {
        request,
        release_rules: record.is_some_and(|r| r.approval_rules.is_some()),
        rules: progress,
        approvals,
        rejections,
        expedited,
    }
}

/// The checklist of `release`, with signal-backed items judged by `verdict` (the
/// signals' verdict of the same release) and the meeting's sign-offs.
pub fn checklist(state: &State, verdict: &Verdict, meeting: &Meeting) -> Checklist {
    let release = &verdict.release;
    let found = state.releases().get(release);
    let kind = found.map(|r| r.spec.kind).unwrap_or_default();
    let target = found.map(|r| r.spec.target_date).unwrap_or_default();
    let (template, builtin) = template_for(state, kind);
    let ticks = state.checklists().releases.get(release).map(|r| &r.ticks);
    let signoffs = meeting.criterion(release);
    let rehearsed = crate::readiness::rollback_rehearsed(state, &verdict.components);
    let entries = template
        .spec
        .items
        .iter()
        .map(|spec| {
            let due = spec.due.due(target);
            let tick = ticks.and_then(|t| t.get(&spec.id)).cloned();
            let (state, evidence) = match spec.check {
                Some(check) => {
                    let criterion = match check {
                        AutoCheck::SignOffs => Some(&signoffs),
                        AutoCheck::RollbackRehearsed => Some(&rehearsed),
                        other => verdict.criteria.iter().find(|c| c.id == other.as_str()),
                    };
                    match criterion {
                        Some(c) => {
                            let state = match c.status {
                                CriterionStatus::Met => ItemState::Done,
                                CriterionStatus::Failed => ItemState::Failed,
                                CriterionStatus::Missing => ItemState::Open,
                            };
                            let mut lines: Vec<String> = c.evidence.clone();
                            lines.extend(c.missing.iter().map(|m| format!("missing: {m}")));
                            (state, lines)
                        }
                        None => (ItemState::Open, vec![]),
                    }
                }
                None => match &tick {
                    Some(tick) => (
                        ItemState::Done,
                        vec![format!(
                            "checked by {} at {}{}",
                            tick.by,
                            tick.at,
                            tick.note
                                .as_ref()
                                .map(|n| format!(": {n}"))
                                .unwrap_or_default()
                        )],
                    ),
                    None => (ItemState::Open, vec![]),
                },
            };
            ChecklistEntry {
                spec: spec.clone(),
                due,
                state,
                tick,
                evidence,
            }
        })
        .collect();
    Checklist {
        release: release.clone(),
        template: template.name,
        builtin,
        expedited: template.spec.expedited,
        entries,
    }
}

/// The full go/no-go assessment: the signals' verdict plus the pre-release
/// checklist and the meeting's sign-offs as two more criteria.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assessment {
    /// Every criterion with its evidence; go only when all are met.
    pub verdict: Verdict,
    /// The release's checklist.
    pub checklist: Checklist,
    /// The meeting record.
    pub meeting: Meeting,
}

impl Assessment {
    /// Whether the release went (or goes) through the expedited path.
    pub fn expedited(&self) -> bool {
        self.checklist.expedited
    }
}

/// Evaluates `release`: [`crate::readiness::evaluate`] plus the checklist and
/// sign-off criteria. This is what the CLI, the API and the dashboard show.
///
/// The `checklist-pre-release` criterion judges the manual pre-release items;
/// signal-backed items are judged by the criterion they follow and only cited.
pub fn assess(state: &State, release: &Name) -> Result<Assessment, DomainError> {
    let mut verdict = crate::readiness::evaluate(state, release)?;
    let meeting = meeting(state, release);
    let checklist = checklist(state, &verdict, &meeting);
    let mut evidence = Vec::new();
    let mut missing = Vec::new();
    let mut failed = false;
    for entry in checklist
        .entries
        .iter()
        .filter(|e| e.spec.phase == ChecklistPhase::PreRelease)
    {
        let line = format!(
            "{} — {} ({}, due {})",
            entry.spec.id,
            entry.spec.title,
            entry.spec.owner.as_str(),
            entry.due
        );
        if let Some(check) = entry.spec.check {
            // Judged by its own criterion above; listing it here again would give
            // every signal failure two reasons.
            evidence.push(format!(
                "{line}: {} (see criterion {})",
                entry.state.as_str(),
                check.as_str()
            ));
            continue;
        }
        match entry.state {
            ItemState::Done => evidence.push(format!(
                "{line}: {}",
                entry
                    .evidence
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "done".to_owned())
            )),
            ItemState::Failed => {
                failed = true;
                missing.push(format!("{line}: failed"));
            }
            ItemState::Open => missing.push(format!("{line}: not done")),
        }
    }
    let status = if failed {
        CriterionStatus::Failed
    } else if missing.is_empty() {
        CriterionStatus::Met
    } else {
        CriterionStatus::Missing
    };
    // A pre-release item checked by a rehearsed rollback is judged by that criterion,
    // which the signals' verdict does not hold: it joins the verdict here.
    let rehearsal_checked = checklist.entries.iter().any(|entry| {
        entry.spec.phase == ChecklistPhase::PreRelease
            && entry.spec.check == Some(AutoCheck::RollbackRehearsed)
    });
    if rehearsal_checked {
        let rehearsed = crate::readiness::rollback_rehearsed(state, &verdict.components);
        verdict.criteria.push(rehearsed);
    }
    verdict.criteria.push(Criterion {
        id: "checklist-pre-release",
        title: "Pre-release checklist complete",
        status,
        evidence,
        missing,
    });
    verdict.criteria.push(meeting.criterion(&verdict.release));
    Ok(Assessment {
        verdict,
        checklist,
        meeting,
    })
}

/// The checklist item `item` of `release`'s template, with a did-you-mean.
pub(crate) fn template_item(
    state: &State,
    release: &Name,
    item: &Name,
) -> Result<ChecklistItemSpec, DomainError> {
    let kind = state
        .releases()
        .get(release)
        .map(|r| r.spec.kind)
        .unwrap_or_default();
    let (template, _) = template_for(state, kind);
    template
        .spec
        .items
        .iter()
        .find(|i| &i.id == item)
        .cloned()
        .ok_or_else(|| DomainError::NotFound {
            kind: "checklist item",
            name: item.to_string(),
            suggestion: suggest::closest(
                item.as_str(),
                template.spec.items.iter().map(|i| i.id.as_str()),
            )
            .map(str::to_owned),
        })
}

/// Whether `person` holds `role` or manages releases (the role or by being named
/// the release's manager).
pub(crate) fn may_tick(state: &State, release: &Name, person: &Name, owner: Role) -> bool {
    let roles = state
        .team_of_member(person.as_str())
        .and_then(|team| state.teams().get(team))
        .and_then(|team| team.spec.members.iter().find(|m| &m.handle == person))
        .map(|m| m.roles.clone())
        .unwrap_or_default();
    roles.contains(&owner)
        || roles.contains(&Role::ReleaseManager)
        || state
            .releases()
            .get(release)
            .and_then(|r| r.spec.manager.as_ref())
            .is_some_and(|manager| manager == person)
}

/// Checks that `person` is a member, with a did-you-mean.
pub(crate) fn member(state: &State, person: &Name) -> Result<(), DomainError> {
    match state.team_of_member(person.as_str()) {
        Some(_) => Ok(()),
        None => Err(not_found_member(state, person)),
    }
}

// ---------------------------------------------------------------------------
// Decisions: the checklist commands, called from `decide`.
// ---------------------------------------------------------------------------

fn open_release<'s>(state: &'s State, release: &Name) -> Result<&'s crate::Release, DomainError> {
    let found = state
        .releases()
        .get(release)
        .ok_or_else(|| DomainError::NotFound {
            kind: "release",
            name: release.to_string(),
            suggestion: suggest::closest(
                release.as_str(),
                state.releases().keys().map(Name::as_str),
            )
            .map(str::to_owned),
        })?;
    if found.state.is_terminal() {
        return Err(DomainError::ReleaseClosed {
            release: release.clone(),
            state: found.state,
        });
    }
    Ok(found)
}

/// Decides a checklist or meeting command. Other commands are a bug of the caller.
pub(crate) fn decide(
    state: &State,
    command: crate::Command,
    now: Timestamp,
) -> Result<Vec<Event>, DomainError> {
    use crate::Command;
    let record = |release: &Name| state.checklists().releases.get(release);
    match command {
        Command::DefineChecklistTemplate { template, spec } => {
            let existing = state.checklists().templates.get(&template);
            if existing.is_some_and(|t| t.spec == spec) {
                return Ok(vec![]);
            }
            check_template(state, &template, &spec)?;
            Ok(vec![match existing {
                None => Event::ChecklistTemplateDefined { template, spec },
                Some(_) => Event::ChecklistTemplateRedefined { template, spec },
            }])
        }
        Command::CheckItem {
            release,
            item,
            by,
            note,
        } => {
            open_release(state, &release)?;
            member(state, &by)?;
            let spec = template_item(state, &release, &item)?;
            if let Some(check) = spec.check {
                return Err(DomainError::invalid(
                    "item",
                    format!(
                        "checklist item `{item}` checks itself from signals ({}); it cannot be ticked",
                        check.as_str()
                    ),
                ));
            }
            if !may_tick(state, &release, &by, spec.owner) {
                return Err(DomainError::invalid(
                    "by",
                    format!(
                        "checklist item `{item}` is owned by role {}; `{by}` neither holds it nor manages the release",
                        spec.owner.as_str()
                    ),
                ));
            }
            if record(&release).is_some_and(|r| r.ticks.contains_key(&item)) {
                return Ok(vec![]);
            }
            let note = note.filter(|n| !n.trim().is_empty());
            Ok(vec![Event::ChecklistItemChecked {
                release,
                item,
                by,
                at: now,
                note,
            }])
        }
        Command::DefineApprovalRules { release, rules } => {
            // Unchanged rules decide nothing, even on a closed release: re-applying
            // an exported manifest must be a no-op.
            if record(&release).and_then(|r| r.approval_rules.as_ref()) == Some(&rules) {
                return Ok(vec![]);
            }
            open_release(state, &release)?;
            let requester = record(&release)
                .and_then(|r| r.request.as_ref())
                .map(|r| &r.by);
            check_rules(state, &rules, requester)?;
            Ok(vec![Event::ApprovalRulesDefined { release, rules }])
        }
        Command::RequestGoNoGo { release, by } => {
            open_release(state, &release)?;
            member(state, &by)?;
            if let Some(request) = record(&release).and_then(|r| r.request.as_ref()) {
                if request.by == by {
                    return Ok(vec![]);
                }
                return Err(DomainError::invalid(
                    "release",
                    format!(
                        "go/no-go of `{release}` was already requested by `{}` at {}",
                        request.by, request.at
                    ),
                ));
            }
            let rules = rules_of(state, &release);
            check_rules(state, &rules, Some(&by)).map_err(|error| {
                DomainError::invalid(
                    "by",
                    format!("`{by}` cannot request go/no-go of `{release}`: {error}"),
                )
            })?;
            let kind = state
                .releases()
                .get(&release)
                .map(|r| r.spec.kind)
                .unwrap_or_default();
            let expedited = template_for(state, kind).0.spec.expedited;
            Ok(vec![Event::GoNoGoRequested {
                release,
                by,
                at: now,
                expedited,
            }])
        }
        Command::SignOff {
            release,
            by,
            decision,
        } => {
            open_release(state, &release)?;
            member(state, &by)?;
            let Some(request) = record(&release).and_then(|r| r.request.as_ref()) else {
                return Err(DomainError::invalid(
                    "release",
                    format!(
                        "go/no-go of `{release}` has not been requested; sign-offs come after the request"
                    ),
                ));
            };
            let rules = rules_of(state, &release);
            if !is_named_approver(state, &rules, &by) {
                let named: BTreeSet<Name> = rules.iter().flat_map(|r| r.eligible(state)).collect();
                return Err(DomainError::invalid(
                    "by",
                    format!(
                        "`{by}` is not a named approver of `{release}` (approvers: {})",
                        if named.is_empty() {
                            "none; define approval rules".to_owned()
                        } else {
                            named
                                .iter()
                                .map(Name::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        }
                    ),
                ));
            }
            if let SignOffDecision::Reject { reason } = &decision
                && reason.trim().is_empty()
            {
                return Err(DomainError::invalid("reason", "a rejection needs a reason"));
            }
            if request.by == by && decision == SignOffDecision::Approve {
                return Err(DomainError::invalid(
                    "by",
                    format!(
                        "`{by}` requested this go/no-go and cannot approve it (no self-approval)"
                    ),
                ));
            }
            if record(&release)
                .and_then(|r| r.signoffs.get(&by))
                .is_some_and(|s| s.decision == decision)
            {
                return Ok(vec![]);
            }
            Ok(vec![Event::SignOffRecorded {
                release,
                by,
                decision,
                at: now,
            }])
        }
        Command::WithdrawSignOff { release, by } => {
            open_release(state, &release)?;
            member(state, &by)?;
            if !record(&release).is_some_and(|r| r.signoffs.contains_key(&by)) {
                return Err(DomainError::NotFound {
                    kind: "sign-off",
                    name: format!("{by} on {release}"),
                    suggestion: None,
                });
            }
            Ok(vec![Event::SignOffWithdrawn { release, by }])
        }
        other => Err(DomainError::invalid(
            "command",
            format!("not a checklist command: {other:?}"),
        )),
    }
}
