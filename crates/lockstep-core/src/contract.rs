//! Cross-team contracts (DESIGN item 7): interfaces between teams (APIs, events, data
//! contracts) with their versions and compatibility rules, contract-test results per
//! version, the component versions deployed in each environment, *can-i-deploy*, and
//! change proposals with their impact, review and decision records.
//!
//! An interface is its own stream (`interface:NAME`): its declaration, its verifications
//! and its proposals, so that teams verifying different interfaces never conflict. A
//! deployment is a fact about an environment (`environment:NAME`).
//!
//! Versions follow semantic versioning, and a version's declared compatibility must match
//! its number: a `breaking` version bumps the major version (the minor one below 1.0), a
//! `backward` one keeps it. Published and deprecated versions are history: a manifest
//! that leaves one out keeps it, and their compatibility and changelog never change.
//!
//! This module decides and folds, and derives views (impact, can-i-deploy, the readiness
//! criterion); it reads no clock (`now` is passed in) and decides nothing about who may
//! issue a command (that is [`crate::access`]).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::readiness::{Criterion, CriterionStatus};
use crate::{Command, DomainError, Event, Labels, Name, State, suggest};

/// A semantic version (`2.1.0`, `3.0.0-rc.1`). Build metadata (`+…`) is refused: it does
/// not order versions, so two contract versions differing only by it would be ambiguous.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<String>,
}

impl Version {
    /// Parses `MAJOR.MINOR.PATCH` with an optional `-pre.release`.
    pub fn parse(raw: &str) -> Result<Version, String> {
        let bad = |why: &str| format!("version `{raw}` is not a semantic version: {why}");
        if raw.len() > 64 {
            return Err(bad("longer than 64 characters"));
        }
        if raw.contains('+') {
            return Err(bad(
                "build metadata (`+…`) does not order versions; leave it out",
            ));
        }
        let (core, pre) = match raw.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (raw, None),
        };
        let numbers: Vec<&str> = core.split('.').collect();
        if numbers.len() != 3 {
            return Err(bad("write MAJOR.MINOR.PATCH, like 2.1.0"));
        }
        let number = |part: &str| -> Result<u64, String> {
            if part.is_empty() || !part.chars().all(|c| c.is_ascii_digit()) {
                return Err(bad(&format!("`{part}` is not a number")));
            }
            if part.len() > 1 && part.starts_with('0') {
                return Err(bad(&format!("`{part}` has a leading zero")));
            }
            part.parse::<u64>()
                .map_err(|_| bad(&format!("`{part}` is too large")))
        };
        let pre = match pre {
            None => Vec::new(),
            Some(pre) => {
                let identifiers: Vec<String> = pre.split('.').map(str::to_owned).collect();
                for identifier in &identifiers {
                    if identifier.is_empty()
                        || !identifier
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-')
                    {
                        return Err(bad(&format!(
                            "pre-release `{pre}` must be dot-separated letters, digits and `-`"
                        )));
                    }
                    // `rc.01` and `rc.1` would order as equal while reading differently.
                    if identifier.len() > 1
                        && identifier.starts_with('0')
                        && identifier.chars().all(|c| c.is_ascii_digit())
                    {
                        return Err(bad(&format!(
                            "pre-release number `{identifier}` has a leading zero"
                        )));
                    }
                }
                identifiers
            }
        };
        Ok(Version {
            major: number(numbers[0])?,
            minor: number(numbers[1])?,
            patch: number(numbers[2])?,
            pre,
        })
    }

    /// The major version.
    pub fn major(&self) -> u64 {
        self.major
    }

    /// The minor version.
    pub fn minor(&self) -> u64 {
        self.minor
    }

    /// Whether consumers of `previous` may break on this version by semantic versioning:
    /// a new major version, or below 1.0 a new minor one.
    pub fn breaks_from(&self, previous: &Version) -> bool {
        if previous.major == 0 && self.major == 0 {
            self.minor != previous.minor
        } else {
            self.major != previous.major
        }
    }

    /// The version a breaking change after this one would take (`3.0.0` after `2.4.1`).
    pub fn next_breaking(&self) -> Version {
        if self.major == 0 {
            Version {
                major: 0,
                minor: self.minor + 1,
                patch: 0,
                pre: Vec::new(),
            }
        } else {
            Version {
                major: self.major + 1,
                minor: 0,
                patch: 0,
                pre: Vec::new(),
            }
        }
    }
}

impl Ord for Version {
    /// Semantic-versioning precedence: a pre-release sorts before its release; numeric
    /// identifiers numerically and before alphanumeric ones.
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => {
                    for (a, b) in self.pre.iter().zip(&other.pre) {
                        let order = match (a.parse::<u64>(), b.parse::<u64>()) {
                            (Ok(a), Ok(b)) => a.cmp(&b),
                            (Ok(_), Err(_)) => Ordering::Less,
                            (Err(_), Ok(_)) => Ordering::Greater,
                            (Err(_), Err(_)) => a.cmp(b),
                        };
                        if order != Ordering::Equal {
                            return order;
                        }
                    }
                    self.pre.len().cmp(&other.pre.len())
                }
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre.join("."))?;
        }
        Ok(())
    }
}

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Version::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A version of a component as its team ships it (`1.4.0`, `2025.1.3`, a commit id):
/// free-form, but one word of printable characters, at most 100 of them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ComponentVersion(String);

impl ComponentVersion {
    /// Parses a component version.
    pub fn parse(raw: &str) -> Result<ComponentVersion, String> {
        if raw.is_empty() {
            return Err("a component version cannot be empty".to_owned());
        }
        if raw.chars().count() > 100 {
            return Err(format!(
                "component version `{}…` is longer than 100 characters",
                raw.chars().take(20).collect::<String>()
            ));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || *c == '@')
        {
            return Err(format!(
                "component version `{}` contains {bad:?}: one word, no spaces or `@`",
                raw.escape_debug()
            ));
        }
        Ok(ComponentVersion(raw.to_owned()))
    }

    /// The version as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ComponentVersion {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        ComponentVersion::parse(&raw)
    }
}

impl From<ComponentVersion> for String {
    fn from(version: ComponentVersion) -> String {
        version.0
    }
}

impl fmt::Display for ComponentVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The lowercase word.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }

            /// Parses the lowercase word.
            pub fn parse(raw: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|value| value.as_str() == raw)
            }

            /// Every word, for error messages.
            pub fn words() -> Vec<&'static str> {
                $name::ALL.iter().map(|value| value.as_str()).collect()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

word_enum! {
    /// What kind of contract an interface is.
    InterfaceType {
        /// An HTTP API described by OpenAPI.
        Openapi => "openapi",
        /// Events or messages described by AsyncAPI.
        Asyncapi => "asyncapi",
        /// A gRPC service.
        Grpc => "grpc",
        /// A GraphQL schema.
        Graphql => "graphql",
        /// A data contract (a table, a file, a topic's schema).
        Data => "data",
    }
}

word_enum! {
    /// What a version promises consumers of the version before it.
    Compatibility {
        /// Consumers of the previous version keep working.
        Backward => "backward",
        /// Consumers of the previous version may break: a new major version.
        Breaking => "breaking",
        /// No promise (a first version, an experiment).
        None => "none",
    }
}

word_enum! {
    /// Where a version of an interface is in its life.
    VersionStatus {
        /// Being written; not promised to anyone.
        Draft => "draft",
        /// Promised to consumers; its entry in the changelog is history.
        Published => "published",
        /// Still served, on its way out.
        Deprecated => "deprecated",
    }
}

word_enum! {
    /// The result of a contract test.
    VerificationResult {
        /// The consumer's expectations hold against the provider.
        Pass => "pass",
        /// They do not.
        Fail => "fail",
    }
}

word_enum! {
    /// A review's decision on a change proposal.
    ProposalDecision {
        /// The version is published.
        Approve => "approve",
        /// It is not.
        Reject => "reject",
    }
}

/// Who consumes an interface: a whole team (every component of it) or one component.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Consumer {
    /// Every component of the team (name the components to narrow it).
    Team(Name),
    /// One component.
    Component(Name),
}

impl fmt::Display for Consumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Consumer::Team(team) => write!(f, "team {team}"),
            Consumer::Component(component) => write!(f, "component {component}"),
        }
    }
}

/// One version of an interface, as its changelog lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InterfaceVersion {
    /// The semantic version.
    pub version: Version,
    /// What it promises consumers of the version before it.
    pub compatibility: Compatibility,
    /// The changelog entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changelog: Option<String>,
    /// Draft, published or deprecated.
    #[serde(default = "draft")]
    pub status: VersionStatus,
}

fn draft() -> VersionStatus {
    VersionStatus::Draft
}

/// The declaration of an interface: `kind: Interface`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InterfaceSpec {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The team that provides it.
    pub producer: Name,
    /// The component that provides it, a component of the producer team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<Name>,
    /// Who consumes it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumers: Vec<Consumer>,
    /// OpenAPI, AsyncAPI, gRPC, GraphQL or a data contract.
    #[serde(rename = "type")]
    pub kind: InterfaceType,
    /// Its versions, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<InterfaceVersion>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
}

impl InterfaceSpec {
    /// The newest published version (deprecated ones are on their way out).
    pub fn latest_published(&self) -> Option<&InterfaceVersion> {
        self.versions
            .iter()
            .filter(|v| v.status == VersionStatus::Published)
            .max_by(|a, b| a.version.cmp(&b.version))
    }

    /// The newest version that is not a draft.
    pub fn latest_released(&self) -> Option<&InterfaceVersion> {
        self.versions
            .iter()
            .filter(|v| v.status != VersionStatus::Draft)
            .max_by(|a, b| a.version.cmp(&b.version))
    }

    /// The declared version `version`.
    pub fn version(&self, version: &Version) -> Option<&InterfaceVersion> {
        self.versions.iter().find(|v| &v.version == version)
    }
}

/// A contract test result: a consumer component at a version verified against a version
/// of the interface (and, when the interface names its providing component, that
/// component at a version).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    /// The interface version the consumer's expectations were checked against.
    pub version: Version,
    /// The consumer component.
    pub consumer: Name,
    /// Its version.
    pub consumer_version: ComponentVersion,
    /// The providing component's version the test ran against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_version: Option<ComponentVersion>,
    /// Pass or fail.
    pub result: VerificationResult,
    /// Who (or which CI job) recorded it.
    pub by: String,
    /// When it was recorded.
    pub at: Timestamp,
    /// Where the test run is (a CI job's URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// Where a change proposal is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProposalStatus {
    /// Waiting for review.
    Open,
    /// Approved: the version is published.
    Approved,
    /// Rejected.
    Rejected,
}

impl ProposalStatus {
    /// The lowercase word.
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::Open => "open",
            ProposalStatus::Approved => "approved",
            ProposalStatus::Rejected => "rejected",
        }
    }
}

/// The decision record of a reviewed proposal: who decided, when, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecisionRecord {
    /// Approve or reject.
    pub decision: ProposalDecision,
    /// Why, in the reviewer's words.
    pub rationale: String,
    /// The reviewer.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// A proposed new version of an interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proposal {
    /// 1-based, per interface.
    pub number: u32,
    /// The version proposed.
    pub version: Version,
    /// What it promises consumers of the version before it.
    pub compatibility: Compatibility,
    /// What changes (the changelog entry once approved).
    pub summary: String,
    /// Who proposed it.
    pub by: String,
    /// When.
    pub at: Timestamp,
    /// The impact assessed when it was proposed, kept with it so that the review and
    /// the decision record show what was known then (views also show the impact now).
    #[serde(default)]
    pub impact: Impact,
    /// The review's decision, once made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<DecisionRecord>,
}

impl Proposal {
    /// Open, approved or rejected.
    pub fn status(&self) -> ProposalStatus {
        match &self.decision {
            None => ProposalStatus::Open,
            Some(record) if record.decision == ProposalDecision::Approve => {
                ProposalStatus::Approved
            }
            Some(_) => ProposalStatus::Rejected,
        }
    }
}

/// An interface as the state holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// Name, unique across the program.
    pub name: Name,
    /// Declaration, including versions published by approved proposals.
    pub spec: InterfaceSpec,
    /// Contract test results, in the order they were recorded.
    #[serde(default)]
    pub verifications: Vec<Verification>,
    /// Change proposals, by number.
    #[serde(default)]
    pub proposals: Vec<Proposal>,
}

impl Interface {
    /// The open proposal for `version`, if any.
    pub fn open_proposal(&self, version: &Version) -> Option<&Proposal> {
        self.proposals
            .iter()
            .find(|p| &p.version == version && p.decision.is_none())
    }

    /// The latest verification matching `wanted`, if any: results are appended in the
    /// order they happen, so the last one counts.
    pub fn latest_verification(
        &self,
        wanted: impl Fn(&Verification) -> bool,
    ) -> Option<&Verification> {
        self.verifications.iter().rev().find(|v| wanted(v))
    }

    /// The API changelog as Markdown: every version that is not a draft, newest first.
    pub fn changelog_markdown(&self) -> String {
        let mut out = format!(
            "# Changelog: {}\n\n",
            self.spec.title.as_deref().unwrap_or(self.name.as_str())
        );
        let mut versions: Vec<&InterfaceVersion> = self
            .spec
            .versions
            .iter()
            .filter(|v| v.status != VersionStatus::Draft)
            .collect();
        versions.sort_by(|a, b| b.version.cmp(&a.version));
        if versions.is_empty() {
            out.push_str("No version is published yet.\n");
        }
        for version in versions {
            out.push_str(&format!(
                "## {} ({}{})\n\n",
                version.version,
                version.compatibility,
                if version.status == VersionStatus::Deprecated {
                    ", deprecated"
                } else {
                    ""
                }
            ));
            if let Some(proposal) = self
                .proposals
                .iter()
                .find(|p| p.version == version.version && p.status() == ProposalStatus::Approved)
                && let Some(record) = &proposal.decision
            {
                out.push_str(&format!(
                    "Proposed by {} on {}; approved by {} on {}: {}\n\n",
                    proposal.by,
                    date_of(proposal.at),
                    record.by,
                    date_of(record.at),
                    record.rationale
                ));
            }
            match &version.changelog {
                Some(text) => {
                    for line in text.lines() {
                        out.push_str(&format!("- {line}\n"));
                    }
                    out.push('\n');
                }
                None => out.push_str("- (no changelog entry)\n\n"),
            }
        }
        out
    }
}

fn date_of(at: Timestamp) -> jiff::civil::Date {
    at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date()
}

/// Which version of a component runs in an environment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployed {
    /// The component version.
    pub version: ComponentVersion,
    /// Who recorded it.
    pub by: String,
    /// When it was deployed: as its source said (a code host's deployment status), else
    /// when it was recorded.
    pub at: Timestamp,
}

/// The part of [`State`] this module folds: interfaces and deployed versions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Interfaces by name.
    #[serde(default)]
    pub interfaces: BTreeMap<Name, Interface>,
    /// Environment to component to the version deployed there.
    #[serde(default)]
    pub deployed: BTreeMap<Name, BTreeMap<Name, Deployed>>,
    /// Environment to component to when a rollback withdrew its version with nothing
    /// earlier on record: a deployment reported as older than that is not recorded.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub withdrawn: BTreeMap<Name, BTreeMap<Name, Timestamp>>,
}

impl Ledger {
    /// Folds one event of this module (others are ignored).
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::InterfaceDefined { interface, spec }
            | Event::InterfaceRedefined { interface, spec } => {
                let entry = self
                    .interfaces
                    .entry(interface.clone())
                    .or_insert_with(|| Interface {
                        name: interface.clone(),
                        spec: spec.clone(),
                        verifications: Vec::new(),
                        proposals: Vec::new(),
                    });
                entry.spec = spec.clone();
            }
            Event::ContractVerified {
                interface,
                verification,
            } => {
                if let Some(existing) = self.interfaces.get_mut(interface) {
                    existing.verifications.push(verification.clone());
                }
            }
            Event::ComponentDeployed {
                component,
                environment,
                version,
                by,
                at,
            } => {
                if let Some(withdrawn) = self.withdrawn.get_mut(environment) {
                    withdrawn.remove(component);
                }
                self.deployed
                    .entry(environment.clone())
                    .or_default()
                    .insert(
                        component.clone(),
                        Deployed {
                            version: version.clone(),
                            by: by.clone(),
                            at: *at,
                        },
                    );
            }
            Event::ComponentWithdrawn {
                component,
                environment,
                version,
                at,
                ..
            } => {
                if let Some(running) = self.deployed.get_mut(environment)
                    && running
                        .get(component)
                        .is_some_and(|d| &d.version == version)
                {
                    running.remove(component);
                    self.withdrawn
                        .entry(environment.clone())
                        .or_default()
                        .insert(component.clone(), *at);
                }
            }
            Event::InterfaceChangeProposed {
                interface,
                proposal,
            } => {
                if let Some(existing) = self.interfaces.get_mut(interface) {
                    existing.proposals.push(proposal.clone());
                }
            }
            Event::InterfaceChangeDecided {
                interface,
                number,
                record,
                ..
            } => {
                if let Some(proposal) = self
                    .interfaces
                    .get_mut(interface)
                    .and_then(|i| i.proposals.iter_mut().find(|p| p.number == *number))
                {
                    proposal.decision = Some(record.clone());
                }
            }
            Event::InterfaceVersionPublished { interface, entry } => {
                if let Some(existing) = self.interfaces.get_mut(interface) {
                    let versions = &mut existing.spec.versions;
                    match versions.iter_mut().find(|v| v.version == entry.version) {
                        Some(declared) => *declared = entry.clone(),
                        None => {
                            versions.push(entry.clone());
                            versions.sort_by(|a, b| a.version.cmp(&b.version));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// The version of `component` deployed in `environment`.
    pub fn deployed_in(&self, environment: &Name, component: &Name) -> Option<&Deployed> {
        self.deployed.get(environment)?.get(component)
    }
}

/// The stream of an interface's events.
pub fn stream(interface: &Name) -> String {
    format!("interface:{interface}")
}

/// The components that consume `interface`: those named, and every component of the
/// teams named, except the providing component itself.
pub fn consumer_components(state: &State, spec: &InterfaceSpec) -> BTreeSet<Name> {
    let mut components = BTreeSet::new();
    for consumer in &spec.consumers {
        match consumer {
            Consumer::Component(component) => {
                components.insert(component.clone());
            }
            Consumer::Team(team) => components.extend(
                state
                    .components()
                    .values()
                    .filter(|c| &c.spec.team == team)
                    .map(|c| c.name.clone()),
            ),
        }
    }
    if let Some(provider) = &spec.component {
        components.remove(provider);
    }
    components
}

/// The teams that consume `interface`: those named, and the teams of the components named.
pub fn consumer_teams(state: &State, spec: &InterfaceSpec) -> BTreeSet<Name> {
    spec.consumers
        .iter()
        .filter_map(|consumer| match consumer {
            Consumer::Team(team) => Some(team.clone()),
            Consumer::Component(component) => state
                .components()
                .get(component)
                .map(|c| c.spec.team.clone()),
        })
        .collect()
}

/// Decides a command of this module.
pub(crate) fn decide(
    state: &State,
    command: Command,
    now: Timestamp,
) -> Result<Vec<Event>, DomainError> {
    match command {
        Command::DefineInterface { interface, spec } => define(state, interface, spec),
        Command::RecordVerification {
            interface,
            verification,
        } => verify(state, interface, verification, now),
        Command::RecordDeployment {
            component,
            environment,
            version,
            deployed_at,
            by,
        } => {
            if !state.components().contains_key(&component) {
                return Err(not_found(
                    "component",
                    &component,
                    state.components().keys(),
                ));
            }
            if !state.environments().contains_key(&environment) {
                return Err(not_found(
                    "environment",
                    &environment,
                    state.environments().keys(),
                ));
            }
            let at = deployed_at.map_or(now, |at| at.min(now));
            let contracts = state.contracts();
            // Older than what is on record, or than the rollback that withdrew it: a
            // late or redelivered report, which must not move the environment back.
            let withdrawn = contracts
                .withdrawn
                .get(&environment)
                .and_then(|w| w.get(&component));
            if contracts
                .deployed_in(&environment, &component)
                .is_some_and(|d| d.version == version || d.at > at)
                || withdrawn.is_some_and(|w| *w > at)
            {
                return Ok(vec![]);
            }
            Ok(vec![Event::ComponentDeployed {
                component,
                environment,
                version,
                by,
                at,
            }])
        }
        Command::ProposeInterfaceChange {
            interface,
            version,
            compatibility,
            summary,
            by,
        } => {
            let existing = interface_of(state, &interface)?;
            if summary.trim().is_empty() {
                return Err(DomainError::invalid(
                    "summary",
                    "say what changes: the summary becomes the changelog entry",
                ));
            }
            if let Some(open) = existing.open_proposal(&version) {
                if open.compatibility == compatibility && open.summary == summary {
                    return Ok(vec![]);
                }
                return Err(DomainError::invalid(
                    "version",
                    format!(
                        "proposal {} for {interface} {version} is still open: approve or reject it first",
                        open.number
                    ),
                ));
            }
            if let Some(declared) = existing.spec.version(&version)
                && declared.status != VersionStatus::Draft
            {
                return Err(DomainError::invalid(
                    "version",
                    format!(
                        "{interface} {version} is already {}: propose a newer version",
                        declared.status
                    ),
                ));
            }
            if let Some(latest) = existing.spec.latest_released() {
                if version <= latest.version {
                    return Err(DomainError::invalid(
                        "version",
                        format!(
                            "{interface} {version} is not newer than {}, its latest released version",
                            latest.version
                        ),
                    ));
                }
                check_bump("version", &latest.version, &version, compatibility)?;
            }
            let number = u32::try_from(existing.proposals.len())
                .unwrap_or(u32::MAX)
                .saturating_add(1);
            Ok(vec![Event::InterfaceChangeProposed {
                interface,
                proposal: Proposal {
                    number,
                    version,
                    compatibility,
                    summary,
                    by,
                    at: now,
                    impact: impact(state, existing),
                    decision: None,
                },
            }])
        }
        Command::DecideInterfaceChange {
            interface,
            version,
            decision,
            rationale,
            by,
        } => {
            let existing = interface_of(state, &interface)?;
            let Some(proposal) = existing.open_proposal(&version) else {
                let open: Vec<String> = existing
                    .proposals
                    .iter()
                    .filter(|p| p.decision.is_none())
                    .map(|p| p.version.to_string())
                    .collect();
                return Err(DomainError::invalid(
                    "version",
                    format!(
                        "{interface} has no open proposal for {version}{}",
                        if open.is_empty() {
                            String::new()
                        } else {
                            format!(" (open: {})", open.join(", "))
                        }
                    ),
                ));
            };
            if rationale.trim().is_empty() {
                return Err(DomainError::invalid(
                    "rationale",
                    "a decision record needs its rationale: say why",
                ));
            }
            if proposal.by == by {
                return Err(DomainError::invalid(
                    "by",
                    format!(
                        "{by} proposed {interface} {version}: someone else reviews it (four eyes)"
                    ),
                ));
            }
            let mut events = vec![Event::InterfaceChangeDecided {
                interface: interface.clone(),
                number: proposal.number,
                version: version.clone(),
                record: DecisionRecord {
                    decision,
                    rationale,
                    by,
                    at: now,
                },
            }];
            if decision == ProposalDecision::Approve {
                // The interface may have moved on since the proposal (another version
                // published): the bump is checked again against what is released now.
                if let Some(latest) = existing.spec.latest_released() {
                    if version <= latest.version {
                        return Err(DomainError::invalid(
                            "version",
                            format!(
                                "{interface} {} was released since the proposal; {version} is no longer newer: reject it",
                                latest.version
                            ),
                        ));
                    }
                    check_bump("version", &latest.version, &version, proposal.compatibility)?;
                }
                events.push(Event::InterfaceVersionPublished {
                    interface,
                    entry: InterfaceVersion {
                        version,
                        compatibility: proposal.compatibility,
                        changelog: Some(proposal.summary.clone()),
                        status: VersionStatus::Published,
                    },
                });
            }
            Ok(events)
        }
        _ => Ok(vec![]),
    }
}

fn not_found<'a>(
    kind: &'static str,
    name: &Name,
    existing: impl Iterator<Item = &'a Name>,
) -> DomainError {
    DomainError::NotFound {
        kind,
        name: name.to_string(),
        suggestion: suggest::closest(name.as_str(), existing.map(Name::as_str)).map(str::to_owned),
    }
}

fn interface_of<'s>(state: &'s State, interface: &Name) -> Result<&'s Interface, DomainError> {
    state
        .contracts()
        .interfaces
        .get(interface)
        .ok_or_else(|| not_found("interface", interface, state.contracts().interfaces.keys()))
}

/// A version's declared compatibility matches its number relative to `previous`.
fn check_bump(
    field: &str,
    previous: &Version,
    version: &Version,
    compatibility: Compatibility,
) -> Result<(), DomainError> {
    match bump_error(previous, version, compatibility) {
        Some(reason) => Err(DomainError::invalid(field, reason)),
        None => Ok(()),
    }
}

/// Why `version` with `compatibility` cannot follow `previous`, if it cannot: a breaking
/// version bumps the major version (the minor one below 1.0), a backward one keeps it.
/// Manifests call it to report the problem where the version is written.
pub fn bump_error(
    previous: &Version,
    version: &Version,
    compatibility: Compatibility,
) -> Option<String> {
    let part = if previous.major() == 0 {
        "minor"
    } else {
        "major"
    };
    match compatibility {
        Compatibility::Breaking if !version.breaks_from(previous) => Some(format!(
            "{version} is breaking but keeps the {part} version of {previous}: a breaking change is a new {part} version ({} or later)",
            previous.next_breaking()
        )),
        Compatibility::Backward if version.breaks_from(previous) => Some(format!(
            "{version} is marked backward compatible but its number says breaking after {previous}: mark it breaking, or keep {}",
            if previous.major() == 0 {
                format!("0.{}", previous.minor())
            } else {
                format!("major version {}", previous.major())
            }
        )),
        _ => None,
    }
}

fn define(state: &State, interface: Name, spec: InterfaceSpec) -> Result<Vec<Event>, DomainError> {
    let existing = state.contracts().interfaces.get(&interface);
    let spec = match existing {
        Some(existing) => merge_history(&existing.spec, spec),
        None => spec,
    };
    if existing.is_some_and(|e| e.spec == spec) {
        return Ok(vec![]);
    }
    if !state.teams().contains_key(&spec.producer) {
        return Err(not_found("team", &spec.producer, state.teams().keys()));
    }
    if let Some(component) = &spec.component {
        let Some(found) = state.components().get(component) else {
            return Err(not_found("component", component, state.components().keys()));
        };
        if found.spec.team != spec.producer {
            return Err(DomainError::invalid(
                "spec.component",
                format!(
                    "component `{component}` belongs to team `{}`, not to the producer `{}`",
                    found.spec.team, spec.producer
                ),
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for consumer in &spec.consumers {
        if !seen.insert(consumer) {
            return Err(DomainError::Duplicate {
                kind: "consumer",
                name: consumer.to_string(),
            });
        }
        match consumer {
            Consumer::Team(team) => {
                if !state.teams().contains_key(team) {
                    return Err(not_found("team", team, state.teams().keys()));
                }
            }
            Consumer::Component(component) => {
                if !state.components().contains_key(component) {
                    return Err(not_found("component", component, state.components().keys()));
                }
                if spec.component.as_ref() == Some(component) {
                    return Err(DomainError::invalid(
                        "spec.consumers",
                        format!("`{component}` provides the interface; it cannot consume it"),
                    ));
                }
            }
        }
    }
    for (index, pair) in spec.versions.windows(2).enumerate() {
        let (previous, version) = (&pair[0], &pair[1]);
        if version.version <= previous.version {
            return Err(DomainError::invalid(
                format!("spec.versions[{}]", index + 1),
                format!(
                    "{} comes after {}: list versions once each, oldest first",
                    version.version, previous.version
                ),
            ));
        }
        check_bump(
            &format!("spec.versions[{}]", index + 1),
            &previous.version,
            &version.version,
            version.compatibility,
        )?;
    }
    if let Some(existing) = existing {
        for (index, version) in spec.versions.iter().enumerate() {
            let Some(before) = existing.spec.version(&version.version) else {
                continue;
            };
            if before.status == VersionStatus::Draft {
                continue;
            }
            let field = format!("spec.versions[{index}]");
            if version.status == VersionStatus::Draft {
                return Err(DomainError::invalid(
                    field,
                    format!(
                        "{} is {}: it cannot go back to draft",
                        version.version, before.status
                    ),
                ));
            }
            if version.compatibility != before.compatibility
                || version.changelog != before.changelog
            {
                return Err(DomainError::invalid(
                    field,
                    format!(
                        "{} is {}: its compatibility and changelog are history; publish a new version instead",
                        version.version, before.status
                    ),
                ));
            }
        }
    }
    Ok(vec![match existing {
        None => Event::InterfaceDefined { interface, spec },
        Some(_) => Event::InterfaceRedefined { interface, spec },
    }])
}

/// `spec` with the published and deprecated versions of `before` it leaves out kept:
/// versions are history, and a manifest written before an approved proposal must not
/// erase what the proposal published.
fn merge_history(before: &InterfaceSpec, mut spec: InterfaceSpec) -> InterfaceSpec {
    let kept: Vec<InterfaceVersion> = before
        .versions
        .iter()
        .filter(|v| v.status != VersionStatus::Draft && spec.version(&v.version).is_none())
        .cloned()
        .collect();
    if !kept.is_empty() {
        spec.versions.extend(kept);
        spec.versions.sort_by(|a, b| a.version.cmp(&b.version));
    }
    spec
}

/// What a `RecordVerification` command carries; `by` and `at` come from the edge and
/// the clock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerificationReport {
    /// The interface version verified against.
    pub version: Version,
    /// The consumer component.
    pub consumer: Name,
    /// Its version.
    pub consumer_version: ComponentVersion,
    /// The providing component's version.
    pub provider_version: Option<ComponentVersion>,
    /// Pass or fail.
    pub result: VerificationResult,
    /// Where the run is.
    pub link: Option<String>,
    /// Who reports it.
    pub by: String,
}

fn verify(
    state: &State,
    interface: Name,
    report: VerificationReport,
    now: Timestamp,
) -> Result<Vec<Event>, DomainError> {
    let existing = interface_of(state, &interface)?;
    if existing.spec.version(&report.version).is_none() {
        let declared: Vec<String> = existing
            .spec
            .versions
            .iter()
            .map(|v| v.version.to_string())
            .collect();
        let wanted = report.version.to_string();
        return Err(DomainError::NotFound {
            kind: "interface version",
            name: format!("{interface} {wanted}"),
            suggestion: suggest::closest(&wanted, declared.iter().map(String::as_str))
                .map(|closest| format!("{interface} {closest}")),
        });
    }
    if !state.components().contains_key(&report.consumer) {
        return Err(not_found(
            "component",
            &report.consumer,
            state.components().keys(),
        ));
    }
    let consumers = consumer_components(state, &existing.spec);
    if !consumers.contains(&report.consumer) {
        return Err(DomainError::invalid(
            "consumer",
            format!(
                "`{}` is not a consumer of {interface} (consumers: {}): declare it in the interface first",
                report.consumer,
                if consumers.is_empty() {
                    "none".to_owned()
                } else {
                    consumers
                        .iter()
                        .map(Name::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        ));
    }
    match (&existing.spec.component, &report.provider_version) {
        (Some(provider), None) => {
            return Err(DomainError::invalid(
                "providerVersion",
                format!(
                    "{interface} is provided by component `{provider}`: say which version of it the test ran against"
                ),
            ));
        }
        (None, Some(_)) => {
            return Err(DomainError::invalid(
                "providerVersion",
                format!(
                    "{interface} names no providing component, so a provider version means nothing: leave it out or declare spec.component"
                ),
            ));
        }
        _ => {}
    }
    if let Some(link) = &report.link
        && !(link.starts_with("https://") || link.starts_with("http://"))
    {
        return Err(DomainError::invalid(
            "link",
            format!("link `{link}` must be an http(s) URL"),
        ));
    }
    Ok(vec![Event::ContractVerified {
        interface,
        verification: Verification {
            version: report.version,
            consumer: report.consumer,
            consumer_version: report.consumer_version,
            provider_version: report.provider_version,
            result: report.result,
            by: report.by,
            at: now,
            link: report.link,
        },
    }])
}

/// Which side of an interface a component is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// It provides the interface.
    Provider,
    /// It consumes it.
    Consumer,
}

/// One line of a can-i-deploy answer: an interface and a counterpart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployCheck {
    /// The interface.
    pub interface: Name,
    /// The side the deploying component is on.
    pub side: Side,
    /// The component on the other side, if there is one.
    pub counterpart: Option<Name>,
    /// Its version deployed in the environment, if any.
    pub counterpart_version: Option<ComponentVersion>,
    /// Whether this pair allows the deployment.
    pub ok: bool,
    /// Why, in words.
    pub reason: String,
    /// The verification the answer rests on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

/// The answer to *can I deploy COMPONENT at VERSION to ENVIRONMENT?*
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployAnswer {
    /// The component.
    pub component: Name,
    /// The version to deploy.
    pub version: ComponentVersion,
    /// The environment.
    pub environment: Name,
    /// Yes only when every check is ok.
    pub deployable: bool,
    /// One line per interface and counterpart.
    pub checks: Vec<DeployCheck>,
}

impl DeployAnswer {
    /// The reasons of the checks that say no.
    pub fn reasons(&self) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: {}", c.interface, c.reason))
            .collect()
    }
}

/// Can `component` at `version` be deployed to `environment`? For every interface it
/// provides (as `spec.component`) or consumes, there must be a passing contract test
/// between this version and the version of the other side deployed there now, as in
/// Pact's broker: a provider needs every deployed consumer's expectations verified
/// against it; a consumer needs its own verified against the deployed provider (or,
/// when the interface names no providing component, against its latest published
/// version). A consumer not deployed there has nothing to break; a provider missing
/// from the environment is a no, because the consumer would call nothing.
pub fn can_i_deploy(
    state: &State,
    component: &Name,
    version: &ComponentVersion,
    environment: &Name,
) -> Result<DeployAnswer, DomainError> {
    if !state.components().contains_key(component) {
        return Err(not_found("component", component, state.components().keys()));
    }
    if !state.environments().contains_key(environment) {
        return Err(not_found(
            "environment",
            environment,
            state.environments().keys(),
        ));
    }
    let ledger = state.contracts();
    let mut checks = Vec::new();
    for interface in ledger.interfaces.values() {
        let spec = &interface.spec;
        if spec.component.as_ref() == Some(component) {
            for consumer in consumer_components(state, spec) {
                let Some(deployed) = ledger.deployed_in(environment, &consumer) else {
                    checks.push(DeployCheck {
                        interface: interface.name.clone(),
                        side: Side::Provider,
                        counterpart: Some(consumer.clone()),
                        counterpart_version: None,
                        ok: true,
                        reason: format!(
                            "consumer {consumer} is not deployed in {environment}: nothing to break"
                        ),
                        verification: None,
                    });
                    continue;
                };
                let found = interface.latest_verification(|v| {
                    v.consumer == consumer
                        && v.consumer_version == deployed.version
                        && v.provider_version.as_ref() == Some(version)
                });
                checks.push(verdict(
                    interface,
                    Side::Provider,
                    &consumer,
                    Some(&deployed.version),
                    found,
                    format!(
                        "{consumer} {} (in {environment}) against {component} {version}",
                        deployed.version
                    ),
                ));
            }
        } else if consumer_components(state, spec).contains(component) {
            match &spec.component {
                Some(provider) => match ledger.deployed_in(environment, provider) {
                    None => checks.push(DeployCheck {
                        interface: interface.name.clone(),
                        side: Side::Consumer,
                        counterpart: Some(provider.clone()),
                        counterpart_version: None,
                        ok: false,
                        reason: format!(
                            "provider {provider} is not deployed in {environment}: deploy it first"
                        ),
                        verification: None,
                    }),
                    Some(deployed) => {
                        let found = interface.latest_verification(|v| {
                            &v.consumer == component
                                && &v.consumer_version == version
                                && v.provider_version.as_ref() == Some(&deployed.version)
                        });
                        checks.push(verdict(
                            interface,
                            Side::Consumer,
                            provider,
                            Some(&deployed.version),
                            found,
                            format!(
                                "{component} {version} against {provider} {} (in {environment})",
                                deployed.version
                            ),
                        ));
                    }
                },
                None => {
                    let Some(latest) = spec.latest_published() else {
                        checks.push(DeployCheck {
                            interface: interface.name.clone(),
                            side: Side::Consumer,
                            counterpart: None,
                            counterpart_version: None,
                            ok: false,
                            reason: format!("{} has no published version", interface.name),
                            verification: None,
                        });
                        continue;
                    };
                    let found = interface.latest_verification(|v| {
                        &v.consumer == component
                            && &v.consumer_version == version
                            && v.version == latest.version
                    });
                    checks.push(verdict(
                        interface,
                        Side::Consumer,
                        &spec.producer,
                        None,
                        found,
                        format!(
                            "{component} {version} against {} {} (latest published)",
                            interface.name, latest.version
                        ),
                    ));
                }
            }
        }
    }
    Ok(DeployAnswer {
        component: component.clone(),
        version: version.clone(),
        environment: environment.clone(),
        deployable: checks.iter().all(|c| c.ok),
        checks,
    })
}

fn verdict(
    interface: &Interface,
    side: Side,
    counterpart: &Name,
    counterpart_version: Option<&ComponentVersion>,
    found: Option<&Verification>,
    pair: String,
) -> DeployCheck {
    let (ok, reason) = match found {
        None => (false, format!("no contract test recorded for {pair}")),
        Some(v) if v.result == VerificationResult::Pass => (
            true,
            format!(
                "{pair}: verified (contract {}) by {} at {}",
                v.version, v.by, v.at
            ),
        ),
        Some(v) => (
            false,
            format!(
                "{pair}: contract test failed (contract {}) by {} at {}{}",
                v.version,
                v.by,
                v.at,
                v.link
                    .as_ref()
                    .map(|l| format!(", {l}"))
                    .unwrap_or_default()
            ),
        ),
    };
    DeployCheck {
        interface: interface.name.clone(),
        side,
        counterpart: Some(counterpart.clone()),
        counterpart_version: counterpart_version.cloned(),
        ok,
        reason,
        verification: found.cloned(),
    }
}

/// An open release whose scope an interface change touches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseImpact {
    /// The release.
    pub release: Name,
    /// Its state (planned or in progress).
    pub state: crate::ReleaseState,
    /// Its target date.
    pub target_date: jiff::civil::Date,
    /// Its items on the touched components.
    pub items: Vec<Name>,
}

/// A scheduled deployment of a touched component: a release-day step, or a step of a
/// run under way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentImpact {
    /// The release.
    pub release: Name,
    /// The component deployed.
    pub component: Name,
    /// The target environment.
    pub environment: Name,
    /// The day (the release's target date).
    pub date: jiff::civil::Date,
    /// The local time of the step, in the plan's time zone.
    pub at: String,
    /// The plan's time zone.
    pub time_zone: String,
    /// The run executing it and the step's status, when one is under way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
}

/// What a change to an interface touches, computed from the state as it is now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Impact {
    /// The consumer teams.
    pub teams: Vec<Name>,
    /// The consumer components.
    pub components: Vec<Name>,
    /// Open releases with items on a consumer or the providing component.
    pub releases: Vec<ReleaseImpact>,
    /// Scheduled deployments of those components.
    pub deployments: Vec<DeploymentImpact>,
}

/// The impact of changing `interface`: which consumers, which open releases (items on a
/// consumer component or on the providing one), which scheduled deployments.
pub fn impact(state: &State, interface: &Interface) -> Impact {
    let consumers = consumer_components(state, &interface.spec);
    let mut touched = consumers.clone();
    touched.extend(interface.spec.component.iter().cloned());
    let mut releases = Vec::new();
    let mut deployments = Vec::new();
    for release in state.releases().values() {
        if release.state.is_terminal() {
            continue;
        }
        let items: Vec<Name> = state
            .items_of(&release.name)
            .filter(|item| {
                item.spec
                    .component
                    .as_ref()
                    .is_some_and(|c| touched.contains(c))
            })
            .map(|item| item.name.clone())
            .collect();
        if !items.is_empty() {
            releases.push(ReleaseImpact {
                release: release.name.clone(),
                state: release.state,
                target_date: release.spec.target_date,
                items,
            });
        }
        let Some(plan) = &release.spec.deployment else {
            continue;
        };
        let run = state
            .runs()
            .get(&release.name)
            .filter(|run| !run.status().is_finished());
        for step in plan.steps.iter().filter(|s| touched.contains(&s.component)) {
            let run = run.map(|run| {
                let status = run
                    .steps_of(crate::run::RunPhase::Deploy)
                    .iter()
                    .find(|s| s.component == step.component)
                    .map_or("not in the run", |s| s.status.as_str());
                format!("run {}: {status}", run.number)
            });
            deployments.push(DeploymentImpact {
                release: release.name.clone(),
                component: step.component.clone(),
                environment: plan.environment.clone(),
                date: release.spec.target_date,
                at: step.at.to_string(),
                time_zone: plan.time_zone.clone(),
                run,
            });
        }
    }
    Impact {
        teams: consumer_teams(state, &interface.spec).into_iter().collect(),
        components: consumers.into_iter().collect(),
        releases,
        deployments,
    }
}

/// The readiness criterion *contracts verified* for a release deploying `components`,
/// or `None` when no interface touches them (nothing to judge; the criterion is left
/// out rather than passed vacuously). For every interface a component of the release
/// provides or consumes, each consumer involved (a consumer in the release, or every
/// consumer when the release ships the provider) must have a passing latest contract
/// test against the interface's latest published version.
pub fn readiness_criterion(state: &State, components: &[Name]) -> Option<Criterion> {
    let in_release: BTreeSet<&Name> = components.iter().collect();
    let mut evidence = Vec::new();
    let mut failures = Vec::new();
    let mut missing = Vec::new();
    let mut any = false;
    for interface in state.contracts().interfaces.values() {
        let spec = &interface.spec;
        let provider_in = spec
            .component
            .as_ref()
            .is_some_and(|c| in_release.contains(c));
        let consumers: Vec<Name> = consumer_components(state, spec)
            .into_iter()
            .filter(|c| provider_in || in_release.contains(c))
            .collect();
        if consumers.is_empty() {
            continue;
        }
        any = true;
        let Some(latest) = spec.latest_published() else {
            missing.push(format!("{}: no published version", interface.name));
            continue;
        };
        for consumer in consumers {
            match interface
                .latest_verification(|v| v.consumer == consumer && v.version == latest.version)
            {
                None => missing.push(format!(
                    "{} {}: no contract test of {consumer} recorded",
                    interface.name, latest.version
                )),
                Some(v) if v.result == VerificationResult::Pass => evidence.push(format!(
                    "{} {}: {consumer} {} verified by {} at {}",
                    interface.name, latest.version, v.consumer_version, v.by, v.at
                )),
                Some(v) => failures.push(format!(
                    "{} {}: contract test of {consumer} {} failed (by {} at {})",
                    interface.name, latest.version, v.consumer_version, v.by, v.at
                )),
            }
        }
    }
    if !any {
        return None;
    }
    let status = if !failures.is_empty() {
        CriterionStatus::Failed
    } else if !missing.is_empty() {
        CriterionStatus::Missing
    } else {
        CriterionStatus::Met
    };
    failures.extend(missing);
    Some(Criterion {
        id: "contracts-verified",
        title: "Contract tests pass for every interface the release's components provide or consume",
        status,
        evidence,
        missing: failures,
    })
}
