//! The overview page (`GET /`): what needs the person first (conflicts, shares
//! offline), then one section per cache with its share, connect state and reason,
//! last good sync, what waits, space, what the daemon does and when it syncs next,
//! a running sync's progress, the conflicts with both versions and one-click
//! buttons, and the recent results. Also the page frame and the action forms the
//! other pages use. HTML by maud: everything inserted is escaped.

use super::live::{Recent, RecentKind, Run};
use super::server::{blocking, Flash, Shared};
use super::view::{activity_words, bytes, reason_words, relative, stamp, CacheView};
use crate::outcome::SyncOutcome;
use axum::extract::{Query, State};
use axum::response::{Html, Response};
use maud::{html, Markup, DOCTYPE};
use offline_core::{ConnectState, Meta, OfflineReason};
use offline_store::ConflictRecord;
use serde::Deserialize;

/// The query of a page: the message of the action that led here.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// A flash id.
    pub flash: Option<String>,
}

/// `GET /`.
pub async fn overview(
    State(app): State<Shared>,
    Query(query): Query<PageQuery>,
) -> Result<Html<String>, Response> {
    let reader = app.clone();
    let views = blocking(move || {
        reader
            .roots
            .iter()
            .enumerate()
            .map(|(i, root)| CacheView::read(i, root, &reader.live))
            .collect::<Vec<_>>()
    })
    .await?;
    let flash = query.flash.and_then(|id| app.flash_of(&id));
    Ok(Html(render(&views, flash.as_ref()).into_string()))
}

/// The frame of every page.
pub fn frame(title: &str, flash: Option<&Flash>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · Sync Center" }
                link rel="stylesheet" href="/static/app.css";
                script src="/static/app.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to the content" }
                header.top {
                    a.brand href="/" { "Sync Center" }
                    span.sub { "offline-files" }
                    span #live.live role="status" aria-live="polite" {}
                }
                main #main tabindex="-1" {
                    @if let Some(f) = flash {
                        p.flash.(if f.ok { "ok" } else { "bad" }) role="status" data-flash { (f.text) }
                    }
                    (body)
                }
            }
        }
    }
}

/// A button that POSTs one action.
pub fn action_button(
    action: &str,
    cache: usize,
    path: Option<&str>,
    back: &str,
    label: &str,
    class: &str,
    title: &str,
) -> Markup {
    html! {
        form.inline method="post" action={ "/action/" (action) } {
            input type="hidden" name="cache" value=(cache);
            @if let Some(p) = path { input type="hidden" name="path" value=(p); }
            input type="hidden" name="back" value=(back);
            button type="submit" class=(class) data-action=(action) title=(title) { (label) }
        }
    }
}

fn render(views: &[CacheView], flash: Option<&Flash>) -> Markup {
    let conflicts: usize = views.iter().map(CacheView::conflict_count).sum();
    let offline: Vec<&CacheView> = views
        .iter()
        .filter(|v| v.connect_state() == ConnectState::Offline)
        .collect();
    let body = html! {
        h1 { "Sync Center" }
        p.summary {
            (views.len()) @if views.len() == 1 { " cache" } @else { " caches" }
            " · "
            @if offline.is_empty() { "all online" } @else { (offline.len()) " offline" }
            " · "
            @match conflicts { 0 => "no conflicts", 1 => "1 conflict needs you", n => { (n) " conflicts need you" } }
        }
        @if conflicts > 0 || !offline.is_empty() {
            nav.attention aria-label="Needs you" {
                h2 { "Needs you" }
                ul {
                    @for v in views {
                        @if let Ok(state) = &v.state {
                            @for (n, c) in state.conflicts.iter().enumerate() {
                                li { a href={ "#c" (v.index) "-k" (n) } { "Conflict: " (c.path) } " in " (v.title()) }
                            }
                        }
                        @if v.connect_state() == ConnectState::Offline {
                            li { a href={ "#cache-" (v.index) } { (v.title()) " is offline" } }
                        }
                    }
                }
            }
        }
        @for v in views { (section(v)) }
    };
    frame("Overview", flash, body)
}

fn section(v: &CacheView) -> Markup {
    let root = v.root.display().to_string();
    let activity = v.daemon.as_ref().map(|d| d.activity.name()).unwrap_or("");
    html! {
        section.cache #{ "cache-" (v.index) } data-cache=(root) data-state=(v.connect_state().name())
            data-reason=(v.reason_name().unwrap_or("")) data-activity=(activity) data-index=(v.index)
            aria-labelledby={ "cache-" (v.index) "-title" } {
            div.cache-head {
                h2 #{ "cache-" (v.index) "-title" } { (v.title()) }
                span.badge.(v.connect_state().name()) data-state-badge { (v.connect_state().name()) }
                div.actions {
                    (action_button("sync", v.index, None, "/", "Sync now", "primary", "Synchronize this cache with its share now, both ways"))
                    @if matches!(&v.state, Ok(s) if s.status.connect_state == ConnectState::Offline
                        && s.status.offline_reason == OfflineReason::ConnectionForced) {
                        (action_button("reconnect", v.index, None, "/", "Reconnect", "", "Stop working offline and check the share"))
                    } @else if matches!(&v.state, Ok(s) if s.status.connect_state == ConnectState::Offline) {
                        (action_button("reconnect", v.index, None, "/", "Try the share now", "", "Check whether the share can be reached again"))
                    } @else {
                        (action_button("disconnect", v.index, None, "/", "Go offline", "", "Work offline on purpose: syncs wait until you reconnect"))
                    }
                    a.button href={ "/tree?cache=" (v.index) } { "Browse items" }
                }
            }
            p.where { code { (root) } }
            @match &v.state {
                Err(e) => p.flash.bad { "This cache cannot be read: " (e) },
                Ok(state) => {
                    (facts(v, &state.status))
                    (progress(v.index, v.run.as_ref()))
                    (conflict_table(v.index, &state.conflicts, "/"))
                }
            }
            (recent(&v.recent))
        }
    }
}

fn when(ns: Option<i64>, never: &str) -> Markup {
    match ns {
        Some(ns) => html! { time data-ns=(ns) title=(stamp(ns)) { (relative(ns)) } },
        None => html! { (never) },
    }
}

fn facts(v: &CacheView, s: &offline_engine::Status) -> Markup {
    let offline = s.connect_state == ConnectState::Offline;
    html! {
        dl.facts {
            div { dt { "Share" } dd { code { (s.share) } } }
            div.(if offline { "warn" } else { "" }) {
                dt { "State" }
                dd data-connect {
                    strong { (s.connect_state.name()) }
                    @if offline {
                        " — " (reason_words(s.offline_reason))
                        " " span.code data-reason { "(" (s.offline_reason.name()) ")" }
                    }
                }
            }
            div { dt { "Last good sync" } dd { (when(s.last_good_sync_ns, "never")) } }
            div.(if s.dirty_items > 0 { "note" } else { "" }) {
                dt { "Waiting to go out" }
                dd data-waiting { (s.dirty_items) " changed " (if s.dirty_items == 1 { "item" } else { "items" }) ", " (bytes(s.dirty_bytes)) }
            }
            div.(if s.conflicts > 0 { "warn" } else { "" }) {
                dt { "Conflicts" }
                dd data-conflicts { (s.conflicts) }
            }
            div {
                dt { "Space" }
                dd {
                    (bytes(s.space.used)) " cached"
                    @if s.space.limit > 0 {
                        " of " (bytes(s.space.limit))
                        " " meter min="0" max=(s.space.limit) value=(s.space.used.min(s.space.limit)) {}
                    }
                    br;
                    (bytes(s.space.auto_used)) " auto-cached"
                    @if s.space.auto_limit > 0 { " of " (bytes(s.space.auto_limit)) }
                }
            }
            div { dt { "Items" } dd { (s.known_items) " known, " (s.ghost_items) " not in the cache (ghosts)"
                @if s.sparse_items > 0 { ", " (s.sparse_items) " pinned waiting for content" } } }
            div {
                dt { "Daemon" }
                dd data-daemon {
                    @match &v.daemon {
                        None => "not serving this cache",
                        Some(d) => {
                            (activity_words(d.activity))
                            @if let Some(ns) = d.next_sync_ns { "; next sync " (when(Some(ns), "")) }
                            @if let Some(ns) = d.next_retry_ns { "; next try of the share " (when(Some(ns), "")) }
                        }
                    }
                }
            }
            @if s.interrupted {
                div.note { dt { "Note" } dd { "the last sync was interrupted; the next one finishes it" } }
            }
        }
    }
}

/// The progress block: filled by the server now and by the page's script live.
pub fn progress(index: usize, run: Option<&Run>) -> Markup {
    let (done, total) = run.map(|r| (r.done, r.total)).unwrap_or((0, None));
    html! {
        div.progress data-progress data-index=(index) data-running=(run.is_some())
            data-done=(done) data-total=(total.map(|t| t.to_string()).unwrap_or_default())
            hidden[run.is_none()] {
            progress max=(total.unwrap_or(0).max(1)) value=(done) {}
            span.progress-text {
                @match run {
                    Some(Run { total: Some(t), .. }) => { "Syncing: " (done) " of " (t) " items, " (bytes(run.map(|r| r.bytes).unwrap_or(0))) }
                    Some(_) => "Syncing: comparing the cache and the share…",
                    None => "",
                }
            }
        }
    }
}

fn version(meta: Option<&Meta>, newer: bool) -> Markup {
    match meta {
        None => html! { span.absent { "deleted" } },
        Some(m) => html! {
            span { (m.kind.name()) ", " (bytes(m.size)) }
            br;
            span { "modified " time data-ns=(m.mtime_ns) title=(stamp(m.mtime_ns)) { (relative(m.mtime_ns)) } }
            @if newer { " " span.badge.newer { "newer" } }
        },
    }
}

/// The conflicts of cache `index`, each with both versions and its buttons.
pub fn conflict_table(index: usize, conflicts: &[ConflictRecord], back: &str) -> Markup {
    if conflicts.is_empty() {
        return html! {};
    }
    html! {
        h3 #{ "c" (index) "-conflicts" } { "Conflicts (" (conflicts.len()) ")" }
        p.help { "Both the cache and the share changed these items. The version you do not keep is saved in "
            code { ".offline/conflicts/" } "; “Keep both” keeps the cache's under a conflict name." }
        table.conflicts {
            thead { tr { th scope="col" { "Item" } th scope="col" { "This cache's version" }
                th scope="col" { "The share's version" } th scope="col" { "Keep" } } }
            tbody {
                @for (n, c) in conflicts.iter().enumerate() {
                    (conflict_row(index, n, c, back))
                }
            }
        }
    }
}

fn conflict_row(index: usize, n: usize, c: &ConflictRecord, back: &str) -> Markup {
    let path = c.path.escaped();
    let local_time = c.local.as_ref().map(|m| m.mtime_ns);
    let remote_time = c.remote.as_ref().map(|m| m.mtime_ns);
    let compare = format!(
        "/conflict?cache={index}&path={}",
        form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>()
    );
    html! {
        tr.conflict #{ "c" (index) "-k" (n) } data-path=(path) {
            th scope="row" { a href=(compare) { (c.path) } br; span.state title=(c.state.name()) { (state_words(c.state.name())) } }
            td { (version(c.local.as_ref(), local_time > remote_time && remote_time.is_some())) }
            td { (version(c.remote.as_ref(), remote_time > local_time && local_time.is_some())) }
            td.keep {
                form.inline method="post" action="/action/resolve" {
                    input type="hidden" name="cache" value=(index);
                    input type="hidden" name="path" value=(path);
                    input type="hidden" name="back" value=(back);
                    button type="submit" name="keep" value="local" data-keep="local" title="Keep the cache's version; the share's goes to .offline/conflicts/" { "Keep cache's" }
                    button type="submit" name="keep" value="remote" data-keep="remote" title="Keep the share's version; the cache's goes to .offline/conflicts/" { "Keep share's" }
                    button type="submit" name="keep" value="latest" data-keep="latest" title="Keep the version modified last" { "Keep latest" }
                    button type="submit" name="keep" value="all" data-keep="all" title="Keep both: the cache's under a conflict name" { "Keep both" }
                }
                a.compare href=(compare) { "Compare" }
            }
        }
    }
}

/// A sync state's name in the person's words: the cache and the share, not the
/// client and the server (`file changed on cache, changed on share`).
fn state_words(name: &str) -> String {
    name.replace("_on_client", " on cache,")
        .replace("_on_server", " on share,")
        .replace("client", "cache")
        .replace("server", "share")
        .replace('_', " ")
        .trim_end_matches(',')
        .to_string()
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn recent(items: &[Recent]) -> Markup {
    if items.is_empty() {
        return html! {};
    }
    html! {
        details.recent open {
            summary { "Recent results" }
            ol {
                @for r in items {
                    li.(recent_class(&r.kind)) {
                        time data-ns=(r.time_ns) title=(stamp(r.time_ns)) { (relative(r.time_ns)) }
                        " "
                        (recent_text(&r.kind))
                    }
                }
            }
        }
    }
}

fn recent_class(kind: &RecentKind) -> &'static str {
    match kind {
        RecentKind::Synced {
            result: SyncOutcome::Ok,
            ..
        } => "ok",
        RecentKind::Done { .. } => "ok",
        RecentKind::Synced { .. } => "note",
        _ => "bad",
    }
}

fn recent_text(kind: &RecentKind) -> Markup {
    match kind {
        RecentKind::Synced {
            result,
            items,
            bytes: b,
            errors,
            conflicts,
        } => html! {
            "Sync " strong { (result.name()) } ": " (plural(*items, "item", "items")) ", " (bytes(*b))
            @if *errors > 0 { ", " (errors) " failed" }
            @if *conflicts > 0 { ", " (conflicts) " in conflict" }
        },
        RecentKind::ItemFailed {
            path,
            operation,
            error,
            hint,
        } => html! {
            strong { (path) } " (" (operation) "): " (error)
            @if let Some(h) = hint { br; span.hint { "What to do: " (h) } }
        },
        RecentKind::Failed { error } => html! { (error) },
        RecentKind::Done { text } => html! { (text) },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn states_read_as_cache_and_share() {
        assert_eq!(
            super::state_words("file_changed_on_client_changed_on_server"),
            "file changed on cache, changed on share"
        );
        assert_eq!(super::plural(1, "item", "items"), "1 item");
        assert_eq!(super::plural(3, "item", "items"), "3 items");
    }
}
