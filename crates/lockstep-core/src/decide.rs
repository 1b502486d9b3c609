//! Business rules: a command and the current state in, events or an error out.
//!
//! Nothing here writes anything; the caller appends the events and only then
//! applies them. `now` is passed in, never read.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use jiff::Timestamp;

use crate::{
    Command, Dependency, DomainError, Event, IntegrationTaskSpec, ItemSpec, ItemStatus, Name,
    ReleaseSpec, State, TeamSpec, graph, suggest,
};

/// The longest estimate or buffer, in days, a plan takes seriously (about ten years of
/// working days); beyond it a number is a typo, and dates would leave the calendar.
const MAX_DAYS: u32 = 2_600;

/// How far ahead of the server's clock a signal's observation time may be: senders' clocks
/// drift a little.
const MAX_SIGNAL_CLOCK_SKEW_SECONDS: i64 = 5 * 60;

/// Decides one command against `state`.
pub fn decide(state: &State, command: Command, now: Timestamp) -> Result<Vec<Event>, DomainError> {
    let mut decider = Decider {
        state,
        check_cycles: true,
        added_items: &BTreeSet::new(),
    };
    decider.decide(command, now)
}

/// Decides a batch of commands as one atomic change: each command sees the effect
/// of the ones before it, and either every command is accepted or every error is
/// returned with the index of the command that caused it (in command order; for a
/// cycle, the last dependency of the batch on it) and nothing should be written.
///
/// Cycle detection runs once over the whole graph at the end instead of once per
/// dependency, which keeps a 30,000-dependency apply linear.
pub fn decide_all(
    state: &State,
    commands: Vec<Command>,
    now: Timestamp,
) -> Result<Vec<Event>, Vec<(Option<usize>, DomainError)>> {
    let mut scratch = state.clone();
    let mut events = Vec::new();
    let mut errors = Vec::new();
    // The dependencies this batch defines, by command index: a cycle is located at the
    // last of them that is one of its arcs.
    let mut arcs: Vec<(usize, Name, Name)> = Vec::new();
    let mut added_items: BTreeSet<Name> = BTreeSet::new();
    let mut added_dependency = false;
    // Resources whose own definition was refused: a later command naming one of them
    // would only add a misleading "unknown …" to the error that matters.
    let mut refused: BTreeSet<(&'static str, Name)> = BTreeSet::new();
    for (index, command) in commands.into_iter().enumerate() {
        if let Command::DefineDependency {
            blocker, blocked, ..
        } = &command
        {
            added_dependency = true;
            arcs.push((index, blocker.clone(), blocked.clone()));
        }
        let defined = defined_by(&command);
        let mut decider = Decider {
            state: &scratch,
            check_cycles: false,
            added_items: &added_items,
        };
        match decider.decide(command, now) {
            Ok(decided) => {
                for event in &decided {
                    if let Event::ItemAdded { item, .. } = event {
                        added_items.insert(item.clone());
                    }
                    scratch.apply_event(event);
                }
                events.extend(decided);
            }
            Err(DomainError::NotFound { kind, name, .. })
                if Name::parse(&name).is_ok_and(|name| refused.contains(&(kind, name))) => {}
            Err(error) => {
                refused.extend(defined);
                errors.push((Some(index), error));
            }
        }
    }
    if added_dependency
        && errors.is_empty()
        && let Some(cycle) = find_dependency_cycle(&scratch)
    {
        let closing = arcs.iter().rev().find_map(|(index, blocker, blocked)| {
            cycle
                .windows(2)
                .any(|pair| {
                    (&pair[0] == blocker && &pair[1] == blocked)
                        || (&pair[0] == blocked && &pair[1] == blocker)
                })
                .then_some(*index)
        });
        errors.push((closing, DomainError::CycleDetected { cycle }));
    }
    if errors.is_empty() {
        Ok(events)
    } else {
        Err(errors)
    }
}

/// The kind (as `DomainError::NotFound` names it) and name of what `command` defines.
fn defined_by(command: &Command) -> Option<(&'static str, Name)> {
    Some(match command {
        Command::DefineTeam { team, .. } => ("team", team.clone()),
        Command::DefineComponent { component, .. } => ("component", component.clone()),
        Command::DefineEnvironment { environment, .. } => ("environment", environment.clone()),
        Command::DefineRelease { release, .. } => ("release", release.clone()),
        Command::DefineItem { item, .. } => ("item", item.clone()),
        Command::DefineIntegrationTask { task, .. } => ("integration task", task.clone()),
        Command::DefineRisk { risk, .. } => ("risk", risk.clone()),
        Command::DefineInterface { interface, .. } => ("interface", interface.clone()),
        _ => return None,
    })
}

fn find_dependency_cycle(state: &State) -> Option<Vec<Name>> {
    let names: Vec<&Name> = state.items().keys().collect();
    let index: HashMap<&Name, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let edges: Vec<(usize, usize)> = state
        .dependencies()
        .filter_map(|d| Some((*index.get(&d.blocker)?, *index.get(&d.blocked)?)))
        .collect();
    graph::find_cycle(names.len(), &edges)
        .map(|cycle| cycle.into_iter().map(|i| names[i].clone()).collect())
}

/// A time window is ordered, and when it recurs its start is the rule's first
/// occurrence (as RFC 5545 expects of DTSTART).
fn check_window(
    field: &str,
    what: &str,
    start: jiff::civil::DateTime,
    end: jiff::civil::DateTime,
    rule: Option<&crate::recurrence::Rule>,
    cron: Option<&crate::cron::Cron>,
) -> Result<(), DomainError> {
    if start >= end {
        return Err(DomainError::invalid(
            field,
            format!("{what} start {start} must be before its end {end}"),
        ));
    }
    if let Some(cron) = cron {
        if rule.is_some() {
            return Err(DomainError::invalid(
                format!("{field}.cron"),
                format!("the {what} repeats by `recurrence` or by `cron`, not both"),
            ));
        }
        // Every occurrence is as long as the first: they must not run into each
        // other, or a window every minute would book the same hour sixty times.
        let length = start.duration_until(end);
        let mut times = cron.occurrences(start).take(500);
        if let Some(mut previous) = times.next() {
            for next in times {
                if previous.duration_until(next) < length {
                    return Err(DomainError::invalid(
                        format!("{field}.cron"),
                        format!(
                            "`{cron}` starts the {what} again at {next}, before the one from {previous} ends: make it shorter than the time between its occurrences"
                        ),
                    ));
                }
                previous = next;
            }
        }
        if !cron.first_is(start) {
            let next = cron
                .occurrences(start)
                .next()
                .map_or_else(|| "never".to_owned(), |at| at.to_string());
            return Err(DomainError::invalid(
                format!("{field}.cron"),
                format!(
                    "the {what} starts {start} ({}), which `{cron}` does not select (the next time it does is {next}): make start one of its times",
                    start.date().strftime("%A"),
                ),
            ));
        }
    }
    if let Some(rule) = rule
        && !rule.first_is(start)
    {
        let first = rule
            .occurrences(start, None)
            .next()
            .map_or_else(|| "never".to_owned(), |at| at.to_string());
        return Err(DomainError::invalid(
            format!("{field}.recurrence"),
            format!(
                "the {what} starts {start} ({}), which `{rule}` does not select (its first occurrence would be {first}): make start the first occurrence",
                start.date().strftime("%A"),
            ),
        ));
    }
    Ok(())
}

struct Decider<'s> {
    state: &'s State,
    check_cycles: bool,
    /// Items added earlier in the same batch: a dependency declared with its item is
    /// part of that item's plan, never a late surprise.
    added_items: &'s BTreeSet<Name>,
}

/// `Ok` when `release` exists; else the release it was probably meant to be.
fn known_release(state: &State, release: &Name) -> Result<(), DomainError> {
    if state.releases().contains_key(release) {
        Ok(())
    } else {
        Err(not_found("release", release, state.releases().keys()))
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

impl Decider<'_> {
    fn decide(&mut self, command: Command, now: Timestamp) -> Result<Vec<Event>, DomainError> {
        let state = self.state;
        crate::limits::check(&command)?;
        match command {
            Command::DefineTeam { team, spec } => {
                self.check_team(&team, &spec)?;
                Ok(match state.teams().get(&team) {
                    None => vec![Event::TeamDefined { team, spec }],
                    Some(existing) if existing.spec == spec => vec![],
                    Some(_) => vec![Event::TeamRedefined { team, spec }],
                })
            }
            Command::DefineComponent { component, spec } => {
                self.team(&spec.team)?;
                self.component_dependencies(&component, &spec.depends_on)?;
                // Webhooks and signals find a component by its repository: two sharing one
                // would make every delivery land on either, silently.
                if let Some(repository) = &spec.repository
                    && let Some(other) = state.component_by_repository(repository)
                    && other.name != component
                {
                    return Err(DomainError::invalid(
                        "spec.repository",
                        format!(
                            "repository `{repository}` is already component `{}`'s: signals and webhooks find a component by its repository",
                            other.name
                        ),
                    ));
                }
                Ok(match state.components().get(&component) {
                    None => vec![Event::ComponentDefined { component, spec }],
                    Some(existing) if existing.spec == spec => vec![],
                    Some(_) => vec![Event::ComponentRedefined { component, spec }],
                })
            }
            Command::DefineEnvironment { environment, spec } => {
                for (index, window) in spec.deploy_windows.iter().enumerate() {
                    check_window(
                        &format!("spec.deployWindows[{index}]"),
                        "deploy window",
                        window.start,
                        window.end,
                        window.recurrence.as_ref(),
                        window.cron.as_ref(),
                    )?;
                }
                Ok(match state.environments().get(&environment) {
                    None => vec![Event::EnvironmentDefined { environment, spec }],
                    Some(existing) if existing.spec == spec => vec![],
                    Some(_) => vec![Event::EnvironmentRedefined { environment, spec }],
                })
            }
            Command::DefineBlackout { blackout, spec } => {
                check_window(
                    "spec",
                    "blackout",
                    spec.start,
                    spec.end,
                    spec.recurrence.as_ref(),
                    spec.cron.as_ref(),
                )?;
                for environment in &spec.environments {
                    self.environment(environment)?;
                }
                Ok(match state.blackouts().get(&blackout) {
                    None => vec![Event::BlackoutDefined { blackout, spec }],
                    Some(existing) if existing.spec == spec => vec![],
                    Some(_) => vec![Event::BlackoutRedefined { blackout, spec }],
                })
            }
            Command::DefineResource { resource, spec } => {
                if spec.capacity == 0 {
                    return Err(DomainError::invalid(
                        "spec.capacity",
                        format!("resource {resource} needs a capacity of at least 1"),
                    ));
                }
                Ok(match state.resources().get(&resource) {
                    None => vec![Event::ResourceDefined { resource, spec }],
                    Some(existing) if existing.spec == spec => vec![],
                    Some(_) => vec![Event::ResourceRedefined { resource, spec }],
                })
            }
            Command::DefineSubscription { subscription, spec } => {
                if spec.member.is_some() == spec.role.is_some() {
                    return Err(DomainError::invalid(
                        "spec",
                        "a subscription names exactly one of `member` or `role`",
                    ));
                }
                if spec.channel.trim().is_empty() {
                    return Err(DomainError::invalid("channel", "a channel is required"));
                }
                if let Some(member) = &spec.member {
                    self.member(member)?;
                }
                for team in &spec.teams {
                    self.team(team)?;
                }
                for release in &spec.releases {
                    if !state.releases().contains_key(release) {
                        return Err(not_found("release", release, state.releases().keys()));
                    }
                }
                for kind in &spec.kinds {
                    if !crate::MESSAGE_KINDS.contains(&kind.as_str()) {
                        return Err(DomainError::NotFound {
                            kind: "message kind",
                            name: kind.to_string(),
                            suggestion: suggest::closest(kind.as_str(), crate::MESSAGE_KINDS)
                                .map(str::to_owned),
                        });
                    }
                }
                Ok(match state.subscriptions().get(&subscription) {
                    None => vec![Event::SubscriptionDefined { subscription, spec }],
                    Some(existing) if existing.spec == spec => vec![],
                    Some(_) => vec![Event::SubscriptionRedefined { subscription, spec }],
                })
            }
            Command::DefineRelease { release, spec } => {
                if state
                    .releases()
                    .get(&release)
                    .is_some_and(|r| r.spec == spec)
                {
                    return Ok(vec![]);
                }
                self.check_release(&spec)?;
                Ok(match state.releases().get(&release) {
                    None => vec![Event::ReleasePlanned { release, spec }],
                    Some(existing) => {
                        self.open_release(&existing.name)?;
                        vec![Event::ReleaseRedefined { release, spec }]
                    }
                })
            }
            Command::ChangeReleaseState { release, to } => {
                let existing = state
                    .releases()
                    .get(&release)
                    .ok_or_else(|| not_found("release", &release, state.releases().keys()))?;
                if existing.state == to {
                    return Ok(vec![]);
                }
                if !existing.state.can_move_to(to) {
                    return Err(DomainError::IllegalReleaseTransition {
                        release,
                        from: existing.state,
                        to,
                    });
                }
                if to == crate::ReleaseState::Released {
                    // Released says what shipped: every item, and the run if there is one.
                    let unready: Vec<String> = state
                        .items_of(&release)
                        .filter(|item| !item.status.is_ready())
                        .map(|item| format!("`{}` ({})", item.name, item.status))
                        .collect();
                    if !unready.is_empty() {
                        return Err(DomainError::invalid(
                            "state",
                            format!(
                                "release `{release}` cannot be released while {} of its items are not ready for release: {}",
                                unready.len(),
                                unready.join(", ")
                            ),
                        ));
                    }
                    if let Some(run) = state.runs().get(&release)
                        && run.status() != crate::run::RunStatus::Completed
                    {
                        return Err(DomainError::invalid(
                            "state",
                            format!(
                                "release `{release}` cannot be released while its run {} is {}",
                                run.number,
                                run.status().as_str()
                            ),
                        ));
                    }
                }
                Ok(vec![Event::ReleaseStateChanged {
                    release,
                    from: existing.state,
                    to,
                }])
            }
            Command::DefineItem {
                item,
                release,
                spec,
            } => {
                if state
                    .items()
                    .get(&item)
                    .is_some_and(|i| i.release == release && i.spec == spec)
                {
                    return Ok(vec![]);
                }
                self.open_release(&release)?;
                self.check_item(&spec)?;
                Ok(match state.items().get(&item) {
                    None => vec![Event::ItemAdded {
                        item,
                        release,
                        spec,
                    }],
                    Some(existing) if existing.release != release => {
                        return Err(DomainError::ItemInOtherRelease {
                            item,
                            release: existing.release.clone(),
                            requested: release,
                        });
                    }
                    Some(existing) if existing.spec == spec => vec![],
                    Some(_) => vec![Event::ItemRedefined { item, spec }],
                })
            }
            Command::MoveItem { item, to } => {
                if self.item(&item)?.status == to {
                    return Ok(vec![]);
                }
                let existing = self.open_item(&item)?;
                if existing.status == ItemStatus::Released {
                    return Err(DomainError::IllegalItemTransition {
                        item,
                        from: existing.status,
                        to,
                    });
                }
                if to == ItemStatus::Released {
                    // Released is final: what the item depends on ships first.
                    let unready: Vec<String> = state
                        .blocked_by(&item)
                        .filter_map(|dependency| state.items().get(&dependency.blocker))
                        .filter(|blocker| !blocker.status.is_ready())
                        .map(|blocker| format!("`{}` ({})", blocker.name, blocker.status))
                        .collect();
                    if !unready.is_empty() {
                        return Err(DomainError::invalid(
                            "status",
                            format!(
                                "item `{item}` cannot be released before what it depends on is ready: {}",
                                unready.join(", ")
                            ),
                        ));
                    }
                }
                Ok(vec![Event::ItemStatusChanged {
                    item,
                    from: existing.status,
                    to,
                }])
            }
            Command::SetEta { item, eta } => {
                if self.item(&item)?.eta == eta {
                    return Ok(vec![]);
                }
                let existing = self.open_item(&item)?;
                Ok(vec![Event::ItemEtaChanged {
                    item,
                    from: existing.eta,
                    to: eta,
                }])
            }
            Command::AcknowledgeEscalation {
                item,
                by,
                escalations,
            } => {
                self.item(&item)?;
                let mut fresh: Vec<String> = escalations
                    .into_iter()
                    .filter(|escalation| !state.is_acknowledged(&item, escalation))
                    .collect();
                fresh.sort();
                fresh.dedup();
                // Nothing escalated, or all of it answered already: nothing to record.
                if fresh.is_empty() {
                    return Ok(vec![]);
                }
                Ok(vec![Event::EscalationAcknowledged {
                    item,
                    by,
                    at: now,
                    escalations: fresh,
                }])
            }
            Command::PostUpdate { item, update } => {
                if self.item(&item)?.updates.contains(&update) {
                    return Ok(vec![]);
                }
                self.open_item(&item)?;
                if update.text.trim().is_empty() {
                    return Err(DomainError::invalid(
                        "text",
                        "a status update cannot be empty",
                    ));
                }
                Ok(vec![Event::ItemUpdatePosted { item, update }])
            }
            Command::DefineDependency {
                blocker,
                blocked,
                need_by,
                buffer_days,
            } => {
                self.item(&blocker)?;
                if buffer_days > MAX_DAYS {
                    return Err(DomainError::invalid(
                        "bufferDays",
                        format!(
                            "a buffer of {buffer_days} days is more than {MAX_DAYS}, about ten years"
                        ),
                    ));
                }
                let existing = state.dependency(&blocker, &blocked);
                if existing.is_some_and(|d| d.need_by == need_by && d.buffer_days == buffer_days) {
                    return Ok(vec![]);
                }
                let blocked_item = self.open_item(&blocked)?;
                if blocker == blocked {
                    return Err(DomainError::CycleDetected {
                        cycle: vec![blocker.clone(), blocker],
                    });
                }
                if let Some(existing) = existing {
                    let dependency = Dependency {
                        need_by,
                        buffer_days,
                        ..existing.clone()
                    };
                    return Ok(vec![Event::DependencyChanged { dependency }]);
                }
                if self.check_cycles
                    && let Some(mut path) = state.dependency_path(&blocked, &blocker)
                {
                    path.push(blocked.clone());
                    return Err(DomainError::CycleDetected { cycle: path });
                }
                let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
                let late = state
                    .releases()
                    .get(&blocked_item.release)
                    .and_then(|release| release.spec.feature_freeze)
                    .is_some_and(|freeze| today > freeze)
                    && !self.added_items.contains(&blocked);
                let dependency = Dependency {
                    blocker,
                    blocked,
                    need_by,
                    buffer_days,
                    late,
                };
                Ok(vec![Event::DependencyAdded { dependency }])
            }
            Command::RemoveDependency { blocker, blocked } => {
                self.open_item(&blocked)?;
                if state.dependency(&blocker, &blocked).is_none() {
                    return Err(DomainError::NotFound {
                        kind: "dependency",
                        name: format!("{blocker} → {blocked}"),
                        suggestion: None,
                    });
                }
                Ok(vec![Event::DependencyRemoved { blocker, blocked }])
            }
            Command::DefineIntegrationTask {
                task,
                release,
                spec,
            } => {
                if state
                    .integration_tasks()
                    .get(&task)
                    .is_some_and(|t| t.release == release && t.spec == spec)
                {
                    return Ok(vec![]);
                }
                self.open_release(&release)?;
                self.check_integration_task(&release, &spec)?;
                Ok(match state.integration_tasks().get(&task) {
                    Some(existing) if existing.release == release && existing.spec == spec => {
                        vec![]
                    }
                    None => vec![Event::IntegrationTaskDefined {
                        task,
                        release,
                        spec,
                    }],
                    Some(existing) if existing.release != release => {
                        return Err(DomainError::invalid(
                            "release",
                            format!(
                                "integration task `{task}` belongs to release `{}`",
                                existing.release
                            ),
                        ));
                    }
                    Some(existing) if existing.spec == spec => vec![],
                    Some(_) => vec![Event::IntegrationTaskRedefined { task, spec }],
                })
            }
            Command::DefineRisk {
                risk,
                release,
                spec,
            } => {
                let existing = state.risks().get(&risk);
                if existing.is_some_and(|r| r.release == release && r.spec == spec) {
                    return Ok(vec![]);
                }
                if let Some(existing) = existing
                    && existing.release != release
                {
                    return Err(DomainError::invalid(
                        "release",
                        format!("risk `{risk}` belongs to release `{}`", existing.release),
                    ));
                }
                self.open_release(&release)?;
                self.check_risk(&release, &spec)?;
                Ok(match existing {
                    None => vec![Event::RiskIdentified {
                        risk,
                        release,
                        spec,
                    }],
                    Some(_) => vec![Event::RiskRedefined { risk, spec }],
                })
            }
            Command::ChangeRiskStatus { risk, to } => {
                let existing = state
                    .risks()
                    .get(&risk)
                    .ok_or_else(|| not_found("risk", &risk, state.risks().keys()))?;
                // Any move is allowed, including reopening a closed risk, and in a release
                // that has shipped: settling its risks is part of the post-release review.
                if existing.status == to {
                    return Ok(vec![]);
                }
                Ok(vec![Event::RiskStatusChanged {
                    risk,
                    from: existing.status,
                    to,
                }])
            }
            Command::RecordLesson { release, text, by } => {
                known_release(state, &release)?;
                if text.trim().is_empty() {
                    return Err(DomainError::invalid("text", "a lesson says something"));
                }
                // The same lesson twice (a retried request) is kept once.
                if state.lessons_of(&release).iter().any(|l| l.text == text) {
                    return Ok(vec![]);
                }
                Ok(vec![Event::LessonRecorded {
                    release,
                    text,
                    by,
                    at: now,
                }])
            }
            Command::RecordCoordination {
                release,
                activity,
                minutes,
                people,
                on,
                note,
                by,
            } => {
                use crate::coordination::{CoordinationEntry, MAX_MINUTES, MAX_PEOPLE};
                known_release(state, &release)?;
                if minutes == 0 || minutes > MAX_MINUTES {
                    return Err(DomainError::invalid(
                        "minutes",
                        format!("between 1 and {MAX_MINUTES} (one day) per record, not {minutes}"),
                    ));
                }
                if people == 0 || people > MAX_PEOPLE {
                    return Err(DomainError::invalid(
                        "people",
                        format!("between 1 and {MAX_PEOPLE}, not {people}"),
                    ));
                }
                let today = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
                let on = on.unwrap_or(today);
                if on > today {
                    return Err(DomainError::invalid(
                        "on",
                        format!("{on} is after today ({today}): record time once it is spent"),
                    ));
                }
                let number = u32::try_from(state.coordination_of(&release).len())
                    .unwrap_or(u32::MAX)
                    .saturating_add(1);
                let note = note.filter(|note| !note.trim().is_empty());
                Ok(vec![Event::CoordinationRecorded {
                    release,
                    entry: CoordinationEntry {
                        number,
                        activity,
                        minutes,
                        people,
                        on,
                        note,
                        by,
                        at: now,
                        retracted: None,
                    },
                }])
            }
            Command::RateCoordination {
                release,
                score,
                comment,
                by,
            } => {
                use crate::coordination::{MAX_SCORE, Rating};
                known_release(state, &release)?;
                if !(1..=MAX_SCORE).contains(&score) {
                    return Err(DomainError::invalid(
                        "score",
                        format!("from 1 (painful) to {MAX_SCORE} (effortless), not {score}"),
                    ));
                }
                let comment = comment.filter(|c| !c.trim().is_empty());
                // The same rating again (a retried request) records nothing.
                if state
                    .ratings_of(&release)
                    .iter()
                    .any(|r| r.by == by && r.score == score && r.comment == comment)
                {
                    return Ok(vec![]);
                }
                Ok(vec![Event::CoordinationRated {
                    release,
                    rating: Rating {
                        score,
                        comment,
                        by,
                        at: now,
                    },
                }])
            }
            Command::RetractCoordination {
                release,
                number,
                by,
            } => {
                known_release(state, &release)?;
                let entries = state.coordination_of(&release);
                let Some(entry) = entries.iter().find(|entry| entry.number == number) else {
                    return Err(DomainError::NotFound {
                        kind: "coordination record",
                        name: format!("{release} #{number}"),
                        suggestion: None,
                    });
                };
                // Retracting twice (a retried request) retracts once.
                if entry.retracted.is_some() {
                    return Ok(vec![]);
                }
                Ok(vec![Event::CoordinationRetracted {
                    release,
                    number,
                    by,
                    at: now,
                }])
            }
            Command::ProposeChange {
                title,
                sources,
                releases,
                by,
            } => {
                if title.trim().is_empty() {
                    return Err(DomainError::invalid(
                        "title",
                        "a change request needs a title",
                    ));
                }
                if sources.is_empty() {
                    return Err(DomainError::invalid(
                        "sources",
                        "a change request holds at least one manifest",
                    ));
                }
                let mut releases: Vec<Name> = releases
                    .into_iter()
                    .filter(|r| state.releases().contains_key(r))
                    .collect();
                releases.sort();
                releases.dedup();
                Ok(vec![Event::ChangeProposed {
                    change: crate::change::next_name(state),
                    title,
                    sources,
                    releases,
                    by,
                    at: now,
                }])
            }
            Command::DecideChange {
                change,
                approve,
                by,
                rationale,
            } => {
                crate::change::check_decision(
                    state.change_requests().get(&change),
                    &change,
                    &by,
                    approve,
                    rationale.as_deref(),
                )?;
                let decision = crate::change::ChangeDecision {
                    by,
                    at: now,
                    rationale,
                };
                Ok(vec![if approve {
                    Event::ChangeApproved { change, decision }
                } else {
                    Event::ChangeRejected { change, decision }
                }])
            }
            Command::WithdrawChange { change, by } => {
                let request = state.change_requests().get(&change).ok_or_else(|| {
                    not_found("change request", &change, state.change_requests().keys())
                })?;
                if request.status != crate::change::ChangeStatus::Open {
                    return Err(DomainError::invalid(
                        "change",
                        format!("change request {change} is already {}", request.status),
                    ));
                }
                Ok(vec![Event::ChangeWithdrawn {
                    change,
                    by,
                    at: now,
                }])
            }
            Command::RecordSignal { signal } => {
                if state.has_signal_delivery(&signal.delivery) {
                    return Ok(vec![]);
                }
                if signal.delivery.trim().is_empty() {
                    return Err(DomainError::invalid(
                        "delivery",
                        "a signal needs a delivery id",
                    ));
                }
                self.component(&signal.component)?;
                if let Some(environment) = &signal.environment {
                    self.environment(environment)?;
                }
                let kind = signal.reading.kind();
                // A sender's clock may run a little ahead; one far ahead would stand for
                // minutes that have not happened (and could trip a rollback rule at once).
                if signal.observed_at.as_second()
                    > now
                        .as_second()
                        .saturating_add(MAX_SIGNAL_CLOCK_SKEW_SECONDS)
                {
                    return Err(DomainError::invalid(
                        "observedAt",
                        format!(
                            "{kind} signal for `{}` is observed at {}, more than {} minutes after now ({now}); signals report what has happened",
                            signal.component,
                            signal.observed_at,
                            MAX_SIGNAL_CLOCK_SKEW_SECONDS / 60
                        ),
                    ));
                }
                if let Some(latest) = state.signals().get(&signal.key())
                    && signal.observed_at < latest.observed_at
                {
                    return Err(DomainError::SignalOutOfOrder {
                        component: signal.component,
                        kind,
                        observed_at: signal.observed_at,
                        latest: latest.observed_at,
                    });
                }
                // A signal about a component being deployed may trip a rollback trigger.
                let mut events = crate::run::on_signal(state, &signal);
                events.insert(0, Event::SignalRecorded { signal });
                Ok(events)
            }
            Command::StartRun {
                release,
                runbook,
                by,
                options,
            } => {
                self.open_release(&release)?;
                crate::run::start(state, release, *runbook, by, options, now)
            }
            Command::ChangeRunStep {
                release,
                step,
                to,
                by,
                note,
                break_glass,
                freezes,
            } => crate::run::change_step(
                state,
                crate::run::StepChange {
                    release,
                    step,
                    to,
                    by,
                    note,
                    break_glass,
                    freezes,
                },
                now,
            ),
            Command::StartRollback {
                release,
                by,
                reason,
            } => crate::run::start_rollback(state, release, by, reason, now),
            Command::RecordScenarioResult {
                task,
                scenario,
                result,
            } => {
                let existing = state.integration_tasks().get(&task).ok_or_else(|| {
                    not_found("integration task", &task, state.integration_tasks().keys())
                })?;
                let Some(current) = existing.spec.scenarios.get(scenario) else {
                    return Err(DomainError::invalid(
                        "scenario",
                        format!(
                            "task `{task}` has {} scenarios; there is no number {}",
                            existing.spec.scenarios.len(),
                            scenario + 1
                        ),
                    ));
                };
                if current.result == result {
                    return Ok(vec![]);
                }
                self.open_release(&existing.release)?;
                // A failed integration during a run may trip its rollback trigger.
                let tripped = if result == crate::ScenarioResult::Failed {
                    crate::run::on_scenario_failed(state, existing, scenario, now)
                } else {
                    Vec::new()
                };
                let mut events = vec![Event::ScenarioResultRecorded {
                    task,
                    scenario,
                    result,
                }];
                events.extend(tripped);
                Ok(events)
            }
            checklist @ (Command::DefineChecklistTemplate { .. }
            | Command::CheckItem { .. }
            | Command::DefineApprovalRules { .. }
            | Command::RequestGoNoGo { .. }
            | Command::SignOff { .. }
            | Command::WithdrawSignOff { .. }) => crate::checklist::decide(state, checklist, now),
            contract @ (Command::DefineInterface { .. }
            | Command::RecordVerification { .. }
            | Command::RecordDeployment { .. }
            | Command::ProposeInterfaceChange { .. }
            | Command::DecideInterfaceChange { .. }) => {
                crate::contract::decide(state, contract, now)
            }
        }
    }

    fn team(&self, team: &Name) -> Result<(), DomainError> {
        match self.state.teams().contains_key(team) {
            true => Ok(()),
            false => Err(not_found("team", team, self.state.teams().keys())),
        }
    }

    /// `depends_on` names other known components, and does not close a cycle through
    /// what they depend on: a cycle would leave no deployment order.
    fn component_dependencies(
        &self,
        component: &Name,
        depends_on: &[Name],
    ) -> Result<(), DomainError> {
        let mut seen = BTreeSet::new();
        for dependency in depends_on {
            if dependency == component {
                return Err(DomainError::invalid(
                    "spec.dependsOn",
                    format!("component `{component}` cannot depend on itself"),
                ));
            }
            if !seen.insert(dependency) {
                return Err(DomainError::invalid(
                    "spec.dependsOn",
                    format!("`{dependency}` is listed twice"),
                ));
            }
            self.component(dependency)?;
        }
        // Breadth-first from the new dependencies through the stored ones; reaching
        // `component` again is a cycle, named from the way back.
        let mut came_from: BTreeMap<&Name, &Name> = BTreeMap::new();
        let mut queue: VecDeque<&Name> = VecDeque::new();
        for dependency in depends_on {
            came_from.insert(dependency, component);
            queue.push_back(dependency);
        }
        while let Some(next) = queue.pop_front() {
            let Some(stored) = self.state.components().get(next) else {
                continue;
            };
            for further in &stored.spec.depends_on {
                if further == component {
                    // The way back from `next` to one of the new dependencies.
                    let mut path = vec![next];
                    while let Some(&previous) = path.last().and_then(|at| came_from.get(at))
                        && previous != component
                    {
                        path.push(previous);
                    }
                    let cycle: Vec<String> = std::iter::once(component)
                        .chain(path.into_iter().rev())
                        .chain(std::iter::once(component))
                        .map(Name::to_string)
                        .collect();
                    return Err(DomainError::invalid(
                        "spec.dependsOn",
                        format!(
                            "components depend on each other in a cycle: {}",
                            cycle.join(" → ")
                        ),
                    ));
                }
                if !came_from.contains_key(further) {
                    came_from.insert(further, next);
                    queue.push_back(further);
                }
            }
        }
        Ok(())
    }

    fn component(&self, component: &Name) -> Result<(), DomainError> {
        match self.state.components().contains_key(component) {
            true => Ok(()),
            false => Err(not_found(
                "component",
                component,
                self.state.components().keys(),
            )),
        }
    }

    fn environment(&self, environment: &Name) -> Result<(), DomainError> {
        match self.state.environments().contains_key(environment) {
            true => Ok(()),
            false => Err(not_found(
                "environment",
                environment,
                self.state.environments().keys(),
            )),
        }
    }

    fn member(&self, handle: &Name) -> Result<(), DomainError> {
        match self.state.team_of_member(handle.as_str()) {
            Some(_) => Ok(()),
            None => Err(DomainError::NotFound {
                kind: "member",
                name: handle.to_string(),
                suggestion: suggest::closest(
                    handle.as_str(),
                    self.state
                        .teams()
                        .values()
                        .flat_map(|t| t.spec.members.iter().map(|m| m.handle.as_str())),
                )
                .map(str::to_owned),
            }),
        }
    }

    fn item(&self, item: &Name) -> Result<&crate::Item, DomainError> {
        self.state
            .items()
            .get(item)
            .ok_or_else(|| not_found("item", item, self.state.items().keys()))
    }

    /// The item, if its release can still change.
    fn open_item(&self, item: &Name) -> Result<&crate::Item, DomainError> {
        let existing = self.item(item)?;
        self.open_release(&existing.release)?;
        Ok(existing)
    }

    fn open_release(&self, release: &Name) -> Result<(), DomainError> {
        let existing = self
            .state
            .releases()
            .get(release)
            .ok_or_else(|| not_found("release", release, self.state.releases().keys()))?;
        if existing.state.is_terminal() {
            return Err(DomainError::ReleaseClosed {
                release: release.clone(),
                state: existing.state,
            });
        }
        Ok(())
    }

    fn check_team(&self, team: &Name, spec: &TeamSpec) -> Result<(), DomainError> {
        if spec.working_hours.start >= spec.working_hours.end {
            return Err(DomainError::invalid(
                "spec.workingHours",
                format!(
                    "start {} must be before end {}",
                    spec.working_hours.start, spec.working_hours.end
                ),
            ));
        }
        if spec.working_hours.days.is_empty() {
            return Err(DomainError::invalid(
                "spec.workingHours.days",
                "a team needs at least one working day",
            ));
        }
        let mut handles = BTreeSet::new();
        for member in &spec.members {
            if !handles.insert(&member.handle) {
                return Err(DomainError::Duplicate {
                    kind: "member",
                    name: member.handle.to_string(),
                });
            }
            if let Some(other) = self.state.team_of_member(member.handle.as_str())
                && other != team
            {
                return Err(DomainError::invalid(
                    "spec.members",
                    format!("`{}` is already a member of team `{other}`", member.handle),
                ));
            }
        }
        if let Some(on_call) = &spec.on_call {
            for handle in std::iter::once(&on_call.primary).chain(on_call.backup.as_ref()) {
                if !handles.contains(handle) {
                    return Err(DomainError::invalid(
                        "spec.onCall",
                        format!("`{handle}` is not a member of team `{team}`"),
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_release(&self, spec: &ReleaseSpec) -> Result<(), DomainError> {
        let ordered = [
            ("featureFreeze", spec.feature_freeze),
            ("codeFreeze", spec.code_freeze),
            ("targetDate", Some(spec.target_date)),
        ];
        let present: Vec<(&str, jiff::civil::Date)> = ordered
            .iter()
            .filter_map(|(field, date)| date.map(|d| (*field, d)))
            .collect();
        for pair in present.windows(2) {
            if pair[0].1 > pair[1].1 {
                return Err(DomainError::DatesOutOfOrder {
                    earlier_field: pair[0].0.to_owned(),
                    earlier: pair[0].1,
                    later_field: pair[1].0.to_owned(),
                    later: pair[1].1,
                });
            }
        }
        let mut milestone_names = BTreeSet::new();
        for milestone in &spec.milestones {
            if !milestone_names.insert(&milestone.name) {
                return Err(DomainError::Duplicate {
                    kind: "milestone",
                    name: milestone.name.to_string(),
                });
            }
            let last = milestone.end.unwrap_or(milestone.date);
            if milestone.date > last {
                return Err(DomainError::DatesOutOfOrder {
                    earlier_field: format!("milestone {} date", milestone.name),
                    earlier: milestone.date,
                    later_field: "its end".to_owned(),
                    later: last,
                });
            }
            if last > spec.target_date {
                return Err(DomainError::DatesOutOfOrder {
                    earlier_field: format!("milestone {}", milestone.name),
                    earlier: last,
                    later_field: "targetDate".to_owned(),
                    later: spec.target_date,
                });
            }
        }
        if let Some(manager) = &spec.manager {
            self.member(manager)?;
        }
        if let Some(plan) = &spec.deployment {
            self.environment(&plan.environment)?;
            let mut seen = BTreeSet::new();
            for step in &plan.steps {
                self.component(&step.component)?;
                if !seen.insert(&step.component) {
                    return Err(DomainError::Duplicate {
                        kind: "deployment step for component",
                        name: step.component.to_string(),
                    });
                }
            }
            for pair in plan.steps.windows(2) {
                if pair[0].at > pair[1].at {
                    return Err(DomainError::invalid(
                        "spec.deployment.steps",
                        format!(
                            "{} at {} comes after {} at {}; list steps in time order",
                            pair[0].component, pair[0].at, pair[1].component, pair[1].at
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_item(&self, spec: &ItemSpec) -> Result<(), DomainError> {
        if spec.title.trim().is_empty() {
            return Err(DomainError::invalid("title", "an item needs a title"));
        }
        self.team(&spec.team)?;
        if let Some(component) = &spec.component {
            self.component(component)?;
        }
        for (resource, &amount) in &spec.uses {
            let Some(declared) = self.state.resources().get(resource) else {
                return Err(not_found(
                    "resource",
                    resource,
                    self.state.resources().keys(),
                ));
            };
            if amount == 0 || amount > declared.spec.capacity {
                return Err(DomainError::invalid(
                    format!("uses.{resource}"),
                    format!(
                        "an item can use 1 to {} of {resource} (its capacity), not {amount}",
                        declared.spec.capacity
                    ),
                ));
            }
        }
        if let Some(estimate) = spec.estimate
            && estimate.pessimistic > MAX_DAYS
        {
            return Err(DomainError::invalid(
                "estimate",
                format!(
                    "pessimistic ({} working days) is more than {MAX_DAYS}, about ten years: split the item",
                    estimate.pessimistic
                ),
            ));
        }
        if let Some(estimate) = spec.estimate
            && !(estimate.optimistic <= estimate.likely && estimate.likely <= estimate.pessimistic)
        {
            return Err(DomainError::invalid(
                "estimate",
                format!(
                    "optimistic ({}) ≤ likely ({}) ≤ pessimistic ({}) does not hold",
                    estimate.optimistic, estimate.likely, estimate.pessimistic
                ),
            ));
        }
        Ok(())
    }

    fn check_risk(&self, release: &Name, spec: &crate::RiskSpec) -> Result<(), DomainError> {
        if spec.title.trim().is_empty() {
            return Err(DomainError::invalid("title", "a risk needs a title"));
        }
        self.member(&spec.owner)?;
        let mut seen = BTreeSet::new();
        for item in &spec.items {
            if !seen.insert(item) {
                return Err(DomainError::Duplicate {
                    kind: "item of the risk",
                    name: item.to_string(),
                });
            }
            let existing = self.item(item)?;
            if &existing.release != release {
                return Err(DomainError::invalid(
                    "items",
                    format!(
                        "item `{item}` is in release `{}`; a risk of `{release}` concerns only its own items",
                        existing.release
                    ),
                ));
            }
        }
        if spec
            .feature_flag
            .as_ref()
            .is_some_and(|flag| flag.trim().is_empty())
        {
            return Err(DomainError::invalid(
                "featureFlag",
                "a feature flag needs a name; leave the field out when there is none",
            ));
        }
        Ok(())
    }

    fn check_integration_task(
        &self,
        release: &Name,
        spec: &IntegrationTaskSpec,
    ) -> Result<(), DomainError> {
        if spec.components.len() < 2 {
            return Err(DomainError::invalid(
                "components",
                "an integration task joins at least two components",
            ));
        }
        for component in &spec.components {
            self.component(component)?;
        }
        for owner in &spec.owners {
            self.member(owner)?;
        }
        if let Some(environment) = &spec.environment {
            self.environment(environment)?;
        }
        if let Some(milestone) = &spec.milestone {
            let milestones = self
                .state
                .releases()
                .get(release)
                .map(|r| r.spec.milestones.as_slice())
                .unwrap_or_default();
            if !milestones.iter().any(|m| &m.name == milestone) {
                return Err(not_found(
                    "milestone",
                    milestone,
                    milestones.iter().map(|m| &m.name),
                ));
            }
        }
        Ok(())
    }
}
