//! The seed example, re-dated so that its release is in progress today.

use lockstep_manifest::Source;

/// The example's manifests, compiled in so that `serve --demo` works from any
/// directory.
const EXAMPLE: [(&str, &str); 5] = [
    (
        "examples/q1-2025/teams.yaml",
        include_str!("../../../examples/q1-2025/teams.yaml"),
    ),
    (
        "examples/q1-2025/components.yaml",
        include_str!("../../../examples/q1-2025/components.yaml"),
    ),
    (
        "examples/q1-2025/release.yaml",
        include_str!("../../../examples/q1-2025/release.yaml"),
    ),
    (
        "examples/q1-2025/risks.yaml",
        include_str!("../../../examples/q1-2025/risks.yaml"),
    ),
    // The built-in checklist templates with approval rules for the example's people,
    // so the dashboard shows checklists and sign-offs.
    (
        "examples/checklists/templates.yaml",
        include_str!("../../../examples/checklists/templates.yaml"),
    ),
];

/// The example's "today": the seed's daily updates are dated February 5.
const EXAMPLE_TODAY: jiff::civil::Date = jiff::civil::date(2025, 2, 5);

/// The example with every `YYYY-MM-DD` moved by the same number of days, so that
/// `today` plays the role of February 5, 2025.
pub fn sources(today: jiff::civil::Date) -> anyhow::Result<Vec<Source>> {
    let shift = (today - EXAMPLE_TODAY).get_days();
    EXAMPLE
        .iter()
        .map(|(name, text)| {
            Ok(Source {
                name: (*name).to_owned(),
                text: shift_dates(text, shift)?,
            })
        })
        .collect()
}

/// Rewrites every ISO date in `text`. The example is ours and dates appear only as
/// `YYYY-MM-DD` values, so a textual rewrite is exact.
fn shift_dates(text: &str, days: i32) -> anyhow::Result<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut index = 0;
    while index < text.len() {
        let candidate = text.get(index..index + 10);
        let is_date = candidate.is_some_and(|c| {
            c.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            })
        }) && (index == 0 || !bytes[index - 1].is_ascii_alphanumeric());
        if let (true, Some(candidate)) = (is_date, candidate) {
            let date: jiff::civil::Date = candidate.parse()?;
            out.push_str(&date.checked_add(jiff::Span::new().days(days))?.to_string());
            index += 10;
        } else {
            let c = text[index..].chars().next().unwrap_or(' ');
            out.push(c);
            index += c.len_utf8();
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_every_date_and_nothing_else() {
        let shifted =
            shift_dates("due: 2025-02-05\nversion: \"2025.1\"\n", 3).expect("valid dates");
        assert_eq!(shifted, "due: 2025-02-08\nversion: \"2025.1\"\n");
    }

    #[test]
    fn demo_release_is_in_progress_today() {
        let today = jiff::civil::date(2026, 11, 23);
        let sources = sources(today).expect("example shifts");
        let release = &sources[2].text;
        assert!(release.contains("targetDate: 2026-12-17"), "{release}");
    }
}
