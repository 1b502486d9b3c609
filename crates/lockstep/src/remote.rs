//! The CLI against a server (`--server URL`): one function per verb, each the HTTP
//! twin of its local verb, printing the same formats with the same exit codes.
//!
//! [`Client`] carries the base URL and the bearer token (`LOCKSTEP_TOKEN`, else the
//! one `lockstep login` kept for this very server) and turns a problem document into a
//! [`ServerProblem`] error, which `main` prints as `error: …`, or as the server's own
//! problem with `-o json`. Listings are rendered by the local code (`read::listing`)
//! from what the server sent (`Fetched`), so both modes print the same rows.
//!
//! To add a verb: a function here that calls the API and prints like the local one, and
//! a line in [`run`]. Verbs that only exist on the database (`user`, `signal`, `outbox`,
//! `message`, `calendar`) are refused with `--server` rather than silently run locally.

use std::collections::BTreeMap;
use std::fmt;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use lockstep_core::{
    Component, Dependency, Environment, Event, IntegrationTask, Item, ItemStatus, Name, Release,
    Team,
};
use lockstep_server::Problem;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::cli::{
    ApplyArgs, Command, DescribeArgs, GetArgs, Global, HistoryArgs, ItemArgs, ItemVerb, Kind,
    Output,
};
use crate::login::normalize;
use crate::read::{View, opt, print_table};

/// A problem document the server answered with.
#[derive(Debug)]
pub struct ServerProblem {
    /// The server, for the message.
    pub server: String,
    /// What it said.
    pub problem: Problem,
}

impl fmt::Display for ServerProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problem = &self.problem;
        write!(
            f,
            "{} refused the request ({} {}): {}",
            self.server, problem.status, problem.title, problem.detail
        )?;
        if let Some(field) = &problem.field {
            write!(f, " [field `{field}`]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ServerProblem {}

/// The HTTP status of a server's refusal, if `error` is one.
pub fn status_of(error: &anyhow::Error) -> Option<u16> {
    error
        .downcast_ref::<ServerProblem>()
        .map(|p| p.problem.status)
}

/// An HTTP client of one server, with one token.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .user_agent(concat!("lockstep-cli/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot build the HTTP client")
}

fn check_url(server: &str) -> anyhow::Result<()> {
    if !(server.starts_with("http://") || server.starts_with("https://")) {
        bail!("--server must be an http:// or https:// URL, not `{server}`");
    }
    Ok(())
}

impl Client {
    /// A client of `server` sending `token`.
    pub fn new(server: &str, token: &str) -> anyhow::Result<Client> {
        let base = normalize(server);
        check_url(&base)?;
        Ok(Client {
            base,
            token: token.trim().to_owned(),
            http: http_client()?,
        })
    }

    /// The client of `--server`, with `LOCKSTEP_TOKEN` or the token saved for it.
    pub fn connect(global: &Global) -> anyhow::Result<Client> {
        let server = normalize(global.server.as_deref().unwrap_or_default());
        check_url(&server)?;
        if let Some(token) = std::env::var("LOCKSTEP_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
        {
            return Client::new(&server, &token);
        }
        match crate::login::load()? {
            Some(saved) if saved.server == server => Client::new(&server, &saved.token),
            // Never send a token to a server it was not issued by.
            Some(saved) => bail!(
                "no token for {server} (signed in to {}): run `lockstep login --server {server}` or set LOCKSTEP_TOKEN",
                saved.server
            ),
            None => bail!(
                "no token for {server}: run `lockstep login --server {server}` or set LOCKSTEP_TOKEN"
            ),
        }
    }

    /// `POST /api/v1/tokens` with HTTP Basic: a new token for `user`.
    pub async fn exchange_password(
        server: &str,
        user: &str,
        password: &str,
        body: &Value,
    ) -> anyhow::Result<Value> {
        let base = normalize(server);
        check_url(&base)?;
        let request = http_client()?
            .post(format!("{base}/api/v1/tokens"))
            .basic_auth(user, Some(password))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(body)?);
        answer(&base, request).await
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(body)?);
        }
        answer(&self.base, request).await
    }

    /// `GET path` as JSON.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        self.send(reqwest::Method::GET, path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> anyhow::Result<Value> {
        self.send(reqwest::Method::DELETE, path, None).await
    }

    /// Every element of a paginated list, following `nextCursor`.
    async fn all<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<Vec<T>> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut cursor: Option<String> = None;
        let mut out = Vec::new();
        loop {
            let page_path = match &cursor {
                Some(cursor) => format!("{path}{separator}limit=1000&cursor={cursor}"),
                None if path.starts_with("/api/v1/dependencies") => path.to_owned(),
                None => format!("{path}{separator}limit=1000"),
            };
            let page = self.get_json(&page_path).await?;
            let items = page["items"]
                .as_array()
                .with_context(|| format!("{}{page_path}: the answer has no `items`", self.base))?;
            for item in items {
                out.push(
                    serde_json::from_value(item.clone())
                        .with_context(|| format!("{}{page_path}: unexpected item", self.base))?,
                );
            }
            match page["nextCursor"].as_str() {
                Some(next) if Some(next) != cursor.as_deref() => cursor = Some(next.to_owned()),
                _ => return Ok(out),
            }
        }
    }
}

/// Sends `request`; a 2xx is its JSON body, anything else a [`ServerProblem`].
async fn answer(base: &str, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let response = request
        .send()
        .await
        .with_context(|| format!("cannot reach {base}"))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .with_context(|| format!("{base} sent an unreadable answer"))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes)
            .with_context(|| format!("{base} answered {status} with something that is not JSON"));
    }
    let problem = serde_json::from_slice::<Problem>(&bytes).unwrap_or_else(|_| Problem {
        kind: "about:blank".to_owned(),
        title: status.canonical_reason().unwrap_or("error").to_owned(),
        status: status.as_u16(),
        detail: String::from_utf8_lossy(&bytes).chars().take(300).collect(),
        field: None,
    });
    Err(ServerProblem {
        server: base.to_owned(),
        problem,
    }
    .into())
}

/// A query-string value: unreserved characters as they are, the rest percent-encoded.
pub fn percent_encode(raw: &str) -> String {
    raw.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Runs `command` against the server of `--server`. Commands that do not touch the
/// program (plan, serve, bench, login, logout) come back to run as usual.
pub async fn run(global: &Global, command: Command) -> anyhow::Result<Result<ExitCode, Command>> {
    let refuse = |verb: &str| {
        Err(anyhow!(
            "`{verb}` works on the database, not against a server yet: drop --server (and LOCKSTEP_SERVER)"
        ))
    };
    let code = match command {
        Command::Get(args) => get(&Client::connect(global)?, global, args).await,
        Command::Describe(args) => describe(&Client::connect(global)?, global, args).await,
        Command::History(args) => history(&Client::connect(global)?, global, args).await,
        Command::Item(args) => item(&Client::connect(global)?, global, args).await,
        Command::Integration(args) => integration(&Client::connect(global)?, global, args).await,
        Command::Risk(args) => risk(&Client::connect(global)?, global, args).await,
        Command::Contract(args) => {
            crate::contract_cmd::remote::contract(&Client::connect(global)?, global, args).await
        }
        Command::Deployed(args) => {
            crate::contract_cmd::remote::deployed(&Client::connect(global)?, global, args).await
        }
        Command::CanIDeploy(args) => {
            crate::contract_cmd::remote::can_i_deploy(&Client::connect(global)?, global, args).await
        }
        Command::Interface(args) => {
            crate::contract_cmd::remote::interface(&Client::connect(global)?, global, args).await
        }
        Command::Apply(args) => apply(&Client::connect(global)?, global, args).await,
        Command::Gonogo(args) => gonogo(&Client::connect(global)?, global, &args.release).await,
        Command::User(_) => refuse("user"),
        Command::Signal(args) => signal(&Client::connect(global)?, global, args).await,
        Command::Message(_) => refuse("message"),
        Command::Calendar(
            args @ crate::comms::CalendarArgs {
                verb: crate::comms::CalendarVerb::Show { .. },
            },
        ) => crate::comms::calendar(global, args).await,
        Command::Calendar(_) => refuse("calendar export"),
        Command::Outbox(crate::comms::OutboxArgs {
            verb: crate::comms::OutboxVerb::Ack { item },
            ..
        }) => acknowledge(&Client::connect(global)?, global, &item).await,
        Command::Outbox(_) => refuse("outbox (except `outbox ack`)"),
        Command::Checklist(args) => checklist(&Client::connect(global)?, global, args).await,
        Command::Signoff(args) => signoff(&Client::connect(global)?, global, args).await,
        Command::Runbook(args) => runbook(&Client::connect(global)?, global, args).await,
        Command::Run(args) => run_verb(&Client::connect(global)?, global, args).await,
        Command::Audit(args) => audit(&Client::connect(global)?, global, args).await,
        // One code path for both: each asks the server when given one.
        Command::Metrics(args) => crate::metrics_cmd::metrics(global, args).await,
        Command::Retro(args) => crate::metrics_cmd::retro(global, args).await,
        Command::Coordination(args) => crate::metrics_cmd::coordination(global, args).await,
        Command::Lessons(args) => crate::metrics_cmd::lessons(global, args).await,
        Command::Change(args) => crate::change_cmd::run(global, args).await,
        // Local by nature: planning files offline, serving, benchmarks, signing in.
        other @ (Command::Plan(_)
        | Command::Serve(_)
        | Command::Bench(_)
        | Command::Login(_)
        | Command::Logout(_)
        | Command::Completions(_)) => return Ok(Err(other)),
    };
    code.map(Ok)
}

/// What a listing needs, as the server sent it.
#[derive(Debug, Default)]
pub struct Fetched {
    teams: BTreeMap<Name, Team>,
    components: BTreeMap<Name, Component>,
    environments: BTreeMap<Name, Environment>,
    releases: BTreeMap<Name, Release>,
    items: BTreeMap<Name, Item>,
    integration_tasks: BTreeMap<Name, IntegrationTask>,
    /// Never fetched: subscriptions, blackouts and resources have no API yet.
    subscriptions: BTreeMap<Name, lockstep_core::Subscription>,
    blackouts: BTreeMap<Name, lockstep_core::Blackout>,
    /// At-risk items and their chains, from `/api/v1/risks` (for `get items`).
    risks: BTreeMap<Name, Vec<String>>,
    resources: BTreeMap<Name, lockstep_core::Resource>,
    /// The risk register, from `/api/v1/risk-register`.
    risks_registered: BTreeMap<Name, lockstep_core::Risk>,
    /// Interfaces, from `/api/v1/interfaces`.
    interfaces: BTreeMap<Name, lockstep_core::contract::Interface>,
    /// Deployed versions, from `/api/v1/deployments`.
    deployed: BTreeMap<Name, BTreeMap<Name, lockstep_core::contract::Deployed>>,
    dependencies: Vec<Dependency>,
}

impl View for Fetched {
    fn at_risk(&self) -> BTreeMap<Name, Vec<String>> {
        self.risks.clone()
    }
    fn blackouts(&self) -> &BTreeMap<Name, lockstep_core::Blackout> {
        &self.blackouts
    }
    fn resources(&self) -> &BTreeMap<Name, lockstep_core::Resource> {
        &self.resources
    }
    fn risks(&self) -> &BTreeMap<Name, lockstep_core::Risk> {
        &self.risks_registered
    }
    fn interfaces(&self) -> &BTreeMap<Name, lockstep_core::contract::Interface> {
        &self.interfaces
    }
    fn deployed(&self) -> &BTreeMap<Name, BTreeMap<Name, lockstep_core::contract::Deployed>> {
        &self.deployed
    }
    fn subscriptions(&self) -> &BTreeMap<Name, lockstep_core::Subscription> {
        &self.subscriptions
    }
    fn teams(&self) -> &BTreeMap<Name, Team> {
        &self.teams
    }
    fn components(&self) -> &BTreeMap<Name, Component> {
        &self.components
    }
    fn environments(&self) -> &BTreeMap<Name, Environment> {
        &self.environments
    }
    fn releases(&self) -> &BTreeMap<Name, Release> {
        &self.releases
    }
    fn items(&self) -> &BTreeMap<Name, Item> {
        &self.items
    }
    fn integration_tasks(&self) -> &BTreeMap<Name, IntegrationTask> {
        &self.integration_tasks
    }
    fn dependencies(&self) -> Box<dyn Iterator<Item = &Dependency> + '_> {
        Box::new(self.dependencies.iter())
    }
    fn items_of<'a>(&'a self, release: &'a Name) -> Box<dyn Iterator<Item = &'a Item> + 'a> {
        Box::new(self.items.values().filter(move |i| &i.release == release))
    }
    fn blocked_by<'a>(&'a self, item: &'a Name) -> Box<dyn Iterator<Item = &'a Dependency> + 'a> {
        Box::new(self.dependencies.iter().filter(move |d| &d.blocked == item))
    }
}

fn by_name<T>(items: Vec<T>, name: impl Fn(&T) -> &Name) -> BTreeMap<Name, T> {
    items.into_iter().map(|t| (name(&t).clone(), t)).collect()
}

/// A query string of the filters that are set.
fn query(pairs: &[(&str, Option<&str>)]) -> anyhow::Result<String> {
    let mut out = String::new();
    for (key, value) in pairs {
        if let Some(value) = value {
            // Names are the only values; parsing them keeps the URL clean.
            let value = Name::parse(value).with_context(|| format!("--{key} `{value}`"))?;
            out.push(if out.is_empty() { '?' } else { '&' });
            out.push_str(&format!("{key}={value}"));
        }
    }
    Ok(out)
}

/// `lockstep --server URL get KIND`
pub async fn get(client: &Client, global: &Global, args: GetArgs) -> anyhow::Result<ExitCode> {
    if global.output == Output::Yaml {
        bail!(
            "`get -o yaml` exports manifests from the database; against a server use -o json or the table"
        );
    }
    crate::read::check_filter_kinds(&args)?;
    let mut fetched = Fetched::default();
    match args.kind {
        Kind::Teams => {
            fetched.teams = by_name(client.all("/api/v1/teams").await?, |t: &Team| &t.name)
        }
        Kind::Components => {
            fetched.components =
                by_name(client.all("/api/v1/components").await?, |c: &Component| {
                    &c.name
                });
        }
        Kind::Environments => {
            fetched.environments = by_name(
                client.all("/api/v1/environments").await?,
                |e: &Environment| &e.name,
            );
        }
        Kind::Releases => {
            fetched.releases =
                by_name(client.all("/api/v1/releases").await?, |r: &Release| &r.name);
            fetched.items = by_name(client.all("/api/v1/items").await?, |i: &Item| &i.name);
        }
        Kind::Items => {
            let filters = query(&[
                ("release", args.release.as_deref()),
                ("team", args.team.as_deref()),
            ])?;
            fetched.items = by_name(
                client.all(&format!("/api/v1/items{filters}")).await?,
                |i: &Item| &i.name,
            );
            fetched.dependencies = client.all("/api/v1/dependencies").await?;
            let risks = client.get_json("/api/v1/risks").await?;
            fetched.risks = risks["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|risk| {
                    let item = Name::parse(risk["item"].as_str()?).ok()?;
                    let chain = risk["chain"]
                        .as_array()?
                        .iter()
                        .filter_map(|link| link.as_str().map(str::to_owned))
                        .collect();
                    Some((item, chain))
                })
                .collect();
            if fetched.items.is_empty() && (args.release.is_some() || args.team.is_some()) {
                let names = |values: Vec<Value>| -> Vec<String> {
                    values
                        .iter()
                        .filter_map(|v| v["name"].as_str().map(str::to_owned))
                        .collect()
                };
                let releases = names(client.all("/api/v1/releases").await?);
                let teams = names(client.all("/api/v1/teams").await?);
                crate::read::check_filter_names(
                    &args,
                    releases.iter().map(String::as_str),
                    teams.iter().map(String::as_str),
                )?;
            }
        }
        Kind::Dependencies => fetched.dependencies = client.all("/api/v1/dependencies").await?,
        Kind::Subscriptions | Kind::Blackouts | Kind::Resources => {
            bail!(
                "subscriptions, blackouts and resources have no API yet: run `lockstep get` on the server's database"
            )
        }
        Kind::IntegrationTasks => {
            fetched.integration_tasks = by_name(
                client.all("/api/v1/integration-tasks").await?,
                |t: &IntegrationTask| &t.name,
            );
        }
        Kind::Risks => {
            let filters = query(&[("release", args.release.as_deref())])?;
            // Each entry is the risk plus its exposure, which the risk recomputes.
            fetched.risks_registered = by_name(
                client
                    .all(&format!("/api/v1/risk-register{filters}"))
                    .await?,
                |r: &lockstep_core::Risk| &r.name,
            );
        }
        Kind::Deployments => {
            #[derive(serde::Deserialize)]
            struct Row {
                environment: Name,
                component: Name,
                #[serde(flatten)]
                running: lockstep_core::contract::Deployed,
            }
            let answer = client.get_json("/api/v1/deployments").await?;
            let rows: Vec<Row> = serde_json::from_value(answer["items"].clone())
                .context("the server's deployments")?;
            for row in rows {
                fetched
                    .deployed
                    .entry(row.environment)
                    .or_default()
                    .insert(row.component, row.running);
            }
        }
        Kind::Interfaces => {
            // Each entry is the interface plus what the server derives (matrix, impact).
            fetched.interfaces = by_name(
                client.all("/api/v1/interfaces").await?,
                |i: &lockstep_core::contract::Interface| &i.name,
            );
        }
    }
    let (header, rows, json) = crate::read::listing(&fetched, &args)?;
    match global.output {
        Output::Json => println!("{:#}", json!({ "items": json })),
        _ => print_table(&header, &rows),
    }
    Ok(ExitCode::SUCCESS)
}

/// `lockstep --server URL describe KIND NAME`
pub async fn describe(
    client: &Client,
    global: &Global,
    args: DescribeArgs,
) -> anyhow::Result<ExitCode> {
    let (kind, collection) = match args.kind {
        Kind::Teams => ("team", "teams"),
        Kind::Components => ("component", "components"),
        Kind::Environments => ("environment", "environments"),
        Kind::Releases => ("release", "releases"),
        Kind::Items => ("item", "items"),
        Kind::IntegrationTasks => ("integration task", "integration-tasks"),
        Kind::Risks => ("risk", "risk-register"),
        Kind::Interfaces => ("interface", "interfaces"),
        Kind::Deployments => bail!("deployments have no name: use `get deployments`"),
        Kind::Dependencies => {
            bail!("dependencies have no name: use `describe item NAME` to see what it blocks")
        }
        Kind::Subscriptions | Kind::Blackouts | Kind::Resources => {
            bail!(
                "subscriptions, blackouts and resources have no API yet: run `lockstep describe` on the server's database"
            )
        }
    };
    // The same message as the local verb: unknown, with the nearest name.
    let missing = || async {
        let names: Vec<Value> = client
            .all(&format!("/api/v1/{collection}"))
            .await
            .unwrap_or_default();
        let hint = lockstep_core::suggest::hint(
            &args.name,
            names.iter().filter_map(|v| v["name"].as_str()),
        );
        anyhow!("unknown {kind} `{}`{hint}", args.name)
    };
    if Name::parse(&args.name).is_err() {
        return Err(missing().await);
    }
    let value = if args.kind == Kind::IntegrationTasks {
        let tasks: Vec<Value> = client.all("/api/v1/integration-tasks").await?;
        match tasks.into_iter().find(|t| t["name"] == args.name.as_str()) {
            Some(task) => task,
            None => return Err(missing().await),
        }
    } else {
        let path = format!("/api/v1/{collection}/{}", args.name);
        let value = match client.get_json(&path).await {
            Ok(value) => value,
            Err(error) if status_of(&error) == Some(404) => return Err(missing().await),
            Err(error) => return Err(error),
        };
        if args.kind == Kind::Releases {
            let items: Vec<Item> = client.all(&format!("{path}/items")).await?;
            json!({ "release": value, "items": crate::read::release_items(items.iter()) })
        } else {
            value
        }
    };
    match global.output {
        Output::Json => println!("{value:#}"),
        _ => print!(
            "{}",
            serde_saphyr::to_string(&value).map_err(|e| anyhow!("cannot render: {e}"))?
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// One event of `/api/v1/history`.
#[derive(Debug, serde::Deserialize)]
struct HistoryRow {
    position: i64,
    actor: String,
    at: jiff::Timestamp,
    reason: Option<String>,
    summary: String,
}

/// `lockstep --server URL history`
pub async fn history(
    client: &Client,
    global: &Global,
    args: HistoryArgs,
) -> anyhow::Result<ExitCode> {
    if args.limit == 0 || args.limit > 10_000 {
        bail!("--limit is 1 to 10000 against a server");
    }
    let mut path = format!("/api/v1/history?last={}", args.limit);
    if let Some(stream) = &args.stream {
        crate::read::check_stream_name(stream)?;
        path.push_str(&format!("&stream={stream}"));
    }
    let answer = client.get_json(&path).await?;
    match global.output {
        Output::Json => println!("{:#}", json!({ "items": answer["items"] })),
        _ => {
            let rows: Vec<HistoryRow> = serde_json::from_value(answer["items"].clone())
                .context("the server's history is not in the expected form")?;
            print_table(
                &["#", "WHEN (UTC)", "WHO", "WHAT", "WHY"],
                &rows
                    .into_iter()
                    .map(|e| {
                        vec![
                            e.position.to_string(),
                            e.at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                            e.actor,
                            e.summary,
                            opt(e.reason.as_ref()),
                        ]
                    })
                    .collect::<Vec<_>>(),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `lockstep --server URL item status|eta|update`
pub async fn item(client: &Client, global: &Global, args: ItemArgs) -> anyhow::Result<ExitCode> {
    let (item, verb, body) = match args.verb {
        ItemVerb::Status {
            item,
            status,
            reason,
        } => {
            if ItemStatus::parse(&status).is_none() {
                let names: Vec<&str> = ItemStatus::COLUMNS.iter().map(|s| s.as_str()).collect();
                bail!("unknown status `{status}`: use one of {}", names.join(", "));
            }
            (
                item,
                "status",
                json!({ "status": status, "reason": reason }),
            )
        }
        ItemVerb::Eta { item, eta, reason } => {
            let eta = if eta == "none" {
                None
            } else {
                Some(crate::verbs::parse_date(&eta)?)
            };
            (item, "eta", json!({ "eta": eta, "reason": reason }))
        }
        ItemVerb::Update { item, text, date } => {
            let date = match date {
                Some(date) => crate::verbs::parse_date(&date)?,
                None => jiff::Timestamp::now()
                    .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                    .date(),
            };
            (item, "updates", json!({ "date": date, "text": text }))
        }
    };
    let item = Name::parse(&item)?;
    if args.dry_run {
        let answer = client
            .post_json(&format!("/api/v1/items/{item}/{verb}?dryRun"), &body)
            .await?;
        let impact: lockstep_core::change::Impact =
            serde_json::from_value(answer["impact"].clone())
                .with_context(|| format!("{}: the dry run's answer has no impact", client.base))?;
        let changes = answer["events"].as_array().cloned().unwrap_or_default();
        crate::verbs::print_preview(global.output, &changes, &impact);
        return Ok(ExitCode::SUCCESS);
    }
    let answer = client
        .post_json(&format!("/api/v1/items/{item}/{verb}"), &body)
        .await?;
    print_changes(global, &answer);
    Ok(ExitCode::SUCCESS)
}

/// `lockstep --server URL outbox ack ITEM`: the server records the acknowledgement and
/// cancels the item's unsent escalation notices, as the database path does.
async fn acknowledge(client: &Client, global: &Global, item: &str) -> anyhow::Result<ExitCode> {
    let item = Name::parse(item)?;
    let answer = client
        .post_json(&format!("/api/v1/items/{item}/acknowledge"), &json!({}))
        .await?;
    let answered = answer["acknowledged"]
        .as_array()
        .is_some_and(|escalations| !escalations.is_empty());
    match global.output {
        Output::Json => println!("{answer:#}"),
        _ if !answered => {
            println!("nothing to acknowledge: no escalation of {item} is unanswered")
        }
        _ => {
            for change in answer["events"].as_array().into_iter().flatten() {
                println!("{}", change["summary"].as_str().unwrap_or_default());
            }
            println!(
                "acknowledged {item}: {} pending escalation notice(s) cancelled",
                answer["cancelled"].as_u64().unwrap_or(0)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `lockstep --server URL risk status RISK STATUS --reason WHY`
pub async fn risk(
    client: &Client,
    global: &Global,
    args: crate::cli::RiskArgs,
) -> anyhow::Result<ExitCode> {
    let crate::cli::RiskVerb::Status {
        risk,
        status,
        reason,
    } = args.verb;
    crate::verbs::risk_status(&status)?;
    crate::verbs::risk_reason(&reason)?;
    let risk = Name::parse(&risk)?;
    let answer = client
        .post_json(
            &format!("/api/v1/risk-register/{risk}/status"),
            &json!({ "status": status, "reason": reason }),
        )
        .await?;
    print_changes(global, &answer);
    Ok(ExitCode::SUCCESS)
}

/// `lockstep --server URL integration result TASK N RESULT`
pub async fn integration(
    client: &Client,
    global: &Global,
    args: crate::cli::IntegrationArgs,
) -> anyhow::Result<ExitCode> {
    let crate::cli::IntegrationVerb::Result {
        task,
        scenario,
        result,
        reason,
    } = args.verb;
    crate::verbs::scenario_result(&result)?;
    let task = Name::parse(&task)?;
    let answer = client
        .post_json(
            &format!("/api/v1/integration-tasks/{task}/scenarios/{scenario}"),
            &json!({ "result": result, "reason": reason }),
        )
        .await?;
    print_changes(global, &answer);
    Ok(ExitCode::SUCCESS)
}

/// `lockstep --server URL apply -f …`: the files are read here and applied by the
/// server in one transaction (`POST /api/v1/apply`).
pub async fn apply(client: &Client, global: &Global, args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let sources = crate::apply::read_sources(&args.files, lockstep_manifest::Limits::default())?;
    let body = json!({
        "sources": sources.iter().map(|s| json!({ "name": s.name, "text": s.text })).collect::<Vec<_>>(),
        "dryRun": args.dry_run,
        "reason": args.reason,
    });
    let answer = match client.post_json("/api/v1/apply", &body).await {
        Ok(answer) => answer,
        // Manifest errors come back located; print them as the local verb does.
        Err(error) if status_of(&error) == Some(422) && global.output != Output::Json => {
            let detail = error
                .downcast_ref::<ServerProblem>()
                .map(|p| p.problem.detail.clone())
                .unwrap_or_default();
            bail!("{detail}");
        }
        Err(error) => return Err(error),
    };
    for note in answer["notes"].as_array().into_iter().flatten() {
        eprintln!("note: {}", note.as_str().unwrap_or_default());
    }
    let mut changes = Vec::new();
    for change in answer["changes"].as_array().into_iter().flatten() {
        let event: Event = serde_json::from_value(change["event"].clone())
            .context("the server sent an event this build does not know")?;
        changes.push((change["stream"].clone(), event));
    }
    let borrowed: Vec<(Value, &Event)> = changes.iter().map(|(s, e)| (s.clone(), e)).collect();
    let impact: Option<lockstep_core::change::Impact> = match answer.get("impact") {
        Some(impact) if args.dry_run => Some(
            serde_json::from_value(impact.clone())
                .context("the server sent an impact this build does not know")?,
        ),
        _ => None,
    };
    crate::apply::print_changes(global.output, &borrowed, args.dry_run, impact.as_ref());
    if !args.dry_run && !changes.is_empty() && global.output == Output::Table {
        println!(
            "applied {} change(s) at position {}",
            changes.len(),
            answer["position"]
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `lockstep --server URL gonogo RELEASE`: exit 0 go, 1 no-go.
pub async fn gonogo(client: &Client, global: &Global, release: &str) -> anyhow::Result<ExitCode> {
    let release = Name::parse(release)?;
    let verdict = client
        .get_json(&format!("/api/v1/releases/{release}/gonogo"))
        .await?;
    Ok(crate::gonogo::print_verdict(global.output, &verdict))
}

/// Prints the changes a write answered with, as the local verbs print theirs.
pub(crate) fn print_changes(global: &Global, answer: &Value) {
    let changes = answer["events"].as_array().cloned().unwrap_or_default();
    match global.output {
        Output::Json => println!("{:#}", json!({ "changes": changes })),
        _ if changes.is_empty() => println!("no changes"),
        _ => changes
            .iter()
            .for_each(|c| println!("{}", c["summary"].as_str().unwrap_or_default())),
    }
}

/// `lockstep --server URL runbook RELEASE`
pub async fn runbook(
    client: &Client,
    global: &Global,
    args: crate::run_cmd::RunbookArgs,
) -> anyhow::Result<ExitCode> {
    let release = Name::parse(&args.release)?;
    let runbook = client
        .get_json(&format!("/api/v1/releases/{release}/runbook"))
        .await?;
    match (args.format, global.output) {
        (crate::run_cmd::RunbookFormat::Json, _) | (_, Output::Json) => {
            println!("{runbook:#}")
        }
        _ => print!("{}", runbook["markdown"].as_str().unwrap_or_default()),
    }
    Ok(ExitCode::SUCCESS)
}

/// `lockstep --server URL run …`: the same verbs through the run endpoints; the
/// server records who acted (the token's user).
pub async fn run_verb(
    client: &Client,
    global: &Global,
    args: crate::run_cmd::RunArgs,
) -> anyhow::Result<ExitCode> {
    use crate::run_cmd::RunVerb;
    let (path, body) = match args.verb {
        RunVerb::Status { release } => {
            let release = Name::parse(&release)?;
            let run = client
                .get_json(&format!("/api/v1/releases/{release}/run"))
                .await?;
            match global.output {
                Output::Json | Output::Yaml => println!("{run:#}"),
                Output::Table => crate::run_cmd::print_run(&run),
            }
            return Ok(ExitCode::SUCCESS);
        }
        RunVerb::Start {
            release,
            auto_rollback,
            break_glass,
            reason,
        } => (
            format!("/api/v1/releases/{}/run", Name::parse(&release)?),
            json!({
                "autoRollback": auto_rollback,
                "breakGlassReason": if break_glass { reason } else { None },
            }),
        ),
        RunVerb::Step {
            release,
            step,
            action,
            note,
            break_glass,
            reason,
        } => (
            format!(
                "/api/v1/releases/{}/run/steps/{}",
                Name::parse(&release)?,
                Name::parse(&step).context("a step is named by its component")?
            ),
            json!({
                "action": action,
                "note": note,
                "breakGlassReason": if break_glass { reason } else { None },
            }),
        ),
        RunVerb::Rollback { release, reason } => (
            format!("/api/v1/releases/{}/run/rollback", Name::parse(&release)?),
            json!({ "reason": reason }),
        ),
    };
    let answer = client.post_json(&path, &body).await?;
    print_changes(global, &answer);
    Ok(ExitCode::SUCCESS)
}

/// `lockstep --server URL audit`
pub async fn audit(
    client: &Client,
    global: &Global,
    args: crate::run_cmd::AuditArgs,
) -> anyhow::Result<ExitCode> {
    let release = query(&[("release", args.release.as_deref())])?;
    let separator = if release.is_empty() { '?' } else { '&' };
    let answer = client
        .get_json(&format!(
            "/api/v1/audit{release}{separator}limit={}",
            args.limit
        ))
        .await?;
    let refusals = answer["refusals"].as_array().cloned().unwrap_or_default();
    crate::run_cmd::print_refusals(global.output, &refusals);
    Ok(ExitCode::SUCCESS)
}

/// Against a server the person acting is the token's member: `--as` cannot change it.
fn no_as(as_member: Option<&str>) -> anyhow::Result<()> {
    match as_member {
        Some(member) => bail!(
            "against a server you act as your own member, not `{member}`: drop --as (or use {member}'s token)"
        ),
        None => Ok(()),
    }
}

/// `lockstep --server URL checklist …`
pub async fn checklist(
    client: &Client,
    global: &Global,
    args: crate::checklist_cmd::ChecklistArgs,
) -> anyhow::Result<ExitCode> {
    use crate::checklist_cmd::ChecklistVerb;
    match args.verb {
        Some(ChecklistVerb::Check {
            release,
            item,
            note,
            as_member,
        }) => {
            no_as(as_member.as_deref())?;
            let path = format!(
                "/api/v1/releases/{}/checklist/{}/check",
                Name::parse(&release)?,
                Name::parse(&item)?
            );
            let answer = client.post_json(&path, &json!({ "note": note })).await?;
            print_changes(global, &answer);
            Ok(ExitCode::SUCCESS)
        }
        Some(ChecklistVerb::Templates) => bail!(
            "`checklist templates` works on the database, not against a server yet: drop --server (or GET /api/v1/checklist-templates)"
        ),
        None => {
            let Some(release) = args.release else {
                bail!("name a release (`lockstep checklist RELEASE`) or a verb (check, templates)");
            };
            let release = Name::parse(&release)?;
            let checklist = client
                .get_json(&format!("/api/v1/releases/{release}/checklist"))
                .await?;
            match global.output {
                Output::Json | Output::Yaml => println!("{checklist:#}"),
                Output::Table => print!("{}", crate::checklist_cmd::checklist_text(&checklist)),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `lockstep --server URL signoff RELEASE …`
pub async fn signoff(
    client: &Client,
    global: &Global,
    args: crate::checklist_cmd::SignoffArgs,
) -> anyhow::Result<ExitCode> {
    no_as(args.as_member.as_deref())?;
    let release = Name::parse(&args.release)?;
    let answer = if args.request {
        client
            .post_json(
                &format!("/api/v1/releases/{release}/gonogo/request"),
                &json!({}),
            )
            .await?
    } else if args.withdraw {
        let me = client.get_json("/api/v1/me").await?;
        let Some(member) = me["member"].as_str() else {
            bail!("your user is not linked to a team member, so it has no sign-off to withdraw");
        };
        client
            .delete(&format!("/api/v1/releases/{release}/signoffs/{member}"))
            .await?
    } else {
        let decision = if args.approve { "approve" } else { "reject" };
        client
            .post_json(
                &format!("/api/v1/releases/{release}/signoffs"),
                &json!({ "decision": decision, "reason": args.reason }),
            )
            .await?
    };
    print_changes(global, &answer);
    Ok(ExitCode::SUCCESS)
}

/// `lockstep --server URL signal record …`: the same readings through
/// `POST /api/v1/signals`, recorded as the token's user.
pub async fn signal(
    client: &Client,
    global: &Global,
    args: crate::gonogo::SignalArgs,
) -> anyhow::Result<ExitCode> {
    use lockstep_core::SignalReading;
    let crate::gonogo::SignalVerb::Record { reading: args } = args.verb;
    let now = jiff::Timestamp::now();
    let (common, reading) = crate::gonogo::reading(args)?;
    let observed_at: jiff::Timestamp = match &common.at {
        Some(raw) => raw
            .parse()
            .with_context(|| format!("`{raw}` is not an RFC 3339 instant"))?,
        None => now,
    };
    let reading = match reading {
        SignalReading::Ci {
            workflow,
            conclusion,
            branch,
            commit,
        } => json!({ "kind": "ci", "workflow": workflow, "conclusion": conclusion.to_string(),
                     "branch": branch, "commit": commit }),
        SignalReading::Bugs {
            critical,
            high,
            medium,
            low,
        } => {
            json!({ "kind": "bugs", "critical": critical, "high": high, "medium": medium, "low": low })
        }
        SignalReading::SecurityScan { critical, high } => {
            json!({ "kind": "security-scan", "critical": critical, "high": high })
        }
        SignalReading::SmokeTest { passed, failed } => {
            json!({ "kind": "smoke-test", "passed": passed, "failed": failed })
        }
        SignalReading::ErrorRate { basis_points } => {
            json!({ "kind": "error-rate", "percent": f64::from(basis_points) / 100.0 })
        }
        SignalReading::Latency { p95_ms } => json!({ "kind": "latency", "p95Ms": p95_ms }),
        SignalReading::Issue { .. } => bail!("issues come from the tracker's webhooks"),
    };
    let body = json!({
        "component": common.component,
        "repository": common.repository,
        "environment": common.environment,
        "delivery": common.delivery.unwrap_or_else(|| format!("cli:{}", now.as_nanosecond())),
        "observedAt": observed_at,
        "reading": reading,
    });
    let answer = client.post_json("/api/v1/signals", &body).await?;
    print_changes(global, &answer);
    Ok(ExitCode::SUCCESS)
}
