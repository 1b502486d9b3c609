//! Every kind of bad manifest gets a located, specific error and applies nothing.

use lockstep_core::{State, decide_all};
use lockstep_manifest::{Limits, Source, locate, parse, plan};

const TEAM: &str = "apiVersion: lockstep.dev/v1\nkind: Team\nmetadata: {name: frontend}\nspec: {timeZone: Europe/Paris}\n";

/// Parses, plans and decides `text` against an empty program; returns the
/// rendered errors, or panics if it was accepted.
fn errors(text: &str) -> String {
    errors_with(text, Limits::default())
}

fn errors_with(text: &str, limits: Limits) -> String {
    let sources = [Source {
        name: "bad.yaml".into(),
        text: text.into(),
    }];
    let state = State::new();
    let manifest = match parse(&sources, limits) {
        Ok(manifest) => manifest,
        Err(errors) => return errors.to_string(),
    };
    let commands = match plan(&manifest, &state) {
        Ok(commands) => commands,
        Err(errors) => return errors.to_string(),
    };
    let now = "2025-01-20T12:00:00Z".parse().expect("valid");
    match decide_all(
        &state,
        commands.iter().map(|c| c.command.clone()).collect(),
        now,
    ) {
        Ok(events) => panic!("accepted, deciding {} events", events.len()),
        Err(errors) => locate(&commands, errors, "bad.yaml").to_string(),
    }
}

fn release(items: &str) -> String {
    format!(
        "{TEAM}---\napiVersion: lockstep.dev/v1\nkind: Release\nmetadata: {{name: q1}}\nspec:\n  targetDate: 2025-03-01\n  items:\n{items}"
    )
}

#[test]
fn malformed_yaml_is_located() {
    let message = errors("apiVersion: lockstep.dev/v1\nkind: Team\nmetadata: {name: [unclosed\n");
    assert!(message.starts_with("bad.yaml:3:"), "{message}");
}

#[test]
fn unknown_kind_suggests_the_nearest() {
    let message =
        errors("apiVersion: lockstep.dev/v1\nkind: Teem\nmetadata: {name: x}\nspec: {}\n");
    assert!(
        message.starts_with("bad.yaml:2:7: unknown kind `Teem` (did you mean `Team`?)"),
        "{message}"
    );
}

#[test]
fn unsupported_api_version_is_rejected() {
    let message =
        errors("apiVersion: lockstep.dev/v2\nkind: Team\nmetadata: {name: x}\nspec: {}\n");
    assert_eq!(
        message,
        "bad.yaml:1:13: apiVersion `lockstep.dev/v2` is not supported; use `lockstep.dev/v1` (or `backstage.io/v1alpha1` for a Backstage catalog)"
    );
}

#[test]
fn unknown_fields_are_rejected() {
    let message = errors(
        "apiVersion: lockstep.dev/v1\nkind: Team\nmetadata: {name: x}\nspec:\n  timeZone: UTC\n  colour: blue\n",
    );
    assert!(message.starts_with("bad.yaml:6:"), "{message}");
    assert!(message.contains("colour"), "{message}");
}

#[test]
fn wrong_types_are_located() {
    let message = release("    - {name: a, title: A, team: frontend, due: not-a-date}\n");
    let message = errors(&message);
    // The location points at the value itself.
    assert!(message.starts_with("bad.yaml:12:48: "), "{message}");
    assert!(
        message.ends_with("not a valid date: use YYYY-MM-DD"),
        "{message}"
    );
}

#[test]
fn a_number_out_of_range_says_what_was_found_and_what_would_do() {
    for (estimate, found) in [
        ("{optimistic: -5, likely: 10, pessimistic: 14}", "-5"),
        ("{optimistic: 8.5, likely: 10, pessimistic: 14}", "8.5"),
        (
            "{optimistic: 8, likely: 10, pessimistic: 99999999999}",
            "99999999999",
        ),
    ] {
        let message = errors(&release(&format!(
            "    - {{name: a, title: A, team: frontend, estimate: {estimate}}}\n"
        )));
        assert!(message.starts_with("bad.yaml:12:"), "{message}");
        assert!(
            message.ends_with(&format!(
                "expected a whole number from 0 to 4294967295, found `{found}`"
            )),
            "{message}"
        );
    }
}

#[test]
fn two_documents_joined_without_a_separator_say_so() {
    // As `cat a.yaml b.yaml` makes it when a.yaml does not end with `---`.
    let message = errors(&format!("{}{}", TEAM, TEAM.replace("frontend", "backend")));
    assert_eq!(
        message,
        "bad.yaml:5:1: key `apiVersion` appears twice in one document (documents are separated by a `---` line)"
    );
}

#[test]
fn dangling_reference_is_located_with_a_suggestion() {
    let message = errors(&release("    - {name: a, title: A, team: fronted}\n"));
    assert_eq!(
        message,
        "bad.yaml:12:33: unknown team `fronted` (did you mean `frontend`?)"
    );
}

#[test]
fn duplicate_names_are_rejected() {
    let message = errors(&format!("{TEAM}---\n{TEAM}"));
    assert_eq!(message, "bad.yaml:8:18: duplicate Team `frontend`");
}

#[test]
fn invalid_names_are_rejected() {
    let message = errors(
        "apiVersion: lockstep.dev/v1\nkind: Team\nmetadata: {name: Front_End}\nspec: {timeZone: UTC}\n",
    );
    assert_eq!(
        message,
        "bad.yaml:3:18: name `Front_End` contains `F`: use lowercase letters, digits and `-`"
    );
}

#[test]
fn dependency_cycle_is_named() {
    let items = "    - {name: a, title: A, team: frontend, dependsOn: [{item: b}]}\n    - {name: b, title: B, team: frontend, dependsOn: [{item: a}]}\n";
    let message = errors(&release(items));
    assert!(
        message.ends_with("dependency would create a cycle: a → b → a"),
        "{message}"
    );
    // Located at the item whose dependency closes it, not at the top of the first file.
    assert!(message.starts_with("bad.yaml:13:"), "{message}");
}

#[test]
fn dates_out_of_order_are_rejected_at_the_release() {
    let text = format!(
        "{TEAM}---\napiVersion: lockstep.dev/v1\nkind: Release\nmetadata: {{name: q1}}\nspec:\n  targetDate: 2025-03-01\n  codeFreeze: 2025-03-10\n"
    );
    assert_eq!(
        errors(&text),
        "bad.yaml:8:18: codeFreeze (2025-03-10) must be on or before targetDate (2025-03-01)"
    );
}

#[test]
fn invalid_time_zone_is_rejected() {
    let message = errors(
        "apiVersion: lockstep.dev/v1\nkind: Team\nmetadata: {name: x}\nspec: {timeZone: Mars/Olympus}\n",
    );
    assert_eq!(
        message,
        "bad.yaml:4:18: team `x`: spec.timeZone `Mars/Olympus` is not an IANA time zone"
    );
}

#[test]
fn oversized_input_is_refused() {
    let limits = Limits {
        max_file_bytes: 64,
        max_documents: 10,
    };
    let message = errors_with(&format!("{TEAM}{}", "#".repeat(100)), limits);
    assert!(message.starts_with("bad.yaml:1:1: file is"), "{message}");
    let many = format!("---\n{TEAM}").repeat(3);
    let message = errors_with(
        &many,
        Limits {
            max_file_bytes: 1 << 20,
            max_documents: 2,
        },
    );
    assert!(message.contains("more than 2 documents"), "{message}");
}

#[test]
fn alias_bombs_are_refused() {
    let mut text = String::from(
        "apiVersion: lockstep.dev/v1\nkind: Team\nmetadata: {name: x}\nspec:\n  timeZone: UTC\n  labels:\n    a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for level in 1..9 {
        let prev = level - 1;
        text.push_str(&format!("    a{level}: &a{level} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
    }
    let message = errors(&text);
    assert!(message.starts_with("bad.yaml:"), "{message}");
    assert!(
        message.contains("expands to more than 1,000,000 values")
            || message.contains("an alias bomb?"),
        "{message}"
    );
}

#[test]
fn the_parsers_own_words_are_said_in_the_manifests_terms() {
    let team = |spec: &str| {
        format!("apiVersion: lockstep.dev/v1\nkind: Team\nmetadata: {{name: x}}\nspec: {spec}\n")
    };
    let deep = format!(
        "{{timeZone: UTC, title: {}{}}}",
        "[".repeat(70),
        "]".repeat(70)
    );
    for (text, expected) in [
        (team(&deep), "nested more than 64 levels deep"),
        (
            "apiVersion: lockstep.dev/v1\nkind: Resource\nmetadata: {name: a}\nspec: {capacity: .nan}\n".to_owned(),
            "expected a number, found `.nan` or `.inf`",
        ),
        (
            "apiVersion: lockstep.dev/v1\nkind: Release\nmetadata: {name: r}\nspec: {targetDate: 2025-02-30}\n".to_owned(),
            "not a date: 2025-02 has days 1 to 28",
        ),
        (
            "apiVersion: lockstep.dev/v1\nkind: Release\nmetadata: {name: r}\nspec: {targetDate: 2025-015}\n".to_owned(),
            "not a valid date: use YYYY-MM-DD",
        ),
        (
            "apiVersion: lockstep.dev/v1\nkind: Team\nmetadata: &a {name: *a}\nspec: {timeZone: UTC}\n".to_owned(),
            "an alias refers to the value that contains it",
        ),
    ] {
        let message = errors(&text);
        assert!(
            message.starts_with("bad.yaml:") && message.ends_with(expected),
            "{message}"
        );
    }
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let items = "    - {name: a, title: A, team: nobody}\n    - {name: b, title: B, team: frontend, component: nothing}\n";
    let message = errors(&release(items));
    assert_eq!(message.lines().count(), 2, "{message}");
}

#[test]
fn a_blackout_that_ends_before_it_starts_is_rejected() {
    let text = "apiVersion: lockstep.dev/v1\nkind: Blackout\nmetadata: {name: freeze}\nspec: {timeZone: UTC, start: 2025-03-01T10:00:00, end: 2025-03-01T09:00:00}\n";
    assert_eq!(
        errors(text),
        "bad.yaml:3:18: spec: blackout start 2025-03-01T10:00:00 must be before its end 2025-03-01T09:00:00"
    );
}

/// A team with people holding the roles approval rules name, then `template`.
fn checklist_template(spec: &str) -> String {
    format!(
        "apiVersion: lockstep.dev/v1\nkind: Team\nmetadata: {{name: platform}}\nspec:\n  timeZone: UTC\n  members:\n    - {{handle: sid, roles: [security]}}\n    - {{handle: sam, roles: [support-liaison]}}\n---\napiVersion: lockstep.dev/v1\nkind: ChecklistTemplate\nmetadata: {{name: lean}}\nspec:\n  appliesTo: [regular]\n{spec}"
    )
}

const ONE_ITEM: &str =
    "  items:\n    - {id: dry-run, title: Dry run, phase: pre-release, owner: qa, due: -3d}\n";

#[test]
fn a_checklist_due_offset_without_days_is_located() {
    let text = checklist_template(
        "  items:\n    - {id: dry-run, title: Dry run, phase: pre-release, owner: qa, due: -3}\n",
    );
    let message = errors(&text);
    assert!(message.starts_with("bad.yaml:16:"), "{message}");
    assert!(
        message.contains("due offset `-3` must be days like `-14d`, `0d` or `+3d`"),
        "{message}"
    );
}

#[test]
fn an_unknown_owner_role_is_located_with_a_suggestion() {
    let text = checklist_template(
        "  items:\n    - {id: dry-run, title: Dry run, phase: pre-release, owner: securty, due: 0d}\n",
    );
    let message = errors(&text);
    assert!(
        message.starts_with(
            "bad.yaml:16:64: unknown role `securty` (did you mean `security`?); roles: release-manager, "
        ),
        "{message}"
    );
}

#[test]
fn an_unknown_approval_role_is_located_with_a_suggestion() {
    let text = checklist_template(&format!(
        "{ONE_ITEM}  approvals:\n    - {{role: supprt-liaison}}\n"
    ));
    let message = errors(&text);
    assert!(
        message.starts_with(
            "bad.yaml:18:14: unknown role `supprt-liaison` (did you mean `support-liaison`?)"
        ),
        "{message}"
    );
}

#[test]
fn an_unknown_approver_is_located_with_a_suggestion() {
    let text = checklist_template(&format!(
        "{ONE_ITEM}  approvals:\n    - {{people: [sid, samm], quorum: 2}}\n"
    ));
    assert_eq!(
        errors(&text),
        "bad.yaml:18:22: unknown member `samm` (did you mean `sam`?)"
    );
}

#[test]
fn approval_rules_that_would_deadlock_are_rejected_at_the_template() {
    let text = checklist_template(&format!(
        "{ONE_ITEM}  approvals:\n    - {{role: security, quorum: 2}}\n"
    ));
    assert_eq!(
        errors(&text),
        "bad.yaml:12:18: approvals[0]: 2 approvals from role security can never be met: only 1 eligible person hold role security"
    );
}

#[test]
fn duplicate_checklist_item_ids_are_rejected() {
    let text = checklist_template(&format!(
        "{ONE_ITEM}    - {{id: dry-run, title: Again, phase: release-day, owner: qa, due: 0d}}\n"
    ));
    assert_eq!(
        errors(&text),
        "bad.yaml:17:12: duplicate checklist item `dry-run`"
    );
}

#[test]
fn a_release_approval_rule_naming_an_unknown_person_is_located() {
    let text = format!(
        "{TEAM}---\napiVersion: lockstep.dev/v1\nkind: Release\nmetadata: {{name: q1}}\nspec:\n  targetDate: 2025-03-01\n  approvals:\n    - {{people: [ghost]}}\n"
    );
    assert_eq!(errors(&text), "bad.yaml:12:17: unknown member `ghost`");
}

#[test]
fn a_blocker_listed_twice_in_depends_on_is_located() {
    // Two entries would each redefine the one dependency, so every apply changed it.
    let message = errors(&release(
        "    - {name: b, title: B, team: frontend}\n    - {name: a, title: A, team: frontend, dependsOn: [{item: b}, {item: b, needBy: 2025-02-01}]}\n",
    ));
    assert!(
        message.starts_with("bad.yaml:13:")
            && message.contains("`b` is listed twice in `dependsOn`"),
        "{message}"
    );
}

#[test]
fn a_resource_listed_twice_in_uses_is_located() {
    // The second entry silently replaced the first's amount, even an invalid one.
    let lab = "apiVersion: lockstep.dev/v1\nkind: Resource\nmetadata: {name: qa-lab}\nspec: {capacity: 2}\n---\n";
    let message = errors(&format!(
        "{lab}{}",
        release(
            "    - {name: a, title: A, team: frontend, uses: [{resource: qa-lab, amount: 0}, {resource: qa-lab}]}\n"
        )
    ));
    assert!(
        message.contains("resource `qa-lab` is listed twice in `uses`"),
        "{message}"
    );
}
