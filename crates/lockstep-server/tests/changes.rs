//! Change requests over HTTP: a proposal is checked and answered with its impact, only
//! someone else with the right decides it, approval applies the manifests in the same
//! commit, a request that no longer applies cannot be approved, and the pages show it.

mod common;

use axum::http::{Method, StatusCode};
use common::{Harness, SMALL_PROGRAM_USERS, small_program};
use serde_json::{Value, json};

struct Changes(Harness);

impl Changes {
    async fn new() -> Changes {
        Changes(
            Harness::start(
                small_program(),
                &SMALL_PROGRAM_USERS,
                "2030-01-10T10:00:00Z",
            )
            .await,
        )
    }

    async fn call(
        &self,
        user: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, _, value) = self.0.call(user, method, path, body, &[]).await;
        (status, value)
    }

    async fn propose(&self, user: &str, proposal: Value) -> (StatusCode, Value) {
        self.call(
            user,
            Method::POST,
            "/api/v1/change-requests",
            Some(proposal),
        )
        .await
    }

    async fn n_events(&self) -> i64 {
        self.0.app.state().await.position()
    }
}

/// A release manifest moving r1's target to `target` and the API item's ETA to `eta`.
fn slip(target: &str, eta: &str) -> Value {
    let text = format!(
        "apiVersion: lockstep.dev/v1
kind: Release
metadata: {{name: r1}}
spec:
  title: Release One
  targetDate: {target}
  featureFreeze: 2030-02-15
  codeFreeze: 2030-02-22
  items:
    - {{name: api-endpoints, title: API endpoints, team: api, due: 2030-02-08, eta: {eta}}}
    - {{name: dashboard, title: Dashboard, team: frontend, due: 2030-02-14}}
"
    );
    json!({
        "title": "Slip the API and the release by a week",
        "sources": [{"name": "r1.yaml", "text": text}],
        "reason": "pipeline migration slipped",
    })
}

#[tokio::test]
async fn a_proposal_shows_its_impact_and_changes_nothing_until_approved() {
    let h = Changes::new().await;
    let before = h.n_events().await;
    let (status, view) = h.propose("mike", slip("2030-03-08", "2030-02-12")).await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    assert_eq!(view["name"], "cr-1");
    assert_eq!(view["status"], "open");
    assert_eq!(view["requestedBy"], "mike");
    assert_eq!(
        view["releases"],
        json!(["r1"]),
        "kept for its coordination time"
    );
    let release = &view["impact"]["releases"][0];
    assert_eq!(release["release"], "r1");
    assert_eq!(
        (&release["targetBefore"], &release["targetAfter"]),
        (&json!("2030-03-01"), &json!("2030-03-08"))
    );
    let at_risk = view["impact"]["newlyAtRisk"].to_string();
    assert!(
        at_risk.contains("dashboard") && at_risk.contains("ETA Feb 12 > need-by Feb 10"),
        "the dependant of the slipped item, with its chain: {at_risk}"
    );
    let teams = view["impact"]["teams"].to_string();
    assert!(
        teams.contains("api") && teams.contains("frontend"),
        "{teams}"
    );
    assert!(
        view["markdown"]
            .as_str()
            .unwrap_or_default()
            .contains("target 2030-03-01 → 2030-03-08")
    );
    assert_eq!(
        h.n_events().await,
        before + 1,
        "only the proposal is recorded"
    );
    let (_, release) = h
        .call("viewer", Method::GET, "/api/v1/releases/r1", None)
        .await;
    assert_eq!(release["spec"]["targetDate"], "2030-03-01", "{release}");
}

#[tokio::test]
async fn only_someone_else_with_the_right_approves_and_approval_applies_in_one_commit() {
    let h = Changes::new().await;
    h.propose("mike", slip("2030-03-08", "2030-02-12")).await;
    // A team member may propose but not decide; a release manager may not approve their
    // own request; stakeholders decide nothing.
    let (status, problem) = h
        .call(
            "mike",
            Method::POST,
            "/api/v1/change-requests/cr-1/approve",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, _) = h
        .call(
            "sid",
            Method::POST,
            "/api/v1/change-requests/cr-1/approve",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, own) = h.propose("rita", slip("2030-03-15", "2030-02-12")).await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    let (status, problem) = h
        .call(
            "rita",
            Method::POST,
            "/api/v1/change-requests/cr-2/approve",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("four eyes")),
        "{problem}"
    );
    assert_eq!(
        problem["type"], "https://lockstep.dev/problems/rejected",
        "a rule of the decision, answered like a rejection's: {problem}"
    );

    let before = h.n_events().await;
    let (status, view) = h
        .call(
            "rita",
            Method::POST,
            "/api/v1/change-requests/cr-1/approve",
            Some(json!({"rationale": "agreed in the weekly sync"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "approved");
    assert_eq!(view["decision"]["by"], "rita");
    assert_eq!(view["decision"]["rationale"], "agreed in the weekly sync");
    let (_, release) = h
        .call("viewer", Method::GET, "/api/v1/releases/r1", None)
        .await;
    assert_eq!(release["spec"]["targetDate"], "2030-03-08");
    assert_eq!(
        h.n_events().await,
        before + 3,
        "the approval, the new target and the new ETA, committed together"
    );
    // Deciding again is refused with who decided.
    let (status, problem) = h
        .call(
            "admin",
            Method::POST,
            "/api/v1/change-requests/cr-1/reject",
            Some(json!({"rationale": "late"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("already approved (by rita"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_request_that_no_longer_applies_cannot_be_approved_and_says_where() {
    let h = Changes::new().await;
    h.propose("mike", slip("2030-03-08", "2030-02-12")).await;
    // The release is cancelled meanwhile: the request's manifest can no longer change it.
    let (status, body) = h
        .call(
            "rita",
            Method::POST,
            "/api/v1/releases/r1/state",
            Some(json!({"state": "cancelled", "reason": "merged into r2"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, view) = h
        .call("viewer", Method::GET, "/api/v1/change-requests/cr-1", None)
        .await;
    assert!(view["impact"].is_null(), "{view}");
    let problem = view["problem"].as_str().unwrap_or_default();
    assert!(
        problem.contains("r1.yaml:3:") && problem.contains("cancelled"),
        "{problem}"
    );
    let before = h.n_events().await;
    let (status, refused) = h
        .call(
            "rita",
            Method::POST,
            "/api/v1/change-requests/cr-1/approve",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("cannot be approved"),
        "{refused}"
    );
    assert_eq!(h.n_events().await, before, "nothing half-applied");
    let (_, view) = h
        .call("viewer", Method::GET, "/api/v1/change-requests/cr-1", None)
        .await;
    assert_eq!(view["status"], "open");
}

#[tokio::test]
async fn bad_proposals_rejections_and_withdrawals_are_refused_with_what_is_wrong() {
    let h = Changes::new().await;
    let mut bad = slip("2030-03-08", "2030-02-12");
    bad["sources"][0]["text"] = json!(
        "apiVersion: lockstep.dev/v1\nkind: Release\nmetadata: {name: r1}\nspec: {targetDate: 2030-13-01}\n"
    );
    let (status, problem) = h.propose("mike", bad).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("r1.yaml:4:"),
        "{problem}"
    );
    let (status, _) = h.propose("viewer", slip("2030-03-08", "2030-02-12")).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "viewers change nothing, proposals included"
    );
    let (status, _) = h
        .propose("mike", json!({"title": " ", "sources": []}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(h.n_events().await, 7, "the fixture only");

    h.propose("mike", slip("2030-03-08", "2030-02-12")).await;
    let (status, problem) = h
        .call(
            "rita",
            Method::POST,
            "/api/v1/change-requests/cr-1/reject",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("rationale"),
        "{problem}"
    );
    let (status, _) = h
        .call(
            "sarah",
            Method::POST,
            "/api/v1/change-requests/cr-1/withdraw",
            Some(json!({})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only the requester withdraws"
    );
    let (status, view) = h
        .call(
            "mike",
            Method::POST,
            "/api/v1/change-requests/cr-1/withdraw",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    assert_eq!(view["status"], "withdrawn");
    let (status, _) = h
        .call("viewer", Method::GET, "/api/v1/change-requests/cr-9", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = h
        .call(
            "rita",
            Method::POST,
            "/api/v1/change-requests/cr-1/merge",
            Some(json!({})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "approve, reject or withdraw only"
    );
    let (status, _) = h
        .call(
            "viewer",
            Method::GET,
            "/api/v1/change-requests?status=pending",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, list) = h
        .call(
            "viewer",
            Method::GET,
            "/api/v1/change-requests?status=withdrawn",
            None,
        )
        .await;
    assert_eq!(list["items"][0]["name"], "cr-1", "{list}");
}

#[tokio::test]
async fn the_pages_list_requests_and_show_the_impact_with_the_callers_buttons() {
    let h = Changes::new().await;
    let mut proposal = slip("2030-03-08", "2030-02-12");
    proposal["title"] = json!("<script>alert(1)</script> slip");
    h.propose("mike", proposal).await;
    let (status, page) = h.call("viewer", Method::GET, "/changes", None).await;
    assert_eq!(status, StatusCode::OK);
    let html = page.as_str().expect("html");
    assert!(
        html.contains(r#"<a href="/changes/cr-1">cr-1</a>"#),
        "{html}"
    );
    assert!(!html.contains("<script>alert"), "titles escaped");

    let (_, page) = h.call("rita", Method::GET, "/changes/cr-1", None).await;
    let html = page.as_str().expect("html");
    assert!(html.contains("target 2030-03-01 → 2030-03-08"), "{html}");
    assert!(html.contains("becomes at risk"), "{html}");
    assert!(
        html.contains(r#"data-change-action="approve""#),
        "rita may approve: {html}"
    );
    let (_, page) = h.call("mike", Method::GET, "/changes/cr-1", None).await;
    let html = page.as_str().expect("html");
    assert!(
        !html.contains(r#"data-change-action="approve""#),
        "not the requester"
    );
    assert!(html.contains(r#"data-change-action="withdraw""#), "{html}");
    let (_, page) = h.call("viewer", Method::GET, "/changes/cr-1", None).await;
    assert!(
        !page
            .as_str()
            .unwrap_or_default()
            .contains("data-change-action")
    );
}

#[tokio::test]
async fn a_retried_proposal_is_replayed_and_the_list_says_which_parameters_it_takes() {
    let h = Changes::new().await;
    let key = [("idempotency-key", "slip-1")];
    let mut names = Vec::new();
    for replayed in [false, true] {
        let (status, headers, view) =
            h.0.call(
                "mike",
                Method::POST,
                "/api/v1/change-requests",
                Some(slip("2030-03-15", "2030-02-12")),
                &key,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{view}");
        assert_eq!(headers.get("idempotent-replayed").is_some(), replayed);
        names.push(view["name"].clone());
    }
    assert_eq!(names[0], names[1], "one request, not two");
    let first = &names[0];
    let (_, listed) = h
        .call("viewer", Method::GET, "/api/v1/change-requests", None)
        .await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "{listed}"
    );

    // A decision on the request as last read: its ETag, and 412 once it moved on.
    let path = format!(
        "/api/v1/change-requests/{}",
        first.as_str().unwrap_or_default()
    );
    let (status, headers, _) = h.0.call("rita", Method::GET, &path, None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let tag = headers["etag"].to_str().unwrap_or_default().to_owned();
    assert_eq!(tag, "\"1\"", "proposed: one event on its stream");
    let decide = |user: &'static str, action: &'static str, tag: String| {
        let path = format!("{path}/{action}");
        let h = &h;
        async move {
            h.0.call(
                user,
                Method::POST,
                &path,
                Some(json!({})),
                &[("if-match", tag.as_str())],
            )
            .await
        }
    };
    let (status, _, problem) = decide("rita", "approve", "\"7\"".to_owned()).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{problem}");
    let (status, _, view) = decide("rita", "approve", tag.clone()).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let (status, _, problem) = decide("mike", "withdraw", tag).await;
    assert_eq!(
        status,
        StatusCode::PRECONDITION_FAILED,
        "decided since it was read: {problem}"
    );

    // The list is answered whole: paging and unknown parameters are problems, by field.
    for (path, field) in [
        ("/api/v1/change-requests?limit=2", "limit"),
        ("/api/v1/change-requests?foo=1", "foo"),
        ("/api/v1/change-requests?status=maybe", "status"),
        ("/api/v1/dependencies?limit=1", "limit"),
        ("/api/v1/lessons?cursor=x", "cursor"),
    ] {
        let (status, headers, problem) = h.0.call("viewer", Method::GET, path, None, &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {problem}");
        assert_eq!(
            headers["content-type"], "application/problem+json",
            "{path}"
        );
        assert_eq!(problem["field"], field, "{path}: {problem}");
    }
}
