//! Limits on the free text a command carries: everything written stays in the event log
//! and on every page and message that shows it, so a title is a line, not a document, and
//! no text carries control characters that break terminals, feeds or XML.

use crate::{Command, DomainError};

/// Longest title or other one-line name for people (`Q1 2025 Platform Release`).
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest sentence-sized text: a reason, an acceptance criterion.
pub const MAX_SENTENCE_CHARS: usize = 2_000;
/// Longest status update.
pub const MAX_NOTE_CHARS: usize = 10_000;

/// Refuses the first text of `command` that is too long or holds a control character
/// (a status update may hold line breaks and tabs).
pub fn check(command: &Command) -> Result<(), DomainError> {
    let mut texts: Vec<(String, &str, usize)> = Vec::new();
    match command {
        Command::DefineTeam { spec, .. } => push(
            &mut texts,
            "spec.title",
            spec.title.as_ref(),
            MAX_TITLE_CHARS,
        ),
        Command::DefineComponent { spec, .. } => {
            push(
                &mut texts,
                "spec.title",
                spec.title.as_ref(),
                MAX_TITLE_CHARS,
            );
            push(
                &mut texts,
                "spec.repository",
                spec.repository.as_ref(),
                MAX_TITLE_CHARS,
            );
        }
        Command::DefineEnvironment { spec, .. } => push(
            &mut texts,
            "spec.title",
            spec.title.as_ref(),
            MAX_TITLE_CHARS,
        ),
        Command::DefineResource { spec, .. } => push(
            &mut texts,
            "spec.title",
            spec.title.as_ref(),
            MAX_TITLE_CHARS,
        ),
        Command::DefineBlackout { spec, .. } => {
            push(
                &mut texts,
                "spec.title",
                spec.title.as_ref(),
                MAX_TITLE_CHARS,
            );
            push(
                &mut texts,
                "spec.reason",
                spec.reason.as_ref(),
                MAX_SENTENCE_CHARS,
            );
        }
        Command::DefineRelease { spec, .. } => {
            push(
                &mut texts,
                "spec.title",
                spec.title.as_ref(),
                MAX_TITLE_CHARS,
            );
            push(
                &mut texts,
                "spec.version",
                spec.version.as_ref(),
                MAX_TITLE_CHARS,
            );
            for (index, milestone) in spec.milestones.iter().enumerate() {
                push(
                    &mut texts,
                    &format!("spec.milestones[{index}].title"),
                    milestone.title.as_ref(),
                    MAX_TITLE_CHARS,
                );
            }
            for (index, step) in spec.deployment.iter().flat_map(|d| &d.steps).enumerate() {
                push(
                    &mut texts,
                    &format!("spec.deployment.steps[{index}].title"),
                    step.title.as_ref(),
                    MAX_TITLE_CHARS,
                );
            }
        }
        Command::DefineItem { spec, .. } => {
            push(&mut texts, "spec.title", Some(&spec.title), MAX_TITLE_CHARS);
            for (index, criterion) in spec.acceptance_criteria.iter().enumerate() {
                push(
                    &mut texts,
                    &format!("spec.acceptanceCriteria[{index}]"),
                    Some(criterion),
                    MAX_SENTENCE_CHARS,
                );
            }
            for (index, label) in spec.labels.iter().enumerate() {
                push(
                    &mut texts,
                    &format!("spec.labels[{index}]"),
                    Some(label),
                    MAX_TITLE_CHARS,
                );
            }
        }
        Command::DefineIntegrationTask { spec, .. } => {
            push(&mut texts, "spec.title", Some(&spec.title), MAX_TITLE_CHARS);
            for (index, scenario) in spec.scenarios.iter().enumerate() {
                push(
                    &mut texts,
                    &format!("spec.scenarios[{index}].title"),
                    Some(&scenario.title),
                    MAX_TITLE_CHARS,
                );
            }
        }
        Command::RecordSignal { signal } => {
            push(
                &mut texts,
                "delivery",
                Some(&signal.delivery),
                MAX_TITLE_CHARS,
            );
            push(&mut texts, "source", Some(&signal.source), MAX_TITLE_CHARS);
        }
        Command::PostUpdate { update, .. } => {
            return checked("text", &update.text, MAX_NOTE_CHARS, true);
        }
        _ => {}
    }
    texts
        .into_iter()
        .try_for_each(|(field, text, limit)| checked(&field, text, limit, false))
}

fn push<'a>(
    texts: &mut Vec<(String, &'a str, usize)>,
    field: &str,
    text: Option<&'a String>,
    limit: usize,
) {
    if let Some(text) = text {
        texts.push((field.to_owned(), text.as_str(), limit));
    }
}

fn checked(field: &str, text: &str, limit: usize, multiline: bool) -> Result<(), DomainError> {
    let length = text.chars().count();
    if length > limit {
        return Err(DomainError::invalid(
            field,
            format!("{length} characters is too long; at most {limit} are accepted"),
        ));
    }
    let allowed = |c: char| multiline && (c == '\n' || c == '\t' || c == '\r');
    if let Some(control) = text.chars().find(|&c| c.is_control() && !allowed(c)) {
        return Err(DomainError::invalid(
            field,
            format!(
                "holds the control character U+{:04X}; use plain text",
                u32::from(control)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Name, StatusUpdate, TeamSpec};

    fn team_titled(title: &str) -> Command {
        Command::DefineTeam {
            team: Name::parse("api").expect("name"),
            spec: TeamSpec {
                title: Some(title.to_owned()),
                time_zone: "UTC".into(),
                working_hours: Default::default(),
                holidays: vec![],
                members: vec![],
                on_call: None,
                labels: Default::default(),
            },
        }
    }

    #[test]
    fn titles_are_one_bounded_line_of_plain_text() {
        assert!(check(&team_titled("API team")).is_ok());
        let long = check(&team_titled(&"x".repeat(MAX_TITLE_CHARS + 1)));
        assert!(
            matches!(&long, Err(DomainError::Invalid { field, .. }) if field == "spec.title"),
            "{long:?}"
        );
        let bell = check(&team_titled("API\u{7} team")).expect_err("control");
        assert!(bell.to_string().contains("U+0007"), "{bell}");
        assert!(check(&team_titled("two\nlines")).is_err());
    }

    #[test]
    fn a_status_update_may_have_lines_but_no_other_control_characters() {
        let update = |text: &str| Command::PostUpdate {
            item: Name::parse("a").expect("name"),
            update: StatusUpdate {
                date: "2025-02-01".parse().expect("date"),
                text: text.to_owned(),
            },
        };
        assert!(check(&update("done:\n- charts\n- export")).is_ok());
        assert!(check(&update("\u{1b}[2J wiped")).is_err());
    }
}
