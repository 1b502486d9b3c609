//! Hostile edits of the example program: whatever a file becomes (truncated, a range cut
//! out, a line repeated, a character swapped for one YAML gives meaning to), parsing,
//! planning and deciding it either accepts it or refuses it with errors that each name a
//! real place in a real file. Nothing panics.

use std::path::PathBuf;

use lockstep_core::{State, decide_all};
use lockstep_manifest::{Limits, ManifestErrors, Source, locate, parse, plan};
use proptest::prelude::*;

/// Characters that mean something to YAML or to a careless parser.
const HOSTILE: [&str; 16] = [
    ":", "{", "}", "[", "]", "-", "\"", "'", "\t", "&a", "*a", "!!str", "\0", "\u{feff}", "#",
    "\n  ",
];

fn example() -> Vec<Source> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/q1-2025");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the example directory")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| Source {
            name: path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            text: std::fs::read_to_string(&path).expect("an example file"),
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Edit {
    Truncate(usize),
    Cut(usize, usize),
    RepeatLine(usize),
    Replace(usize, &'static str),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 1usize..200).prop_map(|(at, len)| Edit::Cut(at, len)),
        any::<usize>().prop_map(Edit::RepeatLine),
        (any::<usize>(), prop::sample::select(HOSTILE.to_vec()))
            .prop_map(|(at, with)| Edit::Replace(at, with)),
    ]
}

/// The nearest character boundary at or before `at % (len + 1)`.
fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, edit: &Edit) -> String {
    match *edit {
        Edit::Truncate(at) => text[..boundary(text, at)].to_owned(),
        Edit::Cut(at, len) => {
            let start = boundary(text, at);
            let end = boundary(text, (start + len).min(text.len()));
            let end = end.max(start);
            format!("{}{}", &text[..start], &text[end..])
        }
        Edit::RepeatLine(at) => {
            let lines: Vec<&str> = text.lines().collect();
            if lines.is_empty() {
                return text.to_owned();
            }
            let at = at % lines.len();
            let mut out = lines[..=at].to_vec();
            out.extend(&lines[at..]);
            out.join("\n")
        }
        Edit::Replace(at, with) => {
            let start = boundary(text, at);
            let end = text[start..]
                .chars()
                .next()
                .map_or(start, |c| start + c.len_utf8());
            format!("{}{with}{}", &text[..start], &text[end..])
        }
    }
}

/// Parses, plans and decides `sources` against an empty program: `None` when accepted.
fn refusal(sources: &[Source]) -> Option<ManifestErrors> {
    let limits = Limits::default();
    let state = State::new();
    let manifest = match parse(sources, limits) {
        Ok(manifest) => manifest,
        Err(errors) => return Some(errors),
    };
    let commands = match plan(&manifest, &state) {
        Ok(commands) => commands,
        Err(errors) => return Some(errors),
    };
    let now = "2025-01-20T12:00:00Z".parse().expect("valid");
    decide_all(
        &state,
        commands.iter().map(|c| c.command.clone()).collect(),
        now,
    )
    .err()
    .map(|errors| locate(&commands, errors, "release.yaml"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_edit_is_accepted_or_refused_at_a_real_place(
        file in any::<usize>(),
        edits in prop::collection::vec(edit(), 1..4),
    ) {
        let mut sources = example();
        let index = file % sources.len();
        for edit in &edits {
            sources[index].text = apply(&sources[index].text, edit);
        }
        if let Some(errors) = refusal(&sources) {
            prop_assert!(!errors.0.is_empty(), "a refusal says why");
            for error in &errors.0 {
                let source = sources.iter().find(|s| s.name == error.location.file);
                prop_assert!(source.is_some(), "{error}: no such file");
                let lines = source.map_or(0, |s| s.text.lines().count() as u64);
                prop_assert!(
                    error.location.line >= 1 && error.location.line <= lines + 1,
                    "{error}: the file has {lines} lines"
                );
                prop_assert!(error.location.column >= 1, "{error}");
                prop_assert!(!error.message.trim().is_empty(), "{error}");
            }
        }
    }
}

#[test]
fn the_unedited_example_is_accepted() {
    assert_eq!(refusal(&example()), None);
}
