//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The log used when none is named: a SQLite file in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./lockstep.db";

/// Coordinate multi-team software releases.
#[derive(Debug, Parser)]
#[command(name = "lockstep", version, about)]
pub struct Cli {
    /// Where the event log lives: `sqlite://PATH` or `postgres://…`.
    #[arg(
        long,
        global = true,
        env = "LOCKSTEP_DATABASE_URL",
        default_value = DEFAULT_DATABASE_URL
    )]
    pub database_url: String,
    /// Who is acting, recorded with every change.
    #[arg(long, global = true, env = "LOCKSTEP_ACTOR")]
    pub actor: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// Work against a Lockstep server instead of the database: `get`, `describe`,
    /// `history`, `item`, `risk`, `apply`, `gonogo`, `signal`, `checklist`, `signoff`,
    /// `runbook`, `run`, `audit`, `contract`, `deployed`, `can-i-deploy`, `interface`,
    /// `change`, `metrics`, `retro`, `coordination`, `lessons` and `outbox ack` go over its
    /// HTTP API. The token comes from LOCKSTEP_TOKEN or from `lockstep login`.
    #[arg(long, global = true, env = "LOCKSTEP_SERVER")]
    pub server: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// What every command may need.
#[derive(Debug, Clone)]
pub struct Global {
    pub database_url: String,
    pub actor: String,
    pub output: Output,
    pub server: Option<String>,
}

impl Cli {
    pub fn global(&self) -> Global {
        let actor = self
            .actor
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| "cli".to_owned());
        Global {
            database_url: self.database_url.clone(),
            actor,
            output: self.output,
            server: self.server.clone().filter(|s| !s.trim().is_empty()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Human-readable tables.
    Table,
    /// JSON for scripts.
    Json,
    /// YAML manifests that re-apply.
    Yaml,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply manifests: print the change, then make it as one atomic change.
    Apply(ApplyArgs),
    /// List resources of a kind.
    Get(GetArgs),
    /// Show one resource in detail.
    Describe(DescribeArgs),
    /// Who changed what, when and why.
    History(HistoryArgs),
    /// Daily verbs on scope items.
    Item(ItemArgs),
    /// Integration tasks: record a scenario's result.
    Integration(IntegrationArgs),
    /// The risk register: move a risk to another status, with the reason.
    Risk(RiskArgs),
    /// Change requests: propose a change as manifests, read its impact, and approve
    /// (applying it) or reject it: someone other than the requester decides.
    Change(ChangeArgs),
    /// Contract tests: record a consumer's verification against an interface version.
    Contract(crate::contract_cmd::ContractArgs),
    /// Record which version of a component runs in an environment.
    Deployed(crate::contract_cmd::DeployedArgs),
    /// May this component version go to this environment? Every contract with what runs
    /// there must be verified (exit 0 yes, 1 no, with the reasons).
    CanIDeploy(crate::contract_cmd::CanIDeployArgs),
    /// Interfaces between teams: propose a version, approve or reject it, the changelog.
    Interface(crate::contract_cmd::InterfaceArgs),
    /// Plan releases straight from manifest files, offline: schedule, critical path,
    /// risks, forecast and release-day steps.
    Plan(PlanArgs),
    /// Run the HTTP server and dashboard.
    Serve(ServeArgs),
    /// Measure performance.
    Bench(BenchArgs),
    /// Generated messages: preview them, print their templates.
    Message(crate::comms::MessageArgs),
    /// iCalendar feeds of releases, freezes and deployment windows.
    Calendar(crate::comms::CalendarArgs),
    /// Deliver generated messages; dead letters, replay, acknowledgements.
    Outbox(crate::comms::OutboxArgs),
    /// Users and API tokens of the server, managed on the database.
    User(UserArgs),
    /// Record a signal (CI, bugs, security scan, smoke test, error rate, latency).
    Signal(crate::gonogo::SignalArgs),
    /// Print a release's go/no-go verdict with its evidence (exit 0 go, 1 no-go).
    Gonogo(crate::gonogo::GonogoArgs),
    /// Sign in to a server: trade a password (or a token) for a token kept in the
    /// config file, so that `--server` needs nothing else.
    Login(crate::login::LoginArgs),
    /// Revoke the token kept by `lockstep login` and forget it.
    Logout(crate::login::LogoutArgs),
    /// A release's checklist; `check` ticks an item, `templates` lists templates.
    Checklist(crate::checklist_cmd::ChecklistArgs),
    /// The go/no-go meeting: --request, --approve, --reject --reason, --withdraw.
    Signoff(crate::checklist_cmd::SignoffArgs),
    /// Print a release's runbook: order, times, checks, rollback triggers, contacts.
    Runbook(crate::run_cmd::RunbookArgs),
    /// Execute a release's runbook: start, move steps, roll back, show status.
    Run(crate::run_cmd::RunArgs),
    /// Refused attempts (domain errors and denials) from the CLI and the server.
    Audit(crate::run_cmd::AuditArgs),
    /// Release metrics of a period: frequency, deployment success, lead time, rollbacks,
    /// incidents, surprise dependencies, conflict-free deployment windows.
    Metrics(crate::metrics_cmd::MetricsArgs),
    /// A release's post-release review: the seeds' questions with the facts on record,
    /// as Markdown.
    Retro(crate::metrics_cmd::RetroArgs),
    /// A release's coordination time in person-minutes: meetings, calls and e-mail
    /// recorded with it, and each person's time in Lockstep; `--log` records one.
    Coordination(crate::metrics_cmd::CoordinationArgs),
    /// The lessons kept with every release, newest first: what to remember when planning
    /// the next one.
    Lessons(crate::metrics_cmd::LessonsArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Manifest files or directories (read recursively, `*.yaml`/`*.yml`); `-` reads
    /// standard input.
    #[arg(short = 'f', long = "filename", required = true)]
    pub files: Vec<PathBuf>,
    /// Print the change without making it.
    #[arg(long)]
    pub dry_run: bool,
    /// Why, recorded with every event.
    #[arg(long)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    #[value(alias = "team")]
    Teams,
    #[value(alias = "component")]
    Components,
    #[value(alias = "environment", alias = "envs")]
    Environments,
    #[value(alias = "release")]
    Releases,
    #[value(alias = "item")]
    Items,
    #[value(alias = "dependency", alias = "deps")]
    Dependencies,
    #[value(alias = "integration-task", alias = "integrations")]
    IntegrationTasks,
    #[value(alias = "subscription", alias = "subs")]
    Subscriptions,
    #[value(alias = "blackout", alias = "freezes")]
    Blackouts,
    #[value(alias = "resource")]
    Resources,
    /// The risk register (declared risks; at-risk items are in `get items`).
    #[value(alias = "risk")]
    Risks,
    /// Interfaces between teams (APIs, events, data contracts).
    #[value(alias = "interface")]
    Interfaces,
    /// Which component version runs in which environment.
    #[value(alias = "deployment", alias = "deployed")]
    Deployments,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// The kind of resource.
    pub kind: Kind,
    /// Only items, integration tasks and risks of this release.
    #[arg(long)]
    pub release: Option<String>,
    /// Only items of this team.
    #[arg(long)]
    pub team: Option<String>,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The kind of resource.
    pub kind: Kind,
    /// Its name.
    pub name: String,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Show at most this many events (the most recent).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Only events of this stream (`release:q1-2025`, `team:api`).
    #[arg(long)]
    pub stream: Option<String>,
}

#[derive(Debug, Args)]
pub struct ItemArgs {
    #[command(subcommand)]
    pub verb: ItemVerb,
    /// Print what the change would do (the items it would put at risk, with their
    /// chains, and the teams to tell) and change nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum ItemVerb {
    /// Move an item to a board column.
    Status {
        item: String,
        /// planning, in-development, testing, staging, ready-for-release, released.
        status: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Set an item's ETA (YYYY-MM-DD), or `none` to clear it.
    Eta {
        item: String,
        eta: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Post a dated status update.
    Update {
        item: String,
        text: String,
        /// The day it refers to (default: today, UTC).
        #[arg(long)]
        date: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct IntegrationArgs {
    #[command(subcommand)]
    pub verb: IntegrationVerb,
}

#[derive(Debug, Subcommand)]
pub enum IntegrationVerb {
    /// Record the result of one scenario of an integration task (it feeds go/no-go).
    Result {
        task: String,
        /// The scenario's number, from 1, as `describe integration-tasks TASK` lists them.
        scenario: usize,
        /// passed, failed, blocked or pending.
        result: String,
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct RiskArgs {
    #[command(subcommand)]
    pub verb: RiskVerb,
}

#[derive(Debug, Subcommand)]
pub enum RiskVerb {
    /// Move a registered risk to another status; the reason is recorded with the event.
    Status {
        risk: String,
        /// open, mitigated, occurred or closed.
        status: String,
        /// Why (required: the weekly sync reads it in the history).
        #[arg(long, required = true)]
        reason: String,
    },
}

#[derive(Debug, Args)]
pub struct ChangeArgs {
    #[command(subcommand)]
    pub verb: ChangeVerb,
}

#[derive(Debug, Subcommand)]
pub enum ChangeVerb {
    /// Propose the manifests as a change; prints its impact on the program as it stands.
    Propose {
        /// Manifest files or directories; `-` reads standard input.
        #[arg(short = 'f', long = "filename", required = true)]
        files: Vec<PathBuf>,
        /// What the change is for, in one line.
        #[arg(long, required = true)]
        title: String,
        /// Why, recorded with the event.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Propose moving a release's deployment as a change request: to where its calendar
    /// conflict proposes, or to `--to`.
    Move {
        release: String,
        /// When its deployment's first step starts, in the deployment's time zone
        /// (`2026-01-06T10:00`); default: where its conflict proposes.
        #[arg(long)]
        to: Option<String>,
        /// Why, recorded with the event.
        #[arg(long)]
        reason: Option<String>,
    },
    /// List change requests, newest first.
    List {
        /// Only requests in this status: open, approved, rejected or withdrawn.
        #[arg(long)]
        status: Option<String>,
    },
    /// Show a change request and, while it is open, its impact as the program stands.
    Show { change: String },
    /// Approve a change request: its manifests are applied in the same commit.
    Approve {
        change: String,
        /// Why, kept with the decision.
        #[arg(long)]
        note: Option<String>,
    },
    /// Reject a change request, saying why.
    Reject {
        change: String,
        #[arg(long, required = true)]
        reason: String,
    },
    /// Withdraw your own change request.
    Withdraw { change: String },
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Manifest files or directories; `-` reads standard input.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Only this release (default: every release in the manifests).
    #[arg(long)]
    pub release: Option<String>,
    /// Day 0 of the plan (default: today, UTC).
    #[arg(long)]
    pub today: Option<String>,
    /// Output format (default: a table, or JSON with `-o json`).
    #[arg(long, value_enum)]
    pub format: Option<PlanFormat>,
    /// Monte Carlo trials for the forecast (0 to skip, at most 1,000,000).
    #[arg(
        long,
        default_value_t = 10_000,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(0..=1_000_000)
    )]
    pub trials: usize,
    /// Seed of the forecast.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// A previous `plan --format json`: items keep their starts unless a change
    /// forces them later, and the plan says what moved.
    #[arg(long)]
    pub previous: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Table,
    Json,
    Markdown,
    Svg,
}

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub verb: UserVerb,
}

#[derive(Debug, Subcommand)]
pub enum UserVerb {
    /// Create a user, or replace their password, member link and flags.
    Add {
        /// Login name.
        name: String,
        /// The team member handle this user acts as (their roles follow from it).
        #[arg(long)]
        member: Option<String>,
        /// Administers the server: may do everything.
        #[arg(long)]
        admin: bool,
        /// Not a person but a job, such as the CI job that applies the manifests: it may
        /// do what its roles allow, and its actions count as no one's coordination time.
        #[arg(long)]
        automation: bool,
        /// Read the password from the first line of stdin (default: generate one and print it once).
        #[arg(long)]
        password_stdin: bool,
    },
    /// API tokens: create (printed once, stored hashed), list, revoke.
    Token(TokenArgs),
    /// Make a new calendar feed token for a user and print their feed URLs' paths; it
    /// is printed once, stored hashed, and replaces the old one (whose URLs stop working).
    FeedToken {
        /// Login name.
        name: String,
    },
    /// List users (never their secrets).
    List,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub verb: TokenVerb,
}

#[derive(Debug, Subcommand)]
pub enum TokenVerb {
    /// Issue a token for a user; it is printed once and stored hashed.
    Create {
        /// Login name.
        name: String,
        /// What the token is for (`ci`, `laptop`).
        #[arg(long)]
        label: Option<String>,
        /// Refuse the token after this long: `12h`, `30d`, `2w` (default: never).
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// A user's tokens: id, label, created, expires, state (never the secret).
    List {
        /// Login name.
        name: String,
    },
    /// Revoke a token by its id (from `token list`); it is refused from then on.
    Revoke {
        /// The token's id.
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LOCKSTEP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Load the seed example into a fresh database, dated so that the release is in progress today.
    #[arg(long)]
    pub demo: bool,
    /// The notification file (channels, subscriptions, retries); by default
    /// `notifications.yaml` when it exists. Without one, no messages are written.
    #[arg(long, env = "LOCKSTEP_NOTIFICATIONS")]
    pub notifications: Option<PathBuf>,
    /// Write messages but do not deliver them or write the scheduled ones here (another
    /// process runs `lockstep outbox deliver` and `outbox schedule`).
    #[arg(long)]
    pub no_deliver: bool,
    /// Seconds between outbox delivery passes.
    #[arg(long, default_value_t = 2.0)]
    pub deliver_interval: f64,
    /// UTC time of day (HH:MM) from which each day's daily updates (and, on the agenda's
    /// weekday, the weekly agenda) are written.
    #[arg(long, default_value = "07:00")]
    pub schedule_at: String,
    /// The weekday of the weekly agenda.
    #[arg(long, default_value = "friday")]
    pub weekly_on: String,
    /// Directory of template overrides (`daily-update.j2`, …).
    #[arg(long, env = "LOCKSTEP_TEMPLATES")]
    pub templates: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub which: BenchWhich,
}

#[derive(Debug, Subcommand)]
pub enum BenchWhich {
    /// Apply a generated program (teams, items, dependencies) to a fresh SQLite file.
    Apply {
        #[arg(long, default_value_t = 200)]
        teams: usize,
        #[arg(long, default_value_t = 10_000)]
        items: usize,
        #[arg(long, default_value_t = 30_000)]
        dependencies: usize,
    },
    /// Durable appends per second through the store vs a plain SQLite insert loop.
    Append {
        #[arg(long, default_value_t = 2_000)]
        events: usize,
    },
    /// Start-up time with many events in the log, with and without a snapshot.
    Startup {
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
    },
    /// Planning at scale: critical path, at-risk update, constrained schedule, Monte Carlo.
    Plan {
        /// Activities of the critical-path DAG.
        #[arg(long, default_value_t = 1_000_000)]
        cpm_activities: usize,
        /// Items of the program whose at-risk view is updated.
        #[arg(long, default_value_t = 10_000)]
        items: usize,
        /// Activities of the scheduled and forecast program.
        #[arg(long, default_value_t = 10_000)]
        activities: usize,
        /// Monte Carlo trials.
        #[arg(long, default_value_t = 10_000)]
        trials: usize,
    },
    /// The release calendar of a large program: every conflict (what a release page
    /// looks for), a quarter's Calendar, one proposed move.
    Calendar {
        /// Open releases, each with a release-day deployment.
        #[arg(long, default_value_t = 1_000)]
        releases: usize,
        /// Production environments they deploy to.
        #[arg(long, default_value_t = 20)]
        environments: usize,
    },
    /// Solve PSPLIB single-mode RCPSP instances and compare with the best known makespans.
    Psplib(PsplibArgs),
    /// Outbox throughput: enqueue messages, deliver them all to a local HTTP receiver.
    Outbox {
        #[arg(long, default_value_t = 5_000)]
        messages: usize,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Messages claimed per worker pass.
        #[arg(long, default_value_t = 256)]
        batch: i64,
    },
    /// The HTTP server on loopback: reads, a read/write mix (with `wrk`), the dashboard
    /// page and the live feed's fan-out.
    Http {
        /// Items of the one generated release.
        #[arg(long, default_value_t = 2_000)]
        items: usize,
        /// Duration of each wrk run, in seconds.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// wrk's keep-alive connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Concurrent clients of the live feed (0 skips it).
        #[arg(long, default_value_t = 1_000)]
        sse_clients: usize,
        /// Sequential GETs of the dashboard page timed.
        #[arg(long, default_value_t = 21)]
        renders: usize,
    },
}

#[derive(Debug, Args)]
pub struct PsplibArgs {
    /// Folder with `.sm` files and `optimum.csv` (e.g. ../shared/bench/psplib/j30).
    pub dir: PathBuf,
    /// Budget per instance in generated schedules (the literature's measure).
    #[arg(long, conflicts_with = "millis")]
    pub schedules: Option<u64>,
    /// Budget per instance in wall-clock milliseconds (to compare with a time-limited peer).
    #[arg(long)]
    pub millis: Option<u64>,
    /// Solve only this many instances, spread evenly over the sorted set.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Peer results to print beside ours (from scripts/psplib_cpsat.py).
    #[arg(long)]
    pub peer_json: Option<PathBuf>,
    /// Seed of every search.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Solve several instances at once instead of one at a time with parallel islands.
    #[arg(long)]
    pub parallel_instances: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    pub shell: clap_complete::Shell,
}
