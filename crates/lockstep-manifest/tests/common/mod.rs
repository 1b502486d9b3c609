//! What the manifest tests share: applying texts to a state the way `lockstep apply`
//! does (parse, plan, decide as one batch, fold), with every error located.
// Each test binary uses its own part of this module.
#![allow(dead_code)]

use lockstep_core::{Name, State, decide_all};
use lockstep_manifest::{Limits, Source, locate, parse, plan};

/// The instant every test decides at.
pub fn now() -> jiff::Timestamp {
    "2025-01-20T12:00:00Z".parse().expect("valid timestamp")
}

pub fn name(raw: &str) -> Name {
    Name::parse(raw).expect("valid name")
}

/// Applies the files `(name, text)` to `state`: the number of events and the notes, or
/// the located errors.
pub fn apply_files(
    state: &mut State,
    files: &[(&str, &str)],
) -> Result<(usize, Vec<String>), String> {
    let sources: Vec<Source> = files
        .iter()
        .map(|(name, text)| Source {
            name: (*name).into(),
            text: (*text).into(),
        })
        .collect();
    let manifest = parse(&sources, Limits::default()).map_err(|e| e.to_string())?;
    let notes = manifest.notes().iter().map(|n| n.to_string()).collect();
    let commands = plan(&manifest, state).map_err(|e| e.to_string())?;
    let fallback = files.first().map_or("manifest", |(name, _)| *name);
    let events = decide_all(
        state,
        commands.iter().map(|c| c.command.clone()).collect(),
        now(),
    )
    .map_err(|errors| locate(&commands, errors, fallback).to_string())?;
    for event in &events {
        state.apply(state.position() + 1, event);
    }
    Ok((events.len(), notes))
}

/// Applies one file named `file`: the number of events, or the located errors.
pub fn apply_file(state: &mut State, file: &str, text: &str) -> Result<usize, String> {
    apply_files(state, &[(file, text)]).map(|(n, _)| n)
}

/// The located errors of applying `text`, as `file`, to an empty program.
pub fn errors_of(file: &str, text: &str) -> String {
    match apply_file(&mut State::new(), file, text) {
        Ok(n) => panic!("accepted with {n} events"),
        Err(errors) => errors,
    }
}
