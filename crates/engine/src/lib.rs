//! The Cache API of offline-files: create and open a cache, synchronize it with its
//! share, and query it.
//!
//! One sync, one file per step (docs/ARCHITECTURE.md): the walk (`walk`) hands every
//! path to the planner of `offline-core` ([`prepare`]), the guards check the plan
//! (`guards`), the executor carries out its items (`execute`), and every item is
//! reported to a [`SyncSink`] (printers live in the CLI, events in the service).

mod births;
pub mod cache;
pub mod changes;
pub mod conflict;
mod defer;
pub mod error;
pub mod exclude;
mod execute;
mod guards;
pub mod layout;
mod listing;
mod moving;
pub mod pin;
pub mod prepare;
pub mod private;
pub mod query;
mod read_ahead;
mod recovery;
pub mod remove;
pub mod repair;
pub mod scan;
pub mod settings;
pub mod sink;
mod stream;
mod walk;
mod workers;

pub use cache::{Cache, CacheLock, InitOptions};
pub use changes::{Change, ChangeToken, Look, StateVersion, Topic};
pub use error::{EngineError, ItemError, Result};
pub use execute::{DEFAULT_TRANSFERS, MAX_TRANSFERS};
pub use pin::{EvictReport, SpaceUse, UnpinOutcome};
pub use prepare::{PrepareOptions, Prepared};
pub use query::{ItemInfo, Status};
pub use recovery::Recovery;
pub use remove::RemoveReport;
pub use repair::{RepairOptions, Repaired};
pub use sink::{
    CountedAs, ItemReport, ItemResult, NullSink, Response, ResultKind, SinkError, StopReason,
    SyncSink, SyncSummary,
};

use execute::Executor;
use offline_core::{ConnectState, OfflineReason, SyncControl};
use offline_remote::Remote;
use settings::Setting;

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
        sink.begin(&prepared.plan)?;
        // Only a run with items can leave work half done on a side; a run without
        // any (a no-change sync) writes the state database once, at the end.
        let has_items = !prepared.plan.is_empty();
        if has_items {
            self.mark_running()?;
        }
        let summary = Executor::new(self, share)?.run(prepared, sink)?;
        self.close_run(has_items, summary, sink)
    }

    /// Marks a sync as running (cleared by [`Cache::close_run`]): a run that does not
    /// end is recovered by the next.
    fn mark_running(&self) -> Result<()> {
        settings::write(&self.store, &[Setting::SyncRunning(true)])
    }

    /// Records how a run ended (the share's connect state, the run no longer
    /// running unless the share was lost, the last good sync) and tells the sink.
    fn close_run(
        &self,
        has_items: bool,
        summary: SyncSummary,
        sink: &mut dyn SyncSink,
    ) -> Result<SyncSummary> {
        let lost = summary.stopped == Some(StopReason::ShareLost);
        let (state, reason) = if lost {
            // The run stays marked as interrupted: temp files a lost connection left
            // on the share are removed by the recovery of the next sync that reaches it.
            (ConnectState::Offline, OfflineReason::ConnectionError)
        } else {
            (ConnectState::Online, OfflineReason::NotApplicable)
        };
        let mut closing = vec![Setting::ConnectState(state), Setting::OfflineReason(reason)];
        if has_items && !lost {
            closing.push(Setting::SyncRunning(false));
        }
        if summary.errors == 0 && summary.stopped.is_none() {
            closing.push(Setting::LastGoodSyncNs(cache::now_ns()));
        }
        settings::write(&self.store, &closing)?;
        sink.end(&summary)?;
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
        let mut summary = if self.streams(options, sink)? {
            self.sync_streamed(share.as_ref(), control, options, sink)?
        } else {
            let prepared = self.prepare(share.as_ref(), control, options)?;
            self.execute(share.as_ref(), &prepared, sink)?
        };
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
