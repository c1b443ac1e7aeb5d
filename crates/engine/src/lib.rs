//! The Cache API of offline-files: create and open a cache, synchronize it with its
//! share (prepare = scan both sides and plan; then execute), and query it.
//!
//! The engine reports every item to a [`SyncSink`]; printers live in the CLI.
//! Pipeline, one file per step: [`scan`] → [`prepare`] (planner from
//! `offline-core`) → `execute`, with conflict helpers in [`conflict`].

pub mod cache;
pub mod conflict;
mod defer;
pub mod error;
mod execute;
pub mod pin;
pub mod prepare;
pub mod query;
mod read_ahead;
mod recovery;
pub mod repair;
pub mod scan;
pub mod sink;
mod walk;
mod workers;

pub use cache::{Cache, CacheLock, InitOptions};
pub use error::{EngineError, ItemError, Result};
pub use execute::{DEFAULT_TRANSFERS, MAX_TRANSFERS};
pub use pin::{EvictReport, SpaceUse, UnpinOutcome};
pub use prepare::{PrepareOptions, Prepared};
pub use query::{ItemInfo, Status};
pub use recovery::Recovery;
pub use repair::{RepairOptions, Repaired};
pub use sink::{ItemReport, ItemResult, NullSink, Response, SyncSink, SyncSummary};

use cache::keys;
use execute::Executor;
use offline_core::{ConnectState, OfflineReason, SyncControl};
use offline_remote::Remote;

impl Cache {
    /// Opens the share for a sync. A share put offline on purpose stays offline; a
    /// share that cannot be reached is marked offline (connection_error) and the
    /// error says so.
    pub fn open_share(&self) -> Result<Box<dyn Remote>> {
        let (state, reason) = self.connect_state()?;
        if state == ConnectState::Offline && reason == OfflineReason::ConnectionForced {
            return Err(EngineError::Disconnected {
                share: self.share_location.clone(),
            });
        }
        match self.connect_share() {
            Ok(share) => Ok(share),
            Err(err) => {
                if matches!(err, EngineError::Unreachable { .. }) {
                    self.set_connect_state(ConnectState::Offline, OfflineReason::ConnectionError)?;
                }
                Err(err)
            }
        }
    }

    /// Carries out a prepared plan, reporting to `sink`.
    pub fn execute(
        &mut self,
        share: &dyn Remote,
        prepared: &Prepared,
        sink: &mut dyn SyncSink,
    ) -> Result<SyncSummary> {
        sink.begin(&prepared.plan);
        // Only a run with items can leave work half done on a side; a run without
        // any (a no-change sync) writes the state database once, at the end.
        let has_items = !prepared.plan.is_empty();
        if has_items {
            self.store.set_setting(keys::SYNC_RUNNING, "1")?;
        }
        let summary = Executor::new(self, share, prepared)?.run(sink)?;
        let lost = summary.stopped.is_some() && !share_root_ok(share);
        let (state, reason) = if lost {
            // The run stays marked as interrupted: temp files a lost connection left
            // on the share are removed by the recovery of the next sync that reaches it.
            (ConnectState::Offline, OfflineReason::ConnectionError)
        } else {
            (ConnectState::Online, OfflineReason::NotApplicable)
        };
        let now = cache::now_ns().to_string();
        let mut settings = vec![
            (keys::CONNECT_STATE, state.name()),
            (keys::OFFLINE_REASON, reason.name()),
        ];
        if has_items && !lost {
            settings.push((keys::SYNC_RUNNING, "0"));
        }
        if summary.errors == 0 && summary.stopped.is_none() {
            settings.push((keys::LAST_GOOD_SYNC_NS, &now));
        }
        self.store.set_settings(&settings)?;
        sink.end(&summary);
        Ok(summary)
    }

    /// A whole sync: lock, reach the share, recover from an interrupted run, prepare
    /// and execute.
    pub fn synchronize(
        &mut self,
        control: &SyncControl,
        options: &PrepareOptions,
        sink: &mut dyn SyncSink,
    ) -> Result<SyncSummary> {
        let _lock = self.lock()?;
        let share = self.open_share()?;
        let recovery = self.recover(share.as_ref())?;
        let prepared = self.prepare(share.as_ref(), control, options)?;
        let mut summary = self.execute(share.as_ref(), &prepared, sink)?;
        summary.recovered = recovery.happened().then_some(recovery);
        Ok(summary)
    }
}

/// A count set by the environment variable `key` (1 to `max`), or `default` when it
/// is unset or not such a number. For the knobs used to measure costs.
fn env_count(key: &str, max: usize, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| (1..=max).contains(&n))
        .unwrap_or(default)
}

fn share_root_ok(share: &dyn Remote) -> bool {
    matches!(share.stat(&offline_core::RelPath::root()), Ok(Some(s)) if s.meta.is_dir())
}
