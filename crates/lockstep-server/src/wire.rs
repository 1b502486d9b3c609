//! The JSON the API accepts, as the server's own types, converted by hand into core
//! commands and specs.
//!
//! Every request type denies unknown fields, so a typo is a 422 that names the field
//! instead of a silently ignored value. Names and dates are parsed here (parse, don't
//! validate): a command that reaches `decide` holds only valid values. These types do
//! not check references or business rules; `decide` does.

use std::collections::BTreeMap;

use jiff::civil::{Date, Time};
use lockstep_core as core;
use lockstep_core::Name;
use serde::Deserialize;

use crate::ApiError;

fn name(field: &str, raw: &str) -> Result<Name, ApiError> {
    Name::parse(raw).map_err(|error| ApiError::unprocessable(field, error.to_string()))
}

fn enum_value<T: serde::de::DeserializeOwned>(field: &str, raw: &str) -> Result<T, ApiError> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned()))
        .map_err(|_| ApiError::unprocessable(field, format!("`{raw}` is not a valid {field}")))
}

/// `POST /items/{name}/status`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MoveItemRequest {
    /// Target column (`testing`).
    pub status: String,
    /// Why, recorded with the event.
    #[serde(default)]
    pub reason: Option<String>,
}

impl MoveItemRequest {
    /// The command for `item`.
    pub fn command(&self, item: Name) -> Result<core::Command, ApiError> {
        let to = core::ItemStatus::parse(&self.status).ok_or_else(|| {
            ApiError::unprocessable(
                "status",
                format!(
                    "`{}` is not a status; use one of {}",
                    self.status,
                    core::ItemStatus::COLUMNS.map(|s| s.as_str()).join(", ")
                ),
            )
        })?;
        Ok(core::Command::MoveItem { item, to })
    }
}

/// `POST /integration-tasks/{name}/scenarios/{number}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioResultRequest {
    /// `passed`, `failed`, `blocked` or `pending`.
    pub result: String,
    /// Why, recorded with the event.
    #[serde(default)]
    pub reason: Option<String>,
}

impl ScenarioResultRequest {
    /// The result asked for.
    pub fn result(&self) -> Result<core::ScenarioResult, ApiError> {
        core::ScenarioResult::parse(&self.result).ok_or_else(|| {
            ApiError::unprocessable(
                "result",
                format!(
                    "`{}` is not a result; use one of {}",
                    self.result,
                    core::ScenarioResult::ALL.map(|r| r.as_str()).join(", ")
                ),
            )
        })
    }
}

/// `POST /risk-register/{name}/status`: a risk's new status and why. The reason is
/// required: a risk's status is what the weekly sync reads, and a change without its
/// why is the question the next sync would ask.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RiskStatusRequest {
    /// `open`, `mitigated`, `occurred` or `closed`.
    pub status: String,
    /// Why, recorded with the event.
    pub reason: String,
}

impl RiskStatusRequest {
    /// The command for `risk`.
    pub fn command(&self, risk: Name) -> Result<core::Command, ApiError> {
        let to = core::RiskStatus::parse(&self.status).ok_or_else(|| {
            let names = core::RiskStatus::ALL.map(|s| s.as_str());
            ApiError::unprocessable(
                "status",
                format!(
                    "`{}` is not a risk status{}; use one of {}",
                    self.status,
                    core::suggest::hint(&self.status, names),
                    names.join(", ")
                ),
            )
        })?;
        if self.reason.trim().is_empty() {
            return Err(ApiError::unprocessable(
                "reason",
                "say why the risk's status changes",
            ));
        }
        Ok(core::Command::ChangeRiskStatus { risk, to })
    }
}

/// `POST /interfaces/{name}/verifications`: a contract test result.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerificationRequest {
    /// The interface version verified against (`1.1.0`).
    pub version: String,
    /// The consumer component.
    pub consumer: String,
    /// Its version.
    pub consumer_version: String,
    /// The providing component's version, when the interface names one.
    #[serde(default)]
    pub provider_version: Option<String>,
    /// `pass` or `fail`.
    pub result: String,
    /// Where the test run is.
    #[serde(default)]
    pub link: Option<String>,
}

fn semantic_version(field: &str, raw: &str) -> Result<core::contract::Version, ApiError> {
    core::contract::Version::parse(raw).map_err(|error| ApiError::unprocessable(field, error))
}

fn component_version(field: &str, raw: &str) -> Result<core::contract::ComponentVersion, ApiError> {
    core::contract::ComponentVersion::parse(raw)
        .map_err(|error| ApiError::unprocessable(field, error))
}

fn word<T>(
    field: &str,
    what: &str,
    raw: &str,
    parse: impl Fn(&str) -> Option<T>,
    words: &[&str],
) -> Result<T, ApiError> {
    parse(raw).ok_or_else(|| {
        ApiError::unprocessable(
            field,
            format!(
                "`{raw}` is not a {what}{}; use one of {}",
                core::suggest::hint(raw, words.iter().copied()),
                words.join(", ")
            ),
        )
    })
}

impl VerificationRequest {
    /// The report, as `by`.
    pub fn report(&self, by: String) -> Result<core::contract::VerificationReport, ApiError> {
        use core::contract::VerificationResult;
        Ok(core::contract::VerificationReport {
            version: semantic_version("version", &self.version)?,
            consumer: Name::parse(&self.consumer)
                .map_err(|error| ApiError::unprocessable("consumer", error.to_string()))?,
            consumer_version: component_version("consumerVersion", &self.consumer_version)?,
            provider_version: self
                .provider_version
                .as_deref()
                .map(|raw| component_version("providerVersion", raw))
                .transpose()?,
            result: word(
                "result",
                "contract test result",
                &self.result,
                VerificationResult::parse,
                &VerificationResult::words(),
            )?,
            link: self.link.clone(),
            by,
        })
    }
}

/// `POST /interfaces/{name}/proposals`: a proposed version.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProposalRequest {
    /// The version proposed (`2.0.0`).
    pub version: String,
    /// `backward`, `breaking` or `none`.
    pub compatibility: String,
    /// What changes; the changelog entry once approved.
    pub summary: String,
}

impl ProposalRequest {
    /// The command, as `by`.
    pub fn command(&self, interface: Name, by: String) -> Result<core::Command, ApiError> {
        use core::contract::Compatibility;
        Ok(core::Command::ProposeInterfaceChange {
            interface,
            version: semantic_version("version", &self.version)?,
            compatibility: word(
                "compatibility",
                "compatibility",
                &self.compatibility,
                Compatibility::parse,
                &Compatibility::words(),
            )?,
            summary: self.summary.clone(),
            by,
        })
    }
}

/// `POST /interfaces/{name}/proposals/{version}/decision`: the review's decision record.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecisionRequest {
    /// `approve` or `reject`.
    pub decision: String,
    /// Why (required: it is the decision record).
    pub rationale: String,
}

impl DecisionRequest {
    /// The command, as `by`.
    pub fn command(
        &self,
        interface: Name,
        version: core::contract::Version,
        by: String,
    ) -> Result<core::Command, ApiError> {
        use core::contract::ProposalDecision;
        Ok(core::Command::DecideInterfaceChange {
            interface,
            version,
            decision: word(
                "decision",
                "decision",
                &self.decision,
                ProposalDecision::parse,
                &ProposalDecision::words(),
            )?,
            rationale: self.rationale.clone(),
            by,
        })
    }
}

/// `POST /environments/{name}/deployments`: a component version now runs there.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentRequest {
    /// The component.
    pub component: String,
    /// Its version.
    pub version: String,
    /// When it was deployed, if earlier than now (a pipeline reporting late); an older
    /// deployment than the one recorded changes nothing.
    #[serde(default)]
    pub deployed_at: Option<jiff::Timestamp>,
}

impl DeploymentRequest {
    /// The command for `environment`, as `by`.
    pub fn command(&self, environment: Name, by: String) -> Result<core::Command, ApiError> {
        Ok(core::Command::RecordDeployment {
            component: Name::parse(&self.component)
                .map_err(|error| ApiError::unprocessable("component", error.to_string()))?,
            environment,
            version: component_version("version", &self.version)?,
            deployed_at: self.deployed_at,
            by,
        })
    }
}

/// `POST /items/{name}/eta`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetEtaRequest {
    /// The new ETA, or null to clear it. Required: a body without it (`{}`) would
    /// otherwise clear the ETA by accident.
    #[serde(deserialize_with = "Option::deserialize")]
    pub eta: Option<Date>,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /items/{name}/updates`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostUpdateRequest {
    /// The day the note refers to.
    pub date: Date,
    /// The note.
    pub text: String,
}

impl PostUpdateRequest {
    /// The command for `item`.
    pub fn command(self, item: Name) -> Result<core::Command, ApiError> {
        if self.text.trim().is_empty() {
            return Err(ApiError::unprocessable("text", "an update needs some text"));
        }
        Ok(core::Command::PostUpdate {
            item,
            update: core::StatusUpdate {
                date: self.date,
                text: self.text,
            },
        })
    }
}

/// `POST /dependencies`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DependencyRequest {
    /// The item that must finish first.
    pub blocker: String,
    /// The item that waits.
    pub blocked: String,
    /// When the blocked item needs the blocker done.
    #[serde(default)]
    pub need_by: Option<Date>,
    /// Days of slack wanted before `needBy`.
    #[serde(default)]
    pub buffer_days: u32,
}

impl DependencyRequest {
    /// The command.
    pub fn command(&self) -> Result<core::Command, ApiError> {
        Ok(core::Command::DefineDependency {
            blocker: name("blocker", &self.blocker)?,
            blocked: name("blocked", &self.blocked)?,
            need_by: self.need_by,
            buffer_days: self.buffer_days,
        })
    }
}

/// `POST /releases/{name}/state`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseStateRequest {
    /// `in-progress`, `released` or `cancelled`.
    pub state: String,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

impl ReleaseStateRequest {
    /// The command for `release`.
    pub fn command(&self, release: Name) -> Result<core::Command, ApiError> {
        Ok(core::Command::ChangeReleaseState {
            release,
            to: enum_value("state", &self.state)?,
        })
    }
}

/// A person on a team.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemberBody {
    /// Chat handle.
    pub handle: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Roles (`tech-lead`, `release-manager`, …).
    #[serde(default)]
    pub roles: Vec<String>,
}

/// Working hours.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WorkingHoursBody {
    /// Start (`09:00`).
    pub start: Time,
    /// End (`17:00`).
    pub end: Time,
    /// Days (`mon`…`sun`).
    pub days: Vec<String>,
}

/// Primary and backup contacts.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactsBody {
    /// Primary handle.
    pub primary: String,
    /// Backup handle.
    #[serde(default)]
    pub backup: Option<String>,
}

/// A team's declaration.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TeamBody {
    /// Display name.
    #[serde(default)]
    pub title: Option<String>,
    /// IANA time zone.
    pub time_zone: String,
    /// Working hours.
    #[serde(default)]
    pub working_hours: Option<WorkingHoursBody>,
    /// Days off.
    #[serde(default)]
    pub holidays: Vec<Date>,
    /// Members.
    #[serde(default)]
    pub members: Vec<MemberBody>,
    /// On-call contacts.
    #[serde(default)]
    pub on_call: Option<ContactsBody>,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl TeamBody {
    /// The core spec.
    pub fn spec(self) -> Result<core::TeamSpec, ApiError> {
        // Stored as the time zone database spells it, whatever case it was sent in.
        let Some(time_zone) = lockstep_manifest::canonical_time_zone(&self.time_zone) else {
            return Err(ApiError::unprocessable(
                "timeZone",
                format!("`{}` is not an IANA time zone", self.time_zone),
            ));
        };
        let working_hours = match self.working_hours {
            None => core::WorkingHours::default(),
            Some(hours) => core::WorkingHours {
                start: hours.start,
                end: hours.end,
                days: hours
                    .days
                    .iter()
                    .enumerate()
                    .map(|(i, d)| enum_value(&format!("workingHours.days[{i}]"), d))
                    .collect::<Result<_, _>>()?,
            },
        };
        let members = self
            .members
            .into_iter()
            .enumerate()
            .map(|(index, member)| {
                Ok(core::Member {
                    handle: name(&format!("members[{index}].handle"), &member.handle)?,
                    name: member.name,
                    email: member.email,
                    roles: member
                        .roles
                        .iter()
                        .map(|role| enum_value(&format!("members[{index}].roles"), role))
                        .collect::<Result<_, ApiError>>()?,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        let on_call = match self.on_call {
            None => None,
            Some(contacts) => Some(core::Contacts {
                primary: name("onCall.primary", &contacts.primary)?,
                backup: contacts
                    .backup
                    .map(|b| name("onCall.backup", &b))
                    .transpose()?,
            }),
        };
        Ok(core::TeamSpec {
            title: self.title,
            time_zone,
            working_hours,
            holidays: self.holidays,
            members,
            on_call,
            labels: self.labels,
        })
    }
}

/// A component's declaration.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ComponentBody {
    /// Display name.
    #[serde(default)]
    pub title: Option<String>,
    /// Owning team.
    pub team: String,
    /// Source repository.
    #[serde(default)]
    pub repository: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Components deployed before this one.
    #[serde(default)]
    pub depends_on: Vec<String>,
}

impl ComponentBody {
    /// The core spec.
    pub fn spec(self) -> Result<core::ComponentSpec, ApiError> {
        Ok(core::ComponentSpec {
            title: self.title,
            team: name("team", &self.team)?,
            repository: self.repository,
            labels: self.labels,
            depends_on: self
                .depends_on
                .iter()
                .map(|dependency| name("dependsOn", dependency))
                .collect::<Result<_, _>>()?,
        })
    }
}

/// An environment's declaration.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvironmentBody {
    /// Display name.
    #[serde(default)]
    pub title: Option<String>,
    /// `development`, `testing`, `staging` or `production`.
    pub tier: String,
    /// When deploys are allowed (`timeZone`, `start`, `end`, optional `recurrence` or `cron`).
    #[serde(default)]
    pub deploy_windows: Vec<core::DeployWindow>,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl EnvironmentBody {
    /// The core spec.
    pub fn spec(mut self) -> Result<core::EnvironmentSpec, ApiError> {
        for (index, window) in self.deploy_windows.iter_mut().enumerate() {
            let Some(time_zone) = lockstep_manifest::canonical_time_zone(&window.time_zone) else {
                return Err(ApiError::unprocessable(
                    format!("deployWindows[{index}].timeZone"),
                    format!("`{}` is not an IANA time zone", window.time_zone),
                ));
            };
            window.time_zone = time_zone;
        }
        Ok(core::EnvironmentSpec {
            title: self.title,
            tier: enum_value("tier", &self.tier)?,
            deploy_windows: self.deploy_windows,
            labels: self.labels,
        })
    }
}

/// A milestone of a release.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MilestoneBody {
    /// Name, unique in the release.
    pub name: String,
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// Date or first day.
    pub date: Date,
    /// Last day of a period.
    #[serde(default)]
    pub end: Option<Date>,
}

/// A release's declaration. The release-day deployment plan is declared in manifests;
/// a `PUT` keeps the one the release has.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReleaseBody {
    /// Title.
    #[serde(default)]
    pub title: Option<String>,
    /// `regular`, `hotfix`, `emergency` or `out-of-band`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Version string.
    #[serde(default)]
    pub version: Option<String>,
    /// Release date.
    pub target_date: Date,
    /// Feature freeze.
    #[serde(default)]
    pub feature_freeze: Option<Date>,
    /// Code freeze.
    #[serde(default)]
    pub code_freeze: Option<Date>,
    /// Manager's handle.
    #[serde(default)]
    pub manager: Option<String>,
    /// Milestones.
    #[serde(default)]
    pub milestones: Vec<MilestoneBody>,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl ReleaseBody {
    /// The core spec; `existing` supplies what the API does not edit.
    pub fn spec(self, existing: Option<&core::ReleaseSpec>) -> Result<core::ReleaseSpec, ApiError> {
        Ok(core::ReleaseSpec {
            title: self.title,
            kind: match &self.kind {
                Some(kind) => enum_value("kind", kind)?,
                None => core::ReleaseKind::default(),
            },
            version: self.version,
            target_date: self.target_date,
            feature_freeze: self.feature_freeze,
            code_freeze: self.code_freeze,
            manager: self.manager.map(|m| name("manager", &m)).transpose()?,
            milestones: self
                .milestones
                .into_iter()
                .enumerate()
                .map(|(index, milestone)| {
                    Ok(core::Milestone {
                        name: name(&format!("milestones[{index}].name"), &milestone.name)?,
                        title: milestone.title,
                        date: milestone.date,
                        end: milestone.end,
                    })
                })
                .collect::<Result<_, ApiError>>()?,
            deployment: existing.and_then(|spec| spec.deployment.clone()),
            labels: self.labels,
        })
    }
}

/// A three-point estimate.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EstimateBody {
    /// Best case, working days.
    pub optimistic: u32,
    /// Most likely.
    pub likely: u32,
    /// Worst case.
    pub pessimistic: u32,
}

/// An item's declaration.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemBody {
    /// Title.
    pub title: String,
    /// Owning team.
    pub team: String,
    /// Component changed.
    #[serde(default)]
    pub component: Option<String>,
    /// Conditions of done.
    #[serde(default)]
    pub acceptance_criteria: Vec<String>,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Committed due date.
    #[serde(default)]
    pub due: Option<Date>,
    /// Estimate.
    #[serde(default)]
    pub estimate: Option<EstimateBody>,
    /// Shared resources held while it is worked on: name to units.
    #[serde(default)]
    pub uses: BTreeMap<String, u32>,
    /// A start date the plan must keep.
    #[serde(default)]
    pub pinned_start: Option<Date>,
}

impl ItemBody {
    /// The core spec.
    pub fn spec(self) -> Result<core::ItemSpec, ApiError> {
        if self.title.trim().is_empty() {
            return Err(ApiError::unprocessable("title", "an item needs a title"));
        }
        Ok(core::ItemSpec {
            title: self.title,
            team: name("team", &self.team)?,
            component: self.component.map(|c| name("component", &c)).transpose()?,
            acceptance_criteria: self.acceptance_criteria,
            labels: self.labels,
            due: self.due,
            estimate: self.estimate.map(|e| core::Estimate {
                optimistic: e.optimistic,
                likely: e.likely,
                pessimistic: e.pessimistic,
            }),
            uses: self
                .uses
                .iter()
                .map(|(resource, &amount)| Ok((name("uses", resource)?, amount)))
                .collect::<Result<_, ApiError>>()?,
            pinned_start: self.pinned_start,
        })
    }
}

/// `POST /{collection}`: a name and a declaration.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Create<T> {
    /// The new resource's name.
    pub name: String,
    /// Its declaration.
    pub spec: T,
}

impl<T> Create<T> {
    /// The parsed name.
    pub fn name(&self) -> Result<Name, ApiError> {
        name("name", &self.name)
    }
}

/// Parses a path segment as a name; a bad one cannot exist, so it is a 404.
pub fn path_name(kind: &'static str, raw: &str) -> Result<Name, ApiError> {
    Name::parse(raw).map_err(|_| ApiError::NotFound {
        kind,
        name: raw.to_owned(),
    })
}

/// Longest `reason` a write may carry: a sentence or a paragraph, not a document.
pub const MAX_REASON_CHARS: usize = lockstep_core::limits::MAX_SENTENCE_CHARS;
/// Longest status update.
pub const MAX_UPDATE_CHARS: usize = lockstep_core::limits::MAX_NOTE_CHARS;

/// Refuses free text longer than `limit` characters, naming the field: everything a
/// write carries stays in the event log and on every page that shows it.
pub fn check_length(field: &str, text: &str, limit: usize) -> Result<(), ApiError> {
    let length = text.chars().count();
    if length > limit {
        return Err(ApiError::unprocessable(
            field,
            format!("`{field}` is {length} characters long; at most {limit} are accepted"),
        ));
    }
    Ok(())
}
