//! `lockstep bench …`: measurements that print the figures the issues promise.
//!
//! Every figure is measured in this run on this machine; nothing is asserted, since
//! machines differ. Temporary databases live in a temp directory removed at the end.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use lockstep_core::{Event, EventMeta, State};
use lockstep_manifest::Source;
use lockstep_store::program::Program;
use lockstep_store::{Expectation, NewEvent};

use crate::apply::decide_manifests;
use crate::bench_psplib::{BenchBudget, BenchParallelism, PsplibBenchArgs};
use crate::cli::{BenchArgs, BenchWhich, PsplibArgs};

pub async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let dir = tempfile_dir()?;
    let result = match args.which {
        BenchWhich::Apply {
            teams,
            items,
            dependencies,
        } => apply(&dir, teams, items, dependencies).await,
        BenchWhich::Append { events } => append(&dir, events).await,
        BenchWhich::Startup { events } => startup(&dir, events).await,
        BenchWhich::Psplib(args) => psplib(args),
        BenchWhich::Calendar {
            releases,
            environments,
        } => {
            let args = crate::bench_calendar::CalendarBenchArgs {
                releases,
                environments,
            };
            crate::bench_calendar::run(args).await
        }
        BenchWhich::Plan {
            cpm_activities,
            items,
            activities,
            trials,
        } => plan_scale(cpm_activities, items, activities, trials).await,
        BenchWhich::Outbox {
            messages,
            concurrency,
            batch,
        } => outbox(&dir, messages, concurrency, batch).await,
        BenchWhich::Http {
            items,
            seconds,
            connections,
            sse_clients,
            renders,
        } => {
            let args = crate::bench_http::HttpBenchArgs {
                items,
                seconds,
                connections,
                sse_clients,
                renders,
            };
            crate::bench_http::run(&dir, args).await
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    result.map(|()| ExitCode::SUCCESS)
}

async fn outbox(
    dir: &std::path::Path,
    messages: usize,
    concurrency: usize,
    batch: i64,
) -> anyhow::Result<()> {
    let options = lockstep_delivery::WorkerOptions {
        concurrency,
        batch,
        ..lockstep_delivery::WorkerOptions::default()
    };
    let run = lockstep_delivery::bench::outbox(dir, messages, options).await?;
    println!(
        "outbox delivery (SQLite log, signed CloudEvents webhook to a local HTTP receiver, \
         {concurrency} in flight, {batch} per pass):"
    );
    println!(
        "  enqueue {messages} messages:  {:>8.1} ms",
        run.enqueue.as_secs_f64() * 1e3
    );
    println!(
        "  deliver all:  {:>8.1} ms in {} passes, {} requests received",
        run.deliver.as_secs_f64() * 1e3,
        run.passes,
        run.received
    );
    println!(
        "  sustained:    {:>8.0} deliveries/s (target >= 500/s)",
        run.per_second()
    );
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("lockstep-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// SplitMix64: a tiny deterministic generator so that every run builds the same program.
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A release program as manifest text: `n_teams` teams with a component each, ten
/// releases, `n_items` items and `n_dependencies` acyclic dependencies between
/// nearby items (a blocker always has a lower index than what it blocks).
pub fn generate_program(n_teams: usize, n_items: usize, n_dependencies: usize) -> String {
    let mut rng = SplitMix(42);
    let mut yaml = String::with_capacity(n_items * 400);
    let zones = [
        "Europe/London",
        "America/New_York",
        "Asia/Tokyo",
        "Europe/Berlin",
        "America/Los_Angeles",
    ];
    for team in 0..n_teams {
        let _ = write!(
            yaml,
            "---\napiVersion: lockstep.dev/v1\nkind: Team\nmetadata: {{name: team-{team}}}\nspec:\n  timeZone: {}\n  members:\n    - {{handle: lead-{team}, roles: [tech-lead]}}\n    - {{handle: dev-{team}}}\n  onCall: {{primary: lead-{team}, backup: dev-{team}}}\n---\napiVersion: lockstep.dev/v1\nkind: Component\nmetadata: {{name: component-{team}}}\nspec: {{team: team-{team}}}\n",
            zones[team % zones.len()]
        );
    }
    let n_releases = 10;
    for release in 0..n_releases {
        let _ = write!(
            yaml,
            "---\napiVersion: lockstep.dev/v1\nkind: Release\nmetadata: {{name: release-{release}}}\nspec:\n  targetDate: 2030-{:02}-28\n  featureFreeze: 2030-{:02}-10\n  codeFreeze: 2030-{:02}-20\n",
            release + 1,
            release + 1,
            release + 1
        );
    }
    let mut blockers: Vec<Vec<usize>> = vec![Vec::new(); n_items];
    let mut n_added = 0;
    while n_added < n_dependencies && n_items > 1 {
        let blocked = 1 + rng.below(n_items as u64 - 1) as usize;
        let blocker = blocked - 1 - rng.below(blocked.min(200) as u64) as usize;
        if !blockers[blocked].contains(&blocker) {
            blockers[blocked].push(blocker);
            n_added += 1;
        }
    }
    for (item, item_blockers) in blockers.iter().enumerate() {
        let team = item % n_teams.max(1);
        let _ = write!(
            yaml,
            "---\napiVersion: lockstep.dev/v1\nkind: Item\nmetadata: {{name: item-{item}}}\nspec:\n  release: release-{}\n  title: Item {item}\n  team: team-{team}\n  component: component-{team}\n  status: in-development\n  due: 2030-01-{:02}\n  estimate: {{optimistic: 2, likely: 3, pessimistic: 6}}\n",
            item % n_releases,
            1 + item % 28
        );
        if !item_blockers.is_empty() {
            yaml.push_str("  dependsOn:\n");
            for blocker in item_blockers {
                let _ = writeln!(
                    yaml,
                    "    - {{item: item-{blocker}, needBy: 2030-01-20, bufferDays: 2}}"
                );
            }
        }
    }
    yaml
}

fn resident_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn meta() -> EventMeta {
    EventMeta {
        actor: "bench".to_owned(),
        at: jiff::Timestamp::now(),
        reason: None,
    }
}

async fn apply(
    dir: &std::path::Path,
    n_teams: usize,
    n_items: usize,
    n_dependencies: usize,
) -> anyhow::Result<()> {
    let yaml = generate_program(n_teams, n_items, n_dependencies);
    let sources = [Source {
        name: "generated.yaml".to_owned(),
        text: yaml,
    }];
    let url = format!("sqlite://{}", dir.join("apply.db").display());
    let program = Program::open(&url, Default::default()).await?;
    let started = Instant::now();
    let mut state = program.load().await?;
    let events = decide_manifests(&state, &sources, jiff::Timestamp::now())?;
    let decided = started.elapsed();
    let n_events = events.len();
    program.commit(&mut state, events, &meta(), &[]).await?;
    let total = started.elapsed();
    println!(
        "apply: {n_teams} teams, {n_items} items, {n_dependencies} dependencies, {:.1} MiB of YAML",
        sources[0].text.len() as f64 / (1 << 20) as f64
    );
    println!("  parse + plan + decide: {:>8.3} s", decided.as_secs_f64());
    println!(
        "  append {n_events} events: {:>8.3} s",
        (total - decided).as_secs_f64()
    );
    println!(
        "  total apply:          {:>8.3} s   (target < 2 s)",
        total.as_secs_f64()
    );
    let started = Instant::now();
    let again = decide_manifests(&state, &sources, jiff::Timestamp::now())?;
    println!(
        "  re-apply (no change): {:>8.3} s, {} events",
        started.elapsed().as_secs_f64(),
        again.len()
    );
    drop(state);
    let before = resident_mib();
    let loaded = program.load().await?;
    if let (Some(before), Some(after)) = (before, resident_mib()) {
        println!(
            "  state of {} items resident: {:.1} MiB (process {:.1} MiB; target < 200 MB)",
            loaded.items().len(),
            after - before,
            after
        );
    }
    Ok(())
}

async fn append(dir: &std::path::Path, n_events: usize) -> anyhow::Result<()> {
    let url = format!("sqlite://{}", dir.join("append.db").display());
    let report = lockstep_store::bench::append_throughput(&url, n_events as u64, 1).await?;
    println!("durable appends (SQLite, WAL, synchronous=FULL, one event per transaction):");
    println!(
        "  store append:        {:>10.0} events/s",
        report.events_per_sec_store
    );
    println!(
        "  plain insert loop:   {:>10.0} events/s",
        report.events_per_sec_plain_sqlite
    );
    println!(
        "  ratio:               {:>10.2}   (target >= 0.5)",
        report.ratio
    );
    Ok(())
}

async fn startup(dir: &std::path::Path, n_events: usize) -> anyhow::Result<()> {
    let url = format!("sqlite://{}", dir.join("startup.db").display());
    // A realistic log: the 10,000-item program, then status and ETA changes until
    // the log holds `n_events` events.
    let program = Program::open(&url, Default::default()).await?;
    let mut state = program.load().await?;
    let sources = [Source {
        name: "generated.yaml".to_owned(),
        text: generate_program(200, 10_000, 30_000),
    }];
    let events = decide_manifests(&state, &sources, jiff::Timestamp::now())?;
    program.commit(&mut state, events, &meta(), &[]).await?;
    let fill_started = Instant::now();
    let items: Vec<_> = state.items().keys().cloned().collect();
    let mut rng = SplitMix(7);
    let mut position = state.position() as usize;
    let base = jiff::civil::date(2030, 1, 1);
    while position < n_events {
        let batch = (n_events - position).min(10_000);
        let mut new_events = Vec::with_capacity(batch);
        for _ in 0..batch {
            let item = &items[rng.below(items.len() as u64) as usize];
            let eta = base.checked_add(jiff::Span::new().days(rng.below(300) as i64))?;
            let event = Event::ItemEtaChanged {
                item: item.clone(),
                from: None,
                to: Some(eta),
            };
            new_events.push(NewEvent {
                stream: state.stream_of(&event),
                kind: event.kind().to_owned(),
                payload: serde_json::to_string(&event)?,
                actor: "bench".to_owned(),
                reason: None,
                recorded_at: jiff::Timestamp::now(),
            });
        }
        program
            .store()
            .append(&[] as &[Expectation], &new_events, &[])
            .await?;
        position += batch;
    }
    let fill = fill_started.elapsed();
    // Snapshot at the head, as the server does every 10,000 events.
    let mut at_head = program.load().await?;
    program.snapshot(&at_head).await?;
    // And a small tail after it, as a real start-up would find.
    let tail: Vec<Event> = items
        .iter()
        .take(100)
        .map(|item| Event::ItemEtaChanged {
            item: item.clone(),
            from: None,
            to: Some(base),
        })
        .collect();
    program.commit(&mut at_head, tail, &meta(), &[]).await?;
    let head = program.store().head().await?;
    drop(at_head);
    drop(program);

    let started = Instant::now();
    let program = Program::open(&url, Default::default()).await?;
    let state = program.load().await?;
    let with_snapshot = started.elapsed();
    drop(state);
    let started = Instant::now();
    let mut replayed = State::new();
    program.catch_up(&mut replayed, |_| {}).await?;
    let without_snapshot = started.elapsed();
    println!(
        "start-up with {head} events in the log (filled in {:.1} s):",
        fill.as_secs_f64()
    );
    println!(
        "  open + snapshot + tail:  {:>7.3} s   (target < 2 s)",
        with_snapshot.as_secs_f64()
    );
    println!(
        "  full replay, no snapshot: {:>7.3} s",
        without_snapshot.as_secs_f64()
    );
    Ok(())
}

fn psplib(args: PsplibArgs) -> anyhow::Result<()> {
    let budget = match (args.schedules, args.millis) {
        (_, Some(millis)) => BenchBudget::Millis(millis),
        (Some(schedules), None) => BenchBudget::Schedules(schedules),
        (None, None) => BenchBudget::Schedules(50_000),
    };
    let parallelism = if args.parallel_instances {
        BenchParallelism::Instances
    } else {
        BenchParallelism::Islands
    };
    let report = crate::bench_psplib::run(&PsplibBenchArgs {
        dir: args.dir,
        budget,
        limit: args.limit,
        peer_json: args.peer_json,
        seed: args.seed,
        parallelism,
    })?;
    print!("{report}");
    Ok(())
}

/// Median wall time of `runs` calls of `f`, in milliseconds.
pub(crate) fn median_millis(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

async fn plan_scale(
    n_cpm: usize,
    n_items: usize,
    n_schedule: usize,
    trials: usize,
) -> anyhow::Result<()> {
    use lockstep_plan::calendar::{ActivityMode, Calendar, Interval};
    use lockstep_plan::forecast::{DurationDistribution, Estimate, ForecastConfig, forecast};
    use lockstep_plan::generate::{LayeredDagConfig, layered_dag};
    use lockstep_plan::network::Network;
    use lockstep_plan::rcpsp::ProblemBuilder;
    use lockstep_plan::sgs::{PriorityRule, priority_list, priority_values, serial_sgs};

    println!(
        "planning at scale ({} threads):",
        rayon::current_num_threads()
    );
    // Critical path on a large DAG.
    let config = LayeredDagConfig {
        n_activities: n_cpm,
        layer_width: 1_000,
        arcs_per_activity: 3,
        max_duration: 10,
        max_lag: 0,
    };
    let (durations, arcs) = layered_dag(&config, 1);
    let started = Instant::now();
    let network = Network::new(durations, &arcs)?;
    let built = started.elapsed();
    let cpm = lockstep_plan::cpm::critical_path(&network, &Default::default())?;
    println!(
        "  critical path, {} activities / {} arcs: {:.3} s (network {:.3} s + CPM {:.3} s; target < 1 s), makespan {}",
        network.len(),
        network.n_arcs(),
        started.elapsed().as_secs_f64(),
        built.as_secs_f64(),
        (started.elapsed() - built).as_secs_f64(),
        cpm.makespan()
    );

    // At-risk update after one ETA change in a program of `n_items` items.
    let sources = [Source {
        name: "generated.yaml".to_owned(),
        text: generate_program(200, n_items, n_items * 3),
    }];
    let mut state = State::new();
    for (index, event) in decide_manifests(&state, &sources, jiff::Timestamp::now())?
        .iter()
        .enumerate()
    {
        state.apply(index as i64 + 1, event);
    }
    let item = state
        .items()
        .keys()
        .nth(n_items / 2)
        .cloned()
        .context("the program has items")?;
    let started = Instant::now();
    let mut report = lockstep_core::risk::assess(&state);
    let full = started.elapsed().as_secs_f64() * 1000.0;
    let mut day = 0;
    let update = median_millis(21, || {
        day = (day + 1) % 60;
        let eta = jiff::civil::date(2030, 1, 1)
            .checked_add(jiff::Span::new().days(day))
            .ok();
        let command = lockstep_core::Command::SetEta {
            item: item.clone(),
            eta,
        };
        if let Ok(events) = lockstep_core::decide(&state, command, jiff::Timestamp::now()) {
            for event in &events {
                state.apply(state.position() + 1, event);
            }
        }
        report.update(&state, &item);
    });
    if report != lockstep_core::risk::assess(&state) {
        bail!("the incremental at-risk update disagrees with a full assessment");
    }
    println!(
        "  at-risk update after one ETA change, {n_items} items: {update:.2} ms median incremental (target < 20 ms); full assessment {full:.1} ms; {} items at risk",
        report.items.len()
    );

    // A resource- and calendar-constrained schedule: 200 team calendars, 50 resources.
    let (durations, arcs) = layered_dag(
        &LayeredDagConfig {
            n_activities: n_schedule,
            layer_width: 200,
            arcs_per_activity: 2,
            max_duration: 16,
            max_lag: 0,
        },
        2,
    );
    let horizon = 24 * 7 * 160; // hours in 160 weeks
    let mut builder = ProblemBuilder::new(vec![3; 50]);
    let calendars: Vec<_> = (0..200)
        .map(|team| {
            // Eight working hours a day, Monday to Friday, shifted by the team's time zone.
            let shift = (team % 12) as i64;
            builder.add_calendar(Calendar::new(
                (0..horizon / 24).filter(|day| day % 7 < 5).map(|day| {
                    let start = day * 24 + 8 + shift;
                    Interval::new(start, start + 8)
                }),
            ))
        })
        .collect();
    let mut rng = SplitMix(3);
    for (activity, duration) in durations.iter().enumerate() {
        let mut demand = vec![0; 50];
        demand[rng.below(50) as usize] = 1 + rng.below(2) as i64;
        let id = builder.activity((*duration).max(1), &demand);
        builder.use_calendar(id, calendars[activity % 200], ActivityMode::Interruptible);
    }
    for arc in &arcs {
        builder.precedence(arc.from, arc.to, arc.lag);
    }
    let problem = builder.build()?;
    let started = Instant::now();
    let list = priority_list(
        &problem,
        &priority_values(&problem, PriorityRule::LatestFinishTime),
    );
    let schedule = serial_sgs(&problem, &list)?;
    println!(
        "  schedule, {n_schedule} activities, 200 team calendars, 50 shared resources: {:.3} s (target < 5 s), makespan {} h",
        started.elapsed().as_secs_f64(),
        schedule.makespan()
    );
    // What `lockstep plan` spends on a program of this size: the GA at its budget.
    let schedules = lockstep_core::planning::search_budget(n_schedule);
    let started = Instant::now();
    let solution = lockstep_plan::ga::solve(
        &problem,
        &lockstep_plan::Budget::schedules(schedules),
        &lockstep_plan::GaConfig::default(),
        1,
    )?;
    println!(
        "  the planner's search on it ({schedules} schedules, genetic algorithm): {:.3} s (target < 5 s), makespan {} h",
        started.elapsed().as_secs_f64(),
        solution.makespan()
    );

    // Monte Carlo over `n_schedule` activities.
    let estimates: Vec<Estimate> = problem
        .network()
        .durations()
        .iter()
        .map(|d| Estimate::new(*d as f64 * 0.8, *d as f64, *d as f64 * 1.6))
        .collect::<Result<_, _>>()?;
    for distribution in [
        DurationDistribution::Triangular,
        DurationDistribution::PertBeta,
    ] {
        let started = Instant::now();
        let result = forecast(
            problem.network(),
            &[],
            &estimates,
            &ForecastConfig {
                trials,
                seed: 1,
                distribution,
                percentiles: &[50.0, 85.0, 95.0],
                milestones: &[],
                target: None,
                earliest_starts: None,
                calendars: None,
            },
        )?;
        println!(
            "  Monte Carlo {distribution:?}, {trials} trials × {n_schedule} activities: {:.3} s (target < 2 s), P85 {:.0}",
            started.elapsed().as_secs_f64(),
            result.project.percentiles.get(1).map_or(0.0, |(_, v)| *v)
        );
    }
    Ok(())
}
