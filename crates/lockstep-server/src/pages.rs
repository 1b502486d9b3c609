//! The server-rendered overview: a release list and a board per release.
//!
//! Deliberately small: plain HTML with escaped text and no script. The live
//! dashboard (SSE, dependency graph, timeline) replaces it with the API issue.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Path, State as Extract};
use axum::response::Html;
use lockstep_core::{ItemStatus, Name};

use crate::{ApiError, AppState};

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Lockstep</title>
<style>
body{{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}}
header{{background:#1d2330;color:#fff;padding:.8rem 1.5rem}} header a{{color:#fff;text-decoration:none;font-weight:600}}
main{{padding:1.5rem;max-width:1400px;margin:auto}} h1{{font-size:1.5rem;margin:.2rem 0 1rem}}
.board{{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:.8rem}}
.col{{background:#e9ecf1;border-radius:8px;padding:.6rem}} .col h2{{font-size:.85rem;text-transform:uppercase;letter-spacing:.04em;margin:.2rem 0 .6rem;color:#4a5568}}
.card{{background:#fff;border-radius:6px;padding:.6rem;margin-bottom:.5rem;box-shadow:0 1px 2px rgba(0,0,0,.08)}}
.card .meta{{font-size:.8rem;color:#4a5568}} table{{border-collapse:collapse;width:100%;background:#fff}}
td,th{{text-align:left;padding:.5rem .7rem;border-bottom:1px solid #e2e8f0}} .dates span{{margin-right:1.2rem}}
</style></head><body><header><a href="/">Lockstep</a></header><main>{body}</main></body></html>"#,
        title = escape(title),
    ))
}

pub(crate) async fn index(Extract(app): Extract<Arc<AppState>>) -> Html<String> {
    let state = app.state.read().await;
    let mut body = String::from(
        "<h1>Releases</h1><table><thead><tr><th>Release</th><th>Kind</th><th>State</th><th>Target date</th><th>Items</th></tr></thead><tbody>",
    );
    for release in state.releases().values() {
        let _ = write!(
            body,
            r#"<tr><td><a href="/releases/{name}">{title}</a></td><td>{kind:?}</td><td>{status}</td><td>{date}</td><td>{n}</td></tr>"#,
            name = escape(release.name.as_str()),
            title = escape(
                release
                    .spec
                    .title
                    .as_deref()
                    .unwrap_or(release.name.as_str())
            ),
            kind = release.spec.kind,
            status = release.state,
            date = release.spec.target_date,
            n = state.items_of(&release.name).count(),
        );
    }
    body.push_str("</tbody></table>");
    page("Releases", &body)
}

pub(crate) async fn release(
    Extract(app): Extract<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Html<String>, ApiError> {
    let state = app.state.read().await;
    let release = state
        .releases()
        .get(name.as_str())
        .ok_or_else(|| ApiError::NotFound {
            kind: "release",
            name: name.clone(),
        })?;
    let title = release
        .spec
        .title
        .as_deref()
        .unwrap_or(release.name.as_str());
    let mut body = format!("<h1>{}</h1><p class=\"dates\">", escape(title));
    let mut date = |label: &str, value: Option<jiff::civil::Date>| {
        if let Some(value) = value {
            let _ = write!(body, "<span><strong>{label}</strong> {value}</span>");
        }
    };
    date("Feature freeze", release.spec.feature_freeze);
    date("Code freeze", release.spec.code_freeze);
    date("Release", Some(release.spec.target_date));
    let _ = write!(
        body,
        "<span><strong>State</strong> {}</span></p><div class=\"board\">",
        release.state
    );
    let release_name: &Name = &release.name;
    for column in ItemStatus::COLUMNS {
        let _ = write!(body, "<section class=\"col\"><h2>{}</h2>", column.title());
        for item in state.items_of(release_name).filter(|i| i.status == column) {
            let blocked_by: Vec<String> = state
                .blocked_by(&item.name)
                .map(|d| escape(d.blocker.as_str()))
                .collect();
            let _ = write!(
                body,
                "<article class=\"card\"><div>{}</div><div class=\"meta\">{} · eta {}{}</div></article>",
                escape(&item.spec.title),
                escape(item.spec.team.as_str()),
                item.eta.map_or_else(|| "—".to_owned(), |d| d.to_string()),
                if blocked_by.is_empty() {
                    String::new()
                } else {
                    format!(" · waits on {}", blocked_by.join(", "))
                },
            );
        }
        body.push_str("</section>");
    }
    body.push_str("</div>");
    Ok(page(title, &body))
}
