//! `lockstep plan FILE`: the plan of a release straight from manifests, offline —
//! schedule, critical path, risks, forecast and the release-day steps, as a table,
//! JSON, Markdown or an SVG Gantt chart.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context, bail};
use jiff::tz::TimeZone;
use lockstep_core::State;
use lockstep_core::planning::{PlanOptions, PlannedActivity, ReleasePlan, plan_release};
use lockstep_core::risk::{RiskReport, assess};
use lockstep_manifest::Limits;

use crate::apply::{decide_manifests, read_sources};
use crate::cli::{Output, PlanArgs, PlanFormat};
use crate::read::print_table;

/// Every time zone the state names, resolved once at the edge.
pub fn time_zones(state: &State) -> anyhow::Result<BTreeMap<String, TimeZone>> {
    lockstep_server::runs::time_zones(state).map_err(anyhow::Error::msg)
}

/// Item starts of a previous `lockstep plan --format json`.
fn previous_starts(path: &std::path::Path) -> anyhow::Result<BTreeMap<String, jiff::civil::Date>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the previous plan {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not JSON: pass the output of `lockstep plan --format json`",
            path.display()
        )
    })?;
    let Some(plans) = value["plans"].as_array() else {
        bail!(
            "{} has no `plans` list: pass the output of `lockstep plan --format json`",
            path.display()
        );
    };
    let mut starts = BTreeMap::new();
    for (p, plan) in plans.iter().enumerate() {
        for (a, activity) in plan["activities"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            if activity["kind"] != "item" {
                continue;
            }
            let (Some(name), Some(start)) = (activity["name"].as_str(), activity["start"].as_str())
            else {
                bail!(
                    "{}: plans[{p}].activities[{a}] needs a `name` and a `start`",
                    path.display()
                );
            };
            let start = start.parse().with_context(|| {
                format!(
                    "{}: plans[{p}].activities[{a}].start `{start}` is not a date",
                    path.display()
                )
            })?;
            starts.insert(name.to_owned(), start);
        }
    }
    Ok(starts)
}

/// The format asked for: `--format`, else what `-o` implies; the two must agree.
fn format(args: &PlanArgs, output: Output) -> anyhow::Result<PlanFormat> {
    match (args.format, output) {
        (None | Some(PlanFormat::Json), Output::Json) => Ok(PlanFormat::Json),
        (Some(format), Output::Table) => Ok(format),
        (None, Output::Table) => Ok(PlanFormat::Table),
        (_, Output::Yaml) => {
            bail!("a plan has no YAML form: use --format json, markdown, svg or table")
        }
        (Some(format), Output::Json) => bail!(
            "-o json and --format {} disagree: give one of them",
            clap::ValueEnum::to_possible_value(&format)
                .map_or_else(|| "?".to_owned(), |v| v.get_name().to_owned())
        ),
    }
}

pub fn run(args: PlanArgs, output: Output) -> anyhow::Result<ExitCode> {
    let format = format(&args, output)?;
    let sources = read_sources(&args.files, Limits::default())?;
    let now = jiff::Timestamp::now();
    let mut state = State::new();
    let events = decide_manifests(&state, &sources, now)?;
    for (index, event) in events.iter().enumerate() {
        state.apply(index as i64 + 1, event);
    }
    let today = match &args.today {
        Some(raw) => crate::verbs::parse_date(raw)?,
        None => now.to_zoned_datetime(TimeZone::UTC).date(),
    };
    let releases: Vec<String> = match &args.release {
        Some(release) => vec![release.clone()],
        None => state.releases().keys().map(|n| n.to_string()).collect(),
    };
    if releases.is_empty() {
        bail!("the manifests declare no release to plan");
    }
    let zones = time_zones(&state)?;
    let previous = args.previous.as_deref().map(previous_starts).transpose()?;
    let options = PlanOptions {
        today,
        trials: args.trials,
        seed: args.seed,
        time_zones: &zones,
        previous: previous.as_ref(),
    };
    let risks = assess(&state);
    let conflicts = lockstep_core::conflicts::conflicts(&state, &zones);
    let window_conflicts = lockstep_core::conflicts::window_conflicts(&state, &zones);
    let plans: Vec<ReleasePlan> = releases
        .iter()
        .map(|r| plan_release(&state, r, &options))
        .collect::<Result<_, _>>()?;
    match format {
        PlanFormat::Json => {
            let chains: BTreeMap<String, Vec<String>> = risks
                .items
                .keys()
                .map(|item| (item.to_string(), risks.chain(item)))
                .collect();
            let value = serde_json::json!({
                "plans": plans, "risks": risks, "chains": chains, "conflicts": conflicts,
                "windowConflicts": window_conflicts,
            });
            println!("{value:#}");
        }
        PlanFormat::Table => {
            plans.iter().for_each(|plan| print_plan(plan, &risks));
            if !conflicts.is_empty() {
                println!("conflicts between releases:");
                conflicts
                    .iter()
                    .for_each(|c| println!("  {}", c.explanation));
            }
            if !window_conflicts.is_empty() {
                println!("releases outside their environment's calendar:");
                window_conflicts
                    .iter()
                    .for_each(|c| println!("  {}", c.explanation));
            }
        }
        PlanFormat::Markdown => {
            plans
                .iter()
                .for_each(|plan| print!("{}", markdown(plan, &risks)));
            if !conflicts.is_empty() {
                println!("\n## Conflicts between releases\n");
                conflicts
                    .iter()
                    .for_each(|c| println!("- {}", c.explanation));
            }
            if !window_conflicts.is_empty() {
                println!("\n## Releases outside their environment's calendar\n");
                window_conflicts
                    .iter()
                    .for_each(|c| println!("- {}", c.explanation));
            }
        }
        PlanFormat::Svg => {
            let [plan] = plans.as_slice() else {
                bail!("an SVG shows one release: name it with --release");
            };
            print!("{}", gantt_svg(plan));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn forecast_line(plan: &ReleasePlan) -> String {
    match &plan.forecast {
        Some(f) => format!(
            "forecast ({} trials): P50 {}, P85 {}, P95 {}; {:.0}% chance of finishing by {}",
            f.trials,
            f.p50,
            f.p85,
            f.p95,
            f.probability_on_target * 100.0,
            plan.target_date
        ),
        None => "forecast: not run (--trials 0)".to_owned(),
    }
}

/// One line per milestone period: when it is forecast to end against its commitment.
fn milestone_lines(plan: &ReleasePlan) -> Vec<String> {
    plan.forecast
        .iter()
        .flat_map(|f| &f.milestones)
        .map(|m| {
            format!(
                "milestone {} (committed {}): P50 {}, P85 {}, P95 {}",
                m.name,
                m.committed
                    .map_or_else(|| "no date".to_owned(), |d| d.to_string()),
                m.p50,
                m.p85,
                m.p95
            )
        })
        .collect()
}

fn release_risks(plan: &ReleasePlan, risks: &RiskReport) -> Vec<Vec<String>> {
    let release = risks.releases.get(&plan.release).map(|r| r.chain.clone());
    let items = risks
        .items
        .values()
        .filter(|r| plan.activities.iter().any(|a| a.name == r.item.as_str()))
        .map(|r| risks.chain(&r.item));
    release.into_iter().chain(items).collect()
}

fn print_plan(plan: &ReleasePlan, risks: &RiskReport) {
    println!(
        "release {} — planned from {}, target {}",
        plan.release, plan.today, plan.target_date
    );
    println!(
        "planned finish {} ({})",
        plan.planned_finish,
        slack_words(plan)
    );
    println!("{}", forecast_line(plan));
    for line in milestone_lines(plan) {
        println!("  {line}");
    }
    println!();
    let rows: Vec<Vec<String>> = plan
        .activities
        .iter()
        .map(|a| {
            vec![
                if a.critical {
                    "*".to_owned()
                } else {
                    String::new()
                },
                a.name.clone(),
                a.team
                    .as_ref()
                    .map_or_else(|| a.kind.to_owned(), |t| t.to_string()),
                a.start.to_string(),
                a.finish.to_string(),
                committed_text(a, "-"),
                a.slack_days.to_string(),
                a.criticality
                    .map_or_else(|| "-".to_owned(), |c| format!("{:.0}%", c * 100.0)),
            ]
        })
        .collect();
    print_table(
        &[
            "",
            "ACTIVITY",
            "TEAM",
            "START",
            "FINISH",
            "COMMITTED",
            "SLACK",
            "CRITICAL IN",
        ],
        &rows,
    );
    println!();
    println!("critical path: {}", plan.critical_path.join(" → "));
    for activity in &plan.activities {
        if let Some(previous) = activity.moved_from {
            println!(
                "{} moved from {previous} (previous plan) to {}",
                activity.name, activity.start
            );
        }
    }
    for activity in plan.activities.iter().filter(|a| !a.waits_for.is_empty()) {
        println!(
            "{} waits for {}",
            activity.name,
            activity.waits_for.join(", ")
        );
    }
    let chains = release_risks(plan, risks);
    if !chains.is_empty() {
        println!("\nat risk:");
        for chain in chains {
            println!("  {}", chain.join(" → "));
        }
    }
    if !plan.deployment.is_empty() {
        println!(
            "\nrelease day ({}):",
            plan.deployment_time_zone.as_deref().unwrap_or("UTC")
        );
        let rows: Vec<Vec<String>> = plan
            .deployment
            .iter()
            .map(|s| {
                vec![
                    s.planned.strftime("%H:%M").to_string(),
                    s.scheduled.map_or_else(
                        || "unscheduled".to_owned(),
                        |d| d.strftime("%H:%M").to_string(),
                    ),
                    s.component.to_string(),
                    s.title.clone().unwrap_or_default(),
                    s.note.clone().unwrap_or_default(),
                ]
            })
            .collect();
        print_table(
            &["PLANNED", "SCHEDULED", "COMPONENT", "STEP", "NOTE"],
            &rows,
        );
    }
    println!();
}

fn slack_words(plan: &ReleasePlan) -> String {
    let days = (plan.target_date - plan.planned_finish).get_days();
    match days {
        0 => "on the target date".to_owned(),
        d if d > 0 => format!("{d} day(s) before the target"),
        d => format!("{} day(s) late", -d),
    }
}

fn markdown(plan: &ReleasePlan, risks: &RiskReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Plan of `{}`\n", plan.release);
    let _ = writeln!(
        out,
        "- Planned from {} for target {}",
        plan.today, plan.target_date
    );
    let _ = writeln!(
        out,
        "- Planned finish {} ({})",
        plan.planned_finish,
        slack_words(plan)
    );
    let _ = writeln!(out, "- {}", forecast_line(plan));
    for line in milestone_lines(plan) {
        let _ = writeln!(out, "  - {line}");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| | Activity | Team | Start | Finish | Committed | Slack |\n|---|---|---|---|---|---|---|"
    );
    for a in &plan.activities {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            if a.critical { "★" } else { "" },
            escape_markdown_cell(&a.title),
            a.team
                .as_ref()
                .map_or_else(|| a.kind.to_owned(), |t| t.to_string()),
            a.start,
            a.finish,
            committed_text(a, "–"),
            a.slack_days
        );
    }
    let _ = writeln!(
        out,
        "\n**Critical path:** {}\n",
        plan.critical_path.join(" → ")
    );
    let chains = release_risks(plan, risks);
    if !chains.is_empty() {
        let _ = writeln!(out, "## At risk\n");
        for chain in chains {
            let _ = writeln!(out, "- {}", chain.join(" → "));
        }
        out.push('\n');
    }
    if !plan.deployment.is_empty() {
        let _ = writeln!(
            out,
            "## Release day\n\n| Planned | Scheduled | Component | Note |\n|---|---|---|---|"
        );
        for s in &plan.deployment {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                s.planned.strftime("%H:%M"),
                s.scheduled.map_or_else(
                    || "unscheduled".to_owned(),
                    |d| d.strftime("%H:%M").to_string()
                ),
                s.component,
                s.note.as_deref().unwrap_or("")
            );
        }
    }
    out
}

/// One line of markup-safe text: control characters (which XML 1.0 allows in no form,
/// and which would break a Markdown row) become spaces; `&`, `<` and `>` are escaped.
fn one_line_escaped(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Text for XML content and attributes.
fn escape_xml(text: &str) -> String {
    one_line_escaped(text).replace('"', "&quot;")
}

/// Text for one Markdown table cell: on one line, with its pipes and HTML escaped.
fn escape_markdown_cell(text: &str) -> String {
    one_line_escaped(text).replace('|', "\\|")
}

/// The committed date, and how late the plan finishes against it.
fn committed_text(activity: &PlannedActivity, none: &str) -> String {
    match (activity.committed, activity.late_days) {
        (None, _) => none.to_owned(),
        (Some(date), None) => date.to_string(),
        (Some(date), Some(days)) => format!("{date} (late {days} d)"),
    }
}

/// A Gantt chart: one bar per activity, critical ones red, committed dates as ticks.
pub fn gantt_svg(plan: &ReleasePlan) -> String {
    let first = plan
        .activities
        .iter()
        .map(|a| a.start)
        .min()
        .unwrap_or(plan.today);
    let last = plan
        .activities
        .iter()
        .map(|a| a.finish)
        .chain([plan.target_date])
        .max()
        .unwrap_or(plan.today);
    let n_days = i64::from((last - first).get_days()) + 1;
    let (label_width, day_width, row_height) =
        (260.0, (720.0 / n_days as f64).clamp(4.0, 40.0), 26.0);
    let width = label_width + day_width * n_days as f64 + 20.0;
    let height = 50.0 + row_height * plan.activities.len() as f64 + 20.0;
    let x =
        |date: jiff::civil::Date| label_width + day_width * f64::from((date - first).get_days());
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="system-ui, sans-serif" font-size="12" role="img" aria-label="Plan of {name}">
<title>Plan of {name}</title>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="10" y="20" font-size="14" font-weight="600">{name}: planned finish {finish}, target {target}</text>
"##,
        name = escape_xml(plan.release.as_str()),
        finish = plan.planned_finish,
        target = plan.target_date
    );
    // A date axis: about ten ticks across the chart.
    let step = (n_days / 10).max(1);
    let mut tick = first;
    while tick <= last {
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="46" x2="{x:.1}" y2="{:.0}" stroke="#e5e7eb"/><text x="{x:.1}" y="44" font-size="10" fill="#6b7280">{label}</text>"##,
            height - 10.0,
            x = x(tick),
            label = tick.strftime("%b %-d"),
        );
        match tick.checked_add(jiff::Span::new().days(step)) {
            Ok(next) => tick = next,
            Err(_) => break,
        }
    }
    // Markers only where the chart has room for them: a date before its first day (a
    // plan made after the target) is said in the title line instead.
    let inside = |date: jiff::civil::Date| (first..=last).contains(&date);
    if inside(plan.target_date) {
        // The end of the target day, where the committed markers also stand.
        let target_x = x(plan.target_date) + day_width;
        let _ = writeln!(
            svg,
            r##"<line x1="{target_x:.1}" y1="30" x2="{target_x:.1}" y2="{:.0}" stroke="#1d4ed8" stroke-dasharray="4 3"/><text x="{:.1}" y="32" fill="#1d4ed8">target</text>"##,
            height - 10.0,
            target_x + 3.0
        );
    }
    for (row, activity) in plan.activities.iter().enumerate() {
        let y = 50.0 + row_height * row as f64;
        let bar_x = x(activity.start);
        let bar_width = (x(activity.finish) - bar_x + day_width).max(2.0);
        let fill = if activity.critical {
            "#dc2626"
        } else {
            "#64748b"
        };
        let _ = writeln!(
            svg,
            r##"<text x="10" y="{:.1}">{}</text><rect x="{bar_x:.1}" y="{:.1}" width="{bar_width:.1}" height="{:.1}" rx="3" fill="{fill}"><title>{} {} – {} (slack {} d)</title></rect>"##,
            y + 16.0,
            escape_xml(&activity.title),
            y + 5.0,
            row_height - 10.0,
            escape_xml(&activity.title),
            activity.start,
            activity.finish,
            activity.slack_days
        );
        if let Some(committed) = activity.committed.filter(|&date| inside(date)) {
            let cx = x(committed) + day_width;
            let _ = writeln!(
                svg,
                r##"<line x1="{cx:.1}" y1="{:.1}" x2="{cx:.1}" y2="{:.1}" stroke="#111827" stroke-width="2"/>"##,
                y + 2.0,
                y + row_height - 2.0
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::{escape_markdown_cell, escape_xml};

    #[test]
    fn titles_cannot_break_the_svg_or_the_markdown_table() {
        assert_eq!(
            escape_xml("a\u{1}<b>&\"c\""),
            "a &lt;b&gt;&amp;&quot;c&quot;"
        );
        assert_eq!(
            escape_markdown_cell("x | y\n<script>"),
            "x \\| y &lt;script&gt;"
        );
    }
}
