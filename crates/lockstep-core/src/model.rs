//! The resources of a release program as plain data: what a manifest declares and
//! what the state holds.
//!
//! Invariants that span resources (references exist, no dependency cycle, freeze
//! dates in order) are enforced by `decide`, not here; these types only make
//! malformed single values unrepresentable where that is cheap.

use std::collections::BTreeMap;
use std::fmt;

use jiff::civil::{Date, Time};
use serde::{Deserialize, Serialize};

use crate::Name;

/// Free-form key/value labels, as in Kubernetes `metadata.labels`.
pub type Labels = BTreeMap<String, String>;

/// A role a person plays in a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Plans releases, owns the calendar, runs go/no-go.
    ReleaseManager,
    /// Leads a team and answers for its items.
    TechLead,
    /// A team member.
    Member,
    /// Represents customer support.
    SupportLiaison,
    /// User experience.
    UxDesigner,
    /// Security review.
    Security,
    /// Quality assurance.
    Qa,
    /// Business or product owner (the seeds' *business* stakeholder; `business` is
    /// accepted for it).
    #[serde(alias = "business")]
    ProductOwner,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 8] = [
        Role::ReleaseManager,
        Role::TechLead,
        Role::Member,
        Role::SupportLiaison,
        Role::UxDesigner,
        Role::Security,
        Role::Qa,
        Role::ProductOwner,
    ];

    /// Parses the kebab-case name, or `business` for the product owner.
    pub fn parse(raw: &str) -> Option<Role> {
        match raw {
            "business" => Some(Role::ProductOwner),
            _ => Role::ALL.into_iter().find(|role| role.as_str() == raw),
        }
    }

    /// The kebab-case name used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ReleaseManager => "release-manager",
            Role::TechLead => "tech-lead",
            Role::Member => "member",
            Role::SupportLiaison => "support-liaison",
            Role::UxDesigner => "ux-designer",
            Role::Security => "security",
            Role::Qa => "qa",
            Role::ProductOwner => "product-owner",
        }
    }
}

/// A person on a team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Member {
    /// Chat handle, unique across the program (`sarah`).
    pub handle: Name,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Roles this person holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
}

/// Days of the week a team works.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    /// Converts to jiff's weekday.
    pub fn to_jiff(self) -> jiff::civil::Weekday {
        use jiff::civil::Weekday as W;
        match self {
            Weekday::Mon => W::Monday,
            Weekday::Tue => W::Tuesday,
            Weekday::Wed => W::Wednesday,
            Weekday::Thu => W::Thursday,
            Weekday::Fri => W::Friday,
            Weekday::Sat => W::Saturday,
            Weekday::Sun => W::Sunday,
        }
    }
}

/// A team's working hours in its own time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkingHours {
    /// Start of the working day.
    pub start: Time,
    /// End of the working day; after `start`.
    pub end: Time,
    /// Working days.
    pub days: Vec<Weekday>,
}

impl Default for WorkingHours {
    fn default() -> Self {
        WorkingHours {
            start: Time::constant(9, 0, 0, 0),
            end: Time::constant(17, 0, 0, 0),
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
        }
    }
}

/// Who to call: a primary and a backup contact, by member handle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Contacts {
    /// First person to call.
    pub primary: Name,
    /// Called when the primary does not answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<Name>,
}

/// What a team declares about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TeamSpec {
    /// Display name (`Frontend (Team A)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// IANA time zone name, validated at the edge.
    pub time_zone: String,
    /// Working hours in `time_zone`.
    #[serde(default)]
    pub working_hours: WorkingHours,
    /// Days off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<Date>,
    /// The people on the team.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<Member>,
    /// On-call contacts, by member handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_call: Option<Contacts>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
}

/// A lesson kept with a release: what the team would do differently.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lesson {
    /// The lesson, in a sentence or a paragraph.
    pub text: String,
    /// Who recorded it (a login name).
    pub by: String,
    /// When.
    pub at: jiff::Timestamp,
}

/// A deployable unit owned by one team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComponentSpec {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Owning team.
    pub team: Name,
    /// Source repository (`github.com/acme/api`), used to map CI signals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
    /// Components that must be deployed before this one (Backstage's `dependsOn`): a
    /// runbook that deploys both puts them first, whatever the items say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Name>,
}

/// The tier of an environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Tier {
    Development,
    Testing,
    Staging,
    Production,
}

/// A place components are deployed to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvironmentSpec {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Tier, which orders environments in a promotion path.
    pub tier: Tier,
    /// When deploys are allowed; empty means any time. Blackouts still win.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deploy_windows: Vec<DeployWindow>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
}

/// A time when deploys are allowed (`Tuesday to Thursday, 09:00–16:00`), in a
/// time zone, repeating by an RFC 5545 rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeployWindow {
    /// IANA time zone of `start` and `end`, validated at the edge.
    pub time_zone: String,
    /// First instant of the first occurrence.
    pub start: jiff::civil::DateTime,
    /// First instant after it; after `start`.
    pub end: jiff::civil::DateTime,
    /// Repeats the window (`FREQ=WEEKLY;BYDAY=TU,WE,TH`); `start` must be its
    /// first occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<crate::recurrence::Rule>,
    /// Repeats the window at the times a cron expression selects (`0 9 * * TUE-THU`),
    /// instead of `recurrence`; `start` must be one of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<crate::cron::Cron>,
}

impl DeployWindow {
    /// The occurrences overlapping `[from, to)`, as for [`BlackoutSpec::occurrences`].
    pub fn occurrences(
        &self,
        from: jiff::civil::DateTime,
        to: jiff::civil::DateTime,
        zone: Option<&jiff::tz::TimeZone>,
    ) -> Vec<(jiff::civil::DateTime, jiff::civil::DateTime)> {
        crate::recurrence::window_occurrences(self.start, self.end, self.repeat(), from, to, zone)
    }

    /// How the window repeats.
    pub fn repeat(&self) -> crate::recurrence::Repeat<'_> {
        crate::recurrence::Repeat::of(self.recurrence.as_ref(), self.cron.as_ref())
    }
}

/// The kind of a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseKind {
    /// A scheduled release train.
    #[default]
    Regular,
    /// A fix for a released version.
    Hotfix,
    /// An emergency change with an expedited path.
    Emergency,
    /// Outside the regular cadence.
    OutOfBand,
}

/// Where a release is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseState {
    /// Scope is being planned.
    #[default]
    Planned,
    /// Teams are working on it.
    InProgress,
    /// Deployed; terminal.
    Released,
    /// Abandoned; terminal.
    Cancelled,
}

impl ReleaseState {
    /// Every state, in life-cycle order.
    pub const ALL: [ReleaseState; 4] = [
        ReleaseState::Planned,
        ReleaseState::InProgress,
        ReleaseState::Released,
        ReleaseState::Cancelled,
    ];

    /// Whether nothing in the release may change any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, ReleaseState::Released | ReleaseState::Cancelled)
    }

    /// Whether the release may move from `self` to `to`.
    pub fn can_move_to(self, to: ReleaseState) -> bool {
        use ReleaseState::*;
        matches!(
            (self, to),
            (Planned, InProgress)
                | (Planned, Cancelled)
                | (InProgress, Released)
                | (InProgress, Cancelled)
        )
    }
}

impl fmt::Display for ReleaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReleaseState::Planned => "planned",
            ReleaseState::InProgress => "in-progress",
            ReleaseState::Released => "released",
            ReleaseState::Cancelled => "cancelled",
        })
    }
}

/// A dated point in a release plan (`API + Backend integrated`, Feb 5), or a
/// period when `end` is set (`integration testing`, Feb 15–22).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Milestone {
    /// Unique within the release.
    pub name: Name,
    /// Display title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The date, or the first day of a period.
    pub date: Date,
    /// Last day of a period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Date>,
}

/// A signal that, when it fires during a deployment, calls for a rollback.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollbackTrigger {
    /// What is watched: `error-rate`, `p0-bug`, `integration-failure`, `latency`.
    pub signal: String,
    /// Threshold, in the signal's unit (percent for an error rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    /// How long the threshold must be exceeded, in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_minutes: Option<u32>,
    /// Human description (`Error rate >5% for 10 min`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One planned deployment step of the release day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentStep {
    /// The component deployed.
    pub component: Name,
    /// Planned start, in the deployment's time zone.
    pub at: Time,
    /// What is done (`Backend services`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// How long the step (deployment plus verification) takes, in minutes.
    #[serde(
        default = "default_step_minutes",
        skip_serializing_if = "is_default_step_minutes"
    )]
    pub minutes: u32,
    /// The component version this release deploys (`3.2.0`). When its step is done, the
    /// environment runs it, as `lockstep deployed` would record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<crate::contract::ComponentVersion>,
}

fn default_step_minutes() -> u32 {
    30
}

fn is_default_step_minutes(minutes: &u32) -> bool {
    *minutes == default_step_minutes()
}

/// A period when nothing may be deployed (a freeze or blackout), in a time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlackoutSpec {
    /// Display title (`Payments freeze`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// IANA time zone of `start` and `end`, validated at the edge.
    pub time_zone: String,
    /// First instant of the blackout.
    pub start: jiff::civil::DateTime,
    /// First instant after it; after `start`.
    pub end: jiff::civil::DateTime,
    /// Repeats the window by an RFC 5545 rule (`FREQ=WEEKLY;BYDAY=FR`), each
    /// occurrence as long as the first; `start` must be the rule's first occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<crate::recurrence::Rule>,
    /// Repeats the window at the times a cron expression selects (`0 16 * * FRI`),
    /// instead of `recurrence`; `start` must be one of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<crate::cron::Cron>,
    /// Environments it applies to; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<Name>,
    /// Why (`quarter-end close`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
}

impl BlackoutSpec {
    /// The occurrences, as `[start, end)` in the blackout's own time zone, that
    /// overlap `[from, to)` (also in that zone): the one window, or every
    /// repetition of it when it recurs. `zone` resolves an `UNTIL` given in UTC.
    pub fn occurrences(
        &self,
        from: jiff::civil::DateTime,
        to: jiff::civil::DateTime,
        zone: Option<&jiff::tz::TimeZone>,
    ) -> Vec<(jiff::civil::DateTime, jiff::civil::DateTime)> {
        crate::recurrence::window_occurrences(self.start, self.end, self.repeat(), from, to, zone)
    }

    /// How the blackout repeats.
    pub fn repeat(&self) -> crate::recurrence::Repeat<'_> {
        crate::recurrence::Repeat::of(self.recurrence.as_ref(), self.cron.as_ref())
    }
}

/// A shared resource with a limited capacity that items hold while they are
/// worked on: a staging environment, a database migration slot, the QA engineers,
/// a limit on concurrent deploys. Shared by every release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceSpec {
    /// Display title (`Staging environment`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Units available at any time; at least 1.
    pub capacity: u32,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
}

/// A resource as the state holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// Name.
    pub name: Name,
    /// Declaration.
    pub spec: ResourceSpec,
}

/// A blackout as the state holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blackout {
    /// Name.
    pub name: Name,
    /// Declaration.
    pub spec: BlackoutSpec,
}

/// The release-day plan: where, when, in what order, and when to roll back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentPlan {
    /// Target environment.
    pub environment: Name,
    /// Time zone of the step times.
    pub time_zone: String,
    /// Steps in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<DeploymentStep>,
    /// Checks after each component.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verification: Vec<String>,
    /// Rollback triggers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rollback_triggers: Vec<RollbackTrigger>,
}

/// What a release manager declares about a release (its scope lives in items).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseSpec {
    /// Display title (`Q1 2025 Platform Release`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Regular, hotfix, emergency or out-of-band.
    #[serde(default)]
    pub kind: ReleaseKind,
    /// Version string (`2025.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Release (deployment) date.
    pub target_date: Date,
    /// No new scope after this date; on or before `code_freeze`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_freeze: Option<Date>,
    /// No code changes after this date; on or before `target_date`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_freeze: Option<Date>,
    /// Handle of the release manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Name>,
    /// Integration milestones and periods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub milestones: Vec<Milestone>,
    /// The release-day plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentPlan>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
}

/// The board column of a scope item.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "kebab-case")]
pub enum ItemStatus {
    /// Being planned.
    #[default]
    Planning,
    /// Being built.
    InDevelopment,
    /// Being tested.
    Testing,
    /// In the staging environment.
    Staging,
    /// Done and waiting for the release.
    ReadyForRelease,
    /// In production; terminal.
    Released,
}

impl ItemStatus {
    /// The columns in board order.
    pub const COLUMNS: [ItemStatus; 6] = [
        ItemStatus::Planning,
        ItemStatus::InDevelopment,
        ItemStatus::Testing,
        ItemStatus::Staging,
        ItemStatus::ReadyForRelease,
        ItemStatus::Released,
    ];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Planning => "planning",
            ItemStatus::InDevelopment => "in-development",
            ItemStatus::Testing => "testing",
            ItemStatus::Staging => "staging",
            ItemStatus::ReadyForRelease => "ready-for-release",
            ItemStatus::Released => "released",
        }
    }

    /// Ready for release or released: nothing is left to build.
    pub fn is_ready(self) -> bool {
        matches!(self, ItemStatus::ReadyForRelease | ItemStatus::Released)
    }

    /// The column title shown on a board.
    pub fn title(self) -> &'static str {
        match self {
            ItemStatus::Planning => "Planning",
            ItemStatus::InDevelopment => "In Development",
            ItemStatus::Testing => "Testing",
            ItemStatus::Staging => "Staging",
            ItemStatus::ReadyForRelease => "Ready for Release",
            ItemStatus::Released => "Released",
        }
    }

    /// Parses the kebab-case name.
    pub fn parse(raw: &str) -> Option<ItemStatus> {
        ItemStatus::COLUMNS.into_iter().find(|s| s.as_str() == raw)
    }
}

impl fmt::Display for ItemStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Optimistic, most likely and pessimistic effort in working days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Estimate {
    /// Best case.
    pub optimistic: u32,
    /// Most likely.
    pub likely: u32,
    /// Worst case.
    pub pessimistic: u32,
}

/// One item of a release's scope, owned by a team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemSpec {
    /// Display title.
    pub title: String,
    /// Owning team.
    pub team: Name,
    /// The component changed, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<Name>,
    /// Conditions of done.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acceptance_criteria: Vec<String>,
    /// Labels (`dependency/blocking`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Committed due date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Date>,
    /// Three-point estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Estimate>,
    /// Shared resources the item holds while it is worked on, and how many units.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub uses: BTreeMap<Name, u32>,
    /// A start date someone committed to: the plan keeps the item there, and
    /// says why when nothing can.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_start: Option<Date>,
}

/// A dated status note on an item (`Jan 28: Started, on track`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusUpdate {
    /// The day it refers to.
    pub date: Date,
    /// The note.
    pub text: String,
}

/// An item as the state holds it: its spec plus what changes day to day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Unique across the program.
    pub name: Name,
    /// The release it belongs to.
    pub release: Name,
    /// What was declared.
    pub spec: ItemSpec,
    /// Board column.
    pub status: ItemStatus,
    /// Current estimated completion date.
    pub eta: Option<Date>,
    /// Status notes, oldest first.
    pub updates: Vec<StatusUpdate>,
}

/// `blocker` must be done before `blocked` can proceed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    /// The item that blocks.
    pub blocker: Name,
    /// The item that waits.
    pub blocked: Name,
    /// When `blocked` needs `blocker` done.
    pub need_by: Option<Date>,
    /// Days of slack wanted before `need_by`.
    pub buffer_days: u32,
    /// Added after the blocked item's release passed feature freeze.
    pub late: bool,
}

/// The integration phases of seed 000: pairs, subsystems, full system.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IntegrationPhase {
    /// Component pairs (week -3).
    ComponentPairs,
    /// Subsystems (week -2).
    Subsystems,
    /// Full system (week -1).
    FullSystem,
}

/// Outcome of one integration test scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum ScenarioResult {
    #[default]
    Pending,
    Passed,
    Failed,
    Blocked,
}

impl ScenarioResult {
    /// Every result.
    pub const ALL: [ScenarioResult; 4] = [
        ScenarioResult::Pending,
        ScenarioResult::Passed,
        ScenarioResult::Failed,
        ScenarioResult::Blocked,
    ];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ScenarioResult::Pending => "pending",
            ScenarioResult::Passed => "passed",
            ScenarioResult::Failed => "failed",
            ScenarioResult::Blocked => "blocked",
        }
    }

    /// Parses the kebab-case name.
    pub fn parse(raw: &str) -> Option<ScenarioResult> {
        ScenarioResult::ALL.into_iter().find(|r| r.as_str() == raw)
    }
}

/// A test scenario of an integration task.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// What is tested (`Chart loads with real data`).
    pub title: String,
    /// Latest result.
    #[serde(default)]
    pub result: ScenarioResult,
}

/// Seed 000's integration task: components joined, scenarios, owners, due date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntegrationTaskSpec {
    /// Display title.
    pub title: String,
    /// Phase.
    pub phase: IntegrationPhase,
    /// Milestone of the release this task feeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milestone: Option<Name>,
    /// Components joined (two or more).
    pub components: Vec<Name>,
    /// Owners, one or more per side, by member handle.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<Name>,
    /// Due date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Date>,
    /// Where it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Name>,
    /// Test scenarios.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<Scenario>,
}

/// A team as the state holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    /// Name.
    pub name: Name,
    /// Declaration.
    pub spec: TeamSpec,
}

/// A component as the state holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Component {
    /// Name.
    pub name: Name,
    /// Declaration.
    pub spec: ComponentSpec,
}

/// An environment as the state holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    /// Name.
    pub name: Name,
    /// Declaration.
    pub spec: EnvironmentSpec,
}

/// A release as the state holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Release {
    /// Name.
    pub name: Name,
    /// Declaration.
    pub spec: ReleaseSpec,
    /// Life-cycle state.
    pub state: ReleaseState,
}

/// An integration task as the state holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationTask {
    /// Name, unique across the program.
    pub name: Name,
    /// The release.
    pub release: Name,
    /// Declaration, with the latest scenario results.
    pub spec: IntegrationTaskSpec,
}

/// How likely a registered risk is, or how hard it would hit: three levels, as on the
/// 3×3 matrix most release risk registers use. A five-point scale invites false
/// precision in a weekly sync; three levels are what people agree on in five minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

impl RiskLevel {
    /// Every level, lowest first.
    pub const ALL: [RiskLevel; 3] = [RiskLevel::Low, RiskLevel::Medium, RiskLevel::High];

    /// `low`, `medium` or `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(raw: &str) -> Option<RiskLevel> {
        RiskLevel::ALL
            .into_iter()
            .find(|level| level.as_str() == raw)
    }

    /// 1, 2 or 3: the factor of the level in a risk's exposure.
    pub fn weight(self) -> u8 {
        match self {
            RiskLevel::Low => 1,
            RiskLevel::Medium => 2,
            RiskLevel::High => 3,
        }
    }
}

impl fmt::Display for RiskLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a registered risk is in its life.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum RiskStatus {
    /// Identified and not yet dealt with.
    #[default]
    Open,
    /// The mitigation is in place (the flag exists, the fallback is ready).
    Mitigated,
    /// It happened: now an issue that needs its escalation.
    Occurred,
    /// No longer a concern.
    Closed,
}

impl RiskStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [RiskStatus; 4] = [
        RiskStatus::Open,
        RiskStatus::Mitigated,
        RiskStatus::Occurred,
        RiskStatus::Closed,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskStatus::Open => "open",
            RiskStatus::Mitigated => "mitigated",
            RiskStatus::Occurred => "occurred",
            RiskStatus::Closed => "closed",
        }
    }

    /// Parses the lowercase name.
    pub fn parse(raw: &str) -> Option<RiskStatus> {
        RiskStatus::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// Open or occurred: a risk someone still has to talk about (the dashboard and
    /// the weekly agenda list these). Mitigated and closed risks are settled.
    pub fn is_live(self) -> bool {
        matches!(self, RiskStatus::Open | RiskStatus::Occurred)
    }
}

impl fmt::Display for RiskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A risk someone declared for a release (DESIGN item 8; seed 004: "define triggers for
/// escalation when risk materializes … mitigations such as feature toggles").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RiskSpec {
    /// What could go wrong (`Analytics API slips past the integration milestone`).
    pub title: String,
    /// How likely it is.
    pub probability: RiskLevel,
    /// How hard it would hit.
    pub impact: RiskLevel,
    /// The member handle who answers for it.
    pub owner: Name,
    /// What is done about it, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitigation: Option<String>,
    /// The feature flag the mitigation turns off, if it is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_flag: Option<String>,
    /// Items of the same release it concerns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Name>,
    /// When to escalate, in words (`API ETA moves past Feb 5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    /// When the owner looks at it again; past it, the review is overdue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_by: Option<Date>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
}

impl RiskSpec {
    /// Probability times impact: 1 (low × low) to 9 (high × high).
    pub fn exposure(&self) -> u8 {
        self.probability.weight() * self.impact.weight()
    }
}

/// A registered risk as the state holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Risk {
    /// Name, unique across the program.
    pub name: Name,
    /// The release it threatens.
    pub release: Name,
    /// Declaration.
    pub spec: RiskSpec,
    /// Where it is in its life; changed by its own verb, so a redefinition keeps it.
    pub status: RiskStatus,
}

impl Risk {
    /// Whether its review date is before `today` while it is still live.
    pub fn review_overdue(&self, today: Date) -> bool {
        self.status.is_live() && self.spec.review_by.is_some_and(|date| date < today)
    }
}

/// The conclusion of a CI run (a GitHub workflow run or check, a GitLab pipeline).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CiConclusion {
    /// Every job passed.
    Success,
    /// A job failed.
    Failure,
    /// The run was cancelled or timed out before it concluded.
    Cancelled,
    /// The run has not concluded yet.
    Pending,
}

impl CiConclusion {
    /// Parses the spellings GitHub and GitLab use (`success`/`failure`/`failed`,
    /// `cancelled`/`canceled`/`timed_out`, `queued`/`running`/`in_progress`/…).
    pub fn parse(raw: &str) -> Option<CiConclusion> {
        Some(match raw.to_ascii_lowercase().as_str() {
            "success" | "passed" | "neutral" | "skipped" => CiConclusion::Success,
            "failure" | "failed" | "startup_failure" | "action_required" | "stale" => {
                CiConclusion::Failure
            }
            "cancelled" | "canceled" | "timed_out" => CiConclusion::Cancelled,
            "pending" | "queued" | "requested" | "waiting" | "in_progress" | "running"
            | "created" | "preparing" | "scheduled" | "manual" => CiConclusion::Pending,
            _ => return None,
        })
    }
}

impl fmt::Display for CiConclusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CiConclusion::Success => "success",
            CiConclusion::Failure => "failure",
            CiConclusion::Cancelled => "cancelled",
            CiConclusion::Pending => "pending",
        })
    }
}

/// What a signal measured. Rates are in basis points (1/100 of a percent) and
/// latencies in milliseconds, so that readings compare exactly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SignalReading {
    /// A CI run concluded (or started).
    Ci {
        /// Workflow or pipeline name.
        workflow: String,
        /// How it ended.
        conclusion: CiConclusion,
        /// Branch it ran on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        branch: Option<String>,
        /// Commit it ran on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commit: Option<String>,
    },
    /// How many bugs are open, by severity.
    Bugs {
        /// P0 / critical.
        critical: u32,
        /// P1 / high.
        high: u32,
        /// P2 / medium.
        #[serde(default)]
        medium: u32,
        /// P3 / low.
        #[serde(default)]
        low: u32,
    },
    /// A security scan finished.
    SecurityScan {
        /// Critical findings.
        critical: u32,
        /// High findings.
        high: u32,
    },
    /// A smoke-test suite ran.
    SmokeTest {
        /// Whether every test passed.
        passed: bool,
        /// Failed test count.
        #[serde(default)]
        failed: u32,
    },
    /// An error-rate sample, in basis points (500 = 5%).
    ErrorRate {
        /// The rate in basis points.
        basis_points: u32,
    },
    /// A latency sample.
    Latency {
        /// 95th percentile, milliseconds.
        p95_ms: u32,
    },
    /// One tracked issue changed (opened, labelled, closed): the latest state of
    /// each issue is kept, and open critical or high issues block a release.
    Issue {
        /// Its number in the tracker.
        number: u64,
        /// Its title.
        title: String,
        /// Whether it is open.
        open: bool,
        /// Severity from its labels (`critical`, `P0`, `severity::high`…) or the
        /// tracker's own field; `None` when untriaged.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        severity: Option<IssueSeverity>,
    },
}

/// How bad an issue is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub enum IssueSeverity {
    Critical,
    High,
    Medium,
    Low,
}

impl IssueSeverity {
    /// `critical`, `high`, `medium` or `low`.
    pub fn as_str(self) -> &'static str {
        match self {
            IssueSeverity::Critical => "critical",
            IssueSeverity::High => "high",
            IssueSeverity::Medium => "medium",
            IssueSeverity::Low => "low",
        }
    }

    /// The severity a label or field names, in the spellings trackers use:
    /// `critical`, `P0`, `sev1`, `severity::high`, `priority: p1`, `S2`…
    pub fn from_label(label: &str) -> Option<IssueSeverity> {
        let label = label.trim().to_ascii_lowercase();
        let word = label
            .rsplit([':', '/', ' ', '='])
            .find(|part| !part.is_empty())
            .unwrap_or_default();
        Some(match word {
            "critical" | "blocker" | "p0" | "sev0" | "sev1" | "s1" => IssueSeverity::Critical,
            "high" | "major" | "p1" | "sev2" | "s2" => IssueSeverity::High,
            "medium" | "moderate" | "p2" | "sev3" | "s3" => IssueSeverity::Medium,
            "low" | "minor" | "trivial" | "p3" | "p4" | "sev4" | "s4" => IssueSeverity::Low,
            _ => return None,
        })
    }

    /// The worst severity among labels.
    pub fn from_labels<'a>(labels: impl IntoIterator<Item = &'a str>) -> Option<IssueSeverity> {
        labels
            .into_iter()
            .filter_map(IssueSeverity::from_label)
            .min()
    }
}

/// The kind of a [`SignalReading`], without its values: the key under which the
/// latest reading of a component is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)] // Named after the readings.
pub enum SignalKind {
    Ci,
    Bugs,
    SecurityScan,
    SmokeTest,
    ErrorRate,
    Latency,
    Issue,
}

impl fmt::Display for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignalKind::Ci => "ci",
            SignalKind::Bugs => "bugs",
            SignalKind::SecurityScan => "security-scan",
            SignalKind::SmokeTest => "smoke-test",
            SignalKind::ErrorRate => "error-rate",
            SignalKind::Latency => "latency",
            SignalKind::Issue => "issue",
        })
    }
}

impl SignalReading {
    /// The kind of this reading.
    pub fn kind(&self) -> SignalKind {
        match self {
            SignalReading::Ci { .. } => SignalKind::Ci,
            SignalReading::Bugs { .. } => SignalKind::Bugs,
            SignalReading::SecurityScan { .. } => SignalKind::SecurityScan,
            SignalReading::SmokeTest { .. } => SignalKind::SmokeTest,
            SignalReading::ErrorRate { .. } => SignalKind::ErrorRate,
            SignalReading::Latency { .. } => SignalKind::Latency,
            SignalReading::Issue { .. } => SignalKind::Issue,
        }
    }

    /// An open critical or high issue, as (number, title, severity): what blocks a
    /// release's go and, after it ships, what counts as its incident.
    pub fn blocking_issue(&self) -> Option<(u64, &str, IssueSeverity)> {
        match self {
            SignalReading::Issue {
                number,
                title,
                open: true,
                severity: Some(severity @ (IssueSeverity::Critical | IssueSeverity::High)),
            } => Some((*number, title, *severity)),
            _ => None,
        }
    }

    /// A short human description (`ci CI failure on main`).
    pub fn describe(&self) -> String {
        match self {
            SignalReading::Ci {
                workflow,
                conclusion,
                branch,
                ..
            } => format!(
                "ci {workflow} {conclusion}{}",
                branch
                    .as_ref()
                    .map(|b| format!(" on {b}"))
                    .unwrap_or_default()
            ),
            SignalReading::Bugs {
                critical,
                high,
                medium,
                low,
            } => format!("open bugs: {critical} critical, {high} high, {medium} medium, {low} low"),
            SignalReading::SecurityScan { critical, high } => {
                format!("security scan: {critical} critical, {high} high")
            }
            SignalReading::SmokeTest { passed, failed } => {
                if *passed {
                    "smoke tests passed".to_owned()
                } else {
                    format!("smoke tests failed ({failed} failing)")
                }
            }
            SignalReading::ErrorRate { basis_points } => format!(
                "error rate {}.{:02}%",
                basis_points / 100,
                basis_points % 100
            ),
            SignalReading::Latency { p95_ms } => format!("p95 latency {p95_ms} ms"),
            SignalReading::Issue {
                number,
                title,
                open,
                severity,
            } => format!(
                "issue #{number} {title} ({}) {}",
                severity.map_or("untriaged", IssueSeverity::as_str),
                if *open { "open" } else { "closed" }
            ),
        }
    }
}

/// One observation about a component (in an environment, or of its source when
/// no environment applies, as for CI and bugs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signal {
    /// The component it is about.
    pub component: Name,
    /// The environment it was observed in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Name>,
    /// Where it came from (`github`, `gitlab`, `api`, `cli`).
    pub source: String,
    /// The sender's delivery id: a second delivery with the same id changes nothing.
    pub delivery: String,
    /// When it was observed (by the sender's clock).
    pub observed_at: jiff::Timestamp,
    /// What was observed.
    pub reading: SignalReading,
}

/// What a latest signal is kept under: component, environment, kind and subject
/// (the workflow of a CI run, `#N` for an issue, empty for the other kinds), so
/// that two workflows of one repository, or two issues, do not overwrite each other.
pub type SignalKey = (Name, Option<Name>, SignalKind, String);

impl Signal {
    /// The key of the latest signal this one replaces.
    pub fn key(&self) -> SignalKey {
        let subject = match &self.reading {
            SignalReading::Ci { workflow, .. } => workflow.clone(),
            SignalReading::Issue { number, .. } => format!("#{number}"),
            _ => String::new(),
        };
        (
            self.component.clone(),
            self.environment.clone(),
            self.reading.kind(),
            subject,
        )
    }
}

/// Normalizes a repository reference so that `https://github.com/Acme/API.git`,
/// `git@github.com:acme/api` and `github.com/acme/api` compare equal.
pub fn normalize_repository(raw: &str) -> String {
    let mut text = raw.trim().to_ascii_lowercase();
    for prefix in ["https://", "http://", "ssh://", "git://", "git@"] {
        if let Some(rest) = text.strip_prefix(prefix) {
            text = rest.to_owned();
        }
    }
    if let Some(rest) = text.split_once('@').map(|(_, rest)| rest.to_owned()) {
        text = rest;
    }
    let text = text.trim_end_matches('/');
    let text = text.strip_suffix(".git").unwrap_or(text);
    // `git@github.com:acme/api` uses a colon between host and path.
    text.replacen(':', "/", 1)
}

/// `date` moved by `days` (negative: earlier); `None` past the calendar's ends. Unlike
/// `Span::days`, which panics beyond about 20,000 years, this never panics: day counts
/// come from manifests and samples, not only from code.
pub fn add_days(date: jiff::civil::Date, days: i64) -> Option<jiff::civil::Date> {
    let span = jiff::Span::new().try_days(days).ok()?;
    date.checked_add(span).ok()
}

/// A date as people write it (`YYYY-MM-DD`); the error says what is wrong with `raw` in
/// words, not in the date library's.
pub fn parse_date(raw: &str) -> Result<jiff::civil::Date, String> {
    raw.trim().parse().map_err(|e: jiff::Error| {
        format!(
            "`{raw}` is not a date: {}",
            date_problem(&e.to_string()).unwrap_or_else(|| "use YYYY-MM-DD".to_owned())
        )
    })
}

/// What is wrong with a date, in words, when `message` is the date library's complaint
/// about one (`2025-02 has days 1 to 28`, `use YYYY-MM-DD`); `None` for other messages.
pub fn date_problem(message: &str) -> Option<String> {
    // jiff: "parsed date is not valid: parameter 'day' for `2025-02` is invalid, must be
    // in range `1..=28`".
    if let Some(rest) = message.strip_prefix("parsed date is not valid: parameter 'day' for `")
        && let Some((month, tail)) = rest.split_once('`')
        && let Some(last) = tail.split("..=").nth(1).map(|t| {
            t.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
    {
        return Some(format!("{month} has days 1 to {last}"));
    }
    // "failed to parse two digit integer as month: …", "failed to parse separator after
    // month: …", "parsed date is not valid: …": the shape is wrong.
    let about_a_date = message.starts_with("parsed date is not valid")
        || (message.starts_with("failed to parse")
            && ["year", "month", "day"]
                .iter()
                .any(|part| message.contains(part))
            && !message.contains("hour"));
    about_a_date.then(|| "use YYYY-MM-DD".to_owned())
}

#[cfg(test)]
mod tests {
    use super::Role;

    #[test]
    fn dates_are_refused_in_words() {
        assert_eq!(
            super::parse_date(" 2025-02-14 ").map(|d| d.to_string()),
            Ok("2025-02-14".to_owned())
        );
        for (raw, expected) in [
            (
                "2025-02-30",
                "`2025-02-30` is not a date: 2025-02 has days 1 to 28",
            ),
            ("2025-2-3", "`2025-2-3` is not a date: use YYYY-MM-DD"),
            ("2026-13-01", "`2026-13-01` is not a date: use YYYY-MM-DD"),
            ("2025-015", "`2025-015` is not a date: use YYYY-MM-DD"),
            ("soon", "`soon` is not a date: use YYYY-MM-DD"),
        ] {
            assert_eq!(super::parse_date(raw), Err(expected.to_owned()), "{raw}");
        }
        assert_eq!(super::date_problem("unknown field `x`"), None);
        assert_eq!(
            super::date_problem(
                "parsed date is not valid: parameter 'day' for `2030-02` is invalid, must be in \
                 range `1..=28` at line 1 column 19"
            )
            .as_deref(),
            Some("2030-02 has days 1 to 28"),
            "serde's position after the message is not part of the problem"
        );
    }

    #[test]
    fn business_is_the_product_owner_role_in_manifests_and_on_the_command_line() {
        assert_eq!(Role::parse("business"), Some(Role::ProductOwner));
        assert_eq!(Role::parse("product-owner"), Some(Role::ProductOwner));
        assert_eq!(Role::parse("ceo"), None);
        let role: Role = serde_json::from_str("\"business\"").expect("alias");
        assert_eq!(role, Role::ProductOwner);
        // Written back under its one name.
        assert_eq!(
            serde_json::to_string(&role).ok().as_deref(),
            Some("\"product-owner\"")
        );
    }
}
