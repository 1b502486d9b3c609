//! What the core's tests share: names, the instant they decide at, and a program built
//! through the commands a user would issue. Each test file adds the builder steps of its
//! own subject in an `impl ProgramBuilder` of its own.
// Each test binary uses its own part of this module.
#![allow(dead_code)]

use lockstep_core::{Command, ComponentSpec, Member, Name, Role, State, TeamSpec, decide};

pub fn name(raw: &str) -> Name {
    Name::parse(raw).expect("test names are valid")
}

pub fn now() -> jiff::Timestamp {
    "2025-01-20T12:00:00Z".parse().expect("valid timestamp")
}

/// Builds a program through the commands a user would issue.
pub struct ProgramBuilder {
    pub state: State,
    pub position: i64,
}

impl ProgramBuilder {
    pub fn new() -> Self {
        ProgramBuilder {
            state: State::new(),
            position: 0,
        }
    }

    /// Decides `command` at [`now`] and folds its events; a refusal fails the test.
    pub fn run(mut self, command: Command) -> Self {
        let events = decide(&self.state, command.clone(), now())
            .unwrap_or_else(|error| panic!("fixture command {command:?} failed: {error}"));
        for event in &events {
            self.position += 1;
            self.state.apply(self.position, event);
        }
        self
    }

    /// A team in UTC whose members hold the given roles.
    pub fn team(self, team: &str, members: &[(&str, Role)]) -> Self {
        let spec = TeamSpec {
            title: None,
            time_zone: "UTC".into(),
            working_hours: Default::default(),
            holidays: vec![],
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
        };
        self.run(Command::DefineTeam {
            team: name(team),
            spec,
        })
    }

    /// A component of `team`, with no repository or dependencies.
    pub fn component(self, component: &str, team: &str) -> Self {
        self.run(Command::DefineComponent {
            component: name(component),
            spec: ComponentSpec {
                title: None,
                team: name(team),
                repository: None,
                labels: Default::default(),
                depends_on: Vec::new(),
            },
        })
    }
}
