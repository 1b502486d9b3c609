//! Composing messages: from the state, its history and the risk report to a template
//! context, then through the template to a [`Message`] that lists the events it was
//! built from.
//!
//! Every fact in a message comes from the plan; nothing here invents a figure the plan
//! does not hold (where the seed templates ask for one, such as expected downtime, the
//! context says that nothing is recorded). It does not decide who receives a message
//! (`notify`) nor deliver it.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};
use lockstep_core::risk::RiskReport;
use lockstep_core::{
    Event, IntegrationTask, Item, ItemStatus, Name, Recorded, Release, ReleaseSpec, Role,
    ScenarioResult, State,
};
use serde::Serialize;

use lockstep_core::run::{Run, RunPhase, RunStep, StepStatus};

use crate::provenance::{Sources, dependency_key};
use crate::run_notice::{Occurrence, Outcome, RunNotice};
use crate::{Format, Message, MessageKind, Provenance, TemplateError, Templates};

/// What a message is composed from.
#[derive(Debug, Clone, Copy)]
pub struct Compose<'a> {
    /// The program now.
    pub state: &'a State,
    /// The events that made it (any order); day and week views read them.
    pub history: &'a [Recorded],
    /// The index of `history`, for traceability.
    pub provenance: &'a Provenance,
    /// `lockstep_core::risk::assess(state)`, computed once by the caller.
    pub risk: &'a RiskReport,
    /// The templates.
    pub templates: &'a Templates,
}

/// Which message to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The kind.
    pub kind: MessageKind,
    /// The release it is about.
    pub release: Name,
    /// Only this team (daily updates); every team with scope in the release when `None`.
    pub team: Option<Name>,
    /// The stakeholder role (stakeholder notices); required for that kind.
    pub role: Option<Role>,
    /// The day (daily update) or the last day of the week (weekly agenda).
    pub date: Date,
    /// Text or Markdown.
    pub format: Format,
    /// For escalations: the blocker item and who is asked to act.
    pub escalation: Option<crate::escalation::EscalationNotice>,
    /// For deployment incidents, rollbacks and run ends: what happened to the run.
    pub run: Option<crate::run_notice::RunNotice>,
    /// For late changes: the changes to report.
    pub late: Option<LateNotice>,
}

/// Changes to a release's plan made close to its deployment, by one person in one commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LateNotice {
    /// When the deployment starts.
    pub deployment: Timestamp,
    /// When the changes were made.
    pub at: Timestamp,
    /// Each change, in words.
    pub changes: Vec<String>,
    /// Who made them (a login name).
    pub by: String,
    /// Why, if they said.
    pub reason: Option<String>,
}

/// Why a message could not be composed.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// The release does not exist.
    #[error("unknown release `{0}`")]
    UnknownRelease(String),
    /// The team does not exist.
    #[error("unknown team `{0}`")]
    UnknownTeam(String),
    /// A stakeholder notice needs a role.
    #[error("a stakeholder notice needs a role (--role)")]
    MissingRole,
    /// A dependency alert is written to one team.
    #[error("a dependency alert needs a team (--team)")]
    MissingTeam,
    /// A late-change message reports the changes of a commit.
    #[error(
        "a late-change message is written when a late change is committed, not composed for a release"
    )]
    MissingLateNotice,
    /// An escalation needs its notice.
    #[error("an escalation message needs an escalation notice")]
    MissingEscalation,
    /// A deployment incident, rollback or run status needs its run notice.
    #[error("a {0} message needs the run notice it reports")]
    MissingRunNotice(MessageKind),
    /// The release has no run with the notice's number.
    #[error("release `{release}` has no run {number}")]
    UnknownRun {
        /// The release.
        release: String,
        /// The run number asked for.
        number: u32,
    },
    /// Change request and interface change messages are about the program, not a
    /// release: they are written by the outbox policy when the review's event is
    /// committed (`review`), never composed for a release.
    #[error(
        "a {0} message is written when the review's event is committed, not composed for a release"
    )]
    ReviewNotice(MessageKind),
    /// The change request or interface a review notice is about is not in the state.
    #[error("unknown change request or interface `{0}`")]
    UnknownSubject(String),
    /// Digests are merged from other messages, never composed.
    #[error("a digest is merged from other messages by the delivery worker")]
    Digest,
    /// The template failed.
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// Writes the message `request` asks for.
pub fn compose(input: Compose<'_>, request: &Request) -> Result<Message, ComposeError> {
    let release = input
        .state
        .releases()
        .get(&request.release)
        .ok_or_else(|| ComposeError::UnknownRelease(request.release.to_string()))?;
    if let Some(team) = &request.team
        && !input.state.teams().contains_key(team)
    {
        return Err(ComposeError::UnknownTeam(team.to_string()));
    }
    if request.kind == MessageKind::Digest {
        return Err(ComposeError::Digest);
    }
    let mut sources = Sources::new(input.provenance);
    sources.subject(&format!("release:{}", release.name));
    let writer = Writer {
        input,
        release,
        request,
    };
    let (subject, body) = match request.kind {
        MessageKind::PreReleaseAnnouncement => {
            let context = writer.pre_release(&mut sources);
            writer.render(&context)?
        }
        MessageKind::CompletionAnnouncement => {
            let context = writer.completion(&mut sources);
            writer.render(&context)?
        }
        MessageKind::DailyUpdate => {
            let context = writer.daily(&mut sources);
            writer.render(&context)?
        }
        MessageKind::WeeklyAgenda => {
            let context = writer.weekly(&mut sources);
            writer.render(&context)?
        }
        MessageKind::ReleaseNotes => {
            let context = writer.notes(&mut sources);
            writer.render(&context)?
        }
        MessageKind::StakeholderNotice => {
            let role = request.role.ok_or(ComposeError::MissingRole)?;
            let context = writer.stakeholder(role, &mut sources);
            writer.render(&context)?
        }
        MessageKind::DependencyAlert => {
            let team = request.team.as_ref().ok_or(ComposeError::MissingTeam)?;
            let context = writer.dependency_alert(team, &mut sources);
            writer.render(&context)?
        }
        MessageKind::LateChange => {
            let notice = request
                .late
                .as_ref()
                .ok_or(ComposeError::MissingLateNotice)?;
            let context = writer.late_change(notice, &mut sources);
            writer.render(&context)?
        }
        MessageKind::Escalation => {
            let notice = request
                .escalation
                .as_ref()
                .ok_or(ComposeError::MissingEscalation)?;
            let context = writer.escalation(notice, &mut sources);
            writer.render(&context)?
        }
        MessageKind::DeploymentIncident
        | MessageKind::RollbackStarted
        | MessageKind::DeploymentStatus => {
            let notice = request
                .run
                .as_ref()
                .ok_or(ComposeError::MissingRunNotice(request.kind))?;
            let run = input
                .state
                .runs()
                .get(&release.name)
                .filter(|run| run.number == notice.number)
                .ok_or_else(|| ComposeError::UnknownRun {
                    release: release.name.to_string(),
                    number: notice.number,
                })?;
            let context = writer.run_notice(run, notice, &mut sources);
            writer.render(&context)?
        }
        MessageKind::Digest => return Err(ComposeError::Digest),
        MessageKind::ChangeRequest | MessageKind::InterfaceChange => {
            return Err(ComposeError::ReviewNotice(request.kind));
        }
    };
    let title = release_title(release);
    Ok(Message {
        kind: request.kind,
        release: Some(release.name.clone()),
        team: request.team.clone(),
        role: request.role,
        date: request.date,
        subject: subject.unwrap_or_else(|| format!("{title} - {}", request.kind)),
        body,
        sources: sources.into_vec(),
    })
}

struct Writer<'a> {
    input: Compose<'a>,
    release: &'a Release,
    request: &'a Request,
}

// ---------------------------------------------------------------- views

#[derive(Serialize)]
struct PersonView {
    handle: String,
    name: String,
    email: Option<String>,
}

#[derive(Serialize)]
struct StepView {
    at: String,
    title: String,
    component: String,
    team: String,
}

#[derive(Serialize)]
struct DeploymentView {
    environment: String,
    time_zone: String,
    /// `March 1, 2025 at 9:00 AM America/New_York`.
    starts: String,
    /// `9:00 AM – 10:30 AM America/New_York`.
    window: String,
    steps: Vec<StepView>,
    verification: Vec<String>,
    rollback_triggers: Vec<String>,
}

#[derive(Serialize)]
struct MilestoneView {
    name: String,
    title: String,
    date: String,
    end: Option<String>,
}

#[derive(Serialize)]
struct ReleaseView {
    name: String,
    title: String,
    version: Option<String>,
    kind: String,
    state: String,
    target_date: String,
    target_date_iso: String,
    feature_freeze: Option<String>,
    code_freeze: Option<String>,
    manager: Option<PersonView>,
    milestones: Vec<MilestoneView>,
    deployment: Option<DeploymentView>,
}

#[derive(Serialize)]
struct ItemView {
    name: String,
    title: String,
    team: String,
    team_title: String,
    component: Option<String>,
    status: &'static str,
    status_title: &'static str,
    due: Option<String>,
    eta: Option<String>,
    /// The first acceptance criterion, as a one-line description.
    summary: Option<String>,
    customer_facing: bool,
}

#[derive(Serialize)]
struct Line {
    mark: &'static str,
    kind: &'static str,
    text: String,
}

#[derive(Serialize)]
struct TeamBlock {
    name: String,
    title: String,
    lines: Vec<Line>,
}

#[derive(Serialize)]
struct BlockedView {
    item: String,
    team: String,
    waiting_on: String,
    waiting_on_team: String,
    need_by: Option<String>,
    blocker_eta: Option<String>,
    overdue: bool,
}

#[derive(Serialize)]
struct RiskView {
    item: String,
    team: String,
    projected_finish: String,
    chain: Vec<String>,
}

/// A live risk of the register, as the weekly agenda lists it.
#[derive(Serialize)]
struct RegisterRiskView {
    title: String,
    exposure: u8,
    probability: &'static str,
    impact: &'static str,
    status: &'static str,
    owner: String,
    mitigation: Option<String>,
    feature_flag: Option<String>,
    trigger: Option<String>,
    review_by: Option<String>,
    review_overdue: bool,
}

#[derive(Serialize)]
struct RunStepView {
    component: String,
    title: String,
    team_title: String,
    status: &'static str,
    mark: &'static str,
    /// Who made the last transition, and when: `by Alex (@alex) at 9:12 AM`.
    last: Option<String>,
    note: Option<String>,
}

#[derive(Serialize)]
struct MilestoneStatus {
    title: String,
    date: String,
    status: &'static str,
    note: Option<String>,
}

#[derive(Serialize)]
struct IntegrationView {
    title: String,
    milestone: Option<String>,
    due: Option<String>,
    owners: Vec<String>,
    total: usize,
    passed: usize,
    failed: usize,
    blocked: usize,
    pending: usize,
    failed_scenarios: Vec<String>,
    this_week: Vec<String>,
}

// ---------------------------------------------------------------- helpers

fn short(date: Date) -> String {
    date.strftime("%b %-d").to_string()
}

fn long(date: Date) -> String {
    date.strftime("%B %-d, %Y").to_string()
}

fn clock(time: jiff::civil::Time) -> String {
    time.strftime("%-I:%M %p").to_string()
}

fn release_title(release: &Release) -> String {
    release
        .spec
        .title
        .clone()
        .unwrap_or_else(|| release.name.to_string())
}

fn add_days(date: Date, days: i64) -> Date {
    date.checked_add(Span::new().days(days)).unwrap_or(date)
}

fn is_customer_facing(item: &Item) -> bool {
    item.spec.labels.iter().any(|label| {
        matches!(
            label.as_str(),
            "customer-facing" | "user-facing" | "impact/customer" | "impact/user"
        )
    })
}

/// The calendar day of `at` in `zone`.
fn day_in(at: Timestamp, zone: &TimeZone) -> Date {
    at.to_zoned_datetime(zone.clone()).date()
}

pub(crate) fn zone_named(name: &str) -> TimeZone {
    // Time zones are validated where manifests are read; an unknown one here means a
    // hand-made state, and UTC is the honest fallback.
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

impl<'a> Writer<'a> {
    fn state(&self) -> &'a State {
        self.input.state
    }

    fn render(&self, context: &impl Serialize) -> Result<(Option<String>, String), ComposeError> {
        Ok(self
            .input
            .templates
            .render(self.request.kind, context, self.request.format)?)
    }

    fn team_title(&self, team: &Name) -> String {
        self.state()
            .teams()
            .get(team)
            .and_then(|t| t.spec.title.clone())
            .unwrap_or_else(|| team.to_string())
    }

    fn person(&self, handle: &Name) -> PersonView {
        let member = self
            .state()
            .team_of_member(handle.as_str())
            .and_then(|team| self.state().teams().get(team))
            .and_then(|team| team.spec.members.iter().find(|m| &m.handle == handle));
        PersonView {
            handle: handle.to_string(),
            name: member
                .and_then(|m| m.name.clone())
                .unwrap_or_else(|| handle.to_string()),
            email: member.and_then(|m| m.email.clone()),
        }
    }

    fn item_view(&self, item: &Item, sources: &mut Sources<'_>) -> ItemView {
        sources.subject(&format!("item:{}", item.name));
        ItemView {
            name: item.name.to_string(),
            title: item.spec.title.clone(),
            team: item.spec.team.to_string(),
            team_title: self.team_title(&item.spec.team),
            component: item.spec.component.as_ref().map(|c| {
                self.state()
                    .components()
                    .get(c)
                    .and_then(|c| c.spec.title.clone())
                    .unwrap_or_else(|| c.to_string())
            }),
            status: item.status.as_str(),
            status_title: item.status.title(),
            due: item.spec.due.map(short),
            eta: item.eta.map(short),
            summary: item.spec.acceptance_criteria.first().cloned(),
            customer_facing: is_customer_facing(item),
        }
    }

    fn items(&self) -> impl Iterator<Item = &'a Item> + 'a {
        self.state().items_of(&self.release.name)
    }

    fn release_view(&self, sources: &mut Sources<'_>) -> ReleaseView {
        let spec: &ReleaseSpec = &self.release.spec;
        let deployment = spec.deployment.as_ref().map(|plan| {
            let first = plan.steps.first().map(|s| s.at);
            // The window closes when the last step (deployment plus verification) ends.
            let last = plan.steps.last().map(|s| {
                s.at.checked_add(Span::new().minutes(i64::from(s.minutes)))
                    .unwrap_or(s.at)
            });
            let starts = match first {
                Some(at) => format!(
                    "{} at {} {}",
                    long(spec.target_date),
                    clock(at),
                    plan.time_zone
                ),
                None => long(spec.target_date),
            };
            let window = match (first, last) {
                (Some(first), Some(last)) => {
                    format!("{} – {} {}", clock(first), clock(last), plan.time_zone)
                }
                _ => "not scheduled".to_owned(),
            };
            DeploymentView {
                environment: plan.environment.to_string(),
                time_zone: plan.time_zone.clone(),
                starts,
                window,
                steps: plan
                    .steps
                    .iter()
                    .map(|step| {
                        let team = self
                            .state()
                            .components()
                            .get(&step.component)
                            .map(|c| self.team_title(&c.spec.team))
                            .unwrap_or_default();
                        StepView {
                            at: clock(step.at),
                            title: step
                                .title
                                .clone()
                                .unwrap_or_else(|| step.component.to_string()),
                            component: step.component.to_string(),
                            team,
                        }
                    })
                    .collect(),
                verification: plan.verification.clone(),
                rollback_triggers: plan
                    .rollback_triggers
                    .iter()
                    .map(|t| t.description.clone().unwrap_or_else(|| t.signal.clone()))
                    .collect(),
            }
        });
        let manager = spec.manager.as_ref().map(|handle| {
            if let Some(team) = self.state().team_of_member(handle.as_str()) {
                sources.subject(&format!("team:{team}"));
            }
            self.person(handle)
        });
        ReleaseView {
            name: self.release.name.to_string(),
            title: release_title(self.release),
            version: spec.version.clone(),
            kind: format!("{:?}", spec.kind).to_lowercase(),
            state: self.release.state.to_string(),
            target_date: long(spec.target_date),
            target_date_iso: spec.target_date.to_string(),
            feature_freeze: spec.feature_freeze.map(long),
            code_freeze: spec.code_freeze.map(long),
            manager,
            milestones: spec
                .milestones
                .iter()
                .map(|m| MilestoneView {
                    name: m.name.to_string(),
                    title: m.title.clone().unwrap_or_else(|| m.name.to_string()),
                    date: short(m.date),
                    end: m.end.map(short),
                })
                .collect(),
            deployment,
        }
    }

    /// The tasks of this release.
    fn tasks(&self) -> impl Iterator<Item = &'a IntegrationTask> + 'a {
        let release = &self.release.name;
        self.state()
            .integration_tasks()
            .values()
            .filter(move |task| &task.release == release)
    }

    /// The last due date of an integration task run in a staging environment.
    fn staging_date(&self) -> Option<Date> {
        self.tasks()
            .filter(|task| {
                task.spec.environment.as_ref().is_some_and(|env| {
                    self.state()
                        .environments()
                        .get(env)
                        .is_some_and(|e| e.spec.tier == lockstep_core::Tier::Staging)
                })
            })
            .filter_map(|task| task.spec.due)
            .max()
    }

    fn failed_scenarios(&self, sources: &mut Sources<'_>) -> Vec<String> {
        let mut out = Vec::new();
        for task in self.tasks() {
            for scenario in &task.spec.scenarios {
                if matches!(
                    scenario.result,
                    ScenarioResult::Failed | ScenarioResult::Blocked
                ) {
                    sources.subject(&format!("task:{}", task.name));
                    out.push(format!(
                        "{}: {} ({})",
                        task.spec.title,
                        scenario.title,
                        scenario_word(scenario.result)
                    ));
                }
            }
        }
        out
    }

    // ------------------------------------------------------------ kinds

    fn pre_release(&self, sources: &mut Sources<'_>) -> serde_json::Value {
        let release = self.release_view(sources);
        let scope: Vec<ItemView> = self.items().map(|i| self.item_view(i, sources)).collect();
        let user_facing_labelled = scope.iter().any(|i| i.customer_facing);
        let user_facing: Vec<&ItemView> = scope
            .iter()
            .filter(|i| i.customer_facing || !user_facing_labelled)
            .collect();
        let staging = self.staging_date();
        for task in self.tasks() {
            sources.subject(&format!("task:{}", task.name));
        }
        let downtime = self
            .release
            .spec
            .labels
            .get("downtime")
            .cloned()
            .unwrap_or_else(|| "None planned".to_owned());
        serde_json::json!({
            "release": release,
            "scope": scope,
            "staging_deployment": staging.map(long),
            "downtime": downtime,
            "user_facing": user_facing,
            "user_facing_labelled": user_facing_labelled,
        })
    }

    fn completion(&self, sources: &mut Sources<'_>) -> serde_json::Value {
        let release = self.release_view(sources);
        let released = self.release.state == lockstep_core::ReleaseState::Released;
        let (deployed, pending): (Vec<&Item>, Vec<&Item>) = self.items().partition(|item| {
            item.status == ItemStatus::Released || (released && item.status.is_ready())
        });
        let deployed: Vec<ItemView> = deployed
            .into_iter()
            .map(|i| self.item_view(i, sources))
            .collect();
        let pending: Vec<ItemView> = pending
            .into_iter()
            .map(|i| self.item_view(i, sources))
            .collect();
        let issues = self.failed_scenarios(sources);
        let status = if !released {
            "Not deployed yet"
        } else if issues.is_empty() {
            "Healthy"
        } else {
            "Monitoring"
        };
        serde_json::json!({
            "release": release,
            "released": released,
            "deployed": deployed,
            "not_deployed": pending,
            "issues": issues,
            "current_status": status,
            "retrospective": long(add_days(self.release.spec.target_date, 7)),
            "notes_command": format!("lockstep message preview release-notes --release {}", self.release.name),
        })
    }

    fn notes(&self, sources: &mut Sources<'_>) -> serde_json::Value {
        let release = self.release_view(sources);
        let mut by_team: BTreeMap<String, Vec<ItemView>> = BTreeMap::new();
        let mut in_progress = Vec::new();
        for item in self.items() {
            let view = self.item_view(item, sources);
            if item.status.is_ready() {
                by_team
                    .entry(view.team_title.clone())
                    .or_default()
                    .push(view);
            } else {
                in_progress.push(view);
            }
        }
        let teams: Vec<serde_json::Value> = by_team
            .into_iter()
            .map(|(title, items)| serde_json::json!({ "title": title, "items": items }))
            .collect();
        let known_issues = self.failed_scenarios(sources);
        serde_json::json!({
            "release": release,
            "teams": teams,
            "in_progress": in_progress,
            "known_issues": known_issues,
        })
    }

    fn stakeholder(&self, role: Role, sources: &mut Sources<'_>) -> serde_json::Value {
        let release = self.release_view(sources);
        let scope: Vec<ItemView> = self.items().map(|i| self.item_view(i, sources)).collect();
        let labelled = scope.iter().any(|i| i.customer_facing);
        let customer_facing: Vec<&ItemView> = scope
            .iter()
            .filter(|i| i.customer_facing || !labelled)
            .collect();
        let mut components: BTreeSet<(String, Option<String>)> = BTreeSet::new();
        for item in self.items() {
            if let Some(component) = item
                .spec
                .component
                .as_ref()
                .and_then(|c| self.state().components().get(c))
            {
                sources.subject(&format!("component:{}", component.name));
                components.insert((
                    component
                        .spec
                        .title
                        .clone()
                        .unwrap_or_else(|| component.name.to_string()),
                    component.spec.repository.clone(),
                ));
            }
        }
        let components: Vec<serde_json::Value> = components
            .into_iter()
            .map(
                |(title, repository)| serde_json::json!({"title": title, "repository": repository}),
            )
            .collect();
        let late_dependencies = self.late_dependencies(sources);
        let ui_items: Vec<&ItemView> = scope
            .iter()
            .filter(|i| {
                i.customer_facing
                    || i.component.as_deref().is_some_and(|c| {
                        let c = c.to_lowercase();
                        c.contains("ui") || c.contains("app") || c.contains("frontend")
                    })
            })
            .collect();
        let people: Vec<PersonView> = self
            .state()
            .teams()
            .values()
            .flat_map(|t| t.spec.members.iter())
            .filter(|m| m.roles.contains(&role))
            .map(|m| self.person(&m.handle))
            .collect();
        serde_json::json!({
            "release": release,
            "role": role.as_str(),
            "role_title": role_title(role),
            "people": people,
            "customer_facing": customer_facing,
            "customer_facing_labelled": labelled,
            "ui_items": ui_items,
            "components": components,
            // No scan signal is recorded in the plan yet (signals arrive with the
            // readiness work); say so rather than imply a clean scan.
            "scan_status": "no security scan result is recorded in Lockstep for this release",
            "late_dependencies": late_dependencies,
            "failed_scenarios": self.failed_scenarios(sources),
            "scope": scope,
        })
    }

    fn late_dependencies(&self, sources: &mut Sources<'_>) -> Vec<String> {
        let mut out = Vec::new();
        for dependency in self.state().dependencies().filter(|d| d.late) {
            let (Some(blocker), Some(blocked)) = (
                self.state().items().get(&dependency.blocker),
                self.state().items().get(&dependency.blocked),
            ) else {
                continue;
            };
            if blocked.release != self.release.name {
                continue;
            }
            sources.subject(&dependency_key(
                dependency.blocker.as_str(),
                dependency.blocked.as_str(),
            ));
            out.push(format!(
                "{} now blocks {} (added after feature freeze)",
                blocker.spec.title, blocked.spec.title
            ));
        }
        out
    }

    fn escalation(
        &self,
        notice: &crate::escalation::EscalationNotice,
        sources: &mut Sources<'_>,
    ) -> serde_json::Value {
        let release = self.release_view(sources);
        let item = self.state().items().get(&notice.blocker);
        let item_view = item.map(|i| self.item_view(i, sources));
        let risk = self
            .input
            .risk
            .items
            .values()
            .filter(|r| {
                self.state()
                    .dependency_path(&notice.blocker, &r.item)
                    .is_some()
            })
            .flat_map(|r| self.input.risk.chain(&r.item))
            .collect::<BTreeSet<_>>();
        serde_json::json!({
            "release": release,
            "item": item_view,
            "level": notice.level.as_str(),
            "to": self.person(&notice.to),
            "owner": self.person(&notice.owner),
            "raised_at": notice.raised_at.to_string(),
            "chain": risk.into_iter().collect::<Vec<_>>(),
        })
    }

    /// The team's items of the release at risk because of what they wait on, each with
    /// its chain; none when the risk has cleared.
    fn dependency_alert(&self, team: &Name, sources: &mut Sources<'_>) -> serde_json::Value {
        let release = self.release_view(sources);
        sources.subject(&format!("team:{team}"));
        let at_risk: Vec<RiskView> = self
            .items()
            .filter(|item| &item.spec.team == team)
            .filter_map(|item| {
                let risk = self
                    .input
                    .risk
                    .items
                    .get(&item.name)
                    .filter(|r| r.upstream)?;
                self.risk_sources(&item.name, sources);
                Some(RiskView {
                    item: item.spec.title.clone(),
                    team: self.team_title(team),
                    projected_finish: short(risk.projected_finish),
                    chain: self.input.risk.chain(&risk.item),
                })
            })
            .collect();
        serde_json::json!({
            "release": release,
            "team": {"name": team.as_str(), "title": self.team_title(team)},
            "at_risk": at_risk,
        })
    }

    // ------------------------------------------------------------ runs

    /// Who did something, in words: a member's name and handle, `Lockstep` for what it
    /// did itself, or the user or integration as recorded.
    fn actor(&self, by: &str) -> String {
        if by == "lockstep" {
            return "Lockstep (automatically)".to_owned();
        }
        match Name::parse(by) {
            Ok(handle) if self.state().team_of_member(by).is_some() => {
                format!("{} (@{by})", self.person(&handle).name)
            }
            _ => by.to_owned(),
        }
    }

    fn late_change(&self, notice: &LateNotice, sources: &mut Sources<'_>) -> serde_json::Value {
        let release = self.release_view(sources);
        let hours = notice.deployment.duration_since(notice.at).as_hours();
        let by = Name::parse(&notice.by)
            .map(|handle| self.person(&handle))
            .unwrap_or_else(|_| PersonView {
                handle: notice.by.clone(),
                name: notice.by.clone(),
                email: None,
            });
        serde_json::json!({
            "release": release,
            "deployment": notice.deployment.strftime("%b %-d %H:%M UTC").to_string(),
            "hours": hours,
            "changes": notice.changes,
            "by": by,
            "reason": notice.reason,
        })
    }

    fn run_notice(
        &self,
        run: &Run,
        notice: &RunNotice,
        sources: &mut Sources<'_>,
    ) -> serde_json::Value {
        let release = self.release_view(sources);
        sources.subject(&format!("run:{}", self.release.name));
        let name = &self.release.name;
        let zone = zone_named(&run.runbook.time_zone);
        let when = |at: Timestamp| -> String {
            let local = at.to_zoned_datetime(zone.clone());
            format!(
                "{} at {} {} ({} UTC)",
                long(local.date()),
                clock(local.time()),
                run.runbook.time_zone,
                at.strftime("%H:%M")
            )
        };
        let runbook_step =
            |component: &Name| run.runbook.steps.iter().find(|s| &s.component == component);
        let title_of = |component: &Name| {
            runbook_step(component).map_or_else(|| component.to_string(), |s| s.title.clone())
        };
        let contacts_of = |step: &lockstep_core::runbook::RunbookStep| -> String {
            let mut people = Vec::new();
            for (contact, label) in [(&step.primary, "primary"), (&step.backup, "backup")] {
                if let Some(contact) = contact {
                    let name = contact
                        .name
                        .clone()
                        .unwrap_or_else(|| contact.handle.to_string());
                    people.push(format!("{name} (@{}, {label})", contact.handle));
                }
            }
            if people.is_empty() {
                "no contact declared".to_owned()
            } else {
                people.join(", ")
            }
        };
        let step_views = |steps: &[RunStep]| -> Vec<RunStepView> {
            steps
                .iter()
                .map(|step| {
                    let planned = runbook_step(&step.component);
                    RunStepView {
                        component: step.component.to_string(),
                        title: title_of(&step.component),
                        team_title: planned
                            .map(|s| self.team_title(&s.team))
                            .unwrap_or_default(),
                        status: step.status.as_str(),
                        mark: step_mark(step.status),
                        last: step.history.last().map(|t| {
                            let local = t.at.to_zoned_datetime(zone.clone());
                            format!("by {} at {}", self.actor(&t.by), clock(local.time()))
                        }),
                        note: step.history.last().and_then(|t| t.note.clone()),
                    }
                })
                .collect()
        };
        let order = |steps: &[&Name]| -> String {
            steps
                .iter()
                .map(|c| format!("{} ({c})", title_of(c)))
                .collect::<Vec<_>>()
                .join(", then ")
        };
        let run_command = |verb: &str| format!("lockstep run {verb} {name}");
        let (what, subject_step) = match &notice.occurrence {
            Occurrence::StepFailed { step, .. } => ("step-failed", Some(step)),
            Occurrence::TriggerTripped { trip } => ("trigger-tripped", Some(&trip.component)),
            Occurrence::RollbackStarted { .. } => ("rollback-started", None),
            Occurrence::Finished { outcome } => (
                match outcome {
                    Outcome::Completed => "completed",
                    Outcome::RolledBack => "rolled-back",
                    Outcome::Aborted => "aborted",
                },
                None,
            ),
        };
        let step = subject_step.map(|component| {
            let planned = runbook_step(component);
            serde_json::json!({
                "component": component.to_string(),
                "title": title_of(component),
                "team_title": planned.map(|s| self.team_title(&s.team)).unwrap_or_default(),
                "contacts": planned.map(contacts_of).unwrap_or_default(),
                "verification": planned.map(|s| s.verification.clone()).unwrap_or_default(),
            })
        });
        let planned_rollback: Vec<Name> = match &run.rollback {
            Some(rollback) => rollback.steps.iter().map(|s| s.component.clone()).collect(),
            None => run
                .rollback_plan()
                .into_iter()
                .map(|s| s.component)
                .collect(),
        };
        let planned_rollback: Vec<&Name> = planned_rollback.iter().collect();
        let mut next: Vec<String> = Vec::new();
        let mut trigger = None;
        let mut note = None;
        let mut phase = "deploy";
        let mut reason = None;
        let mut automatic = false;
        match &notice.occurrence {
            Occurrence::StepFailed {
                phase: RunPhase::Deploy,
                step,
                note: why,
            } => {
                note = why.clone();
                next.push(format!(
                    "Steps after {} cannot start until it is done. Once the cause is fixed, \
                     retry it: `lockstep run step {name} {step} start`.",
                    title_of(step)
                ));
                if planned_rollback.is_empty() {
                    next.push(
                        "Nothing was deployed yet, so there is nothing to roll back.".to_owned(),
                    );
                } else {
                    next.push(format!(
                        "Or roll back: `{} --reason \"…\"` undoes, in this order: {}.",
                        run_command("rollback"),
                        order(&planned_rollback)
                    ));
                }
            }
            Occurrence::StepFailed {
                phase: RunPhase::Rollback,
                step,
                note: why,
            } => {
                phase = "rollback";
                note = why.clone();
                next.push(format!(
                    "The rollback is stuck at {}: the rollback steps that wait for it cannot \
                     start. Once the cause is fixed, retry it: `lockstep run step {name} {step} start`.",
                    title_of(step)
                ));
                next.push(format!(
                    "Until the rollback is done, {} may be partly deployed.",
                    run.runbook.environment
                ));
            }
            Occurrence::TriggerTripped { trip } => {
                let declared = run
                    .runbook
                    .rollback_triggers
                    .iter()
                    .find(|t| t.signal == trip.trigger)
                    .map_or_else(
                        || trip.trigger.clone(),
                        lockstep_core::runbook::describe_trigger,
                    );
                trigger = Some(serde_json::json!({
                    "signal": trip.trigger,
                    "description": declared,
                    "detail": trip.detail,
                    "observed": when(trip.at),
                }));
                match &run.rollback {
                    Some(rollback) if rollback.automatic => next.push(format!(
                        "This run was started with auto-rollback: Lockstep started the rollback \
                         at once. Each team rolls back its own step, in this order: {}.",
                        order(&planned_rollback)
                    )),
                    Some(rollback) => next.push(format!(
                        "{} started the rollback; its steps, in order: {}.",
                        self.actor(&rollback.by),
                        order(&planned_rollback)
                    )),
                    None => {
                        next.push(format!(
                            "New deployment steps are refused until the rollback starts: \
                             `{}` (the tripped trigger is its reason).",
                            run_command("rollback")
                        ));
                        if !planned_rollback.is_empty() {
                            next.push(format!(
                                "The rollback undoes, in this order: {}.",
                                order(&planned_rollback)
                            ));
                        }
                    }
                }
            }
            Occurrence::RollbackStarted {
                reason: why,
                automatic: auto,
            } => {
                reason = Some(why.clone());
                automatic = *auto;
                next.push(format!(
                    "Each team rolls back its own step, in the order above; a step waits for \
                     the rollbacks of the steps deployed after it. Move each with `lockstep run \
                     step {name} COMPONENT start`, then `verify` and `done`."
                ));
                next.push(
                    "No deployment step may start during the rollback; a freeze never blocks \
                     a rollback."
                        .to_owned(),
                );
                next.push(format!(
                    "When every rollback step is done the run is rolled back, and a new run \
                     may start: `{}`.",
                    run_command("start")
                ));
            }
            Occurrence::Finished {
                outcome: Outcome::Completed,
            } => {
                next.push(format!(
                    "Verify in {}: {}.",
                    run.runbook.environment,
                    self.release
                        .spec
                        .deployment
                        .as_ref()
                        .filter(|plan| !plan.verification.is_empty())
                        .map_or_else(
                            || "smoke tests and error rates".to_owned(),
                            |plan| plan.verification.join(", ")
                        )
                ));
                next.push(
                    "Rollback triggers keep watching the signals of this run's components: \
                     a tripped one is announced at once."
                        .to_owned(),
                );
                next.push(
                    "Once its items are ready the release can be marked released; the \
                     completion announcement goes out then."
                        .to_owned(),
                );
            }
            Occurrence::Finished {
                outcome: Outcome::RolledBack,
            } => {
                reason = run.rollback.as_ref().map(|r| r.reason.clone());
                next.push(format!(
                    "Nothing this run deployed remains in {}. Fix the cause, then start a \
                     new run: `{}`.",
                    run.runbook.environment,
                    run_command("start")
                ));
            }
            Occurrence::Finished {
                outcome: Outcome::Aborted,
            } => {
                let touched: Vec<String> = run
                    .steps_of(run.phase())
                    .iter()
                    .filter(|s| s.status.touched())
                    .map(|s| format!("{} ({})", title_of(&s.component), s.status))
                    .collect();
                next.push(format!(
                    "The release is cancelled: no further step of run {} will be taken.",
                    run.number
                ));
                if touched.is_empty() {
                    next.push(format!(
                        "Nothing was deployed to {}.",
                        run.runbook.environment
                    ));
                } else {
                    next.push(format!(
                        "Check what is left in {}: {}.",
                        run.runbook.environment,
                        touched.join(", ")
                    ));
                }
            }
        }
        // Contacts: the teams of the steps concerned, then the release manager.
        let concerned: Vec<&Name> = match &notice.occurrence {
            Occurrence::StepFailed { step, .. } => vec![step],
            Occurrence::TriggerTripped { trip } => vec![&trip.component],
            Occurrence::RollbackStarted { .. } => planned_rollback.clone(),
            Occurrence::Finished { .. } => run.runbook.steps.iter().map(|s| &s.component).collect(),
        };
        let mut contacts: Vec<String> = Vec::new();
        for component in concerned {
            if let Some(planned) = runbook_step(component) {
                let line = format!(
                    "{}: {}",
                    self.team_title(&planned.team),
                    contacts_of(planned)
                );
                if !contacts.contains(&line) {
                    contacts.push(line);
                }
            }
        }
        if let Some(manager) = &self.release.spec.manager {
            let person = self.person(manager);
            contacts.push(format!(
                "Release manager: {} (@{})",
                person.name, person.handle
            ));
        }
        let rollback_steps: Vec<RunStepView> = match &run.rollback {
            Some(rollback) => step_views(&rollback.steps),
            None => Vec::new(),
        };
        serde_json::json!({
            "release": release,
            "what": what,
            "phase": phase,
            "outcome": match &notice.occurrence {
                Occurrence::Finished { outcome } => Some(outcome.as_str()),
                _ => None,
            },
            "run": {
                "number": run.number,
                "environment": run.runbook.environment.to_string(),
                "started_by": self.actor(&run.started_by),
                "started_at": when(run.started_at),
                "auto_rollback": run.auto_rollback,
                "status": run.status().as_str(),
            },
            "by": self.actor(&notice.by),
            "at": when(notice.at),
            "step": step,
            "note": note,
            "trigger": trigger,
            "reason": reason,
            "automatic": automatic,
            "steps": step_views(&run.steps),
            "rollback_steps": rollback_steps,
            "next": next,
            "contacts": contacts,
            "status_command": run_command("status"),
            "runbook_command": format!("lockstep runbook {name}"),
        })
    }

    // ------------------------------------------------------------ daily

    fn teams_of_release(&self) -> Vec<&'a Name> {
        let mut teams: BTreeSet<&'a Name> = self.items().map(|i| &i.spec.team).collect();
        for task in self.tasks() {
            for component in &task.spec.components {
                if let Some(c) = self.state().components().get(component) {
                    teams.insert(&c.spec.team);
                }
            }
        }
        teams.into_iter().collect()
    }

    fn daily(&self, sources: &mut Sources<'_>) -> serde_json::Value {
        let teams: Vec<&Name> = match &self.request.team {
            Some(team) => vec![team],
            None => self.teams_of_release(),
        };
        let day = self.request.date;
        // One pass over the history, bucketed by team.
        let mut lines: BTreeMap<&Name, Vec<(Line, i64)>> = BTreeMap::new();
        let zones: BTreeMap<&Name, TimeZone> = teams
            .iter()
            .map(|team| {
                let zone = self
                    .state()
                    .teams()
                    .get(*team)
                    .map_or(TimeZone::UTC, |t| zone_named(&t.spec.time_zone));
                (*team, zone)
            })
            .collect();
        for recorded in self.input.history {
            for (team, line) in self.day_lines(recorded) {
                let Some(zone) = zones.get(team) else {
                    continue;
                };
                let on_day = match &recorded.event {
                    Event::ItemUpdatePosted { update, .. } => update.date == day,
                    _ => day_in(recorded.meta.at, zone) == day,
                };
                if on_day {
                    lines
                        .entry(team)
                        .or_default()
                        .push((line, recorded.position));
                }
            }
        }
        let blocks: Vec<TeamBlock> = teams
            .iter()
            .map(|team| {
                sources.subject(&format!("team:{team}"));
                let mut team_lines = Vec::new();
                for (line, position) in lines.remove(team).unwrap_or_default() {
                    sources.position(position);
                    team_lines.push(line);
                }
                team_lines.extend(self.waiting_lines(team, sources));
                team_lines.extend(self.risk_lines(team, sources));
                if team_lines.is_empty() {
                    team_lines.push(Line {
                        mark: "ℹ️",
                        kind: "info",
                        text: "No updates recorded".to_owned(),
                    });
                }
                TeamBlock {
                    name: team.to_string(),
                    title: self.team_title(team),
                    lines: team_lines,
                }
            })
            .collect();
        serde_json::json!({
            "release": { "name": self.release.name.as_str(), "title": release_title(self.release) },
            "date": short(day),
            "date_iso": day.to_string(),
            "teams": blocks,
        })
    }

    /// The lines one event contributes to team blocks, if it is about this release.
    fn day_lines(&self, recorded: &Recorded) -> Vec<(&'a Name, Line)> {
        let state = self.state();
        let item_of = |name: &Name| -> Option<&'a Item> {
            state
                .items()
                .get(name)
                .filter(|i| i.release == self.release.name)
        };
        let done = |text: String| Line {
            mark: "✅",
            kind: "done",
            text,
        };
        let info = |text: String| Line {
            mark: "ℹ️",
            kind: "info",
            text,
        };
        let risk = |text: String| Line {
            mark: "🚨",
            kind: "risk",
            text,
        };
        match &recorded.event {
            Event::ItemAdded { item, .. } => item_of(item)
                .map(|i| {
                    vec![(
                        &i.spec.team,
                        info(format!("New in scope: {}", i.spec.title)),
                    )]
                })
                .unwrap_or_default(),
            Event::ItemStatusChanged { item, from, to } => {
                let Some(i) = item_of(item) else {
                    return Vec::new();
                };
                let title = &i.spec.title;
                let line = if to < from {
                    risk(format!("{title} moved back to {}", to.title()))
                } else {
                    match to {
                        ItemStatus::Planning => info(format!("{title} in planning")),
                        ItemStatus::InDevelopment => info(format!("{title}: development started")),
                        ItemStatus::Testing | ItemStatus::Staging => {
                            done(format!("{title} in {}", to.title().to_lowercase()))
                        }
                        ItemStatus::ReadyForRelease => done(format!("{title} ready for release")),
                        ItemStatus::Released => done(format!("{title} released")),
                    }
                };
                vec![(&i.spec.team, line)]
            }
            Event::ItemEtaChanged { item, from, to } => {
                let Some(i) = item_of(item) else {
                    return Vec::new();
                };
                let text = match (from, to) {
                    (Some(from), Some(to)) => {
                        format!(
                            "{}: ETA moved from {} to {}",
                            i.spec.title,
                            short(*from),
                            short(*to)
                        )
                    }
                    (None, Some(to)) => format!("{}: ETA set to {}", i.spec.title, short(*to)),
                    (_, None) => format!("{}: ETA cleared", i.spec.title),
                };
                let late = matches!((to, i.spec.due), (Some(to), Some(due)) if *to > due);
                let slipped = matches!((from, to), (Some(f), Some(t)) if t > f);
                vec![(
                    &i.spec.team,
                    if late || slipped {
                        risk(text)
                    } else {
                        info(text)
                    },
                )]
            }
            Event::ItemUpdatePosted { item, update } => item_of(item)
                .map(|i| vec![(&i.spec.team, done(update.text.clone()))])
                .unwrap_or_default(),
            Event::DependencyAdded { dependency } => {
                let (Some(blocker), Some(blocked)) = (
                    item_of(&dependency.blocker),
                    state.items().get(&dependency.blocked),
                ) else {
                    return Vec::new();
                };
                let text = format!(
                    "New dependency: {} now waits for {}{}",
                    blocked.spec.title,
                    blocker.spec.title,
                    dependency
                        .need_by
                        .map(|d| format!(" by {}", short(d)))
                        .unwrap_or_default()
                );
                let line = || {
                    if dependency.late {
                        risk(format!("{text} (added after feature freeze)"))
                    } else {
                        info(text.clone())
                    }
                };
                let mut out = vec![(&blocked.spec.team, line())];
                if blocker.spec.team != blocked.spec.team {
                    out.push((&blocker.spec.team, line()));
                }
                out
            }
            Event::ScenarioResultRecorded {
                task,
                scenario,
                result,
            } => {
                let Some(task) = state
                    .integration_tasks()
                    .get(task)
                    .filter(|t| t.release == self.release.name)
                else {
                    return Vec::new();
                };
                let title = task
                    .spec
                    .scenarios
                    .get(*scenario)
                    .map_or("scenario", |s| s.title.as_str());
                let text = format!(
                    "Integration ({}): {title} {}",
                    task.spec.title.trim_start_matches("[INTEGRATION] "),
                    scenario_word(*result)
                );
                let mut teams: BTreeSet<&'a Name> = BTreeSet::new();
                for component in &task.spec.components {
                    if let Some(c) = state.components().get(component) {
                        teams.insert(&c.spec.team);
                    }
                }
                teams
                    .into_iter()
                    .map(|team| {
                        let line = match result {
                            ScenarioResult::Passed => done(text.clone()),
                            ScenarioResult::Failed | ScenarioResult::Blocked => risk(text.clone()),
                            ScenarioResult::Pending => info(text.clone()),
                        };
                        (team, line)
                    })
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// ⏳: the team's unfinished items waiting on unfinished blockers.
    fn waiting_lines(&self, team: &Name, sources: &mut Sources<'_>) -> Vec<Line> {
        let state = self.state();
        let mut out = Vec::new();
        for item in self
            .items()
            .filter(|i| &i.spec.team == team && !i.status.is_ready())
        {
            for dependency in state.blocked_by(&item.name) {
                let Some(blocker) = state.items().get(&dependency.blocker) else {
                    continue;
                };
                if blocker.status.is_ready() {
                    continue;
                }
                sources.subject(&dependency_key(
                    dependency.blocker.as_str(),
                    dependency.blocked.as_str(),
                ));
                sources.subject(&format!("item:{}", blocker.name));
                let mut text = format!("Waiting for {}", blocker.spec.title);
                if blocker.spec.team != *team {
                    text.push_str(&format!(" ({})", self.team_title(&blocker.spec.team)));
                }
                text.push_str(&format!(" for {}", item.spec.title));
                match (dependency.need_by, blocker.eta) {
                    (Some(need), Some(eta)) => {
                        text.push_str(&format!(" — needed by {}, ETA {}", short(need), short(eta)))
                    }
                    (Some(need), None) => text.push_str(&format!(" — needed by {}", short(need))),
                    (None, Some(eta)) => text.push_str(&format!(" — ETA {}", short(eta))),
                    (None, None) => {}
                }
                out.push(Line {
                    mark: "⏳",
                    kind: "waiting",
                    text,
                });
            }
        }
        out
    }

    /// 🚨: the team's at-risk items with their causal chains.
    fn risk_lines(&self, team: &Name, sources: &mut Sources<'_>) -> Vec<Line> {
        let mut out = Vec::new();
        for item in self.items().filter(|i| &i.spec.team == team) {
            let Some(risk) = self.input.risk.items.get(&item.name) else {
                continue;
            };
            self.risk_sources(&item.name, sources);
            out.push(Line {
                mark: "🚨",
                kind: "risk",
                text: self.input.risk.chain(&risk.item).join("; "),
            });
        }
        out
    }

    /// The events behind an item's risk: the item and everything upstream of it.
    fn risk_sources(&self, item: &Name, sources: &mut Sources<'_>) {
        let mut stack = vec![item];
        let mut seen = BTreeSet::new();
        while let Some(name) = stack.pop() {
            if !seen.insert(name) {
                continue;
            }
            sources.subject(&format!("item:{name}"));
            for dependency in self.state().blocked_by(name) {
                sources.subject(&dependency_key(
                    dependency.blocker.as_str(),
                    dependency.blocked.as_str(),
                ));
                stack.push(&dependency.blocker);
            }
        }
    }

    // ------------------------------------------------------------ weekly

    fn weekly(&self, sources: &mut Sources<'_>) -> serde_json::Value {
        let release = self.release_view(sources);
        let week_end = self.request.date;
        let week_start = add_days(week_end, -6);
        let zone = self
            .release
            .spec
            .deployment
            .as_ref()
            .map_or(TimeZone::UTC, |d| zone_named(&d.time_zone));
        let in_week = |recorded: &Recorded| {
            let day = match &recorded.event {
                Event::ItemUpdatePosted { update, .. } => update.date,
                _ => day_in(recorded.meta.at, &zone),
            };
            day >= week_start && day <= week_end
        };

        // 1. Dependency status.
        let state = self.state();
        let mut blocked = Vec::new();
        for item in self.items().filter(|i| !i.status.is_ready()) {
            for dependency in state.blocked_by(&item.name) {
                let Some(blocker) = state.items().get(&dependency.blocker) else {
                    continue;
                };
                if blocker.status.is_ready() {
                    continue;
                }
                sources.subject(&dependency_key(
                    dependency.blocker.as_str(),
                    dependency.blocked.as_str(),
                ));
                sources.subject(&format!("item:{}", item.name));
                sources.subject(&format!("item:{}", blocker.name));
                blocked.push(BlockedView {
                    item: item.spec.title.clone(),
                    team: self.team_title(&item.spec.team),
                    waiting_on: blocker.spec.title.clone(),
                    waiting_on_team: self.team_title(&blocker.spec.team),
                    need_by: dependency.need_by.map(short),
                    blocker_eta: blocker.eta.map(short),
                    overdue: dependency.need_by.is_some_and(|need| need < week_end),
                });
            }
        }
        let at_risk: Vec<RiskView> = self
            .items()
            .filter_map(|item| {
                let risk = self.input.risk.items.get(&item.name)?;
                self.risk_sources(&item.name, sources);
                Some(RiskView {
                    item: item.spec.title.clone(),
                    team: self.team_title(&item.spec.team),
                    projected_finish: short(risk.projected_finish),
                    chain: self.input.risk.chain(&risk.item),
                })
            })
            .collect();

        // 2. Timeline: milestones against what was first planned, and this week's moves.
        let mut first_spec: Option<&ReleaseSpec> = None;
        let mut date_changes = Vec::new();
        let mut previous: Option<&ReleaseSpec> = None;
        let mut release_events: Vec<&Recorded> =
            self.input
                .history
                .iter()
                .filter(|r| match &r.event {
                    Event::ReleasePlanned { release, .. }
                    | Event::ReleaseRedefined { release, .. } => release == &self.release.name,
                    _ => false,
                })
                .collect();
        release_events.sort_by_key(|r| r.position);
        for recorded in release_events {
            let spec = match &recorded.event {
                Event::ReleasePlanned { spec, .. } | Event::ReleaseRedefined { spec, .. } => spec,
                _ => continue,
            };
            if first_spec.is_none() {
                first_spec = Some(spec);
            }
            if let Some(before) = previous
                && in_week(recorded)
            {
                let changes = spec_date_changes(before, spec);
                if !changes.is_empty() {
                    sources.position(recorded.position);
                }
                date_changes.extend(changes);
            }
            previous = Some(spec);
        }
        let milestones: Vec<MilestoneStatus> = self
            .release
            .spec
            .milestones
            .iter()
            .map(|milestone| {
                let tasks: Vec<&IntegrationTask> = self
                    .tasks()
                    .filter(|t| t.spec.milestone.as_ref() == Some(&milestone.name))
                    .collect();
                let results = || {
                    tasks
                        .iter()
                        .flat_map(|t| t.spec.scenarios.iter().map(|s| s.result))
                };
                let any_failed = results()
                    .any(|r| matches!(r, ScenarioResult::Failed | ScenarioResult::Blocked));
                let all_passed =
                    !tasks.is_empty() && results().all(|r| r == ScenarioResult::Passed);
                let last_day = milestone.end.unwrap_or(milestone.date);
                let planned = first_spec.and_then(|spec| {
                    spec.milestones
                        .iter()
                        .find(|m| m.name == milestone.name)
                        .map(|m| m.date)
                });
                let (status, note) = if all_passed {
                    ("done", None)
                } else if any_failed {
                    ("at risk", Some("integration scenarios failing".to_owned()))
                } else if let Some(planned) = planned.filter(|p| *p != milestone.date) {
                    ("moved", Some(format!("was {}", short(planned))))
                } else if last_day < week_end {
                    (
                        "overdue",
                        Some("date passed with scenarios still pending".to_owned()),
                    )
                } else {
                    ("on track", None)
                };
                MilestoneStatus {
                    title: milestone
                        .title
                        .clone()
                        .unwrap_or_else(|| milestone.name.to_string()),
                    date: match milestone.end {
                        Some(end) => format!("{} – {}", short(milestone.date), short(end)),
                        None => short(milestone.date),
                    },
                    status,
                    note,
                }
            })
            .collect();

        // 3. Integration updates.
        let integration: Vec<IntegrationView> = self
            .tasks()
            .map(|task| {
                sources.subject(&format!("task:{}", task.name));
                let count = |result| {
                    task.spec
                        .scenarios
                        .iter()
                        .filter(|s| s.result == result)
                        .count()
                };
                let this_week = self
                    .input
                    .history
                    .iter()
                    .filter(|r| in_week(r))
                    .filter_map(|r| match &r.event {
                        Event::ScenarioResultRecorded {
                            task: name,
                            scenario,
                            result,
                        } if name == &task.name => {
                            let title = task.spec.scenarios.get(*scenario)?.title.clone();
                            Some(format!("{title}: {}", scenario_word(*result)))
                        }
                        _ => None,
                    })
                    .collect();
                IntegrationView {
                    title: task.spec.title.clone(),
                    milestone: task.spec.milestone.as_ref().map(|m| m.to_string()),
                    due: task.spec.due.map(short),
                    owners: task
                        .spec
                        .owners
                        .iter()
                        .map(|h| self.person(h).name)
                        .collect(),
                    total: task.spec.scenarios.len(),
                    passed: count(ScenarioResult::Passed),
                    failed: count(ScenarioResult::Failed),
                    blocked: count(ScenarioResult::Blocked),
                    pending: count(ScenarioResult::Pending),
                    failed_scenarios: task
                        .spec
                        .scenarios
                        .iter()
                        .filter(|s| {
                            matches!(s.result, ScenarioResult::Failed | ScenarioResult::Blocked)
                        })
                        .map(|s| s.title.clone())
                        .collect(),
                    this_week,
                }
            })
            .collect();

        // 4. Risks and escalations: the register's live risks, highest exposure first,
        // then what the plan computes.
        let register: Vec<RegisterRiskView> = state
            .live_risks_of(&self.release.name)
            .into_iter()
            .map(|risk| {
                sources.subject(&format!("risk:{}", risk.name));
                RegisterRiskView {
                    title: risk.spec.title.clone(),
                    exposure: risk.spec.exposure(),
                    probability: risk.spec.probability.as_str(),
                    impact: risk.spec.impact.as_str(),
                    status: risk.status.as_str(),
                    owner: self.person(&risk.spec.owner).name,
                    mitigation: risk.spec.mitigation.clone(),
                    feature_flag: risk.spec.feature_flag.clone(),
                    trigger: risk.spec.trigger.clone(),
                    review_by: risk.spec.review_by.map(short),
                    review_overdue: risk.review_overdue(week_end),
                }
            })
            .collect();
        let mut risks = Vec::new();
        if let Some(risk) = self.input.risk.releases.get(&self.release.name) {
            risks.push(risk.chain.join(" → "));
        }
        let late_dependencies = self.late_dependencies(sources);
        risks.extend(
            late_dependencies
                .iter()
                .map(|d| format!("Surprise dependency: {d}")),
        );
        let mut escalations = Vec::new();
        for item in self.items() {
            let Some(risk) = self.input.risk.items.get(&item.name) else {
                continue;
            };
            let deadline = item
                .spec
                .due
                .into_iter()
                .chain(self.release.spec.code_freeze)
                .min();
            if deadline.is_some_and(|d| risk.projected_finish > d) {
                escalations.push(format!(
                    "{} ({}) projected {}, past its deadline",
                    item.spec.title,
                    self.team_title(&item.spec.team),
                    short(risk.projected_finish)
                ));
            }
        }
        for failed in self.failed_scenarios(sources) {
            escalations.push(format!("Failing integration scenario: {failed}"));
        }

        serde_json::json!({
            "release": release,
            "week_start": short(week_start),
            "week_end": short(week_end),
            "blocked": blocked,
            "at_risk": at_risk,
            "milestones": milestones,
            "date_changes": date_changes,
            "integration": integration,
            "register": register,
            "risks": risks,
            "escalations": escalations,
        })
    }
}

fn step_mark(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Done => "✅",
        StepStatus::Skipped => "⏭️",
        StepStatus::Failed => "❌",
        StepStatus::Running | StepStatus::Verifying => "🔄",
        StepStatus::Pending => "⏳",
    }
}

fn scenario_word(result: ScenarioResult) -> &'static str {
    match result {
        ScenarioResult::Pending => "pending",
        ScenarioResult::Passed => "passed",
        ScenarioResult::Failed => "failed",
        ScenarioResult::Blocked => "blocked",
    }
}

fn role_title(role: Role) -> &'static str {
    match role {
        Role::ReleaseManager => "Release management",
        Role::TechLead => "Tech leads",
        Role::Member => "Team members",
        Role::SupportLiaison => "Customer support",
        Role::UxDesigner => "UX design",
        Role::Security => "Security",
        Role::Qa => "QA",
        Role::ProductOwner => "Product",
    }
}

/// Human lines for the dates that differ between two versions of a release spec.
fn spec_date_changes(before: &ReleaseSpec, after: &ReleaseSpec) -> Vec<String> {
    let mut out = Vec::new();
    let mut moved = |what: &str, from: Option<Date>, to: Option<Date>| {
        if from != to {
            let show = |d: Option<Date>| d.map_or_else(|| "none".to_owned(), short);
            out.push(format!("{what} moved from {} to {}", show(from), show(to)));
        }
    };
    moved(
        "Release date",
        Some(before.target_date),
        Some(after.target_date),
    );
    moved(
        "Feature freeze",
        before.feature_freeze,
        after.feature_freeze,
    );
    moved("Code freeze", before.code_freeze, after.code_freeze);
    for milestone in &after.milestones {
        let old = before
            .milestones
            .iter()
            .find(|m| m.name == milestone.name)
            .map(|m| m.date);
        if old.is_some() {
            let title = milestone
                .title
                .clone()
                .unwrap_or_else(|| milestone.name.to_string());
            moved(&format!("Milestone {title}"), old, Some(milestone.date));
        }
    }
    out
}
