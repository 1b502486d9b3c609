//! Test helpers: the seed example as an in-memory log with a history, and a way to add
//! the day's events at chosen instants. No store: the comms crate is pure.
#![allow(dead_code)]

use jiff::Timestamp;
use lockstep_comms::{Compose, Format, Message, MessageKind, Provenance, Request, Templates};
use lockstep_core::{Command, EventMeta, Name, Recorded, State, decide, decide_all};
use lockstep_manifest::{Limits, Source, parse, plan};

/// The seed example, applied at 2025-01-20T12:00Z, with its log.
pub struct Program {
    pub state: State,
    pub history: Vec<Recorded>,
}

pub fn name(raw: &str) -> Name {
    Name::parse(raw).expect("valid name")
}

pub fn at(raw: &str) -> Timestamp {
    raw.parse().expect("valid timestamp")
}

fn example_sources() -> Vec<Source> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/q1-2025");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("examples/q1-2025 exists")
        .map(|entry| entry.expect("readable dir entry").path())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| Source {
            name: path
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned(),
            text: std::fs::read_to_string(&path).expect("readable example"),
        })
        .collect()
}

impl Program {
    pub fn seed() -> Program {
        let mut program = Program {
            state: State::new(),
            history: Vec::new(),
        };
        let manifest =
            parse(&example_sources(), Limits::default()).unwrap_or_else(|e| panic!("{e}"));
        let commands = plan(&manifest, &program.state).unwrap_or_else(|e| panic!("{e}"));
        let now = at("2025-01-20T12:00:00Z");
        let events = decide_all(
            &program.state,
            commands.into_iter().map(|c| c.command).collect(),
            now,
        )
        .unwrap_or_else(|errors| panic!("{errors:?}"));
        program.record(events, "rita", now);
        program
    }

    fn record(
        &mut self,
        events: Vec<lockstep_core::Event>,
        actor: &str,
        now: Timestamp,
    ) -> Vec<Recorded> {
        let mut out = Vec::new();
        for event in events {
            let position = self.state.position() + 1;
            let stream = self.state.stream_of(&event);
            self.state.apply(position, &event);
            let recorded = Recorded {
                position,
                stream,
                meta: EventMeta {
                    actor: actor.to_owned(),
                    at: now,
                    reason: None,
                },
                event,
            };
            self.history.push(recorded.clone());
            out.push(recorded);
        }
        out
    }

    /// Decides and records `command` at `now`.
    pub fn run(&mut self, now: &str, actor: &str, command: Command) -> Vec<Recorded> {
        let now = at(now);
        let events = decide(&self.state, command, now).unwrap_or_else(|e| panic!("{e}"));
        self.record(events, actor, now)
    }

    /// A week of the seed scenario: the API ETA slips into its buffer, integration
    /// results come in, the teams post their notes.
    pub fn seed_week() -> Program {
        use lockstep_core::{ScenarioResult, StatusUpdate};
        let mut program = Program::seed();
        program.run(
            "2025-02-04T16:00:00Z",
            "mike",
            Command::SetEta {
                item: name("api-analytics-endpoints"),
                eta: Some(jiff::civil::date(2025, 2, 7)),
            },
        );
        program.run(
            "2025-02-05T15:00:00Z",
            "sarah",
            Command::PostUpdate {
                item: name("frontend-dashboard"),
                update: StatusUpdate {
                    date: jiff::civil::date(2025, 2, 5),
                    text: "Dashboard components complete".to_owned(),
                },
            },
        );
        program.run(
            "2025-02-05T16:00:00Z",
            "mike",
            Command::RecordScenarioResult {
                task: name("frontend-api-analytics-charts"),
                scenario: 0,
                result: ScenarioResult::Passed,
            },
        );
        program.run(
            "2025-02-05T16:05:00Z",
            "mike",
            Command::RecordScenarioResult {
                task: name("frontend-api-analytics-charts"),
                scenario: 3,
                result: ScenarioResult::Failed,
            },
        );
        program.run(
            "2025-02-05T17:00:00Z",
            "priya",
            Command::SetEta {
                item: name("mobile-analytics-view"),
                eta: Some(jiff::civil::date(2025, 2, 18)),
            },
        );
        program
    }

    pub fn compose(&self, request: &Request) -> Message {
        self.compose_with(request, &Templates::embedded())
    }

    pub fn compose_with(&self, request: &Request, templates: &Templates) -> Message {
        let provenance = Provenance::new(&self.history);
        let risk = lockstep_core::risk::assess(&self.state);
        lockstep_comms::compose(
            Compose {
                state: &self.state,
                history: &self.history,
                provenance: &provenance,
                risk: &risk,
                templates,
            },
            request,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }
}

pub fn request(kind: MessageKind, date: jiff::civil::Date) -> Request {
    Request {
        kind,
        release: name("q1-2025"),
        team: None,
        role: None,
        date,
        format: Format::Markdown,
        escalation: None,
        run: None,
        late: None,
    }
}

/// What a snapshot shows: subject, sources and body.
pub fn show(message: &Message) -> String {
    format!(
        "Subject: {}\nSources: {:?}\n\n{}",
        message.subject, message.sources, message.body
    )
}

/// (channel, handle, kind) of each envelope, sorted.
pub fn who(
    envelopes: &[(
        lockstep_comms::policy::Envelope,
        lockstep_comms::policy::Delivery,
    )],
) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = envelopes
        .iter()
        .map(|(envelope, delivery)| {
            (
                envelope.channel.clone(),
                delivery
                    .recipient
                    .as_ref()
                    .map(|r| r.handle.to_string())
                    .unwrap_or_default(),
                delivery.message.kind.to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

pub fn triple(channel: &str, handle: &str, kind: &str) -> (String, String, String) {
    (channel.to_owned(), handle.to_owned(), kind.to_owned())
}

/// What `policy::on_commit` writes for `events` decided against `before`, with each
/// envelope's delivery parsed: the streams and versions they will have, as a commit
/// would number them.
pub fn run_policy(
    config: &lockstep_comms::notify::NotificationConfig,
    before: &State,
    events: &[lockstep_core::Event],
    actor: &str,
    now: &str,
    reason: Option<&str>,
) -> Vec<(
    lockstep_comms::policy::Envelope,
    lockstep_comms::policy::Delivery,
)> {
    use lockstep_comms::policy::{Delivery, Pending, on_commit};
    let mut scratch = before.clone();
    let mut streams = Vec::new();
    for event in events {
        let stream = scratch.stream_of(event);
        scratch.apply(scratch.position() + 1, event);
        streams.push((stream.clone(), scratch.stream_version(&stream)));
    }
    let pending: Vec<Pending<'_>> = events
        .iter()
        .zip(&streams)
        .map(|(event, (stream, version))| Pending {
            stream,
            stream_version: *version,
            event,
        })
        .collect();
    let meta = EventMeta {
        actor: actor.to_owned(),
        at: at(now),
        reason: reason.map(str::to_owned),
    };
    on_commit(config, &Templates::embedded(), before, &pending, &meta)
        .into_iter()
        .map(|envelope| {
            let delivery: Delivery =
                serde_json::from_str(&envelope.payload).expect("a delivery parses");
            (envelope, delivery)
        })
        .collect()
}
