//! Every message kind rendered on the seed example, as reviewed snapshots, plus the
//! behaviours the snapshots do not make obvious: traceability, role filtering,
//! template overrides.

mod common;

use common::{Program, name, request, show};
use jiff::civil::date;
use lockstep_comms::{Format, MessageKind, Templates};
use lockstep_core::{Command, ItemStatus, ReleaseState, Role};

#[test]
fn pre_release_announcement_fills_the_seed_template_from_the_release() {
    let program = Program::seed();
    let message = program.compose(&request(
        MessageKind::PreReleaseAnnouncement,
        date(2025, 2, 20),
    ));
    insta::assert_snapshot!(show(&message));
}

#[test]
fn completion_announcement_lists_deployed_features_once_released() {
    let mut program = Program::seed();
    for item in [
        "backend-data-pipeline",
        "api-analytics-endpoints",
        "frontend-dashboard",
        "mobile-analytics-view",
    ] {
        for to in [ItemStatus::ReadyForRelease, ItemStatus::Released] {
            if program.state.items()[item].status < to {
                program.run(
                    "2025-03-01T15:00:00Z",
                    "rita",
                    Command::MoveItem {
                        item: name(item),
                        to,
                    },
                );
            }
        }
    }
    program.run(
        "2025-03-01T16:00:00Z",
        "rita",
        Command::ChangeReleaseState {
            release: name("q1-2025"),
            to: ReleaseState::Released,
        },
    );
    let message = program.compose(&request(
        MessageKind::CompletionAnnouncement,
        date(2025, 3, 1),
    ));
    insta::assert_snapshot!(show(&message));
}

#[test]
fn completion_announcement_of_an_unreleased_release_says_it_is_a_preview() {
    let program = Program::seed();
    let message = program.compose(&request(
        MessageKind::CompletionAnnouncement,
        date(2025, 2, 20),
    ));
    assert!(
        message.subject.contains("not deployed yet"),
        "{}",
        message.subject
    );
    assert!(message.body.contains("is in-progress: this is a preview"));
}

#[test]
fn daily_update_has_one_block_per_team_in_the_seed_format() {
    let program = Program::seed_week();
    let message = program.compose(&request(MessageKind::DailyUpdate, date(2025, 2, 5)));
    insta::assert_snapshot!(show(&message));
}

#[test]
fn daily_update_for_one_team_cites_only_that_days_events_and_what_explains_it() {
    let program = Program::seed_week();
    let mut req = request(MessageKind::DailyUpdate, date(2025, 2, 5));
    req.team = Some(name("frontend"));
    req.format = Format::Text;
    let message = program.compose(&req);
    insta::assert_snapshot!(show(&message));
    // The day's own event (the posted note) is cited, the API ETA change of the day
    // before is cited as the cause of the risk, and the mobile team's ETA is not.
    let position_of = |pred: &dyn Fn(&lockstep_core::Event) -> bool| {
        program
            .history
            .iter()
            .rev()
            .find(|r| pred(&r.event))
            .map(|r| r.position)
            .expect("event exists")
    };
    let note = position_of(
        &|e| matches!(e, lockstep_core::Event::ItemUpdatePosted { item, .. } if item.as_str() == "frontend-dashboard"),
    );
    let api_eta = position_of(
        &|e| matches!(e, lockstep_core::Event::ItemEtaChanged { item, .. } if item.as_str() == "api-analytics-endpoints"),
    );
    let mobile_eta = position_of(
        &|e| matches!(e, lockstep_core::Event::ItemEtaChanged { item, .. } if item.as_str() == "mobile-analytics-view"),
    );
    assert!(message.sources.contains(&note));
    assert!(message.sources.contains(&api_eta));
    assert!(!message.sources.contains(&mobile_eta));
}

#[test]
fn weekly_agenda_has_the_four_parts_of_the_seed() {
    let program = Program::seed_week();
    let message = program.compose(&request(MessageKind::WeeklyAgenda, date(2025, 2, 7)));
    insta::assert_snapshot!(show(&message));
}

#[test]
fn release_notes_list_ready_scope_by_team() {
    let program = Program::seed_week();
    let message = program.compose(&request(MessageKind::ReleaseNotes, date(2025, 2, 7)));
    insta::assert_snapshot!(show(&message));
}

#[test]
fn stakeholder_notice_for_support_shows_customer_changes() {
    let program = Program::seed_week();
    let mut req = request(MessageKind::StakeholderNotice, date(2025, 2, 7));
    req.role = Some(Role::SupportLiaison);
    let message = program.compose(&req);
    insta::assert_snapshot!(show(&message));
}

#[test]
fn stakeholder_notice_for_security_shows_scan_status_and_components() {
    let program = Program::seed_week();
    let mut req = request(MessageKind::StakeholderNotice, date(2025, 2, 7));
    req.role = Some(Role::Security);
    let message = program.compose(&req);
    insta::assert_snapshot!(show(&message));
    assert!(!message.body.contains("What changes for customers"));
}

#[test]
fn stakeholder_notice_without_a_role_is_refused() {
    let program = Program::seed();
    let provenance = lockstep_comms::Provenance::new(&program.history);
    let risk = lockstep_core::risk::assess(&program.state);
    let templates = Templates::embedded();
    let error = lockstep_comms::compose(
        lockstep_comms::Compose {
            state: &program.state,
            history: &program.history,
            provenance: &provenance,
            risk: &risk,
            templates: &templates,
        },
        &request(MessageKind::StakeholderNotice, date(2025, 2, 7)),
    )
    .expect_err("needs a role");
    assert_eq!(
        error.to_string(),
        "a stakeholder notice needs a role (--role)"
    );
}

#[test]
fn every_message_cites_the_release_definition() {
    let program = Program::seed_week();
    let release_planned = program
        .history
        .iter()
        .find(|r| matches!(r.event, lockstep_core::Event::ReleasePlanned { .. }))
        .map(|r| r.position)
        .expect("release planned");
    for kind in [
        MessageKind::PreReleaseAnnouncement,
        MessageKind::CompletionAnnouncement,
        MessageKind::DailyUpdate,
        MessageKind::WeeklyAgenda,
        MessageKind::ReleaseNotes,
    ] {
        let message = program.compose(&request(kind, date(2025, 2, 5)));
        assert!(message.sources.contains(&release_planned), "{kind}");
        assert!(
            message.sources.windows(2).all(|w| w[0] < w[1]),
            "{kind}: sorted"
        );
    }
}

#[test]
fn an_override_template_replaces_the_embedded_one() {
    let program = Program::seed();
    let templates = Templates::with_overrides([(
        "release-notes.j2".to_owned(),
        "Subject: Notes for {{ release.name }}\n{% for t in teams %}{{ t.title }};{% endfor %}\n"
            .to_owned(),
    )])
    .expect("override parses");
    let message = program.compose_with(
        &request(MessageKind::ReleaseNotes, date(2025, 2, 5)),
        &templates,
    );
    assert_eq!(message.subject, "Notes for q1-2025");
    assert_eq!(message.body, "Backend (Team C);\n");
}

#[test]
fn an_override_using_an_undefined_variable_fails_instead_of_leaving_a_hole() {
    let program = Program::seed();
    let templates = Templates::with_overrides([(
        "release-notes.j2".to_owned(),
        "{{ release.no_such_field }}".to_owned(),
    )])
    .expect("override parses");
    let provenance = lockstep_comms::Provenance::new(&program.history);
    let risk = lockstep_core::risk::assess(&program.state);
    let error = lockstep_comms::compose(
        lockstep_comms::Compose {
            state: &program.state,
            history: &program.history,
            provenance: &provenance,
            risk: &risk,
            templates: &templates,
        },
        &request(MessageKind::ReleaseNotes, date(2025, 2, 5)),
    )
    .expect_err("undefined variable");
    assert!(error.to_string().contains("release-notes.j2"), "{error}");
}
