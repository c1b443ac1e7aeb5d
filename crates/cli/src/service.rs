//! The service commands: `offline daemon`, `offline events`, `offline mount`, and
//! the service's parts of `offline status` and `offline config`.

use crate::term::shown;
use crate::EXIT_OK;
use anyhow::{Context, Result};
use clap::Args;
use offline_engine::cache::now_ns;
use offline_engine::conflict::utc_stamp;
use offline_engine::Cache;
use offline_service::events::{self, Filter, PathMatch};
use offline_service::settings::{keys, Settings};
use offline_service::{daemon, mount_status, status, subscribe};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Commands wait this long for a cache that another process (the daemon's sync)
/// holds, instead of failing at once (`OFFLINE_LOCK_WAIT`, seconds, overrides). The
/// daemon itself never waits: it tries again a little later.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// Sets how long this command waits for a busy cache.
pub fn set_lock_wait(command: &crate::args::Command) {
    if matches!(command, crate::args::Command::Daemon(_)) {
        return;
    }
    let wait = std::env::var("OFFLINE_LOCK_WAIT")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(LOCK_WAIT);
    offline_engine::cache::set_lock_wait(wait);
}

/// `offline daemon`.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// The caches to serve (default: those listed in
    /// $XDG_CONFIG_HOME/offline-files/caches, else the cache here).
    pub caches: Vec<PathBuf>,
    /// Send subscribers a ping this often (seconds).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub ping_interval: u64,
    /// Serve the Sync Center page on this loopback address (default 127.0.0.1:7531;
    /// port 0 takes a free one). `offline ui` prints its login address.
    #[arg(long, value_name = "ADDR", conflicts_with = "no_ui")]
    pub ui: Option<String>,
    /// Do not serve the Sync Center page.
    #[arg(long)]
    pub no_ui: bool,
}

/// `offline events`.
#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Write each event as one JSON object per line (default: a short text line).
    #[arg(long)]
    pub json: bool,
    /// Only events about this file or folder (see --match).
    #[arg(long, value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// How an event's item must relate to --path.
    #[arg(long = "match", value_enum, default_value_t = MatchArg::SelfOrDescendant)]
    pub matching: MatchArg,
    /// Only these events: ids or names, comma-separated (e.g. 5,6,10 or sync_begin).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub only: Vec<String>,
    /// Never these events (wins over --only).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub exclude: Vec<String>,
    /// Wait up to this many seconds for a daemon to start listening.
    #[arg(long, value_name = "SECONDS")]
    pub wait: Option<u64>,
    /// Stop after this many events (pings included).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// List the event ids and names, and exit.
    #[arg(long)]
    pub list: bool,
}

/// `--match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MatchArg {
    /// The path itself.
    #[value(name = "self")]
    SelfOnly,
    /// Its direct children.
    Child,
    /// Anything below it.
    Descendant,
    /// The path or its children.
    SelfOrChild,
    /// The path or anything below it.
    SelfOrDescendant,
}

/// `offline mount`.
#[derive(Debug, Args)]
pub struct MountArgs {
    /// The cache whose share to show.
    pub cache: PathBuf,
    /// An empty folder to show it in.
    pub mountpoint: PathBuf,
    /// Serve all file content through the mount process, even where the kernel
    /// could pass cache files through itself (FUSE passthrough).
    #[arg(long)]
    pub no_passthrough: bool,
}

/// The daemon's settings in `offline config`.
#[derive(Debug, Args, Default)]
pub struct ConfigArgs {
    /// Background full sync interval (e.g. 30m).
    #[arg(long, value_name = "DURATION")]
    pub sync_interval: Option<String>,
    /// Random extra delay of background syncs, up to this (e.g. 5m).
    #[arg(long, value_name = "DURATION")]
    pub sync_jitter: Option<String>,
    /// No automatic sync in this daily window, local time (HH:MM-HH:MM; `none`).
    #[arg(long, value_name = "HH:MM-HH:MM")]
    pub blackout: Option<String>,
    /// Try an unreachable share again this often (e.g. 2m).
    #[arg(long, value_name = "DURATION")]
    pub retry_interval: Option<String>,
    /// Push local changes after this quiet time (e.g. 1s).
    #[arg(long, value_name = "DURATION")]
    pub push_delay: Option<String>,
    /// Scan the cache folder for missed changes this often (e.g. 5m).
    #[arg(long, value_name = "DURATION")]
    pub rescan_interval: Option<String>,
    /// Look for changes on a share that announces none (WebDAV, SFTP, S3, network
    /// mounts) this often (e.g. 60s).
    #[arg(long, value_name = "DURATION")]
    pub share_poll_interval: Option<String>,
    /// A share whose round trip is longer is on a slow link (e.g. 80ms).
    #[arg(long, value_name = "DURATION")]
    pub slow_link_latency: Option<String>,
    /// On a slow link, background syncs copy files over 1 MiB only in this daily
    /// window, local time (HH:MM-HH:MM; `none`: they do not wait).
    #[arg(long, value_name = "HH:MM-HH:MM")]
    pub slow_link_window: Option<String>,
}

impl ConfigArgs {
    fn pairs(&self) -> Vec<(&'static str, &String)> {
        [
            (keys::SYNC_INTERVAL, &self.sync_interval),
            (keys::SYNC_JITTER, &self.sync_jitter),
            (keys::BLACKOUT, &self.blackout),
            (keys::RETRY_INTERVAL, &self.retry_interval),
            (keys::PUSH_DELAY, &self.push_delay),
            (keys::RESCAN_INTERVAL, &self.rescan_interval),
            (keys::SHARE_POLL_INTERVAL, &self.share_poll_interval),
            (keys::SLOW_LINK_LATENCY, &self.slow_link_latency),
            (keys::SLOW_LINK_WINDOW, &self.slow_link_window),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect()
    }
}

/// Stores the daemon settings given to `offline config`.
pub fn apply_config(cache: &Cache, args: &ConfigArgs) -> Result<()> {
    for (key, value) in args.pairs() {
        Settings::set(cache, key, value)?;
    }
    Ok(())
}

/// The daemon settings, for `offline config --json`.
pub fn config_json(cache: &Cache) -> Value {
    let map: serde_json::Map<String, Value> = Settings::load(cache)
        .describe()
        .into_iter()
        .map(|(k, v)| (k.trim_start_matches("daemon.").to_string(), json!(v)))
        .collect();
    Value::Object(map)
}

/// Prints the daemon settings (`offline config`).
pub fn print_config(cache: &Cache) {
    for (key, value) in Settings::load(cache).describe() {
        println!(
            "{:<19}{}",
            format!("{}:", key.trim_start_matches("daemon.").replace('_', " ")),
            shown(value)
        );
    }
}

fn time_text(ns: i64) -> String {
    let secs = (ns - now_ns()) / 1_000_000_000;
    if secs >= 0 {
        format!("{} (in {secs} s)", utc_stamp(ns))
    } else {
        format!("{} ({} s ago)", utc_stamp(ns), -secs)
    }
}

/// The daemon's part of `offline status --json`.
pub fn status_json(cache: &Cache) -> Value {
    match status::read(&cache.meta_dir()) {
        Some(found) if found.running => json!({
            "running": true,
            "pid": found.status.pid,
            "activity": found.status.activity,
            "next_sync_ns": found.status.next_sync_ns,
            "next_retry_ns": found.status.next_retry_ns,
            "last_sync_ns": found.status.last_sync_ns,
            "last_result": found.status.last_result,
            "socket": found.status.socket,
            "share_changes": found.status.share_changes,
            "round_trip_ms": found.status.round_trip_ms,
            "slow_link": found.status.slow_link,
        }),
        _ => json!({"running": false}),
    }
}

/// The daemon's lines of `offline status`.
pub fn print_status(cache: &Cache) {
    match status::read(&cache.meta_dir()) {
        Some(found) if found.running => {
            let s = &found.status;
            println!(
                "daemon:       running (pid {}), {}",
                s.pid,
                s.activity.name()
            );
            if let Some(ns) = s.next_sync_ns {
                println!("next sync:    {}", time_text(ns));
            }
            if let Some(ns) = s.next_retry_ns {
                println!("next retry:   {}", time_text(ns));
            }
            if let Some(how) = &s.share_changes {
                println!("share changes: {how}");
            }
            if let Some(ms) = s.round_trip_ms {
                let speed = if s.slow_link { "slow" } else { "fast" };
                println!("link:         {speed} (round trip {ms} ms)");
            }
        }
        _ => println!("daemon:       not running (start it with `offline daemon`)"),
    }
    for mount in mount_status::read_all(&cache.meta_dir()) {
        println!("mount:        {}", shown(mount.describe()));
    }
}

/// The running mounts of the cache, for `offline status --json`.
pub fn mounts_json(cache: &Cache) -> Value {
    let mounts: Vec<Value> = mount_status::read_all(&cache.meta_dir())
        .iter()
        .map(|m| {
            let (io, reason) = match &m.io {
                mount_status::Io::Passthrough => ("passthrough", None),
                mount_status::Io::Fuse(why) => ("fuse", Some(why)),
            };
            json!({
                "pid": m.pid,
                "mountpoint": m.mountpoint.display().to_string(),
                "io": io,
                "fallback": reason.map(|r| serde_json::to_value(r).unwrap_or(Value::Null)),
                "fallback_text": reason.map(|r| r.describe()),
            })
        })
        .collect();
    Value::Array(mounts)
}

/// `offline daemon`.
pub fn daemon(args: DaemonArgs) -> Result<u8> {
    let mut caches = args.caches;
    if caches.is_empty() {
        caches = daemon::listed_caches();
    }
    if caches.is_empty() {
        caches.push(PathBuf::from("."));
    }
    let ui = match (&args.ui, args.no_ui) {
        (_, true) => offline_service::ui::Listen::Off,
        (Some(addr), false) => {
            offline_service::ui::Listen::At(offline_service::ui::parse_listen(addr).map_err(usage)?)
        }
        (None, false) => offline_service::ui::Listen::Default,
    };
    daemon::run(daemon::DaemonOptions {
        caches,
        socket: events::socket_path(),
        ping_every: Duration::from_secs(args.ping_interval.max(1)),
        ui,
    })?;
    Ok(EXIT_OK)
}

fn parse_ids(list: &[String]) -> Result<Vec<u32>> {
    list.iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            events::parse_event(s).with_context(|| {
                format!("`{s}` is not an event id or name (see `offline events --list`)")
            })
        })
        .collect()
}

/// `offline events`.
pub fn events(args: EventsArgs) -> Result<u8> {
    if args.list {
        for (id, name) in events::EVENTS {
            println!("{id:>3} {name}");
        }
        return Ok(EXIT_OK);
    }
    let matching = match args.matching {
        MatchArg::SelfOnly => PathMatch::SelfOnly,
        MatchArg::Child => PathMatch::Child,
        MatchArg::Descendant => PathMatch::Descendant,
        MatchArg::SelfOrChild => PathMatch::SelfOrChild,
        MatchArg::SelfOrDescendant => PathMatch::SelfOrDescendant,
    };
    let path = match &args.path {
        Some(p) => Some((absolute(p)?, matching)),
        None => None,
    };
    let filter = Filter {
        path,
        only: parse_ids(&args.only).map_err(usage)?,
        exclude: parse_ids(&args.exclude).map_err(usage)?,
    };
    let socket = events::socket_path();
    let mut sub = subscribe::subscribe(&socket, &filter, args.wait.map(Duration::from_secs))
        .map_err(usage)?;
    let stdout = std::io::stdout();
    let mut seen = 0u64;
    while let Some(event) = sub.next_event() {
        let line = if args.json {
            event.to_string()
        } else {
            text_line(&event)
        };
        let mut out = stdout.lock();
        if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
            break;
        }
        seen += 1;
        if args.count.is_some_and(|n| seen >= n) {
            break;
        }
    }
    Ok(EXIT_OK)
}

/// A usage error (exit 2).
pub fn usage(err: anyhow::Error) -> anyhow::Error {
    offline_engine::EngineError::Usage(format!("{err:#}")).into()
}

fn absolute(path: &Path) -> Result<PathBuf> {
    let joined = std::env::current_dir()?.join(path);
    Ok(joined.canonicalize().unwrap_or(joined))
}

/// `HH:MM:SS.mmm  ID name  path  key=value ...`
fn text_line(event: &Value) -> String {
    let ns = event["time_ns"].as_i64().unwrap_or(0);
    let secs_of_day = (ns / 1_000_000_000).rem_euclid(86_400);
    let mut line = format!(
        "{:02}:{:02}:{:02}.{:03}  {:>3} {:<26}",
        secs_of_day / 3600,
        secs_of_day / 60 % 60,
        secs_of_day % 60,
        (ns / 1_000_000).rem_euclid(1000),
        event["id"].as_u64().unwrap_or(0),
        shown(event["event"].as_str().unwrap_or("?")),
    );
    if let Some(cache) = event["cache"].as_str() {
        match event["path"].as_str() {
            Some(p) if !p.is_empty() => line.push_str(&format!(" {}/{}", shown(cache), shown(p))),
            _ => line.push_str(&format!(" {}", shown(cache))),
        }
    }
    if let Value::Object(map) = event {
        for (k, v) in map {
            if matches!(k.as_str(), "id" | "event" | "time_ns" | "cache" | "path") {
                continue;
            }
            match v {
                Value::String(s) => line.push_str(&format!(" {}={}", shown(k), shown(s))),
                other => line.push_str(&format!(" {}={}", shown(k), shown(other))),
            }
        }
    }
    line
}

/// `offline mount`.
pub fn mount(args: MountArgs) -> Result<u8> {
    #[cfg(feature = "fuse")]
    {
        let options = offline_service::mount::Options {
            no_passthrough: args.no_passthrough,
        };
        offline_service::mount::run(&args.cache, &args.mountpoint, &options)?;
        Ok(EXIT_OK)
    }
    #[cfg(not(feature = "fuse"))]
    {
        let _ = args;
        eprintln!("offline: this `offline` was built without the `fuse` feature; rebuild with `--features fuse`");
        Ok(crate::EXIT_USAGE)
    }
}
