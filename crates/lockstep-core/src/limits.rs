//! Limits on what a command carries. Free text stays in the event log and on every page
//! and message that shows it, so a title is a line, not a document, and no text carries
//! control characters that break terminals, feeds or XML, nor the invisible ones that
//! reorder text on screen. Dates stay within the years a
//! release plan can mean (1970 to 2199): `-009999-01-01` or `9999-12-31` is a typo, and
//! would break calendar feeds and day arithmetic downstream.

use jiff::civil::Date;

use crate::{
    BlackoutSpec, Command, ComponentSpec, DomainError, EnvironmentSpec, ReleaseSpec, ResourceSpec,
    TeamSpec,
};

/// Longest title or other one-line name for people (`Q1 2025 Platform Release`).
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest sentence-sized text: a reason, an acceptance criterion.
pub const MAX_SENTENCE_CHARS: usize = 2_000;
/// Longest status update.
pub const MAX_NOTE_CHARS: usize = 10_000;
/// Most manifest files in one change request.
pub const MAX_CHANGE_SOURCES: usize = 50;
/// Largest change request, its manifests together: a change, not a program.
pub const MAX_CHANGE_BYTES: usize = 1024 * 1024;

/// Refuses the first date of `command` outside 1970–2199, then the first text that is too
/// long or holds a control character (a status update may hold line breaks and tabs).
pub fn check(command: &Command) -> Result<(), DomainError> {
    check_dates(command)?;
    let mut texts: Vec<(String, &str, usize)> = Vec::new();
    // Every resource's title first, then what else each kind carries.
    let title = match command {
        Command::DefineTeam {
            spec: TeamSpec { title, .. },
            ..
        }
        | Command::DefineComponent {
            spec: ComponentSpec { title, .. },
            ..
        }
        | Command::DefineEnvironment {
            spec: EnvironmentSpec { title, .. },
            ..
        }
        | Command::DefineResource {
            spec: ResourceSpec { title, .. },
            ..
        }
        | Command::DefineBlackout {
            spec: BlackoutSpec { title, .. },
            ..
        }
        | Command::DefineRelease {
            spec: ReleaseSpec { title, .. },
            ..
        } => title.as_ref(),
        Command::DefineItem { spec, .. } => Some(&spec.title),
        Command::DefineIntegrationTask { spec, .. } => Some(&spec.title),
        Command::DefineRisk { spec, .. } => Some(&spec.title),
        _ => None,
    };
    push(&mut texts, "spec.title", title, MAX_TITLE_CHARS);
    match command {
        Command::DefineComponent { spec, .. } => push(
            &mut texts,
            "spec.repository",
            spec.repository.as_ref(),
            MAX_TITLE_CHARS,
        ),
        Command::DefineBlackout { spec, .. } => push(
            &mut texts,
            "spec.reason",
            spec.reason.as_ref(),
            MAX_SENTENCE_CHARS,
        ),
        Command::DefineRelease { spec, .. } => {
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
            for (index, scenario) in spec.scenarios.iter().enumerate() {
                push(
                    &mut texts,
                    &format!("spec.scenarios[{index}].title"),
                    Some(&scenario.title),
                    MAX_TITLE_CHARS,
                );
            }
        }
        Command::DefineRisk { spec, .. } => {
            push(
                &mut texts,
                "spec.mitigation",
                spec.mitigation.as_ref(),
                MAX_SENTENCE_CHARS,
            );
            push(
                &mut texts,
                "spec.featureFlag",
                spec.feature_flag.as_ref(),
                MAX_TITLE_CHARS,
            );
            push(
                &mut texts,
                "spec.trigger",
                spec.trigger.as_ref(),
                MAX_SENTENCE_CHARS,
            );
        }
        Command::DefineInterface { spec, .. } => {
            push(
                &mut texts,
                "spec.title",
                spec.title.as_ref(),
                MAX_TITLE_CHARS,
            );
            for (index, version) in spec.versions.iter().enumerate() {
                push(
                    &mut texts,
                    &format!("spec.versions[{index}].changelog"),
                    version.changelog.as_ref(),
                    MAX_SENTENCE_CHARS,
                );
            }
        }
        Command::RecordVerification { verification, .. } => {
            push(
                &mut texts,
                "link",
                verification.link.as_ref(),
                MAX_SENTENCE_CHARS,
            );
            push(&mut texts, "by", Some(&verification.by), MAX_TITLE_CHARS);
        }
        Command::RecordDeployment { by, .. } => push(&mut texts, "by", Some(by), MAX_TITLE_CHARS),
        Command::ProposeInterfaceChange { summary, by, .. } => {
            push(&mut texts, "summary", Some(summary), MAX_SENTENCE_CHARS);
            push(&mut texts, "by", Some(by), MAX_TITLE_CHARS);
        }
        Command::DecideInterfaceChange { rationale, by, .. } => {
            push(&mut texts, "rationale", Some(rationale), MAX_SENTENCE_CHARS);
            push(&mut texts, "by", Some(by), MAX_TITLE_CHARS);
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
        Command::AcknowledgeEscalation {
            by, escalations, ..
        } => {
            push(&mut texts, "by", Some(by), MAX_TITLE_CHARS);
            for escalation in escalations {
                push(&mut texts, "escalations", Some(escalation), MAX_TITLE_CHARS);
            }
        }
        Command::ProposeChange {
            title,
            sources,
            releases: _,
            by,
        } => {
            push(&mut texts, "title", Some(title), MAX_TITLE_CHARS);
            push(&mut texts, "by", Some(by), MAX_TITLE_CHARS);
            if sources.len() > MAX_CHANGE_SOURCES {
                return Err(DomainError::invalid(
                    "sources",
                    format!("a change request holds at most {MAX_CHANGE_SOURCES} manifests"),
                ));
            }
            let bytes: usize = sources.iter().map(|s| s.name.len() + s.text.len()).sum();
            if bytes > MAX_CHANGE_BYTES {
                return Err(DomainError::invalid(
                    "sources",
                    format!(
                        "a change request's manifests hold {bytes} bytes; the limit is {MAX_CHANGE_BYTES}: apply a program that large with `apply`"
                    ),
                ));
            }
            for source in sources {
                push(
                    &mut texts,
                    "sources[].name",
                    Some(&source.name),
                    MAX_TITLE_CHARS,
                );
            }
        }
        Command::DecideChange { by, rationale, .. } => {
            push(&mut texts, "by", Some(by), MAX_TITLE_CHARS);
            push(
                &mut texts,
                "rationale",
                rationale.as_ref(),
                MAX_SENTENCE_CHARS,
            );
        }
        Command::WithdrawChange { by, .. } | Command::RetractCoordination { by, .. } => {
            push(&mut texts, "by", Some(by), MAX_TITLE_CHARS)
        }
        Command::RecordCoordination { note, by, .. } => {
            push(&mut texts, "by", Some(by), MAX_TITLE_CHARS);
            push(&mut texts, "note", note.as_ref(), MAX_SENTENCE_CHARS);
        }
        Command::RateCoordination { comment, by, .. } => {
            push(&mut texts, "by", Some(by), MAX_TITLE_CHARS);
            push(&mut texts, "comment", comment.as_ref(), MAX_SENTENCE_CHARS);
        }
        Command::RecordLesson { text, by, .. } => {
            push(&mut texts, "by", Some(by), MAX_TITLE_CHARS);
            return checked("text", text, MAX_SENTENCE_CHARS, true).and_then(|()| {
                texts
                    .into_iter()
                    .try_for_each(|(field, text, limit)| checked(&field, text, limit, false))
            });
        }
        _ => {}
    }
    texts
        .into_iter()
        .try_for_each(|(field, text, limit)| checked(&field, text, limit, false))
}

/// The first and last day a plan may name.
const FIRST_YEAR: i16 = 1970;
const LAST_YEAR: i16 = 2199;

fn check_dates(command: &Command) -> Result<(), DomainError> {
    let mut dates: Vec<(String, Date)> = Vec::new();
    match command {
        Command::DefineRelease { spec, .. } => {
            dates.push(("spec.targetDate".to_owned(), spec.target_date));
            dates.extend(
                spec.feature_freeze
                    .map(|d| ("spec.featureFreeze".to_owned(), d)),
            );
            dates.extend(spec.code_freeze.map(|d| ("spec.codeFreeze".to_owned(), d)));
            for (index, milestone) in spec.milestones.iter().enumerate() {
                dates.push((format!("spec.milestones[{index}].date"), milestone.date));
                dates.extend(
                    milestone
                        .end
                        .map(|d| (format!("spec.milestones[{index}].end"), d)),
                );
            }
        }
        Command::DefineItem { spec, .. } => {
            dates.extend(spec.due.map(|d| ("spec.due".to_owned(), d)));
            dates.extend(
                spec.pinned_start
                    .map(|d| ("spec.pinnedStart".to_owned(), d)),
            );
        }
        Command::DefineIntegrationTask { spec, .. } => {
            dates.extend(spec.due.map(|d| ("spec.due".to_owned(), d)));
        }
        Command::DefineRisk { spec, .. } => {
            dates.extend(spec.review_by.map(|d| ("spec.reviewBy".to_owned(), d)));
        }
        Command::SetEta { eta, .. } => dates.extend(eta.map(|d| ("eta".to_owned(), d))),
        Command::PostUpdate { update, .. } => dates.push(("date".to_owned(), update.date)),
        Command::RecordCoordination { on, .. } => dates.extend(on.map(|d| ("on".to_owned(), d))),
        Command::DefineBlackout { spec, .. } => {
            dates.push(("spec.start".to_owned(), spec.start.date()));
            dates.push(("spec.end".to_owned(), spec.end.date()));
        }
        Command::DefineTeam { spec, .. } => {
            for (index, holiday) in spec.holidays.iter().enumerate() {
                dates.push((format!("spec.holidays[{index}]"), *holiday));
            }
        }
        _ => {}
    }
    match dates
        .into_iter()
        .find(|(_, date)| !(FIRST_YEAR..=LAST_YEAR).contains(&date.year()))
    {
        Some((field, date)) => Err(DomainError::invalid(
            field,
            format!("{date} is outside the years a plan can mean ({FIRST_YEAR} to {LAST_YEAR})"),
        )),
        None => Ok(()),
    }
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
    if let Some(bidi) = text.chars().find(|&c| is_bidi_control(c)) {
        return Err(DomainError::invalid(
            field,
            format!(
                "holds the bidirectional control character U+{:04X}, which makes text show \
                 in another order than it is written; use plain text",
                u32::from(bidi)
            ),
        ));
    }
    Ok(())
}

/// The invisible characters that reorder text on screen (embeddings, overrides, isolates
/// and marks): in a title they misalign tables and can make one name look like another.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Name, StatusUpdate};

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
        let flipped = check(&team_titled("API \u{202E}maet")).expect_err("bidi override");
        assert!(
            flipped
                .to_string()
                .contains("bidirectional control character U+202E"),
            "{flipped}"
        );
        assert!(
            check(&team_titled("مرحبا API")).is_ok(),
            "right-to-left text is fine"
        );
    }

    #[test]
    fn dates_outside_the_years_a_plan_can_mean_are_refused() {
        let eta = |raw: &str| Command::SetEta {
            item: Name::parse("a").expect("name"),
            eta: Some(raw.parse().expect("date")),
        };
        assert!(check(&eta("2025-02-10")).is_ok());
        for far in ["1900-01-01", "9999-12-31", "-009999-01-01"] {
            let error = check(&eta(far)).expect_err(far);
            assert!(error.to_string().contains("1970 to 2199"), "{error}");
        }
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
