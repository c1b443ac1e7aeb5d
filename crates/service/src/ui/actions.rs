//! The page's actions (`POST /action/NAME`): resolve a conflict, pin, unpin, fetch,
//! evict, sync now, go offline, reconnect. Each goes through the engine's `Cache`
//! API exactly as the matching `offline` command does (the state database is never
//! written here), waits for a cache another process holds as the commands do, and
//! publishes its sync's events on the bus like the daemon's own syncs. The answer
//! sends the browser back to its page with a message; an action that takes longer
//! than a few seconds goes on, and its result appears under "Recent results".

use super::live::RecentKind;
use super::server::{App, Shared};
use super::view::bytes;
use crate::sink::{new_sync_id, EventSink};
use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use offline_core::{ConflictPolicy, PlanItem, RelPath, SyncControl};
use offline_engine::{
    Cache, EngineError, ItemReport, ItemResult, PrepareOptions, Response as SinkResponse,
    SinkError, SyncSink, SyncSummary, UnpinOutcome,
};
use offline_store::{PinSource, Store};
use serde::Deserialize;
use std::time::{Duration, Instant};

/// How long the answer waits for the action to finish.
const ANSWER_WAIT: Duration = Duration::from_secs(3);
/// How long an action waits for a cache another process holds (as the commands do).
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// The fields of an action's form.
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    /// The cache's number.
    pub cache: usize,
    /// The item (escaped like `--json` paths), for item actions.
    pub path: Option<String>,
    /// `local`, `remote`, `latest` or `all`, for resolve.
    pub keep: Option<String>,
    /// The page to go back to.
    pub back: Option<String>,
}

/// Which version a resolve keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    Local,
    Remote,
    Latest,
    All,
}

impl Keep {
    fn parse(text: &str) -> Option<Keep> {
        Some(match text {
            "local" => Keep::Local,
            "remote" => Keep::Remote,
            "latest" => Keep::Latest,
            "all" => Keep::All,
            _ => return None,
        })
    }

    fn policy(self) -> ConflictPolicy {
        match self {
            Keep::Local => ConflictPolicy::KeepLocal,
            Keep::Remote => ConflictPolicy::KeepRemote,
            Keep::Latest => ConflictPolicy::KeepLatest,
            Keep::All => ConflictPolicy::KeepAll,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Keep::Local => "kept the cache's version",
            Keep::Remote => "kept the share's version",
            Keep::Latest => "kept the latest version",
            Keep::All => "kept both versions",
        }
    }
}

/// An action.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    Resolve(RelPath, Keep),
    Pin(RelPath),
    Unpin(RelPath),
    Fetch(RelPath),
    Evict(RelPath),
    Sync,
    Disconnect,
    Reconnect,
}

/// How an action ended.
struct Outcome {
    ok: bool,
    text: String,
}

impl Outcome {
    fn ok(text: String) -> Outcome {
        Outcome { ok: true, text }
    }
    fn failed(text: String) -> Outcome {
        Outcome { ok: false, text }
    }
}

fn parse(name: &str, form: &ActionForm) -> Result<Action, String> {
    let path = || -> Result<RelPath, String> {
        let text = form.path.as_deref().ok_or("this action needs an item")?;
        let path =
            RelPath::unescape(text).map_err(|e| format!("`{text}` is not an item path: {e}"))?;
        if path.first_component() == offline_core::CACHE_DIR_NAME {
            return Err(format!(
                "`{text}` is inside the cache's own .offline folder"
            ));
        }
        Ok(path)
    };
    Ok(match name {
        "resolve" => {
            let keep = form
                .keep
                .as_deref()
                .and_then(Keep::parse)
                .ok_or("keep must be local, remote, latest or all")?;
            Action::Resolve(path()?, keep)
        }
        "pin" => Action::Pin(path()?),
        "unpin" => Action::Unpin(path()?),
        "fetch" => Action::Fetch(path()?),
        "evict" => Action::Evict(path()?),
        "sync" => Action::Sync,
        "disconnect" => Action::Disconnect,
        "reconnect" => Action::Reconnect,
        other => return Err(format!("there is no action `{other}`")),
    })
}

/// Only a path of this page: `/...`, never another site (`//host`).
fn safe_back(back: Option<&str>) -> String {
    match back {
        Some(b) if b.starts_with('/') && !b.starts_with("//") && !b.contains('\\') => b.to_string(),
        _ => "/".to_string(),
    }
}

/// `POST /action/NAME`.
pub async fn act(
    State(app): State<Shared>,
    Path(name): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    let back = safe_back(form.back.as_deref());
    if form.cache >= app.roots.len() {
        return (StatusCode::NOT_FOUND, "no such cache").into_response();
    }
    let action = match parse(&name, &form) {
        Ok(a) => a,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let index = form.cache;
    let worker = app.clone();
    let job = tokio::task::spawn_blocking(move || {
        let outcome = carry_out(&worker, index, &action);
        let kind = if outcome.ok {
            RecentKind::Done {
                text: outcome.text.clone(),
            }
        } else {
            RecentKind::Failed {
                error: outcome.text.clone(),
            }
        };
        worker.live.record(index, kind);
        outcome
    });
    let outcome = match tokio::time::timeout(ANSWER_WAIT, job).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(e)) => Outcome::failed(format!("the action failed: {e}")),
        Err(_) => Outcome::ok(
            "Still working on it: the progress shows on the overview, and the result under “Recent results”."
                .to_string(),
        ),
    };
    let id = app.flash(outcome.text, outcome.ok);
    let sep = if back.contains('?') { '&' } else { '?' };
    let location = format!("{back}{sep}flash={id}");
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// Opens the cache and runs `f`, waiting (as the commands do) while another process
/// holds the cache.
fn with_cache<T>(
    app: &App,
    index: usize,
    mut f: impl FnMut(&mut Cache) -> Result<T, EngineError>,
) -> Result<T, EngineError> {
    let started = Instant::now();
    loop {
        let mut cache = Cache::open(&app.roots[index])?;
        match f(&mut cache) {
            Err(EngineError::Busy { .. }) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// A sink that publishes like the daemon's syncs and keeps what the person should
/// read: notes (where a losing copy went) and errors with their hints.
struct Collect {
    inner: EventSink,
    notes: Vec<String>,
    errors: Vec<String>,
}

impl Collect {
    fn new(app: &App, cache: &Cache) -> Collect {
        let reader = Store::open(cache.store().path()).ok();
        Collect {
            inner: EventSink::new(
                app.bus.clone(),
                app.stop.clone(),
                cache.root().to_path_buf(),
                new_sync_id(),
                reader,
                cache.change_token().ok(),
            ),
            notes: Vec::new(),
            errors: Vec::new(),
        }
    }
}

impl SyncSink for Collect {
    fn begin(&mut self, plan: &offline_core::Plan) -> Result<(), SinkError> {
        self.inner.begin(plan)
    }
    fn query_abort(&mut self) -> bool {
        self.inner.query_abort()
    }
    fn item_begin(&mut self, item: &PlanItem) -> Result<(), SinkError> {
        self.inner.item_begin(item)
    }
    fn item_result(&mut self, report: &ItemReport) -> Result<SinkResponse, SinkError> {
        if let Some(note) = &report.note {
            self.notes.push(format!("{}: {note}", report.path));
        }
        if let ItemResult::Error(e) = &report.result {
            self.errors.push(format!(
                "{}: {} (what to do: {})",
                report.path, e.message, e.hint
            ));
        }
        self.inner.item_result(report)
    }
    fn end(&mut self, summary: &SyncSummary) -> Result<(), SinkError> {
        self.inner.end(summary)
    }
}

/// Runs a sync-like engine call with a [`Collect`] sink; the sink and the summary.
fn synced(
    app: &App,
    index: usize,
    mut f: impl FnMut(&mut Cache, &mut Collect) -> Result<Option<SyncSummary>, EngineError>,
) -> Result<(Collect, Option<SyncSummary>), EngineError> {
    let mut last = None;
    let summary = with_cache(app, index, |cache| {
        let mut sink = Collect::new(app, cache);
        let result = f(cache, &mut sink);
        if let Err(e) = &result {
            sink.inner.end_with_error(&e.to_string());
        }
        last = Some(sink);
        result
    })?;
    let sink = last.ok_or_else(|| EngineError::Usage("the action did not run".into()))?;
    Ok((sink, summary))
}

fn summary_words(summary: &SyncSummary) -> String {
    let items: u64 = summary.counts.values().sum();
    let mut text = format!("{items} items, {}", bytes(summary.bytes));
    if summary.errors > 0 {
        text.push_str(&format!(", {} failed", summary.errors));
    }
    if summary.conflicts > 0 {
        text.push_str(&format!(", {} in conflict", summary.conflicts));
    }
    if let Some(why) = &summary.stopped {
        text.push_str(&format!("; stopped: {why}"));
    }
    text
}

fn with_details(mut text: String, sink: &Collect) -> String {
    for line in sink.notes.iter().chain(&sink.errors) {
        text.push_str(". ");
        text.push_str(line);
    }
    text
}

fn carry_out(app: &App, index: usize, action: &Action) -> Outcome {
    match run(app, index, action) {
        Ok(outcome) => outcome,
        Err(e) => Outcome::failed(e.to_string()),
    }
}

fn run(app: &App, index: usize, action: &Action) -> Result<Outcome, EngineError> {
    Ok(match action {
        Action::Resolve(path, keep) => {
            let present = Cache::open(&app.roots[index])?
                .store()
                .conflict(path)?
                .is_some();
            if !present {
                return Ok(Outcome::failed(format!(
                    "{path} is not in conflict (any more)"
                )));
            }
            // As `offline resolve`: a sync of that item with the chosen policy.
            let control = SyncControl {
                policy: keep.policy(),
                ..SyncControl::default()
            };
            let options = PrepareOptions {
                scope: vec![path.clone()],
                force: true,
                ..PrepareOptions::default()
            };
            let (sink, summary) = synced(app, index, |c, s| {
                c.synchronize(&control, &options, s).map(Some)
            })?;
            let summary = summary.unwrap_or_default();
            if summary.is_clean() {
                Outcome::ok(with_details(
                    format!("Settled {path}: {}", keep.words()),
                    &sink,
                ))
            } else {
                Outcome::failed(with_details(
                    format!("{path} is not settled: {}", summary_words(&summary)),
                    &sink,
                ))
            }
        }
        Action::Pin(path) => {
            let (sink, summary) = synced(app, index, |c, s| {
                c.pin(std::slice::from_ref(path), PinSource::User, true, s)
            })?;
            let summary = summary.unwrap_or_default();
            let text = format!("Pinned {path}: {}", summary_words(&summary));
            let text = with_details(text, &sink);
            if summary.is_clean() {
                Outcome::ok(text)
            } else {
                Outcome::failed(text)
            }
        }
        Action::Unpin(path) => {
            let outcomes = with_cache(app, index, |c| {
                c.unpin(std::slice::from_ref(path), PinSource::User)
            })?;
            match outcomes.first() {
                Some(UnpinOutcome::Unpinned) => {
                    Outcome::ok(format!("Unpinned {path}; its content stays until evicted"))
                }
                Some(UnpinOutcome::PinnedAbove(above)) => Outcome::failed(format!(
                    "{path} stays pinned through the pin on {above}; unpin that folder instead"
                )),
                _ => Outcome::failed(format!("{path} has no pin of yours")),
            }
        }
        Action::Fetch(path) => {
            let (sink, summary) = synced(app, index, |c, s| {
                c.fetch(std::slice::from_ref(path), s).map(Some)
            })?;
            let summary = summary.unwrap_or_default();
            let text = with_details(
                format!("Fetched {path}: {}", summary_words(&summary)),
                &sink,
            );
            if summary.is_clean() {
                Outcome::ok(text)
            } else {
                Outcome::failed(text)
            }
        }
        Action::Evict(path) => {
            let report = with_cache(app, index, |c| c.evict(std::slice::from_ref(path), false))?;
            let mut text = format!(
                "Evicted {} items, {} freed",
                report.evicted.len(),
                bytes(report.bytes)
            );
            for kept in &report.kept_dirty {
                text.push_str(&format!(
                    ". Kept {kept}: it changed since the last sync; sync it first"
                ));
            }
            for (p, e) in &report.failed {
                text.push_str(&format!(". {p} failed: {e}"));
            }
            if report.failed.is_empty() && report.kept_dirty.is_empty() {
                Outcome::ok(text)
            } else {
                Outcome::failed(text)
            }
        }
        Action::Sync => {
            let control = SyncControl::default();
            let options = PrepareOptions::default();
            let (sink, summary) = synced(app, index, |c, s| {
                c.synchronize(&control, &options, s).map(Some)
            })?;
            let summary = summary.unwrap_or_default();
            let text = with_details(format!("Synced: {}", summary_words(&summary)), &sink);
            let _ = with_cache(app, index, |c| c.enforce_limits());
            if summary.is_clean() {
                Outcome::ok(text)
            } else {
                Outcome::failed(text)
            }
        }
        Action::Disconnect => {
            with_cache(app, index, |c| c.disconnect())?;
            Outcome::ok("Working offline: syncs wait until you reconnect".to_string())
        }
        Action::Reconnect => {
            let (state, reason) = with_cache(app, index, |c| {
                c.reconnect()?;
                c.connect_state()
            })?;
            if state == offline_core::ConnectState::Online {
                Outcome::ok("Online again: what waited goes out with the next sync".to_string())
            } else {
                Outcome::failed(format!(
                    "The share still cannot be reached ({}); the daemon keeps trying",
                    reason.name()
                ))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_links_stay_on_the_page() {
        assert_eq!(
            safe_back(Some("/tree?cache=0&dir=a")),
            "/tree?cache=0&dir=a"
        );
        assert_eq!(safe_back(Some("//evil.example/")), "/");
        assert_eq!(safe_back(Some("http://evil.example/")), "/");
        assert_eq!(safe_back(Some("/\\evil")), "/");
        assert_eq!(safe_back(None), "/");
    }

    #[test]
    fn forms_become_actions() {
        let form = |path: Option<&str>, keep: Option<&str>| ActionForm {
            cache: 0,
            path: path.map(str::to_string),
            keep: keep.map(str::to_string),
            back: None,
        };
        assert_eq!(
            parse("resolve", &form(Some("a\\x80.txt"), Some("local"))).unwrap(),
            Action::Resolve(RelPath::new(b"a\x80.txt".to_vec()).unwrap(), Keep::Local)
        );
        assert!(parse("resolve", &form(Some("a"), Some("mine"))).is_err());
        assert!(parse("pin", &form(None, None)).is_err());
        assert!(parse("pin", &form(Some("../x"), None)).is_err());
        assert!(parse("pin", &form(Some(".offline/state.db"), None)).is_err());
        assert!(parse("format", &form(None, None)).is_err());
        assert_eq!(parse("sync", &form(None, None)).unwrap(), Action::Sync);
    }
}
