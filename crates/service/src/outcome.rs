//! How a sync of the daemon ended, by the names its events (`sync_end`,
//! `background_sync_end`) and its status file give it.

use offline_engine::{StopReason, SyncSummary};
use serde::{Deserialize, Serialize};
use std::fmt;

/// How one sync ended (in the status file by its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncOutcome {
    /// Everything was done, no conflict remains.
    Ok,
    /// It ran to the end, but some items failed or conflicts remain.
    Incomplete,
    /// Stopped between two items because the daemon was asked to stop.
    Cancelled,
    /// Stopped early for another reason (the share went away, the output failed).
    Stopped,
    /// The share could not be reached: nothing was changed.
    Unreachable,
    /// The share is offline on purpose.
    Disconnected,
    /// The mass-delete guard stopped it: only a person can allow that.
    Refused,
    /// Another `offline` command held the cache.
    Busy,
    /// Any other error.
    Error,
}

impl SyncOutcome {
    /// All nine.
    pub const ALL: [SyncOutcome; 9] = [
        SyncOutcome::Ok,
        SyncOutcome::Incomplete,
        SyncOutcome::Cancelled,
        SyncOutcome::Stopped,
        SyncOutcome::Unreachable,
        SyncOutcome::Disconnected,
        SyncOutcome::Refused,
        SyncOutcome::Busy,
        SyncOutcome::Error,
    ];

    /// How a sync that returned `summary` ended.
    pub fn of(summary: &SyncSummary) -> SyncOutcome {
        match &summary.stopped {
            Some(StopReason::Requested) => SyncOutcome::Cancelled,
            Some(_) => SyncOutcome::Stopped,
            None if summary.is_clean() => SyncOutcome::Ok,
            None => SyncOutcome::Incomplete,
        }
    }

    /// The name in events and the status file.
    pub fn name(self) -> &'static str {
        match self {
            SyncOutcome::Ok => "ok",
            SyncOutcome::Incomplete => "incomplete",
            SyncOutcome::Cancelled => "cancelled",
            SyncOutcome::Stopped => "stopped",
            SyncOutcome::Unreachable => "unreachable",
            SyncOutcome::Disconnected => "disconnected",
            SyncOutcome::Refused => "refused",
            SyncOutcome::Busy => "busy",
            SyncOutcome::Error => "error",
        }
    }

    /// Reads a name of an event or the status file back (`None`: not one of them).
    pub fn from_name(name: &str) -> Option<SyncOutcome> {
        SyncOutcome::ALL.into_iter().find(|o| o.name() == name)
    }
}

impl fmt::Display for SyncOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::SyncOutcome;

    #[test]
    fn names_read_back() {
        for outcome in SyncOutcome::ALL {
            assert_eq!(SyncOutcome::from_name(outcome.name()), Some(outcome));
        }
        assert_eq!(SyncOutcome::from_name("fine"), None);
    }

    #[test]
    fn serde_writes_the_same_names() {
        for outcome in SyncOutcome::ALL {
            assert_eq!(serde_json::to_value(outcome).unwrap(), outcome.name());
        }
    }
}
