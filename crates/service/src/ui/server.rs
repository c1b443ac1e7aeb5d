//! The Sync Center's HTTP server: binds the loopback address (before the daemon's
//! workers start, so the address goes into `daemon.json`), then serves the routes
//! with axum on a tokio runtime of its own thread. The pages are built on tokio's
//! blocking threads (they open state databases and scan cache folders); the event
//! stream forwards the live signals as Server-Sent Events.

use super::live::{Live, Signal};
use super::{auth, base_url, token, Listen, DEFAULT_ADDR};
use crate::bus::Bus;
use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures_util::stream::{self, Stream, StreamExt};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

const APP_CSS: &str = include_str!("assets/app.css");
const APP_JS: &str = include_str!("assets/app.js");
/// Messages of finished actions kept for the page that follows.
const FLASHES: usize = 32;

/// A message shown once an action is done.
#[derive(Debug, Clone)]
pub struct Flash {
    /// The text.
    pub text: String,
    /// It worked.
    pub ok: bool,
}

/// What every request handler shares.
pub struct App {
    /// The caches, by number.
    pub roots: Vec<PathBuf>,
    /// The login token.
    pub token: String,
    /// The Host values accepted (`127.0.0.1:7531`, `localhost:7531`).
    pub hosts: Vec<String>,
    /// The login cookie's name (with the port: cookies do not tell ports apart).
    pub cookie: String,
    /// Progress and recent results.
    pub live: Arc<Live>,
    /// Where the page's own syncs publish their events.
    pub bus: Bus,
    /// The daemon is stopping: the page's syncs stop between two items.
    pub stop: Arc<AtomicBool>,
    flashes: Mutex<VecDeque<(String, Flash)>>,
}

/// Shared by the handlers.
pub type Shared = Arc<App>;

impl App {
    /// Keeps a message for the page an action redirects to; its id.
    pub fn flash(&self, text: String, ok: bool) -> String {
        let id = format!("{:016x}", fastrand::u64(..));
        let mut flashes = self.flashes.lock().unwrap_or_else(|e| e.into_inner());
        if flashes.len() >= FLASHES {
            flashes.pop_front();
        }
        flashes.push_back((id.clone(), Flash { text, ok }));
        id
    }

    /// The message with this id.
    pub fn flash_of(&self, id: &str) -> Option<Flash> {
        self.flashes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, f)| f.clone())
    }
}

/// The listening socket, bound before the daemon's workers start.
pub struct Bound {
    listener: TcpListener,
    addr: SocketAddr,
    token: String,
}

impl Bound {
    /// Binds where `listen` says; `None` for `--no-ui`, or when the default
    /// address is taken (the daemon then runs without the page, and says so).
    pub fn bind(listen: Listen) -> Result<Option<Bound>> {
        let (addr, must) = match listen {
            Listen::Off => return Ok(None),
            Listen::Default => (DEFAULT_ADDR, false),
            Listen::At(addr) => (addr, true),
        };
        let listener = match TcpListener::bind(addr) {
            Ok(l) => l,
            Err(e) if !must => {
                eprintln!(
                    "offline daemon: the Sync Center page is off: {addr} is taken ({e}); \
                     pass --ui 127.0.0.1:PORT to serve it elsewhere"
                );
                return Ok(None);
            }
            Err(e) => return Err(e).with_context(|| format!("serving the Sync Center on {addr}")),
        };
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let token = match token::ensure_token() {
            Ok(t) => t,
            Err(e) if !must => {
                eprintln!(
                    "offline daemon: the Sync Center page is off: no login token ({e:#}); \
                     pass --no-ui to run without it quietly"
                );
                return Ok(None);
            }
            Err(e) => return Err(e.context("making the Sync Center's login token")),
        };
        Ok(Some(Bound {
            listener,
            addr,
            token,
        }))
    }

    /// The page's address (no token): what `daemon.json` records.
    pub fn url(&self) -> String {
        base_url(self.addr)
    }

    /// Serves the caches at `roots` until the server is stopped.
    pub fn serve(self, roots: Vec<PathBuf>, bus: &Bus, stop: Arc<AtomicBool>) -> Result<UiServer> {
        let live = Live::new(roots.clone());
        live.follow(bus)?;
        let port = self.addr.port();
        let following = live.clone();
        let app = Arc::new(App {
            roots,
            token: self.token,
            hosts: vec![self.addr.to_string(), format!("localhost:{port}")],
            cookie: format!("offline_ui_{port}"),
            live,
            bus: bus.clone(),
            stop,
            flashes: Mutex::new(VecDeque::new()),
        });
        let router = router(app);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let listener = self.listener;
        let thread = std::thread::Builder::new()
            .name("ui-server".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .max_blocking_threads(8)
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!("the Sync Center cannot start its runtime: {e}");
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!("the Sync Center cannot listen: {e}");
                            return;
                        }
                    };
                    let serve = std::pin::pin!(std::future::IntoFuture::into_future(axum::serve(
                        listener, router
                    )));
                    let _ = futures_util::future::select(serve, rx).await;
                });
                // Open event streams and slow pages end here.
                runtime.shutdown_timeout(Duration::from_millis(500));
            })?;
        tracing::info!("Sync Center on {}", base_url(self.addr));
        Ok(UiServer {
            shutdown: Some(tx),
            thread: Some(thread),
            live: following,
        })
    }
}

/// The running server; stopped when dropped.
pub struct UiServer {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    live: Arc<Live>,
}

impl UiServer {
    /// Stops serving (open event streams are closed).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.live.stop();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for UiServer {
    fn drop(&mut self) {
        self.halt();
    }
}

fn router(app: Shared) -> Router {
    Router::new()
        .route("/", get(super::pages::overview))
        .route("/tree", get(super::browse::tree))
        .route("/conflict", get(super::compare::conflict))
        .route("/events", get(events))
        .route("/static/app.css", get(css))
        .route("/static/app.js", get(js))
        .route("/action/{name}", post(super::actions::act))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            auth::guard,
        ))
        .with_state(app)
}

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], APP_CSS).into_response()
}

async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        APP_JS,
    )
        .into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, Html("<!DOCTYPE html><title>Not found</title><p>Nothing here. <a href=\"/\">Back to the Sync Center</a>.</p>")).into_response()
}

/// Runs blocking page work on tokio's blocking threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        tracing::error!("a Sync Center page failed: {e}");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the page failed; see the daemon's log",
        )
            .into_response()
    })
}

fn sse_of(app: &App, signal: &Signal) -> SseEvent {
    match signal {
        Signal::Progress(i) => SseEvent::default()
            .event("progress")
            .data(app.live.progress_json(*i).to_string()),
        Signal::Changed(i, name) => SseEvent::default()
            .event("changed")
            .data(serde_json::json!({"cache": i, "event": name}).to_string()),
    }
}

/// `GET /events`: the progress of every cache at once, then each signal as it comes.
async fn events(
    State(app): State<Shared>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = app.live.signals();
    let first: Vec<Result<SseEvent, Infallible>> = (0..app.roots.len())
        .map(|i| Ok(sse_of(&app, &Signal::Progress(i))))
        .collect();
    let rest = stream::unfold((rx, app), |(mut rx, app)| async move {
        let signal = match rx.recv().await {
            Ok(signal) => signal,
            // Missed some: whatever they were, a fresh look covers them.
            Err(RecvError::Lagged(_)) => Signal::Changed(0, "data_lost"),
            Err(RecvError::Closed) => return None,
        };
        let event = sse_of(&app, &signal);
        Some((Ok(event), (rx, app)))
    });
    Sse::new(stream::iter(first).chain(rest))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
