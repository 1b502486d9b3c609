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
}

fn short(date: Date) -> String {
    date.strftime("%b %-d").to_string()
}

fn title(item: &Item) -> &str {
    &item.spec.title
}

/// Computes every at-risk item and release of `state`.
pub fn assess(state: &State) -> RiskReport {
    let mut report = RiskReport::default();
    for name in topological_items(state, None) {
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
        let cone = downstream(state, changed);
        let mut releases: BTreeSet<&Name> = BTreeSet::new();
        for name in topological_items(state, Some(&cone)) {
            self.evaluate(state, name);
            if let Some(item) = state.items().get(name) {
                releases.insert(&item.release);
            }
        }
        for release in releases {
            self.evaluate_release(state, release);
        }
    }

    /// Re-evaluates one item from its blockers' projected finishes.
    fn evaluate(&mut self, state: &State, name: &Name) {
        self.items.remove(name);
        self.projected.remove(name);
        let Some(item) = state.items().get(name) else {
            return;
        };
        let mut finish = item.eta.or(item.spec.due);
        let mut worst: Option<ItemRisk> = None;
        for dependency in state.blocked_by(name) {
            let (Some(need_by), Some(&blocker_finish)) =
                (dependency.need_by, self.projected.get(&dependency.blocker))
            else {
                continue;
            };
            let threshold = need_by
                .checked_sub(jiff::Span::new().days(i64::from(dependency.buffer_days)))
                .unwrap_or(need_by);
            if blocker_finish <= threshold {
                continue;
            }
            if blocker_finish > need_by {
                let slip = (blocker_finish - need_by).get_days();
                finish = finish
                    .and_then(|f| f.checked_add(jiff::Span::new().days(slip)).ok())
                    .or(Some(blocker_finish));
            }
            let Some(blocker) = state.items().get(&dependency.blocker) else {
                continue;
            };
            // The chain goes through the blocker when the blocker was itself pushed
            // by something upstream; a blocker late on its own ETA is the root
            // cause and its ETA says it all.
            let upstream = self.items.get(&dependency.blocker).filter(|r| r.upstream);
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
            let depth = upstream.map_or(1, |r| r.depth + 1);
            if worst.as_ref().is_none_or(|w| depth > w.depth) {
                worst = Some(ItemRisk {
                    item: name.clone(),
                    projected_finish: blocker_finish, // replaced below
                    link: format!(
                        "{} {verb} {} > need-by {}{buffer} → {} at risk",
                        title(blocker),
                        short(blocker_finish),
                        short(need_by),
                        title(item)
                    ),
                    cause: upstream.map(|r| r.item.clone()),
                    depth,
                    upstream: true,
                });
            }
        }
        let Some(finish) = finish else { return };
        self.projected.insert(name.clone(), finish);
        if worst.is_none()
            && let Some(due) = item.spec.due.filter(|due| finish > *due)
        {
            worst = Some(ItemRisk {
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
            });
        }
        if let Some(mut risk) = worst {
            risk.projected_finish = finish;
            self.items.insert(name.clone(), risk);
        }
    }

    /// Re-evaluates one release from its items' risks.
    fn evaluate_release(&mut self, state: &State, release: &Name) {
        self.releases.remove(release);
        let Some(release) = state.releases().get(release) else {
            return;
        };
        let deadline_of = |item: &Item| {
            item.spec
                .due
                .into_iter()
                .chain(release.spec.code_freeze)
                .min()
        };
        let mut late: Vec<&ItemRisk> = state
            .items_of(&release.name)
            .filter_map(|item| {
                let risk = self.items.get(&item.name)?;
                (risk.projected_finish > deadline_of(item)?).then_some(risk)
            })
            .collect();
        if late.is_empty() {
            return;
        }
        // Explain with the longest chain, preferring one that shows propagation.
        late.sort_by_key(|risk| {
            (
                std::cmp::Reverse((risk.depth, risk.upstream)),
                risk.item.clone(),
            )
        });
        let mut chain = self.chain(&late[0].item);
        chain.push(format!(
            "release {} at risk",
            short(release.spec.target_date)
        ));
        let items = late.iter().map(|risk| risk.item.clone()).collect();
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

/// `start` and every item it blocks, directly or not.
fn downstream<'a>(state: &'a State, start: &'a Name) -> HashSet<&'a Name> {
    let mut seen: HashSet<&Name> = HashSet::from([start]);
    let mut stack = vec![start];
    while let Some(name) = stack.pop() {
        for dependency in state.blocks(name) {
            if seen.insert(&dependency.blocked) {
                stack.push(&dependency.blocked);
            }
        }
    }
    seen
}

/// Items (all, or those of `only`) in an order where every blocker comes before
/// what it blocks (Kahn's algorithm). Items on a cycle, which `decide` never lets
/// in, are left out.
fn topological_items<'a>(state: &'a State, only: Option<&HashSet<&'a Name>>) -> Vec<&'a Name> {
    let included = |name: &Name| only.is_none_or(|set| set.contains(name));
    let mut indegree: HashMap<&Name, usize> = state
        .items()
        .keys()
        .filter(|name| included(name))
        .map(|name| (name, 0))
        .collect();
    for (name, count) in indegree.iter_mut() {
        *count = state
            .blocked_by(name)
            .filter(|d| included(&d.blocker))
            .count();
    }
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
