//! The manifest's own serde types. Fields that name another resource are
//! `Spanned` so that an unknown reference can be reported where it is written;
//! the rest reuse the core specs, whose serde attributes reject unknown fields.

use std::collections::BTreeMap;

use jiff::civil::Date;
use lockstep_core::checklist::{
    ApprovalRule, AutoCheck, ChecklistItemSpec, ChecklistPhase, DueOffset,
};
use lockstep_core::{
    ComponentSpec, DeploymentPlan, EnvironmentSpec, Estimate, IntegrationPhase, ItemStatus, Labels,
    Milestone, ReleaseKind, ReleaseState, Scenario, StatusUpdate, TeamSpec,
};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

/// First pass: only what every document has.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Envelope {
    pub api_version: Spanned<String>,
    pub kind: Spanned<String>,
    #[allow(dead_code)] // Read again, typed, in the second pass.
    pub metadata: serde::de::IgnoredAny,
    #[allow(dead_code)]
    pub spec: serde::de::IgnoredAny,
}

/// Second pass: the whole document with its kind's spec.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Document<S> {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: S,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Metadata {
    pub name: Spanned<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A blackout as written: [`lockstep_core::BlackoutSpec`] with the places of its time zone
/// and environments kept for errors.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct BlackoutDoc {
    #[serde(default)]
    pub title: Option<String>,
    pub time_zone: Spanned<String>,
    pub start: jiff::civil::DateTime,
    pub end: jiff::civil::DateTime,
    #[serde(default)]
    pub recurrence: Option<lockstep_core::recurrence::Rule>,
    #[serde(default)]
    pub cron: Option<lockstep_core::cron::Cron>,
    #[serde(default)]
    pub environments: Vec<Spanned<String>>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub labels: Labels,
}

/// A team as written: [`TeamSpec`] with the time zone's place kept for errors.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TeamDoc {
    #[serde(default)]
    pub title: Option<String>,
    pub time_zone: Spanned<String>,
    #[serde(default)]
    pub working_hours: lockstep_core::WorkingHours,
    #[serde(default)]
    pub holidays: Vec<Date>,
    #[serde(default)]
    pub members: Vec<lockstep_core::Member>,
    #[serde(default)]
    pub on_call: Option<lockstep_core::Contacts>,
    #[serde(default)]
    pub labels: lockstep_core::Labels,
}

impl TeamDoc {
    pub fn to_spec(&self) -> TeamSpec {
        TeamSpec {
            title: self.title.clone(),
            time_zone: self.time_zone.value.clone(),
            working_hours: self.working_hours.clone(),
            holidays: self.holidays.clone(),
            members: self.members.clone(),
            on_call: self.on_call.clone(),
            labels: self.labels.clone(),
        }
    }
}
/// An environment as written: [`EnvironmentSpec`] with each deploy window's time zone place.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct EnvironmentDoc {
    #[serde(default)]
    pub title: Option<String>,
    pub tier: lockstep_core::Tier,
    #[serde(default)]
    pub deploy_windows: Vec<DeployWindowDoc>,
    #[serde(default)]
    pub labels: Labels,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DeployWindowDoc {
    pub time_zone: Spanned<String>,
    pub start: jiff::civil::DateTime,
    pub end: jiff::civil::DateTime,
    #[serde(default)]
    pub recurrence: Option<lockstep_core::recurrence::Rule>,
    #[serde(default)]
    pub cron: Option<lockstep_core::cron::Cron>,
}

impl EnvironmentDoc {
    pub fn to_spec(&self) -> EnvironmentSpec {
        EnvironmentSpec {
            title: self.title.clone(),
            tier: self.tier,
            deploy_windows: self
                .deploy_windows
                .iter()
                .map(|w| lockstep_core::DeployWindow {
                    time_zone: w.time_zone.value.clone(),
                    start: w.start,
                    end: w.end,
                    recurrence: w.recurrence.clone(),
                    cron: w.cron.clone(),
                })
                .collect(),
            labels: self.labels.clone(),
        }
    }
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ComponentDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub team: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Spanned<String>>,
}

impl ComponentDoc {
    pub fn from_spec(spec: &ComponentSpec) -> ComponentDoc {
        ComponentDoc {
            title: spec.title.clone(),
            team: spanned(spec.team.to_string()),
            repository: spec.repository.clone(),
            depends_on: spec
                .depends_on
                .iter()
                .map(|dependency| spanned(dependency.to_string()))
                .collect(),
        }
    }
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ReleaseDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub kind: ReleaseKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ReleaseState>,
    pub target_date: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_freeze: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_freeze: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub milestones: Vec<Milestone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentPlan>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ItemDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integration_tasks: Vec<IntegrationTaskDoc>,
    /// The release's own go/no-go approval rules (else its checklist template's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals: Option<Vec<ApprovalRuleDoc>>,
}

/// A `ChecklistTemplate` document's spec.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ChecklistTemplateDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub applies_to: Vec<ReleaseKind>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expedited: bool,
    pub items: Vec<ChecklistItemDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<ApprovalRuleDoc>,
}

/// A checklist item; `id` and `owner` are located so that a duplicate id or an
/// unknown role is reported where it is written, with the closest role.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ChecklistItemDoc {
    pub id: Spanned<String>,
    pub title: String,
    pub phase: ChecklistPhase,
    pub owner: Spanned<String>,
    pub due: DueOffset,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<AutoCheck>,
}

impl ChecklistItemDoc {
    pub fn from_spec(spec: &ChecklistItemSpec) -> ChecklistItemDoc {
        ChecklistItemDoc {
            id: spanned(spec.id.to_string()),
            title: spec.title.clone(),
            phase: spec.phase,
            owner: spanned(spec.owner.as_str().to_owned()),
            due: spec.due,
            check: spec.check,
        }
    }
}

/// An approval rule; `people` are located so an unknown handle is reported where
/// it is written.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ApprovalRuleDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub people: Vec<Spanned<String>>,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub quorum: u32,
}

fn one() -> u32 {
    1
}

fn is_one(value: &u32) -> bool {
    *value == 1
}

impl ApprovalRuleDoc {
    pub fn from_rule(rule: &ApprovalRule) -> ApprovalRuleDoc {
        ApprovalRuleDoc {
            role: rule.role.map(|role| spanned(role.as_str().to_owned())),
            people: rule.people.iter().map(|p| spanned(p.to_string())).collect(),
            quorum: rule.quorum,
        }
    }
}

/// A release train: releases generated from a cadence (seed 001's release
/// calendar), one per departure, named `<train>-<YYYY-MM-DD>`.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ReleaseTrainDoc {
    /// Title of every departure, followed by its date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default)]
    pub kind: ReleaseKind,
    /// RFC 5545 rule, bounded by COUNT or UNTIL (`FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=6`).
    pub cadence: Spanned<lockstep_core::recurrence::Rule>,
    /// The first departure; the cadence must select it.
    pub start: Spanned<Date>,
    /// Zone the cadence is read in (and of an UNTIL in UTC).
    pub time_zone: Spanned<String>,
    /// Departures to leave out (a holiday, a cancelled train).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip: Vec<Spanned<Date>>,
    /// Version of each departure: `{n}` is its 1-based number, `{date}` its date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Feature freeze this many days before each departure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_freeze_days: Option<Spanned<u16>>,
    /// Code freeze this many days before each departure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_freeze_days: Option<Spanned<u16>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Spanned<String>>,
    /// The release-day plan every departure follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentPlan>,
}

/// An item, inline in a release (`release` absent) or its own document.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ItemDoc {
    /// Required inline; taken from `metadata.name` in an `Item` document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Spanned<String>>,
    /// Required in an `Item` document; forbidden inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<Spanned<String>>,
    pub title: String,
    pub team: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ItemStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Estimate>,
    /// Shared resources held while the item is worked on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uses: Vec<UseDoc>,
    /// A start date the plan must keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_start: Option<Date>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acceptance_criteria: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DependsOnDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub updates: Vec<StatusUpdate>,
}

/// One shared resource an item holds: `{resource: staging, amount: 1}`.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct UseDoc {
    pub resource: Spanned<String>,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub amount: u32,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DependsOnDoc {
    pub item: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need_by: Option<Date>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub buffer_days: u32,
}

/// A dependency as its own document.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DependencyDoc {
    pub blocker: Spanned<String>,
    pub blocked: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need_by: Option<Date>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub buffer_days: u32,
}

#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct IntegrationTaskDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<Spanned<String>>,
    pub title: String,
    pub phase: IntegrationPhase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub milestone: Option<Spanned<String>>,
    pub components: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Date>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scenarios: Vec<Scenario>,
}

/// A registered risk: `kind: Risk`. The release, owner and items are `Spanned` so an
/// unknown one is reported where it is written; probability, impact and status are read
/// as text so a misspelt level gets its location and the closest word.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RiskDoc {
    pub release: Spanned<String>,
    pub title: String,
    pub probability: Spanned<String>,
    pub impact: Spanned<String>,
    pub owner: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mitigation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_flag: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_by: Option<Date>,
    /// Applied after the declaration, as an item's `status` is: absent leaves it as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Spanned<String>>,
}

impl RiskDoc {
    pub fn from_risk(risk: &lockstep_core::Risk) -> RiskDoc {
        let spec = &risk.spec;
        RiskDoc {
            release: spanned(risk.release.to_string()),
            title: spec.title.clone(),
            probability: spanned(spec.probability.as_str().to_owned()),
            impact: spanned(spec.impact.as_str().to_owned()),
            owner: spanned(spec.owner.to_string()),
            mitigation: spec.mitigation.clone(),
            feature_flag: spec.feature_flag.clone(),
            items: spec.items.iter().map(|i| spanned(i.to_string())).collect(),
            trigger: spec.trigger.clone(),
            review_by: spec.review_by,
            status: Some(spanned(risk.status.as_str().to_owned())),
        }
    }
}

/// An interface between teams: `kind: Interface`. Every name is `Spanned` so an unknown
/// team or component is reported where it is written; the type, versions, compatibility
/// and status are read as text so a misspelt one gets its location and the closest word.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct InterfaceDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub producer: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumers: Vec<ConsumerDoc>,
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<InterfaceVersionDoc>,
}

/// A consumer: exactly one of a team or a component.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ConsumerDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<Spanned<String>>,
}

/// One version of an interface as written.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct InterfaceVersionDoc {
    pub version: Spanned<String>,
    pub compatibility: Spanned<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changelog: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Spanned<String>>,
}

impl InterfaceDoc {
    pub fn from_spec(spec: &lockstep_core::contract::InterfaceSpec) -> InterfaceDoc {
        use lockstep_core::contract::Consumer;
        InterfaceDoc {
            title: spec.title.clone(),
            producer: spanned(spec.producer.to_string()),
            component: spec.component.as_ref().map(|c| spanned(c.to_string())),
            consumers: spec
                .consumers
                .iter()
                .map(|consumer| match consumer {
                    Consumer::Team(team) => ConsumerDoc {
                        team: Some(spanned(team.to_string())),
                        component: None,
                    },
                    Consumer::Component(component) => ConsumerDoc {
                        team: None,
                        component: Some(spanned(component.to_string())),
                    },
                })
                .collect(),
            kind: spanned(spec.kind.as_str().to_owned()),
            versions: spec
                .versions
                .iter()
                .map(|version| InterfaceVersionDoc {
                    version: spanned(version.version.to_string()),
                    compatibility: spanned(version.compatibility.as_str().to_owned()),
                    changelog: version.changelog.clone(),
                    status: Some(spanned(version.status.as_str().to_owned())),
                })
                .collect(),
        }
    }
}

/// Who gets which messages: `kind: Subscription`. The names it refers to are `Spanned`,
/// so an unknown member, team, release or message kind is reported where it is written.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SubscriptionDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<lockstep_core::Role>,
    pub channel: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub releases: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own_team: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<Spanned<String>>,
    #[serde(default, skip_serializing_if = "is_immediate")]
    pub cadence: lockstep_core::SubscriptionCadence,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_at: Option<jiff::civil::Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<lockstep_core::QuietHoursSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<Spanned<String>>,
}

impl SubscriptionDoc {
    pub fn from_spec(spec: &lockstep_core::SubscriptionSpec) -> SubscriptionDoc {
        let names = |names: &[lockstep_core::Name]| -> Vec<Spanned<String>> {
            names.iter().map(|n| spanned(n.to_string())).collect()
        };
        SubscriptionDoc {
            member: spec.member.as_ref().map(|m| spanned(m.to_string())),
            role: spec.role,
            channel: spec.channel.clone(),
            releases: names(&spec.releases),
            teams: names(&spec.teams),
            own_team: spec.own_team,
            kinds: names(&spec.kinds),
            cadence: spec.cadence,
            digest_at: spec.digest_at,
            quiet_hours: spec.quiet_hours,
            time_zone: spec.time_zone.clone().map(spanned),
        }
    }
}

fn is_immediate(cadence: &lockstep_core::SubscriptionCadence) -> bool {
    *cadence == lockstep_core::SubscriptionCadence::Immediate
}

fn is_zero(value: &u32) -> bool {
    *value == 0
}

/// A value with no source location, for export.
pub(crate) fn spanned<T>(value: T) -> Spanned<T> {
    Spanned::new(
        value,
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}
