//! Whatever numbers a manifest carries, applying and planning it either refuses with an
//! error or plans: it never panics (day counts in the billions once crashed date
//! arithmetic deep in the planner).

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use lockstep_core::planning::{PlanOptions, plan_release};
use lockstep_core::{State, decide_all};
use lockstep_manifest::{Limits, Source, parse, plan};
use proptest::prelude::*;

const STATUSES: [&str; 6] = [
    "planning",
    "in-development",
    "testing",
    "staging",
    "ready-for-release",
    "released",
];

#[derive(Debug, Clone)]
struct ItemNumbers {
    estimate: (u32, u32, u32),
    status: usize,
    buffer: u32,
    need_by_offset: i32,
}

fn manifest(target: Date, items: &[ItemNumbers]) -> String {
    let mut text = String::from(
        "apiVersion: lockstep.dev/v1\nkind: Team\nmetadata: {name: api}\nspec: {timeZone: Europe/Paris}\n---\n",
    );
    text.push_str(&format!(
        "apiVersion: lockstep.dev/v1\nkind: Release\nmetadata: {{name: r1}}\nspec:\n  targetDate: {target}\n  items:\n"
    ));
    for (index, item) in items.iter().enumerate() {
        let (optimistic, likely, pessimistic) = item.estimate;
        text.push_str(&format!(
            "    - name: item-{index}\n      title: Item {index}\n      team: api\n      status: {}\n      estimate: {{optimistic: {optimistic}, likely: {likely}, pessimistic: {pessimistic}}}\n",
            STATUSES[item.status]
        ));
        if index > 0 {
            let need_by = target
                .checked_add(jiff::Span::new().days(i64::from(item.need_by_offset)))
                .unwrap_or(target);
            text.push_str(&format!(
                "      dependsOn:\n        - {{item: item-{}, needBy: {need_by}, bufferDays: {}}}\n",
                index - 1,
                item.buffer
            ));
        }
    }
    text
}

fn item_numbers() -> impl Strategy<Value = ItemNumbers> {
    // Small numbers most of the time, and now and then anything a u32 holds.
    let days = prop_oneof![4 => 0u32..60, 1 => any::<u32>(), 1 => 2_590u32..2_610];
    (
        (days.clone(), days.clone(), days.clone()),
        0..STATUSES.len(),
        days,
        -400i32..400,
    )
        .prop_map(|(mut estimate, status, buffer, need_by_offset)| {
            // Mostly well-ordered estimates; an unordered one must be refused cleanly.
            if estimate.0 % 5 != 0 {
                let mut sorted = [estimate.0, estimate.1, estimate.2];
                sorted.sort_unstable();
                estimate = (sorted[0], sorted[1], sorted[2]);
            }
            ItemNumbers {
                estimate,
                status,
                buffer,
                need_by_offset,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn any_numbers_plan_or_are_refused_without_a_panic(
        items in proptest::collection::vec(item_numbers(), 1..6),
        target_day in 0i32..3_652_000,
        today_day in 0i32..3_652_000,
        trials in 0usize..40,
    ) {
        let day = |n: i32| Date::new(1, 1, 1)
            .ok()
            .and_then(|origin| origin.checked_add(jiff::Span::new().days(i64::from(n))).ok())
            .unwrap_or(Date::MAX);
        let (target, today) = (day(target_day), day(today_day));
        let sources = [Source { name: "r.yaml".into(), text: manifest(target, &items) }];
        let Ok(parsed) = parse(&sources, Limits::default()) else { return Ok(()) };
        let mut state = State::new();
        let Ok(commands) = plan(&parsed, &state) else { return Ok(()) };
        let now = "2025-01-20T12:00:00Z".parse().expect("valid timestamp");
        let Ok(events) = decide_all(&state, commands.into_iter().map(|c| c.command).collect(), now)
        else {
            return Ok(());
        };
        for (index, event) in events.iter().enumerate() {
            state.apply(index as i64 + 1, event);
        }
        let zones: BTreeMap<String, TimeZone> = [(
            "Europe/Paris".to_owned(),
            TimeZone::get("Europe/Paris").expect("known zone"),
        )]
        .into();
        let options = PlanOptions { today, trials, seed: 1, time_zones: &zones, previous: None };
        // Ok or a PlanError; a panic fails the property.
        let _ = plan_release(&state, "r1", &options);
        let _ = lockstep_core::risk::assess(&state);
    }
}
