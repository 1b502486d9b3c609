//! Commands: what an actor asks for, in the imperative. A command is already
//! parsed (names are [`Name`]s, dates are dates); `decide` checks it against the
//! state and turns it into events or a [`DomainError`](crate::DomainError).
//!
//! `Define*` commands are upserts so that applying the same manifest twice
//! decides no events the second time.

use jiff::civil::Date;

use crate::{
    BlackoutSpec, ComponentSpec, EnvironmentSpec, IntegrationTaskSpec, ItemSpec, ItemStatus, Name,
    ReleaseSpec, ReleaseState, ResourceSpec, ScenarioResult, Signal, StatusUpdate, TeamSpec,
};

/// A request to change the release program.
#[derive(Clone, Debug, PartialEq)]
#[allow(missing_docs)] // Field names say it; each variant is documented.
pub enum Command {
    /// Create or update a team.
    DefineTeam { team: Name, spec: TeamSpec },
    /// Create or update a component.
    DefineComponent {
        component: Name,
        spec: ComponentSpec,
    },
    /// Create or update an environment.
    DefineEnvironment {
        environment: Name,
        spec: EnvironmentSpec,
    },
    /// Create or update a blackout window.
    DefineBlackout { blackout: Name, spec: BlackoutSpec },
    /// Create or update a shared resource.
    DefineResource { resource: Name, spec: ResourceSpec },
    /// Declare or change who gets which messages (an upsert).
    DefineSubscription {
        subscription: Name,
        spec: crate::SubscriptionSpec,
    },
    /// Plan a release or change its dates and plan.
    DefineRelease { release: Name, spec: ReleaseSpec },
    /// Move a release through its life cycle.
    ChangeReleaseState { release: Name, to: ReleaseState },
    /// Add an item to a release or change its declaration.
    DefineItem {
        item: Name,
        release: Name,
        spec: ItemSpec,
    },
    /// Move an item to another board column.
    MoveItem { item: Name, to: ItemStatus },
    /// Set or clear an item's estimated completion date.
    SetEta { item: Name, eta: Option<Date> },
    /// Post a dated status note; an identical note already posted is not repeated.
    PostUpdate { item: Name, update: StatusUpdate },
    /// Declare that `blocker` must be done before `blocked`, or change the terms.
    DefineDependency {
        blocker: Name,
        blocked: Name,
        need_by: Option<Date>,
        buffer_days: u32,
    },
    /// Remove a dependency.
    RemoveDependency { blocker: Name, blocked: Name },
    /// Create or update an integration task.
    DefineIntegrationTask {
        task: Name,
        release: Name,
        spec: IntegrationTaskSpec,
    },
    /// Record the result of one scenario (0-based index) of an integration task.
    RecordScenarioResult {
        task: Name,
        scenario: usize,
        result: ScenarioResult,
    },
    /// Register a risk of a release or change its declaration (an upsert; its status
    /// is kept).
    DefineRisk {
        risk: Name,
        release: Name,
        spec: crate::RiskSpec,
    },
    /// Move a registered risk to another status; the reason travels in the event's meta.
    ChangeRiskStatus { risk: Name, to: crate::RiskStatus },
    /// Propose a change to the program as manifests, as `by` (a login name). The edge
    /// has checked that they plan and decide against the current state.
    ProposeChange {
        title: String,
        sources: Vec<crate::change::ChangeSource>,
        /// The releases its manifests touch, as the edge assessed them: the request is
        /// part of their coordination. Names that are not releases are dropped.
        releases: Vec<Name>,
        by: String,
    },
    /// Approve (and so apply: the edge decides the request's manifests in the same
    /// batch) or reject a change request, as `by`.
    DecideChange {
        change: Name,
        approve: bool,
        by: String,
        rationale: Option<String>,
    },
    /// Withdraw a change request, as `by` (its requester).
    WithdrawChange { change: Name, by: String },
    /// Keep a lesson with a release (its retrospective's "What would we do
    /// differently?"), as `by`. Allowed in any state: reviews happen after shipping.
    RecordLesson {
        release: Name,
        text: String,
        by: String,
    },
    /// Record time spent coordinating a release outside Lockstep (a meeting, a call, an
    /// e-mail thread), as `by`. `on` defaults to today (UTC). Allowed in any state.
    RecordCoordination {
        release: Name,
        activity: crate::coordination::Activity,
        minutes: u32,
        people: u32,
        on: Option<jiff::civil::Date>,
        note: Option<String>,
        by: String,
    },
    /// Rate how the coordination of a release went, 1 to 5, as `by`; a later rating by
    /// the same person replaces theirs. Allowed in any state.
    RateCoordination {
        release: Name,
        score: u8,
        comment: Option<String>,
        by: String,
    },
    /// Withdraw coordination record `number` of a release as a mistake, as `by` (who
    /// recorded it, or a release manager).
    RetractCoordination {
        release: Name,
        number: u32,
        by: String,
    },
    /// Declare an interface or change its declaration (an upsert; published versions
    /// a declaration leaves out are kept).
    DefineInterface {
        interface: Name,
        spec: crate::contract::InterfaceSpec,
    },
    /// Record a contract test result of a consumer against a version of an interface.
    RecordVerification {
        interface: Name,
        verification: crate::contract::VerificationReport,
    },
    /// Record that `version` of `component` now runs in `environment`.
    RecordDeployment {
        component: Name,
        environment: Name,
        version: crate::contract::ComponentVersion,
        /// When it was deployed, where the source says so (a code host's deployment
        /// status); now otherwise, and never later than now. A deployment older than the
        /// one recorded changes nothing: a redelivered webhook does not move a version back.
        deployed_at: Option<jiff::Timestamp>,
        by: String,
    },
    /// Propose a new version of an interface, for review.
    ProposeInterfaceChange {
        interface: Name,
        version: crate::contract::Version,
        compatibility: crate::contract::Compatibility,
        summary: String,
        by: String,
    },
    /// Approve or reject the open proposal for `version`, with the rationale; an
    /// approval publishes the version.
    DecideInterfaceChange {
        interface: Name,
        version: crate::contract::Version,
        decision: crate::contract::ProposalDecision,
        rationale: String,
        by: String,
    },
    /// Record a signal (CI run, open bugs, scan, smoke test, error rate, latency)
    /// about a component. A delivery already recorded decides no events.
    RecordSignal { signal: Signal },
    /// Create or update a checklist template.
    DefineChecklistTemplate {
        template: Name,
        spec: crate::checklist::ChecklistTemplateSpec,
    },
    /// Tick a manual checklist item of a release, as `by`.
    CheckItem {
        release: Name,
        item: Name,
        by: Name,
        note: Option<String>,
    },
    /// Set a release's own go/no-go approval rules (replacing its template's).
    DefineApprovalRules {
        release: Name,
        rules: Vec<crate::checklist::ApprovalRule>,
    },
    /// Open the go/no-go meeting record; `by` may not approve.
    RequestGoNoGo { release: Name, by: Name },
    /// Approve or reject (with a reason) in the go/no-go meeting, as `by`.
    SignOff {
        release: Name,
        by: Name,
        decision: crate::checklist::SignOffDecision,
    },
    /// Withdraw `by`'s sign-off (a rejection stops blocking).
    WithdrawSignOff { release: Name, by: Name },
    /// Start executing a release's runbook (generated at the edge, where time zones
    /// are resolved). Inside a deny window it needs `options.break_glass`.
    StartRun {
        release: Name,
        runbook: Box<crate::runbook::Runbook>,
        by: String,
        options: crate::run::RunOptions,
    },
    /// Move one step of the current phase (deploy or rollback) of a run. `freezes` are
    /// the blackouts in force now, resolved at the edge like a runbook
    /// ([`crate::runbook::freezes_at`]); starting a deploy step inside one, or inside a
    /// deny window of the run's runbook, needs `break_glass`.
    ChangeRunStep {
        release: Name,
        step: Name,
        to: crate::run::StepStatus,
        by: String,
        note: Option<String>,
        break_glass: Option<String>,
        freezes: Vec<crate::runbook::DenyWindow>,
    },
    /// Answer for the escalations of the blocker `item`: `escalations` names them by the
    /// event that raised each (`release:q1-2025@24`, as the outbox keys of their notices
    /// do; the edge reads them there). Those already acknowledged are left out, so
    /// acknowledging twice decides nothing.
    AcknowledgeEscalation {
        item: Name,
        by: String,
        escalations: Vec<String>,
    },
    /// Roll back a run: its deployed steps, in reverse dependency order. Without a
    /// reason, the first tripped trigger is the reason.
    StartRollback {
        release: Name,
        by: String,
        reason: Option<String>,
    },
}
