//! The HTTP API driven through the router (`oneshot`): writes, conditional writes,
//! idempotency, bad input and abuse, authentication, and the authorization matrix.

mod common;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{
    SMALL_PROGRAM_USERS, add_users, application, config, name, request, send, small_program,
};
use lockstep_server::{AppState, Clock, app};
use serde_json::{Value, json};
use tower::ServiceExt;

struct Harness {
    app: Arc<AppState>,
    clock: Clock,
    tokens: std::collections::HashMap<&'static str, String>,
}

impl Harness {
    async fn new() -> Harness {
        Harness::with(small_program()).await
    }

    /// A program of `commands`, with the small program's users.
    async fn with(commands: Vec<lockstep_core::Command>) -> Harness {
        let now: jiff::Timestamp = "2030-01-10T10:00:00Z".parse().expect("valid instant");
        let clock = Clock::fixed(now);
        let app = application(commands, now, config(clock.clone())).await;
        let tokens = add_users(&app, &SMALL_PROGRAM_USERS).await;
        Harness { app, clock, tokens }
    }

    fn router(&self) -> Router {
        app(self.app.clone())
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
        send(&self.app, request).await
    }

    async fn call(
        &self,
        user: Option<&str>,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, _, value) = self
            .send(request(
                self.token(user).as_deref(),
                method,
                path,
                body.map(|body| body.to_string()),
                &[],
            ))
            .await;
        (status, value)
    }

    fn token(&self, user: Option<&str>) -> Option<String> {
        user.map(|u| self.tokens.get(u).cloned().expect("known test user"))
    }

    async fn item_status(&self) -> Value {
        let (_, value) = self
            .call(
                Some("admin"),
                Method::GET,
                "/api/v1/items/api-endpoints",
                None,
            )
            .await;
        value["item"]["status"].clone()
    }
}

fn move_to(status: &str) -> Option<Value> {
    Some(json!({ "status": status }))
}

fn release_body(target: &str) -> Option<Value> {
    Some(json!({
        "title": "Release One",
        "targetDate": target,
        "featureFreeze": "2030-02-15",
        "codeFreeze": "2030-02-22",
    }))
}

/// One rule of the matrix: who, what, and the expected status.
async fn check(
    h: &Harness,
    user: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    expected: StatusCode,
) {
    let (status, value) = h.call(Some(user), method.clone(), path, body).await;
    assert_eq!(status, expected, "{user} {method} {path}: {value}");
    if status == StatusCode::FORBIDDEN {
        assert!(
            value["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("/forbidden")),
            "{value}"
        );
    }
}

#[tokio::test]
async fn team_member_moves_own_team_items_but_not_other_teams() {
    let h = Harness::new().await;
    check(
        &h,
        "mike",
        Method::POST,
        "/api/v1/items/api-endpoints/status",
        move_to("testing"),
        StatusCode::OK,
    )
    .await;
    check(
        &h,
        "mike",
        Method::POST,
        "/api/v1/items/dashboard/status",
        move_to("testing"),
        StatusCode::FORBIDDEN,
    )
    .await;
    check(
        &h,
        "sarah",
        Method::POST,
        "/api/v1/items/dashboard/status",
        move_to("testing"),
        StatusCode::OK,
    )
    .await;
    check(
        &h,
        "sarah",
        Method::POST,
        "/api/v1/items/api-endpoints/eta",
        Some(json!({"eta": "2030-02-20"})),
        StatusCode::FORBIDDEN,
    )
    .await;
    check(
        &h,
        "mike",
        Method::POST,
        "/api/v1/items/api-endpoints/eta",
        Some(json!({"eta": "2030-02-20"})),
        StatusCode::OK,
    )
    .await;
    // A body without `eta` is a mistake, not a request to clear it; `null` clears it.
    for body in [json!({}), json!({"reason": "oops"})] {
        check(
            &h,
            "mike",
            Method::POST,
            "/api/v1/items/api-endpoints/eta",
            Some(body),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    // A bad date is refused in words, with where it is.
    for (eta, says) in [
        (
            "2030-02-30",
            "not a date: 2030-02 has days 1 to 28 at line 1 column ",
        ),
        ("2030-13-01", "not a date: use YYYY-MM-DD at line 1 column "),
    ] {
        let (status, problem) = h
            .call(
                Some("mike"),
                Method::POST,
                "/api/v1/items/api-endpoints/eta",
                Some(json!({ "eta": eta })),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["field"], "eta", "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with(says)),
            "{problem}"
        );
    }
    check(
        &h,
        "mike",
        Method::POST,
        "/api/v1/items/api-endpoints/eta",
        Some(json!({"eta": null})),
        StatusCode::OK,
    )
    .await;
    check(
        &h,
        "mike",
        Method::POST,
        "/api/v1/items/dashboard/updates",
        Some(json!({"date": "2030-01-10", "text": "hi"})),
        StatusCode::FORBIDDEN,
    )
    .await;
    check(
        &h,
        "sarah",
        Method::POST,
        "/api/v1/items/dashboard/updates",
        Some(json!({"date": "2030-01-10", "text": "on track"})),
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn only_release_manager_or_admin_change_release_dates_scope_and_state() {
    let h = Harness::new().await;
    check(
        &h,
        "mike",
        Method::PUT,
        "/api/v1/releases/r1",
        release_body("2030-03-08"),
        StatusCode::FORBIDDEN,
    )
    .await;
    check(
        &h,
        "sid",
        Method::PUT,
        "/api/v1/releases/r1",
        release_body("2030-03-08"),
        StatusCode::FORBIDDEN,
    )
    .await;
    check(
        &h,
        "rita",
        Method::PUT,
        "/api/v1/releases/r1",
        release_body("2030-03-08"),
        StatusCode::OK,
    )
    .await;
    check(
        &h,
        "admin",
        Method::PUT,
        "/api/v1/releases/r1",
        release_body("2030-03-09"),
        StatusCode::OK,
    )
    .await;
    let new_item = json!({"name": "extra", "spec": {"title": "Extra", "team": "api"}});
    check(
        &h,
        "mike",
        Method::POST,
        "/api/v1/releases/r1/items",
        Some(new_item.clone()),
        StatusCode::FORBIDDEN,
    )
    .await;
    check(
        &h,
        "rita",
        Method::POST,
        "/api/v1/releases/r1/items",
        Some(new_item),
        StatusCode::CREATED,
    )
    .await;
    check(
        &h,
        "mike",
        Method::POST,
        "/api/v1/releases/r1/state",
        Some(json!({"state": "in-progress"})),
        StatusCode::FORBIDDEN,
    )
    .await;
    check(
        &h,
        "rita",
        Method::POST,
        "/api/v1/releases/r1/state",
        Some(json!({"state": "in-progress"})),
        StatusCode::OK,
    )
    .await;
    // A release manager may move any team's item.
    check(
        &h,
        "rita",
        Method::POST,
        "/api/v1/items/dashboard/status",
        move_to("testing"),
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn viewers_and_stakeholders_read_but_change_nothing() {
    let h = Harness::new().await;
    for user in ["viewer", "sid"] {
        check(
            &h,
            user,
            Method::GET,
            "/api/v1/items/api-endpoints",
            None,
            StatusCode::OK,
        )
        .await;
        check(
            &h,
            user,
            Method::POST,
            "/api/v1/items/api-endpoints/status",
            move_to("testing"),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    assert_eq!(h.item_status().await, "planning");
}

#[tokio::test]
async fn dependencies_need_a_team_on_one_side_and_resources_need_a_manager() {
    let h = Harness::new().await;
    let extra = json!({"name": "extra", "spec": {"title": "Extra", "team": "frontend", "due": "2030-02-14"}});
    check(
        &h,
        "rita",
        Method::POST,
        "/api/v1/releases/r1/items",
        Some(extra),
        StatusCode::CREATED,
    )
    .await;
    let dependency = json!({"blocker": "dashboard", "blocked": "extra"});
    check(
        &h,
        "mike",
        Method::POST,
        "/api/v1/dependencies",
        Some(dependency.clone()),
        StatusCode::FORBIDDEN,
    )
    .await;
    check(
        &h,
        "sarah",
        Method::POST,
        "/api/v1/dependencies",
        Some(dependency.clone()),
        StatusCode::CREATED,
    )
    .await;
    // The same body again is a harmless retry; a different one does not silently
    // rewrite the dependency without If-Match.
    check(
        &h,
        "sarah",
        Method::POST,
        "/api/v1/dependencies",
        Some(dependency),
        StatusCode::OK,
    )
    .await;
    check(
        &h,
        "sarah",
        Method::POST,
        "/api/v1/dependencies",
        Some(json!({"blocker": "dashboard", "blocked": "extra", "bufferDays": 3})),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    check(
        &h,
        "mike",
        Method::DELETE,
        "/api/v1/dependencies/dashboard/extra",
        None,
        StatusCode::FORBIDDEN,
    )
    .await;
    check(
        &h,
        "sarah",
        Method::DELETE,
        "/api/v1/dependencies/dashboard/extra",
        None,
        StatusCode::OK,
    )
    .await;
    let team = json!({"name": "mobile", "spec": {"timeZone": "Europe/Paris"}});
    check(
        &h,
        "mike",
        Method::POST,
        "/api/v1/teams",
        Some(team.clone()),
        StatusCode::FORBIDDEN,
    )
    .await;
    check(
        &h,
        "admin",
        Method::POST,
        "/api/v1/teams",
        Some(team),
        StatusCode::CREATED,
    )
    .await;
    let environment = json!({"name": "staging", "spec": {"tier": "staging"}});
    check(
        &h,
        "viewer",
        Method::POST,
        "/api/v1/environments",
        Some(environment.clone()),
        StatusCode::FORBIDDEN,
    )
    .await;
    check(
        &h,
        "rita",
        Method::POST,
        "/api/v1/environments",
        Some(environment),
        StatusCode::CREATED,
    )
    .await;
}

#[tokio::test]
async fn time_zones_sent_in_any_case_are_stored_as_the_database_spells_them() {
    let h = Harness::new().await;
    let team = json!({"name": "paris", "spec": {"timeZone": "europe/paris"}});
    check(
        &h,
        "admin",
        Method::POST,
        "/api/v1/teams",
        Some(team),
        StatusCode::CREATED,
    )
    .await;
    let environment = json!({"name": "qa", "spec": {"tier": "testing", "deployWindows": [
        {"timeZone": "utc", "start": "2030-01-14T09:00:00", "end": "2030-01-14T17:00:00"}
    ]}});
    check(
        &h,
        "admin",
        Method::POST,
        "/api/v1/environments",
        Some(environment),
        StatusCode::CREATED,
    )
    .await;
    let unknown = json!({"name": "mars", "spec": {"timeZone": "mars/olympus_mons"}});
    check(
        &h,
        "admin",
        Method::POST,
        "/api/v1/teams",
        Some(unknown),
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    let state = h.app.state().await;
    assert_eq!(state.teams()[&name("paris")].spec.time_zone, "Europe/Paris");
    assert_eq!(
        state.environments()[&name("qa")].spec.deploy_windows[0].time_zone,
        "UTC"
    );
}

#[tokio::test]
async fn missing_forged_and_malformed_credentials_get_401_and_change_nothing() {
    let h = Harness::new().await;
    let (status, value) = h.call(None, Method::GET, "/api/v1/items", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{value}");
    assert_eq!(value["status"], 401);
    let (status, _) = h
        .call(
            None,
            Method::POST,
            "/api/v1/items/api-endpoints/status",
            move_to("testing"),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    for auth in ["Bearer lst_forged", "Basic YWRtaW46YWRtaW4=", "Bearer "] {
        let (status, _, value) = h
            .send(request(
                None,
                Method::POST,
                "/api/v1/items/api-endpoints/status",
                move_to("testing").map(|b| b.to_string()),
                &[("authorization", auth)],
            ))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth}: {value}");
    }
    assert_eq!(h.item_status().await, "planning");
}

/// Logs in through the form; returns (session cookie, CSRF token of the session).
async fn log_in(h: &Harness, user: &str) -> (String, String) {
    let (status, headers, page) = h
        .send(request(None, Method::GET, "/login", None, &[]))
        .await;
    assert_eq!(status, StatusCode::OK);
    let login_cookie = headers[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("cookie")
        .to_owned();
    let html = page.as_str().expect("html").to_owned();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("csrf in form");
    let form =
        format!("csrf={csrf}&next=%2F&username={user}&password=correct+horse+battery+staple");
    let response = h
        .router()
        .oneshot(
            Request::post("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, &login_cookie)
                .body(Body::from(form))
                .expect("request"),
        )
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let session = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("lockstep_session="))
        .expect("session cookie")
        .to_owned();
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Strict"),
        "{session}"
    );
    let cookie = session.split(';').next().expect("pair").to_owned();
    let (_, _, me) = h
        .send(request(
            None,
            Method::GET,
            "/",
            None,
            &[("cookie", &cookie)],
        ))
        .await;
    let page = me.as_str().expect("html").to_owned();
    let token = page
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("csrf meta")
        .to_owned();
    (cookie, token)
}

#[tokio::test]
async fn session_writes_need_the_csrf_token_and_expire() {
    let h = Harness::new().await;
    let (cookie, csrf) = log_in(&h, "mike").await;
    let path = "/api/v1/items/api-endpoints/status";
    let (status, _, value) = h
        .send(request(
            None,
            Method::POST,
            path,
            move_to("testing").map(|b| b.to_string()),
            &[("cookie", &cookie)],
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{value}");
    assert!(value["type"].as_str().is_some_and(|t| t.ends_with("/csrf")));
    let (status, _, _) = h
        .send(request(
            None,
            Method::POST,
            path,
            move_to("testing").map(|b| b.to_string()),
            &[("cookie", &cookie), ("x-csrf-token", "wrong")],
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(h.item_status().await, "planning");
    let (status, _, value) = h
        .send(request(
            None,
            Method::POST,
            path,
            move_to("testing").map(|b| b.to_string()),
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    h.clock.advance(jiff::SignedDuration::from_hours(13));
    let (status, _, _) = h
        .send(request(
            None,
            Method::GET,
            "/api/v1/items",
            None,
            &[("cookie", &cookie)],
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = h
        .send(request(
            None,
            Method::GET,
            "/api/v1/items",
            None,
            &[("cookie", "lockstep_session=forged")],
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn login_refuses_wrong_password_and_missing_form_token() {
    let h = Harness::new().await;
    let response = h
        .router()
        .oneshot(
            Request::post("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(
                    "username=mike&password=correct+horse+battery+staple",
                ))
                .expect("request"),
        )
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (status, headers, _) = h
        .send(request(None, Method::GET, "/login", None, &[]))
        .await;
    assert_eq!(status, StatusCode::OK);
    let cookie = headers[header::SET_COOKIE]
        .to_str()
        .expect("ascii")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let token = cookie.split('=').nth(1).expect("value").to_owned();
    let response = h
        .router()
        .oneshot(
            Request::post("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, &cookie)
                .body(Body::from(format!(
                    "csrf={token}&username=mike&password=nope"
                )))
                .expect("request"),
        )
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_bodies_are_problems_naming_the_field() {
    let h = Harness::new().await;
    let token = h.token(Some("mike"));
    let path = "/api/v1/items/api-endpoints/status";
    let send_raw = |body: &'static str, content_type: &'static str| {
        let mut builder = Request::post(path).header(header::CONTENT_TYPE, content_type);
        if let Some(token) = &token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        builder.body(Body::from(body)).expect("request")
    };
    let (status, headers, value) = h.send(send_raw("{\"status\": ", "application/json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{value}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    let (status, _, value) = h
        .send(send_raw("{\"status\": 3}", "application/json"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    assert_eq!(value["field"], "status", "{value}");
    let (status, _, value) = h
        .send(send_raw(
            "{\"status\": \"testing\", \"colour\": \"red\"}",
            "application/json",
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    assert_eq!(value["field"], "colour", "{value}");
    let (status, _, value) = h
        .send(send_raw("{\"status\": \"done\"}", "application/json"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    assert_eq!(value["field"], "status");
    let (status, _, _) = h.send(send_raw("status=testing", "text/plain")).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = json!({"status": "testing", "reason": "x".repeat(300 * 1024)});
    let (status, _, value) = h
        .send(request(
            token.as_deref(),
            Method::POST,
            path,
            Some(huge.to_string()),
            &[],
        ))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{value}");
    let (status, _, value) = h
        .send(request(
            token.as_deref(),
            Method::POST,
            "/api/v1/items/nope/status",
            move_to("testing").map(|b| b.to_string()),
            &[],
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{value}");
    assert_eq!(h.item_status().await, "planning");
}

#[tokio::test]
async fn invalid_pagination_is_400_and_pages_follow_the_cursor() {
    let h = Harness::new().await;
    for query in [
        "limit=0",
        "limit=-1",
        "limit=abc",
        "limit=1001",
        "cursor=..%2f",
        "colour=red",
        "limit=1&limit=2",
    ] {
        let (status, value) = h
            .call(
                Some("viewer"),
                Method::GET,
                &format!("/api/v1/items?{query}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {value}");
    }
    let (status, value) = h
        .call(Some("viewer"), Method::GET, "/api/v1/items?limit=1", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(value["items"][0]["name"], "api-endpoints");
    assert_eq!(value["nextCursor"], "api-endpoints");
    let (_, value) = h
        .call(
            Some("viewer"),
            Method::GET,
            "/api/v1/items?limit=1&cursor=api-endpoints",
            None,
        )
        .await;
    assert_eq!(value["items"][0]["name"], "dashboard");
    assert_eq!(value["nextCursor"], Value::Null);
    let (_, value) = h
        .call(
            Some("viewer"),
            Method::GET,
            "/api/v1/items?team=frontend",
            None,
        )
        .await;
    assert_eq!(value["items"].as_array().map(Vec::len), Some(1));
    let (status, _) = h
        .call(Some("viewer"), Method::GET, "/api/v1/history?limit=0", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn stale_if_match_is_412_and_current_one_succeeds() {
    let h = Harness::new().await;
    let token = h.token(Some("mike"));
    let (status, headers, _) = h
        .send(request(
            token.as_deref(),
            Method::GET,
            "/api/v1/items/api-endpoints",
            None,
            &[],
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let tag = headers[header::ETAG].to_str().expect("ascii").to_owned();
    let path = "/api/v1/items/api-endpoints/status";
    let (status, headers, value) = h
        .send(request(
            token.as_deref(),
            Method::POST,
            path,
            move_to("testing").map(|b| b.to_string()),
            &[("if-match", &tag)],
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_ne!(headers[header::ETAG].to_str().expect("ascii"), tag);
    let (status, _, value) = h
        .send(request(
            token.as_deref(),
            Method::POST,
            path,
            move_to("staging").map(|b| b.to_string()),
            &[("if-match", &tag)],
        ))
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{value}");
    assert_eq!(h.item_status().await, "testing");
    // Something that is not an entity tag is a bad request; a weak tag never matches
    // (RFC 9110 compares If-Match strongly), even the current version.
    let (_, headers, _) = h
        .send(request(
            token.as_deref(),
            Method::GET,
            "/api/v1/items/api-endpoints",
            None,
            &[],
        ))
        .await;
    let current = headers[header::ETAG].to_str().expect("ascii").to_owned();
    for (if_match, expected) in [
        ("garbage".to_owned(), StatusCode::BAD_REQUEST),
        (format!("W/{current}"), StatusCode::PRECONDITION_FAILED),
    ] {
        let (status, _, value) = h
            .send(request(
                token.as_deref(),
                Method::POST,
                path,
                move_to("staging").map(|b| b.to_string()),
                &[("if-match", &if_match)],
            ))
            .await;
        assert_eq!(status, expected, "{if_match}: {value}");
    }
    assert_eq!(h.item_status().await, "testing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_with_one_idempotency_key_all_replay_the_first() {
    let h = Harness::new().await;
    let token = h.token(Some("mike"));
    let body = json!({"date": "2030-01-10", "text": "started"}).to_string();
    let mut retries = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (app, token, body) = (h.app.clone(), token.clone(), body.clone());
        retries.spawn(async move {
            common::send(
                &app,
                request(
                    token.as_deref(),
                    Method::POST,
                    "/api/v1/items/api-endpoints/updates",
                    Some(body),
                    &[("idempotency-key", "k-race")],
                ),
            )
            .await
        });
    }
    let mut replayed = 0;
    let mut bodies = std::collections::BTreeSet::new();
    while let Some(joined) = retries.join_next().await {
        let (status, headers, value) = joined.expect("task");
        assert_eq!(status, StatusCode::OK, "{value}");
        replayed += usize::from(headers.contains_key("idempotent-replayed"));
        bodies.insert(value.to_string());
    }
    assert_eq!(replayed, 7, "all but the first replay it");
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let (_, value) = h
        .call(
            Some("mike"),
            Method::GET,
            "/api/v1/items/api-endpoints",
            None,
        )
        .await;
    assert_eq!(value["item"]["updates"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn idempotency_key_replays_the_same_request_and_refuses_another() {
    let h = Harness::new().await;
    let token = h.token(Some("mike"));
    let path = "/api/v1/items/api-endpoints/updates";
    let body = json!({"date": "2030-01-10", "text": "started"});
    let key = [("idempotency-key", "k-1")];
    let (first, _, first_body) = h
        .send(request(
            token.as_deref(),
            Method::POST,
            path,
            Some(body.clone().to_string()),
            &key,
        ))
        .await;
    assert_eq!(first, StatusCode::OK, "{first_body}");
    let (second, headers, second_body) = h
        .send(request(
            token.as_deref(),
            Method::POST,
            path,
            Some(body.to_string()),
            &key,
        ))
        .await;
    assert_eq!(second, StatusCode::OK);
    assert_eq!(headers["idempotent-replayed"], "true");
    assert_eq!(first_body, second_body);
    let other = json!({"date": "2030-01-10", "text": "something else"});
    let (status, _, value) = h
        .send(request(
            token.as_deref(),
            Method::POST,
            path,
            Some(other.to_string()),
            &key,
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    let (_, value) = h
        .call(
            Some("mike"),
            Method::GET,
            "/api/v1/items/api-endpoints",
            None,
        )
        .await;
    assert_eq!(value["item"]["updates"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn domain_rejections_are_422_and_live_feed_sees_commits() {
    let h = Harness::new().await;
    let mut feed = h.app.subscribe();
    let cycle = json!({"blocker": "dashboard", "blocked": "api-endpoints"});
    let (status, value) = h
        .call(
            Some("rita"),
            Method::POST,
            "/api/v1/dependencies",
            Some(cycle),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    assert!(
        value["detail"]
            .as_str()
            .is_some_and(|d| d.contains("cycle")),
        "{value}"
    );
    let (status, _) = h
        .call(
            Some("mike"),
            Method::POST,
            "/api/v1/items/api-endpoints/status",
            move_to("testing"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let change = feed.try_recv().expect("a change was published");
    assert_eq!(change.kind, "ItemStatusChanged");
    assert_eq!(change.release.as_deref(), Some("r1"));
    assert_eq!(change.actor, "mike");
}

#[tokio::test]
async fn static_files_come_only_from_the_embedded_set() {
    let h = Harness::new().await;
    let (status, headers, _) = h
        .send(request(None, Method::GET, "/static/app.css", None, &[]))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .expect("ascii")
            .starts_with("text/css")
    );
    for path in [
        "/static/..%2fCargo.toml",
        "/static/../Cargo.toml",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static//etc/passwd",
        "/static/app.css%00",
    ] {
        let (status, _, _) = h.send(request(None, Method::GET, path, None, &[])).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn every_response_carries_security_headers() {
    let h = Harness::new().await;
    for path in [
        "/login",
        "/api/v1/items",
        "/static/live.js",
        "/nope",
        "/healthz",
    ] {
        let (_, headers, _) = h.send(request(None, Method::GET, path, None, &[])).await;
        let csp = headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii");
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(headers.contains_key(header::REFERRER_POLICY));
    }
}

#[tokio::test]
async fn pages_send_anonymous_users_to_login_and_render_for_users() {
    let h = Harness::new().await;
    let response = h
        .router()
        .oneshot(request(None, Method::GET, "/releases/r1", None, &[]))
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (cookie, _) = log_in(&h, "rita").await;
    for path in [
        "/",
        "/releases/r1",
        "/teams/api",
        "/items/dashboard",
        "/calendar",
        "/metrics",
        "/metrics?from=2020-01-01&to=2030-12-31",
        "/releases/r1/retrospective",
        "/releases/r1/coordination",
        "/lessons",
    ] {
        let (status, _, page) = h
            .send(request(
                None,
                Method::GET,
                path,
                None,
                &[("cookie", &cookie)],
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let html = page.as_str().expect("html");
        assert!(!html.contains("<script>"), "no inline script on {path}");
        if path == "/metrics?from=2020-01-01&to=2030-12-31" {
            // The period form shows the period asked for, ready to change.
            assert!(
                html.contains(r#"<input type="date" name="from" value="2020-01-01" required>"#)
                    && html
                        .contains(r#"<input type="date" name="to" value="2030-12-31" required>"#),
                "{html}"
            );
        }
        if path == "/metrics" {
            assert!(html.contains("<h1>Metrics</h1>"), "{html}");
            assert!(html.contains("deployment success"), "{html}");
            assert!(html.contains("<h2>Coordination per release"), "{html}");
            assert!(
                html.contains(r#"<a href="/metrics" aria-current="page">"#),
                "{html}"
            );
        }
        if path == "/releases/r1/retrospective" {
            assert!(
                html.contains("<dt><b>Did we hit our dates?</b></dt>"),
                "{html}"
            );
            assert!(html.contains("<dd>Not released yet (planned)"), "{html}");
        }
        if path == "/" {
            // The release list says the verdict, not only the dates: r1 has no signals.
            assert!(
                html.contains(r#"<td data-verdict><span class="badge risk">no-go</span>"#),
                "{html}"
            );
        }
    }
    let (_, _, page) = h
        .send(request(
            None,
            Method::GET,
            "/releases/r1",
            None,
            &[("cookie", &cookie)],
        ))
        .await;
    let html = page.as_str().expect("html");
    assert!(
        html.contains("<svg") && html.contains("data-move=\"dashboard\""),
        "{html}"
    );

    // A page that cannot be shown is a page too, for a browser; a script or the CLI asking
    // the same path, and every API path, still get the problem document.
    let browser = "text/html,application/xhtml+xml,*/*;q=0.8";
    for (path, status, says) in [
        ("/items/nope", StatusCode::NOT_FOUND, "nope"),
        ("/releases", StatusCode::NOT_FOUND, "/releases"),
        (
            "/metrics?from=2026-12-01&to=2026-11-01",
            StatusCode::BAD_REQUEST,
            "the period starts (2026-12-01) after it ends (2026-11-01)",
        ),
    ] {
        let headers = [("cookie", cookie.as_str()), ("accept", browser)];
        let (got, headers, page) = h
            .send(request(None, Method::GET, path, None, &headers))
            .await;
        assert_eq!(got, status, "{path}: {page}");
        assert!(
            headers[header::CONTENT_TYPE]
                .as_bytes()
                .starts_with(b"text/html"),
            "{path}"
        );
        let html = page.as_str().expect("html");
        assert!(
            html.contains(says) && html.contains(r#"<a href="/">Back to the releases</a>"#),
            "{path}: {html}"
        );
        let (got, headers, problem) = h
            .send(request(
                None,
                Method::GET,
                path,
                None,
                &[("cookie", &cookie)],
            ))
            .await;
        assert_eq!(got, status, "{path}");
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/problem+json",
            "{path}: {problem}"
        );
    }
    let (_, headers, _) = h
        .send(request(
            None,
            Method::GET,
            "/api/v1/items/nope",
            None,
            &[("cookie", &cookie), ("accept", browser)],
        ))
        .await;
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
}

#[tokio::test]
async fn openapi_document_lists_every_route_the_tests_exercise() {
    let h = Harness::new().await;
    let (status, _) = h
        .call(None, Method::GET, "/api/v1/openapi.json", None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "every /api/v1 route needs a principal"
    );
    let (status, value) = h
        .call(Some("viewer"), Method::GET, "/api/v1/openapi.json", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(value["openapi"], "3.1.0");
    let paths = value["paths"].as_object().expect("paths");
    for (method, path) in [
        ("post", "/api/v1/items/{name}/status"),
        ("post", "/api/v1/items/{name}/eta"),
        ("post", "/api/v1/items/{name}/updates"),
        ("post", "/api/v1/dependencies"),
        ("delete", "/api/v1/dependencies/{blocker}/{blocked}"),
        ("put", "/api/v1/releases/{name}"),
        ("post", "/api/v1/releases/{name}/items"),
        ("get", "/api/v1/items"),
        ("get", "/api/v1/events"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn every_documented_operation_reaches_a_handler() {
    let h = Harness::new().await;
    let (_, document) = h
        .call(Some("viewer"), Method::GET, "/api/v1/openapi.json", None)
        .await;
    let paths = document["paths"].as_object().expect("paths");
    let mut n_operations = 0;
    for (path, item) in paths {
        // The live feed never ends; it is exercised by the live-feed test.
        if path == "/api/v1/events" {
            continue;
        }
        let concrete = path.replace(['{', '}'], "");
        for method in item.as_object().expect("path item").keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            // A viewer: reads answer, writes are refused, so the probe changes nothing.
            let (status, value) = h
                .call(Some("viewer"), method.clone(), &concrete, None)
                .await;
            assert_ne!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is documented but not routed"
            );
            assert!(
                !value["type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("/no-route")),
                "{method} {path} is documented but not routed: {value}"
            );
            n_operations += 1;
        }
    }
    assert!(n_operations > 30, "{n_operations}");
}

#[tokio::test]
async fn free_text_longer_than_the_api_accepts_is_refused_by_field_and_writes_nothing() {
    let h = Harness::new().await;
    let (_, before) = h
        .call(Some("admin"), Method::GET, "/api/v1/history?last=1", None)
        .await;
    let long = |n: usize| "x".repeat(n);
    let cases = [
        (
            "/api/v1/items/api-endpoints/eta",
            json!({"eta": "2030-02-20", "reason": long(2_001)}),
            "reason",
        ),
        (
            "/api/v1/items/api-endpoints/updates",
            json!({"date": "2030-01-10", "text": long(10_001)}),
            "text",
        ),
        (
            "/api/v1/apply",
            json!({"sources": [{"name": "a.yaml", "text": "kind: Team"}], "reason": long(2_001)}),
            "reason",
        ),
    ];
    for (path, body, field) in cases {
        let (status, value) = h.call(Some("admin"), Method::POST, path, Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {value}");
        assert_eq!(value["field"], field, "{path}: {value}");
        assert!(
            value["detail"]
                .as_str()
                .is_some_and(|d| d.contains("at most")),
            "{path}: {value}"
        );
    }
    let (_, after) = h
        .call(Some("admin"), Method::GET, "/api/v1/history?last=1", None)
        .await;
    assert_eq!(before, after);
    // At the limit, the same write goes through.
    let (status, value) = h
        .call(
            Some("admin"),
            Method::POST,
            "/api/v1/items/api-endpoints/eta",
            Some(json!({"eta": "2030-02-20", "reason": long(2_000)})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
}

#[tokio::test]
async fn a_method_a_route_does_not_have_is_a_problem_with_the_allowed_ones() {
    let h = Harness::new().await;
    let token = h.token(Some("rita"));
    let (status, headers, value) = h
        .send(request(
            token.as_deref(),
            Method::DELETE,
            "/api/v1/releases/q1-2025",
            None,
            &[],
        ))
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    assert!(
        value["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("/method-not-allowed")),
        "{value}"
    );
    assert_eq!(
        value["detail"],
        "DELETE is not allowed on /api/v1/releases/q1-2025"
    );
    let allow = headers
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(allow.contains("GET") && allow.contains("PUT"), "{allow}");
}

async fn body_text(response: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body reads");
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test]
async fn feed_tokens_come_from_the_api_and_the_subscribe_page_and_rotate() {
    let h = Harness::new().await;
    // Over the API: a new token and the paths it opens, shown once.
    let (status, value) = h
        .call(Some("mike"), Method::POST, "/api/v1/me/feed-token", None)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{value}");
    let token = value["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("lsf_"), "{token}");
    assert_eq!(value["team"], format!("/feeds/{token}/teams/api.ics"));
    let release_path = value["releases"]["r1"].as_str().expect("r1").to_owned();
    assert_eq!(release_path, format!("/feeds/{token}/releases/r1.ics"));
    let (status, headers, feed) = h
        .send(request(None, Method::GET, &release_path, None, &[]))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/calendar; charset=utf-8"
    );
    assert!(
        feed.as_str()
            .is_some_and(|f| f.contains("UID:release/r1@lockstep")),
        "{feed}"
    );
    let (status, _) = h
        .call(None, Method::POST, "/api/v1/me/feed-token", None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // It takes no body: one is refused, not ignored, and the token stays as it is.
    let mike = h.token(Some("mike"));
    for (content_type, body, expected) in [
        (
            "application/json",
            r#"{"x": 1}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("application/json", "{bad json", StatusCode::BAD_REQUEST),
        ("text/plain", "hi", StatusCode::UNSUPPORTED_MEDIA_TYPE),
    ] {
        let (status, _, value) = h
            .send(request(
                mike.as_deref(),
                Method::POST,
                "/api/v1/me/feed-token",
                Some(body.to_owned()),
                &[("content-type", content_type)],
            ))
            .await;
        assert_eq!(status, expected, "{body}: {value}");
    }
    let (status, _, _) = h
        .send(request(None, Method::GET, &release_path, None, &[]))
        .await;
    assert_eq!(status, StatusCode::OK, "the token still works");

    // On the dashboard: the release page links to the subscribe page, whose form makes
    // a new token (the API's one stops working) and shows the links once.
    let (cookie, csrf) = log_in(&h, "mike").await;
    let (_, _, page) = h
        .send(request(
            None,
            Method::GET,
            "/releases/r1",
            None,
            &[("cookie", &cookie)],
        ))
        .await;
    assert!(
        page.as_str()
            .is_some_and(|p| p.contains(r#"href="/feeds?release=r1""#)),
        "{page}"
    );
    let (status, _, page) = h
        .send(request(
            None,
            Method::GET,
            "/feeds?release=r1",
            None,
            &[("cookie", &cookie)],
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.as_str()
            .is_some_and(|p| p.contains(r#"action="/feeds""#))
    );
    let post = |form: String| {
        Request::post("/feeds")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, &cookie)
            .header(header::HOST, "lockstep.example.com")
            .body(Body::from(form))
            .expect("request")
    };
    let refused = h
        .router()
        .oneshot(post("csrf=wrong&release=r1".to_owned()))
        .await
        .expect("answer");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let made = h
        .router()
        .oneshot(post(format!("csrf={csrf}&release=r1")))
        .await
        .expect("answer");
    assert_eq!(made.status(), StatusCode::OK);
    assert_eq!(made.headers()[header::CACHE_CONTROL], "no-store");
    let html = body_text(made).await;
    let link = html
        .split("<code>")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("a link")
        .to_owned();
    assert!(
        link.starts_with("http://lockstep.example.com/feeds/lsf_")
            && link.ends_with("/releases/r1.ics"),
        "{link}"
    );
    assert!(
        html.contains("webcal://lockstep.example.com/feeds/lsf_"),
        "{html}"
    );
    let (status, _, _) = h
        .send(request(None, Method::GET, &release_path, None, &[]))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the API's token was rotated");
    let path = link.trim_start_matches("http://lockstep.example.com");
    let (status, _, _) = h.send(request(None, Method::GET, path, None, &[])).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_runbook_of_a_release_without_a_deployment_plan_is_refused_by_the_rules() {
    let h = Harness::new().await;
    let (status, value) = h
        .call(
            Some("rita"),
            Method::GET,
            "/api/v1/releases/r1/runbook",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{value}");
    assert_eq!(
        value["type"], "https://lockstep.dev/problems/rejected",
        "not a complaint about a body a GET does not have: {value}"
    );
    assert_eq!(value["field"], "spec.deployment", "{value}");
}

#[tokio::test]
async fn a_team_member_points_their_item_only_at_their_own_teams_components() {
    let h = Harness::new().await;
    for (component, team) in [("api-svc", "api"), ("web-ui", "frontend")] {
        check(
            &h,
            "admin",
            Method::POST,
            "/api/v1/components",
            Some(json!({"name": component, "spec": {"team": team}})),
            StatusCode::CREATED,
        )
        .await;
    }
    let item = |component: &str| {
        Some(json!({"release": "r1", "spec": {
            "title": "API endpoints", "team": "api", "component": component, "due": "2030-02-08",
        }}))
    };
    check(
        &h,
        "mike",
        Method::PUT,
        "/api/v1/items/api-endpoints",
        item("web-ui"),
        StatusCode::FORBIDDEN,
    )
    .await;
    check(
        &h,
        "mike",
        Method::PUT,
        "/api/v1/items/api-endpoints",
        item("api-svc"),
        StatusCode::OK,
    )
    .await;
}

#[tokio::test]
async fn risks_are_listed_with_their_chains_and_shown_on_the_item() {
    let h = Harness::new().await;
    let (status, value) = h
        .call(Some("viewer"), Method::GET, "/api/v1/risks", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["items"], json!([]), "nothing slipped yet: {value}");
    // The API item's ETA slips past its due date and what the dashboard needs.
    check(
        &h,
        "mike",
        Method::POST,
        "/api/v1/items/api-endpoints/eta",
        Some(json!({"eta": "2030-02-20"})),
        StatusCode::OK,
    )
    .await;
    let (status, value) = h
        .call(
            Some("viewer"),
            Method::GET,
            "/api/v1/risks?release=r1",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    let at_risk: Vec<&str> = value["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["item"].as_str())
        .collect();
    assert!(at_risk.contains(&"api-endpoints"), "{value}");
    let (_, item) = h
        .call(
            Some("viewer"),
            Method::GET,
            "/api/v1/items/api-endpoints",
            None,
        )
        .await;
    assert!(
        item["risk"]["chain"][0]
            .as_str()
            .is_some_and(|link| link.contains("ETA")),
        "{item}"
    );
    let (status, _) = h
        .call(
            Some("viewer"),
            Method::GET,
            "/api/v1/risks?release=r9",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn lessons_are_kept_with_the_release_and_answer_the_retrospectives_last_question() {
    let h = Harness::new().await;
    let lessons = "/api/v1/releases/r1/lessons";
    let text = "Agree the API contract before the sprint starts";
    let (status, value) = h
        .call(
            Some("sarah"),
            Method::POST,
            lessons,
            Some(json!({ "text": text })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(
        value["events"][0]["event"]["type"], "LessonRecorded",
        "{value}"
    );
    // The same lesson again (a retried request) is kept once.
    let (_, again) = h
        .call(
            Some("sarah"),
            Method::POST,
            lessons,
            Some(json!({ "text": text })),
        )
        .await;
    assert_eq!(again["events"], json!([]), "{again}");
    let (_, retro) = h
        .call(
            Some("viewer"),
            Method::GET,
            "/api/v1/releases/r1/retrospective",
            None,
        )
        .await;
    let differently = &retro["sections"][3]["questions"][2];
    assert_eq!(differently["question"], "What would we do differently?");
    assert_eq!(
        differently["facts"],
        json!([format!("{text} (sarah, 2030-01-10).")]),
        "{retro}"
    );
    for (user, body, expected) in [
        ("viewer", json!({ "text": "x" }), StatusCode::FORBIDDEN),
        (
            "sarah",
            json!({ "text": "  " }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "sarah",
            json!({ "lesson": "x" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "sarah",
            json!({ "text": "a\u{0007}b" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, value) = h
            .call(Some(user), Method::POST, lessons, Some(body.clone()))
            .await;
        assert_eq!(status, expected, "{user} {body}: {value}");
    }
    let (status, _) = h
        .call(
            Some("sarah"),
            Method::POST,
            "/api/v1/releases/nope/lessons",
            Some(json!({ "text": "x" })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, page) = h
        .call(
            Some("sarah"),
            Method::GET,
            "/releases/r1/retrospective",
            None,
        )
        .await;
    let html = page.as_str().unwrap_or_default();
    assert!(
        html.contains(text) && html.contains(r#"data-lesson="r1""#),
        "{html}"
    );
    let (_, page) = h
        .call(
            Some("viewer"),
            Method::GET,
            "/releases/r1/retrospective",
            None,
        )
        .await;
    assert!(
        !page.as_str().unwrap_or_default().contains("data-lesson"),
        "viewers keep none"
    );
}

#[tokio::test]
async fn lessons_of_every_release_are_searchable_and_shown_while_the_next_is_planned() {
    let h = Harness::new().await;
    let (status, value) = h
        .call(
            Some("rita"),
            Method::POST,
            "/api/v1/releases",
            Some(json!({ "name": "r2", "spec": { "targetDate": "2030-06-01" } })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{value}");
    for text in [
        "Agree the API <contract> before the sprint starts",
        "Book staging a week ahead",
    ] {
        let (status, value) = h
            .call(
                Some("sarah"),
                Method::POST,
                "/api/v1/releases/r1/lessons",
                Some(json!({ "text": text })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{value}");
    }
    let (_, all) = h
        .call(Some("viewer"), Method::GET, "/api/v1/lessons", None)
        .await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(2), "{all}");
    assert_eq!(all["items"][0]["release"], "r1");
    let (_, found) = h
        .call(
            Some("viewer"),
            Method::GET,
            "/api/v1/lessons?q=STAGING",
            None,
        )
        .await;
    assert_eq!(
        found["items"],
        json!([{ "release": "r1", "text": "Book staging a week ahead", "by": "sarah",
            "at": all["items"][0]["at"] }]),
        "{found}"
    );
    let (status, _) = h
        .call(
            Some("viewer"),
            Method::GET,
            "/api/v1/lessons?team=api",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The next release, being planned, shows them; r1's own page does not repeat its own.
    let (_, page) = h
        .call(Some("viewer"), Method::GET, "/releases/r2", None)
        .await;
    let html = page.as_str().unwrap_or_default();
    assert!(
        html.contains("Lessons from earlier releases")
            && html.contains("Agree the API &lt;contract&gt; before the sprint starts"),
        "{html}"
    );
    let (_, page) = h
        .call(Some("viewer"), Method::GET, "/releases/r1", None)
        .await;
    assert!(
        !page
            .as_str()
            .unwrap_or_default()
            .contains("Lessons from earlier releases")
    );
    let (_, page) = h
        .call(Some("viewer"), Method::GET, "/lessons?q=contract", None)
        .await;
    let html = page.as_str().unwrap_or_default();
    assert!(
        html.contains("&lt;contract&gt;") && !html.contains("Book staging"),
        "{html}"
    );
}

#[tokio::test]
async fn what_an_automation_account_does_is_listed_but_counted_as_no_ones_time() {
    let mut h = Harness::new().await;
    let ci = lockstep_server::auth::NewUser {
        admin: true,
        automation: true,
        ..lockstep_server::auth::NewUser::named("ci")
    };
    h.app.add_user(&ci, Some("ci-password")).await.expect("ci");
    let token = h.app.issue_token("ci").await.expect("token");
    h.tokens.insert("ci", token);
    let eta = "/api/v1/items/api-endpoints/eta";
    for (user, day) in [("ci", "2030-02-09"), ("mike", "2030-02-10")] {
        let (status, value) = h
            .call(Some(user), Method::POST, eta, Some(json!({ "eta": day })))
            .await;
        assert_eq!(status, StatusCode::OK, "{value}");
    }
    let records = "/api/v1/releases/r1/coordination";
    let (_, report) = h.call(Some("viewer"), Method::GET, records, None).await;
    let actors = |key: &str| -> Vec<String> {
        report[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|time| time["actor"].as_str().map(str::to_owned))
            .collect()
    };
    // The fixture that set the program up acted too, a minute's sitting.
    assert_eq!(actors("inTool"), ["fixture", "mike"], "{report}");
    assert_eq!(actors("automation"), ["ci"], "{report}");
    assert_eq!(report["inToolMinutes"], 2, "{report}");
    let (_, page) = h
        .call(
            Some("viewer"),
            Method::GET,
            "/releases/r1/coordination",
            None,
        )
        .await;
    let html = page.as_str().unwrap_or_default();
    assert!(
        html.contains("automation accounts did, ci (1 action)"),
        "{html}"
    );
}

#[tokio::test]
async fn coordination_time_is_recorded_retracted_and_counted_with_the_time_in_lockstep() {
    let h = Harness::new().await;
    let records = "/api/v1/releases/r1/coordination";
    let meeting = json!({ "activity": "meeting", "minutes": 30, "people": 6,
        "note": "dependency sync" });
    let (status, value) = h
        .call(Some("sarah"), Method::POST, records, Some(meeting.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["events"][0]["event"]["type"], "CoordinationRecorded");
    let entry = &value["resource"]["entries"][0];
    assert_eq!(
        (&entry["number"], &entry["on"], &entry["by"]),
        (&json!(1), &json!("2030-01-10"), &json!("sarah")),
        "{value}"
    );
    // A slip of the finger, and its retraction: mike may not take back sarah's record,
    // she and the release manager may.
    let (_, typo) = h
        .call(
            Some("sarah"),
            Method::POST,
            records,
            Some(json!({ "minutes": 450, "people": 6 })),
        )
        .await;
    assert_eq!(
        typo["resource"]["entries"][1]["activity"], "meeting",
        "{typo}"
    );
    let retract = "/api/v1/releases/r1/coordination/2/retract";
    let (status, value) = h.call(Some("mike"), Method::POST, retract, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{value}");
    let (status, value) = h.call(Some("sarah"), Method::POST, retract, None).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(
        value["resource"]["entries"][1]["retracted"]["by"], "sarah",
        "{value}"
    );
    let (_, report) = h.call(Some("viewer"), Method::GET, records, None).await;
    assert_eq!(report["recordedMinutes"], 180, "{report}");
    assert_eq!(report["targetMinutes"], 15);
    // Sarah acted three times within a minute (the clock is fixed): one sitting.
    let sarah = report["inTool"]
        .as_array()
        .and_then(|people| people.iter().find(|p| p["actor"] == "sarah"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (&sarah["actions"], &sarah["minutes"]),
        (&json!(1), &json!(1)),
        "{report}"
    );
    assert_eq!(
        report["totalMinutes"].as_u64(),
        Some(180 + report["inToolMinutes"].as_u64().unwrap_or_default()),
        "{report}"
    );
    for (user, path, body, expected) in [
        ("viewer", records, meeting.clone(), StatusCode::FORBIDDEN),
        (
            "sarah",
            records,
            json!({ "minutes": 0 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "sarah",
            records,
            json!({ "minutes": 30, "people": 0 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "sarah",
            records,
            json!({ "minutes": 30, "on": "2030-01-11" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "sarah",
            records,
            json!({ "minutes": 30, "activity": "lunch" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "sarah",
            records,
            json!({ "minutes": -5 }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "sarah",
            records,
            json!({ "minutes": 30, "room": "4b" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "sarah",
            "/api/v1/releases/nope/coordination",
            meeting.clone(),
            StatusCode::NOT_FOUND,
        ),
        (
            "sarah",
            "/api/v1/releases/r1/coordination/9/retract",
            json!({}),
            StatusCode::NOT_FOUND,
        ),
        (
            "sarah",
            "/api/v1/releases/r1/coordination/two/retract",
            json!({}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, value) = h
            .call(Some(user), Method::POST, path, Some(body.clone()))
            .await;
        assert_eq!(status, expected, "{user} {path} {body}: {value}");
    }
    let (_, after) = h.call(Some("viewer"), Method::GET, records, None).await;
    assert_eq!(
        after["entries"].as_array().map(Vec::len),
        Some(2),
        "refusals record nothing"
    );
    for (user, score, comment) in [("sarah", 2, "heard of the slip late"), ("rita", 4, "")] {
        let (status, value) = h
            .call(
                Some(user),
                Method::POST,
                "/api/v1/releases/r1/coordination/rating",
                Some(json!({ "score": score, "comment": comment })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{value}");
    }
    let (status, _) = h
        .call(
            Some("sarah"),
            Method::POST,
            "/api/v1/releases/r1/coordination/rating",
            Some(json!({ "score": 9 })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, rated) = h.call(Some("viewer"), Method::GET, records, None).await;
    assert_eq!(rated["satisfaction"], 3.0, "{rated}");
    let (_, retro) = h
        .call(
            Some("viewer"),
            Method::GET,
            "/api/v1/releases/r1/retrospective",
            None,
        )
        .await;
    let cadence = &retro["sections"][3]["questions"][1];
    assert_eq!(cadence["question"], "Did communication cadence work?");
    assert!(
        cadence["facts"][0]
            .as_str()
            .is_some_and(|fact| fact.contains("180 recorded (1 meeting)")),
        "{retro}"
    );
    assert_eq!(
        cadence["facts"][1],
        "Rated 3.0 of 5 by 2 people; lowest: 2 by sarah (\"heard of the slip late\").",
        "{retro}"
    );
    // The release page shows the figure so far.
    let (_, page) = h
        .call(Some("viewer"), Method::GET, "/releases/r1", None)
        .await;
    let (_, now) = h.call(Some("viewer"), Method::GET, records, None).await;
    let total = format!("<b>{} min</b>", now["totalMinutes"]);
    assert!(
        page.as_str().is_some_and(|html| html.contains(&total)),
        "{total}: {page}"
    );
    let (_, page) = h
        .call(
            Some("sarah"),
            Method::GET,
            "/releases/r1/coordination",
            None,
        )
        .await;
    let html = page.as_str().unwrap_or_default();
    assert!(
        html.contains("dependency sync")
            && html.contains(r#"data-coordination-form="r1""#)
            && html.contains(r#"data-retract="r1" data-number="1""#)
            && html.contains("retracted by sarah")
            && html.contains(r#"data-rating-form="r1""#)
            && html.contains("heard of the slip late"),
        "{html}"
    );
    let (_, page) = h
        .call(
            Some("viewer"),
            Method::GET,
            "/releases/r1/coordination",
            None,
        )
        .await;
    let html = page.as_str().unwrap_or_default();
    assert!(
        !html.contains("data-coordination-form") && !html.contains("data-retract"),
        "viewers record nothing: {html}"
    );
}

#[tokio::test]
async fn metrics_and_retrospectives_follow_the_log_as_it_grows() {
    let h = Harness::new().await;
    let (status, value) = h
        .call(Some("viewer"), Method::GET, "/api/v1/metrics", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    assert_eq!(value["releasesShipped"], 0, "{value}");
    assert_eq!(value["runs"]["rolledBack"], 0, "{value}");
    let retro_path = "/api/v1/releases/r1/retrospective";
    let (status, before) = h.call(Some("viewer"), Method::GET, retro_path, None).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    // Two ETAs: the first is a plan, the second a slip of five days.
    for eta in ["2030-02-20", "2030-02-25"] {
        check(
            &h,
            "mike",
            Method::POST,
            "/api/v1/items/api-endpoints/eta",
            Some(json!({ "eta": eta })),
            StatusCode::OK,
        )
        .await;
    }
    let (status, after) = h.call(Some("viewer"), Method::GET, retro_path, None).await;
    assert_eq!(status, StatusCode::OK, "{after}");
    let delays = &after["sections"][0]["questions"][1];
    assert_eq!(delays["question"], "What caused delays?");
    let facts: Vec<&str> = delays["facts"]
        .as_array()
        .expect("facts")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        facts
            .iter()
            .any(|f| f
                .starts_with("api-endpoints ETA 2030-02-20 → 2030-02-25 (+5 d), reported by mike")),
        "{facts:?}"
    );
    assert_ne!(before, after, "the ledger folds what was committed since");
    for (path, field) in [
        ("/api/v1/metrics?from=soon", "from"),
        ("/api/v1/metrics?to=2025-02-30", "to"),
        ("/api/v1/metrics?from=2025-03-01&to=2025-02-01", "to"),
        ("/api/v1/metrics?from=2026-01-01&to=9999-12-31", "to"),
        ("/api/v1/metrics?from=2026-01-01&to=9999-12-30", "to"),
        ("/api/v1/metrics?from=-009999-01-01&to=2026-01-01", "from"),
        ("/api/v1/metrics?release=r1", "release"),
    ] {
        let (status, value) = h.call(Some("viewer"), Method::GET, path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {value}");
        assert_eq!(value["field"], field, "{path}: {value}");
        let detail = value["detail"].as_str().unwrap_or_default();
        assert!(
            !detail.contains("overflow") && !detail.contains("parameter '"),
            "a person's words, not the date library's: {detail}"
        );
    }
    let (status, value) = h
        .call(
            Some("viewer"),
            Method::GET,
            "/api/v1/releases/nope/retrospective",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{value}");
    let (status, _) = h.call(None, Method::GET, "/api/v1/metrics", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// The files of `examples/DIR` for `/api/v1/apply`, in name order.
fn example_sources(dirs: &[&str]) -> Vec<Value> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let mut sources = Vec::new();
    for dir in dirs {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("an example directory")
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).expect("an example file");
            sources.push(json!({ "name": path.display().to_string(), "text": text }));
        }
    }
    sources
}

/// The example program and its release calendar, applied by the administrator.
async fn with_release_calendar() -> Harness {
    let h = Harness::with(Vec::new()).await;
    let sources = example_sources(&["q1-2025", "release-calendar"]);
    let (status, value) = h
        .call(
            Some("admin"),
            Method::POST,
            "/api/v1/apply",
            Some(json!({ "sources": sources })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    h
}

#[tokio::test]
async fn the_calendar_lists_a_period_with_its_rules_and_conflicts_as_json_and_as_a_page() {
    let h = with_release_calendar().await;

    let december = "from=2025-12-15&to=2025-12-28";
    let (status, calendar) = h
        .call(
            Some("viewer"),
            Method::GET,
            &format!("/api/v1/calendar?{december}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{calendar}");
    assert_eq!(
        (&calendar["from"], &calendar["to"]),
        (&json!("2025-12-15"), &json!("2025-12-29"))
    );
    let departure = calendar["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["kind"] == "deployment" && e["release"] == "web-2025-12-23")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (&departure["start"], &departure["timeZone"]),
        (&json!("2025-12-23T15:00:00Z"), &json!("America/New_York")),
        "{calendar}"
    );
    assert!(
        calendar["windowConflicts"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["release"] == "web-2025-12-23" && c["blackout"] == "year-end-freeze"),
        "{calendar}"
    );
    assert_eq!(calendar["rules"].as_array().map(Vec::len), Some(2));

    let (status, page) = h
        .call(
            Some("viewer"),
            Method::GET,
            &format!("/calendar?{december}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let html = page.as_str().unwrap_or_default();
    for wanted in [
        r#"data-conflict="web-2025-12-23""#,
        "Year-end freeze",
        "Standing rules",
        "Settlement batch",
        "10:00–11:00 America/New_York",
        r#"<span class="badge risk">conflict</span>"#,
        "December 2025",
        r#"href="/calendar?from=2025-12-29&amp;to=2026-01-11""#,
    ] {
        assert!(html.contains(wanted), "{wanted} in {html}");
    }

    // The release's timeline draws the blackouts of its environment, not the nightly
    // rule of another.
    let (_, page) = h
        .call(
            Some("viewer"),
            Method::GET,
            "/releases/web-2025-12-23",
            None,
        )
        .await;
    let html = page.as_str().unwrap_or_default();
    assert!(
        html.contains("Blackout: Year-end freeze") && html.contains("Blackout: Weekend freeze"),
        "{html}"
    );
    assert!(!html.contains("Blackout: Settlement batch"), "{html}");
    // And says, above all, that the release day is in the year-end freeze, and what to do.
    assert!(
        html.contains(r#"id="calendar-conflicts""#)
            && html.contains("move it to Mon Jan 5 10:00 America/New_York")
            && html.contains(r#"href="/calendar?from=2025-12-01""#),
        "{html}"
    );

    // By default: this month (the clock says 2030-01-10) and the two after it.
    let (_, default) = h
        .call(Some("viewer"), Method::GET, "/api/v1/calendar", None)
        .await;
    assert_eq!(
        (&default["from"], &default["to"]),
        (&json!("2030-01-01"), &json!("2030-04-01"))
    );
    for (query, field) in [
        ("from=2025-12-28&to=2025-12-01", "to"),
        ("from=2025-01-01&to=2026-12-31", "to"),
        ("from=soon", "from"),
        // The end of jiff's calendar: refused, not an overflow.
        ("from=9999-12-01", "to"),
        ("from=9999-12-01&to=9999-12-31", "to"),
    ] {
        let (status, problem) = h
            .call(
                Some("viewer"),
                Method::GET,
                &format!("/api/v1/calendar?{query}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {problem}");
        assert_eq!(problem["field"], field, "{query}: {problem}");
    }
}

#[tokio::test]
async fn a_calendar_conflict_is_proposed_as_a_move_and_approved_by_someone_else() {
    let h = with_release_calendar().await;
    let december = "/calendar?from=2025-12-15&to=2025-12-28";
    let (_, calendar) = h
        .call(
            Some("viewer"),
            Method::GET,
            &format!("/api/v1{december}"),
            None,
        )
        .await;
    let proposed = calendar["windowConflicts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["release"] == "web-2025-12-23")
        .and_then(|c| c["proposedStart"].as_str())
        .and_then(|at| at.parse::<jiff::civil::DateTime>().ok())
        .expect("a proposed start");
    let at = proposed.strftime("%Y-%m-%dT%H:%M").to_string();

    // Who may propose sees the button; a viewer does not.
    let button = format!(r#"data-propose-move="web-2025-12-23" data-to="{at}""#);
    let (_, page) = h.call(Some("mike"), Method::GET, december, None).await;
    assert!(
        page.as_str().unwrap_or_default().contains(&button),
        "{page}"
    );
    let (_, page) = h.call(Some("viewer"), Method::GET, december, None).await;
    assert!(
        !page
            .as_str()
            .unwrap_or_default()
            .contains("data-propose-move")
    );

    // What is wrong is said, and nothing is proposed.
    let path = "/api/v1/releases/web-2025-12-23/move";
    for (body, expected, field) in [
        (json!({"to": "next tuesday"}), StatusCode::BAD_REQUEST, "to"),
        (json!({"to": "2026-01-06"}), StatusCode::BAD_REQUEST, "to"),
        (
            json!({"to": "2026-01-06T10:00Z"}),
            StatusCode::BAD_REQUEST,
            "to",
        ),
        (
            json!({"to": "2026-01-06T23:50"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "to",
        ),
        (
            json!({"when": at}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "when",
        ),
    ] {
        let (status, problem) = h.call(Some("mike"), Method::POST, path, Some(body)).await;
        assert_eq!(status, expected, "{problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
    let (status, problem) = h
        .call(
            Some("mike"),
            Method::POST,
            "/api/v1/releases/nope/move",
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    let (status, problem) = h
        .call(Some("viewer"), Method::POST, path, Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (_, listed) = h
        .call(Some("viewer"), Method::GET, "/api/v1/change-requests", None)
        .await;
    assert_eq!(listed["items"], json!([]), "no half-made proposal");

    // The proposal moves the release to the proposed day and says so.
    let (status, view) = h
        .call(
            Some("mike"),
            Method::POST,
            path,
            Some(json!({"reason": "out of the year-end freeze"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{view}");
    let title = format!(
        "Move web-2025-12-23 to {} America/New_York",
        proposed.strftime("%Y-%m-%d %H:%M")
    );
    assert_eq!(view["title"], title.as_str(), "{view}");
    assert_eq!(view["requestedBy"], "mike");
    assert_eq!(view["releases"], json!(["web-2025-12-23"]));
    let impact = view["impact"]["releases"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["release"] == "web-2025-12-23")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (&impact["targetBefore"], &impact["targetAfter"]),
        (&json!("2025-12-23"), &json!(proposed.date().to_string())),
        "{view}"
    );
    // Until it is decided, the calendar links the request instead of a second button.
    let (_, page) = h.call(Some("mike"), Method::GET, december, None).await;
    let html = page.as_str().unwrap_or_default();
    assert!(!html.contains(&button), "{html}");
    assert!(html.contains("waiting for approval"), "{html}");

    // Approved by the release manager, the release leaves the freeze.
    let change = view["name"].as_str().unwrap_or_default();
    let (status, view) = h
        .call(
            Some("rita"),
            Method::POST,
            &format!("/api/v1/change-requests/{change}/approve"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let (_, release) = h
        .call(
            Some("viewer"),
            Method::GET,
            "/api/v1/releases/web-2025-12-23",
            None,
        )
        .await;
    assert_eq!(
        release["spec"]["targetDate"],
        proposed.date().to_string(),
        "{release}"
    );
    let (_, calendar) = h
        .call(
            Some("viewer"),
            Method::GET,
            &format!("/api/v1{december}"),
            None,
        )
        .await;
    assert!(
        calendar["windowConflicts"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|c| c["release"] != "web-2025-12-23"),
        "{calendar}"
    );
    // Nothing asks to move it any more.
    let (status, problem) = h
        .call(Some("mike"), Method::POST, path, Some(json!({})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("no conflict asks to move"),
        "{problem}"
    );
}
