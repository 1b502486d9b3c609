//! At-risk propagation: which items (and releases) a slipped ETA endangers, and why.
//!
//! An item's *projected finish* is its ETA (else its due date), pushed later by
//! any blocker whose projected finish is after the dependency's need-by date: the
//! blocked item slips by that many days. A dependency whose blocker finishes after
//! `need_by - buffer` has consumed its buffer: the blocked item is at risk. An item
//! projected past its due date or past its release's code freeze is at risk, and
//! so is its release. Every risk carries the causal chain that explains it.
//!
//! This is a derived view: a pure function of the state, computed in one linear
//! pass over the dependency graph in topological order ([`assess`]) and updated
//! after a change to one item by re-evaluating only what lies downstream of it
//! ([`RiskReport::update`]). Each at-risk item keeps its own link and a pointer to
//! the upstream item that caused it, so chains cost nothing until they are shown
//! ([`RiskReport::chain`]). It does not schedule (that is `lockstep-plan`'s job)
//! and ignores items without dates.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use jiff::civil::Date;
use serde::Serialize;

use crate::{Item, Name, State};

/// Why one item is at risk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemRisk {
    /// The item at risk.
    pub item: Name,
    /// Its finish as projected through its blockers.
    pub projected_finish: Date,
    /// This item's link of the causal chain, one human sentence.
    pub link: String,
    /// The upstream at-risk item whose chain comes before `link`, if any.
    pub cause: Option<Name>,
    /// Number of links in the whole chain.
    pub depth: usize,
    /// Whether a blocker caused it (rather than the item's own ETA).
    pub upstream: bool,
}

/// Why one release is at risk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRisk {
    /// The release.
    pub release: Name,
    /// Its target date.
    pub target_date: Date,
    /// The items that put it at risk.
    pub items: Vec<Name>,
    /// The longest causal chain among them, ending at the release.
    pub chain: Vec<String>,
}

/// Every risk in the program.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RiskReport {
    /// At-risk items by name.
    pub items: BTreeMap<Name, ItemRisk>,
    /// At-risk releases by name.
    pub releases: BTreeMap<Name, ReleaseRisk>,
    /// Projected finish of every dated item, at risk or not.
    #[serde(skip)]
    projected: HashMap<Name, Date>,
    /// Per release, the at-risk items projected past their deadline (due date or
    /// code freeze), with their chain depth and whether a blocker caused them:
    /// what puts the release at risk, and which of them explains it best.
    #[serde(skip)]
    late: HashMap<Name, BTreeMap<Name, (usize, bool)>>,
}

/// `Feb 8`: the chains are read by people, and `strftime` would dominate the cost
/// of a full assessment.
fn short(date: Date) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS[usize::from(date.month().unsigned_abs()).saturating_sub(1) % 12];
    format!("{month} {}", date.day())
}

fn title(item: &Item) -> &str {
    &item.spec.title
}

/// Computes every at-risk item and release of `state`.
pub fn assess(state: &State) -> RiskReport {
    let mut report = RiskReport::default();
    for name in topological_items(state) {
        report.evaluate(state, name);
    }
    for release in state.releases().keys() {
        report.evaluate_release(state, release);
    }
    report
}

impl RiskReport {
    /// The causal chain of an at-risk item, root cause first (empty when the item
    /// is not at risk).
    pub fn chain(&self, item: &Name) -> Vec<String> {
        let mut links = Vec::new();
        let mut at = self.items.get(item);
        while let Some(risk) = at {
            links.push(risk.link.clone());
            at = risk.cause.as_ref().and_then(|cause| self.items.get(cause));
            if links.len() > self.items.len() {
                break; // Causes point upstream in a DAG; this only guards the loop.
            }
        }
        links.reverse();
        links
    }

    /// Brings the report up to date after `changed` (its ETA, due date, status or
    /// dependencies) changed, re-evaluating only `changed` and what it blocks,
    /// directly or not, and the releases they belong to.
    pub fn update(&mut self, state: &State, changed: &Name) {
        let mut releases: BTreeSet<&Name> = BTreeSet::new();
        // An item is re-evaluated only if a blocker of it came out changed: the
        // evaluation stops spreading where a slip is absorbed by a buffer.
        let mut dirty: HashSet<&Name> = HashSet::from([changed]);
        for name in downstream_in_order(state, changed) {
            if let Some(item) = state.items().get(name) {
                releases.insert(&item.release);
            }
            if dirty.contains(name) && self.evaluate(state, name) {
                dirty.extend(state.blocks(name).map(|d| &d.blocked));
            }
        }
        for release in releases {
            self.evaluate_release(state, release);
        }
    }

    /// Re-evaluates one item from its blockers' projected finishes; says whether
    /// its projected finish or its risk changed.
    fn evaluate(&mut self, state: &State, name: &Name) -> bool {
        let previous = self.items.remove(name);
        let previous_finish = self.projected.remove(name);
        let Some(item) = state.items().get(name) else {
            self.set_late(state, name, None, previous.as_ref());
            return previous.is_some() || previous_finish.is_some();
        };
        // Delivered work is late no more and holds nobody up, whatever its last ETA said.
        if item.status.is_ready() {
            self.set_late(state, name, None, previous.as_ref());
            return previous.is_some() || previous_finish.is_some();
        }
        let mut finish = item.eta.or(item.spec.due);
        // The dependency that explains the risk: the one with the longest chain.
        let mut worst: Option<(&crate::Dependency, Date, Option<&ItemRisk>, usize)> = None;
        for dependency in state.blocked_by(name) {
            let (Some(need_by), Some(&blocker_finish)) =
                (dependency.need_by, self.projected.get(&dependency.blocker))
            else {
                continue;
            };
            let threshold =
                crate::add_days(need_by, -i64::from(dependency.buffer_days)).unwrap_or(need_by);
            if blocker_finish <= threshold {
                continue;
            }
            if blocker_finish > need_by {
                let slip = (blocker_finish - need_by).get_days();
                finish = finish
                    .and_then(|f| f.checked_add(jiff::Span::new().days(slip)).ok())
                    .or(Some(blocker_finish));
            }
            // The chain goes through the blocker when the blocker was itself pushed
            // by something upstream; a blocker late on its own ETA is the root
            // cause and its ETA says it all.
            let upstream = self.items.get(&dependency.blocker).filter(|r| r.upstream);
            let depth = upstream.map_or(1, |r| r.depth + 1);
            if worst.is_none_or(|(_, _, _, worst_depth)| depth > worst_depth) {
                worst = Some((dependency, blocker_finish, upstream, depth));
            }
        }
        let Some(finish) = finish else {
            self.set_late(state, name, None, previous.as_ref());
            return previous.is_some() || previous_finish.is_some();
        };
        self.projected.insert(name.clone(), finish);
        let risk = match worst {
            Some((dependency, blocker_finish, upstream, depth)) => {
                let blocker = state
                    .items()
                    .get(&dependency.blocker)
                    .map_or(dependency.blocker.as_str(), title);
                let need_by = dependency.need_by.unwrap_or(blocker_finish);
                let buffer = if dependency.buffer_days > 0 {
                    format!(" − {} d buffer", dependency.buffer_days)
                } else {
                    String::new()
                };
                let verb = if upstream.is_some() {
                    "projected"
                } else {
                    "ETA"
                };
                Some(ItemRisk {
                    item: name.clone(),
                    projected_finish: finish,
                    link: format!(
                        "{blocker} {verb} {} > need-by {}{buffer} → {} at risk",
                        short(blocker_finish),
                        short(need_by),
                        title(item)
                    ),
                    cause: upstream.map(|r| r.item.clone()),
                    depth,
                    upstream: true,
                })
            }
            None => item
                .spec
                .due
                .filter(|due| finish > *due)
                .map(|due| ItemRisk {
                    item: name.clone(),
                    projected_finish: finish,
                    link: format!(
                        "{} ETA {} > due {} → at risk",
                        title(item),
                        short(finish),
                        short(due)
                    ),
                    cause: None,
                    depth: 1,
                    upstream: false,
                }),
        };
        let deadline = || {
            let release = state.releases().get(&item.release);
            item.spec
                .due
                .into_iter()
                .chain(release.and_then(|r| r.spec.code_freeze))
                .min()
        };
        let late = risk
            .as_ref()
            .filter(|risk| deadline().is_some_and(|d| risk.projected_finish > d));
        self.set_late(state, name, late, previous.as_ref());
        let changed = previous != risk || previous_finish != Some(finish);
        if let Some(risk) = risk {
            self.items.insert(name.clone(), risk);
        }
        changed
    }

    /// Keeps the per-release set of items projected past their deadline.
    fn set_late(
        &mut self,
        state: &State,
        name: &Name,
        late: Option<&ItemRisk>,
        previous: Option<&ItemRisk>,
    ) {
        let Some(release) = state.items().get(name).map(|item| &item.release) else {
            return;
        };
        match late {
            Some(risk) => {
                self.late
                    .entry(release.clone())
                    .or_default()
                    .insert(name.clone(), (risk.depth, risk.upstream));
            }
            None => {
                if previous.is_some()
                    && let Some(set) = self.late.get_mut(release)
                {
                    set.remove(name);
                    // As a full assessment leaves it: no entry for a release with none late.
                    if set.is_empty() {
                        self.late.remove(release);
                    }
                }
            }
        }
    }

    /// Re-evaluates one release from its late items.
    fn evaluate_release(&mut self, state: &State, release: &Name) {
        self.releases.remove(release);
        let Some(release) = state
            .releases()
            .get(release)
            .filter(|release| !release.state.is_terminal())
        else {
            return;
        };
        let Some(late) = self.late.get(&release.name).filter(|late| !late.is_empty()) else {
            return;
        };
        // Explain with the longest chain, preferring one that shows propagation;
        // `late` is in name order, so ties go to the first name.
        let explained = late
            .iter()
            .rev()
            .max_by_key(|(_, rank)| **rank)
            .map(|(name, _)| name.clone());
        let items: Vec<Name> = late.keys().cloned().collect();
        let Some(explained) = explained else { return };
        let mut chain = self.chain(&explained);
        chain.push(format!(
            "release {} at risk",
            short(release.spec.target_date)
        ));
        self.releases.insert(
            release.name.clone(),
            ReleaseRisk {
                release: release.name.clone(),
                target_date: release.spec.target_date,
                items,
                chain,
            },
        );
    }
}

/// `start` and every item it blocks, directly or not, blockers first: the reverse
/// postorder of a depth-first search, which is a topological order of what the
/// search reaches. Iterative, so that a long chain cannot overflow the stack.
fn downstream_in_order<'a>(state: &'a State, start: &'a Name) -> Vec<&'a Name> {
    let mut seen: HashSet<&Name> = HashSet::from([start]);
    let mut postorder = Vec::new();
    let mut stack = vec![(start, state.blocks(start))];
    while let Some((name, successors)) = stack.last_mut() {
        match successors.next() {
            Some(dependency) => {
                let next = &dependency.blocked;
                if seen.insert(next) {
                    stack.push((next, state.blocks(next)));
                }
            }
            None => {
                postorder.push(*name);
                stack.pop();
            }
        }
    }
    postorder.reverse();
    postorder
}

/// Every item in an order where every blocker comes before what it blocks
/// (Kahn's algorithm). Items on a cycle, which `decide` never lets in, are left out.
fn topological_items(state: &State) -> Vec<&Name> {
    let mut indegree: HashMap<&Name, usize> = state
        .items()
        .keys()
        .map(|name| (name, state.blocked_by(name).count()))
        .collect();
    let mut ready: Vec<&Name> = indegree
        .iter()
        .filter(|(_, count)| **count == 0)
        .map(|(name, _)| *name)
        .collect();
    ready.sort_unstable_by(|a, b| b.cmp(a));
    let mut order = Vec::with_capacity(indegree.len());
    while let Some(name) = ready.pop() {
        order.push(name);
        for dependency in state.blocks(name) {
            if let Some(count) = indegree.get_mut(&dependency.blocked) {
                *count -= 1;
                if *count == 0 {
                    ready.push(&dependency.blocked);
                }
            }
        }
    }
    order
}
