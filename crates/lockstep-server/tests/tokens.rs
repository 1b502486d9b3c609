//! Login everywhere, the token life cycle over `/api/v1/tokens`, manifests over
//! `/api/v1/apply`, and abuse: each refusal is the right 4xx problem and changes
//! nothing. Driven through the router (`oneshot`) with a fixed clock.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use common::{PASSWORD, add_users, application, config, request, send};
use lockstep_server::auth::digest;
use lockstep_server::{AppState, Clock};
use serde_json::{Value, json};

const EXAMPLE: [(&str, &str); 3] = [
    (
        "teams.yaml",
        include_str!("../../../examples/q1-2025/teams.yaml"),
    ),
    (
        "components.yaml",
        include_str!("../../../examples/q1-2025/components.yaml"),
    ),
    (
        "release.yaml",
        include_str!("../../../examples/q1-2025/release.yaml"),
    ),
];

struct Harness {
    app: Arc<AppState>,
    clock: Clock,
    admin: String,
    viewer: String,
    mike: String,
}

fn sources(files: &[(&str, &str)]) -> Value {
    json!(
        files
            .iter()
            .map(|(name, text)| json!({ "name": name, "text": text }))
            .collect::<Vec<_>>()
    )
}

impl Harness {
    async fn new() -> Harness {
        let now: jiff::Timestamp = "2025-02-05T10:00:00Z".parse().expect("instant");
        let clock = Clock::fixed(now);
        let app = application(Vec::new(), now, config(clock.clone())).await;
        let tokens = add_users(
            &app,
            &[
                ("admin", None, true),
                ("viewer", None, false),
                ("mike", Some("mike"), false),
            ],
        )
        .await;
        let token = |user: &str| tokens.get(user).cloned().expect("token");
        let (admin, viewer, mike) = (token("admin"), token("viewer"), token("mike"));
        let h = Harness {
            app,
            clock,
            admin,
            viewer,
            mike,
        };
        let (status, answer) = h
            .call(
                Some(&h.admin.clone()),
                Method::POST,
                "/api/v1/apply",
                Some(json!({ "sources": sources(&EXAMPLE) })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        h
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, HeaderMap, Value) {
        send(&self.app, request).await
    }

    async fn call(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, _, value) = self
            .send(request(
                token,
                method,
                path,
                body.map(|b| b.to_string()),
                &[],
            ))
            .await;
        (status, value)
    }

    /// The log's head: a refused request must leave it where it was.
    async fn head(&self) -> i64 {
        let (status, value) = self
            .call(
                Some(&self.admin),
                Method::GET,
                "/api/v1/history?last=1",
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{value}");
        value["items"][0]["position"].as_i64().expect("a position")
    }
}

fn problem_type(value: &Value) -> &str {
    value["type"]
        .as_str()
        .and_then(|t| t.rsplit('/').next())
        .unwrap_or("")
}

#[tokio::test]
async fn every_api_route_and_page_needs_a_principal_and_open_routes_stay_open() {
    let h = Harness::new().await;
    for path in [
        "/api/v1/items",
        "/api/v1/teams/api",
        "/api/v1/history",
        "/api/v1/me",
        "/api/v1/tokens",
        "/api/v1/openapi.json",
        "/api/v1/releases/q1-2025/gonogo",
    ] {
        let (status, value) = h.call(None, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {value}");
        assert_eq!(problem_type(&value), "unauthenticated", "{path}");
    }
    for path in [
        "/",
        "/releases/q1-2025",
        "/teams/api",
        "/items/api-analytics-endpoints",
        "/calendar",
    ] {
        let (status, headers, _) = h.send(request(None, Method::GET, path, None, &[])).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        let location = headers[header::LOCATION].to_str().expect("ascii");
        assert!(location.starts_with("/login?next="), "{path}: {location}");
    }
    for path in ["/healthz", "/readyz", "/login", "/static/app.css"] {
        let (status, value) = h.call(None, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path} stays open: {value}");
    }
    // Webhook receivers authenticate by signature, not by login: an unsigned delivery
    // is refused by the receiver itself, never sent to the login.
    let (status, value) = h
        .call(
            None,
            Method::POST,
            "/api/v1/webhooks/github",
            Some(json!({})),
        )
        .await;
    assert!(
        value["detail"]
            .as_str()
            .is_some_and(|d| d.contains("webhook")),
        "the receiver answered, not the login guard: {status} {value}"
    );
    let (status, _) = h
        .call(Some(&h.viewer), Method::GET, "/api/v1/items", None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn tokens_expire_are_revoked_and_never_show_their_secret_again() {
    let h = Harness::new().await;
    // Half a second past the second: the expiry shown must be the one stored.
    h.clock.advance(jiff::SignedDuration::from_millis(500));
    let (status, created) = h
        .call(
            Some(&h.mike),
            Method::POST,
            "/api/v1/tokens",
            Some(json!({ "label": "laptop", "expiresIn": "1h" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["token"].as_str().expect("token").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(secret.starts_with("lst_"));
    let (status, me) = h.call(Some(&secret), Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"], "mike");

    let (_, listed) = h
        .call(Some(&h.mike), Method::GET, "/api/v1/tokens", None)
        .await;
    let text = listed.to_string();
    assert!(!text.contains("lst_"), "no secret in a listing: {text}");
    assert!(!text.contains(&digest(&secret)), "no digest either");
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(2));
    let listed_expiry = listed["items"]
        .as_array()
        .and_then(|all| all.iter().find(|t| t["id"] == id.as_str()))
        .map(|t| t["expiresAt"].clone());
    assert_eq!(
        listed_expiry,
        Some(created["expiresAt"].clone()),
        "{listed}"
    );

    h.clock.advance(jiff::SignedDuration::from_mins(61));
    let (status, value) = h.call(Some(&secret), Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(problem_type(&value), "unauthenticated");
    assert!(
        value["detail"]
            .as_str()
            .is_some_and(|d| d.contains("expired")),
        "{value}"
    );
    let (_, listed) = h
        .call(Some(&h.mike), Method::GET, "/api/v1/tokens", None)
        .await;
    let states: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["state"].as_str())
        .collect();
    assert!(states.contains(&"expired"), "{listed}");

    // Someone else's token is "not found" to a non-admin, and stays valid.
    let (status, value) = h
        .call(
            Some(&h.viewer),
            Method::DELETE,
            &format!("/api/v1/tokens/{}", &digest(&h.mike)[..12]),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{value}");
    let (status, _) = h.call(Some(&h.mike), Method::GET, "/api/v1/me", None).await;
    assert_eq!(status, StatusCode::OK);

    // Revoking the token in use: refused from the next request on.
    let mike_id = &digest(&h.mike)[..12];
    let (status, value) = h
        .call(
            Some(&h.mike),
            Method::DELETE,
            &format!("/api/v1/tokens/{mike_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["state"], "revoked");
    let (status, value) = h
        .call(Some(&h.mike), Method::GET, "/api/v1/items", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        value["detail"]
            .as_str()
            .is_some_and(|d| d.contains("revoked")),
        "{value}"
    );
    // An administrator may revoke anyone's.
    let (status, _) = h
        .call(
            Some(&h.admin),
            Method::DELETE,
            &format!("/api/v1/tokens/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bad_token_requests_are_problems_that_issue_nothing() {
    let h = Harness::new().await;
    let count = || async {
        let (_, listed) = h
            .call(Some(&h.mike), Method::GET, "/api/v1/tokens", None)
            .await;
        listed["items"].as_array().map_or(0, Vec::len)
    };
    let before = count().await;
    for (body, field) in [
        (json!({ "colour": "red" }), "colour"),
        (json!({ "expiresIn": "30 days" }), "expiresIn"),
        (json!({ "expiresIn": "99999d" }), "expiresIn"),
        (json!({ "label": 7 }), "label"),
    ] {
        let (status, value) = h
            .call(Some(&h.mike), Method::POST, "/api/v1/tokens", Some(body))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
        assert_eq!(value["field"], field, "{value}");
    }
    let (status, _) = h
        .call(None, Method::POST, "/api/v1/tokens", Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(count().await, before);
}

#[tokio::test]
async fn passwords_are_accepted_only_to_issue_a_token() {
    let h = Harness::new().await;
    let basic = |user: &str, password: &str| {
        let pair = format!("{user}:{password}");
        format!("Basic {}", base64(pair.as_bytes()))
    };
    let good = basic("mike", PASSWORD);
    let (status, _, value) = h
        .send(request(
            None,
            Method::POST,
            "/api/v1/tokens",
            Some(json!({ "label": "cli login", "expiresIn": "30d" }).to_string()),
            &[("authorization", &good)],
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{value}");
    assert_eq!(value["user"], "mike");
    let (status, _, value) = h
        .send(request(
            None,
            Method::POST,
            "/api/v1/tokens",
            Some("{}".to_owned()),
            &[("authorization", &basic("mike", "wrong"))],
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{value}");
    assert_eq!(problem_type(&value), "unauthenticated");
    for (method, path) in [
        (Method::GET, "/api/v1/items"),
        (Method::GET, "/api/v1/tokens"),
    ] {
        let (status, _, _) = h
            .send(request(
                None,
                method,
                path,
                None,
                &[("authorization", &good)],
            ))
            .await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{path}: Basic only issues tokens"
        );
    }
}

#[tokio::test]
async fn session_writes_to_tokens_need_csrf_and_expired_sessions_are_refused() {
    let h = Harness::new().await;
    let now = h.app.now().as_second();
    h.app
        .auth()
        .create_session(&digest("session-secret"), "mike", "csrf-secret", now + 60)
        .await
        .expect("session");
    let cookie = ("cookie", "lockstep_session=session-secret");
    let body = Some("{}".to_owned());
    let (status, _, value) = h
        .send(request(
            None,
            Method::POST,
            "/api/v1/tokens",
            body.clone(),
            &[cookie],
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{value}");
    assert_eq!(problem_type(&value), "csrf");
    let (status, _, value) = h
        .send(request(
            None,
            Method::POST,
            "/api/v1/tokens",
            body.clone(),
            &[cookie, ("x-csrf-token", "csrf-secret")],
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{value}");
    h.clock.advance(jiff::SignedDuration::from_mins(2));
    let (status, _, value) = h
        .send(request(
            None,
            Method::POST,
            "/api/v1/tokens",
            body,
            &[cookie, ("x-csrf-token", "csrf-secret")],
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{value}");
    let (status, headers, _) = h
        .send(request(
            None,
            Method::GET,
            "/releases/q1-2025",
            None,
            &[cookie],
        ))
        .await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "an expired session goes to the login"
    );
    assert!(
        headers[header::LOCATION]
            .to_str()
            .is_ok_and(|l| l.starts_with("/login"))
    );
}

#[tokio::test]
async fn apply_over_http_is_atomic_authorized_and_located() {
    let h = Harness::new().await;
    let head = h.head().await;
    let again = json!({ "sources": sources(&EXAMPLE) });
    let (status, value) = h
        .call(Some(&h.admin), Method::POST, "/api/v1/apply", Some(again))
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(
        value["changes"],
        json!([]),
        "applying twice changes nothing"
    );

    let moved = EXAMPLE[2]
        .1
        .replacen("targetDate: 2025-03-01", "targetDate: 2025-03-04", 1);
    let files = [("release.yaml", moved.as_str())];
    let (status, value) = h
        .call(
            Some(&h.admin),
            Method::POST,
            "/api/v1/apply",
            Some(json!({ "sources": sources(&files), "dryRun": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["dryRun"], true);
    assert!(!value["changes"].as_array().expect("changes").is_empty());
    assert_eq!(h.head().await, head, "a dry run writes nothing");

    // A viewer and a team member may not change the release: 403 naming the place.
    for token in [&h.viewer, &h.mike] {
        let (status, value) = h
            .call(
                Some(token),
                Method::POST,
                "/api/v1/apply",
                Some(json!({ "sources": sources(&files) })),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{value}");
        assert!(
            value["detail"]
                .as_str()
                .is_some_and(|d| d.contains("release.yaml:")),
            "{value}"
        );
    }
    assert_eq!(h.head().await, head);

    // mike's own item, in the release file he may not change: only what changes counts.
    let eta = EXAMPLE[2]
        .1
        .replacen("eta: 2025-02-05", "eta: 2025-02-06", 1);
    let eta_files = [("release.yaml", eta.as_str())];
    let (status, value) = h
        .call(
            Some(&h.mike),
            Method::POST,
            "/api/v1/apply",
            Some(json!({ "sources": sources(&eta_files), "dryRun": true })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(
        value["changes"].as_array().map(Vec::len),
        Some(1),
        "{value}"
    );

    let broken = moved.replacen("team: api", "team: apii", 1);
    let broken_files = [("release.yaml", broken.as_str())];
    let (status, value) = h
        .call(
            Some(&h.admin),
            Method::POST,
            "/api/v1/apply",
            Some(json!({ "sources": sources(&broken_files) })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    assert_eq!(value["field"], "sources");
    let detail = value["detail"].as_str().expect("detail");
    assert!(
        detail.starts_with("release.yaml:") && detail.contains("apii"),
        "{detail}"
    );
    for (body, field) in [
        (json!({ "sources": [] }), "sources"),
        (
            json!({ "sources": sources(&files), "force": true }),
            "force",
        ),
        (json!({ "sources": [{ "name": "a.yaml" }] }), "sources[0]"),
    ] {
        let (status, value) = h
            .call(Some(&h.admin), Method::POST, "/api/v1/apply", Some(body))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
        assert!(
            value["field"]
                .as_str()
                .is_some_and(|f| f.starts_with(field)),
            "{field}: {value}"
        );
    }
    assert_eq!(h.head().await, head, "nothing refused was written");

    let (status, value) = h
        .call(
            Some(&h.admin),
            Method::POST,
            "/api/v1/apply",
            Some(json!({ "sources": sources(&files), "reason": "slipped" })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert!(value["position"].as_i64().expect("position") > head);
    let (_, history) = h
        .call(Some(&h.viewer), Method::GET, "/api/v1/history?last=1", None)
        .await;
    assert_eq!(history["items"][0]["actor"], "admin");
    assert_eq!(history["items"][0]["reason"], "slipped");
}

#[tokio::test]
async fn huge_bodies_are_413_and_change_nothing() {
    let h = Harness::new().await;
    let head = h.head().await;
    let big_note = "x".repeat(300 * 1024);
    let (status, value) = h
        .call(
            Some(&h.admin),
            Method::POST,
            "/api/v1/items/api-analytics-endpoints/updates",
            Some(json!({ "date": "2025-02-05", "text": big_note })),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{value}");
    assert_eq!(problem_type(&value), "payload-too-large");
    let huge = "# padding\n".repeat(900 * 1024);
    let (status, value) = h
        .call(
            Some(&h.admin),
            Method::POST,
            "/api/v1/apply",
            Some(json!({ "sources": [{ "name": "huge.yaml", "text": huge }] })),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{value}");
    // The problem names the limit of the route, 8 MiB for manifests.
    assert!(
        value["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&(8 * 1024 * 1024).to_string())),
        "{value}"
    );
    let (status, value) = h
        .call(
            Some(&h.admin),
            Method::POST,
            "/api/v1/tokens",
            Some(json!({ "label": "y".repeat(300 * 1024) })),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{value}");
    assert_eq!(h.head().await, head);
}

#[tokio::test]
async fn invalid_pagination_and_history_queries_are_400_naming_the_parameter() {
    let h = Harness::new().await;
    for (path, field) in [
        ("/api/v1/items?limit=0", "limit"),
        ("/api/v1/items?limit=1001", "limit"),
        ("/api/v1/items?limit=ten", "limit"),
        ("/api/v1/items?cursor=Not%20A%20Name", "cursor"),
        ("/api/v1/items?limit=1&limit=2", "limit"),
        ("/api/v1/items?colour=red", "colour"),
        ("/api/v1/teams?page=2", "page"),
        ("/api/v1/history?limit=-1", "limit"),
        ("/api/v1/history?after=-5", "after"),
        ("/api/v1/history?last=0", "last"),
        ("/api/v1/history?last=1&after=3", "last"),
        ("/api/v1/history?stream=", "stream"),
        ("/api/v1/items?status=bogus", "status"),
        ("/api/v1/releases/q1-2025/items?status=stagin", "status"),
        ("/api/v1/releases?state=bogus", "state"),
        ("/api/v1/history?stream=garbage", "stream"),
    ] {
        let (status, value) = h.call(Some(&h.viewer), Method::GET, path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {value}");
        assert_eq!(value["field"], field, "{path}: {value}");
        assert_eq!(problem_type(&value), "bad-request");
    }
    let (status, value) = h
        .call(
            Some(&h.viewer),
            Method::GET,
            "/api/v1/history?stream=team:api&last=2",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    let items = value["items"].as_array().expect("items");
    assert!(!items.is_empty() && items.len() <= 2);
    assert!(items.iter().all(|e| e["stream"] == "team:api"), "{value}");
}

#[tokio::test]
async fn every_page_and_problem_carries_the_security_headers() {
    let h = Harness::new().await;
    let (status, _, _) = h
        .send(request(None, Method::GET, "/login", None, &[]))
        .await;
    assert_eq!(status, StatusCode::OK);
    let now = h.app.now().as_second();
    h.app
        .auth()
        .create_session(&digest("s"), "viewer", "c", now + 3600)
        .await
        .expect("session");
    let signed_in = [("cookie", "lockstep_session=s")];
    let cases: Vec<(&str, &[(&str, &str)])> = vec![
        ("/", &signed_in),
        ("/releases/q1-2025", &signed_in),
        ("/teams/api", &signed_in),
        ("/items/api-analytics-endpoints", &signed_in),
        ("/calendar", &signed_in),
        ("/releases/nope", &signed_in),
        ("/", &[]),
        ("/login", &[]),
        ("/static/app.css", &[]),
        ("/static/..%2fCargo.toml", &[]),
        ("/healthz", &[]),
        ("/api/v1/items", &[]),
        ("/api/v1/items", &signed_in),
        ("/nope", &[]),
    ];
    for (path, headers) in cases {
        let (status, response, _) = h
            .send(request(None, Method::GET, path, None, headers))
            .await;
        let get = |name: &str| {
            response
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let csp = get("content-security-policy");
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{path} ({status}): {csp}"
        );
        assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(get("x-frame-options"), "DENY", "{path}");
        assert_eq!(get("referrer-policy"), "same-origin", "{path}");
    }
}

/// Standard base64 with padding, for HTTP Basic in tests.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for index in 0..4 {
            if index <= chunk.len() {
                out.push(char::from(
                    ALPHABET[((n >> (18 - 6 * index)) & 63) as usize],
                ));
            } else {
                out.push('=');
            }
        }
    }
    out
}
