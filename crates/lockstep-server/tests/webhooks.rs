//! Signals in through the router: the real GitHub and GitLab payloads of
//! `../shared/fixtures/webhooks/` (read from there, signed here), replays, bad
//! signatures, malformed bodies, and the generic `POST /api/v1/signals`.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::{add_users, application, config, name};
use lockstep_core::{
    CiConclusion, Command, ComponentSpec, EnvironmentSpec, ItemSpec, ReleaseSpec, SignalKind,
    SignalReading, TeamSpec, Tier,
};
use lockstep_server::signals::github_signature;
use lockstep_server::{AppState, Clock, Config, WebhookSecrets};
use serde_json::{Value, json};

const GITHUB_SECRET: &str = "It's a Secret to Everybody";
const GITLAB_TOKEN: &str = "gitlab-shared-token";

/// The shared fixtures: `LOCKSTEP_WEBHOOK_FIXTURES`, or `../shared/fixtures/webhooks`
/// beside the repository.
fn fixture(relative: &str) -> Vec<u8> {
    let root = std::env::var_os("LOCKSTEP_WEBHOOK_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/webhooks")
        });
    let path = root.join(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

fn component(repository: &str) -> ComponentSpec {
    ComponentSpec {
        title: None,
        team: name("api"),
        repository: Some(repository.to_owned()),
        labels: Default::default(),
        depends_on: Vec::new(),
    }
}

struct Harness {
    app: Arc<AppState>,
    admin: String,
    viewer: String,
}

impl Harness {
    async fn new() -> Harness {
        let now: jiff::Timestamp = "2030-01-10T10:00:00Z".parse().expect("valid instant");
        let commands = vec![
            Command::DefineTeam {
                team: name("api"),
                spec: TeamSpec {
                    title: None,
                    time_zone: "UTC".to_owned(),
                    working_hours: Default::default(),
                    holidays: Vec::new(),
                    members: Vec::new(),
                    on_call: None,
                    labels: Default::default(),
                },
            },
            Command::DefineComponent {
                component: name("analytics-api"),
                spec: component("github.com/octo-org/octo-repo"),
            },
            Command::DefineComponent {
                component: name("hello-world"),
                spec: component("https://github.com/Codertocat/Hello-World"),
            },
            Command::DefineComponent {
                component: name("gitlab-test"),
                spec: component("http://192.168.64.1:3005/gitlab-org/gitlab-test"),
            },
            Command::DefineRelease {
                release: name("r1"),
                spec: ReleaseSpec {
                    title: None,
                    kind: Default::default(),
                    version: None,
                    target_date: "2030-03-01".parse().expect("date"),
                    feature_freeze: None,
                    code_freeze: None,
                    manager: None,
                    milestones: Vec::new(),
                    deployment: None,
                    labels: Default::default(),
                },
            },
            Command::DefineItem {
                item: name("endpoints"),
                release: name("r1"),
                spec: ItemSpec {
                    title: "Endpoints".to_owned(),
                    team: name("api"),
                    component: Some(name("analytics-api")),
                    acceptance_criteria: Vec::new(),
                    labels: Vec::new(),
                    due: None,
                    estimate: None,
                    uses: Default::default(),
                    pinned_start: None,
                },
            },
            Command::DefineEnvironment {
                environment: name("staging"),
                spec: EnvironmentSpec {
                    deploy_windows: Vec::new(),
                    title: None,
                    tier: Tier::Staging,
                    labels: Default::default(),
                },
            },
        ];
        let config = Config {
            webhooks: WebhookSecrets {
                github: Some(GITHUB_SECRET.to_owned()),
                gitlab: Some(GITLAB_TOKEN.to_owned()),
            },
            ..config(Clock::fixed(now))
        };
        let app = application(commands, now, config).await;
        let tokens = add_users(&app, &[("admin", None, true), ("viewer", None, false)]).await;
        let token = |user: &str| tokens.get(user).cloned().expect("token");
        let (admin, viewer) = (token("admin"), token("viewer"));
        Harness { app, admin, viewer }
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let (status, _, value) = common::send(&self.app, request).await;
        (status, value)
    }

    async fn github(&self, event: &str, delivery: &str, body: Vec<u8>) -> (StatusCode, Value) {
        let signature = github_signature(GITHUB_SECRET, &body);
        self.github_signed(event, delivery, body, Some(&signature))
            .await
    }

    async fn github_signed(
        &self,
        event: &str,
        delivery: &str,
        body: Vec<u8>,
        signature: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut builder = Request::post("/api/v1/webhooks/github")
            .header(header::CONTENT_TYPE, "application/json")
            .header("X-GitHub-Event", event)
            .header("X-GitHub-Delivery", delivery);
        if let Some(signature) = signature {
            builder = builder.header("X-Hub-Signature-256", signature);
        }
        self.send(builder.body(Body::from(body)).expect("request builds"))
            .await
    }

    async fn gitlab(
        &self,
        event: &str,
        delivery: &str,
        token: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        let request = Request::post("/api/v1/webhooks/gitlab")
            .header(header::CONTENT_TYPE, "application/json")
            .header("X-Gitlab-Event", event)
            .header("X-Gitlab-Event-UUID", delivery)
            .header("X-Gitlab-Token", token)
            .body(Body::from(body))
            .expect("request builds");
        self.send(request).await
    }

    async fn signal(&self, token: &str, body: Value) -> (StatusCode, Value) {
        let request = Request::post("/api/v1/signals")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request builds");
        self.send(request).await
    }

    async fn latest(&self, component: &str, kind: SignalKind) -> Option<SignalReading> {
        let state = self.app.state().await;
        state
            .signals_of(&name(component))
            .find(|s| s.reading.kind() == kind)
            .map(|s| s.reading.clone())
    }

    /// `VERSION by WHO` of what runs of `component` in `environment`.
    async fn deployed(&self, environment: &str, component: &str) -> Option<String> {
        let state = self.app.state().await;
        state
            .contracts()
            .deployed_in(&name(environment), &name(component))
            .map(|d| format!("{} by {}", d.version.as_str(), d.by))
    }

    async fn position(&self) -> i64 {
        self.app.state().await.position()
    }
}

#[tokio::test]
async fn a_signed_workflow_run_is_recorded_for_the_component_of_its_repository() {
    let h = Harness::new().await;
    let body = fixture("github/workflow_run.completed.payload.json");
    let (status, value) = h.github("workflow_run", "d-1", body).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["recorded"], true);
    let Some(SignalReading::Ci {
        conclusion, branch, ..
    }) = h.latest("analytics-api", SignalKind::Ci).await
    else {
        panic!("no CI signal recorded");
    };
    assert_eq!(conclusion, CiConclusion::Success);
    assert_eq!(branch.as_deref(), Some("master"));
}

#[tokio::test]
async fn a_replayed_delivery_answers_ok_and_changes_nothing() {
    let h = Harness::new().await;
    let body = fixture("github/workflow_run.completed.payload.json");
    h.github("workflow_run", "d-1", body.clone()).await;
    let before = h.position().await;
    let (status, value) = h.github("workflow_run", "d-1", body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(value["recorded"], false);
    assert_eq!(h.position().await, before);
}

#[tokio::test]
async fn refuses_unsigned_and_badly_signed_deliveries() {
    let h = Harness::new().await;
    let body = fixture("github/workflow_run.completed.payload.json");
    let (status, value) = h
        .github_signed("workflow_run", "d-1", body.clone(), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        value["type"],
        "https://lockstep.dev/problems/unauthenticated"
    );
    let forged = github_signature("another secret", &body);
    let (status, _) = h
        .github_signed("workflow_run", "d-1", body, Some(&forged))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.latest("analytics-api", SignalKind::Ci).await, None);
}

#[tokio::test]
async fn refuses_a_signed_body_that_is_not_json() {
    let h = Harness::new().await;
    let (status, _) = h.github("workflow_run", "d-1", b"{not json".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn refuses_a_delivery_for_a_repository_no_component_has() {
    let h = Harness::new().await;
    let mut payload: Value =
        serde_json::from_slice(&fixture("github/workflow_run.completed.payload.json"))
            .expect("fixture is JSON");
    payload["repository"]["html_url"] = json!("https://github.com/acme/unknown");
    let body = serde_json::to_vec(&payload).expect("serializes");
    let (status, value) = h.github("workflow_run", "d-1", body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
}

#[tokio::test]
async fn refuses_an_older_run_after_a_newer_one() {
    let h = Harness::new().await;
    h.github(
        "workflow_run",
        "d-2",
        fixture("github/workflow_run.completed.payload.json"),
    )
    .await;
    // The requested event of the same run was observed 25 s before it completed.
    let (status, value) = h
        .github(
            "workflow_run",
            "d-1",
            fixture("github/workflow_run.requested.payload.json"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
}

#[tokio::test]
async fn every_handled_github_event_of_the_fixtures_is_accepted() {
    let h = Harness::new().await;
    let cases = [
        ("check_suite", "check_suite.completed", true),
        ("check_run", "check_run.completed", true),
        ("deployment_status", "deployment_status", false),
        ("release", "release.published", false),
        ("pull_request", "pull_request.opened", false),
        ("issues", "issues.opened", true),
        ("ping", "ping", false),
    ];
    for (idx, (event, file, recorded)) in cases.into_iter().enumerate() {
        let body = fixture(&format!("github/{file}.payload.json"));
        let (status, value) = h.github(event, &format!("case-{idx}"), body).await;
        assert_eq!(status, StatusCode::OK, "{file}: {value}");
        assert_eq!(value["recorded"], recorded, "{file}: {value}");
    }
    let (status, _) = h
        .github("push", "push-1", fixture("github/push.payload.json"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_gitlab_pipeline_with_the_token_is_recorded() {
    let h = Harness::new().await;
    let (status, value) = h
        .gitlab(
            "Pipeline Hook",
            "g-1",
            GITLAB_TOKEN,
            fixture("gitlab/pipeline.json"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["recorded"], true);
    assert!(matches!(
        h.latest("gitlab-test", SignalKind::Ci).await,
        Some(SignalReading::Ci {
            conclusion: CiConclusion::Success,
            ..
        })
    ));
    // The issue fixture carries GitLab's own severity field (high); its project is
    // another one, so point it at the component's repository.
    let mut issue: Value =
        serde_json::from_slice(&fixture("gitlab/issue.json")).expect("fixture is JSON");
    issue["project"]["web_url"] = json!("http://192.168.64.1:3005/gitlab-org/gitlab-test");
    let (status, value) = h
        .gitlab(
            "Issue Hook",
            "g-issue",
            GITLAB_TOKEN,
            serde_json::to_vec(&issue).expect("serializes"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["recorded"], true, "{value}");
    assert!(
        matches!(
            h.latest("gitlab-test", SignalKind::Issue).await,
            Some(SignalReading::Issue {
                number: 23,
                open: true,
                severity: Some(lockstep_core::IssueSeverity::High),
                ..
            })
        ),
        "{:?}",
        h.latest("gitlab-test", SignalKind::Issue).await
    );
    let (status, value) = h
        .gitlab(
            "Merge Request Hook",
            "g-mr",
            GITLAB_TOKEN,
            fixture("gitlab/merge_request.json"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["recorded"], false, "{value}");
    // A successful deployment of tag 1.0.0 to staging, pointed at the component's project.
    let mut deployment: Value =
        serde_json::from_slice(&fixture("gitlab/deployment.json")).expect("fixture is JSON");
    deployment["project"]["web_url"] = json!("http://192.168.64.1:3005/gitlab-org/gitlab-test");
    let (status, value) = h
        .gitlab(
            "Deployment Hook",
            "g-deploy",
            GITLAB_TOKEN,
            serde_json::to_vec(&deployment).expect("serializes"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["recorded"], true, "{value}");
    assert_eq!(
        h.deployed("staging", "gitlab-test").await.as_deref(),
        Some("1.0.0 by webhook:gitlab")
    );
}

#[tokio::test]
async fn a_successful_github_deployment_records_the_version_now_running() {
    let h = Harness::new().await;
    let mut deployment: Value =
        serde_json::from_slice(&fixture("github/deployment_status.payload.json"))
            .expect("fixture is JSON");
    let mut send = async |delivery: &str, edit: &dyn Fn(&mut Value)| {
        edit(&mut deployment);
        h.github(
            "deployment_status",
            delivery,
            serde_json::to_vec(&deployment).expect("serializes"),
        )
        .await
    };
    // The fixture deploys branch `master` to production: no version, no such environment.
    let (status, value) = send("d-0", &|_| {}).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["recorded"], false);
    assert!(
        value["reason"]
            .as_str()
            .is_some_and(|r| r.contains("`master` is not a version")),
        "{value}"
    );
    let (_, value) = send("d-1", &|d| {
        d["deployment"]["ref"] = json!("v2.3.0");
        d["deployment_status"]["environment"] = json!("preview-42");
    })
    .await;
    assert!(
        value["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no environment `preview-42`")),
        "{value}"
    );
    let (_, value) = send("d-2", &|d| {
        d["deployment_status"]["environment"] = json!("staging");
    })
    .await;
    assert_eq!(value["recorded"], true, "{value}");
    assert_eq!(
        h.deployed("staging", "hello-world").await.as_deref(),
        Some("2.3.0 by webhook:github")
    );
    // The same deployment again records nothing; a failed one neither.
    let (_, value) = send("d-3", &|_| {}).await;
    assert_eq!(value["recorded"], false, "{value}");
    let (_, value) = send("d-4", &|d| {
        d["deployment"]["ref"] = json!("v2.4.0");
        d["deployment_status"]["state"] = json!("failure");
    })
    .await;
    assert_eq!(value["recorded"], false, "{value}");
    // A version named in the deployment's payload wins over its ref (a commit here).
    let (_, value) = send("d-5", &|d| {
        d["deployment"]["ref"] = json!("0a1b2c3d");
        d["deployment"]["payload"] = json!({ "version": "2.4.1" });
        d["deployment_status"]["state"] = json!("success");
    })
    .await;
    assert_eq!(value["recorded"], true, "{value}");
    assert_eq!(
        h.deployed("staging", "hello-world").await.as_deref(),
        Some("2.4.1 by webhook:github")
    );
    // An older deployment delivered late (a redelivery) does not move the version back.
    let (_, value) = send("d-6", &|d| {
        d["deployment"]["payload"] = json!({ "version": "2.3.5" });
        d["deployment_status"]["updated_at"] = json!("2019-05-15T15:00:00Z");
    })
    .await;
    assert_eq!(value["recorded"], false, "{value}");
    assert!(
        value["reason"].as_str().is_some_and(|r| r.contains(
            "2.3.5 (2019-05-15T15:00:00Z) is older than the one recorded for hello-world in staging (2.4.1 at 2019-05-15T15:20:55Z)"
        )),
        "{value}"
    );
    let (_, value) = send("d-7", &|d| {
        d["deployment"]["payload"] = json!({ "version": "2.5.0" });
        d["deployment_status"]["updated_at"] = json!("2019-05-16T09:00:00Z");
    })
    .await;
    assert_eq!(value["recorded"], true, "{value}");
    assert_eq!(
        h.deployed("staging", "hello-world").await.as_deref(),
        Some("2.5.0 by webhook:github")
    );
}

#[tokio::test]
async fn refuses_a_gitlab_delivery_with_a_wrong_token() {
    let h = Harness::new().await;
    let (status, _) = h
        .gitlab(
            "Pipeline Hook",
            "g-1",
            "guess",
            fixture("gitlab/pipeline.json"),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.latest("gitlab-test", SignalKind::Ci).await, None);
}

#[tokio::test]
async fn the_generic_endpoint_records_a_signal_as_the_caller() {
    let h = Harness::new().await;
    let body = json!({
        "component": "analytics-api",
        "environment": "staging",
        "delivery": "smoke-1",
        "observedAt": "2030-01-10T09:00:00Z",
        "reading": { "kind": "smoke-test", "passed": false, "failed": 2 },
    });
    let (status, value) = h.signal(&h.viewer.clone(), body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{value}");
    let (status, value) = h.signal(&h.admin.clone(), body).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["recorded"], true);
    let (status, value) = h
        .signal(
            &h.admin.clone(),
            json!({
                "component": "analytics-apj",
                "delivery": "x",
                "observedAt": "2030-01-10T09:00:00Z",
                "reading": { "kind": "bugs", "critical": 1, "high": 0 },
            }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{value}");
    assert!(
        value["detail"]
            .as_str()
            .is_some_and(|d| d.contains("did you mean `analytics-api`")),
        "{value}"
    );
}

#[tokio::test]
async fn the_gonogo_endpoint_answers_the_verdict_or_404() {
    let h = Harness::new().await;
    let get = |path: &str| {
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", h.viewer))
            .body(Body::empty())
            .expect("request builds")
    };
    let (status, value) = h.send(get("/api/v1/releases/q1/gonogo")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{value}");
    let (status, _) = h
        .send(
            Request::get("/api/v1/releases/q1/gonogo")
                .body(Body::empty())
                .expect("request builds"),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_failing_workflow_run_shows_in_the_verdict_and_on_the_release_page() {
    let h = Harness::new().await;
    let mut payload: Value =
        serde_json::from_slice(&fixture("github/workflow_run.completed.payload.json"))
            .expect("fixture is JSON");
    payload["workflow_run"]["conclusion"] = json!("failure");
    let body = serde_json::to_vec(&payload).expect("serializes");
    let (status, value) = h.github("workflow_run", "d-9", body).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    let get = |path: &str| {
        Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", h.viewer))
            .body(Body::empty())
            .expect("request builds")
    };
    let (status, verdict) = h.send(get("/api/v1/releases/r1/gonogo")).await;
    assert_eq!(status, StatusCode::OK, "{verdict}");
    assert_eq!(verdict["verdict"], "no-go");
    let ci = &verdict["criteria"][0];
    assert_eq!(ci["id"], "ci-green");
    assert_eq!(ci["status"], "failed");
    assert!(
        ci["evidence"][0]
            .as_str()
            .is_some_and(|e| e.contains("from github, delivery github:d-9")),
        "{ci}"
    );
    let (status, page) = h.send(get("/releases/r1")).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().expect("HTML");
    assert!(
        page.contains(r#"data-criterion="ci-green" data-status="failed""#),
        "{page}"
    );
}

#[tokio::test]
async fn an_open_p0_issue_blocks_the_release_until_it_is_closed() {
    let h = Harness::new().await;
    let mut payload: Value = serde_json::from_slice(&fixture("github/issues.labeled.payload.json"))
        .expect("fixture is JSON");
    payload["repository"]["html_url"] = json!("https://github.com/octo-org/octo-repo");
    payload["issue"]["number"] = json!(7);
    payload["issue"]["title"] = json!("Checkout returns 500");
    payload["issue"]["labels"] = json!([{"name": "bug"}, {"name": "priority: P0"}]);
    let send = |payload: &Value| serde_json::to_vec(payload).expect("serializes");
    let (status, value) = h.github("issues", "issue-7-labeled", send(&payload)).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    let gonogo = || async {
        let request = Request::get("/api/v1/releases/r1/gonogo")
            .header(header::AUTHORIZATION, format!("Bearer {}", h.viewer))
            .body(Body::empty())
            .expect("request builds");
        let (status, verdict) = h.send(request).await;
        assert_eq!(status, StatusCode::OK, "{verdict}");
        verdict["criteria"]
            .as_array()
            .expect("criteria")
            .iter()
            .find(|c| c["id"] == "no-blocking-bugs")
            .expect("the bugs criterion")
            .clone()
    };
    let bugs = gonogo().await;
    assert_eq!(bugs["status"], "failed", "{bugs}");
    assert!(
        bugs["missing"]
            .to_string()
            .contains("issue #7 Checkout returns 500 (critical) is open"),
        "{bugs}"
    );
    // Closing it (a later delivery) lifts the block; the issue stays on record.
    payload["action"] = json!("closed");
    payload["issue"]["state"] = json!("closed");
    payload["issue"]["updated_at"] = json!("2030-01-02T00:00:00Z");
    let (status, value) = h.github("issues", "issue-7-closed", send(&payload)).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    let bugs = gonogo().await;
    assert_eq!(bugs["status"], "met", "{bugs}");
    assert!(
        bugs["evidence"]
            .to_string()
            .contains("1 tracked issue(s) from webhooks, 0 open"),
        "{bugs}"
    );
}

#[tokio::test]
async fn an_oversized_delivery_is_a_413_problem_document() {
    let h = Harness::new().await;
    let body = format!(r#"{{"padding": "{}"}}"#, "x".repeat(300 * 1024)).into_bytes();
    let (status, value) = h.github("workflow_run", "big-1", body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{value}");
    assert_eq!(
        value["type"], "https://lockstep.dev/problems/payload-too-large",
        "{value}"
    );
}
