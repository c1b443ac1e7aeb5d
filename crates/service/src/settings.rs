//! The daemon's per-cache settings, kept in the cache's state database (settings
//! table) so `offline config` sets them and the daemon reads them on every round:
//!
//! | key | default | meaning |
//! |---|---|---|
//! | `daemon.sync_interval` | `15m` | a full two-way sync this often (Windows' SyncInterval) |
//! | `daemon.sync_jitter` | `2m` | plus a random delay of up to this (SyncVariance) |
//! | `daemon.blackout` | none | `HH:MM-HH:MM` local time: no automatic sync then |
//! | `daemon.retry_interval` | `2m` | how often an unreachable share is tried again |
//! | `daemon.push_delay` | `1s` | quiet time after a local change before it is pushed |
//! | `daemon.rescan_interval` | `5m` | a full scan of the cache folder for changes inotify missed |
//! | `daemon.share_poll_interval` | `60s` | a look at a share that announces no changes (WebDAV, SFTP, S3, network mounts) |
//! | `daemon.slow_link_latency` | `80ms` | a share whose round trip is longer is on a slow link (Windows' slow-link mode) |
//! | `daemon.slow_link_window` | none | `HH:MM-HH:MM`: on a slow link, background syncs copy files over 1 MiB only then |
//!
//! Durations are written like `90`, `90s`, `500ms`, `10m`, `2h`.

use offline_engine::Cache;
use std::time::Duration;

/// Settings keys (state database) of the daemon.
pub mod keys {
    /// Full sync interval.
    pub const SYNC_INTERVAL: &str = "daemon.sync_interval";
    /// Random extra delay, up to this.
    pub const SYNC_JITTER: &str = "daemon.sync_jitter";
    /// Daily window without automatic syncs, `HH:MM-HH:MM` local time.
    pub const BLACKOUT: &str = "daemon.blackout";
    /// Reconnect attempts while the share is unreachable.
    pub const RETRY_INTERVAL: &str = "daemon.retry_interval";
    /// Debounce of local changes.
    pub const PUSH_DELAY: &str = "daemon.push_delay";
    /// Full scan of the cache folder.
    pub const RESCAN_INTERVAL: &str = "daemon.rescan_interval";
    /// A look at a share whose server announces no changes.
    pub const SHARE_POLL_INTERVAL: &str = "daemon.share_poll_interval";
    /// A longer round trip than this is a slow link.
    pub const SLOW_LINK_LATENCY: &str = "daemon.slow_link_latency";
    /// On a slow link, large files are copied by background syncs only in this
    /// daily window, `HH:MM-HH:MM` local time.
    pub const SLOW_LINK_WINDOW: &str = "daemon.slow_link_window";
    /// Every key, for `offline config`.
    pub const ALL: [&str; 9] = [
        SYNC_INTERVAL,
        SYNC_JITTER,
        BLACKOUT,
        RETRY_INTERVAL,
        PUSH_DELAY,
        RESCAN_INTERVAL,
        SHARE_POLL_INTERVAL,
        SLOW_LINK_LATENCY,
        SLOW_LINK_WINDOW,
    ];
}

/// A daily window, minutes after local midnight; `end < start` spans midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blackout {
    /// First minute of the window.
    pub start: u32,
    /// First minute after it.
    pub end: u32,
}

impl Blackout {
    /// Reads `HH:MM-HH:MM`.
    pub fn parse(text: &str) -> Option<Blackout> {
        let (a, b) = text.trim().split_once('-')?;
        let minute = |s: &str| -> Option<u32> {
            let (h, m) = s.trim().split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (h <= 24 && m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
        };
        Some(Blackout {
            start: minute(a)?,
            end: minute(b)?,
        })
    }

    /// True when `minute` (after local midnight) is inside.
    pub fn contains(&self, minute: u32) -> bool {
        if self.start <= self.end {
            (self.start..self.end).contains(&minute)
        } else {
            minute >= self.start || minute < self.end
        }
    }

    /// Minutes from `minute` until the window ends (0 when outside).
    pub fn minutes_left(&self, minute: u32) -> u32 {
        if !self.contains(minute) {
            return 0;
        }
        (self.end + 1440 - minute) % 1440
    }

    /// `HH:MM-HH:MM`.
    pub fn text(&self) -> String {
        format!(
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

/// The daemon's settings for one cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Full sync interval.
    pub sync_interval: Duration,
    /// Random extra delay.
    pub sync_jitter: Duration,
    /// Daily window without automatic syncs.
    pub blackout: Option<Blackout>,
    /// Reconnect attempts.
    pub retry_interval: Duration,
    /// Debounce of local changes.
    pub push_delay: Duration,
    /// Full scan of the cache folder.
    pub rescan_interval: Duration,
    /// A look at a share whose server announces no changes.
    pub share_poll_interval: Duration,
    /// A longer round trip than this is a slow link.
    pub slow_link_latency: Duration,
    /// On a slow link, large files wait for this daily window (none: they do not wait).
    pub slow_link_window: Option<Blackout>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            sync_interval: Duration::from_secs(15 * 60),
            sync_jitter: Duration::from_secs(2 * 60),
            blackout: None,
            retry_interval: Duration::from_secs(2 * 60),
            push_delay: Duration::from_secs(1),
            rescan_interval: Duration::from_secs(5 * 60),
            share_poll_interval: Duration::from_secs(60),
            slow_link_latency: Duration::from_millis(80),
            slow_link_window: None,
        }
    }
}

/// Reads `90`, `90s`, `500ms`, `10m`, `2h`, `1d`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => return None,
    };
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

/// Writes a duration the way [`parse_duration`] reads it.
pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else {
        let s = d.as_secs();
        if s != 0 && s.is_multiple_of(3600) {
            format!("{}h", s / 3600)
        } else if s != 0 && s.is_multiple_of(60) {
            format!("{}m", s / 60)
        } else {
            format!("{s}s")
        }
    }
}

impl Settings {
    /// The cache's settings (defaults for absent or unreadable values).
    pub fn load(cache: &Cache) -> Settings {
        let store = cache.store();
        let get = |key: &str| store.setting(key).ok().flatten();
        let dur = |key: &str, default: Duration| {
            get(key).and_then(|v| parse_duration(&v)).unwrap_or(default)
        };
        let d = Settings::default();
        Settings {
            sync_interval: dur(keys::SYNC_INTERVAL, d.sync_interval)
                .max(Duration::from_millis(100)),
            sync_jitter: dur(keys::SYNC_JITTER, d.sync_jitter),
            blackout: get(keys::BLACKOUT).and_then(|v| Blackout::parse(&v)),
            retry_interval: dur(keys::RETRY_INTERVAL, d.retry_interval)
                .max(Duration::from_millis(100)),
            push_delay: dur(keys::PUSH_DELAY, d.push_delay),
            rescan_interval: dur(keys::RESCAN_INTERVAL, d.rescan_interval)
                .max(Duration::from_millis(100)),
            share_poll_interval: dur(keys::SHARE_POLL_INTERVAL, d.share_poll_interval)
                .max(Duration::from_secs(1)),
            slow_link_latency: dur(keys::SLOW_LINK_LATENCY, d.slow_link_latency),
            slow_link_window: get(keys::SLOW_LINK_WINDOW).and_then(|v| Blackout::parse(&v)),
        }
    }

    /// Checks and stores one setting (`offline config`). An empty blackout removes it.
    pub fn set(cache: &Cache, key: &str, value: &str) -> anyhow::Result<()> {
        let value = value.trim();
        if key == keys::BLACKOUT || key == keys::SLOW_LINK_WINDOW {
            if !value.is_empty() && value != "none" && Blackout::parse(value).is_none() {
                anyhow::bail!(
                    "`{value}` is not a daily window; write it as HH:MM-HH:MM (local time)"
                );
            }
        } else if keys::ALL.contains(&key) {
            if parse_duration(value).is_none() {
                anyhow::bail!("`{value}` is not a duration (examples: 90s, 10m, 2h)");
            }
        } else {
            anyhow::bail!("unknown daemon setting {key}");
        }
        let value = if value == "none" { "" } else { value };
        cache.store().set_setting(key, value)?;
        Ok(())
    }

    /// The settings as `(key, value)` text, for printing.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        vec![
            (keys::SYNC_INTERVAL, format_duration(self.sync_interval)),
            (keys::SYNC_JITTER, format_duration(self.sync_jitter)),
            (
                keys::BLACKOUT,
                self.blackout
                    .map(|b| b.text())
                    .unwrap_or_else(|| "none".into()),
            ),
            (keys::RETRY_INTERVAL, format_duration(self.retry_interval)),
            (keys::PUSH_DELAY, format_duration(self.push_delay)),
            (keys::RESCAN_INTERVAL, format_duration(self.rescan_interval)),
            (
                keys::SHARE_POLL_INTERVAL,
                format_duration(self.share_poll_interval),
            ),
            (
                keys::SLOW_LINK_LATENCY,
                format_duration(self.slow_link_latency),
            ),
            (
                keys::SLOW_LINK_WINDOW,
                self.slow_link_window
                    .map(|b| b.text())
                    .unwrap_or_else(|| "none".into()),
            ),
        ]
    }
}

/// Minutes after local midnight, now.
pub fn local_minute_now() -> u32 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as libc::time_t)
        .unwrap_or(0);
    // SAFETY: localtime_r only writes the `tm` we pass; `now` is a valid time_t.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&now, &mut tm).is_null() };
    if ok {
        (tm.tm_hour as u32) * 60 + tm.tm_min as u32
    } else {
        ((now / 60) % 1440) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("10m"), Some(Duration::from_secs(600)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(parse_duration("5 parsecs"), None);
        for d in [1, 60, 90, 3600, 7200] {
            let d = Duration::from_secs(d);
            assert_eq!(parse_duration(&format_duration(d)), Some(d));
        }
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn blackout_windows() {
        let b = Blackout::parse("09:00-17:30").unwrap();
        assert!(b.contains(9 * 60));
        assert!(b.contains(17 * 60 + 29));
        assert!(!b.contains(17 * 60 + 30));
        assert_eq!(b.minutes_left(17 * 60), 30);
        let night = Blackout::parse("22:00-06:00").unwrap();
        assert!(night.contains(23 * 60));
        assert!(night.contains(60));
        assert!(!night.contains(12 * 60));
        assert_eq!(night.minutes_left(23 * 60), 7 * 60);
        assert_eq!(night.text(), "22:00-06:00");
        assert!(Blackout::parse("25:00-01:00").is_none());
        assert!(Blackout::parse("nonsense").is_none());
    }
}
