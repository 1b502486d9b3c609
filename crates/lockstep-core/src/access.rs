//! Who may issue which command: the authorization rules, as a pure function of the
//! program state, the principal and the command.
//!
//! Roles are not stored with users: they follow from the program. A principal linked to
//! a member handle is a *release manager* when that member holds the `release-manager`
//! role (or is named as a release's manager, for that release), a *team member* of the
//! team that lists the handle, and a *stakeholder* through any other role it holds. An
//! unlinked principal is a *viewer*. Administrators may do everything.
//!
//! The rules:
//! - everyone authenticated reads (reads are not commands and never reach this module);
//! - only an administrator or a release manager defines teams, components, environments
//!   and integration tasks, changes release dates, scope (adding items) or state;
//! - a team member moves, re-dates and annotates their own team's items, edits an existing
//!   item of their team without moving it to another team, release or due date, and
//!   declares or removes dependencies that touch one of their team's items;
//! - a team member registers and updates risks owned by a member of their team (the owner
//!   stays on the team), and moves such a risk's status;
//! - a member of an interface's producer team declares and changes it (the producer stays
//!   their team) and proposes new versions of it; a member of a consumer team (a team named
//!   as consumer, or owning a consumer component) reviews the proposals (`decide` refuses
//!   the proposer's own review); contract test results are recorded by the consumer
//!   component's team or the producer team, deployments by the component's team;
//! - an integration task's owners (and members of the teams owning its components)
//!   record its scenario results;
//! - a checklist item is ticked by the person named in the command, who must be the
//!   principal (an administrator may tick for someone); `decide` then checks that the
//!   person holds the item's owner role or manages the release;
//! - a go/no-go sign-off (approve, reject, withdraw) is given only by the named person
//!   themself: not even an administrator signs for someone else;
//! - go/no-go is requested, and a release's approval rules set, by a release manager
//!   or an administrator; checklist templates are defined by them too;
//! - otherwise stakeholders and viewers change nothing.
//!
//! This module does not authenticate: the edge says who the principal is.

use crate::{Command, Name, Role, State};

/// Who is asking, as established by the edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Login name, for messages and the audit trail.
    pub user: String,
    /// Administrators may do everything.
    pub admin: bool,
    /// The team member handle the user acts as, if linked.
    pub member: Option<Name>,
}

/// Why a command was refused to a principal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{user} may not {action}: {reason}")]
pub struct Denied {
    /// The principal's login name.
    pub user: String,
    /// What was attempted, in words (`move item api-analytics-endpoints`).
    pub action: String,
    /// Which rule refused it.
    pub reason: String,
}

/// The role a principal plays in the program, derived from the state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProgramRole {
    /// Administers the server.
    Admin,
    /// Holds the `release-manager` role.
    ReleaseManager,
    /// A member of a team (any team role that is not a stakeholder role).
    TeamMember {
        /// The team.
        team: Name,
    },
    /// A stakeholder through a role such as security or UX.
    Stakeholder {
        /// The roles held.
        roles: Vec<Role>,
    },
    /// Reads only.
    Viewer,
}

impl ProgramRole {
    /// A short label for pages and responses.
    pub fn label(&self) -> String {
        match self {
            ProgramRole::Admin => "admin".to_owned(),
            ProgramRole::ReleaseManager => "release manager".to_owned(),
            ProgramRole::TeamMember { team } => format!("member of {team}"),
            ProgramRole::Stakeholder { roles } => format!(
                "stakeholder ({})",
                roles
                    .iter()
                    .map(|role| role.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ProgramRole::Viewer => "viewer".to_owned(),
        }
    }
}

fn member_roles(state: &State, handle: &Name) -> Vec<Role> {
    state
        .team_of_member(handle.as_str())
        .and_then(|team| state.teams().get(team))
        .and_then(|team| team.spec.members.iter().find(|m| &m.handle == handle))
        .map(|member| member.roles.clone())
        .unwrap_or_default()
}

/// The principal's strongest role in `state`.
pub fn role_of(state: &State, principal: &Principal) -> ProgramRole {
    if principal.admin {
        return ProgramRole::Admin;
    }
    let Some(handle) = &principal.member else {
        return ProgramRole::Viewer;
    };
    let roles = member_roles(state, handle);
    if roles.contains(&Role::ReleaseManager) {
        return ProgramRole::ReleaseManager;
    }
    let Some(team) = state.team_of_member(handle.as_str()) else {
        return ProgramRole::Viewer;
    };
    let is_team_member = roles.is_empty()
        || roles
            .iter()
            .any(|r| matches!(r, Role::TechLead | Role::Member));
    if is_team_member {
        ProgramRole::TeamMember { team: team.clone() }
    } else {
        ProgramRole::Stakeholder { roles }
    }
}

/// What `command` attempts, in words (`move item api-analytics-endpoints to staging`):
/// for refusals and the audit log.
pub fn action(command: &Command) -> String {
    match command {
        Command::DefineTeam { team, .. } => format!("define team {team}"),
        Command::DefineComponent { component, .. } => format!("define component {component}"),
        Command::DefineEnvironment { environment, .. } => {
            format!("define environment {environment}")
        }
        Command::DefineBlackout { blackout, .. } => format!("define blackout {blackout}"),
        Command::DefineResource { resource, .. } => format!("define resource {resource}"),
        Command::DefineSubscription { subscription, .. } => {
            format!("define subscription {subscription}")
        }
        Command::DefineRelease { release, .. } => format!("change release {release}"),
        Command::ChangeReleaseState { release, to } => {
            format!("move release {release} to {to}")
        }
        Command::DefineItem { item, .. } => format!("define item {item}"),
        Command::MoveItem { item, to } => format!("move item {item} to {to}"),
        Command::SetEta { item, .. } => format!("set the ETA of item {item}"),
        Command::PostUpdate { item, .. } => format!("post an update on item {item}"),
        Command::AcknowledgeEscalation { item, .. } => {
            format!("acknowledge the escalation of item {item}")
        }
        Command::DefineDependency {
            blocker, blocked, ..
        } => format!("declare that {blocker} blocks {blocked}"),
        Command::RemoveDependency { blocker, blocked } => {
            format!("remove the dependency {blocker} → {blocked}")
        }
        Command::DefineIntegrationTask { task, .. } => format!("define integration task {task}"),
        Command::RecordScenarioResult { task, .. } => {
            format!("record a result of integration task {task}")
        }
        Command::DefineRisk { risk, .. } => format!("define risk {risk}"),
        Command::ChangeRiskStatus { risk, to } => format!("move risk {risk} to {to}"),
        Command::DefineInterface { interface, .. } => format!("define interface {interface}"),
        Command::RecordVerification {
            interface,
            verification,
        } => format!(
            "record a contract test of {} against interface {interface}",
            verification.consumer
        ),
        Command::RecordDeployment {
            component,
            environment,
            version,
            ..
        } => format!("record {component} {version} as deployed in {environment}"),
        Command::ProposeInterfaceChange {
            interface, version, ..
        } => format!("propose {interface} {version}"),
        Command::DecideInterfaceChange {
            interface,
            version,
            decision,
            ..
        } => format!("{decision} the proposal of {interface} {version}"),
        Command::RecordSignal { signal } => format!(
            "record a {} signal for component {}",
            signal.reading.kind(),
            signal.component
        ),
        Command::DefineChecklistTemplate { template, .. } => {
            format!("define checklist template {template}")
        }
        Command::CheckItem {
            release, item, by, ..
        } => {
            format!("check item {item} of release {release} as {by}")
        }
        Command::DefineApprovalRules { release, .. } => {
            format!("set the approval rules of release {release}")
        }
        Command::RequestGoNoGo { release, by } => {
            format!("request go/no-go of release {release} as {by}")
        }
        Command::SignOff { release, by, .. } => {
            format!("sign off release {release} as {by}")
        }
        Command::WithdrawSignOff { release, by } => {
            format!("withdraw the sign-off of {by} on release {release}")
        }
        Command::StartRun { release, .. } => format!("start a deployment run of {release}"),
        Command::ChangeRunStep {
            release, step, to, ..
        } => format!("move step {step} of the {release} run to {to}"),
        Command::StartRollback { release, .. } => format!("roll back the {release} run"),
        Command::ProposeChange { title, .. } => format!("propose the change \"{title}\""),
        Command::DecideChange {
            change, approve, ..
        } => format!(
            "{} change request {change}",
            if *approve { "approve" } else { "reject" }
        ),
        Command::WithdrawChange { change, .. } => format!("withdraw change request {change}"),
        Command::RecordLesson { release, .. } => format!("keep a lesson with release {release}"),
        Command::RecordCoordination { release, .. } => {
            format!("record coordination time on release {release}")
        }
        Command::RetractCoordination {
            release, number, ..
        } => format!("retract coordination record {number} of release {release}"),
        Command::RateCoordination { release, .. } => {
            format!("rate the coordination of release {release}")
        }
        // Commands added later are named by their variant until they get words here.
        #[allow(unreachable_patterns)]
        other => {
            let debug = format!("{other:?}");
            let variant = debug.split([' ', '{', '(']).next().unwrap_or("change");
            format!("issue {variant}")
        }
    }
}

/// What `command` is about, for the audit log: the stream it would write
/// (`release:q1-2025`, `run:q1-2025`, `component:analytics-api`) and its release, if any.
pub fn subject(state: &State, command: &Command) -> (String, Option<Name>) {
    let release = release_of_command(state, command);
    let target = match command {
        Command::StartRun { release, .. }
        | Command::ChangeRunStep { release, .. }
        | Command::StartRollback { release, .. } => crate::run::stream(release),
        Command::DefineTeam { team, .. } => format!("team:{team}"),
        Command::DefineComponent { component, .. } => format!("component:{component}"),
        Command::DefineEnvironment { environment, .. } => format!("environment:{environment}"),
        Command::DefineBlackout { blackout, .. } => format!("blackout:{blackout}"),
        Command::RecordSignal { signal } => format!("component:{}", signal.component),
        Command::DefineInterface { interface, .. }
        | Command::RecordVerification { interface, .. }
        | Command::ProposeInterfaceChange { interface, .. }
        | Command::DecideInterfaceChange { interface, .. } => crate::contract::stream(interface),
        Command::RecordDeployment { environment, .. } => format!("environment:{environment}"),
        _ => match &release {
            Some(release) => format!("release:{release}"),
            None => "program".to_owned(),
        },
    };
    (target, release)
}

/// Whether the principal manages `release` by being named its manager.
fn manages_release(state: &State, principal: &Principal, release: &Name) -> bool {
    let Some(handle) = &principal.member else {
        return false;
    };
    state
        .releases()
        .get(release)
        .and_then(|r| r.spec.manager.as_ref())
        .is_some_and(|manager| manager == handle)
}

fn release_of_command(state: &State, command: &Command) -> Option<Name> {
    match command {
        Command::DefineRelease { release, .. }
        | Command::ChangeReleaseState { release, .. }
        | Command::DefineItem { release, .. }
        | Command::DefineIntegrationTask { release, .. }
        | Command::DefineRisk { release, .. }
        | Command::CheckItem { release, .. }
        | Command::DefineApprovalRules { release, .. }
        | Command::RequestGoNoGo { release, .. }
        | Command::SignOff { release, .. }
        | Command::RecordLesson { release, .. }
        | Command::RecordCoordination { release, .. }
        | Command::RateCoordination { release, .. }
        | Command::RetractCoordination { release, .. }
        | Command::WithdrawSignOff { release, .. } => Some(release.clone()),
        Command::MoveItem { item, .. }
        | Command::SetEta { item, .. }
        | Command::PostUpdate { item, .. }
        | Command::AcknowledgeEscalation { item, .. }
        | Command::DefineDependency { blocked: item, .. }
        | Command::RemoveDependency { blocked: item, .. } => {
            state.items().get(item).map(|i| i.release.clone())
        }
        Command::StartRun { release, .. }
        | Command::ChangeRunStep { release, .. }
        | Command::StartRollback { release, .. } => Some(release.clone()),
        Command::RecordScenarioResult { task, .. } => state
            .integration_tasks()
            .get(task)
            .map(|t| t.release.clone()),
        Command::ChangeRiskStatus { risk, .. } => {
            state.risks().get(risk).map(|r| r.release.clone())
        }
        Command::DefineTeam { .. }
        | Command::DefineComponent { .. }
        | Command::DefineEnvironment { .. }
        | Command::DefineBlackout { .. }
        | Command::DefineResource { .. }
        | Command::DefineSubscription { .. }
        | Command::DefineChecklistTemplate { .. }
        | Command::RecordSignal { .. }
        | Command::ProposeChange { .. }
        | Command::DecideChange { .. }
        | Command::WithdrawChange { .. }
        | Command::DefineInterface { .. }
        | Command::RecordVerification { .. }
        | Command::RecordDeployment { .. }
        | Command::ProposeInterfaceChange { .. }
        | Command::DecideInterfaceChange { .. } => None,
    }
}

fn team_of_item<'a>(state: &'a State, item: &Name) -> Option<&'a Name> {
    state.items().get(item).map(|i| &i.spec.team)
}

/// Whether `principal` may issue `command` against `state`.
///
/// A command about something that does not exist is allowed here when the principal
/// could issue it if it did, so that `decide` reports the missing resource (404/422)
/// rather than this module hiding it behind a refusal that says less.
pub fn authorize(state: &State, principal: &Principal, command: &Command) -> Result<(), Denied> {
    let deny = |reason: &str| {
        Err(Denied {
            user: principal.user.clone(),
            action: action(command),
            reason: reason.to_owned(),
        })
    };
    // Signatures are personal: checked before any role lets a command through.
    let acts_as = |by: &Name| principal.member.as_ref() == Some(by);
    match command {
        Command::SignOff { by, .. } | Command::WithdrawSignOff { by, .. } if !acts_as(by) => {
            return deny(&format!("only `{by}` signs for `{by}`"));
        }
        Command::CheckItem { by, .. } | Command::RequestGoNoGo { by, .. }
            if !principal.admin && !acts_as(by) =>
        {
            return deny(&format!("only `{by}` acts as `{by}`"));
        }
        Command::SignOff { .. } | Command::WithdrawSignOff { .. } | Command::CheckItem { .. } => {
            // The person named is the principal; `decide` checks that they are a
            // named approver or hold the item's owner role.
            return Ok(());
        }
        // A change request records who proposed and who decided, and a lesson who kept
        // it: the principal, always.
        Command::ProposeChange { by, .. }
        | Command::DecideChange { by, .. }
        | Command::WithdrawChange { by, .. }
        | Command::RecordLesson { by, .. }
        | Command::RecordCoordination { by, .. }
        | Command::RateCoordination { by, .. }
        | Command::RetractCoordination { by, .. }
            if *by != principal.user =>
        {
            return deny(&format!("only {by} acts as {by}"));
        }
        Command::WithdrawChange { change, .. } => {
            let requester = state.change_requests().get(change).map(|r| &r.requested_by);
            return match requester {
                Some(requester) if *requester != principal.user && !principal.admin => {
                    deny(&format!("only its requester ({requester}) withdraws it"))
                }
                _ => Ok(()),
            };
        }
        _ => {}
    }
    let role = role_of(state, principal);
    match role {
        ProgramRole::Admin | ProgramRole::ReleaseManager => return Ok(()),
        ProgramRole::Viewer => return deny("viewers change nothing"),
        ProgramRole::Stakeholder { .. } | ProgramRole::TeamMember { .. } => {}
    }
    if release_of_command(state, command)
        .is_some_and(|release| manages_release(state, principal, &release))
    {
        return Ok(());
    }
    if let Command::ProposeChange { .. }
    | Command::RecordLesson { .. }
    | Command::RecordCoordination { .. }
    | Command::RateCoordination { .. } = command
    {
        // Proposing changes nothing until someone approves; a retrospective, and the time
        // it took to coordinate, are everyone's.
        return Ok(());
    }
    if let Command::RetractCoordination {
        release, number, ..
    } = command
    {
        // Whoever recorded it may take it back (the release's managers passed above).
        let recorder = state
            .coordination_of(release)
            .iter()
            .find(|entry| entry.number == *number)
            .map(|entry| &entry.by);
        return match recorder {
            Some(recorder) if *recorder != principal.user => deny(&format!(
                "only who recorded it ({recorder}) or a release manager retracts it"
            )),
            _ => Ok(()),
        };
    }
    let ProgramRole::TeamMember { team } = role else {
        return deny("stakeholders sign off and read; they do not change the plan");
    };
    let own = |item: &Name| team_of_item(state, item).is_none_or(|owner| *owner == team);
    match command {
        // Whoever may post on a blocker may answer for its escalation.
        Command::MoveItem { item, .. }
        | Command::SetEta { item, .. }
        | Command::PostUpdate { item, .. }
        | Command::AcknowledgeEscalation { item, .. } => {
            if own(item) {
                Ok(())
            } else {
                deny(&format!(
                    "team members change only their own team's ({team}) items"
                ))
            }
        }
        Command::DefineItem {
            item,
            release,
            spec,
        } => match state.items().get(item) {
            None => deny("only a release manager or an admin changes a release's scope"),
            Some(existing) if existing.spec.team != team => deny(&format!(
                "team members change only their own team's ({team}) items"
            )),
            Some(existing)
                if &existing.release != release
                    || spec.team != team
                    || spec.due != existing.spec.due =>
            {
                deny("only a release manager or an admin moves an item or its due date")
            }
            Some(existing)
                if spec.component != existing.spec.component
                    && spec.component.as_ref().is_some_and(|component| {
                        state
                            .components()
                            .get(component)
                            .is_some_and(|c| c.spec.team != team)
                    }) =>
            {
                deny(&format!(
                    "team members point their items only at their own team's ({team}) components"
                ))
            }
            Some(_) => Ok(()),
        },
        Command::DefineDependency {
            blocker, blocked, ..
        }
        | Command::RemoveDependency { blocker, blocked } => {
            let touches = |item: &Name| team_of_item(state, item).is_some_and(|o| *o == team);
            if touches(blocker) || touches(blocked) {
                Ok(())
            } else {
                deny(&format!(
                    "team members declare only dependencies that touch their team's ({team}) items"
                ))
            }
        }
        Command::RecordScenarioResult { task, .. } => {
            let Some(task) = state.integration_tasks().get(task) else {
                return Ok(());
            };
            let handle = principal.member.as_ref();
            let owner = handle.is_some_and(|h| task.spec.owners.contains(h));
            let team_component = task.spec.components.iter().any(|component| {
                state
                    .components()
                    .get(component)
                    .is_some_and(|c| c.spec.team == team)
            });
            if owner || team_component {
                Ok(())
            } else {
                deny("only the task's owners and teams record its results")
            }
        }
        Command::DefineRisk { risk, spec, .. } => {
            let ours = |owner: &Name| state.team_of_member(owner.as_str()) == Some(&team);
            let current_owner = state.risks().get(risk).map(|r| &r.spec.owner);
            if ours(&spec.owner) && current_owner.is_none_or(ours) {
                Ok(())
            } else {
                deny(&format!(
                    "team members register and change only risks their team ({team}) owns"
                ))
            }
        }
        Command::ChangeRiskStatus { risk, .. } => {
            let Some(risk) = state.risks().get(risk) else {
                return Ok(());
            };
            if state.team_of_member(risk.spec.owner.as_str()) == Some(&team) {
                Ok(())
            } else {
                deny(&format!(
                    "team members move only risks their team ({team}) owns"
                ))
            }
        }
        Command::DefineInterface { interface, spec } => {
            let current = state
                .contracts()
                .interfaces
                .get(interface)
                .map(|i| &i.spec.producer);
            if spec.producer == team && current.is_none_or(|producer| *producer == team) {
                Ok(())
            } else {
                deny(&format!(
                    "team members declare and change only interfaces their team ({team}) produces"
                ))
            }
        }
        Command::ProposeInterfaceChange { interface, .. } => {
            match state.contracts().interfaces.get(interface) {
                Some(existing) if existing.spec.producer != team => deny(&format!(
                    "only the producer team ({}) proposes versions of {interface}",
                    existing.spec.producer
                )),
                _ => Ok(()),
            }
        }
        Command::DecideInterfaceChange { interface, .. } => {
            let Some(existing) = state.contracts().interfaces.get(interface) else {
                return Ok(());
            };
            if crate::contract::consumer_teams(state, &existing.spec).contains(&team) {
                Ok(())
            } else {
                deny(&format!(
                    "only a consumer team of {interface}, a release manager or an admin reviews its proposals"
                ))
            }
        }
        Command::RecordVerification {
            interface,
            verification,
        } => {
            let producer = state
                .contracts()
                .interfaces
                .get(interface)
                .map(|i| &i.spec.producer);
            let consumer_team = state
                .components()
                .get(&verification.consumer)
                .map(|c| &c.spec.team);
            if producer.is_none_or(|p| *p == team) || consumer_team.is_none_or(|c| *c == team) {
                Ok(())
            } else {
                deny(&format!(
                    "team members record contract tests only of their team's ({team}) components or interfaces"
                ))
            }
        }
        Command::RecordDeployment { component, .. } => {
            let owned = state
                .components()
                .get(component)
                .is_none_or(|c| c.spec.team == team);
            if owned {
                Ok(())
            } else {
                deny(&format!(
                    "team members record deployments only of their team's ({team}) components"
                ))
            }
        }
        Command::RecordSignal { signal } => {
            // A team reports signals about its own components; CI integrations act
            // as release managers or admins.
            let owned = state
                .components()
                .get(&signal.component)
                .is_none_or(|c| c.spec.team == team);
            if owned {
                Ok(())
            } else {
                deny(&format!(
                    "team members record signals only for their team's ({team}) components"
                ))
            }
        }
        Command::ChangeRunStep { release, step, .. } => {
            // The team that owns a step's component executes it.
            let owned = state
                .components()
                .get(step)
                .is_none_or(|c| c.spec.team == team);
            if owned {
                Ok(())
            } else {
                deny(&format!(
                    "team members run only their team's ({team}) steps of the {release} run"
                ))
            }
        }
        Command::StartRollback { release, .. } => {
            // Any team deploying in the run may pull the emergency brake.
            let deploys = state
                .runs()
                .get(release)
                .is_some_and(|run| run.runbook.steps.iter().any(|s| s.team == team));
            if deploys {
                Ok(())
            } else {
                deny("only a release manager or a team deploying in the run rolls it back")
            }
        }
        Command::StartRun { .. } => {
            deny("only a release manager or an admin starts a deployment run")
        }
        Command::DefineRelease { .. } | Command::ChangeReleaseState { .. } => {
            deny("only a release manager or an admin changes release dates, scope or state")
        }
        Command::DefineApprovalRules { .. } | Command::RequestGoNoGo { .. } => {
            deny("only a release manager or an admin sets approval rules or requests go/no-go")
        }
        Command::SignOff { .. } | Command::WithdrawSignOff { .. } | Command::CheckItem { .. } => {
            Ok(())
        }
        // Decided before roles: proposing and lessons are anyone's, withdrawing the
        // requester's.
        Command::ProposeChange { .. }
        | Command::WithdrawChange { .. }
        | Command::RecordLesson { .. }
        | Command::RecordCoordination { .. }
        | Command::RateCoordination { .. }
        | Command::RetractCoordination { .. } => Ok(()),
        Command::DecideChange { .. } => {
            deny("only a release manager or an administrator decides change requests")
        }
        Command::DefineTeam { .. }
        | Command::DefineComponent { .. }
        | Command::DefineEnvironment { .. }
        | Command::DefineBlackout { .. }
        | Command::DefineResource { .. }
        | Command::DefineSubscription { .. }
        | Command::DefineIntegrationTask { .. }
        | Command::DefineChecklistTemplate { .. } => {
            deny("only a release manager or an admin defines the program's resources")
        }
    }
}
