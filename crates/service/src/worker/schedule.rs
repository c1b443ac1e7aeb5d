//! The worker's clock: when the next scheduled full sync, push, rescan, reconnect
//! attempt, probe of the share and look at the state database are due, and how
//! long the worker may sleep until one of them is.

use crate::settings::Settings;
use offline_engine::cache::now_ns;
use std::time::{Duration, Instant};

/// The longest the loop sleeps without looking at the clock and the settings.
const TICK: Duration = Duration::from_millis(500);
/// How long a busy cache (another `offline` command holds its lock) waits.
const BUSY_RETRY: Duration = Duration::from_secs(2);
/// After a failed background sync, wait this long before pushing again.
const ERROR_BACKOFF: Duration = Duration::from_secs(30);
/// A look at the state database waits this long after it was written (a burst of
/// commits costs one look).
const STATE_LOOK_DELAY: Duration = Duration::from_millis(300);
/// The settings are read again at most this often.
const SETTINGS_EVERY: Duration = Duration::from_secs(1);

/// Every deadline of one worker.
pub struct Timers {
    /// When the next scheduled full sync is due.
    pub next_full: Instant,
    /// A push waits until then (debounce), and at most until `push_deadline`.
    push_due: Option<Instant>,
    push_deadline: Option<Instant>,
    /// When the next rescan of the cache folder is due.
    next_rescan: Instant,
    /// When to try an unreachable share again (`None`: it is not offline, or
    /// offline on purpose).
    pub next_retry: Option<Instant>,
    /// When to check next that an online share is still there.
    next_probe: Instant,
    /// No background sync before then (the last one failed, or the cache was busy).
    backoff_until: Option<Instant>,
    /// When to look at what changed in the state database.
    state_look: Option<Instant>,
    /// When the settings were last read.
    settings_read: Instant,
}

impl Timers {
    /// The deadlines of a worker starting `now`: a full sync at once.
    pub fn new(now: Instant, settings: &Settings) -> Timers {
        Timers {
            next_full: now,
            push_due: None,
            push_deadline: None,
            next_rescan: now + settings.rescan_interval,
            next_retry: None,
            next_probe: now + settings.retry_interval,
            backoff_until: None,
            state_look: None,
            settings_read: now,
        }
    }

    /// When the loop must wake up at the latest.
    pub fn next_wake(&self, now: Instant) -> Instant {
        [
            Some(self.next_full),
            self.push_due,
            Some(self.next_rescan),
            self.next_retry,
            Some(self.next_probe),
            self.state_look,
        ]
        .into_iter()
        .flatten()
        .fold(now + TICK, Instant::min)
    }

    /// True (once a second) when the settings should be read again.
    pub fn settings_due(&mut self, now: Instant) -> bool {
        if now.duration_since(self.settings_read) < SETTINGS_EVERY {
            return false;
        }
        self.settings_read = now;
        true
    }

    /// The settings changed from `old` to `new`: deadlines they set move.
    pub fn settings_changed(&mut self, old: &Settings, new: &Settings, now: Instant) {
        if new.sync_interval != old.sync_interval || new.sync_jitter != old.sync_jitter {
            self.next_full = now + jittered(new.sync_interval, new.sync_jitter);
        }
        if new.rescan_interval != old.rescan_interval {
            self.next_rescan = now + new.rescan_interval;
        }
        if new.retry_interval != old.retry_interval {
            if let Some(at) = self.next_retry {
                self.next_retry = Some(at.min(now + new.retry_interval));
            }
        }
    }

    /// A push is wanted after `delay`, and after `cap` at the latest however often
    /// changes keep coming (a deadline already set stays).
    pub fn push_after(&mut self, now: Instant, delay: Duration, cap: Duration) {
        self.push_due = Some(now + delay);
        self.push_deadline.get_or_insert(now + cap);
    }

    /// A push is wanted (the person changed something).
    pub fn push_pending(&self) -> bool {
        self.push_due.is_some()
    }

    /// The wanted push is due.
    pub fn push_ready(&self, now: Instant) -> bool {
        match (self.push_due, self.push_deadline) {
            (Some(due), deadline) => now >= due || deadline.is_some_and(|d| now >= d),
            (None, _) => false,
        }
    }

    /// No push is wanted any more (it runs now, or only a person can allow it).
    pub fn push_done(&mut self) {
        self.push_due = None;
        self.push_deadline = None;
    }

    /// A full sync starts `now`: the next one and the next rescan move on.
    pub fn full_sync_started(&mut self, now: Instant, settings: &Settings) {
        self.next_full = now + jittered(settings.sync_interval, settings.sync_jitter);
        self.next_rescan = now + settings.rescan_interval;
    }

    /// Another command held the cache: the sync (full if `whole`) is tried again
    /// shortly.
    pub fn busy(&mut self, now: Instant, whole: bool) {
        self.backoff_until = Some(now + BUSY_RETRY);
        self.push_due = Some(now + BUSY_RETRY);
        if whole {
            self.next_full = now + BUSY_RETRY;
        }
    }

    /// A background sync failed: wait before the next, and push what is left then.
    pub fn failed(&mut self, now: Instant, more_to_push: bool) {
        self.backoff_until = Some(now + ERROR_BACKOFF);
        if more_to_push {
            self.push_due = Some(now + ERROR_BACKOFF);
        }
    }

    /// Background syncs wait (after a failure, or for a busy cache).
    pub fn held_back(&self, now: Instant) -> bool {
        self.backoff_until.is_some_and(|at| now < at)
    }

    /// The rescan is due (and the next one is scheduled).
    pub fn rescan_due(&mut self, now: Instant, settings: &Settings) -> bool {
        if now < self.next_rescan {
            return false;
        }
        self.next_rescan = now + settings.rescan_interval;
        true
    }

    /// The check that the share is still there is due.
    pub fn probe_due(&self, now: Instant) -> bool {
        now >= self.next_probe
    }

    /// The share was just reached (or looked at): the next check waits.
    pub fn probed(&mut self, now: Instant, settings: &Settings) {
        self.next_probe = now + settings.retry_interval;
    }

    /// The share went offline (`retry`: try again after the retry interval, else
    /// only a person brings it back).
    pub fn offline(&mut self, now: Instant, settings: &Settings, retry: bool) {
        self.next_retry = retry.then(|| now + settings.retry_interval);
    }

    /// The reconnect attempt is due; the next one is scheduled.
    pub fn retry_due(&mut self, now: Instant, settings: &Settings) -> bool {
        let at = *self.next_retry.get_or_insert(now + settings.retry_interval);
        if now < at {
            return false;
        }
        self.next_retry = Some(now + settings.retry_interval);
        true
    }

    /// The state database was written: look at what changed soon.
    pub fn look_at_state_soon(&mut self, now: Instant) {
        self.state_look.get_or_insert(now + STATE_LOOK_DELAY);
    }

    /// The look at the state database is due (and taken).
    pub fn state_look_due(&mut self, now: Instant) -> bool {
        if self.state_look.is_some_and(|at| now >= at) {
            self.state_look = None;
            return true;
        }
        false
    }
}

/// `at` as nanoseconds since the epoch.
pub fn instant_to_ns(at: Instant) -> i64 {
    let now = Instant::now();
    if at >= now {
        now_ns() + (at - now).as_nanos() as i64
    } else {
        now_ns() - (now - at).as_nanos() as i64
    }
}

/// `interval` plus a random part of `jitter`.
fn jittered(interval: Duration, jitter: Duration) -> Duration {
    let extra = if jitter.is_zero() {
        0
    } else {
        fastrand::u64(0..=jitter.as_millis() as u64)
    };
    interval + Duration::from_millis(extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_waits_for_quiet_but_not_past_its_deadline() {
        let settings = Settings::default();
        let t0 = Instant::now();
        let mut timers = Timers::new(t0, &settings);
        assert!(!timers.push_ready(t0));
        let second = Duration::from_secs(1);
        timers.push_after(t0, second, 3 * second);
        assert!(!timers.push_ready(t0));
        assert!(timers.push_ready(t0 + second));
        // Changes keep coming: the push moves, the deadline does not.
        timers.push_after(t0 + 2 * second, second, 3 * second);
        assert!(!timers.push_ready(t0 + 2 * second));
        assert!(timers.push_ready(t0 + 3 * second));
        timers.push_done();
        assert!(!timers.push_ready(t0 + 10 * second));
        assert!(timers.next_wake(t0) <= t0 + TICK);
    }

    #[test]
    fn a_state_look_is_taken_once_after_its_delay() {
        let t0 = Instant::now();
        let mut timers = Timers::new(t0, &Settings::default());
        timers.look_at_state_soon(t0);
        timers.look_at_state_soon(t0 + STATE_LOOK_DELAY);
        assert!(!timers.state_look_due(t0));
        assert!(timers.state_look_due(t0 + STATE_LOOK_DELAY));
        assert!(!timers.state_look_due(t0 + STATE_LOOK_DELAY * 2));
    }

    #[test]
    fn a_busy_cache_holds_syncs_back_shortly() {
        let t0 = Instant::now();
        let mut timers = Timers::new(t0, &Settings::default());
        timers.busy(t0, true);
        assert!(timers.held_back(t0));
        assert!(!timers.held_back(t0 + BUSY_RETRY));
        assert_eq!(timers.next_full, t0 + BUSY_RETRY);
        assert!(timers.push_ready(t0 + BUSY_RETRY));
    }
}
