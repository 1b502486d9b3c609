//! The risk register over HTTP: list and get under `/api/v1/risk-register` (apart from
//! the computed `/api/v1/risks`), the status verb with its reason, who may move a
//! risk, bad input, `If-Match`, and the release page's register panel.

mod common;

use axum::http::{Method, StatusCode, header};
use common::{Harness, SMALL_PROGRAM_USERS, date, name, small_program};
use lockstep_core::{Command, RiskLevel, RiskSpec};
use serde_json::{Value, json};

fn risk(title: &str, probability: RiskLevel, impact: RiskLevel, owner: &str) -> RiskSpec {
    RiskSpec {
        title: title.to_owned(),
        probability,
        impact,
        owner: name(owner),
        mitigation: None,
        feature_flag: None,
        items: Vec::new(),
        trigger: None,
        review_by: None,
        labels: Default::default(),
    }
}

/// The small program (`common::small_program`) with two risks: the API slip (mike,
/// exposure 6, review overdue on the fixed clock, mitigated by a flag) and a
/// `<script>`-titled one (sarah, exposure 2) whose text must come out escaped.
fn commands() -> Vec<Command> {
    let mut api_slip = risk("API slips", RiskLevel::Medium, RiskLevel::High, "mike");
    api_slip.mitigation = Some("ship dark behind the flag".to_owned());
    api_slip.feature_flag = Some("analytics-v2".to_owned());
    api_slip.items = vec![name("api-endpoints")];
    api_slip.trigger = Some("ETA past Feb 5".to_owned());
    api_slip.review_by = Some(date("2030-01-05"));
    let mut commands = small_program();
    commands.extend([
        Command::DefineRisk {
            risk: name("api-slip"),
            release: name("r1"),
            spec: api_slip,
        },
        Command::DefineRisk {
            risk: name("ui-copy"),
            release: name("r1"),
            spec: risk(
                "<script>alert(1)</script> copy late",
                RiskLevel::Low,
                RiskLevel::Medium,
                "sarah",
            ),
        },
    ]);
    commands
}

async fn harness() -> Harness {
    Harness::start(commands(), &SMALL_PROGRAM_USERS, "2030-01-10T10:00:00Z").await
}

async fn status_of(h: &Harness, risk: &str) -> Value {
    let path = format!("/api/v1/risk-register/{risk}");
    let (_, _, value) = h.call("viewer", Method::GET, &path, None, &[]).await;
    value["status"].clone()
}

fn move_to(status: &str, reason: &str) -> Option<Value> {
    Some(json!({ "status": status, "reason": reason }))
}

#[tokio::test]
async fn the_register_lists_and_gets_risks_with_their_exposure_apart_from_at_risk_items() {
    let h = harness().await;
    let (status, _, value) = h
        .call("viewer", Method::GET, "/api/v1/risk-register", None, &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    let names: Vec<&str> = value["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["api-slip", "ui-copy"]);
    assert_eq!(value["items"][0]["exposure"], 6);
    assert_eq!(value["items"][0]["spec"]["featureFlag"], "analytics-v2");
    let (status, headers, value) = h
        .call(
            "viewer",
            Method::GET,
            "/api/v1/risk-register/api-slip",
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert!(headers.contains_key(header::ETAG));
    assert_eq!(value["release"], "r1");
    assert_eq!(value["status"], "open");
    // Filters are checked; the computed at-risk view keeps its own path.
    let (status, _, value) = h
        .call(
            "viewer",
            Method::GET,
            "/api/v1/risk-register?release=r1&status=closed",
            None,
            &[],
        )
        .await;
    assert_eq!(
        (status, value["items"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(0))
    );
    let (status, _, value) = h
        .call(
            "viewer",
            Method::GET,
            "/api/v1/risk-register?status=opn",
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{value}");
    assert!(
        value["detail"]
            .as_str()
            .is_some_and(|d| d.contains("did you mean `open`"))
    );
    let (status, _, _) = h
        .call(
            "viewer",
            Method::GET,
            "/api/v1/risk-register/nothing",
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, value) = h
        .call("viewer", Method::GET, "/api/v1/risks", None, &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        value["items"].is_array() && value["releases"].is_array(),
        "{value}"
    );
}

#[tokio::test]
async fn the_owners_team_and_the_release_manager_move_a_risk_with_a_reason_in_the_history() {
    let h = harness().await;
    let path = "/api/v1/risk-register/api-slip/status";
    for (user, expected) in [
        ("viewer", StatusCode::FORBIDDEN),
        ("sid", StatusCode::FORBIDDEN),
        ("sarah", StatusCode::FORBIDDEN),
    ] {
        let (status, _, value) = h
            .call(user, Method::POST, path, move_to("closed", "done"), &[])
            .await;
        assert_eq!(status, expected, "{user}: {value}");
    }
    assert_eq!(status_of(&h, "api-slip").await, "open");
    let (status, _, value) = h
        .call(
            "mike",
            Method::POST,
            path,
            move_to("mitigated", "flag created and off in production"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["resource"]["status"], "mitigated");
    assert_eq!(
        value["events"][0]["summary"],
        "risk api-slip: open → mitigated"
    );
    let (status, _, _) = h
        .call(
            "rita",
            Method::POST,
            path,
            move_to("occurred", "API slipped to Feb 10"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, history) = h
        .call(
            "viewer",
            Method::GET,
            "/api/v1/history?stream=release:r1",
            None,
            &[],
        )
        .await;
    let last = history["items"]
        .as_array()
        .and_then(|rows| rows.last())
        .expect("an event");
    assert_eq!(last["actor"], "rita");
    assert_eq!(last["reason"], "API slipped to Feb 10");
    assert_eq!(last["summary"], "risk api-slip: mitigated → occurred");
}

#[tokio::test]
async fn bad_status_bodies_are_refused_by_field_and_change_nothing() {
    let h = harness().await;
    let path = "/api/v1/risk-register/api-slip/status";
    for (body, expected, field) in [
        (
            json!({"status": "closd", "reason": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "status",
        ),
        (
            json!({"status": "closed", "reason": "  "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason",
        ),
        // A body that is not the request's shape is refused as an invalid body.
        (
            json!({"status": "closed"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
        (
            json!({"status": "closed", "reason": "x", "why": "y"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
    ] {
        let (status, _, value) = h
            .call("mike", Method::POST, path, Some(body.clone()), &[])
            .await;
        assert_eq!(status, expected, "{body}: {value}");
        if !field.is_empty() {
            assert_eq!(value["field"], field, "{value}");
        }
    }
    let too_long = "x".repeat(lockstep_core::limits::MAX_SENTENCE_CHARS + 1);
    let (status, _, value) = h
        .call(
            "mike",
            Method::POST,
            path,
            move_to("closed", &too_long),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    let (status, _, _) = h
        .call(
            "admin",
            Method::POST,
            "/api/v1/risk-register/nothing/status",
            move_to("closed", "x"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(status_of(&h, "api-slip").await, "open");
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_the_current_tag_succeeds() {
    let h = harness().await;
    let (_, headers, _) = h
        .call(
            "mike",
            Method::GET,
            "/api/v1/risk-register/api-slip",
            None,
            &[],
        )
        .await;
    let tag = headers[header::ETAG].to_str().expect("ascii").to_owned();
    let path = "/api/v1/risk-register/api-slip/status";
    let (status, _, value) = h
        .call(
            "mike",
            Method::POST,
            path,
            move_to("mitigated", "flag ready"),
            &[("if-match", &tag)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    let (status, _, value) = h
        .call(
            "mike",
            Method::POST,
            path,
            move_to("closed", "shipped"),
            &[("if-match", &tag)],
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{value}");
    assert_eq!(status_of(&h, "api-slip").await, "mitigated");
}

#[tokio::test]
async fn the_release_page_shows_live_risks_by_exposure_escaped_with_overdue_reviews() {
    let h = harness().await;
    let (status, _, page) = h
        .call("viewer", Method::GET, "/releases/r1", None, &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    let html = page.as_str().expect("html");
    assert!(html.contains("Risk register"), "{html}");
    assert!(
        !html.contains("<script>"),
        "no inline script, and titles escaped"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; copy late"),
        "{html}"
    );
    let first = html
        .find(r#"data-risk="api-slip""#)
        .expect("api-slip listed");
    let second = html.find(r#"data-risk="ui-copy""#).expect("ui-copy listed");
    assert!(first < second, "highest exposure first");
    let row = &html[first..second];
    assert!(
        row.contains("data-overdue"),
        "review of Jan 5 is overdue on Jan 10: {row}"
    );
    assert!(
        row.contains("ship dark behind the flag") && row.contains("analytics-v2"),
        "{row}"
    );
    assert!(row.contains("mike"), "{row}");
    // A closed risk leaves the panel.
    let (status, _, _) = h
        .call(
            "sarah",
            Method::POST,
            "/api/v1/risk-register/ui-copy/status",
            move_to("closed", "copy delivered"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, page) = h
        .call("viewer", Method::GET, "/releases/r1", None, &[])
        .await;
    assert!(
        !page
            .as_str()
            .expect("html")
            .contains(r#"data-risk="ui-copy""#)
    );
}
