//! The progress sink: the engine reports each item's outcome to it, and printers
//! (the CLI's table, progress bar and JSON lines) are sinks. A sink can fail (its
//! output is gone): the run then stops as if asked, keeping what is done.

use crate::error::ItemError;
use offline_core::{Action, Plan, PlanItem, RelPath, SyncOperation, SyncState};
use std::collections::BTreeMap;
use std::fmt;

/// How one item ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemResult {
    /// Done.
    Ok,
    /// Left as a recorded conflict.
    Conflict,
    /// Not done, on purpose; the reason says why. The next sync looks again.
    Skipped(String),
    /// Failed.
    Error(Box<ItemError>),
}

impl ItemResult {
    /// "ok", "conflict", "skipped" or "error".
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// How it ended, without the details.
    pub fn kind(&self) -> ResultKind {
        match self {
            ItemResult::Ok => ResultKind::Ok,
            ItemResult::Conflict => ResultKind::Conflict,
            ItemResult::Skipped(_) => ResultKind::Skipped,
            ItemResult::Error(_) => ResultKind::Error,
        }
    }
}

/// How an item ended, without the details: what the summary counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResultKind {
    /// Done.
    Ok,
    /// Left as a recorded conflict.
    Conflict,
    /// Not done, on purpose.
    Skipped,
    /// Failed.
    Error,
    /// Planned, not run (a dry run's counts).
    Planned,
}

impl ResultKind {
    /// The snake_case name used on the wire and in tables.
    pub fn name(self) -> &'static str {
        match self {
            ResultKind::Ok => "ok",
            ResultKind::Conflict => "conflict",
            ResultKind::Skipped => "skipped",
            ResultKind::Error => "error",
            ResultKind::Planned => "planned",
        }
    }

    /// Reads a name written by `name` back (`None`: not one of them).
    pub fn from_name(name: &str) -> Option<ResultKind> {
        [
            ResultKind::Ok,
            ResultKind::Conflict,
            ResultKind::Skipped,
            ResultKind::Error,
            ResultKind::Planned,
        ]
        .into_iter()
        .find(|k| k.name() == name)
    }
}

/// What an item is counted under: the operation its work (or error) belongs to,
/// or, for an item that moves nothing, its bookkeeping action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CountedAs {
    /// The operation of its work or error.
    Operation(SyncOperation),
    /// The action of an item without an operation (record_original, conflict...).
    Action(Action),
    /// Neither (never planned).
    Nothing,
}

impl CountedAs {
    /// What `report` is counted under.
    pub fn of(report: &ItemReport) -> CountedAs {
        match (report.operation, report.action) {
            (Some(op), _) => CountedAs::Operation(op),
            (None, Some(action)) => CountedAs::Action(action),
            (None, None) => CountedAs::Nothing,
        }
    }

    /// What `item` is counted under when it is planned.
    pub fn planned(item: &PlanItem) -> CountedAs {
        match item.operation() {
            Some(op) => CountedAs::Operation(op),
            None => CountedAs::Action(item.action),
        }
    }

    /// The name used on the wire and in tables.
    pub fn name(self) -> &'static str {
        match self {
            CountedAs::Operation(op) => op.name(),
            CountedAs::Action(action) => action.name(),
            CountedAs::Nothing => "none",
        }
    }
}

impl fmt::Display for CountedAs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for ResultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One item's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemReport {
    /// The item.
    pub path: RelPath,
    /// What prepare found (`None` for problems found while preparing).
    pub state: Option<SyncState>,
    /// What was planned.
    pub action: Option<Action>,
    /// The operation the work (or error) belongs to.
    pub operation: Option<SyncOperation>,
    /// How it ended.
    pub result: ItemResult,
    /// Bytes moved.
    pub bytes: u64,
    /// Anything the person should know (where a losing copy was kept, a new name).
    pub note: Option<String>,
    /// A renamed item's old path.
    pub from: Option<RelPath>,
}

impl ItemReport {
    /// A report for a planned item.
    pub fn for_item(item: &PlanItem, result: ItemResult) -> ItemReport {
        let operation = match &result {
            ItemResult::Error(e) => Some(e.operation),
            _ => item.operation(),
        };
        ItemReport {
            path: item.path.clone(),
            state: Some(item.state),
            action: Some(item.action),
            operation,
            result,
            bytes: 0,
            note: None,
            from: item.moved.as_ref().map(|m| m.from.clone()),
        }
    }
}

/// What the sink wants after an item (Windows' `OFFLINEFILES_OP_RESPONSE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// Go on with the next item.
    Continue,
    /// Try this item again.
    Retry,
    /// Stop the sync; what is done stays done.
    Abort,
}

/// Why a run stopped before its end; what was done stays done, and the rest waits
/// for the next sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// The sink asked (`query_abort`, or `Response::Abort` after an item).
    Requested,
    /// The share could not be reached any more (an item failed and its root is gone).
    ShareLost,
    /// The sink failed (its output is gone); the message says how.
    SinkFailed(String),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Requested => f.write_str("stopped on request"),
            StopReason::ShareLost => f.write_str(
                "the share could not be reached any more; the rest waits for the next sync",
            ),
            StopReason::SinkFailed(why) => write!(f, "the progress output failed: {why}"),
        }
    }
}

/// A sink that could not take a report (its output is gone).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SinkError(pub String);

impl From<std::io::Error> for SinkError {
    fn from(err: std::io::Error) -> SinkError {
        SinkError(err.to_string())
    }
}

/// Totals of one sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncSummary {
    /// Items per (what they are counted under, how they ended).
    pub counts: BTreeMap<(CountedAs, ResultKind), u64>,
    /// Items left in conflict.
    pub conflicts: u64,
    /// Items that failed (including prepare problems).
    pub errors: u64,
    /// Items skipped.
    pub skipped: u64,
    /// Bytes moved.
    pub bytes: u64,
    /// The run was stopped before the end, and why.
    pub stopped: Option<StopReason>,
    /// What was recovered from an interrupted sync before this one started.
    pub recovered: Option<crate::Recovery>,
}

impl SyncSummary {
    /// Adds one report to the totals.
    pub fn add(&mut self, report: &ItemReport) {
        *self
            .counts
            .entry((CountedAs::of(report), report.result.kind()))
            .or_insert(0) += 1;
        match report.result {
            ItemResult::Conflict => self.conflicts += 1,
            ItemResult::Error(_) => self.errors += 1,
            ItemResult::Skipped(_) => self.skipped += 1,
            ItemResult::Ok => {}
        }
        self.bytes += report.bytes;
    }

    /// True when every item was done and no conflict remains.
    pub fn is_clean(&self) -> bool {
        self.conflicts == 0 && self.errors == 0 && self.stopped.is_none()
    }
}

/// Receives a sync's progress. Every method has a default that ignores it. An error
/// (the output is gone) stops the run as [`StopReason::SinkFailed`]; an error from
/// `begin` stops it before anything is done, one from `end` is the command's error.
pub trait SyncSink {
    /// The plan is ready and the work starts. For a sink that [`streams`], a sync
    /// whose plan comes in pieces begins with an empty plan and hands each piece to
    /// [`more`] before its items run.
    ///
    /// [`streams`]: SyncSink::streams
    /// [`more`]: SyncSink::more
    fn begin(&mut self, _plan: &Plan) -> Result<(), SinkError> {
        Ok(())
    }
    /// True when the sink takes the plan in pieces ([`SyncSink::more`]): an initial
    /// sync then runs each piece as the walk hands it over instead of holding the
    /// whole plan (its memory stays bounded). A sink that shows totals at `begin`
    /// keeps the default, false.
    fn streams(&self) -> bool {
        false
    }
    /// One more piece of the plan, before its items run (a sink that [`streams`]).
    ///
    /// [`streams`]: SyncSink::streams
    fn more(&mut self, _piece: &Plan) -> Result<(), SinkError> {
        Ok(())
    }
    /// Polled before each item (Windows' `QueryAbort`): true stops the run there,
    /// as `Response::Abort` does after an item; what is done stays done. Lets a
    /// caller stop between the files of a batch, whose results come at its end.
    fn query_abort(&mut self) -> bool {
        false
    }
    /// Work on an item starts.
    fn item_begin(&mut self, _item: &PlanItem) -> Result<(), SinkError> {
        Ok(())
    }
    /// An item ended (also called for problems found while preparing).
    fn item_result(&mut self, _report: &ItemReport) -> Result<Response, SinkError> {
        Ok(Response::Continue)
    }
    /// The sync ended.
    fn end(&mut self, _summary: &SyncSummary) -> Result<(), SinkError> {
        Ok(())
    }
}

/// A sink that ignores everything.
pub struct NullSink;

impl SyncSink for NullSink {}

#[cfg(test)]
mod tests {
    use super::ResultKind;

    #[test]
    fn result_names_read_back() {
        for kind in [
            ResultKind::Ok,
            ResultKind::Conflict,
            ResultKind::Skipped,
            ResultKind::Error,
            ResultKind::Planned,
        ] {
            assert_eq!(ResultKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(ResultKind::from_name("fine"), None);
    }
}
