//! The message templates: Jinja-compatible (minijinja), embedded in the binary, each
//! replaceable by a file of the same name from a workspace's template directory.
//!
//! A template renders a whole message; a first line `Subject: …` becomes the subject.
//! Undefined variables are errors, so a typo in an override fails loudly instead of
//! sending a message with a hole in it. Reading the override directory is the caller's
//! job: this module takes names and sources.

use minijinja::{Environment, UndefinedBehavior, Value};
use serde::Serialize;

use crate::{Format, MessageKind};

/// The templates shipped in the binary, by file name.
const EMBEDDED: &[(&str, &str)] = &[
    (
        "pre-release-announcement.j2",
        include_str!("../templates/pre-release-announcement.j2"),
    ),
    (
        "completion-announcement.j2",
        include_str!("../templates/completion-announcement.j2"),
    ),
    (
        "daily-update.j2",
        include_str!("../templates/daily-update.j2"),
    ),
    (
        "weekly-agenda.j2",
        include_str!("../templates/weekly-agenda.j2"),
    ),
    (
        "release-notes.j2",
        include_str!("../templates/release-notes.j2"),
    ),
    (
        "stakeholder-notice.j2",
        include_str!("../templates/stakeholder-notice.j2"),
    ),
    ("escalation.j2", include_str!("../templates/escalation.j2")),
    (
        "dependency-alert.j2",
        include_str!("../templates/dependency-alert.j2"),
    ),
    (
        "late-change.j2",
        include_str!("../templates/late-change.j2"),
    ),
    (
        "deployment-incident.j2",
        include_str!("../templates/deployment-incident.j2"),
    ),
    (
        "rollback-started.j2",
        include_str!("../templates/rollback-started.j2"),
    ),
    (
        "deployment-status.j2",
        include_str!("../templates/deployment-status.j2"),
    ),
    (
        "change-request.j2",
        include_str!("../templates/change-request.j2"),
    ),
    (
        "interface-change.j2",
        include_str!("../templates/interface-change.j2"),
    ),
];

/// What went wrong with a template.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// An override names no known template (helpers must start with `_`).
    #[error("unknown template `{name}` (expected one of: {expected}, or a helper named `_*.j2`)")]
    UnknownTemplate {
        /// The name given.
        name: String,
        /// The known names.
        expected: String,
    },
    /// A template does not parse.
    #[error("template `{name}` does not parse: {detail}")]
    Syntax {
        /// The template.
        name: String,
        /// minijinja's explanation, with the line.
        detail: String,
    },
    /// A template failed while rendering (an undefined variable, a bad filter).
    #[error("template `{name}` failed to render: {detail}")]
    Render {
        /// The template.
        name: String,
        /// minijinja's explanation, with the line.
        detail: String,
    },
}

/// The template set used to render messages.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

fn detail(error: &minijinja::Error) -> String {
    // minijinja's Display gives the kind and the line; the chain adds the cause.
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `{{ "Release Scope:" | strong }}`: bold in Markdown, plain in text.
fn strong(state: &minijinja::State<'_, '_>, value: String) -> String {
    if state.lookup("markdown").is_some_and(|v| v.is_true()) {
        format!("**{value}**")
    } else {
        value
    }
}

impl Templates {
    /// The templates shipped in the binary.
    pub fn embedded() -> Templates {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(true);
        env.add_filter("strong", strong);
        for (name, source) in EMBEDDED {
            env.add_template(name, source)
                .expect("embedded templates parse (checked by tests)");
        }
        Templates { env }
    }

    /// The embedded templates with some replaced (or helpers added) from
    /// `(file name, source)` pairs, e.g. read from `--templates DIR`.
    pub fn with_overrides(
        overrides: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Templates, TemplateError> {
        let mut templates = Templates::embedded();
        for (name, source) in overrides {
            let known = EMBEDDED.iter().any(|(embedded, _)| *embedded == name);
            if !known && !name.starts_with('_') {
                return Err(TemplateError::UnknownTemplate {
                    name,
                    expected: EMBEDDED
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            templates
                .env
                .add_template_owned(name.clone(), source)
                .map_err(|error| TemplateError::Syntax {
                    name,
                    detail: detail(&error),
                })?;
        }
        Ok(templates)
    }

    /// The source of an embedded template, for users starting an override.
    pub fn embedded_source(kind: MessageKind) -> &'static str {
        let name = kind.template_name();
        EMBEDDED
            .iter()
            .find(|(embedded, _)| *embedded == name)
            .map(|(_, source)| *source)
            .expect("every kind has an embedded template")
    }

    /// Renders `kind` with `context`, returning (subject, body).
    pub fn render(
        &self,
        kind: MessageKind,
        context: &impl Serialize,
        format: Format,
    ) -> Result<(Option<String>, String), TemplateError> {
        let name = kind.template_name();
        let render_error = |error: minijinja::Error| TemplateError::Render {
            name: name.clone(),
            detail: detail(&error),
        };
        let template = self.env.get_template(&name).map_err(render_error)?;
        let ctx = minijinja::context! {
            markdown => format == Format::Markdown,
            ..Value::from_serialize(context)
        };
        let text = template.render(ctx).map_err(render_error)?;
        Ok(split_subject(&text))
    }
}

/// Takes a leading `Subject: …` line off a rendered message.
fn split_subject(text: &str) -> (Option<String>, String) {
    let trimmed = text.trim_start_matches('\n');
    match trimmed.strip_prefix("Subject:") {
        Some(rest) => {
            let (subject, body) = rest.split_once('\n').unwrap_or((rest, ""));
            (
                Some(subject.trim().to_owned()),
                tidy(body.trim_start_matches('\n')),
            )
        }
        None => (None, tidy(trimmed)),
    }
}

/// Collapses runs of blank lines left by skipped sections and ends with one newline.
fn tidy(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut blank_run = 0;
    for line in body.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    let trimmed = out.trim_end_matches('\n').len();
    out.truncate(trimmed);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_an_embedded_template_that_parses() {
        let templates = Templates::embedded();
        for kind in MessageKind::ALL {
            assert!(
                templates.env.get_template(&kind.template_name()).is_ok(),
                "{kind}"
            );
        }
    }

    #[test]
    fn rejects_an_override_with_an_unknown_name() {
        let error = Templates::with_overrides([("daily.j2".to_owned(), "x".to_owned())])
            .expect_err("unknown name");
        assert!(error.to_string().contains("unknown template `daily.j2`"));
    }

    #[test]
    fn reports_a_syntax_error_in_an_override_with_its_name() {
        let error = Templates::with_overrides([(
            "daily-update.j2".to_owned(),
            "{% for x in %}".to_owned(),
        )])
        .expect_err("syntax error");
        assert!(
            error
                .to_string()
                .starts_with("template `daily-update.j2` does not parse")
        );
    }

    #[test]
    fn takes_the_subject_line_off_the_body() {
        let (subject, body) = split_subject("Subject: Hello\n\n\nBody\n\n\n\nEnd\n\n");
        assert_eq!(subject.as_deref(), Some("Hello"));
        assert_eq!(body, "Body\n\nEnd\n");
    }
}
