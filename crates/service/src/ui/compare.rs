//! One conflict side by side (`GET /conflict?cache=N&path=PATH`): both versions'
//! kind, size, time and mode, a line diff when both are small text files (the
//! cache's copy read from the cache folder, the share's through the share's
//! backend), and the same keep buttons as the overview.

use super::pages::{conflict_table, frame};
use super::server::{blocking, Shared};
use super::view::{bytes, stamp};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use offline_core::{Kind, Meta, RelPath};
use offline_engine::Cache;
use offline_store::ConflictRecord;
use serde::Deserialize;
use similar::{ChangeTag, TextDiff};
use std::io::Read;

/// Files larger than this are not diffed.
const MAX_DIFF_BYTES: u64 = 256 * 1024;

/// The compare page's query.
#[derive(Debug, Deserialize)]
pub struct CompareQuery {
    /// The cache's number.
    pub cache: usize,
    /// The item (escaped like `--json` paths).
    pub path: String,
}

/// What can be shown of the two contents.
enum Diff {
    /// A line diff: (tag, line) pairs, context lines included.
    Lines(Vec<(ChangeTag, String)>),
    /// Why there is none.
    None(String),
}

/// `GET /conflict`.
pub async fn conflict(
    State(app): State<Shared>,
    Query(q): Query<CompareQuery>,
) -> Result<Html<String>, Response> {
    let Some(root) = app.roots.get(q.cache).cloned() else {
        return Err((StatusCode::NOT_FOUND, "no such cache").into_response());
    };
    let path = RelPath::unescape(&q.path)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("not a path: {e}")).into_response())?;
    let found = blocking(move || -> Result<Option<(ConflictRecord, Diff)>, String> {
        let cache = Cache::open(&root).map_err(|e| e.to_string())?;
        let Some(record) = cache.store().conflict(&path).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let diff = diff(&cache, &record);
        Ok(Some((record, diff)))
    })
    .await?;
    let back = format!(
        "/conflict?cache={}&path={}",
        q.cache,
        form_urlencoded::byte_serialize(q.path.as_bytes()).collect::<String>()
    );
    let body = match found {
        Err(e) => html! { p.flash.bad { "This cache cannot be read: " (e) } },
        Ok(None) => html! {
            nav.crumbs { a href="/" { "Overview" } }
            h1 { "No conflict" }
            p { code { (q.path) } " is not in conflict (any more)." }
        },
        Ok(Some((record, diff))) => html! {
            nav.crumbs { a href="/" { "Overview" } " › conflict" }
            h1 { "Conflict: " (record.path) }
            table.sides {
                thead { tr { th {} th scope="col" { "This cache's version" } th scope="col" { "The share's version" } th scope="col" { "Last synced" } } }
                tbody {
                    (side_row("Kind", &record, |m| m.kind.name().to_string()))
                    (side_row("Size", &record, |m| bytes(m.size)))
                    (side_row("Modified", &record, |m| stamp(m.mtime_ns)))
                    (side_row("Mode", &record, |m| format!("{:o}", m.mode)))
                }
            }
            (conflict_table(q.cache, std::slice::from_ref(&record), &back))
            h2 { "Differences" }
            (show(&diff))
        },
    };
    Ok(Html(frame("Conflict", None, body).into_string()))
}

fn side_row(label: &str, r: &ConflictRecord, f: impl Fn(&Meta) -> String) -> Markup {
    let cell = |m: Option<&Meta>| m.map(&f).unwrap_or_else(|| "—".to_string());
    html! {
        tr { th scope="row" { (label) } td { (cell(r.local.as_ref())) } td { (cell(r.remote.as_ref())) } td { (cell(r.original.as_ref())) } }
    }
}

fn show(diff: &Diff) -> Markup {
    match diff {
        Diff::None(why) => html! { p.help { (why) } },
        Diff::Lines(lines) => html! {
            p.help { "Lines marked − are only in the share's version, + only in this cache's." }
            pre.diff {
                @for (tag, line) in lines {
                    @match tag {
                        ChangeTag::Delete => span.del { "− " (line) },
                        ChangeTag::Insert => span.ins { "+ " (line) },
                        ChangeTag::Equal => span.eq { "  " (line) },
                    }
                }
            }
        },
    }
}

fn small_file(m: Option<&Meta>) -> bool {
    m.is_some_and(|m| m.kind == Kind::File && m.size <= MAX_DIFF_BYTES)
}

/// Reads at most `MAX_DIFF_BYTES` + 1 bytes; `None` unless it is text.
fn text_of(mut reader: impl Read) -> Option<String> {
    let mut bytes = Vec::new();
    reader
        .by_ref()
        .take(MAX_DIFF_BYTES + 1)
        .read_to_end(&mut bytes)
        .ok()?;
    if bytes.len() as u64 > MAX_DIFF_BYTES || bytes.contains(&0) {
        return None;
    }
    String::from_utf8(bytes).ok()
}

fn diff(cache: &Cache, record: &ConflictRecord) -> Diff {
    if !small_file(record.local.as_ref()) || !small_file(record.remote.as_ref()) {
        return Diff::None(format!(
            "No line diff: it is shown for files of up to {} on both sides.",
            bytes(MAX_DIFF_BYTES)
        ));
    }
    let local_path = cache.root().join(record.path.as_os_str());
    let local = match std::fs::File::open(&local_path) {
        Ok(f) => text_of(f),
        Err(e) => return Diff::None(format!("The cache's copy cannot be read: {e}")),
    };
    let remote = match cache.connect_share() {
        Ok(share) => match share.open_read(&record.path) {
            Ok(r) => text_of(r),
            Err(e) => return Diff::None(format!("The share's copy cannot be read: {e}")),
        },
        Err(e) => return Diff::None(format!("The share cannot be reached: {e}")),
    };
    let (Some(local), Some(remote)) = (local, remote) else {
        return Diff::None("No line diff: one of the versions is not text.".into());
    };
    let diff = TextDiff::from_lines(&remote, &local);
    let mut lines = Vec::new();
    for group in diff.grouped_ops(3) {
        for op in group {
            for change in diff.iter_changes(&op) {
                lines.push((
                    change.tag(),
                    change.value().trim_end_matches('\n').to_string(),
                ));
            }
        }
    }
    if lines.is_empty() {
        Diff::None("The texts are the same; only the metadata differs.".into())
    } else {
        Diff::Lines(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_small_text_is_diffed() {
        assert_eq!(text_of(&b"hello\n"[..]), Some("hello\n".into()));
        assert_eq!(text_of(&b"a\0b"[..]), None);
        assert_eq!(text_of(&[0xff, 0xfe][..]), None);
        let big = vec![b'a'; MAX_DIFF_BYTES as usize + 1];
        assert_eq!(text_of(&big[..]), None);
    }
}
