//! Go/no-go: the seeds' go and no-go indicators evaluated from the state and the
//! latest recorded signals, as a verdict that lists every criterion with its
//! evidence and what is missing.
//!
//! Pure and derived: nothing here is stored, and the verdict is recomputed from the
//! state whenever it is asked for (the CLI, the API, the dashboard). It does not
//! record sign-offs or hold a go/no-go meeting; a missing signal is never taken as
//! good news, so a criterion without evidence is `missing` and the verdict no-go.

use std::collections::BTreeSet;

use crate::{
    CiConclusion, DomainError, ItemStatus, Name, ScenarioResult, Signal, SignalKind, SignalReading,
    State, Tier, suggest,
};

/// How one criterion stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CriterionStatus {
    /// The evidence says go.
    Met,
    /// The evidence says no-go.
    Failed,
    /// There is not enough evidence to say.
    Missing,
}

impl CriterionStatus {
    /// `met`, `failed` or `missing`.
    pub fn as_str(self) -> &'static str {
        match self {
            CriterionStatus::Met => "met",
            CriterionStatus::Failed => "failed",
            CriterionStatus::Missing => "missing",
        }
    }
}

/// One go/no-go criterion with what was found and what is lacking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Criterion {
    /// Stable id (`ci-green`).
    pub id: &'static str,
    /// The indicator in words.
    pub title: &'static str,
    /// How it stands.
    pub status: CriterionStatus,
    /// What was found, one line each (for and against).
    pub evidence: Vec<String>,
    /// What stops it from being met: failures and missing evidence, one line each.
    pub missing: Vec<String>,
}

/// The go/no-go verdict of a release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The release.
    pub release: Name,
    /// The components the release deploys (its items', integration tasks' and
    /// deployment steps').
    pub components: Vec<Name>,
    /// Every criterion, in a fixed order.
    pub criteria: Vec<Criterion>,
}

impl Verdict {
    /// Go only when every criterion is met.
    pub fn is_go(&self) -> bool {
        self.criteria
            .iter()
            .all(|c| c.status == CriterionStatus::Met)
    }

    /// Why it is no-go: the lines of every criterion that is not met.
    pub fn reasons(&self) -> Vec<String> {
        self.criteria
            .iter()
            .filter(|c| c.status != CriterionStatus::Met)
            .flat_map(|c| c.missing.iter().map(move |m| format!("{}: {m}", c.id)))
            .collect()
    }
}

/// Evaluates the go/no-go criteria of `release`.
pub fn evaluate(state: &State, release: &Name) -> Result<Verdict, DomainError> {
    let Some(found) = state.releases().get(release) else {
        return Err(DomainError::NotFound {
            kind: "release",
            name: release.to_string(),
            suggestion: suggest::closest(
                release.as_str(),
                state.releases().keys().map(Name::as_str),
            )
            .map(str::to_owned),
        });
    };
    let mut components = BTreeSet::new();
    components.extend(
        state
            .items_of(release)
            .filter_map(|item| item.spec.component.clone()),
    );
    components.extend(
        state
            .integration_tasks()
            .values()
            .filter(|task| task.release == *release)
            .flat_map(|task| task.spec.components.iter().cloned()),
    );
    if let Some(deployment) = &found.spec.deployment {
        components.extend(deployment.steps.iter().map(|step| step.component.clone()));
    }
    let components: Vec<Name> = components.into_iter().collect();
    let mut criteria = vec![
        ci_green(state, &components),
        no_blocking_bugs(state, &components),
        security_scan_clean(state, &components),
        staging_smoke_tests(state, &components),
        integration_scenarios(state, release),
        items_ready(state, release),
    ];
    // Only when an interface touches the release's components: a program that declares
    // no contracts is not held to them.
    criteria.extend(crate::contract::readiness_criterion(state, &components));
    Ok(Verdict {
        release: release.clone(),
        components,
        criteria,
    })
}

/// Collects per-component findings into a criterion.
struct Finding {
    evidence: Vec<String>,
    failures: Vec<String>,
    missing: Vec<String>,
}

impl Finding {
    fn new() -> Finding {
        Finding {
            evidence: Vec::new(),
            failures: Vec::new(),
            missing: Vec::new(),
        }
    }

    /// A finding about components: with none, there is nothing to judge from, which
    /// is missing evidence rather than a vacuous pass.
    fn for_components(components: &[Name]) -> Finding {
        let mut finding = Finding::new();
        if components.is_empty() {
            finding.missing.push(
                "the release names no components (items, integration tasks or deployment steps)"
                    .to_owned(),
            );
        }
        finding
    }

    fn into_criterion(self, id: &'static str, title: &'static str) -> Criterion {
        let status = if !self.failures.is_empty() {
            CriterionStatus::Failed
        } else if !self.missing.is_empty() {
            CriterionStatus::Missing
        } else {
            CriterionStatus::Met
        };
        let mut missing = self.failures;
        missing.extend(self.missing);
        Criterion {
            id,
            title,
            status,
            evidence: self.evidence,
            missing,
        }
    }
}

fn cite(signal: &Signal) -> String {
    format!(
        "{}{}: {} (at {}, from {}, delivery {})",
        signal.component,
        signal
            .environment
            .as_ref()
            .map(|e| format!(" in {e}"))
            .unwrap_or_default(),
        signal.reading.describe(),
        signal.observed_at,
        signal.source,
        signal.delivery
    )
}

fn latest<'s>(state: &'s State, component: &'s Name, kind: SignalKind) -> Option<&'s Signal> {
    state
        .signals_of(component)
        .filter(|s| s.reading.kind() == kind)
        .max_by_key(|s| s.observed_at)
}

fn ci_green(state: &State, components: &[Name]) -> Criterion {
    let mut finding = Finding::for_components(components);
    for component in components {
        let runs: Vec<&Signal> = state
            .signals_of(component)
            .filter(|s| s.reading.kind() == SignalKind::Ci)
            .collect();
        if runs.is_empty() {
            finding
                .missing
                .push(format!("{component}: no CI run recorded"));
        }
        for run in runs {
            finding.evidence.push(cite(run));
            if let SignalReading::Ci {
                workflow,
                conclusion,
                ..
            } = &run.reading
            {
                match conclusion {
                    CiConclusion::Success => {}
                    CiConclusion::Failure | CiConclusion::Cancelled => finding
                        .failures
                        .push(format!("{component}: CI {workflow} {conclusion}")),
                    CiConclusion::Pending => finding
                        .missing
                        .push(format!("{component}: CI {workflow} still running")),
                }
            }
        }
    }
    finding.into_criterion("ci-green", "CI/CD pipeline green with passing tests")
}

fn no_blocking_bugs(state: &State, components: &[Name]) -> Criterion {
    let mut finding = Finding::for_components(components);
    for component in components {
        // Issues from the trackers' webhooks: the latest state of each one.
        let issues: Vec<&Signal> = state
            .signals_of(component)
            .filter(|s| s.reading.kind() == SignalKind::Issue)
            .collect();
        for signal in &issues {
            if let Some((number, title, severity)) = signal.reading.blocking_issue() {
                finding.failures.push(format!(
                    "{component}: issue #{number} {title} ({}) is open",
                    severity.as_str()
                ));
            }
        }
        if !issues.is_empty() {
            let open = issues
                .iter()
                .filter(|s| matches!(s.reading, SignalReading::Issue { open: true, .. }))
                .count();
            finding.evidence.push(format!(
                "{component}: {} tracked issue(s) from webhooks, {open} open",
                issues.len()
            ));
        }
        match latest(state, component, SignalKind::Bugs) {
            None if !issues.is_empty() => {}
            None => finding
                .missing
                .push(format!("{component}: no open-bug count recorded")),
            Some(signal) => {
                finding.evidence.push(cite(signal));
                if let SignalReading::Bugs { critical, high, .. } = signal.reading
                    && critical + high > 0
                {
                    finding.failures.push(format!(
                        "{component}: {critical} critical and {high} high open bugs"
                    ));
                }
            }
        }
    }
    finding.into_criterion("no-blocking-bugs", "No critical or high-severity open bugs")
}

/// Whether the rollback has been rehearsed: for every component, the latest run of a
/// CI workflow whose name mentions `rollback` (a rollback drill in staging, say)
/// succeeded. Used by the checklist item *Rollback procedures tested*, and a go/no-go
/// criterion when the pre-release checklist holds such an item.
pub fn rollback_rehearsed(state: &State, components: &[Name]) -> Criterion {
    let mut finding = Finding::for_components(components);
    for component in components {
        let drills: Vec<&Signal> = state
            .signals_of(component)
            .filter(|s| {
                matches!(&s.reading, SignalReading::Ci { workflow, .. }
                    if workflow.to_ascii_lowercase().contains("rollback"))
            })
            .collect();
        if drills.is_empty() {
            finding.missing.push(format!(
                "{component}: no CI workflow named *rollback* has reported"
            ));
        }
        for drill in drills {
            finding.evidence.push(cite(drill));
            if let SignalReading::Ci {
                workflow,
                conclusion,
                ..
            } = &drill.reading
                && *conclusion != CiConclusion::Success
            {
                finding
                    .failures
                    .push(format!("{component}: {workflow} {conclusion}"));
            }
        }
    }
    finding.into_criterion("rollback-rehearsed", "The rollback has been rehearsed")
}

fn security_scan_clean(state: &State, components: &[Name]) -> Criterion {
    let mut finding = Finding::for_components(components);
    for component in components {
        match latest(state, component, SignalKind::SecurityScan) {
            None => finding
                .missing
                .push(format!("{component}: no security scan recorded")),
            Some(signal) => {
                finding.evidence.push(cite(signal));
                if let SignalReading::SecurityScan { critical, .. } = signal.reading
                    && critical > 0
                {
                    finding
                        .failures
                        .push(format!("{component}: {critical} critical findings"));
                }
            }
        }
    }
    finding.into_criterion(
        "security-scan-clean",
        "Security scans completed with no critical issues",
    )
}

fn staging_smoke_tests(state: &State, components: &[Name]) -> Criterion {
    let mut finding = Finding::for_components(components);
    let is_staging = |signal: &&Signal| {
        signal
            .environment
            .as_ref()
            .and_then(|e| state.environments().get(e))
            .is_some_and(|e| e.spec.tier == Tier::Staging)
    };
    for component in components {
        let smoke = state
            .signals_of(component)
            .filter(|s| s.reading.kind() == SignalKind::SmokeTest)
            .filter(is_staging)
            .max_by_key(|s| s.observed_at);
        match smoke {
            None => finding
                .missing
                .push(format!("{component}: no staging smoke test recorded")),
            Some(signal) => {
                finding.evidence.push(cite(signal));
                if let SignalReading::SmokeTest { passed: false, .. } = signal.reading {
                    finding
                        .failures
                        .push(format!("{component}: staging smoke tests failed"));
                }
            }
        }
    }
    finding.into_criterion(
        "staging-smoke-tests",
        "Staging environment updated and smoke tests passed",
    )
}

fn integration_scenarios(state: &State, release: &Name) -> Criterion {
    let mut finding = Finding::new();
    let mut n_scenarios = 0_usize;
    for task in state
        .integration_tasks()
        .values()
        .filter(|task| task.release == *release)
    {
        for (idx, scenario) in task.spec.scenarios.iter().enumerate() {
            n_scenarios += 1;
            let line = format!(
                "{} scenario {} ({}): {:?}",
                task.name,
                idx + 1,
                scenario.title,
                scenario.result
            );
            match scenario.result {
                ScenarioResult::Passed => finding.evidence.push(line),
                ScenarioResult::Failed | ScenarioResult::Blocked => finding.failures.push(line),
                ScenarioResult::Pending => finding.missing.push(line),
            }
        }
    }
    if n_scenarios == 0 {
        finding
            .evidence
            .push("the release has no integration scenarios".to_owned());
    }
    finding.into_criterion(
        "integration-scenarios-passed",
        "All integration tests passing",
    )
}

fn items_ready(state: &State, release: &Name) -> Criterion {
    let mut finding = Finding::new();
    for item in state.items_of(release) {
        let line = format!("{} ({}): {}", item.name, item.spec.team, item.status);
        match item.status {
            ItemStatus::ReadyForRelease | ItemStatus::Released => finding.evidence.push(line),
            _ => finding.missing.push(line),
        }
    }
    finding.into_criterion(
        "items-ready",
        "All acceptance criteria met for release scope (items ready for release)",
    )
}
