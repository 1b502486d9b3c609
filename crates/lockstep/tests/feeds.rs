//! Calendar feeds over real HTTP: the seed example applied, a feed token made with
//! `lockstep user feed-token`, `lockstep serve` on 127.0.0.1:0, and the feeds fetched
//! the way a calendar app does (a plain GET, no headers but `If-None-Match`).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;

use common::{Workspace, example, serve};

/// A GET with extra header lines: (status, headers lower-cased, body).
fn fetch(address: &str, path: &str, extra: &str) -> (u16, Vec<(String, String)>, String) {
    let mut stream = TcpStream::connect(address).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{extra}\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    // The server may chunk the body; the feed ends with END:VCALENDAR either way.
    let body = dechunk(body);
    (status, headers, body)
}

fn dechunk(body: &str) -> String {
    if body.starts_with("BEGIN:") || body.is_empty() || body.starts_with('{') {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The feed's content lines without `DTSTAMP` (the serving time), unfolded.
fn content(feed: &str) -> Vec<String> {
    feed.replace("\r\n ", "")
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with("DTSTAMP:"))
        .map(str::to_owned)
        .collect()
}

/// (UID, DTSTART line) of every event.
fn starts(feed: &str) -> Vec<(String, String)> {
    let lines = content(feed);
    let mut out = Vec::new();
    let mut uid = String::new();
    for line in lines {
        if let Some(value) = line.strip_prefix("UID:") {
            uid = value.to_owned();
        } else if line.starts_with("DTSTART") && !uid.is_empty() {
            out.push((uid.clone(), line.clone()));
            uid.clear();
        }
    }
    out
}

#[test]
fn feeds_are_served_at_token_urls_match_the_plan_and_rotate() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    ws.ok(&["user", "add", "mike", "--member", "mike"]);
    let token = ws.ok(&["user", "feed-token", "mike"]).trim().to_owned();
    assert!(token.starts_with("lsf_"), "{token}");
    let server = serve(&ws, &[]);

    // The release feed: a calendar, the events of the plan, revalidated with an ETag.
    let path = format!("/feeds/{token}/releases/q1-2025.ics");
    let (status, headers, feed) = fetch(&server.address, &path, "");
    assert_eq!(status, 200, "{feed}");
    assert_eq!(
        header(&headers, "content-type"),
        Some("text/calendar; charset=utf-8")
    );
    assert!(feed.starts_with("BEGIN:VCALENDAR\r\n"), "{feed}");
    assert!(feed.ends_with("END:VCALENDAR\r\n"), "{feed}");
    let exported = ws.ok(&["calendar", "export", "--release", "q1-2025"]);
    assert_eq!(
        content(&feed),
        content(&exported),
        "the served feed is the exported one"
    );
    let events = starts(&feed);
    assert_eq!(events.len(), 11, "{events:?}");
    for (uid, start) in [
        ("release/q1-2025@lockstep", "DTSTART;VALUE=DATE:20250301"),
        (
            "release/q1-2025/feature-freeze@lockstep",
            "DTSTART;VALUE=DATE:20250215",
        ),
        (
            "release/q1-2025/code-freeze@lockstep",
            "DTSTART;VALUE=DATE:20250222",
        ),
        (
            "release/q1-2025/deployment/data-pipeline@lockstep",
            "DTSTART;TZID=America/New_York:20250301T090000",
        ),
    ] {
        assert!(
            events.iter().any(|(u, s)| u == uid && s == start),
            "{uid} {start} not in {events:?}"
        );
    }
    let etag = header(&headers, "etag").expect("an etag").to_owned();
    let (status, headers, body) = fetch(
        &server.address,
        &path,
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert_eq!(status, 304);
    assert_eq!(header(&headers, "etag"), Some(etag.as_str()));
    assert!(body.is_empty(), "{body}");

    // The team and organization feeds.
    let (status, _, team_feed) = fetch(
        &server.address,
        &format!("/feeds/{token}/teams/backend.ics"),
        "",
    );
    assert_eq!(status, 200);
    assert!(
        team_feed.contains("UID:release/q1-2025/deployment/data-pipeline@lockstep"),
        "{team_feed}"
    );
    let (status, _, org) = fetch(&server.address, &format!("/feeds/{token}/org.ics"), "");
    assert_eq!(status, 200);
    assert!(org.contains("UID:release/q1-2025@lockstep"));

    // A change the feed does not show (an ETA) keeps the ETag; a moved release date
    // changes it, once the server has followed the log.
    ws.ok(&["item", "eta", "api-analytics-endpoints", "2025-02-20"]);
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    let (status, _, _) = fetch(
        &server.address,
        &path,
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert_eq!(status, 304, "an ETA is not in the calendar");
    let moved = ws.path().join("moved");
    std::fs::create_dir(&moved).expect("dir");
    for file in ["components.yaml", "release.yaml", "teams.yaml"] {
        let text = std::fs::read_to_string(format!("{}/{file}", example())).expect("example");
        let text = text.replace("targetDate: 2025-03-01", "targetDate: 2025-03-04");
        std::fs::write(moved.join(file), text).expect("write");
    }
    ws.ok(&["apply", "-f", &moved.display().to_string()]);
    let mut changed = None;
    for _ in 0..20 {
        std::thread::sleep(std::time::Duration::from_millis(250));
        let (status, headers, body) = fetch(
            &server.address,
            &path,
            &format!("If-None-Match: {etag}\r\n"),
        );
        if status == 200 {
            changed = Some((headers, body));
            break;
        }
    }
    let (headers, body) = changed.expect("the moved release date changes the feed");
    assert_ne!(header(&headers, "etag"), Some(etag.as_str()));
    assert!(body.contains("DTSTART;VALUE=DATE:20250304"), "{body}");

    // Wrong tokens, unknown releases and files not ending in .ics look alike: 404.
    for bad in [
        "/feeds/lsf_0000/releases/q1-2025.ics".to_owned(),
        "/feeds/nothing/org.ics".to_owned(),
        format!("/feeds/{token}/releases/no-such-release.ics"),
        format!("/feeds/{token}/releases/q1-2025"),
        format!("/feeds/{token}/teams/nobody.ics"),
    ] {
        let (status, _, body) = fetch(&server.address, &bad, "");
        assert_eq!(status, 404, "{bad}: {body}");
        assert!(!body.contains("lsf_"), "the token is never echoed: {body}");
    }

    // Rotating the token closes the old URL and opens the new one.
    let rotated = ws.ok(&["user", "feed-token", "mike"]).trim().to_owned();
    assert_ne!(rotated, token);
    let (status, _, _) = fetch(&server.address, &path, "");
    assert_eq!(status, 404, "the rotated token no longer works");
    let (status, _, _) = fetch(
        &server.address,
        &format!("/feeds/{rotated}/releases/q1-2025.ics"),
        "",
    );
    assert_eq!(status, 200);
}

#[test]
fn feed_tokens_need_an_existing_user() {
    let ws = Workspace::new();
    ws.ok(&["apply", "-f", &example()]);
    let error = ws.fails(&["user", "feed-token", "ghost"]);
    assert!(
        error.contains("cannot make a feed token for `ghost`"),
        "{error}"
    );
}
