//! The ledger of a run: everything the executor writes to the state database. Journal
//! rows are written (and made durable) before their operations start, a few dozen at
//! a time; each finished item appends its base update (an original to record or
//! forget, a conflict to log) and ends its journal row in the same queue, and the
//! queue is committed in one transaction every few hundred items or seconds. An
//! original is therefore never recorded before its data is durable (each side fsyncs
//! before it answers), and a crash leaves the journal rows of what was in flight.

use super::commit_policy::{CommitClock, CommitPolicy};
use crate::cache::now_ns;
use crate::error::Result;
use offline_core::{Original, PlanItem, RelPath};
use offline_store::{ConflictRecord, JournalEntry, Store};
use std::collections::HashMap;

/// Side-changing items whose journal rows are written in one transaction, before the
/// first of them starts. 1 (a commit before every operation) adds one flush per item
/// to the two of its copy: half again as many flushes, and a sync of 2,000 small files
/// took 1.5 to 2 times as long; 64 adds under 1%. See docs/SAFETY.md.
const JOURNAL_GROUP: usize = 64;

/// The journal row of one operation in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct JournalId(i64);

/// One change to the state database, queued until the next commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Entry {
    /// Record this original (an item's base update).
    Put(RelPath, Original),
    /// Forget the original (an item's base update).
    Forget(RelPath),
    /// Forget the originals of a path and of everything below it (an excluded path).
    ForgetTree(RelPath),
    /// Record a conflict for the person to settle.
    Conflict(ConflictRecord),
    /// A recorded conflict is settled.
    Settled(RelPath),
    /// An item was renamed from the first path to the second: what is recorded at
    /// and below it (originals, pins, a conflict) moves along.
    Move(RelPath, RelPath),
}

/// The run's writes to the state database.
pub(super) struct Ledger<'a> {
    store: &'a mut Store,
    queue: Vec<Entry>,
    /// Journal rows ended since the last commit (cleared with the items' updates).
    ended: Vec<JournalId>,
    /// Journal rows written ahead for items not started yet, by their place in the
    /// run order.
    ahead: HashMap<usize, JournalId>,
    /// How many side-changing items one journal transaction covers (safety rule 3).
    group: usize,
    /// When the queued changes are committed (`execute/commit_policy.rs`).
    clock: CommitClock,
}

impl<'a> Ledger<'a> {
    pub(super) fn new(store: &'a mut Store) -> Ledger<'a> {
        Ledger {
            store,
            queue: Vec::new(),
            ended: Vec::new(),
            ahead: HashMap::new(),
            // A knob for measuring the cost, see docs/SAFETY.md.
            group: crate::env_count("OFFLINE_JOURNAL_GROUP", usize::MAX, JOURNAL_GROUP),
            clock: CommitClock::new(CommitPolicy::from_env()),
        }
    }

    /// When queued changes are committed; the batches of copies follow it too.
    pub(super) fn commit_policy(&self) -> CommitPolicy {
        self.clock.policy()
    }

    /// The journal row of the item at `index` of the run order, if it changes a side.
    /// Rows are written, and made durable, before the first of their operations
    /// starts: for the next `group` side-changing items at once.
    pub(super) fn journal(
        &mut self,
        order: &[&PlanItem],
        index: usize,
    ) -> Result<Option<JournalId>> {
        if !order.get(index).is_some_and(|item| changes_a_side(item)) {
            return Ok(None);
        }
        if let Some(id) = self.ahead.remove(&index) {
            return Ok(Some(id));
        }
        let started_ns = now_ns();
        let batch = self.store.transaction()?;
        let mut written = HashMap::new();
        let ahead = order
            .iter()
            .enumerate()
            .skip(index)
            .filter(|(_, item)| changes_a_side(item))
            .take(self.group.max(1));
        for (at, item) in ahead {
            let entry = JournalEntry {
                id: 0,
                path: item.path.clone(),
                operation: item
                    .operation()
                    .unwrap_or(offline_core::SyncOperation::Prepare),
                detail: journal_detail(item),
                started_ns,
            };
            written.insert(at, JournalId(batch.journal_begin(&entry)?));
        }
        batch.commit()?;
        let id = written.remove(&index);
        self.ahead.extend(written);
        Ok(id)
    }

    /// An item ended: its journal row is cleared in the transaction that records its
    /// base update (`entries`, empty when it failed: the target was left untouched
    /// and the next sync tries again). Commits when one is due.
    pub(super) fn item_done(
        &mut self,
        journal: Option<JournalId>,
        entries: Vec<Entry>,
    ) -> Result<()> {
        self.ended.extend(journal);
        self.queue.extend(entries);
        if self.clock.item_ended(self.queue.len() + self.ended.len()) {
            self.commit()?;
        }
        Ok(())
    }

    /// The item of this journal row will not start (the run stopped first): the row
    /// is cleared with the next commit.
    pub(super) fn abandon(&mut self, journal: Option<JournalId>) {
        self.ended.extend(journal);
    }

    /// Queues a change that belongs to no item (a settled conflict, a refreshed
    /// fingerprint), written with the next commit.
    pub(super) fn append(&mut self, entry: Entry) {
        self.queue.push(entry);
    }

    /// Ends the run: the rows written ahead for items a stopped run never started
    /// are cleared, and everything queued is committed.
    pub(super) fn close(mut self) -> Result<()> {
        let never_started: Vec<JournalId> = self.ahead.drain().map(|(_, id)| id).collect();
        self.ended.extend(never_started);
        self.commit()
    }

    /// Writes the queued changes in one transaction. The data they describe is
    /// already durable (each side fsyncs before it answers).
    fn commit(&mut self) -> Result<()> {
        if self.queue.is_empty() && self.ended.is_empty() {
            return Ok(());
        }
        let batch = self.store.transaction()?;
        for entry in self.queue.drain(..) {
            match entry {
                Entry::Put(path, original) => batch.put_original(&path, &original)?,
                Entry::Forget(path) => batch.delete_original(&path)?,
                Entry::ForgetTree(path) => {
                    batch.delete_originals_under(&path)?;
                }
                Entry::Conflict(record) => {
                    batch.put_conflict(&record)?;
                }
                Entry::Settled(path) => {
                    batch.delete_conflict(&path)?;
                }
                Entry::Move(from, to) => {
                    batch.move_item(&from, &to)?;
                }
            }
        }
        for JournalId(id) in self.ended.drain(..) {
            batch.journal_end(id)?;
        }
        batch.commit()?;
        self.clock.committed();
        Ok(())
    }
}

/// True for the work that changes the cache folder or the share (and so gets a
/// journal row); bookkeeping and logged conflicts only touch the state database.
fn changes_a_side(item: &PlanItem) -> bool {
    use offline_core::Action;
    item.renames_on().is_some()
        || matches!(
            item.action,
            Action::Run(_) | Action::KeepOne { .. } | Action::KeepBoth { .. }
        )
}

/// The journal row's detail: the action and state; for a rename, what recovery
/// needs to roll its base forward ([`RenameRow`], as JSON).
fn journal_detail(item: &PlanItem) -> String {
    let text = format!("{} ({})", item.action.name(), item.state.name());
    let rename = item.moved.as_deref().zip(item.renames_on());
    match rename {
        Some((moved, on)) => {
            let source = moved.rename.as_ref().map_or(&moved.from, |(_, at)| at);
            let row = RenameRow {
                what: text.clone(),
                from: moved.from.escaped(),
                on: on.place().to_string(),
                source: source.escaped(),
            };
            serde_json::to_string(&row).unwrap_or(text)
        }
        None => text,
    }
}

/// A rename's journal row: the item's old path (its base), the side the rename is
/// carried out on (`cache` or `share`) and the copy's path there before the rename.
/// The row's path is the new path. Paths are escaped (`RelPath::escaped`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct RenameRow {
    pub(crate) what: String,
    pub(crate) from: String,
    pub(crate) on: String,
    pub(crate) source: String,
}
