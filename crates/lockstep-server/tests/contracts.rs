//! Cross-team contracts over HTTP: interfaces with their matrix and impact, recording
//! contract tests and deployments, can-i-deploy, proposals reviewed by someone else, the
//! changelog, who may do what (refusals audited), bad input, `If-Match`, the Contracts
//! page, and a verification over a real socket.

mod common;

use axum::http::{Method, StatusCode, header};
use common::{Harness, SMALL_PROGRAM_USERS, name, request, send, small_program};
use lockstep_core::contract::{
    Compatibility, Consumer, InterfaceSpec, InterfaceType, InterfaceVersion, Version, VersionStatus,
};
use lockstep_core::{
    Command, ComponentSpec, DeploymentPlan, DeploymentStep, EnvironmentSpec, ReleaseSpec, Tier,
};
use serde_json::{Value, json};

fn component(team: &str) -> ComponentSpec {
    ComponentSpec {
        title: None,
        team: name(team),
        repository: None,
        labels: Default::default(),
        depends_on: Vec::new(),
    }
}

fn version(raw: &str, compatibility: Compatibility) -> InterfaceVersion {
    InterfaceVersion {
        version: Version::parse(raw).expect("valid version"),
        compatibility,
        changelog: Some(format!("What {raw} changed")),
        status: VersionStatus::Published,
    }
}

/// The small program (`common::small_program`) with components (analytics-api of api,
/// dashboard-ui of frontend), a production environment, r1's items on them with a
/// release-day plan, and the analytics API (api produces, the dashboard consumes) at
/// 1.0.0 and 1.1.0. The title holds markup that must come out escaped.
fn commands() -> Vec<Command> {
    let mut commands = small_program();
    commands.extend([
        Command::DefineComponent {
            component: name("analytics-api"),
            spec: component("api"),
        },
        Command::DefineComponent {
            component: name("dashboard-ui"),
            spec: component("frontend"),
        },
        Command::DefineEnvironment {
            environment: name("production"),
            spec: EnvironmentSpec {
                title: None,
                tier: Tier::Production,
                deploy_windows: Vec::new(),
                labels: Default::default(),
            },
        },
    ]);
    // r1 again, now with its release-day plan, and its items on the components.
    for command in &mut commands {
        match command {
            Command::DefineRelease { spec, .. } => {
                *spec = ReleaseSpec {
                    deployment: Some(DeploymentPlan {
                        environment: name("production"),
                        time_zone: "America/New_York".to_owned(),
                        steps: ["analytics-api", "dashboard-ui"]
                            .iter()
                            .zip([9, 10])
                            .map(|(component, hour)| DeploymentStep {
                                component: name(component),
                                at: jiff::civil::time(hour, 0, 0, 0),
                                title: None,
                                minutes: 30,
                                version: None,
                            })
                            .collect(),
                        verification: Vec::new(),
                        rollback_triggers: Vec::new(),
                    }),
                    ..spec.clone()
                }
            }
            Command::DefineItem { item, spec, .. } if item.as_str() == "api-endpoints" => {
                spec.component = Some(name("analytics-api"));
            }
            Command::DefineItem { item, spec, .. } if item.as_str() == "dashboard" => {
                spec.component = Some(name("dashboard-ui"));
            }
            _ => {}
        }
    }
    // The release refers to the environment and components: they come first.
    let (definitions, rest): (Vec<Command>, Vec<Command>) = commands.into_iter().partition(|c| {
        matches!(
            c,
            Command::DefineTeam { .. }
                | Command::DefineComponent { .. }
                | Command::DefineEnvironment { .. }
        )
    });
    let mut commands = definitions;
    commands.extend(rest);
    commands.push(Command::DefineInterface {
        interface: name("analytics-api"),
        spec: InterfaceSpec {
            title: Some("Analytics <b>API</b>".to_owned()),
            producer: name("api"),
            component: Some(name("analytics-api")),
            consumers: vec![Consumer::Component(name("dashboard-ui"))],
            kind: InterfaceType::Openapi,
            versions: vec![
                version("1.0.0", Compatibility::None),
                version("1.1.0", Compatibility::Backward),
            ],
            labels: Default::default(),
        },
    });
    commands
}

/// The common harness over the contracts fixture, with this file's shortcuts.
struct Contracts(Harness);

impl std::ops::Deref for Contracts {
    type Target = Harness;

    fn deref(&self) -> &Harness {
        &self.0
    }
}

impl Contracts {
    async fn new() -> Contracts {
        Contracts(Harness::start(commands(), &SMALL_PROGRAM_USERS, "2030-01-10T10:00:00Z").await)
    }

    async fn get(&self, path: &str) -> Value {
        let (status, _, value) = self.call("viewer", Method::GET, path, None, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}: {value}");
        value
    }

    async fn can_i_deploy(&self, component: &str, version: &str) -> Value {
        self.get(&format!(
            "/api/v1/can-i-deploy?component={component}&version={version}&environment=production"
        ))
        .await
    }

    async fn deploy(&self, user: &str, component: &str, version: &str) -> StatusCode {
        let (status, _, value) = self
            .call(
                user,
                Method::POST,
                "/api/v1/environments/production/deployments",
                Some(json!({ "component": component, "version": version })),
                &[],
            )
            .await;
        assert!(status.is_success() || status.is_client_error(), "{value}");
        status
    }
}

fn verification(result: &str, provider: &str) -> Option<Value> {
    Some(json!({
        "version": "1.1.0",
        "consumer": "dashboard-ui",
        "consumerVersion": "3.2.0",
        "providerVersion": provider,
        "result": result,
        "link": "https://ci.example.com/runs/42",
    }))
}

#[tokio::test]
async fn interfaces_are_listed_and_got_with_their_consumers_matrix_and_etag() {
    let h = Contracts::new().await;
    let list = h.get("/api/v1/interfaces").await;
    assert_eq!(list["items"][0]["name"], "analytics-api");
    assert_eq!(list["items"][0]["latestPublished"], "1.1.0");
    assert_eq!(list["items"][0]["spec"]["type"], "openapi");
    assert_eq!(
        list["items"][0]["consumerComponents"],
        json!(["dashboard-ui"])
    );
    let filtered = h.get("/api/v1/interfaces?consumer=frontend").await;
    assert_eq!(filtered["items"].as_array().map(Vec::len), Some(1));
    let filtered = h.get("/api/v1/interfaces?producer=frontend").await;
    assert_eq!(filtered["items"].as_array().map(Vec::len), Some(0));
    let (status, headers, _) = h
        .call(
            "viewer",
            Method::GET,
            "/api/v1/interfaces/analytics-api",
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers.get(header::ETAG).and_then(|v| v.to_str().ok()),
        Some("\"1\"")
    );
    let (status, _, value) = h
        .call(
            "viewer",
            Method::GET,
            "/api/v1/interfaces/nothing",
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{value}");
    let (status, _, value) = h
        .call(
            "viewer",
            Method::GET,
            "/api/v1/interfaces?team=api",
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{value}");
}

#[tokio::test]
async fn can_i_deploy_says_no_with_reasons_until_the_pair_in_production_is_verified() {
    let h = Contracts::new().await;
    let answer = h.can_i_deploy("dashboard-ui", "3.2.0").await;
    assert_eq!(answer["deployable"], false);
    assert_eq!(
        answer["reasons"],
        json!([
            "analytics-api: provider analytics-api is not deployed in production: deploy it first"
        ])
    );
    // mike's team deploys the API; sarah may not record it for them.
    assert_eq!(
        h.deploy("sarah", "analytics-api", "1.1.4").await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.deploy("mike", "analytics-api", "1.1.4").await,
        StatusCode::OK
    );
    // A pipeline reporting an older deployment late changes nothing.
    let (status, _, late) = h
        .call(
            "mike",
            Method::POST,
            "/api/v1/environments/production/deployments",
            Some(json!({ "component": "analytics-api", "version": "1.1.3",
                "deployedAt": "2020-01-01T00:00:00Z" })),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{late}");
    assert_eq!(late["events"], json!([]), "{late}");
    let deployments = h.get("/api/v1/deployments?environment=production").await;
    assert_eq!(deployments["items"][0]["version"], "1.1.4");
    assert_eq!(deployments["items"][0]["by"], "mike");
    let answer = h.can_i_deploy("dashboard-ui", "3.2.0").await;
    assert_eq!(answer["deployable"], false);
    assert!(
        answer["reasons"][0]
            .as_str()
            .is_some_and(|r| r.contains("no contract test recorded")),
        "{answer}"
    );
    let path = "/api/v1/interfaces/analytics-api/verifications";
    let (status, _, value) = h
        .call(
            "sarah",
            Method::POST,
            path,
            verification("pass", "1.1.4"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{value}");
    assert_eq!(value["resource"]["verifications"][0]["by"], "sarah");
    assert_eq!(
        value["resource"]["matrix"][0]["versions"][1]["latest"]["result"],
        "pass"
    );
    let answer = h.can_i_deploy("dashboard-ui", "3.2.0").await;
    assert_eq!(answer["deployable"], true, "{answer}");
    assert_eq!(answer["checks"][0]["counterpartVersion"], "1.1.4");
    // The provider's next version has not been verified by the deployed consumer... which
    // is not deployed: nothing to break.
    let answer = h.can_i_deploy("analytics-api", "1.2.0").await;
    assert_eq!(answer["deployable"], true, "{answer}");
    assert_eq!(
        h.deploy("sarah", "dashboard-ui", "3.2.0").await,
        StatusCode::OK
    );
    let answer = h.can_i_deploy("analytics-api", "1.2.0").await;
    assert_eq!(answer["deployable"], false, "{answer}");
    // A later failure of the same pair says no again.
    let (status, _, value) = h
        .call(
            "mike",
            Method::POST,
            path,
            verification("fail", "1.1.4"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{value}");
    let answer = h.can_i_deploy("dashboard-ui", "3.2.0").await;
    assert_eq!(answer["deployable"], false, "{answer}");
}

#[tokio::test]
async fn can_i_deploy_refuses_missing_or_malformed_parameters_and_unknown_names() {
    let h = Contracts::new().await;
    for (path, expected) in [
        (
            "/api/v1/can-i-deploy?component=dashboard-ui&version=3.2.0",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/can-i-deploy?component=dashboard-ui&version=3%202&environment=production",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/can-i-deploy?component=Dashboard&version=1&environment=production",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/can-i-deploy?component=dashboard-ui&version=1&environment=production&x=1",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/v1/can-i-deploy?component=dashbord-ui&version=1&environment=production",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (status, _, value) = h.call("viewer", Method::GET, path, None, &[]).await;
        assert_eq!(status, expected, "{path}: {value}");
        assert!(value["detail"].is_string(), "{path}: {value}");
    }
}

#[tokio::test]
async fn bad_verifications_are_refused_with_what_and_where_and_nothing_is_recorded() {
    let h = Contracts::new().await;
    let path = "/api/v1/interfaces/analytics-api/verifications";
    let cases = [
        (
            json!({"version": "1.1", "consumer": "dashboard-ui", "consumerVersion": "3", "providerVersion": "1", "result": "pass"}),
            "version",
        ),
        (
            json!({"version": "1.1.0", "consumer": "dashboard-ui", "consumerVersion": "3", "providerVersion": "1", "result": "passed"}),
            "result",
        ),
        (
            json!({"version": "1.1.0", "consumer": "dashboard-ui", "consumerVersion": "3", "result": "pass"}),
            "providerVersion",
        ),
        (
            json!({"version": "9.0.0", "consumer": "dashboard-ui", "consumerVersion": "3", "providerVersion": "1", "result": "pass"}),
            "interface version",
        ),
        (
            json!({"version": "1.1.0", "consumer": "dashboard-ui", "consumerVersion": "3", "providerVersion": "1", "result": "pass", "link": "javascript:alert(1)"}),
            "link",
        ),
    ];
    for (body, mentions) in cases {
        let (status, _, value) = h
            .call("sarah", Method::POST, path, Some(body.clone()), &[])
            .await;
        assert!(status.is_client_error(), "{body}: {status} {value}");
        assert!(
            value.to_string().contains(mentions),
            "{body}: {value} should mention {mentions}"
        );
    }
    let (status, _, value) = h
        .call(
            "sarah",
            Method::POST,
            path,
            Some(json!({"version": "1.1.0", "extra": 1})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    let interface = h.get("/api/v1/interfaces/analytics-api").await;
    assert_eq!(interface["verifications"], json!([]));
    // A stale If-Match is 412; the current one is accepted.
    let (status, _, value) = h
        .call(
            "sarah",
            Method::POST,
            path,
            verification("pass", "1.1.4"),
            &[("if-match", "\"7\"")],
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{value}");
    let (status, _, value) = h
        .call(
            "sarah",
            Method::POST,
            path,
            verification("pass", "1.1.4"),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{value}");
}

#[tokio::test]
async fn a_proposal_shows_its_impact_and_is_approved_by_a_consumer_into_the_changelog() {
    let h = Contracts::new().await;
    let proposals = "/api/v1/interfaces/analytics-api/proposals";
    let body = json!({
        "version": "2.0.0",
        "compatibility": "breaking",
        "summary": "Cohort breakdown; `range` becomes required",
    });
    // Only the producer team (or a release manager) proposes.
    let (status, _, value) = h
        .call("sarah", Method::POST, proposals, Some(body.clone()), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{value}");
    let (status, _, value) = h
        .call(
            "mike",
            Method::POST,
            proposals,
            Some(json!({"version": "1.2.0", "compatibility": "breaking", "summary": "x"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    assert!(
        value["detail"]
            .as_str()
            .is_some_and(|d| d.contains("2.0.0 or later")),
        "{value}"
    );
    let (status, _, value) = h
        .call("mike", Method::POST, proposals, Some(body), &[])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{value}");
    let resource = &value["resource"];
    assert_eq!(resource["proposals"][0]["status"], "open");
    assert_eq!(
        resource["proposals"][0]["impact"], resource["impact"],
        "assessed when proposed, the same as now"
    );
    assert_eq!(resource["impact"]["teams"], json!(["frontend"]));
    assert_eq!(resource["impact"]["releases"][0]["release"], "r1");
    assert_eq!(
        resource["impact"]["releases"][0]["items"],
        json!(["api-endpoints", "dashboard"])
    );
    assert_eq!(
        resource["impact"]["deployments"][1]["component"],
        "dashboard-ui"
    );
    assert_eq!(resource["impact"]["deployments"][1]["at"], "10:00:00");

    let decision = "/api/v1/interfaces/analytics-api/proposals/2.0.0/decision";
    let approve = json!({ "decision": "approve", "rationale": "Dashboard 3.3 moves to 2.0 first" });
    // Not the proposer (even as the producer), not a team that does not consume it.
    let (status, _, value) = h
        .call("mike", Method::POST, decision, Some(approve.clone()), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{value}");
    let (status, _, value) = h
        .call("sid", Method::POST, decision, Some(approve.clone()), &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{value}");
    let (status, _, value) = h
        .call(
            "sarah",
            Method::POST,
            decision,
            Some(json!({"decision": "aprove", "rationale": "ok"})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    assert!(
        value["detail"]
            .as_str()
            .is_some_and(|d| d.contains("did you mean `approve`")),
        "{value}"
    );
    let (status, _, value) = h
        .call(
            "sarah",
            Method::POST,
            decision,
            Some(json!({"decision": "approve", "rationale": " "})),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    let (status, _, value) = h
        .call("sarah", Method::POST, decision, Some(approve), &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["resource"]["proposals"][0]["status"], "approved");
    assert_eq!(value["resource"]["proposals"][0]["decision"]["by"], "sarah");
    assert_eq!(value["resource"]["latestPublished"], "2.0.0");
    assert_eq!(value["events"].as_array().map(Vec::len), Some(2));
    // The rationale is the event's why in the history.
    let history = h
        .get("/api/v1/history?stream=interface:analytics-api")
        .await;
    assert!(
        history
            .to_string()
            .contains("Dashboard 3.3 moves to 2.0 first"),
        "{history}"
    );
    let (status, headers, changelog) = h
        .call(
            "viewer",
            Method::GET,
            "/api/v1/interfaces/analytics-api/changelog",
            None,
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/markdown")),
        "{headers:?}"
    );
    let changelog = changelog.as_str().expect("markdown");
    assert!(
        changelog.contains("## 2.0.0 (breaking)\n\nProposed by mike on 2030-01-10; approved by sarah on 2030-01-10: Dashboard 3.3 moves to 2.0 first\n\n- Cohort breakdown; `range` becomes required"),
        "{changelog}"
    );
}

#[tokio::test]
async fn refused_contract_writes_are_audited() {
    let h = Contracts::new().await;
    let (status, _, _) = h
        .call(
            "viewer",
            Method::POST,
            "/api/v1/interfaces/analytics-api/verifications",
            verification("pass", "1.1.4"),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, audit) = h
        .call("admin", Method::GET, "/api/v1/audit", None, &[])
        .await;
    assert_eq!(status, StatusCode::OK, "{audit}");
    assert!(
        audit["refusals"]
            .as_array()
            .is_some_and(|all| all.iter().any(|r| r["actor"] == "viewer"
                && r["target"] == "interface:analytics-api"
                && r["command"]
                    == "record a contract test of dashboard-ui against interface analytics-api")),
        "{audit:#}"
    );
}

#[tokio::test]
async fn the_contracts_page_lists_interfaces_matrix_and_open_proposals_escaped() {
    let h = Contracts::new().await;
    h.call(
        "sarah",
        Method::POST,
        "/api/v1/interfaces/analytics-api/verifications",
        verification("fail", "1.1.4"),
        &[],
    )
    .await;
    h.call(
        "mike",
        Method::POST,
        "/api/v1/interfaces/analytics-api/proposals",
        Some(json!({"version": "2.0.0", "compatibility": "breaking", "summary": "<i>cohorts</i>"})),
        &[],
    )
    .await;
    assert_eq!(
        h.deploy("mike", "analytics-api", "1.1.4").await,
        StatusCode::OK
    );
    let (status, _, page) = h.call("viewer", Method::GET, "/contracts", None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let html = page.as_str().expect("html");
    assert!(
        html.contains(r#"<a href="/contracts" aria-current="page">Contracts</a>"#),
        "nav link"
    );
    assert!(html.contains("Analytics &lt;b&gt;API&lt;/b&gt;"), "{html}");
    assert!(!html.contains("<b>API</b>"), "titles are escaped");
    assert!(html.contains("✗ fail"), "{html}");
    assert!(
        html.contains("<tr><td>production</td><td>analytics-api</td><td>1.1.4</td><td>by mike at"),
        "{html}"
    );
    assert!(html.contains("Proposal 1: 2.0.0 (breaking)"), "{html}");
    assert!(html.contains("&lt;i&gt;cohorts&lt;/i&gt;"), "{html}");
    assert!(
        html.contains("Deployment of dashboard-ui in production on 2030-03-01 at 10:00:00"),
        "{html}"
    );
    // Every page needs a principal.
    let (status, _, _) = send(&h.app, request(None, Method::GET, "/contracts", None, &[])).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_verification_round_trips_over_a_real_socket() {
    let h = Contracts::new().await;
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
        .post(format!(
            "http://{address}/api/v1/interfaces/analytics-api/verifications"
        ))
        .bearer_auth(&h.tokens["sarah"])
        .header("content-type", "application/json")
        .body(verification("pass", "1.1.4").expect("body").to_string())
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status().as_u16(), 201);
    let response = client
        .post(format!(
            "http://{address}/api/v1/environments/production/deployments"
        ))
        .bearer_auth(&h.tokens["mike"])
        .header("content-type", "application/json")
        .body(json!({ "component": "analytics-api", "version": "1.1.4" }).to_string())
        .send()
        .await
        .expect("request sent");
    assert_eq!(response.status().as_u16(), 200);
    let body = client
        .get(format!(
            "http://{address}/api/v1/can-i-deploy?component=dashboard-ui&version=3.2.0&environment=production"
        ))
        .bearer_auth(&h.tokens["viewer"])
        .send()
        .await
        .expect("request sent")
        .text()
        .await
        .expect("body");
    let answer: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(answer["deployable"], true, "{answer}");
    server.abort();
}
