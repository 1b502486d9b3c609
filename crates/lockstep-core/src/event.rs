//! Events: the facts the log stores, in the past tense, never edited once written.
//!
//! A change of meaning gets a new variant (or an upcaster in the store), never an
//! edit of an existing one: old logs must replay forever.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::{
    BlackoutSpec, ComponentSpec, Dependency, EnvironmentSpec, IntegrationTaskSpec, ItemSpec,
    ItemStatus, Name, ReleaseSpec, ReleaseState, ResourceSpec, ScenarioResult, Signal,
    StatusUpdate, TeamSpec,
};

/// Something that happened to the release program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "PascalCase")]
#[allow(missing_docs)] // The field names say it; the variants are documented.
pub enum Event {
    /// A team was declared.
    TeamDefined { team: Name, spec: TeamSpec },
    /// A team's declaration changed; `spec` is the whole new declaration.
    TeamRedefined { team: Name, spec: TeamSpec },
    /// A component was declared.
    ComponentDefined {
        component: Name,
        spec: ComponentSpec,
    },
    /// A component's declaration changed.
    ComponentRedefined {
        component: Name,
        spec: ComponentSpec,
    },
    /// An environment was declared.
    EnvironmentDefined {
        environment: Name,
        spec: EnvironmentSpec,
    },
    /// An environment's declaration changed.
    EnvironmentRedefined {
        environment: Name,
        spec: EnvironmentSpec,
    },
    /// A blackout window was declared.
    BlackoutDefined { blackout: Name, spec: BlackoutSpec },
    /// A blackout window changed.
    BlackoutRedefined { blackout: Name, spec: BlackoutSpec },
    /// A shared resource was declared.
    ResourceDefined { resource: Name, spec: ResourceSpec },
    /// A shared resource's declaration changed.
    ResourceRedefined { resource: Name, spec: ResourceSpec },
    /// A subscription to generated messages was declared.
    SubscriptionDefined {
        subscription: Name,
        spec: crate::SubscriptionSpec,
    },
    /// A subscription changed.
    SubscriptionRedefined {
        subscription: Name,
        spec: crate::SubscriptionSpec,
    },
    /// A release was planned.
    ReleasePlanned { release: Name, spec: ReleaseSpec },
    /// A release's dates, milestones or plan changed.
    ReleaseRedefined { release: Name, spec: ReleaseSpec },
    /// A release moved through its life cycle.
    ReleaseStateChanged {
        release: Name,
        from: ReleaseState,
        to: ReleaseState,
    },
    /// An item joined a release's scope.
    ItemAdded {
        item: Name,
        release: Name,
        spec: ItemSpec,
    },
    /// An item's declaration changed.
    ItemRedefined { item: Name, spec: ItemSpec },
    /// An item moved to another board column.
    ItemStatusChanged {
        item: Name,
        from: ItemStatus,
        to: ItemStatus,
    },
    /// An item's estimated completion date changed.
    ItemEtaChanged {
        item: Name,
        from: Option<Date>,
        to: Option<Date>,
    },
    /// A status note was posted on an item.
    ItemUpdatePosted { item: Name, update: StatusUpdate },
    /// A dependency between two items was declared.
    DependencyAdded { dependency: Dependency },
    /// A dependency's need-by date or buffer changed.
    DependencyChanged { dependency: Dependency },
    /// A dependency was removed.
    DependencyRemoved { blocker: Name, blocked: Name },
    /// An integration task was declared.
    IntegrationTaskDefined {
        task: Name,
        release: Name,
        spec: IntegrationTaskSpec,
    },
    /// An integration task's declaration changed.
    IntegrationTaskRedefined {
        task: Name,
        spec: IntegrationTaskSpec,
    },
    /// A scenario of an integration task got a result.
    ScenarioResultRecorded {
        task: Name,
        scenario: usize,
        result: ScenarioResult,
    },
    /// A risk of a release was registered (status open).
    RiskIdentified {
        risk: Name,
        release: Name,
        spec: crate::RiskSpec,
    },
    /// A registered risk's declaration changed; its status did not.
    RiskRedefined { risk: Name, spec: crate::RiskSpec },
    /// A registered risk moved to another status.
    RiskStatusChanged {
        risk: Name,
        from: crate::RiskStatus,
        to: crate::RiskStatus,
    },
    /// An interface was declared.
    InterfaceDefined {
        interface: Name,
        spec: crate::contract::InterfaceSpec,
    },
    /// An interface's declaration changed; `spec` is the whole new declaration.
    InterfaceRedefined {
        interface: Name,
        spec: crate::contract::InterfaceSpec,
    },
    /// A contract test result was recorded.
    ContractVerified {
        interface: Name,
        verification: crate::contract::Verification,
    },
    /// A component version now runs in an environment.
    ComponentDeployed {
        component: Name,
        environment: Name,
        version: crate::contract::ComponentVersion,
        by: String,
        at: jiff::Timestamp,
    },
    /// A rollback undid a component's version where no earlier version is on record:
    /// the environment no longer runs `version`, and what it runs is not known.
    ComponentWithdrawn {
        component: Name,
        environment: Name,
        version: crate::contract::ComponentVersion,
        by: String,
        at: jiff::Timestamp,
    },
    /// A new version of an interface was proposed for review.
    InterfaceChangeProposed {
        interface: Name,
        proposal: crate::contract::Proposal,
    },
    /// A proposal was approved or rejected: the decision record.
    InterfaceChangeDecided {
        interface: Name,
        number: u32,
        version: crate::contract::Version,
        record: crate::contract::DecisionRecord,
    },
    /// A version of an interface was published (by an approved proposal).
    InterfaceVersionPublished {
        interface: Name,
        entry: crate::contract::InterfaceVersion,
    },
    /// A signal about a component was recorded.
    SignalRecorded { signal: Signal },
    /// A checklist template was declared.
    ChecklistTemplateDefined {
        template: Name,
        spec: crate::checklist::ChecklistTemplateSpec,
    },
    /// A checklist template changed; open releases follow it at once.
    ChecklistTemplateRedefined {
        template: Name,
        spec: crate::checklist::ChecklistTemplateSpec,
    },
    /// A manual checklist item of a release was ticked.
    ChecklistItemChecked {
        release: Name,
        item: Name,
        by: Name,
        at: jiff::Timestamp,
        note: Option<String>,
    },
    /// A release got its own go/no-go approval rules.
    ApprovalRulesDefined {
        release: Name,
        rules: Vec<crate::checklist::ApprovalRule>,
    },
    /// Go/no-go was requested: the meeting record opened.
    GoNoGoRequested {
        release: Name,
        by: Name,
        at: jiff::Timestamp,
        /// The release took the expedited path (hotfix, emergency): recorded so
        /// the log says so even if the template changes later.
        #[serde(default)]
        expedited: bool,
    },
    /// Someone signed off (approved or rejected with a reason).
    SignOffRecorded {
        release: Name,
        by: Name,
        decision: crate::checklist::SignOffDecision,
        at: jiff::Timestamp,
    },
    /// Someone withdrew their sign-off.
    SignOffWithdrawn { release: Name, by: Name },
    /// A deployment run of a release started, with the runbook it executes.
    RunStarted {
        release: Name,
        number: u32,
        runbook: Box<crate::runbook::Runbook>,
        auto_rollback: bool,
        by: String,
        at: jiff::Timestamp,
    },
    /// A deny window was overridden (break glass): who, why, which windows.
    BreakGlassUsed {
        release: Name,
        break_glass: crate::run::BreakGlass,
    },
    /// A step of a run moved.
    RunStepChanged {
        release: Name,
        number: u32,
        phase: crate::run::RunPhase,
        step: Name,
        from: crate::run::StepStatus,
        to: crate::run::StepStatus,
        by: String,
        at: jiff::Timestamp,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A rollback trigger of a run fired on a signal.
    RollbackTriggerTripped {
        release: Name,
        number: u32,
        trip: crate::run::TrippedTrigger,
    },
    /// Someone answered for the escalations of a blocker item: their notices not yet
    /// sent were cancelled in the same commit.
    EscalationAcknowledged {
        item: Name,
        by: String,
        at: jiff::Timestamp,
        /// The escalations acknowledged, by the event that raised each
        /// (`release:q1-2025@24`).
        escalations: Vec<String>,
    },
    /// A change to the program was proposed for review.
    ChangeProposed {
        change: Name,
        title: String,
        sources: Vec<crate::change::ChangeSource>,
        /// The releases it touches (empty in requests proposed before they were kept).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        releases: Vec<Name>,
        by: String,
        at: jiff::Timestamp,
    },
    /// A change request was approved; the events it applies follow in the same commit.
    ChangeApproved {
        change: Name,
        decision: crate::change::ChangeDecision,
    },
    /// A change request was rejected, with the rationale.
    ChangeRejected {
        change: Name,
        decision: crate::change::ChangeDecision,
    },
    /// A lesson was kept with a release.
    LessonRecorded {
        release: Name,
        text: String,
        by: String,
        at: jiff::Timestamp,
    },
    /// Time spent coordinating a release outside Lockstep was recorded.
    CoordinationRecorded {
        release: Name,
        entry: crate::coordination::CoordinationEntry,
    },
    /// Someone rated how the coordination of a release went.
    CoordinationRated {
        release: Name,
        rating: crate::coordination::Rating,
    },
    /// A coordination record was withdrawn as a mistake.
    CoordinationRetracted {
        release: Name,
        number: u32,
        by: String,
        at: jiff::Timestamp,
    },
    /// The requester withdrew a change request.
    ChangeWithdrawn {
        change: Name,
        by: String,
        at: jiff::Timestamp,
    },
    /// A run started rolling back.
    RollbackStarted {
        release: Name,
        number: u32,
        steps: Vec<crate::run::PlannedRunStep>,
        reason: String,
        automatic: bool,
        by: String,
        at: jiff::Timestamp,
    },
}

impl Event {
    /// The variant name, stored beside the payload so the log can be read
    /// without deserializing it.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::TeamDefined { .. } => "TeamDefined",
            Event::TeamRedefined { .. } => "TeamRedefined",
            Event::ComponentDefined { .. } => "ComponentDefined",
            Event::ComponentRedefined { .. } => "ComponentRedefined",
            Event::EnvironmentDefined { .. } => "EnvironmentDefined",
            Event::EnvironmentRedefined { .. } => "EnvironmentRedefined",
            Event::BlackoutDefined { .. } => "BlackoutDefined",
            Event::BlackoutRedefined { .. } => "BlackoutRedefined",
            Event::ResourceDefined { .. } => "ResourceDefined",
            Event::ResourceRedefined { .. } => "ResourceRedefined",
            Event::SubscriptionDefined { .. } => "SubscriptionDefined",
            Event::SubscriptionRedefined { .. } => "SubscriptionRedefined",
            Event::ReleasePlanned { .. } => "ReleasePlanned",
            Event::ReleaseRedefined { .. } => "ReleaseRedefined",
            Event::ReleaseStateChanged { .. } => "ReleaseStateChanged",
            Event::ItemAdded { .. } => "ItemAdded",
            Event::ItemRedefined { .. } => "ItemRedefined",
            Event::ItemStatusChanged { .. } => "ItemStatusChanged",
            Event::ItemEtaChanged { .. } => "ItemEtaChanged",
            Event::ItemUpdatePosted { .. } => "ItemUpdatePosted",
            Event::DependencyAdded { .. } => "DependencyAdded",
            Event::DependencyChanged { .. } => "DependencyChanged",
            Event::DependencyRemoved { .. } => "DependencyRemoved",
            Event::IntegrationTaskDefined { .. } => "IntegrationTaskDefined",
            Event::IntegrationTaskRedefined { .. } => "IntegrationTaskRedefined",
            Event::ScenarioResultRecorded { .. } => "ScenarioResultRecorded",
            Event::RiskIdentified { .. } => "RiskIdentified",
            Event::RiskRedefined { .. } => "RiskRedefined",
            Event::RiskStatusChanged { .. } => "RiskStatusChanged",
            Event::InterfaceDefined { .. } => "InterfaceDefined",
            Event::InterfaceRedefined { .. } => "InterfaceRedefined",
            Event::ContractVerified { .. } => "ContractVerified",
            Event::ComponentDeployed { .. } => "ComponentDeployed",
            Event::ComponentWithdrawn { .. } => "ComponentWithdrawn",
            Event::InterfaceChangeProposed { .. } => "InterfaceChangeProposed",
            Event::InterfaceChangeDecided { .. } => "InterfaceChangeDecided",
            Event::InterfaceVersionPublished { .. } => "InterfaceVersionPublished",
            Event::SignalRecorded { .. } => "SignalRecorded",
            Event::ChecklistTemplateDefined { .. } => "ChecklistTemplateDefined",
            Event::ChecklistTemplateRedefined { .. } => "ChecklistTemplateRedefined",
            Event::ChecklistItemChecked { .. } => "ChecklistItemChecked",
            Event::ApprovalRulesDefined { .. } => "ApprovalRulesDefined",
            Event::GoNoGoRequested { .. } => "GoNoGoRequested",
            Event::SignOffRecorded { .. } => "SignOffRecorded",
            Event::SignOffWithdrawn { .. } => "SignOffWithdrawn",
            Event::RunStarted { .. } => "RunStarted",
            Event::BreakGlassUsed { .. } => "BreakGlassUsed",
            Event::RunStepChanged { .. } => "RunStepChanged",
            Event::RollbackTriggerTripped { .. } => "RollbackTriggerTripped",
            Event::RollbackStarted { .. } => "RollbackStarted",
            Event::EscalationAcknowledged { .. } => "EscalationAcknowledged",
            Event::ChangeProposed { .. } => "ChangeProposed",
            Event::ChangeApproved { .. } => "ChangeApproved",
            Event::ChangeRejected { .. } => "ChangeRejected",
            Event::ChangeWithdrawn { .. } => "ChangeWithdrawn",
            Event::LessonRecorded { .. } => "LessonRecorded",
            Event::CoordinationRecorded { .. } => "CoordinationRecorded",
            Event::CoordinationRetracted { .. } => "CoordinationRetracted",
            Event::CoordinationRated { .. } => "CoordinationRated",
        }
    }

    /// A one-line, human description for histories and activity feeds.
    pub fn describe(&self) -> String {
        match self {
            Event::TeamDefined { team, .. } => format!("team {team} defined"),
            Event::TeamRedefined { team, .. } => format!("team {team} changed"),
            Event::ComponentDefined { component, .. } => format!("component {component} defined"),
            Event::ComponentRedefined { component, .. } => format!("component {component} changed"),
            Event::EnvironmentDefined { environment, .. } => {
                format!("environment {environment} defined")
            }
            Event::EnvironmentRedefined { environment, .. } => {
                format!("environment {environment} changed")
            }
            Event::BlackoutDefined { blackout, spec } => {
                format!(
                    "blackout {blackout} defined: {} to {} {}",
                    spec.start, spec.end, spec.time_zone
                )
            }
            Event::BlackoutRedefined { blackout, .. } => format!("blackout {blackout} changed"),
            Event::ResourceDefined { resource, spec } => {
                format!("resource {resource} defined: capacity {}", spec.capacity)
            }
            Event::ResourceRedefined { resource, spec } => {
                format!("resource {resource} changed: capacity {}", spec.capacity)
            }
            Event::SubscriptionDefined { subscription, spec } => {
                format!(
                    "subscription {subscription} defined on channel {}",
                    spec.channel
                )
            }
            Event::SubscriptionRedefined { subscription, .. } => {
                format!("subscription {subscription} changed")
            }
            Event::ReleasePlanned { release, spec } => {
                format!("release {release} planned for {}", spec.target_date)
            }
            Event::ReleaseRedefined { release, .. } => format!("release {release} changed"),
            Event::ReleaseStateChanged { release, from, to } => {
                format!("release {release}: {from} → {to}")
            }
            Event::ItemAdded { item, release, .. } => format!("item {item} added to {release}"),
            Event::ItemRedefined { item, .. } => format!("item {item} changed"),
            Event::ItemStatusChanged { item, from, to } => format!("item {item}: {from} → {to}"),
            Event::ItemEtaChanged { item, from, to } => format!(
                "item {item}: eta {} → {}",
                from.map_or_else(|| "none".to_owned(), |d| d.to_string()),
                to.map_or_else(|| "none".to_owned(), |d| d.to_string())
            ),
            Event::ItemUpdatePosted { item, update } => {
                format!("item {item}: {} {}", update.date, update.text)
            }
            Event::DependencyAdded { dependency } => format!(
                "{} now blocks {}{}",
                dependency.blocker,
                dependency.blocked,
                if dependency.late {
                    " (late: after feature freeze)"
                } else {
                    ""
                }
            ),
            Event::DependencyChanged { dependency } => {
                format!(
                    "dependency {} → {} changed",
                    dependency.blocker, dependency.blocked
                )
            }
            Event::DependencyRemoved { blocker, blocked } => {
                format!("{blocker} no longer blocks {blocked}")
            }
            Event::IntegrationTaskDefined { task, .. } => {
                format!("integration task {task} defined")
            }
            Event::IntegrationTaskRedefined { task, .. } => {
                format!("integration task {task} changed")
            }
            Event::ScenarioResultRecorded {
                task,
                scenario,
                result,
            } => {
                format!(
                    "integration task {task}: scenario {} {}",
                    scenario + 1,
                    result.as_str()
                )
            }
            Event::RiskIdentified {
                risk,
                release,
                spec,
            } => format!(
                "risk {risk} identified in {release}: {} (exposure {}, {} × {}, owner {})",
                spec.title,
                spec.exposure(),
                spec.probability,
                spec.impact,
                spec.owner
            ),
            Event::RiskRedefined { risk, spec } => format!(
                "risk {risk} changed (exposure {}, owner {})",
                spec.exposure(),
                spec.owner
            ),
            Event::RiskStatusChanged { risk, from, to } => format!("risk {risk}: {from} → {to}"),
            Event::InterfaceDefined { interface, spec } => format!(
                "interface {interface} defined ({}, produced by {})",
                spec.kind, spec.producer
            ),
            Event::InterfaceRedefined { interface, .. } => {
                format!("interface {interface} changed")
            }
            Event::ContractVerified {
                interface,
                verification: v,
            } => format!(
                "contract {interface} {}: {} {} {}{}",
                v.version,
                v.consumer,
                v.consumer_version,
                match v.result {
                    crate::contract::VerificationResult::Pass => "verified",
                    crate::contract::VerificationResult::Fail => "failed verification",
                },
                v.provider_version
                    .as_ref()
                    .map(|p| format!(" against provider {p}"))
                    .unwrap_or_default()
            ),
            Event::ComponentDeployed {
                component,
                environment,
                version,
                ..
            } => format!("{component} {version} deployed in {environment}"),
            Event::ComponentWithdrawn {
                component,
                environment,
                version,
                ..
            } => format!(
                "{component} {version} rolled back in {environment}; the version it runs now is not on record"
            ),
            Event::InterfaceChangeProposed {
                interface,
                proposal,
            } => format!(
                "interface {interface}: {} ({}) proposed by {}: {}",
                proposal.version, proposal.compatibility, proposal.by, proposal.summary
            ),
            Event::InterfaceChangeDecided {
                interface,
                version,
                record,
                ..
            } => format!(
                "interface {interface}: {version} {} by {}: {}",
                match record.decision {
                    crate::contract::ProposalDecision::Approve => "approved",
                    crate::contract::ProposalDecision::Reject => "rejected",
                },
                record.by,
                record.rationale
            ),
            Event::InterfaceVersionPublished { interface, entry } => format!(
                "interface {interface}: {} published ({})",
                entry.version, entry.compatibility
            ),
            Event::SignalRecorded { signal } => format!(
                "component {}{}: {}",
                signal.component,
                signal
                    .environment
                    .as_ref()
                    .map(|e| format!(" in {e}"))
                    .unwrap_or_default(),
                signal.reading.describe()
            ),
            Event::ChecklistTemplateDefined { template, .. } => {
                format!("checklist template {template} defined")
            }
            Event::ChecklistTemplateRedefined { template, .. } => {
                format!("checklist template {template} changed")
            }
            Event::ChecklistItemChecked {
                release, item, by, ..
            } => format!("release {release}: checklist item {item} checked by {by}"),
            Event::ApprovalRulesDefined { release, rules } => format!(
                "release {release}: approval rules {}",
                rules
                    .iter()
                    .map(crate::checklist::ApprovalRule::describe)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Event::GoNoGoRequested {
                release,
                by,
                expedited,
                ..
            } => format!(
                "release {release}: go/no-go requested by {by}{}",
                if *expedited { " (expedited path)" } else { "" }
            ),
            Event::SignOffRecorded {
                release,
                by,
                decision,
                ..
            } => match decision {
                crate::checklist::SignOffDecision::Approve => {
                    format!("release {release}: {by} approved")
                }
                crate::checklist::SignOffDecision::Reject { reason } => {
                    format!("release {release}: {by} rejected: {reason}")
                }
            },
            Event::SignOffWithdrawn { release, by } => {
                format!("release {release}: {by} withdrew their sign-off")
            }
            Event::RunStarted {
                release,
                number,
                by,
                auto_rollback,
                ..
            } => format!(
                "run {number} of {release} started by {by}{}",
                if *auto_rollback {
                    " (auto-rollback)"
                } else {
                    ""
                }
            ),
            Event::BreakGlassUsed {
                release,
                break_glass,
            } => format!(
                "break glass on {release} ({}) by {}: {} (overrides {})",
                break_glass.scope,
                break_glass.by,
                break_glass.reason,
                break_glass
                    .windows
                    .iter()
                    .map(Name::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Event::RunStepChanged {
                release,
                phase,
                step,
                from,
                to,
                by,
                note,
                ..
            } => format!(
                "{release} {} step {step}: {from} → {to} by {by}{}",
                phase.as_str(),
                note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
            ),
            Event::RollbackTriggerTripped { release, trip, .. } => format!(
                "{release}: rollback trigger {} tripped on {}: {}",
                trip.trigger, trip.component, trip.detail
            ),
            Event::EscalationAcknowledged {
                item,
                by,
                escalations,
                ..
            } => format!(
                "item {item}: escalation acknowledged by {by}{}",
                match escalations.len() {
                    0 | 1 => String::new(),
                    n => format!(" ({n} escalations)"),
                }
            ),
            Event::ChangeProposed {
                change, title, by, ..
            } => format!("change request {change} proposed by {by}: {title}"),
            Event::ChangeApproved { change, decision } => {
                format!("change request {change} approved by {}", decision.by)
            }
            Event::ChangeRejected { change, decision } => format!(
                "change request {change} rejected by {}: {}",
                decision.by,
                decision.rationale.as_deref().unwrap_or_default()
            ),
            Event::ChangeWithdrawn { change, by, .. } => {
                format!("change request {change} withdrawn by {by}")
            }
            Event::LessonRecorded {
                release, text, by, ..
            } => {
                format!("{release}: lesson from {by}: {text}")
            }
            Event::CoordinationRecorded { release, entry } => format!(
                "{release}: {} {} min × {} recorded by {}",
                entry.activity, entry.minutes, entry.people, entry.by
            ),
            Event::CoordinationRetracted {
                release,
                number,
                by,
                ..
            } => format!("{release}: coordination record {number} retracted by {by}"),
            Event::CoordinationRated { release, rating } => format!(
                "{release}: coordination rated {} of {} by {}",
                rating.score,
                crate::coordination::MAX_SCORE,
                rating.by
            ),
            Event::RollbackStarted {
                release,
                steps,
                reason,
                automatic,
                by,
                ..
            } => format!(
                "{release}: {} rollback by {by} ({}): {}",
                if *automatic { "automatic" } else { "manual" },
                steps
                    .iter()
                    .map(|s| s.component.as_str())
                    .collect::<Vec<_>>()
                    .join(" → "),
                reason
            ),
        }
    }
}

/// Who caused an event, when, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMeta {
    /// The user or integration that issued the command.
    pub actor: String,
    /// When the command was decided.
    pub at: jiff::Timestamp,
    /// Why, if the actor said.
    pub reason: Option<String>,
}

/// An event as read back from the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recorded {
    /// Global position in the log, 1-based.
    pub position: i64,
    /// The stream it belongs to.
    pub stream: String,
    /// Who, when, why.
    pub meta: EventMeta,
    /// What happened.
    pub event: Event,
}
