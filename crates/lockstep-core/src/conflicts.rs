//! Conflicts between releases: two releases whose release-day deployment windows
//! overlap in the same environment, each with a proposed resolution.
//!
//! A window runs from a release's first deployment step to the end of its last
//! one, on its target date, in its deployment time zone; windows are compared as
//! instants, so releases planned in different time zones are compared correctly.
//! The proposal moves the release that yields (the later one in priority: an
//! emergency or hotfix goes first, then the earlier target, then the name) to
//! start when the other window ends, or later if a blackout or the environment's
//! deploy windows are in the way. A window that overlaps a blackout (a release
//! train departing during a holiday freeze, say) or falls outside the deploy
//! windows is a conflict too, with the first later day when the same local
//! window is clear. Time zones are resolved by the
//! caller, so the module stays pure.

use std::collections::BTreeMap;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::{Name, Release, ReleaseKind, ReleaseSpec, State};

/// One release's deployment window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentWindow {
    /// The release.
    pub release: Name,
    /// Where it deploys.
    pub environment: Name,
    /// First instant.
    pub start: Timestamp,
    /// First instant after it.
    pub end: Timestamp,
    /// Components it deploys.
    pub components: Vec<Name>,
    /// Its deployment time zone.
    pub time_zone: String,
    /// Its first step's local start, and how far before and after it the other steps
    /// start: a moved window keeps them on one day.
    #[serde(skip)]
    pub day: ReleaseDay,
}

/// The shape of a release day: the first step's local start, and the earliest and latest
/// step start relative to it (steps need not be listed in time order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReleaseDay {
    /// The first step's local start.
    pub first: jiff::civil::Time,
    /// The earliest step start minus the first's.
    pub earliest: SignedDuration,
    /// The latest step start minus the first's.
    pub latest: SignedDuration,
}

impl ReleaseDay {
    /// Whether every step of a window starting at `start` (local) starts on its day.
    fn fits(&self, start: DateTime) -> bool {
        [self.earliest, self.latest].iter().all(|offset| {
            start
                .checked_add(*offset)
                .is_ok_and(|at| at.date() == start.date())
        })
    }
}

/// Two releases that would deploy to one environment at the same time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseConflict {
    /// The release that keeps its window.
    pub keeps: Name,
    /// The release asked to move.
    pub moves: Name,
    /// The shared environment.
    pub environment: Name,
    /// Start of the overlap.
    pub overlap_start: Timestamp,
    /// End of the overlap.
    pub overlap_end: Timestamp,
    /// Components both deploy.
    pub shared_components: Vec<Name>,
    /// The proposed new start of `moves`, in its own time zone.
    pub proposed_start: DateTime,
    /// What happens and what to do, in a sentence.
    pub explanation: String,
}

/// The deployment window of every open release that has a deployment plan.
pub fn windows(state: &State, zones: &BTreeMap<String, TimeZone>) -> Vec<DeploymentWindow> {
    state
        .releases()
        .values()
        .filter(|r| !r.state.is_terminal())
        .filter_map(|r| window(r, zones))
        .collect()
}

fn window(release: &Release, zones: &BTreeMap<String, TimeZone>) -> Option<DeploymentWindow> {
    let plan = release.spec.deployment.as_ref()?;
    let zone = zones.get(&plan.time_zone)?;
    let first = plan.steps.first()?;
    let instant = |at: DateTime| {
        at.to_zoned_datetime(zone.clone())
            .ok()
            .map(|zoned| zoned.timestamp())
    };
    let day = release.spec.target_date;
    let start = instant(day.to_datetime(first.at))?;
    let end = plan
        .steps
        .iter()
        .filter_map(|step| {
            let begins = instant(day.to_datetime(step.at))?;
            begins
                .checked_add(SignedDuration::from_mins(i64::from(step.minutes)))
                .ok()
        })
        .max()?;
    let offsets = plan
        .steps
        .iter()
        .map(|step| first.at.duration_until(step.at));
    let shape = ReleaseDay {
        first: first.at,
        earliest: offsets.clone().min().unwrap_or_default(),
        latest: offsets.max().unwrap_or_default(),
    };
    Some(DeploymentWindow {
        release: release.name.clone(),
        environment: plan.environment.clone(),
        start,
        end,
        components: plan.steps.iter().map(|s| s.component.clone()).collect(),
        time_zone: plan.time_zone.clone(),
        day: shape,
    })
}

/// Which of two releases goes first: emergencies and hotfixes, then the earlier
/// target date, then the name.
fn priority(release: &Release) -> (u8, jiff::civil::Date, &Name) {
    let rank = match release.spec.kind {
        ReleaseKind::Emergency => 0,
        ReleaseKind::Hotfix => 1,
        ReleaseKind::OutOfBand => 2,
        ReleaseKind::Regular => 3,
    };
    (rank, release.spec.target_date, &release.name)
}

/// Every pair of overlapping windows in one environment, with a proposal.
pub fn conflicts(state: &State, zones: &BTreeMap<String, TimeZone>) -> Vec<ReleaseConflict> {
    conflicts_where(state, zones, |_| true)
}

/// The pairs of [`conflicts`] with at least one release `wanted` picks: one release's
/// (its page), or those of a period (the calendar), without working out the others'.
pub fn conflicts_where(
    state: &State,
    zones: &BTreeMap<String, TimeZone>,
    wanted: impl Fn(&Release) -> bool,
) -> Vec<ReleaseConflict> {
    let windows = windows(state, zones);
    // Swept in start order per environment: a window meets only those that start
    // before it ends. The pairs keep the order of the releases' names.
    let mut order: Vec<usize> = (0..windows.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&windows[a], &windows[b]);
        (&a.environment, a.start).cmp(&(&b.environment, b.start))
    });
    let mut overlapping = Vec::new();
    for (position, &i) in order.iter().enumerate() {
        let a = &windows[i];
        for &j in &order[position + 1..] {
            let b = &windows[j];
            if b.environment != a.environment || b.start >= a.end {
                break;
            }
            if a.start < b.end {
                overlapping.push((i.min(j), i.max(j)));
            }
        }
    }
    overlapping.sort_unstable();
    let mut pairs = Vec::new();
    for (i, j) in overlapping {
        let (a, b) = (&windows[i], &windows[j]);
        let (Some(release_a), Some(release_b)) = (
            state.releases().get(&a.release),
            state.releases().get(&b.release),
        ) else {
            continue;
        };
        if !(wanted(release_a) || wanted(release_b)) {
            continue;
        }
        pairs.push(if priority(release_a) <= priority(release_b) {
            (a, b)
        } else {
            (b, a)
        });
    }
    let rules = rules_by_environment(
        state,
        zones,
        pairs
            .iter()
            .map(|(keeps, moves)| (&moves.environment, keeps.end)),
    );
    let busy = by_environment(&windows);
    let mut found = Vec::new();
    for (keeps, moves) in pairs {
        let Some(placement) = Placement::of(moves, &rules, &busy, zones) else {
            continue;
        };
        let zone = placement.zone;
        let (clear, in_the_way) = placement.clear_start(keeps.end);
        let proposed_start = clear.to_zoned_datetime(zone.clone()).datetime();
        let after_obstacles: String = in_the_way
            .iter()
            .map(|obstacle| match obstacle {
                Obstacle::Blackout(label) => format!(" and {label} is over"),
                Obstacle::Release(other) => format!(" and {other} is done"),
                Obstacle::OutsideWindows => {
                    format!(", in the next deploy window of {}", moves.environment)
                }
                Obstacle::NextDay => {
                    ", on a later day (its steps would start past midnight)".to_owned()
                }
            })
            .collect();
        let shared_components: Vec<Name> = moves
            .components
            .iter()
            .filter(|c| keeps.components.contains(c))
            .cloned()
            .collect();
        let local = |at: Timestamp| {
            at.to_zoned_datetime(zone.clone())
                .datetime()
                .strftime("%b %-d %H:%M")
                .to_string()
        };
        let shared = if shared_components.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = shared_components.iter().map(Name::as_str).collect();
            format!(", both deploying {}", names.join(", "))
        };
        let explanation = format!(
            "{} and {} deploy to {} at the same time ({}–{} {}){shared}: move {} to start at {} {}, when {} is done{after_obstacles}",
            keeps.release,
            moves.release,
            keeps.environment,
            local(keeps.start.max(moves.start)),
            local(keeps.end.min(moves.end)),
            moves.time_zone,
            moves.release,
            proposed_start.strftime("%b %-d %H:%M"),
            moves.time_zone,
            keeps.release,
        );
        found.push(ReleaseConflict {
            keeps: keeps.release.clone(),
            moves: moves.release.clone(),
            environment: keeps.environment.clone(),
            overlap_start: keeps.start.max(moves.start),
            overlap_end: keeps.end.min(moves.end),
            shared_components,
            proposed_start,
            explanation,
        });
    }
    found
}

/// The rules of each environment named in `moments`, expanded once over the span of its
/// moments instead of once per moment.
fn rules_by_environment<'s, 'n>(
    state: &'s State,
    zones: &BTreeMap<String, TimeZone>,
    moments: impl Iterator<Item = (&'n Name, Timestamp)>,
) -> BTreeMap<&'n Name, EnvironmentRules<'s>> {
    let mut spans: BTreeMap<&Name, (Timestamp, Timestamp)> = BTreeMap::new();
    for (environment, at) in moments {
        let span = spans.entry(environment).or_insert((at, at));
        span.0 = span.0.min(at);
        span.1 = span.1.max(at);
    }
    spans
        .into_iter()
        .map(|(environment, span)| {
            let rules = EnvironmentRules::new(state, zones, environment, span);
            (environment, rules)
        })
        .collect()
}

/// A release whose deployment window breaks its environment's calendar: it
/// overlaps a blackout, or falls outside the environment's deploy windows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowConflict {
    /// The release.
    pub release: Name,
    /// The blackout it overlaps; `None` when it is outside the deploy windows.
    pub blackout: Option<Name>,
    /// Where.
    pub environment: Name,
    /// The first later day when the window, at the same local start time, is
    /// clear; `None` if none within [`SEARCH_DAYS`].
    pub proposed_start: Option<DateTime>,
    /// What happens and what to do, in a sentence.
    pub explanation: String,
}

/// How far ahead a clear day is looked for.
pub const SEARCH_DAYS: i64 = 120;

/// One occurrence of a blackout, as instants; described only when it is in the way.
struct Deny<'s> {
    start: Timestamp,
    end: Timestamp,
    local: (DateTime, DateTime),
    spec: &'s crate::BlackoutSpec,
    blackout: &'s Name,
}

impl Deny<'_> {
    fn label(&self) -> String {
        format!(
            "blackout {} {}–{} {}",
            self.spec.title.as_deref().unwrap_or(self.blackout.as_str()),
            self.local.0.strftime("%b %-d %H:%M"),
            self.local.1.strftime("%b %-d %H:%M"),
            self.spec.time_zone
        )
    }
}

/// Why a window cannot take place where it is.
#[derive(PartialEq, Eq)]
enum Obstacle {
    /// It overlaps this blackout occurrence (described).
    Blackout(String),
    /// It overlaps this other release's window.
    Release(Name),
    /// A step would start on another day than the first.
    NextDay,
    /// It is not inside one of the environment's deploy windows.
    OutsideWindows,
}

/// When an environment may take a deploy, as instants, from a day before a first
/// moment to [`SEARCH_DAYS`] after a last one.
struct EnvironmentRules<'s> {
    /// Blackout occurrences in start order.
    denies: Vec<Deny<'s>>,
    /// Deploy-window occurrences in start order; `None` when deploys may happen
    /// at any time.
    allows: Option<Vec<(Timestamp, Timestamp)>>,
}

/// Every occurrence of a window in `zone` near `from`, as instants.
fn instants(
    occurrences: Vec<(DateTime, DateTime)>,
    zone: &TimeZone,
) -> impl Iterator<Item = (DateTime, DateTime, Timestamp, Timestamp)> + '_ {
    occurrences.into_iter().filter_map(move |(start, end)| {
        let at = |t: DateTime| {
            t.to_zoned_datetime(zone.clone())
                .ok()
                .map(|z| z.timestamp())
        };
        Some((start, end, at(start)?, at(end)?))
    })
}

impl<'s> EnvironmentRules<'s> {
    fn new(
        state: &'s State,
        zones: &BTreeMap<String, TimeZone>,
        environment: &Name,
        (from, until): (Timestamp, Timestamp),
    ) -> EnvironmentRules<'s> {
        let range = |zone: &TimeZone| {
            let local = |at: Timestamp, days: i64| {
                at.checked_add(SignedDuration::from_hours(24 * days))
                    .unwrap_or(at)
                    .to_zoned_datetime(zone.clone())
                    .datetime()
            };
            (local(from, -1), local(until, SEARCH_DAYS + 1))
        };
        let mut denies = Vec::new();
        for blackout in state.blackouts().values() {
            let spec = &blackout.spec;
            if !(spec.environments.is_empty() || spec.environments.contains(environment)) {
                continue;
            }
            let Some(zone) = zones.get(&spec.time_zone) else {
                continue;
            };
            let (lo, hi) = range(zone);
            for (start, end, start_at, end_at) in
                instants(spec.occurrences(lo, hi, Some(zone)), zone)
            {
                denies.push(Deny {
                    start: start_at,
                    end: end_at,
                    local: (start, end),
                    spec,
                    blackout: &blackout.name,
                });
            }
        }
        denies.sort_by_key(|d| d.start);
        let windows = state
            .environments()
            .get(environment)
            .map(|e| e.spec.deploy_windows.as_slice())
            .unwrap_or_default();
        let allows = (!windows.is_empty()).then(|| {
            let mut allows: Vec<(Timestamp, Timestamp)> = windows
                .iter()
                .filter_map(|w| Some((w, zones.get(&w.time_zone)?)))
                .flat_map(|(w, zone)| {
                    let (lo, hi) = range(zone);
                    instants(w.occurrences(lo, hi, Some(zone)), zone)
                        .map(|(_, _, s, e)| (s, e))
                        .collect::<Vec<_>>()
                })
                .collect();
            allows.sort();
            allows
        });
        EnvironmentRules { denies, allows }
    }

    fn overlapping(
        &self,
        start: Timestamp,
        length: SignedDuration,
    ) -> impl Iterator<Item = &Deny<'s>> {
        let end = start.checked_add(length).unwrap_or(start);
        self.denies
            .iter()
            .filter(move |d| d.start < end && start < d.end)
    }

    /// Whether a window lies inside one deploy-window occurrence (or there are none).
    fn inside_allowed(&self, start: Timestamp, length: SignedDuration) -> bool {
        let end = start.checked_add(length).unwrap_or(start);
        self.allows
            .as_ref()
            .is_none_or(|allows| allows.iter().any(|(s, e)| *s <= start && end <= *e))
    }

    /// What keeps a window of `length` at `start` out.
    fn obstacle(&self, start: Timestamp, length: SignedDuration) -> Option<Obstacle> {
        if let Some(deny) = self.overlapping(start, length).next() {
            return Some(Obstacle::Blackout(deny.label()));
        }
        (!self.inside_allowed(start, length)).then_some(Obstacle::OutsideWindows)
    }

    /// The start of the first deploy-window occurrence after `at`.
    fn next_allowed(&self, at: Timestamp) -> Option<Timestamp> {
        self.allows
            .as_ref()?
            .iter()
            .map(|(start, _)| *start)
            .find(|start| *start > at)
    }
}

/// The windows of one environment in start order, and the longest of them.
struct Busy<'a> {
    windows: Vec<&'a DeploymentWindow>,
    longest: SignedDuration,
}

/// The windows of every environment.
fn by_environment(windows: &[DeploymentWindow]) -> BTreeMap<&Name, Busy<'_>> {
    let mut busy: BTreeMap<&Name, Busy<'_>> = BTreeMap::new();
    for window in windows {
        let entry = busy.entry(&window.environment).or_insert(Busy {
            windows: Vec::new(),
            longest: SignedDuration::ZERO,
        });
        entry.windows.push(window);
        entry.longest = entry.longest.max(window.start.duration_until(window.end));
    }
    for busy in busy.values_mut() {
        busy.windows.sort_by_key(|w| w.start);
    }
    busy
}

impl Busy<'_> {
    /// The window other than `release`'s overlapping `[start, end)` that ends last: found
    /// among those starting before `end`, walking back no further than the longest window
    /// can reach.
    fn overlapping(
        &self,
        release: &Name,
        start: Timestamp,
        end: Timestamp,
    ) -> Option<&DeploymentWindow> {
        let before_end = self.windows.partition_point(|w| w.start < end);
        let reach = start.checked_sub(self.longest).unwrap_or(start);
        self.windows[..before_end]
            .iter()
            .rev()
            .take_while(|w| w.start >= reach)
            .filter(|w| &w.release != release && start < w.end)
            .max_by_key(|w| w.end)
            .copied()
    }
}

/// Where a release's window may move: clear of its environment's blackouts and of the
/// other releases' windows there, inside a deploy window, with every step on one day.
struct Placement<'a, 's> {
    window: &'a DeploymentWindow,
    length: SignedDuration,
    rules: &'a EnvironmentRules<'s>,
    busy: Option<&'a Busy<'a>>,
    zone: &'a TimeZone,
}

impl<'a, 's> Placement<'a, 's> {
    fn of(
        window: &'a DeploymentWindow,
        rules: &'a BTreeMap<&Name, EnvironmentRules<'s>>,
        busy: &'a BTreeMap<&Name, Busy<'a>>,
        zones: &'a BTreeMap<String, TimeZone>,
    ) -> Option<Placement<'a, 's>> {
        Some(Placement {
            window,
            length: window.start.duration_until(window.end),
            rules: rules.get(&window.environment)?,
            busy: busy.get(&window.environment),
            zone: zones.get(&window.time_zone)?,
        })
    }

    /// What keeps the window out of `start`, and the next instant worth trying.
    fn obstacle(&self, start: Timestamp) -> Option<(Obstacle, Option<Timestamp>)> {
        if let Some(deny) = self
            .rules
            .overlapping(start, self.length)
            .max_by_key(|d| d.end)
        {
            return Some((Obstacle::Blackout(deny.label()), Some(deny.end)));
        }
        let end = start.checked_add(self.length).unwrap_or(start);
        if let Some(other) = self
            .busy
            .and_then(|busy| busy.overlapping(&self.window.release, start, end))
        {
            return Some((Obstacle::Release(other.release.clone()), Some(other.end)));
        }
        let local = start.to_zoned_datetime(self.zone.clone()).datetime();
        if !self.window.day.fits(local) {
            // The next day, at the release's own start time.
            let next = local
                .date()
                .tomorrow()
                .ok()
                .map(|day| day.to_datetime(self.window.day.first))
                .and_then(|at| at.to_zoned_datetime(self.zone.clone()).ok())
                .map(|at| at.timestamp());
            return Some((Obstacle::NextDay, next));
        }
        (!self.rules.inside_allowed(start, self.length))
            .then(|| (Obstacle::OutsideWindows, self.rules.next_allowed(start)))
    }

    /// The earliest instant at or after `from` that is clear, with what was in the way on
    /// the way there; `from` itself if none is found within [`SEARCH_DAYS`].
    fn clear_start(&self, from: Timestamp) -> (Timestamp, Vec<Obstacle>) {
        let horizon = from
            .checked_add(SignedDuration::from_hours(24 * SEARCH_DAYS))
            .unwrap_or(from);
        let mut at = from;
        let mut in_the_way = Vec::new();
        // Each step moves strictly later, so the loop ends; the bound only guards
        // against pathological calendars.
        for _ in 0..10_000 {
            let Some((obstacle, next)) = self.obstacle(at) else {
                return (at, in_the_way);
            };
            if !in_the_way.contains(&obstacle) {
                in_the_way.push(obstacle);
            }
            match next {
                Some(next) if next > at && next <= horizon => at = next,
                _ => break,
            }
        }
        (from, Vec::new())
    }
}

/// Every open release whose deployment window overlaps a blackout of its
/// environment or falls outside its deploy windows, with the first later day
/// that is clear at the same local time.
pub fn window_conflicts(state: &State, zones: &BTreeMap<String, TimeZone>) -> Vec<WindowConflict> {
    window_conflicts_where(state, zones, |_| true)
}

/// The conflicts of [`window_conflicts`] of the releases `wanted` picks.
pub fn window_conflicts_where(
    state: &State,
    zones: &BTreeMap<String, TimeZone>,
    wanted: impl Fn(&Release) -> bool,
) -> Vec<WindowConflict> {
    let all = windows(state, zones);
    let windows: Vec<&DeploymentWindow> = all
        .iter()
        .filter(|w| state.releases().get(&w.release).is_some_and(&wanted))
        .collect();
    let rules = rules_by_environment(
        state,
        zones,
        windows.iter().map(|w| (&w.environment, w.start)),
    );
    let busy = by_environment(&all);
    let mut found = Vec::new();
    for window in windows {
        let Some(placement) = Placement::of(window, &rules, &busy, zones) else {
            continue;
        };
        let (zone, rules, length) = (placement.zone, placement.rules, placement.length);
        let Some(obstacle) = rules.obstacle(window.start, length) else {
            continue;
        };
        let blackout = rules
            .overlapping(window.start, length)
            .next()
            .map(|d| d.blackout.clone());
        let local_start = window.start.to_zoned_datetime(zone.clone()).datetime();
        let proposed_start = (1..=SEARCH_DAYS).find_map(|days| {
            let candidate = local_start.checked_add(jiff::Span::new().days(days)).ok()?;
            let at = candidate.to_zoned_datetime(zone.clone()).ok()?.timestamp();
            placement.obstacle(at).is_none().then_some(candidate)
        });
        let local = |at: Timestamp| {
            at.to_zoned_datetime(zone.clone())
                .datetime()
                .strftime("%b %-d %H:%M")
                .to_string()
        };
        let advice = match proposed_start {
            Some(at) => format!(
                "move it to {} {}, the first day the same window is clear",
                at.strftime("%a %b %-d %H:%M"),
                window.time_zone
            ),
            None => format!(
                "no clear day within {SEARCH_DAYS} days at the same time: pick another window"
            ),
        };
        let clash = match obstacle {
            Obstacle::Blackout(label) => format!("during {label}"),
            _ => "outside its deploy windows".to_owned(),
        };
        found.push(WindowConflict {
            release: window.release.clone(),
            blackout,
            environment: window.environment.clone(),
            proposed_start,
            explanation: format!(
                "{} deploys to {} {clash} ({}–{} {}): {advice}",
                window.release,
                window.environment,
                local(window.start),
                local(window.end),
                window.time_zone,
            ),
        });
    }
    found
}

/// Where the conflicts propose to move `release`: the proposed start of the first conflict
/// that asks it to yield, between releases first, then with the calendar.
pub fn proposed_move(
    state: &State,
    zones: &BTreeMap<String, TimeZone>,
    release: &Name,
) -> Option<DateTime> {
    let only = |r: &Release| &r.name == release;
    conflicts_where(state, zones, only)
        .into_iter()
        .find(|c| &c.moves == release)
        .map(|c| c.proposed_start)
        .or_else(|| {
            window_conflicts_where(state, zones, only)
                .into_iter()
                .find_map(|c| c.proposed_start)
        })
}

/// `spec` with its release day moved so that the deployment's first step starts at
/// `start`, in the deployment's time zone: the target date becomes `start`'s day and every
/// step keeps its distance from the first. Without a deployment plan only the target date
/// moves. Freezes and milestones stay where they are; a move before them is refused when
/// the moved release is decided, like any other date.
///
/// Refused when the release already starts then, or when a step would start on another
/// day (a step's time is a time of its release day).
pub fn moved(spec: &ReleaseSpec, start: DateTime) -> Result<ReleaseSpec, String> {
    let mut moved = spec.clone();
    moved.target_date = start.date();
    let Some(plan) = moved.deployment.as_mut() else {
        if spec.target_date == start.date() {
            return Err(format!("it is already planned for {}", start.date()));
        }
        return Ok(moved);
    };
    let Some(first) = plan.steps.first() else {
        if spec.target_date == start.date() {
            return Err(format!("it is already planned for {}", start.date()));
        }
        return Ok(moved);
    };
    let was = spec.target_date.to_datetime(first.at);
    if was == start {
        return Err(format!(
            "its deployment already starts at {} {}",
            start.strftime("%Y-%m-%d %H:%M"),
            plan.time_zone
        ));
    }
    let by = was.duration_until(start);
    for step in &mut plan.steps {
        let at = spec
            .target_date
            .to_datetime(step.at)
            .checked_add(by)
            .map_err(|_| format!("{start} is out of range"))?;
        if at.date() != start.date() {
            return Err(format!(
                "its step `{}` would start at {} {}, a day other than the release day {}: \
                 a deployment's steps are on one day, so pick an earlier start",
                step.component,
                at.strftime("%Y-%m-%d %H:%M"),
                plan.time_zone,
                start.date(),
            ));
        }
        step.at = at.time();
    }
    Ok(moved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(steps: serde_json::Value) -> ReleaseSpec {
        serde_json::from_value(serde_json::json!({
            "targetDate": "2025-03-04",
            "codeFreeze": "2025-02-25",
            "deployment": {
                "environment": "production",
                "timeZone": "America/New_York",
                "steps": steps,
            },
        }))
        .expect("a release spec")
    }

    fn at(raw: &str) -> DateTime {
        raw.parse().expect("a civil datetime")
    }

    #[test]
    fn a_move_shifts_the_release_day_and_keeps_the_steps_apart() {
        let before = spec(serde_json::json!([
            {"component": "backend", "at": "06:00", "minutes": 60},
            {"component": "frontend", "at": "08:30"},
        ]));
        let after = moved(&before, at("2025-03-06T13:00")).expect("moved");
        assert_eq!(after.target_date, at("2025-03-06T00:00").date());
        let steps: Vec<String> = after
            .deployment
            .as_ref()
            .expect("plan")
            .steps
            .iter()
            .map(|s| format!("{} {}", s.component, s.at))
            .collect();
        assert_eq!(steps, ["backend 13:00:00", "frontend 15:30:00"]);
        assert_eq!(after.code_freeze, before.code_freeze, "freezes stay");

        // Earlier in the same day is a move too.
        let earlier = moved(&before, at("2025-03-04T05:00")).expect("moved");
        assert_eq!(earlier.target_date, before.target_date);
    }

    #[test]
    fn a_move_that_splits_the_release_day_or_moves_nothing_is_refused() {
        let before = spec(serde_json::json!([
            {"component": "backend", "at": "06:00"},
            {"component": "frontend", "at": "08:30"},
        ]));
        let error = moved(&before, at("2025-03-05T22:00")).expect_err("past midnight");
        assert!(
            error.contains("its step `frontend` would start at 2025-03-06 00:30 America/New_York"),
            "{error}"
        );
        let error = moved(&before, at("2025-03-04T06:00")).expect_err("no move");
        assert!(
            error.contains("already starts at 2025-03-04 06:00 America/New_York"),
            "{error}"
        );

        let mut unplanned = before.clone();
        unplanned.deployment = None;
        let after = moved(&unplanned, at("2025-03-11T10:00")).expect("moved");
        assert_eq!(after.target_date, at("2025-03-11T00:00").date());
        let error = moved(&unplanned, at("2025-03-04T10:00")).expect_err("same day");
        assert!(error.contains("already planned for 2025-03-04"), "{error}");
    }
}
