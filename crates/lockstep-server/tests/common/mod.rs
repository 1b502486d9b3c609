//! What the server's integration tests share: an application over in-memory stores that
//! holds a fixture and users, and requests sent through the router.
// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use lockstep_core::{
    Command, EventMeta, ItemSpec, Member, Name, ReleaseSpec, Role, State, TeamSpec,
};
use lockstep_server::auth::PasswordCost;
use lockstep_server::{AppState, Clock, Config, app};
use lockstep_store::auth::AuthStore;
use lockstep_store::program::Program;
use serde_json::Value;
use tower::ServiceExt;

/// A team in UTC whose members have the given roles.
pub fn team(members: &[(&str, Role)]) -> TeamSpec {
    TeamSpec {
        title: None,
        time_zone: "UTC".to_owned(),
        working_hours: Default::default(),
        holidays: Vec::new(),
        members: members
            .iter()
            .map(|(handle, role)| Member {
                handle: name(handle),
                name: None,
                email: None,
                roles: vec![*role],
            })
            .collect(),
        on_call: None,
        labels: Default::default(),
    }
}

/// The password of every test user.
pub const PASSWORD: &str = "correct horse battery staple";

pub fn name(raw: &str) -> Name {
    Name::parse(raw).expect("valid test name")
}

/// The configuration tests start from: this clock, cheap password hashing.
pub fn config(clock: Clock) -> Config {
    Config {
        clock,
        password_cost: PasswordCost::Test,
        ..Default::default()
    }
}

/// An application over in-memory stores whose log holds `commands`, decided at `now`.
pub async fn application(
    commands: Vec<Command>,
    now: jiff::Timestamp,
    config: Config,
) -> Arc<AppState> {
    let program = Program::open("sqlite::memory:", Default::default())
        .await
        .expect("memory log");
    if !commands.is_empty() {
        let mut state = State::new();
        let events = lockstep_core::decide_all(&state, commands, now).expect("fixture is valid");
        let meta = EventMeta {
            actor: "fixture".to_owned(),
            at: now,
            reason: None,
        };
        program
            .commit(&mut state, events, &meta, &[])
            .await
            .expect("fixture commits");
    }
    let auth = AuthStore::open("sqlite::memory:", &Default::default())
        .await
        .expect("memory credentials");
    AppState::load(program, auth, config)
        .await
        .expect("state loads")
}

/// Adds `(user, member handle, admin)` users with [`PASSWORD`]; a bearer token for each.
pub async fn add_users(
    app: &AppState,
    users: &[(&'static str, Option<&str>, bool)],
) -> HashMap<&'static str, String> {
    let mut tokens = HashMap::new();
    for &(user, member, admin) in users {
        let new = lockstep_server::auth::NewUser {
            member,
            admin,
            ..lockstep_server::auth::NewUser::named(user)
        };
        app.add_user(&new, Some(PASSWORD))
            .await
            .expect("user added");
        tokens.insert(user, app.issue_token(user).await.expect("token issued"));
    }
    tokens
}

/// Sends `request` through the router: status, headers, and the body as JSON (or as a
/// JSON string when it is not JSON).
pub async fn send(state: &Arc<AppState>, request: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let response = app(state.clone())
        .oneshot(request)
        .await
        .expect("router answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body reads");
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, headers, value)
}

/// A request with an optional bearer token, extra headers and a JSON body.
pub fn request(
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<String>,
    headers: &[(&str, &str)],
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    for (key, value) in headers {
        builder = builder.header(*key, *value);
    }
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body)),
        None => builder.body(Body::empty()),
    }
    .expect("request builds")
}

pub fn date(raw: &str) -> jiff::civil::Date {
    raw.parse().expect("valid test date")
}

pub fn item(title: &str, team: &str, due: &str) -> ItemSpec {
    ItemSpec {
        title: title.to_owned(),
        team: name(team),
        component: None,
        acceptance_criteria: Vec::new(),
        labels: Vec::new(),
        due: Some(date(due)),
        estimate: None,
        uses: Default::default(),
        pinned_start: None,
    }
}

/// A small program: teams api (mike), frontend (sarah), office (rita, release manager;
/// sid, security); release r1 with `api-endpoints` (api) blocking `dashboard` (frontend).
pub fn small_program() -> Vec<Command> {
    vec![
        Command::DefineTeam {
            team: name("api"),
            spec: team(&[("mike", Role::TechLead)]),
        },
        Command::DefineTeam {
            team: name("frontend"),
            spec: team(&[("sarah", Role::TechLead)]),
        },
        Command::DefineTeam {
            team: name("office"),
            spec: team(&[("rita", Role::ReleaseManager), ("sid", Role::Security)]),
        },
        Command::DefineRelease {
            release: name("r1"),
            spec: ReleaseSpec {
                title: Some("Release One".to_owned()),
                kind: Default::default(),
                version: None,
                target_date: date("2030-03-01"),
                feature_freeze: Some(date("2030-02-15")),
                code_freeze: Some(date("2030-02-22")),
                manager: None,
                milestones: Vec::new(),
                deployment: None,
                labels: Default::default(),
            },
        },
        Command::DefineItem {
            item: name("api-endpoints"),
            release: name("r1"),
            spec: item("API endpoints", "api", "2030-02-08"),
        },
        Command::DefineItem {
            item: name("dashboard"),
            release: name("r1"),
            spec: item("Dashboard", "frontend", "2030-02-14"),
        },
        Command::DefineDependency {
            blocker: name("api-endpoints"),
            blocked: name("dashboard"),
            need_by: Some(date("2030-02-10")),
            buffer_days: 1,
        },
    ]
}

/// The small program's users: an admin, its people, and a viewer with no member link.
pub const SMALL_PROGRAM_USERS: [(&str, Option<&str>, bool); 6] = [
    ("admin", None, true),
    ("rita", Some("rita"), false),
    ("mike", Some("mike"), false),
    ("sarah", Some("sarah"), false),
    ("sid", Some("sid"), false),
    ("viewer", None, false),
];

/// An application holding `commands`, decided at `now` on a fixed clock, with `users`
/// and their tokens: what most HTTP tests start from.
pub struct Harness {
    pub app: Arc<AppState>,
    pub tokens: HashMap<&'static str, String>,
}

impl Harness {
    pub async fn start(
        commands: Vec<Command>,
        users: &[(&'static str, Option<&str>, bool)],
        now: &str,
    ) -> Harness {
        let now: jiff::Timestamp = now.parse().expect("valid instant");
        let app = application(commands, now, config(Clock::fixed(now))).await;
        let tokens = add_users(&app, users).await;
        Harness { app, tokens }
    }

    /// Sends a request as `user` (who must have a token) with a JSON body.
    pub async fn call(
        &self,
        user: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Value) {
        let token = self.tokens.get(user).expect("known test user");
        send(
            &self.app,
            request(
                Some(token),
                method,
                path,
                body.map(|b| b.to_string()),
                headers,
            ),
        )
        .await
    }
}
