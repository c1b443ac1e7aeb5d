//! The events the service publishes, with Windows' `OFFLINEFILES_EVENTS` ids and
//! names (reference §4.3), how they travel (one JSON object per line), where the
//! socket is, and the subscriber's filter (path match, included and excluded ids).

use serde_json::{json, Map, Value};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The environment variable that overrides where the events socket is (tests).
pub use crate::socket::SOCKET_ENV;

/// Every event id with its name: Windows' ids 0..=38, then this service's own (100+).
pub const EVENTS: &[(u32, &str)] = &[
    (0, "cache_moved"),
    (1, "cache_is_full"),
    (2, "cache_is_corrupted"),
    (3, "enabled"),
    (4, "encryption_changed"),
    (5, "sync_begin"),
    (6, "sync_file_result"),
    (7, "sync_conflict_rec_added"),
    (8, "sync_conflict_rec_updated"),
    (9, "sync_conflict_rec_removed"),
    (10, "sync_end"),
    (11, "background_sync_begin"),
    (12, "background_sync_end"),
    (13, "net_transport_arrived"),
    (14, "no_net_transports"),
    (15, "item_disconnected"),
    (16, "item_reconnected"),
    (17, "item_available_offline"),
    (18, "item_not_available_offline"),
    (19, "item_pinned"),
    (20, "item_not_pinned"),
    (21, "item_modified"),
    (22, "item_added_to_cache"),
    (23, "item_deleted_from_cache"),
    (24, "item_renamed"),
    (25, "data_lost"),
    (26, "ping"),
    (27, "item_reconnect_begin"),
    (28, "item_reconnect_end"),
    (29, "cache_evict_begin"),
    (30, "cache_evict_end"),
    (31, "policy_change_detected"),
    (32, "preference_change_detected"),
    (33, "settings_changes_applied"),
    (34, "transparent_cache_item_notify"),
    (35, "prefetch_file_begin"),
    (36, "prefetch_file_end"),
    (37, "prefetch_close_handle_begin"),
    (38, "prefetch_close_handle_end"),
    // This service's own: a background sync that could not run (mass-delete guard,
    // a broken state database...). Windows has no event for it.
    (100, "sync_error"),
    // The daemon starts or stops serving a cache.
    (101, "service_started"),
    (102, "service_stopped"),
];

/// Event ids used by the service.
pub mod id {
    #![allow(missing_docs)]
    pub const SYNC_BEGIN: u32 = 5;
    pub const SYNC_FILE_RESULT: u32 = 6;
    pub const SYNC_CONFLICT_REC_ADDED: u32 = 7;
    pub const SYNC_CONFLICT_REC_UPDATED: u32 = 8;
    pub const SYNC_CONFLICT_REC_REMOVED: u32 = 9;
    pub const SYNC_END: u32 = 10;
    pub const BACKGROUND_SYNC_BEGIN: u32 = 11;
    pub const BACKGROUND_SYNC_END: u32 = 12;
    pub const ITEM_DISCONNECTED: u32 = 15;
    pub const ITEM_RECONNECTED: u32 = 16;
    pub const ITEM_PINNED: u32 = 19;
    pub const ITEM_NOT_PINNED: u32 = 20;
    pub const ITEM_MODIFIED: u32 = 21;
    pub const ITEM_ADDED_TO_CACHE: u32 = 22;
    pub const ITEM_DELETED_FROM_CACHE: u32 = 23;
    pub const ITEM_RENAMED: u32 = 24;
    pub const DATA_LOST: u32 = 25;
    pub const PING: u32 = 26;
    pub const ITEM_RECONNECT_BEGIN: u32 = 27;
    pub const ITEM_RECONNECT_END: u32 = 28;
    pub const SYNC_ERROR: u32 = 100;
    pub const SERVICE_STARTED: u32 = 101;
    pub const SERVICE_STOPPED: u32 = 102;
}

/// The name of an event id (`"unknown"` for ids that have none).
pub fn event_name(id: u32) -> &'static str {
    EVENTS
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, n)| *n)
        .unwrap_or("unknown")
}

/// Reads an event given by number or by name (`6`, `sync_file_result`,
/// `sync-file-result`, `SYNCFILERESULT`).
pub fn parse_event(text: &str) -> Option<u32> {
    let text = text.trim();
    if let Ok(n) = text.parse::<u32>() {
        return EVENTS.iter().any(|(i, _)| *i == n).then_some(n);
    }
    let squash = |s: &str| {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let wanted = squash(text);
    EVENTS
        .iter()
        .find(|(_, n)| squash(n) == wanted)
        .map(|(i, _)| *i)
}

/// One event: its id, when, which cache, which item (relative to the cache, escaped
/// like the CLI's JSON paths), and its payload fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Windows' event id (or this service's own, 100+).
    pub id: u32,
    /// Nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// The cache folder (absolute); `None` for events about no cache (ping, data_lost).
    pub cache: Option<PathBuf>,
    /// The item, relative to the cache (`""`: the cache root, the whole scope).
    pub path: Option<String>,
    /// The payload.
    pub fields: Map<String, Value>,
}

impl Event {
    /// An event with no cache and no fields.
    pub fn new(id: u32) -> Event {
        Event {
            id,
            time_ns: offline_engine::cache::now_ns(),
            cache: None,
            path: None,
            fields: Map::new(),
        }
    }

    /// An event about a cache (the whole scope).
    pub fn for_cache(id: u32, cache: &Path) -> Event {
        let mut event = Event::new(id);
        event.cache = Some(cache.to_path_buf());
        event
    }

    /// An event about one item of a cache.
    pub fn for_item(id: u32, cache: &Path, path: &offline_core::RelPath) -> Event {
        let mut event = Event::for_cache(id, cache);
        event.path = Some(path.escaped());
        event
    }

    /// Adds a payload field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Event {
        self.fields.insert(key.to_string(), value.into());
        self
    }

    /// The event's name.
    pub fn name(&self) -> &'static str {
        event_name(self.id)
    }

    /// The wire form: `{"id", "event", "time_ns", "cache"?, "path"?, ...fields}`.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("id".into(), json!(self.id));
        out.insert("event".into(), json!(self.name()));
        out.insert("time_ns".into(), json!(self.time_ns));
        if let Some(cache) = &self.cache {
            out.insert("cache".into(), json!(cache.display().to_string()));
        }
        if let Some(path) = &self.path {
            out.insert("path".into(), json!(path));
        }
        for (k, v) in &self.fields {
            out.insert(k.clone(), v.clone());
        }
        Value::Object(out)
    }

    /// The absolute path of the item (or of the cache for scope-wide events).
    pub fn full_path(&self) -> Option<PathBuf> {
        let cache = self.cache.as_ref()?;
        match self.path.as_deref() {
            None | Some("") => Some(cache.clone()),
            Some(p) => {
                let bytes = offline_core::path::unescape_bytes(p)?;
                Some(cache.join(std::ffi::OsStr::from_bytes(&bytes)))
            }
        }
    }
}

/// How an event's path must relate to the filter path (Windows'
/// `OFFLINEFILES_PATHFILTER_MATCH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathMatch {
    /// The path itself (0).
    SelfOnly,
    /// Its direct children (1).
    Child,
    /// Anything below it (2).
    Descendant,
    /// The path or its children (3).
    SelfOrChild,
    /// The path or anything below it (4).
    SelfOrDescendant,
}

impl PathMatch {
    /// The wire name.
    pub fn name(self) -> &'static str {
        match self {
            PathMatch::SelfOnly => "self",
            PathMatch::Child => "child",
            PathMatch::Descendant => "descendant",
            PathMatch::SelfOrChild => "self-or-child",
            PathMatch::SelfOrDescendant => "self-or-descendant",
        }
    }

    /// Reads a wire name.
    pub fn from_name(name: &str) -> Option<PathMatch> {
        Some(match name.replace('_', "-").as_str() {
            "self" => PathMatch::SelfOnly,
            "child" => PathMatch::Child,
            "descendant" | "descendent" => PathMatch::Descendant,
            "self-or-child" => PathMatch::SelfOrChild,
            "self-or-descendant" | "self-or-descendent" => PathMatch::SelfOrDescendant,
            _ => return None,
        })
    }

    fn accepts(self, filter: &Path, path: &Path) -> bool {
        let is_self = path == filter;
        let below = path.starts_with(filter) && !is_self;
        let child = below && path.parent() == Some(filter);
        match self {
            PathMatch::SelfOnly => is_self,
            PathMatch::Child => child,
            PathMatch::Descendant => below,
            PathMatch::SelfOrChild => is_self || child,
            PathMatch::SelfOrDescendant => is_self || below,
        }
    }
}

/// What a subscriber wants (sent as the first line on the socket).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// Only events about this path (absolute), matched by `matching`.
    pub path: Option<(PathBuf, PathMatch)>,
    /// Only these ids (empty: all).
    pub only: Vec<u32>,
    /// Never these ids (exclusion wins).
    pub exclude: Vec<u32>,
}

impl Filter {
    /// True when the subscriber wants `event`. Ping and data_lost always pass the
    /// path filter; scope-wide events of a cache (sync begin and end, connect state)
    /// pass when the filter path lies in that cache or the cache lies in it.
    pub fn accepts(&self, event: &Event) -> bool {
        if self.exclude.contains(&event.id) {
            return false;
        }
        if !self.only.is_empty() && !self.only.contains(&event.id) {
            return false;
        }
        let Some((filter, matching)) = &self.path else {
            return true;
        };
        let Some(cache) = &event.cache else {
            return true;
        };
        match event.path.as_deref() {
            None => cache.starts_with(filter) || filter.starts_with(cache),
            Some(_) => match event.full_path() {
                Some(full) => matching.accepts(filter, &full),
                None => false,
            },
        }
    }

    /// The wire form.
    pub fn to_json(&self) -> Value {
        json!({
            "subscribe": {
                "path": self.path.as_ref().map(|(p, _)| p.display().to_string()),
                "match": self.path.as_ref().map(|(_, m)| m.name()),
                "only": self.only,
                "exclude": self.exclude,
            }
        })
    }

    /// Reads the wire form.
    pub fn from_json(value: &Value) -> Option<Filter> {
        let sub = value.get("subscribe")?;
        let ids = |key: &str| -> Vec<u32> {
            sub.get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_u64().map(|n| n as u32))
                        .collect()
                })
                .unwrap_or_default()
        };
        let path = match sub.get("path").and_then(Value::as_str) {
            Some(p) => {
                let matching = sub
                    .get("match")
                    .and_then(Value::as_str)
                    .and_then(PathMatch::from_name)
                    .unwrap_or(PathMatch::SelfOrDescendant);
                Some((PathBuf::from(p), matching))
            }
            None => None,
        };
        Some(Filter {
            path,
            only: ids("only"),
            exclude: ids("exclude"),
        })
    }
}

/// The events socket of this user (see [`crate::socket::socket_path`]).
pub fn socket_path() -> PathBuf {
    crate::socket::socket_path()
}

#[cfg(test)]
mod tests {
    use super::*;
    use offline_core::RelPath;

    #[test]
    fn ids_and_names_round_trip() {
        assert_eq!(event_name(5), "sync_begin");
        assert_eq!(event_name(26), "ping");
        assert_eq!(parse_event("sync-file-result"), Some(6));
        assert_eq!(parse_event("SYNCFILERESULT"), Some(6));
        assert_eq!(parse_event("10"), Some(10));
        assert_eq!(parse_event("99"), None);
        assert_eq!(parse_event("nonsense"), None);
        for (i, (id, _)) in EVENTS.iter().take(39).enumerate() {
            assert_eq!(*id as usize, i, "Windows ids are 0..=38 in order");
        }
    }

    #[test]
    fn path_filters_follow_windows_match_kinds() {
        let cache = Path::new("/c");
        let item = |p: &str| Event::for_item(21, cache, &RelPath::from_str_lossy(p).unwrap());
        let filter = |p: &str, m| Filter {
            path: Some((PathBuf::from(p), m)),
            ..Filter::default()
        };
        let f = filter("/c/a", PathMatch::SelfOnly);
        assert!(f.accepts(&item("a")));
        assert!(!f.accepts(&item("a/b")));
        let f = filter("/c/a", PathMatch::Child);
        assert!(f.accepts(&item("a/b")));
        assert!(!f.accepts(&item("a/b/c")));
        assert!(!f.accepts(&item("a")));
        let f = filter("/c/a", PathMatch::Descendant);
        assert!(f.accepts(&item("a/b/c")));
        assert!(!f.accepts(&item("a")));
        assert!(!f.accepts(&item("ab")));
        // Scope-wide events of the cache pass; ping always passes.
        assert!(f.accepts(&Event::for_cache(5, cache)));
        assert!(!f.accepts(&Event::for_cache(5, Path::new("/other"))));
        assert!(f.accepts(&Event::new(26)));
    }

    #[test]
    fn only_and_exclude() {
        let f = Filter {
            only: vec![5, 6],
            exclude: vec![6],
            ..Filter::default()
        };
        assert!(f.accepts(&Event::new(5)));
        assert!(!f.accepts(&Event::new(6)));
        assert!(!f.accepts(&Event::new(10)));
        let back = Filter::from_json(&f.to_json()).unwrap();
        assert_eq!(back, f);
    }
}
