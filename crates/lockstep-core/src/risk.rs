//! At-risk propagation: which items (and releases) a slipped ETA endangers, and why.
//!
//! An item's *projected finish* is its ETA (else its due date), pushed later by
//! any blocker whose projected finish is after the dependency's need-by date: the
//! blocked item slips by that many days. A dependency whose blocker finishes after
//! `need_by - buffer` has consumed its buffer: the blocked item is at risk. An item
//! projected past its due date or past its release's code freeze is at risk, and
//! so is its release. Every risk carries the causal chain that explains it.
//!
//! This is a derived view: a pure function of the state, recomputed in one linear
//! pass over the dependency graph in topological order. It does not schedule
//! (that is `lockstep-plan`'s job) and ignores items without dates.

use std::collections::{BTreeMap, HashMap};

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
    /// The causal chain, root cause first, one human sentence per link.
    pub chain: Vec<String>,
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
}

fn short(date: Date) -> String {
    date.strftime("%b %-d").to_string()
}

fn title(item: &Item) -> &str {
    &item.spec.title
}

/// Computes every at-risk item and release of `state`.
pub fn assess(state: &State) -> RiskReport {
    let order = topological_items(state);
    let mut projected: HashMap<&Name, Date> = HashMap::with_capacity(order.len());
    let mut report = RiskReport::default();
    for name in order {
        let Some(item) = state.items().get(name) else {
            continue;
        };
        let own = item.eta.or(item.spec.due);
        let mut finish = own;
        let mut chain: Option<(Vec<String>, bool)> = None;
        for dependency in state.blocked_by(name) {
            let (Some(need_by), Some(&blocker_finish)) =
                (dependency.need_by, projected.get(&dependency.blocker))
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
            // The explanation starts with the blocker's chain when the blocker was
            // itself pushed by something upstream; a blocker late on its own ETA is
            // the root cause and its ETA says it all.
            let upstream = report.items.get(&dependency.blocker).filter(|r| r.upstream);
            let mut links = upstream.map(|r| r.chain.clone()).unwrap_or_default();
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
            links.push(format!(
                "{} {verb} {} > need-by {}{buffer} → {} at risk",
                title(blocker),
                short(blocker_finish),
                short(need_by),
                title(item)
            ));
            if chain.as_ref().is_none_or(|(c, _)| links.len() > c.len()) {
                chain = Some((links, true));
            }
        }
        if let Some(finish) = finish {
            projected.insert(name, finish);
            if chain.is_none()
                && let Some(due) = item.spec.due.filter(|due| finish > *due)
            {
                let link = format!(
                    "{} ETA {} > due {} → at risk",
                    title(item),
                    short(finish),
                    short(due)
                );
                chain = Some((vec![link], false));
            }
            if let Some((chain, upstream)) = chain {
                let risk = ItemRisk {
                    item: name.clone(),
                    projected_finish: finish,
                    chain,
                    upstream,
                };
                report.items.insert(name.clone(), risk);
            }
        }
    }
    for release in state.releases().values() {
        let deadline_of = |item: &Item| {
            item.spec
                .due
                .into_iter()
                .chain(release.spec.code_freeze)
                .min()
        };
        let mut late: Vec<(&Name, &ItemRisk)> = state
            .items_of(&release.name)
            .filter_map(|item| {
                let risk = report.items.get(&item.name)?;
                let deadline = deadline_of(item)?;
                (risk.projected_finish > deadline).then_some((&item.name, risk))
            })
            .collect();
        if late.is_empty() {
            continue;
        }
        // Explain with the longest chain, preferring one that shows propagation.
        late.sort_by_key(|(name, risk)| {
            (
                std::cmp::Reverse((risk.chain.len(), risk.upstream)),
                (*name).clone(),
            )
        });
        let mut chain = late[0].1.chain.clone();
        chain.push(format!(
            "release {} at risk",
            short(release.spec.target_date)
        ));
        report.releases.insert(
            release.name.clone(),
            ReleaseRisk {
                release: release.name.clone(),
                target_date: release.spec.target_date,
                items: late.iter().map(|(name, _)| (*name).clone()).collect(),
                chain,
            },
        );
    }
    report
}

/// Items in an order where every blocker comes before what it blocks (Kahn's
/// algorithm). Items on a cycle, which `decide` never lets in, are left out.
fn topological_items(state: &State) -> Vec<&Name> {
    let mut indegree: HashMap<&Name, usize> = state.items().keys().map(|name| (name, 0)).collect();
    for dependency in state.dependencies() {
        if let Some(count) = indegree.get_mut(&dependency.blocked) {
            *count += 1;
        }
    }
    let mut ready: Vec<&Name> = state
        .items()
        .keys()
        .filter(|name| indegree.get(name) == Some(&0))
        .collect();
    ready.reverse();
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
