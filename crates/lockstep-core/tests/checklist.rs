//! Checklists and the go/no-go meeting: given a program, when a checklist or
//! sign-off command, then events or an error; and the assessment that follows.

use lockstep_core::access::{Principal, authorize};
use lockstep_core::checklist::{
    ApprovalRule, ChecklistItemSpec, ChecklistPhase, ChecklistTemplateSpec, DueOffset, ItemState,
    SignOffDecision, assess, builtin_templates,
};
use lockstep_core::readiness::CriterionStatus;
use lockstep_core::{
    Command, DomainError, Event, Member, Name, ReleaseKind, ReleaseSpec, Role, State, TeamSpec,
    decide,
};

fn name(raw: &str) -> Name {
    Name::parse(raw).expect("test names are valid")
}

fn now() -> jiff::Timestamp {
    "2025-02-20T09:00:00Z".parse().expect("timestamp")
}

/// A program with one team of people holding roles and releases by kind.
struct Given {
    state: State,
}

impl Given {
    /// rita (release manager), sid (security), sam (support), uma (ux), quinn and
    /// quincy (qa), mike (tech lead); release `q1` (regular) and `fix` (hotfix).
    fn new() -> Given {
        let mut given = Given {
            state: State::new(),
        };
        let member = |handle: &str, role: Role| Member {
            handle: name(handle),
            name: None,
            email: None,
            roles: vec![role],
        };
        given.run(Command::DefineTeam {
            team: name("platform"),
            spec: TeamSpec {
                title: None,
                time_zone: "UTC".into(),
                working_hours: Default::default(),
                holidays: vec![],
                members: vec![
                    member("rita", Role::ReleaseManager),
                    member("sid", Role::Security),
                    member("sam", Role::SupportLiaison),
                    member("uma", Role::UxDesigner),
                    member("quinn", Role::Qa),
                    member("quincy", Role::Qa),
                    member("mike", Role::TechLead),
                ],
                on_call: None,
                labels: Default::default(),
            },
        });
        given.release("q1", ReleaseKind::Regular);
        given.release("fix", ReleaseKind::Hotfix);
        given
    }

    fn release(&mut self, release: &str, kind: ReleaseKind) -> &mut Given {
        self.run(Command::DefineRelease {
            release: name(release),
            spec: ReleaseSpec {
                title: None,
                kind,
                version: None,
                target_date: "2025-03-01".parse().expect("date"),
                feature_freeze: None,
                code_freeze: None,
                manager: None,
                milestones: vec![],
                deployment: None,
                labels: Default::default(),
            },
        })
    }

    fn run(&mut self, command: Command) -> &mut Given {
        let events = decide(&self.state, command, now()).expect("fixture command is accepted");
        for event in events {
            let position = self.state.position() + 1;
            self.state.apply(position, &event);
        }
        self
    }

    fn rules(&mut self, release: &str, rules: Vec<ApprovalRule>) -> &mut Given {
        self.run(Command::DefineApprovalRules {
            release: name(release),
            rules,
        })
    }

    fn request(&mut self, release: &str, by: &str) -> &mut Given {
        self.run(Command::RequestGoNoGo {
            release: name(release),
            by: name(by),
        })
    }

    fn sign(&mut self, release: &str, by: &str, decision: SignOffDecision) -> &mut Given {
        self.run(sign_off(release, by, decision))
    }
}

fn sign_off(release: &str, by: &str, decision: SignOffDecision) -> Command {
    Command::SignOff {
        release: name(release),
        by: name(by),
        decision,
    }
}

fn role(role: Role, quorum: u32) -> ApprovalRule {
    ApprovalRule {
        role: Some(role),
        people: vec![],
        quorum,
    }
}

fn people(people: &[&str], quorum: u32) -> ApprovalRule {
    ApprovalRule {
        role: None,
        people: people.iter().map(|p| name(p)).collect(),
        quorum,
    }
}

fn reject(reason: &str) -> SignOffDecision {
    SignOffDecision::Reject {
        reason: reason.into(),
    }
}

fn check(given: &Given, when: Command) -> Result<Vec<Event>, DomainError> {
    decide(&given.state, when, now())
}

fn refused(given: &Given, when: Command) -> String {
    match check(given, when) {
        Ok(events) => panic!("expected a refusal, got {events:?}"),
        Err(error) => error.to_string(),
    }
}

fn sign_offs(given: &Given, release: &str) -> (CriterionStatus, Vec<String>) {
    let assessment = assess(&given.state, &name(release)).expect("release exists");
    let criterion = assessment
        .verdict
        .criteria
        .iter()
        .find(|c| c.id == "sign-offs")
        .expect("sign-offs criterion listed")
        .clone();
    (criterion.status, criterion.missing)
}

#[test]
fn a_regular_release_gets_the_seed_checklist_with_due_dates_from_its_target() {
    let given = Given::new();
    let assessment = assess(&given.state, &name("q1")).expect("release exists");
    let checklist = &assessment.checklist;
    assert_eq!(checklist.template.as_str(), "standard");
    assert!(checklist.builtin && !checklist.expedited);
    let titles: Vec<&str> = checklist
        .entries
        .iter()
        .map(|e| e.spec.title.as_str())
        .collect();
    for seed_item in [
        "Release scope finalized and communicated",
        "Design QA completed for UI changes",
        "Support documentation updated",
        "Go/no-go meeting completed",
        "Support team briefed",
        "Archive release materials",
        "Rollback procedures tested",
    ] {
        assert!(titles.contains(&seed_item), "{seed_item} in {titles:?}");
    }
    let scope = &checklist.entries[0];
    assert_eq!(
        scope.due.to_string(),
        "2025-02-15",
        "target 2025-03-01 - 14d"
    );
    let design = checklist
        .entries
        .iter()
        .find(|e| e.spec.id.as_str() == "design-qa")
        .expect("design QA item");
    assert_eq!(design.spec.owner, Role::UxDesigner);
    let ids: Vec<&str> = assessment.verdict.criteria.iter().map(|c| c.id).collect();
    // *Rollback procedures tested* is judged by the rehearsal criterion, which the
    // verdict lists so that the checklist's "see criterion" names one that is there.
    assert!(
        ids.ends_with(&["rollback-rehearsed", "checklist-pre-release", "sign-offs"]),
        "{ids:?}"
    );
}

#[test]
fn a_hotfix_takes_the_smaller_expedited_checklist_and_needs_named_approvers() {
    let mut given = Given::new();
    let assessment = assess(&given.state, &name("fix")).expect("release exists");
    assert!(assessment.expedited());
    let standard_len = builtin_templates()[0].spec.items.len();
    assert!(assessment.checklist.entries.len() < standard_len);
    let (status, missing) = sign_offs(&given, "fix");
    assert_eq!(status, CriterionStatus::Missing);
    assert!(missing[0].contains("needs named approvers"), "{missing:?}");

    given.rules("fix", vec![people(&["sid", "mike"], 1)]);
    let requested = check(
        &given,
        Command::RequestGoNoGo {
            release: name("fix"),
            by: name("rita"),
        },
    )
    .expect("request accepted");
    assert_eq!(
        requested[0].describe(),
        "release fix: go/no-go requested by rita (expedited path)",
        "the record says which path"
    );
    given
        .request("fix", "rita")
        .sign("fix", "mike", SignOffDecision::Approve);
    assert_eq!(sign_offs(&given, "fix").0, CriterionStatus::Met);
    let meeting = assess(&given.state, &name("fix")).expect("exists").meeting;
    assert!(meeting.request.expect("requested").expedited);
}

#[test]
fn quorum_counts_distinct_approvers_and_is_met_at_two_of_three() {
    let mut given = Given::new();
    given.rules("q1", vec![people(&["sid", "sam", "uma"], 2)]);
    let (_, missing) = sign_offs(&given, "q1");
    assert_eq!(
        missing[0], "go/no-go not requested yet (`lockstep signoff q1 --request`)",
        "the hint is a command that runs"
    );
    given
        .request("q1", "rita")
        .sign("q1", "sid", SignOffDecision::Approve);
    let (status, missing) = sign_offs(&given, "q1");
    assert_eq!(status, CriterionStatus::Missing);
    assert_eq!(
        missing,
        vec!["2 of sid, sam, uma: 1 more needed (eligible: sam, sid, uma)"]
    );
    given.sign("q1", "uma", SignOffDecision::Approve);
    assert_eq!(sign_offs(&given, "q1").0, CriterionStatus::Met);
}

#[test]
fn one_person_never_fills_two_rules() {
    let mut given = Given::new();
    // sid is named in both rules; his one approval fills only one of them.
    given
        .rules("q1", vec![people(&["sid"], 1), people(&["sid", "sam"], 1)])
        .request("q1", "rita")
        .sign("q1", "sid", SignOffDecision::Approve);
    assert_eq!(sign_offs(&given, "q1").0, CriterionStatus::Missing);
    given.sign("q1", "sam", SignOffDecision::Approve);
    assert_eq!(sign_offs(&given, "q1").0, CriterionStatus::Met);
}

#[test]
fn the_requester_cannot_approve() {
    let mut given = Given::new();
    given
        .rules("q1", vec![role(Role::Qa, 1)])
        .request("q1", "quinn");
    let error = refused(&given, sign_off("q1", "quinn", SignOffDecision::Approve));
    assert!(error.contains("no self-approval"), "{error}");
    // The other QA still can, so the rule does not deadlock.
    given.sign("q1", "quincy", SignOffDecision::Approve);
    assert_eq!(sign_offs(&given, "q1").0, CriterionStatus::Met);
}

#[test]
fn a_rejection_blocks_until_withdrawn_or_superseded_by_its_author() {
    let mut given = Given::new();
    given
        .rules("q1", vec![role(Role::Security, 1), role(Role::Qa, 1)])
        .request("q1", "rita")
        .sign("q1", "sid", SignOffDecision::Approve)
        .sign("q1", "quinn", SignOffDecision::Approve)
        .sign("q1", "quincy", reject("checkout flow fails on iOS 17"));
    let (status, missing) = sign_offs(&given, "q1");
    assert_eq!(status, CriterionStatus::Failed);
    assert!(
        missing
            .iter()
            .any(|m| m.starts_with("quincy rejected")
                && m.ends_with("checkout flow fails on iOS 17")),
        "{missing:?}"
    );
    given.run(Command::WithdrawSignOff {
        release: name("q1"),
        by: name("quincy"),
    });
    assert_eq!(sign_offs(&given, "q1").0, CriterionStatus::Met);

    given.sign("q1", "sid", reject("pen test finding open"));
    assert_eq!(sign_offs(&given, "q1").0, CriterionStatus::Failed);
    given.sign("q1", "sid", SignOffDecision::Approve);
    assert_eq!(sign_offs(&given, "q1").0, CriterionStatus::Met);
}

#[test]
fn a_rejection_needs_a_reason_and_signers_must_be_named_approvers() {
    let mut given = Given::new();
    given
        .rules("q1", vec![role(Role::Security, 1)])
        .request("q1", "rita");
    assert!(refused(&given, sign_off("q1", "sid", reject("  "))).contains("needs a reason"));
    let error = refused(&given, sign_off("q1", "sam", SignOffDecision::Approve));
    assert!(error.contains("not a named approver"), "{error}");
    assert!(error.contains("(approvers: sid)"), "{error}");
}

#[test]
fn sign_offs_wait_for_the_request() {
    let mut given = Given::new();
    given.rules("q1", vec![role(Role::Security, 1)]);
    let error = refused(&given, sign_off("q1", "sid", SignOffDecision::Approve));
    assert!(error.contains("has not been requested"), "{error}");
    let (status, missing) = sign_offs(&given, "q1");
    assert_eq!(status, CriterionStatus::Missing);
    assert!(missing[0].contains("not requested"), "{missing:?}");
}

#[test]
fn rules_that_can_never_be_met_are_refused_when_defined() {
    let given = Given::new();
    let define = |rules| Command::DefineApprovalRules {
        release: name("q1"),
        rules,
    };
    // Quorum above the eligible people.
    let error = refused(&given, define(vec![role(Role::Security, 2)]));
    assert!(
        error.contains("only 1 eligible person hold role security"),
        "{error}"
    );
    // Nobody holds the role.
    let error = refused(&given, define(vec![role(Role::ProductOwner, 1)]));
    assert!(error.contains("can never be met"), "{error}");
    // Distinct people: two rules that only sid can fill.
    let error = refused(
        &given,
        define(vec![people(&["sid"], 1), role(Role::Security, 1)]),
    );
    assert!(error.contains("would deadlock"), "{error}");
    // An unknown person, with did-you-mean.
    let error = refused(&given, define(vec![people(&["sd", "sam"], 1)]));
    assert_eq!(error, "unknown member `sd` (did you mean `sid`?)");
    // Role and people together, or neither.
    let both = ApprovalRule {
        role: Some(Role::Qa),
        people: vec![name("sid")],
        quorum: 1,
    };
    assert!(refused(&given, define(vec![both])).contains("not both"));
    assert!(refused(&given, define(vec![people(&["sid"], 0)])).contains("quorum of 0"));
}

#[test]
fn satisfiable_rules_are_accepted_both_ways() {
    let given = Given::new();
    let events = check(
        &given,
        Command::DefineApprovalRules {
            release: name("q1"),
            rules: vec![
                role(Role::Security, 1),
                role(Role::Qa, 2),
                people(&["sam", "uma"], 1),
            ],
        },
    )
    .expect("satisfiable rules are accepted");
    assert!(matches!(events[..], [Event::ApprovalRulesDefined { .. }]));
}

#[test]
fn a_request_that_would_leave_a_rule_without_approvers_is_refused() {
    let mut given = Given::new();
    given.rules("q1", vec![role(Role::Security, 1)]);
    let error = refused(
        &given,
        Command::RequestGoNoGo {
            release: name("q1"),
            by: name("sid"),
        },
    );
    assert!(error.contains("besides the requester `sid`"), "{error}");
    // And once requested, new rules are checked without the requester.
    given.request("q1", "rita");
    let error = refused(
        &given,
        Command::DefineApprovalRules {
            release: name("q1"),
            rules: vec![people(&["rita"], 1)],
        },
    );
    assert!(error.contains("besides the requester `rita`"), "{error}");
}

#[test]
fn manual_items_are_ticked_by_their_owner_role_or_a_release_manager() {
    let mut given = Given::new();
    let tick = |item: &str, by: &str| Command::CheckItem {
        release: name("q1"),
        item: name(item),
        by: name(by),
        note: Some("done in NoteVault".into()),
    };
    let error = refused(&given, tick("design-qa", "sam"));
    assert!(error.contains("owned by role ux-designer"), "{error}");
    given.run(tick("design-qa", "uma"));
    given.run(tick("support-docs", "rita"));
    // Ticking twice records nothing new.
    assert_eq!(check(&given, tick("design-qa", "uma")), Ok(vec![]));
    let error = refused(&given, tick("ci-green", "mike"));
    assert!(
        error.contains("checks itself from signals (ci-green)"),
        "{error}"
    );
    let error = refused(&given, tick("design-q", "uma"));
    assert_eq!(
        error,
        "unknown checklist item `design-q` (did you mean `design-qa`?)"
    );
    let checklist = assess(&given.state, &name("q1")).expect("exists").checklist;
    let design = checklist
        .entries
        .iter()
        .find(|e| e.spec.id.as_str() == "design-qa")
        .expect("listed");
    assert_eq!(design.state, ItemState::Done);
    assert_eq!(
        design.evidence,
        vec!["checked by uma at 2025-02-20T09:00:00Z: done in NoteVault"]
    );
    // Two ticks, plus what holds vacuously here: no scenarios, no items, no rules.
    assert_eq!(checklist.progress().0, 2 + 3);
}

#[test]
fn a_changed_template_applies_to_existing_releases_at_once() {
    let mut given = Given::new();
    let template = |title: &str| ChecklistTemplateSpec {
        title: None,
        applies_to: vec![ReleaseKind::Regular],
        expedited: false,
        items: vec![ChecklistItemSpec {
            id: name("dry-run"),
            title: title.into(),
            phase: ChecklistPhase::PreRelease,
            owner: Role::TechLead,
            due: DueOffset::parse("-3d").expect("offset"),
            check: None,
        }],
        approvals: vec![people(&["sid", "sam"], 2)],
    };
    given.run(Command::DefineChecklistTemplate {
        template: name("lean"),
        spec: template("Deployment dry run"),
    });
    given.run(Command::CheckItem {
        release: name("q1"),
        item: name("dry-run"),
        by: name("mike"),
        note: None,
    });
    given.run(Command::DefineChecklistTemplate {
        template: name("lean"),
        spec: template("Deployment dry run on staging"),
    });
    let assessment = assess(&given.state, &name("q1")).expect("exists");
    assert_eq!(assessment.checklist.template.as_str(), "lean");
    assert_eq!(assessment.checklist.entries.len(), 1);
    let entry = &assessment.checklist.entries[0];
    assert_eq!(entry.spec.title, "Deployment dry run on staging");
    assert_eq!(entry.state, ItemState::Done, "the tick follows the item id");
    assert_eq!(entry.due.to_string(), "2025-02-26");
    // The template's rules apply to the release.
    assert_eq!(assessment.meeting.rules.len(), 1);
    // A second template for the same kind is refused: one template per kind.
    let error = refused(
        &given,
        Command::DefineChecklistTemplate {
            template: name("other"),
            spec: template("x"),
        },
    );
    assert!(
        error.contains("already has checklist template `lean`"),
        "{error}"
    );
}

#[test]
fn template_rules_are_validated_when_defined() {
    let given = Given::new();
    let mut spec = builtin_templates().remove(1).spec;
    spec.approvals = vec![people(&["sid", "rta"], 1)];
    let error = refused(
        &given,
        Command::DefineChecklistTemplate {
            template: name("hotfix-path"),
            spec,
        },
    );
    assert_eq!(error, "unknown member `rta` (did you mean `rita`?)");
}

#[test]
fn due_offsets_read_and_write_as_days() {
    for (raw, days, shown) in [("-14d", -14, "-14d"), ("0d", 0, "0d"), ("+3d", 3, "+3d")] {
        let offset = DueOffset::parse(raw).expect("valid offset");
        assert_eq!(offset.as_days(), days);
        assert_eq!(offset.to_string(), shown);
    }
    assert!(DueOffset::parse("-14").is_err());
    assert!(DueOffset::parse("2w").is_err());
    assert!(DueOffset::parse("-400d").is_err());
}

fn principal(member: Option<&str>, admin: bool) -> Principal {
    Principal {
        user: member.unwrap_or("root").to_owned(),
        admin,
        member: member.map(name),
    }
}

#[test]
fn only_the_named_person_signs_and_not_even_an_admin_signs_for_them() {
    let given = Given::new();
    let approve = sign_off("q1", "sid", SignOffDecision::Approve);
    assert_eq!(
        authorize(&given.state, &principal(Some("sid"), false), &approve),
        Ok(())
    );
    for other in [
        principal(Some("sam"), false),
        principal(Some("rita"), false),
        principal(None, true),
    ] {
        let denied = authorize(&given.state, &other, &approve).expect_err("refused");
        assert!(denied.reason.contains("only `sid` signs"), "{denied}");
    }
}

#[test]
fn stakeholders_tick_as_themselves_and_only_managers_request_go_no_go() {
    let given = Given::new();
    let tick = Command::CheckItem {
        release: name("q1"),
        item: name("design-qa"),
        by: name("uma"),
        note: None,
    };
    assert_eq!(
        authorize(&given.state, &principal(Some("uma"), false), &tick),
        Ok(())
    );
    assert!(authorize(&given.state, &principal(Some("sam"), false), &tick).is_err());
    let request = |by: &str| Command::RequestGoNoGo {
        release: name("q1"),
        by: name(by),
    };
    assert_eq!(
        authorize(
            &given.state,
            &principal(Some("rita"), false),
            &request("rita")
        ),
        Ok(())
    );
    let denied = authorize(
        &given.state,
        &principal(Some("sid"), false),
        &request("sid"),
    )
    .expect_err("a stakeholder does not run the meeting");
    assert_eq!(denied.action, "request go/no-go of release q1 as sid");
    assert!(denied.reason.contains("stakeholders sign off"), "{denied}");
}

#[test]
fn unchanged_rules_on_a_released_release_decide_nothing_and_changed_ones_are_refused() {
    let mut given = Given::new();
    given.rules("q1", vec![role(Role::Security, 1)]);
    given.run(Command::ChangeReleaseState {
        release: name("q1"),
        to: lockstep_core::ReleaseState::InProgress,
    });
    given.run(Command::ChangeReleaseState {
        release: name("q1"),
        to: lockstep_core::ReleaseState::Released,
    });
    let define = |rules| Command::DefineApprovalRules {
        release: name("q1"),
        rules,
    };
    assert_eq!(
        check(&given, define(vec![role(Role::Security, 1)])),
        Ok(vec![])
    );
    let error = refused(&given, define(vec![role(Role::Qa, 1)]));
    assert!(error.contains("is released"), "{error}");
    let error = refused(&given, sign_off("q1", "sid", SignOffDecision::Approve));
    assert!(error.contains("is released"), "{error}");
}
