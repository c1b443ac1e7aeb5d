//! The executor: carries out a prepared plan item by item, following the safety rules:
//! content goes through a temp file renamed into place, every replace or delete first
//! re-checks that the target is still what prepare saw, a losing copy is kept before it
//! is overwritten, and an item's original is recorded only after its data is durable.

use crate::cache::{now_ns, Cache, CONFLICTS_DIR_NAME};
use crate::conflict::{conflict_name, host_name, utc_stamp};
use crate::error::{ItemError, Result};
use crate::prepare::Prepared;
use crate::scan::{Scanned, ScannedRef};
use crate::sink::{ItemReport, ItemResult, Response, SyncSink, SyncSummary};
use commit_policy::{CommitClock, CommitPolicy};
use offline_core::{Action, Kind, PlanItem, RelPath, Side, SyncOperation};
use offline_remote::{DirRemote, ErrorKind, Expect, Remote, RemoteError, Stat};
use offline_store::{ConflictRecord, JournalEntry, Original, Store};
use parallel::{CopyKind, Job, Outcome, Pool};
use sides::Sides;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::PathBuf;

mod batch;
mod commit_policy;
mod parallel;
mod sides;

pub use parallel::{DEFAULT_TRANSFERS, MAX_TRANSFERS};

/// Side-changing items whose journal rows are written in one transaction, before the
/// first of them starts. 1 (a commit before every operation) adds one flush per item
/// to the two of its copy: half again as many flushes, and a sync of 2,000 small files
/// took 1.5 to 2 times as long; 64 adds under 1%. See docs/SAFETY.md.
const JOURNAL_GROUP: usize = 64;
/// How often a sink may ask to retry one item.
const MAX_RETRIES: u32 = 3;
/// Why a run stops when the share went away during it.
const SHARE_LOST: &str =
    "the share could not be reached any more; the rest waits for the next sync";

/// A change to the state database, queued until the next commit.
enum StoreChange {
    PutOriginal(RelPath, Original),
    DeleteOriginal(RelPath),
    /// The originals of a path and of everything below it (an excluded path).
    DeleteOriginalsUnder(RelPath),
    PutConflict(ConflictRecord),
    DeleteConflict(RelPath),
    /// The operation of this journal row ended: clear the row (with the item's base
    /// update, in the same transaction).
    EndJournal(i64),
}

/// What one item did.
struct Done {
    bytes: u64,
    note: Option<String>,
    /// Why nothing was done (the item stays as it is, planned again next time).
    skipped: Option<String>,
}

impl Done {
    fn quiet() -> Done {
        Done {
            bytes: 0,
            note: None,
            skipped: None,
        }
    }
}

/// Carries out one plan against the two sides.
pub(crate) struct Executor<'a> {
    store: &'a mut Store,
    sides: Sides<'a>,
    /// The cache's `.offline` folder (for kept losing copies).
    meta_dir: PathBuf,
    /// File copies in flight at most.
    transfers: usize,
    pending: Vec<StoreChange>,
    /// When the queued changes are committed (`execute/commit_policy.rs`).
    commit_clock: CommitClock,
    run_started_ns: i64,
    host: String,
    stored_conflicts: HashSet<RelPath>,
    /// Journal rows written ahead for items not started yet, by their place in the
    /// run order.
    journaled: HashMap<usize, i64>,
    /// How many side-changing items one journal transaction covers (safety rule 3).
    journal_group: usize,
}

impl<'a> Executor<'a> {
    pub(crate) fn new(
        cache: &'a mut Cache,
        share: &'a dyn Remote,
        prepared: &'a Prepared,
    ) -> Result<Executor<'a>> {
        let stored_conflicts = cache
            .store
            .conflicts()?
            .into_iter()
            .map(|c| c.path)
            .collect();
        // `OFFLINE_TRANSFERS=N` overrides the setting for one run (the crash tests
        // set 1 for a rebuilt database, which has no settings yet).
        let transfers = match crate::env_count("OFFLINE_TRANSFERS", MAX_TRANSFERS, 0) {
            0 => cache.transfers()?,
            n => n,
        };
        let meta_dir = cache.meta_dir();
        let Cache { store, local, .. } = cache;
        Ok(Executor {
            store,
            sides: Sides {
                local,
                share,
                prepared,
            },
            meta_dir,
            transfers,
            pending: Vec::new(),
            commit_clock: CommitClock::new(CommitPolicy::from_env()),
            run_started_ns: now_ns(),
            host: host_name(),
            stored_conflicts,
            journaled: HashMap::new(),
            // A knob for measuring the cost, see docs/SAFETY.md.
            journal_group: crate::env_count("OFFLINE_JOURNAL_GROUP", usize::MAX, JOURNAL_GROUP),
        })
    }

    /// Runs every item: deletions first, deepest first (so folders are empty when
    /// their turn comes), then everything else, parents first. File copies run on a
    /// pool of worker threads (at most `transfers` at once) while the other items go
    /// on here; a file's folder is made before its copy starts, and every started
    /// copy ends and is recorded before the run ends, also when it stops early.
    pub(crate) fn run(mut self, sink: &mut dyn SyncSink) -> Result<SyncSummary> {
        let mut summary = SyncSummary::default();
        let prepared = self.sides.prepared;
        for report in prepared.problems.iter().chain(&prepared.skipped) {
            summary.add(report);
            sink.item_result(report);
        }
        let items = &prepared.plan.items;
        // Excluded paths are no part of the sync: their originals go silently.
        for item in items.iter().filter(|i| is_excluded(i)) {
            self.pending
                .push(StoreChange::DeleteOriginalsUnder(item.path.clone()));
        }
        let deletions = items.iter().rev().filter(|i| is_deletion(i));
        let others = items.iter().filter(|i| !is_deletion(i) && !is_excluded(i));
        let mut failed: HashSet<RelPath> = HashSet::new();
        let order: Vec<&PlanItem> = deletions.chain(others).collect();
        let (sides, transfers) = (self.sides, self.transfers);
        let stop = std::thread::scope(|scope| {
            let mut pool = Pool::start(scope, sides, transfers);
            self.run_items(&order, &mut pool, sink, &mut summary, &mut failed)
        })?;
        summary.stopped = stop;
        // Rows written ahead for items a stopped run never started.
        for (_, id) in self.journaled.drain() {
            self.pending.push(StoreChange::EndJournal(id));
        }
        for report in &prepared.problems {
            failed.insert(report.path.clone());
        }
        self.drop_settled_conflicts(&failed);
        for (path, original) in &prepared.refresh {
            self.pending
                .push(StoreChange::PutOriginal(path.clone(), original.clone()));
        }
        self.commit()?;
        Ok(summary)
    }

    /// Runs the items in `order`; `Some(reason)` when the run stopped early.
    fn run_items(
        &mut self,
        order: &[&'a PlanItem],
        pool: &mut Pool<'a>,
        sink: &mut dyn SyncSink,
        summary: &mut SyncSummary,
        failed: &mut HashSet<RelPath>,
    ) -> Result<Option<String>> {
        let mut staged = batch::Batch::default();
        let mut stop = None;
        for (index, item) in order.iter().enumerate() {
            if sink.query_abort() {
                stop = Some("stopped on request".to_string());
                break;
            }
            let journal = self.journal_ahead(order, index)?;
            let step = match self.copy_kind(item) {
                Some((kind, from, to)) => {
                    let job = Job {
                        item,
                        kind,
                        from,
                        to,
                        journal,
                    };
                    self.start_copy(job, pool, &mut staged, sink, summary, failed)?
                }
                None => self.run_one(item, journal, sink, summary, failed)?,
            };
            if let Some(reason) = step {
                stop = Some(reason);
                break;
            }
        }
        while !pool.is_idle() {
            if let Some((job, outcome)) = pool.next_done(true) {
                if let Some(reason) =
                    self.settle(job, outcome, &mut staged, sink, summary, failed)?
                {
                    stop.get_or_insert(reason);
                }
            }
        }
        if let Some(reason) = self.flush(&mut staged, sink, summary, failed)? {
            stop.get_or_insert(reason);
        }
        Ok(stop)
    }

    /// How `item` is copied by the pool, and from which side to which, when it is a
    /// file copy; other items run here, one at a time.
    fn copy_kind(&self, item: &PlanItem) -> Option<(CopyKind, Side, Side)> {
        let (from, to) = batch::copy_direction(item)?;
        let src = self.scanned(from, &item.path)?;
        if src.meta.kind != Kind::File {
            return None;
        }
        let kind = if self.can_batch(to, &item.path, src.meta) {
            CopyKind::Stage
        } else {
            CopyKind::Direct
        };
        Some((kind, from, to))
    }

    /// Hands a copy to the pool once a place is free, and settles the copies that
    /// ended meanwhile. `Some(reason)`: stop the run (the copy is then not started).
    #[allow(clippy::too_many_arguments)]
    fn start_copy(
        &mut self,
        job: Job<'a>,
        pool: &mut Pool<'a>,
        staged: &mut batch::Batch<'a>,
        sink: &mut dyn SyncSink,
        summary: &mut SyncSummary,
        failed: &mut HashSet<RelPath>,
    ) -> Result<Option<String>> {
        while pool.is_full() {
            let Some((done, outcome)) = pool.next_done(true) else {
                break;
            };
            if let Some(reason) = self.settle(done, outcome, staged, sink, summary, failed)? {
                if let Some(id) = job.journal {
                    self.pending.push(StoreChange::EndJournal(id));
                }
                return Ok(Some(reason));
            }
        }
        sink.item_begin(job.item);
        pool.submit(job);
        // With one copy in flight the run waits for it: one thing at a time, in plan
        // order, so a run passes the same crash points every time.
        let wait = pool.is_serial();
        while let Some((done, outcome)) = pool.next_done(wait) {
            if let Some(reason) = self.settle(done, outcome, staged, sink, summary, failed)? {
                return Ok(Some(reason));
            }
        }
        Ok(None)
    }

    /// Records and reports a copy the pool finished (a staged one joins the batch).
    fn settle(
        &mut self,
        job: Job<'a>,
        outcome: Outcome,
        staged: &mut batch::Batch<'a>,
        sink: &mut dyn SyncSink,
        summary: &mut SyncSummary,
        failed: &mut HashSet<RelPath>,
    ) -> Result<Option<String>> {
        let result = match outcome {
            Outcome::Staged(Ok(file)) => {
                return self.add_staged(staged, job, file, sink, summary, failed)
            }
            Outcome::Copied(Ok(copied)) => {
                let path = &job.item.path;
                self.record_copy(job.from, &copied.src, job.to, path, copied.stat);
                Ok(copied.bytes)
            }
            Outcome::Staged(Err(e)) | Outcome::Copied(Err(e)) => Err(e),
        };
        let report = self.copy_report(job.item, result, job.journal);
        self.finish_copy(report, sink, summary, failed)
    }

    /// Runs one item with retries; `Some(reason)` when the whole run must stop.
    fn run_one(
        &mut self,
        item: &PlanItem,
        journal: Option<i64>,
        sink: &mut dyn SyncSink,
        summary: &mut SyncSummary,
        failed: &mut HashSet<RelPath>,
    ) -> Result<Option<String>> {
        let mut attempt = 0;
        loop {
            sink.item_begin(item);
            let (result, done) = match self.apply(item) {
                Ok(Done {
                    skipped: Some(reason),
                    ..
                }) => (ItemResult::Skipped(reason), Done::quiet()),
                Ok(done) => (self.result_of(item), done),
                Err(err) => (ItemResult::Error(err), Done::quiet()),
            };
            if let Some(id) = journal {
                // Cleared in the transaction that records the item's new base; on
                // failure the target was left untouched and the next sync retries.
                self.pending.push(StoreChange::EndJournal(id));
            }
            let mut report = ItemReport::for_item(item, result);
            report.bytes = done.bytes;
            report.note = done.note;
            let response = sink.item_result(&report);
            if matches!(report.result, ItemResult::Error(_)) {
                if response == Response::Retry && attempt < MAX_RETRIES {
                    attempt += 1;
                    continue;
                }
                failed.insert(item.path.clone());
                if !self.share_reachable() {
                    summary.add(&report);
                    return Ok(Some(SHARE_LOST.to_string()));
                }
            }
            summary.add(&report);
            self.maybe_commit()?;
            if response == Response::Abort {
                return Ok(Some("stopped on request".to_string()));
            }
            return Ok(None);
        }
    }

    /// The journal row of the item at `index` of the run order, if it changes a side.
    /// Rows are written, and made durable, before the first of their operations
    /// starts: for the next `journal_group` side-changing items at once.
    fn journal_ahead(&mut self, order: &[&PlanItem], index: usize) -> Result<Option<i64>> {
        if !changes_a_side(order[index]) {
            return Ok(None);
        }
        if let Some(id) = self.journaled.remove(&index) {
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
            .take(self.journal_group.max(1));
        for (at, item) in ahead {
            let entry = JournalEntry {
                id: 0,
                path: item.path.clone(),
                operation: item.action.operation().unwrap_or(SyncOperation::Prepare),
                detail: format!("{} ({})", item.action.name(), item.state.name()),
                started_ns,
            };
            written.insert(at, batch.journal_begin(&entry)?);
        }
        batch.commit()?;
        let id = written.remove(&index);
        self.journaled.extend(written);
        Ok(id)
    }

    fn result_of(&self, item: &PlanItem) -> ItemResult {
        match item.action {
            Action::LogConflict => ItemResult::Conflict,
            Action::Blocked => ItemResult::Skipped(
                "a folder above it is in an unresolved file-versus-folder conflict".to_string(),
            ),
            _ => ItemResult::Ok,
        }
    }

    fn share_reachable(&self) -> bool {
        crate::share_root_ok(self.sides.share)
    }

    fn side(&self, side: Side) -> &'a dyn Remote {
        self.sides.side(side)
    }

    fn scanned(&self, side: Side, path: &RelPath) -> Option<ScannedRef<'a>> {
        self.sides.scanned(side, path)
    }

    fn expect(&self, side: Side, path: &RelPath) -> Expect {
        self.sides.expect(side, path)
    }

    /// Does one item's work; the error names the operation it happened in.
    fn apply(&mut self, item: &PlanItem) -> std::result::Result<Done, Box<ItemError>> {
        let path = &item.path;
        let fail = |e: RemoteError| item_error(item, &e);
        match item.action {
            Action::Run(SyncOperation::DeleteClientCopy) => {
                self.delete(Side::Local, path).map_err(fail)?;
                Ok(Done::quiet())
            }
            Action::Run(SyncOperation::DeleteServerCopy) => {
                self.delete(Side::Remote, path).map_err(fail)?;
                Ok(Done::quiet())
            }
            Action::Run(op) => {
                let (from, to) = if op.writes_server() {
                    (Side::Local, Side::Remote)
                } else {
                    (Side::Remote, Side::Local)
                };
                let is_link = self
                    .scanned(from, path)
                    .is_some_and(|s| s.meta.kind == Kind::Symlink);
                if is_link && !self.side(to).capabilities().symlinks {
                    // Not an error: nothing is wrong with the link, and nothing
                    // can be done about it on this kind of share.
                    return Ok(Done {
                        skipped: Some(format!(
                            "{} cannot store symlinks; the link stays in the {} only",
                            self.side(to).describe(),
                            side_word(from)
                        )),
                        ..Done::quiet()
                    });
                }
                let expect = self.expect(to, path);
                let bytes = self.transfer(from, path, to, path, expect).map_err(fail)?;
                Ok(Done {
                    bytes,
                    ..Done::quiet()
                })
            }
            Action::RecordOriginal => {
                self.record_both(path).map_err(fail)?;
                Ok(Done::quiet())
            }
            Action::ForgetOriginal => {
                self.pending.push(StoreChange::DeleteOriginal(path.clone()));
                Ok(Done::quiet())
            }
            Action::ForgetExcluded => {
                self.pending
                    .push(StoreChange::DeleteOriginalsUnder(path.clone()));
                Ok(Done::quiet())
            }
            Action::RecordGhost => {
                self.record_ghost(path).map_err(fail)?;
                Ok(Done::quiet())
            }
            Action::LogConflict => {
                self.pending.push(StoreChange::PutConflict(ConflictRecord {
                    path: path.clone(),
                    state: item.state,
                    detected_ns: now_ns(),
                    original: item.triple.original.as_deref().cloned(),
                    local: item.triple.local.as_deref().cloned(),
                    remote: item.triple.remote.as_deref().cloned(),
                }));
                Ok(Done::quiet())
            }
            Action::KeepOne { winner } => self.keep_one(path, winner).map_err(fail),
            Action::KeepBoth { renamed } => self.keep_both(path, renamed).map_err(fail),
            Action::Blocked => Ok(Done::quiet()),
        }
    }

    /// Deletes the copy on `side` if it still is what prepare saw. A folder must be
    /// empty by now (its contents were deleted first): it is never removed recursively.
    fn delete(&mut self, side: Side, path: &RelPath) -> std::result::Result<(), RemoteError> {
        let expect = self.expect(side, path);
        match self.side(side).remove(path, &expect) {
            Ok(()) => {}
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        self.pending.push(StoreChange::DeleteOriginal(path.clone()));
        Ok(())
    }

    /// Copies the item at `src_path` on `from` to `dst_path` on `to`, replacing what
    /// is there only if it matches `expect`, and queues the new original.
    fn transfer(
        &mut self,
        from: Side,
        src_path: &RelPath,
        to: Side,
        dst_path: &RelPath,
        expect: Expect,
    ) -> std::result::Result<u64, RemoteError> {
        let copied = self.sides.copy(from, src_path, to, dst_path, expect)?;
        self.record_copy(from, &copied.src, to, dst_path, copied.stat);
        Ok(copied.bytes)
    }

    /// Queues the original of a finished copy: the source's metadata, and each side's
    /// fingerprint (the target's as it is after the copy).
    fn record_copy(&mut self, from: Side, src: &Scanned, to: Side, dst_path: &RelPath, stat: Stat) {
        let (local_id, remote_id) = match (from, to) {
            (_, Side::Remote) => (src.identity.clone(), stat.identity),
            (_, Side::Local) => (stat.identity, src.identity.clone()),
        };
        let original = Original {
            meta: src.meta.clone(),
            local_identity: Some(local_id),
            remote_identity: Some(remote_id),
            cached: true,
        };
        self.pending
            .push(StoreChange::PutOriginal(dst_path.clone(), original));
    }

    /// Both sides hold the same item: it becomes the original.
    fn record_both(&mut self, path: &RelPath) -> std::result::Result<(), RemoteError> {
        let missing = || RemoteError::new(ErrorKind::NotFound, path, "it is gone");
        let local = self.scanned(Side::Local, path).ok_or_else(missing)?;
        let remote = self.scanned(Side::Remote, path).ok_or_else(missing)?;
        let original = Original {
            meta: local.meta.clone(),
            local_identity: Some(local.identity.to_string()),
            remote_identity: Some(remote.identity.to_string()),
            cached: true,
        };
        self.pending
            .push(StoreChange::PutOriginal(path.clone(), original));
        Ok(())
    }

    fn record_ghost(&mut self, path: &RelPath) -> std::result::Result<(), RemoteError> {
        let remote = self
            .scanned(Side::Remote, path)
            .ok_or_else(|| RemoteError::new(ErrorKind::NotFound, path, "it is gone"))?;
        let original = Original {
            meta: remote.meta.clone(),
            local_identity: None,
            remote_identity: Some(remote.identity.to_string()),
            cached: false,
        };
        self.pending
            .push(StoreChange::PutOriginal(path.clone(), original));
        Ok(())
    }

    /// keep-local / keep-remote / keep-latest: the loser's bytes are copied into the
    /// conflicts folder, then the winner replaces it.
    fn keep_one(&mut self, path: &RelPath, winner: Side) -> std::result::Result<Done, RemoteError> {
        let loser = winner.other();
        let saved = self.save_copy(loser, path)?;
        let expect = self.expect(loser, path);
        let bytes = self.transfer(winner, path, loser, path, expect)?;
        let note =
            saved.map(|p| format!("the {} copy was kept in {}", side_word(loser), p.display()));
        Ok(Done {
            bytes,
            note,
            skipped: None,
        })
    }

    /// keep-all: the copy on `renamed` moves to a free conflict name, which is then
    /// copied to the other side; the other copy takes the path on both sides.
    fn keep_both(
        &mut self,
        path: &RelPath,
        renamed: Side,
    ) -> std::result::Result<Done, RemoteError> {
        let new_path = self.free_conflict_name(path)?;
        let mover = self.side(renamed);
        mover.rename(path, &new_path)?;
        let mut bytes = self.transfer(
            renamed,
            &new_path,
            renamed.other(),
            &new_path,
            Expect::Absent,
        )?;
        bytes += self.transfer(renamed.other(), path, renamed, path, Expect::Absent)?;
        Ok(Done {
            bytes,
            skipped: None,
            note: Some(format!(
                "the {} copy is now {}",
                side_word(renamed),
                new_path
            )),
        })
    }

    fn free_conflict_name(&self, path: &RelPath) -> std::result::Result<RelPath, RemoteError> {
        for n in 1..10_000 {
            let Some(candidate) = conflict_name(path, &self.host, n) else {
                break;
            };
            if self.sides.local.stat(&candidate)?.is_none()
                && self.sides.share.stat(&candidate)?.is_none()
            {
                return Ok(candidate);
            }
        }
        Err(RemoteError::new(
            ErrorKind::AlreadyExists,
            path,
            "no free conflict name was found",
        ))
    }

    /// Copies the `side` copy of `path` into this run's conflicts folder
    /// (`.offline/conflicts/<UTC time>/<cache|share>/<path>`, with `-N` after the time
    /// when an interrupted run of the same second already kept that path). The copy
    /// goes through a temp file renamed into place and made durable before the winner
    /// replaces the loser. Folders have no bytes to keep (`None`).
    fn save_copy(
        &self,
        side: Side,
        path: &RelPath,
    ) -> std::result::Result<Option<PathBuf>, RemoteError> {
        let Some(scanned) = self.scanned(side, path) else {
            return Ok(None);
        };
        if scanned.meta.kind == Kind::Dir {
            return Ok(None);
        }
        let (folder, keeper) = self.conflict_folder(side, path)?;
        let mut folders = Vec::new();
        let mut above = path.parent();
        while let Some(dir) = above.filter(|d| !d.is_root()) {
            above = dir.parent();
            folders.push(dir);
        }
        // The folders of kept copies are private (the copy keeps its own mode): a
        // file from a 0700 folder must not become readable here.
        for dir in folders.iter().rev() {
            keeper.make_dir(dir, crate::private::PRIVATE_DIR_MODE, None, &Expect::Any)?;
        }
        crashpoint::hit("engine.save_copy.before");
        let meta = scanned.meta;
        match meta.kind {
            Kind::Symlink => {
                let link = meta.target.clone().unwrap_or_default();
                keeper.make_symlink(path, &link, Some(meta.mtime_ns), &Expect::Absent)?;
            }
            _ => {
                let mut reader = self.side(side).open_read(path)?;
                keeper.write_file(
                    path,
                    &mut reader,
                    meta.mode,
                    meta.mtime_ns,
                    meta.hash,
                    &Expect::Absent,
                )?;
            }
        }
        crashpoint::hit("engine.save_copy.after");
        Ok(Some(folder.join(path.as_os_str())))
    }

    /// This run's folder for losing copies from `side` where `path` is still free,
    /// created durably, and a backend writing into it.
    fn conflict_folder(
        &self,
        side: Side,
        path: &RelPath,
    ) -> std::result::Result<(PathBuf, DirRemote), RemoteError> {
        let base = self.meta_dir.join(CONFLICTS_DIR_NAME);
        let stamp = utc_stamp(self.run_started_ns);
        let io = |e: std::io::Error| RemoteError::io(path, e);
        for n in 1..1000 {
            let run_dir = match n {
                1 => base.join(&stamp),
                n => base.join(format!("{stamp}-{n}")),
            };
            let folder = run_dir.join(side_word(side));
            match fs::symlink_metadata(folder.join(path.as_os_str())) {
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(e)),
            }
            crate::private::make_private_dirs(&folder).map_err(io)?;
            for dir in [&run_dir, &base] {
                fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
            }
            let keeper = DirRemote::open(&folder, &[])?.with_temp_tag(self.sides.local.temp_tag());
            return Ok((folder, keeper));
        }
        Err(RemoteError::new(
            ErrorKind::AlreadyExists,
            path,
            "no free place in the conflicts folder was found",
        ))
    }

    /// Conflict records whose paths this run settled (or found settled) are removed.
    fn drop_settled_conflicts(&mut self, failed: &HashSet<RelPath>) {
        let planned: HashSet<&RelPath> = self
            .sides
            .prepared
            .plan
            .items
            .iter()
            .filter(|i| matches!(i.action, Action::LogConflict | Action::Blocked))
            .map(|i| &i.path)
            .collect();
        let in_scan = |p: &RelPath| self.sides.prepared.covers(p);
        let settled: Vec<RelPath> = self
            .stored_conflicts
            .iter()
            .filter(|p| !planned.contains(p) && !failed.contains(p) && in_scan(p))
            .cloned()
            .collect();
        for path in settled {
            self.pending.push(StoreChange::DeleteConflict(path));
        }
    }

    fn maybe_commit(&mut self) -> Result<()> {
        if self.commit_clock.item_ended(self.pending.len()) {
            self.commit()?;
        }
        Ok(())
    }

    /// Writes the queued base changes in one transaction. The data they describe is
    /// already durable (each side fsyncs before it answers).
    fn commit(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = self.store.transaction()?;
        for change in self.pending.drain(..) {
            match change {
                StoreChange::PutOriginal(path, original) => batch.put_original(&path, &original)?,
                StoreChange::DeleteOriginal(path) => batch.delete_original(&path)?,
                StoreChange::DeleteOriginalsUnder(path) => {
                    batch.delete_originals_under(&path)?;
                }
                StoreChange::PutConflict(record) => {
                    batch.put_conflict(&record)?;
                }
                StoreChange::DeleteConflict(path) => {
                    batch.delete_conflict(&path)?;
                }
                StoreChange::EndJournal(id) => batch.journal_end(id)?,
            }
        }
        batch.commit()?;
        self.commit_clock.committed();
        Ok(())
    }
}

/// The error of `item`, in the operation of its action, with the copies prepare saw.
fn item_error(item: &PlanItem, err: &RemoteError) -> Box<ItemError> {
    let op = item.action.operation().unwrap_or(SyncOperation::Prepare);
    Box::new(ItemError::from_remote(op, err).with_copies(
        item.triple.local.as_deref(),
        item.triple.remote.as_deref(),
        item.triple.original.as_deref(),
    ))
}

/// True for the work that changes the cache folder or the share (and so gets a
/// journal row); bookkeeping and logged conflicts only touch the state database.
fn changes_a_side(item: &PlanItem) -> bool {
    matches!(
        item.action,
        Action::Run(_) | Action::KeepOne { .. } | Action::KeepBoth { .. }
    )
}

fn is_deletion(item: &PlanItem) -> bool {
    matches!(
        item.action,
        Action::Run(SyncOperation::DeleteClientCopy) | Action::Run(SyncOperation::DeleteServerCopy)
    )
}

fn is_excluded(item: &PlanItem) -> bool {
    item.action == Action::ForgetExcluded
}

fn side_word(side: Side) -> &'static str {
    match side {
        Side::Local => "cache",
        Side::Remote => "share",
    }
}
