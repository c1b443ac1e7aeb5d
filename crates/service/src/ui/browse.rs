//! The tree of a cache's items (`GET /tree?cache=N&dir=PATH`): one folder at a time,
//! from the cache folder and the state database as `offline ls` lists them, each
//! item with its flags (pinned, auto-cached, ghost, not filled, changed, deleted,
//! in conflict) and the buttons that apply to it: pin, unpin, fetch, evict.

use super::pages::{action_button, frame, PageQuery};
use super::server::{blocking, Shared};
use super::view::{bytes, relative, stamp};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};
use offline_core::{Kind, RelPath};
use offline_engine::{Cache, ItemInfo};
use serde::Deserialize;

/// Items listed on one page at most (a folder with more says so).
const MAX_ROWS: usize = 2000;

/// The tree page's query.
#[derive(Debug, Deserialize)]
pub struct TreeQuery {
    /// The cache's number.
    pub cache: usize,
    /// The folder (escaped like `--json` paths; empty: the root).
    #[serde(default)]
    pub dir: String,
    /// A flash id.
    pub flash: Option<String>,
}

/// The URL of the tree page of `dir`.
pub fn tree_url(cache: usize, dir: &RelPath) -> String {
    let escaped = if dir.is_root() {
        String::new()
    } else {
        dir.escaped()
    };
    format!(
        "/tree?cache={cache}&dir={}",
        form_urlencoded::byte_serialize(escaped.as_bytes()).collect::<String>()
    )
}

/// `GET /tree`.
pub async fn tree(
    State(app): State<Shared>,
    Query(q): Query<TreeQuery>,
) -> Result<Html<String>, Response> {
    let Some(root) = app.roots.get(q.cache).cloned() else {
        return Err((StatusCode::NOT_FOUND, "no such cache").into_response());
    };
    let dir = if q.dir.is_empty() {
        RelPath::root()
    } else {
        RelPath::unescape(&q.dir)
            .map_err(|e| (StatusCode::BAD_REQUEST, format!("not a path: {e}")).into_response())?
    };
    let listed = {
        let dir = dir.clone();
        blocking(move || -> Result<Vec<ItemInfo>, String> {
            let cache = Cache::open(&root).map_err(|e| e.to_string())?;
            cache.items(&dir, false).map_err(|e| e.to_string())
        })
        .await?
    };
    let flash = PageQuery { flash: q.flash }
        .flash
        .and_then(|id| app.flash_of(&id));
    let title = app.roots[q.cache]
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let body = html! {
        nav.crumbs aria-label="Folder" {
            a href="/" { "Overview" } " › "
            a href=(tree_url(q.cache, &RelPath::root())) { (title) }
            @for ancestor in ancestors(&dir) {
                " / " a href=(tree_url(q.cache, &ancestor)) { (String::from_utf8_lossy(ancestor.file_name())) }
            }
        }
        h1 { "Items in " (title) @if !dir.is_root() { " / " (dir) } }
        p.help { "P pinned: kept offline · A auto-cached: evictable · G ghost: known by name only · "
            "S pinned, content not here yet · D changed here since the last sync · C in conflict" }
        @match listed {
            Err(e) => p.flash.bad { "The items cannot be listed: " (e) },
            Ok(items) => (table(q.cache, &dir, &items)),
        }
    };
    Ok(Html(frame("Items", flash.as_ref(), body).into_string()))
}

fn ancestors(dir: &RelPath) -> Vec<RelPath> {
    let mut out = Vec::new();
    let mut cur = Some(dir.clone());
    while let Some(p) = cur {
        if p.is_root() {
            break;
        }
        cur = p.parent();
        out.push(p);
    }
    out.reverse();
    out
}

/// The flags of an item as words (its `data-flags`).
fn flag_words(item: &ItemInfo) -> Vec<&'static str> {
    let mut out = Vec::new();
    if item.pinned {
        out.push("pinned");
    }
    if item.auto_cached {
        out.push("auto-cached");
    }
    if item.sparse {
        out.push("sparse");
    } else if item.ghost {
        out.push("ghost");
    }
    if item.dirty {
        out.push("dirty");
    }
    if item.deleted {
        out.push("deleted");
    }
    if item.conflict {
        out.push("conflict");
    }
    out
}

fn badge(word: &str) -> Markup {
    let (letter, text) = match word {
        "pinned" => ("P", "pinned"),
        "auto-cached" => ("A", "auto-cached"),
        "ghost" => ("G", "ghost"),
        "sparse" => ("S", "pinned, not filled"),
        "dirty" => ("D", "changed"),
        "deleted" => ("X", "deleted here"),
        "conflict" => ("C", "conflict"),
        _ => ("?", "?"),
    };
    html! { span.flag.(word) title=(text) { abbr { (letter) } " " (text) } }
}

fn table(cache: usize, dir: &RelPath, items: &[ItemInfo]) -> Markup {
    let back = tree_url(cache, dir);
    html! {
        @if items.is_empty() { p { "This folder is empty." } }
        @else {
            table.items {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Size" } th scope="col" { "Modified" }
                    th scope="col" { "State" } th scope="col" { "Actions" } } }
                tbody {
                    @for item in items.iter().take(MAX_ROWS) {
                        (row(cache, item, &back))
                    }
                }
            }
            @if items.len() > MAX_ROWS {
                p.note { "Only the first " (MAX_ROWS) " of " (items.len()) " items are shown; `offline ls` lists them all." }
            }
        }
    }
}

fn row(cache: usize, item: &ItemInfo, back: &str) -> Markup {
    let path = item.path.escaped();
    let flags = flag_words(item);
    let name = String::from_utf8_lossy(item.path.file_name()).into_owned();
    let is_dir = item.meta.kind == Kind::Dir;
    let cached = !item.ghost && !item.deleted;
    let own_pin = item.pinned_by.contains(&offline_store::PinSource::User);
    html! {
        tr data-path=(path) data-flags=(flags.join(" ")) data-kind=(item.meta.kind.name()) {
            th scope="row" {
                @if is_dir { a.dir href=(tree_url(cache, &item.path)) { (name) "/" } }
                @else if item.meta.kind == Kind::Symlink { (name) " ↪" }
                @else { (name) }
            }
            td.num { @if is_dir { "—" } @else { (bytes(item.meta.size)) } }
            td { time data-ns=(item.meta.mtime_ns) title=(stamp(item.meta.mtime_ns)) { (relative(item.meta.mtime_ns)) } }
            td.flags { @for f in &flags { (badge(f)) " " } }
            td.row-actions {
                @if !item.pinned {
                    (action_button("pin", cache, Some(&path), back, "Pin", "", "Keep available offline (content now)"))
                } @else if own_pin {
                    (action_button("unpin", cache, Some(&path), back, "Unpin", "", "Stop keeping it offline; the content stays until evicted"))
                }
                @if item.ghost && !item.pinned {
                    (action_button("fetch", cache, Some(&path), back, "Fetch", "", "Bring the content into the cache without pinning it"))
                }
                @if cached && !item.dirty && !item.pinned {
                    (action_button("evict", cache, Some(&path), back, "Evict", "", "Drop the clean cache copy; it becomes a ghost"))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_urls_escape_paths() {
        let p = RelPath::from_str_lossy("a b/c&d").unwrap();
        assert_eq!(tree_url(1, &p), "/tree?cache=1&dir=a+b%2Fc%26d");
        assert_eq!(tree_url(0, &RelPath::root()), "/tree?cache=0&dir=");
        let names: Vec<String> = ancestors(&RelPath::from_str_lossy("a/b/c").unwrap())
            .iter()
            .map(|p| p.escaped())
            .collect();
        assert_eq!(names, vec!["a", "a/b", "a/b/c"]);
    }
}
