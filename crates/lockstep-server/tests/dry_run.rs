//! `?dryRun` on writes: the answer says what the write would do and what it would put at
//! risk, nothing is recorded or audited, refusals are the real ones, a bad flag is refused,
//! and a preview never takes the place of the real write under an `Idempotency-Key`.

mod common;

use axum::http::{HeaderMap, Method, StatusCode};
use common::{Harness, SMALL_PROGRAM_USERS, small_program};
use serde_json::{Value, json};

async fn harness() -> Harness {
    Harness::start(
        small_program(),
        &SMALL_PROGRAM_USERS,
        "2030-01-10T10:00:00Z",
    )
    .await
}

async fn position(h: &Harness) -> i64 {
    h.app.state().await.position()
}

async fn n_refusals(h: &Harness) -> usize {
    let (status, _, audit) = h
        .call("admin", Method::GET, "/api/v1/audit", None, &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    audit["refusals"].as_array().map_or(0, Vec::len)
}

/// The API item's ETA moved past the dashboard's need-by (Feb 10 less a day's buffer).
fn late_eta() -> Value {
    json!({"eta": "2030-02-12", "reason": "pipeline migration slipped"})
}

/// `POST /api/v1/items/{item}/eta{query}` of [`late_eta`] as `user`, with `headers`.
async fn slip(
    h: &Harness,
    user: &str,
    item: &str,
    query: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let path = format!("/api/v1/items/{item}/eta{query}");
    h.call(user, Method::POST, &path, Some(late_eta()), headers)
        .await
}

#[tokio::test]
async fn a_preview_shows_the_change_and_what_it_puts_at_risk_and_records_nothing() {
    let h = harness().await;
    let before = position(&h).await;
    let (status, headers, preview) = slip(&h, "mike", "api-endpoints", "?dryRun", &[]).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert!(
        headers.get("etag").is_none(),
        "a preview has no new version"
    );
    assert_eq!(preview["dryRun"], true);
    assert_eq!(preview["resource"]["item"]["eta"], "2030-02-12");
    let summaries: Vec<&str> = preview["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["summary"].as_str())
        .collect();
    assert_eq!(summaries.len(), 1, "{preview}");
    assert!(summaries[0].contains("2030-02-12"), "{summaries:?}");
    let impact = &preview["impact"];
    let newly: Vec<&str> = impact["newlyAtRisk"]
        .as_array()
        .expect("newlyAtRisk")
        .iter()
        .filter_map(|entry| entry[0].as_str())
        .collect();
    assert!(newly.contains(&"dashboard"), "{impact}");
    let chain = impact["newlyAtRisk"][0][1].to_string();
    assert!(
        chain.contains("API endpoints"),
        "the chain names the cause: {chain}"
    );
    assert_eq!(impact["releases"][0]["release"], "r1");
    assert_eq!(impact["releases"][0]["atRiskAfter"], true);
    let teams = impact["teams"].to_string();
    assert!(
        teams.contains("frontend"),
        "the waiting team hears: {teams}"
    );

    assert_eq!(position(&h).await, before, "nothing was recorded");
    let (_, _, item) = h
        .call(
            "mike",
            Method::GET,
            "/api/v1/items/api-endpoints",
            None,
            &[],
        )
        .await;
    assert_eq!(item["item"]["name"], "api-endpoints", "{item}");
    assert_eq!(item["item"]["eta"], Value::Null, "{item}");

    // The same write without the flag (or with dryRun=false) is the real one.
    let (status, _, written) = slip(&h, "mike", "api-endpoints", "?dryRun=false", &[]).await;
    assert_eq!(status, StatusCode::OK, "{written}");
    assert!(written.get("dryRun").is_none(), "{written}");
    assert_eq!(position(&h).await, before + 1);
}

#[tokio::test]
async fn a_preview_is_refused_as_the_write_would_be_but_not_audited() {
    let h = harness().await;
    let refusals = n_refusals(&h).await;
    // Mike leads the API team: the frontend's item is not his to move.
    let (status, _, problem) = slip(&h, "mike", "dashboard", "?dryRun=true", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    // A rule, not a role: an unknown status.
    let (status, _, problem) = h
        .call(
            "rita",
            Method::POST,
            "/api/v1/items/nothing-here/status?dryRun",
            Some(json!({"status": "testing"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    assert_eq!(n_refusals(&h).await, refusals, "previews are not attempts");

    let (status, _, _) = slip(&h, "mike", "dashboard", "", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        n_refusals(&h).await,
        refusals + 1,
        "the real attempt is audited"
    );
}

#[tokio::test]
async fn a_flag_that_is_not_one_true_or_false_is_refused_before_anything_is_decided() {
    let h = harness().await;
    let before = position(&h).await;
    let (status, _, problem) = slip(&h, "mike", "api-endpoints", "?dryRun=yes", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["field"], "dryRun", "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("`yes`")),
        "{problem}"
    );
    // Twice, even agreeing, is refused rather than guessed at.
    for query in ["dryRun&dryRun=false", "dryRun=true&dryRun=true"] {
        let (status, _, problem) =
            slip(&h, "mike", "api-endpoints", &format!("?{query}"), &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {problem}");
        assert_eq!(problem["field"], "dryRun", "{problem}");
    }
    assert_eq!(position(&h).await, before);
}

#[tokio::test]
async fn a_created_resource_is_previewed_with_200_and_not_created() {
    let h = harness().await;
    let body = json!({
        "name": "mobile-view",
        "spec": {"title": "Mobile view", "team": "frontend", "due": "2030-02-20"},
    });
    let (status, _, preview) = h
        .call(
            "rita",
            Method::POST,
            "/api/v1/releases/r1/items?dryRun",
            Some(body.clone()),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert_eq!(
        preview["resource"]["item"]["name"], "mobile-view",
        "{preview}"
    );
    assert_eq!(
        preview["impact"]["releases"][0]["itemsAdded"],
        json!(["mobile-view"])
    );
    let (status, _, _) = h
        .call("rita", Method::GET, "/api/v1/items/mobile-view", None, &[])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the preview created nothing");
    let (status, _, _) = h
        .call(
            "rita",
            Method::POST,
            "/api/v1/releases/r1/items",
            Some(body),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_preview_under_an_idempotency_key_does_not_stand_in_for_the_real_write() {
    let h = harness().await;
    let before = position(&h).await;
    let key = [("Idempotency-Key", "eta-slip-1")];
    let (status, _, preview) = slip(&h, "mike", "api-endpoints", "?dryRun", &key).await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    let (status, headers, written) = slip(&h, "mike", "api-endpoints", "", &key).await;
    assert_eq!(status, StatusCode::OK, "{written}");
    assert!(headers.get("idempotent-replayed").is_none(), "{written}");
    assert!(written.get("dryRun").is_none(), "{written}");
    assert_eq!(
        position(&h).await,
        before + 1,
        "the real write was recorded"
    );
}
