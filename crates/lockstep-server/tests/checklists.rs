//! Checklists and go/no-go sign-offs over HTTP: who may tick, request and sign
//! (allowed and denied), problems for bad input, If-Match and Idempotency-Key on the
//! new writes, the verdict and the dashboard showing the meeting, and one round trip
//! over a real socket.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{add_users, application, config, name, request, send};
use lockstep_core::{Command, Member, ReleaseKind, ReleaseSpec, Role, TeamSpec};
use lockstep_server::{AppState, Clock};
use serde_json::{Value, json};

fn release(kind: ReleaseKind) -> ReleaseSpec {
    ReleaseSpec {
        title: None,
        kind,
        version: None,
        target_date: "2030-03-01".parse().expect("date"),
        feature_freeze: None,
        code_freeze: None,
        manager: None,
        milestones: Vec::new(),
        deployment: None,
        labels: Default::default(),
    }
}

/// Team `office`: rita (release manager), sid (security), sam (support liaison),
/// uma (UX designer), mike (tech lead). Releases `r1` (regular) and `hot` (hotfix).
fn commands() -> Vec<Command> {
    let member = |handle: &str, role: Role| Member {
        handle: name(handle),
        name: None,
        email: None,
        roles: vec![role],
    };
    vec![
        Command::DefineTeam {
            team: name("office"),
            spec: TeamSpec {
                title: None,
                time_zone: "UTC".to_owned(),
                working_hours: Default::default(),
                holidays: Vec::new(),
                members: vec![
                    member("rita", Role::ReleaseManager),
                    member("sid", Role::Security),
                    member("sam", Role::SupportLiaison),
                    member("uma", Role::UxDesigner),
                    member("mike", Role::TechLead),
                ],
                on_call: None,
                labels: Default::default(),
            },
        },
        Command::DefineRelease {
            release: name("r1"),
            spec: release(ReleaseKind::Regular),
        },
        Command::DefineRelease {
            release: name("hot"),
            spec: release(ReleaseKind::Hotfix),
        },
    ]
}

const USERS: [(&str, Option<&str>, bool); 7] = [
    ("admin", None, true),
    ("rita", Some("rita"), false),
    ("sid", Some("sid"), false),
    ("sam", Some("sam"), false),
    ("uma", Some("uma"), false),
    ("mike", Some("mike"), false),
    ("viewer", None, false),
];

struct Harness {
    app: Arc<AppState>,
    tokens: std::collections::HashMap<&'static str, String>,
}

impl Harness {
    async fn new() -> Harness {
        let now: jiff::Timestamp = "2030-02-20T10:00:00Z".parse().expect("instant");
        let app = application(commands(), now, config(Clock::fixed(now))).await;
        let tokens = add_users(&app, &USERS).await;
        Harness { app, tokens }
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
        send(&self.app, request).await
    }

    fn request(
        &self,
        user: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Request<Body> {
        let token = self.tokens.get(user).expect("known user");
        request(
            Some(token),
            method,
            path,
            body.map(|body| body.to_string()),
            headers,
        )
    }

    async fn call(
        &self,
        user: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, _, value) = self.send(self.request(user, method, path, body, &[])).await;
        (status, value)
    }

    async fn rules(&self, release: &str, rules: Value) {
        let (status, value) = self
            .call(
                "rita",
                Method::PUT,
                &format!("/api/v1/releases/{release}/approval-rules"),
                Some(json!({ "rules": rules })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{value}");
    }

    async fn gonogo(&self, release: &str) -> Value {
        let (status, value) = self
            .call(
                "viewer",
                Method::GET,
                &format!("/api/v1/releases/{release}/gonogo"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{value}");
        value
    }
}

fn sign(decision: &str, reason: Option<&str>) -> Option<Value> {
    Some(match reason {
        Some(reason) => json!({ "decision": decision, "reason": reason }),
        None => json!({ "decision": decision }),
    })
}

#[tokio::test]
async fn the_checklist_endpoint_lists_the_seed_items_with_owners_and_due_dates() {
    let h = Harness::new().await;
    let (status, value) = h
        .call("viewer", Method::GET, "/api/v1/releases/r1/checklist", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["template"], "standard");
    assert_eq!(value["builtin"], true);
    let design = value["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == "design-qa")
        .expect("design QA item");
    assert_eq!(design["owner"], "ux-designer");
    assert_eq!(design["due"], "2030-02-22");
    assert_eq!(design["dueOffset"], "-7d");
    assert_eq!(design["state"], "open");
    let (status, value) = h
        .call("viewer", Method::GET, "/api/v1/releases/r2/checklist", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{value}");
}

#[tokio::test]
async fn items_are_ticked_by_their_owner_role_or_the_release_manager_only() {
    let h = Harness::new().await;
    let path = "/api/v1/releases/r1/checklist/design-qa/check";
    // sam holds support-liaison, not ux-designer: the rule refuses (422).
    let (status, value) = h.call("sam", Method::POST, path, Some(json!({}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    assert!(
        value["detail"]
            .as_str()
            .expect("detail")
            .contains("owned by role ux-designer")
    );
    // A viewer is not a member at all (403), and the attempt is audited like any refusal.
    let (status, value) = h.call("viewer", Method::POST, path, Some(json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{value}");
    let (status, audit) = h
        .call("admin", Method::GET, "/api/v1/audit?release=r1", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    assert!(
        audit["refusals"]
            .as_array()
            .is_some_and(|all| all.iter().any(|r| r["actor"] == "viewer"
                && r["kind"] == "denied"
                && r["command"] == "check item design-qa of release r1")),
        "{audit:#}"
    );
    // uma holds the role.
    let (status, value) = h
        .call(
            "uma",
            Method::POST,
            path,
            Some(json!({ "note": "Figma review done" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    let item = value["resource"]["checklist"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == "design-qa")
        .expect("listed")
        .clone();
    assert_eq!(item["state"], "done");
    assert_eq!(item["checkedBy"], "uma");
    assert_eq!(item["checkedAt"], "2030-02-20T10:00:00Z");
    assert_eq!(item["note"], "Figma review done");
    // The release manager may tick anything; an unknown item gets a suggestion (404).
    let (status, _) = h
        .call(
            "rita",
            Method::POST,
            "/api/v1/releases/r1/checklist/support-docs/check",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, value) = h
        .call(
            "rita",
            Method::POST,
            "/api/v1/releases/r1/checklist/suport-docs/check",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{value}");
    assert!(
        value["detail"]
            .as_str()
            .expect("detail")
            .contains("did you mean `support-docs`")
    );
}

#[tokio::test]
async fn only_release_managers_set_rules_and_request_go_no_go() {
    let h = Harness::new().await;
    let rules = json!({ "rules": [{ "role": "security" }] });
    let (status, value) = h
        .call(
            "sid",
            Method::PUT,
            "/api/v1/releases/r1/approval-rules",
            Some(rules.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{value}");
    assert_eq!(
        value["type"].as_str().map(|t| t.rsplit('/').next()),
        Some(Some("forbidden")),
        "{value}"
    );
    let (status, value) = h
        .call(
            "sid",
            Method::POST,
            "/api/v1/releases/r1/gonogo/request",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{value}");
    let (status, value) = h
        .call(
            "rita",
            Method::PUT,
            "/api/v1/releases/r1/approval-rules",
            Some(rules),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    let (status, value) = h
        .call(
            "rita",
            Method::POST,
            "/api/v1/releases/r1/gonogo/request",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["resource"]["signoffs"]["requestedBy"], "rita");
}

#[tokio::test]
async fn rules_that_could_deadlock_or_name_unknown_people_are_refused() {
    let h = Harness::new().await;
    let put = |rules: Value| {
        h.call(
            "rita",
            Method::PUT,
            "/api/v1/releases/r1/approval-rules",
            Some(json!({ "rules": rules })),
        )
    };
    let (status, value) = put(json!([{ "role": "security", "quorum": 2 }])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    assert!(
        value["detail"]
            .as_str()
            .expect("detail")
            .contains("can never be met"),
        "{value}"
    );
    let (status, value) = put(json!([{ "people": ["sidd"] }])).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{value}");
    assert!(
        value["detail"]
            .as_str()
            .expect("detail")
            .contains("did you mean `sid`"),
        "{value}"
    );
    let (status, value) = put(json!([{ "role": "securty" }])).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    assert_eq!(value["field"], "rules[0].role");
    assert!(
        value["detail"]
            .as_str()
            .expect("detail")
            .contains("did you mean `security`"),
        "{value}"
    );
}

#[tokio::test]
async fn only_the_named_approver_signs_for_themself_and_a_rejection_blocks() {
    let h = Harness::new().await;
    h.rules(
        "r1",
        json!([{ "role": "security" }, { "people": ["sam", "uma"], "quorum": 1 }]),
    )
    .await;
    let (status, _) = h
        .call(
            "rita",
            Method::POST,
            "/api/v1/releases/r1/gonogo/request",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // mike is not a named approver (422); the admin cannot sign for anyone (403).
    let (status, value) = h
        .call(
            "mike",
            Method::POST,
            "/api/v1/releases/r1/signoffs",
            sign("approve", None),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    assert!(
        value["detail"]
            .as_str()
            .expect("detail")
            .contains("not a named approver")
    );
    let (status, _) = h
        .call(
            "admin",
            Method::POST,
            "/api/v1/releases/r1/signoffs",
            sign("approve", None),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Nobody withdraws someone else's sign-off.
    let (status, _) = h
        .call(
            "sam",
            Method::DELETE,
            "/api/v1/releases/r1/signoffs/sid",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A rejection needs a reason.
    let (status, value) = h
        .call(
            "sid",
            Method::POST,
            "/api/v1/releases/r1/signoffs",
            sign("reject", None),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    assert_eq!(value["field"], "reason");

    let (status, _) = h
        .call(
            "sid",
            Method::POST,
            "/api/v1/releases/r1/signoffs",
            sign("reject", Some("pen test finding CVE-1 open")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = h
        .call(
            "sam",
            Method::POST,
            "/api/v1/releases/r1/signoffs",
            sign("approve", None),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let verdict = h.gonogo("r1").await;
    assert_eq!(verdict["verdict"], "no-go");
    let reasons = verdict["reasons"].to_string();
    assert!(
        reasons.contains(
            "sign-offs: sid rejected at 2030-02-20T10:00:00Z: pen test finding CVE-1 open"
        ),
        "{reasons}"
    );
    assert_eq!(verdict["signoffs"]["rejections"][0]["by"], "sid");
    assert_eq!(verdict["path"], "standard");

    // sid withdraws: the rejection stops blocking, security still needs an approval.
    let (status, _) = h
        .call(
            "sid",
            Method::DELETE,
            "/api/v1/releases/r1/signoffs/sid",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let verdict = h.gonogo("r1").await;
    let signoffs = verdict["criteria"]
        .as_array()
        .expect("criteria")
        .iter()
        .find(|c| c["id"] == "sign-offs")
        .expect("sign-offs criterion")
        .clone();
    assert_eq!(signoffs["status"], "missing", "{signoffs}");
    assert_eq!(
        signoffs["missing"],
        json!(["1 approval from role security: 1 more needed (eligible: sid)"])
    );
    let (status, _) = h
        .call(
            "sid",
            Method::POST,
            "/api/v1/releases/r1/signoffs",
            sign("approve", None),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let verdict = h.gonogo("r1").await;
    let signoffs = verdict["criteria"]
        .as_array()
        .expect("criteria")
        .iter()
        .find(|c| c["id"] == "sign-offs")
        .expect("sign-offs criterion")
        .clone();
    assert_eq!(signoffs["status"], "met", "{signoffs}");
}

#[tokio::test]
async fn the_requester_cannot_approve_the_hotfix_it_requested() {
    let h = Harness::new().await;
    h.rules(
        "hot",
        json!([{ "people": ["rita", "sid", "mike"], "quorum": 2 }]),
    )
    .await;
    let (status, _) = h
        .call(
            "rita",
            Method::POST,
            "/api/v1/releases/hot/gonogo/request",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, value) = h
        .call(
            "rita",
            Method::POST,
            "/api/v1/releases/hot/signoffs",
            sign("approve", None),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    assert!(
        value["detail"]
            .as_str()
            .expect("detail")
            .contains("no self-approval")
    );
    for user in ["sid", "mike"] {
        let (status, value) = h
            .call(
                user,
                Method::POST,
                "/api/v1/releases/hot/signoffs",
                sign("approve", None),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{value}");
    }
    let verdict = h.gonogo("hot").await;
    assert_eq!(verdict["path"], "expedited");
    assert_eq!(verdict["signoffs"]["requestedOnExpeditedPath"], true);
    assert_eq!(verdict["checklist"]["template"], "expedited");
    assert_eq!(
        verdict["signoffs"]["rules"][0]["approvedBy"],
        json!(["mike", "sid"])
    );
}

#[tokio::test]
async fn sign_offs_honour_if_match_and_idempotency_keys() {
    let h = Harness::new().await;
    h.rules("r1", json!([{ "role": "security" }])).await;
    let (_, headers, _) = h
        .send(h.request(
            "rita",
            Method::POST,
            "/api/v1/releases/r1/gonogo/request",
            None,
            &[],
        ))
        .await;
    let etag = headers
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok())
        .expect("etag")
        .to_owned();
    let (status, _, value) = h
        .send(h.request(
            "sid",
            Method::POST,
            "/api/v1/releases/r1/signoffs",
            sign("approve", None),
            &[("if-match", "\"1\"")],
        ))
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{value}");
    let key = [
        ("idempotency-key", "sid-approves-r1"),
        ("if-match", etag.as_str()),
    ];
    let (status, _, first) = h
        .send(h.request(
            "sid",
            Method::POST,
            "/api/v1/releases/r1/signoffs",
            sign("approve", None),
            &key,
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, headers, replay) = h
        .send(h.request(
            "sid",
            Method::POST,
            "/api/v1/releases/r1/signoffs",
            sign("approve", None),
            &key,
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        headers.get("idempotent-replayed").map(|v| v.as_bytes()),
        Some(&b"true"[..])
    );
    assert_eq!(replay, first);
}

#[tokio::test]
async fn the_release_page_shows_checklist_progress_and_sign_offs() {
    let h = Harness::new().await;
    h.rules("r1", json!([{ "role": "security" }])).await;
    h.call(
        "rita",
        Method::POST,
        "/api/v1/releases/r1/gonogo/request",
        None,
    )
    .await;
    h.call(
        "sid",
        Method::POST,
        "/api/v1/releases/r1/signoffs",
        sign("reject", Some("<script>no</script>")),
    )
    .await;
    h.call(
        "uma",
        Method::POST,
        "/api/v1/releases/r1/checklist/design-qa/check",
        Some(json!({})),
    )
    .await;
    let (status, _, page) = h
        .send(h.request("viewer", Method::GET, "/releases/r1", None, &[]))
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().expect("html").to_owned();
    assert!(page.contains(r#"data-checklist="standard""#), "{page}");
    assert!(
        page.contains(r#"<tr data-checklist-item="design-qa" data-state="done">"#),
        "{page}"
    );
    // Due dates say how far from the release day, in words; the go/no-go lists one line
    // per criterion with its findings folded beneath.
    assert!(page.contains("d before release</span>"), "{page}");
    assert!(
        page.contains(r#"<li data-criterion="sign-offs" data-status="failed"><details><summary>"#),
        "{page}"
    );
    assert!(page.contains(r#"data-requested-by="rita""#), "{page}");
    assert!(page.contains(r#"data-rejected-by="sid""#), "{page}");
    assert!(
        page.contains("&lt;script&gt;no&lt;/script&gt;"),
        "escaped reason"
    );
    assert!(!page.contains("<script>no</script>"));
    assert!(page.contains(r#"<svg class="progress""#), "{page}");
}

#[tokio::test]
async fn openapi_documents_the_checklist_routes() {
    let h = Harness::new().await;
    let (status, value) = h
        .call("viewer", Method::GET, "/api/v1/openapi.json", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let paths = value["paths"].as_object().expect("paths");
    for (method, path) in [
        ("get", "/api/v1/releases/{name}/checklist"),
        ("post", "/api/v1/releases/{name}/checklist/{item}/check"),
        ("put", "/api/v1/releases/{name}/approval-rules"),
        ("post", "/api/v1/releases/{name}/gonogo/request"),
        ("post", "/api/v1/releases/{name}/signoffs"),
        ("delete", "/api/v1/releases/{name}/signoffs/{person}"),
        ("get", "/api/v1/checklist-templates"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn a_sign_off_round_trips_over_a_real_socket() {
    let h = Harness::new().await;
    h.rules("r1", json!([{ "role": "security" }])).await;
    h.call(
        "rita",
        Method::POST,
        "/api/v1/releases/r1/gonogo/request",
        None,
    )
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let server = tokio::spawn(lockstep_server::serve(
        listener,
        h.app.clone(),
        std::future::pending(),
    ));
    let client = reqwest::Client::new();
    let response = client
        .post(format!("http://{address}/api/v1/releases/r1/signoffs"))
        .bearer_auth(&h.tokens["sid"])
        .header("content-type", "application/json")
        .body(json!({ "decision": "approve" }).to_string())
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status().as_u16(), 201);
    let body = client
        .get(format!("http://{address}/api/v1/releases/r1/gonogo"))
        .bearer_auth(&h.tokens["viewer"])
        .send()
        .await
        .expect("request sent")
        .text()
        .await
        .expect("body");
    let verdict: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(verdict["signoffs"]["approvals"][0]["by"], "sid");
    server.abort();
}
