//! The executor: carries out a prepared plan item by item, following the safety rules:
//! content goes through a temp file renamed into place, every replace or delete first
//! re-checks that the target is still what prepare saw, a losing copy is kept before it
//! is overwritten, and an item's original is recorded only after its data is durable.

use crate::cache::{now_ns, Cache, CONFLICTS_DIR_NAME};
use crate::conflict::{conflict_name, host_name, utc_stamp};
use crate::error::{ItemError, Result};
use crate::prepare::Prepared;
use crate::scan::Scanned;
use crate::sink::{ItemReport, ItemResult, Response, SyncSink, SyncSummary};
use offline_core::{Action, Kind, PlanItem, RelPath, Side, SyncOperation};
use offline_remote::{DirRemote, ErrorKind, Expect, Remote, RemoteError, Stat};
use offline_store::{ConflictRecord, JournalEntry, Original};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

mod batch;

/// Pending base changes are committed at least this often.
const COMMIT_EVERY_ITEMS: usize = 512;
const COMMIT_EVERY: Duration = Duration::from_secs(2);
/// Side-changing items whose journal rows are written in one transaction, before the
/// first of them starts. 1 (a commit before every operation) adds one flush per item
/// to the two of its copy: half again as many flushes, and a sync of 2,000 small files
/// took 1.5 to 2 times as long; 64 adds under 1%. See docs/SAFETY.md.
const JOURNAL_GROUP: usize = 64;
/// How often a sink may ask to retry one item.
const MAX_RETRIES: u32 = 3;

/// A change to the state database, queued until the next commit.
enum StoreChange {
    PutOriginal(RelPath, Original),
    DeleteOriginal(RelPath),
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
}

impl Done {
    fn quiet() -> Done {
        Done {
            bytes: 0,
            note: None,
        }
    }
}

/// Carries out one plan against the two sides.
pub(crate) struct Executor<'a> {
    cache: &'a mut Cache,
    share: &'a dyn Remote,
    prepared: &'a Prepared,
    pending: Vec<StoreChange>,
    last_commit: Instant,
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
        Ok(Executor {
            cache,
            share,
            prepared,
            pending: Vec::new(),
            last_commit: Instant::now(),
            run_started_ns: now_ns(),
            host: host_name(),
            stored_conflicts,
            journaled: HashMap::new(),
            journal_group: journal_group(),
        })
    }

    /// Runs every item: deletions first, deepest first (so folders are empty when
    /// their turn comes), then everything else, parents first.
    pub(crate) fn run(mut self, sink: &mut dyn SyncSink) -> Result<SyncSummary> {
        let mut summary = SyncSummary::default();
        for report in &self.prepared.problems {
            summary.add(report);
            sink.item_result(report);
        }
        let items = &self.prepared.plan.items;
        let deletions = items.iter().rev().filter(|i| is_deletion(i));
        let others = items.iter().filter(|i| !is_deletion(i));
        let mut failed: HashSet<RelPath> = HashSet::new();
        let order: Vec<&PlanItem> = deletions.chain(others).collect();
        let mut staged = batch::Batch::default();
        for (index, item) in order.iter().enumerate() {
            if sink.query_abort() {
                summary.stopped = Some("stopped on request".to_string());
                break;
            }
            let journal = self.journal_ahead(&order, index)?;
            // Other items need not wait for the batch: none of them reads or writes a
            // staged path, and each records its original only once its own work is
            // durable.
            let stop = if self.can_batch(item) {
                self.stage(&mut staged, item, journal, sink, &mut summary, &mut failed)?
            } else {
                self.run_one(item, journal, sink, &mut summary, &mut failed)?
            };
            if let Some(reason) = stop {
                summary.stopped = Some(reason);
                break;
            }
        }
        if let Some(reason) = self.flush(&mut staged, sink, &mut summary, &mut failed)? {
            summary.stopped.get_or_insert(reason);
        }
        // Rows written ahead for items a stopped run never started.
        for (_, id) in self.journaled.drain() {
            self.pending.push(StoreChange::EndJournal(id));
        }
        for report in &self.prepared.problems {
            failed.insert(report.path.clone());
        }
        self.drop_settled_conflicts(&failed);
        for (path, original) in &self.prepared.refresh {
            self.pending
                .push(StoreChange::PutOriginal(path.clone(), original.clone()));
        }
        self.commit()?;
        Ok(summary)
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
                    return Ok(Some(
                        "the share could not be reached any more; the rest waits for the next sync"
                            .to_string(),
                    ));
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
        let batch = self.cache.store.transaction()?;
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
        matches!(self.share.stat(&RelPath::root()), Ok(Some(s)) if s.meta.kind == Kind::Dir)
    }

    fn side(&self, side: Side) -> &dyn Remote {
        match side {
            Side::Local => &self.cache.local,
            Side::Remote => self.share,
        }
    }

    fn scanned(&self, side: Side, path: &RelPath) -> Option<&'a Scanned> {
        self.prepared.scanned(side, path)
    }

    fn expect(&self, side: Side, path: &RelPath) -> Expect {
        match self.scanned(side, path) {
            // A folder's own stat changes whenever this run deletes or adds something
            // in it (deletions run first). It only has to still be a folder: it is
            // removed only when empty, and otherwise only its mode and time are set.
            Some(s) if s.meta.kind == Kind::Dir => match self.side(side).stat(path) {
                Ok(Some(now)) if now.meta.kind == Kind::Dir => Expect::Identity(now.identity),
                _ => Expect::Identity(s.identity.clone()),
            },
            Some(s) => Expect::Identity(s.identity.clone()),
            None => Expect::Absent,
        }
    }

    /// Does one item's work; the error names the operation it happened in.
    fn apply(&mut self, item: &PlanItem) -> std::result::Result<Done, Box<ItemError>> {
        let path = &item.path;
        let op = item.action.operation().unwrap_or(SyncOperation::Prepare);
        let fail = |e: RemoteError| {
            Box::new(ItemError::from_remote(op, &e).with_copies(
                item.triple.local.as_ref(),
                item.triple.remote.as_ref(),
                item.triple.original.as_ref(),
            ))
        };
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
                let expect = self.expect(to, path);
                let bytes = self.transfer(from, path, to, path, expect).map_err(fail)?;
                Ok(Done { bytes, note: None })
            }
            Action::RecordOriginal => {
                self.record_both(path).map_err(fail)?;
                Ok(Done::quiet())
            }
            Action::ForgetOriginal => {
                self.pending.push(StoreChange::DeleteOriginal(path.clone()));
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
                    original: item.triple.original.clone(),
                    local: item.triple.local.clone(),
                    remote: item.triple.remote.clone(),
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
        let mut src = self.current(from, src_path)?;
        if src.meta.kind == Kind::File && src.meta.hash.is_none() {
            // Prepare hashes only what it compares; a single copy checks the source
            // against its hash while writing, so it needs one.
            src.meta.hash = Some(self.side(from).hash_file(src_path)?.0);
        }
        let dst = match expect {
            Expect::Absent => None,
            _ => self.scanned(to, dst_path).cloned(),
        };
        let (stat, bytes) =
            self.put_copy(from, src_path, &src, to, dst_path, dst.as_ref(), expect)?;
        self.record_copy(from, &src, to, dst_path, stat);
        Ok(bytes)
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

    /// The source copy as prepare saw it, or as it is now for paths prepare did not see
    /// (a copy just renamed to its conflict name).
    fn current(&self, side: Side, path: &RelPath) -> std::result::Result<Scanned, RemoteError> {
        if let Some(s) = self.scanned(side, path) {
            return Ok(s.clone());
        }
        let remote = self.side(side);
        let stat = remote
            .stat(path)?
            .ok_or_else(|| RemoteError::new(ErrorKind::NotFound, path, "it is gone"))?;
        let mut meta = stat.meta;
        if meta.kind == Kind::File {
            meta.hash = Some(remote.hash_file(path)?.0);
        }
        Ok(Scanned {
            meta,
            identity: stat.identity,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn put_copy(
        &self,
        from: Side,
        src_path: &RelPath,
        src: &Scanned,
        to: Side,
        dst_path: &RelPath,
        dst: Option<&Scanned>,
        mut expect: Expect,
    ) -> std::result::Result<(Stat, u64), RemoteError> {
        let target = self.side(to);
        let meta = &src.meta;
        let dst_kind = dst.map(|d| d.meta.kind);
        if dst.is_some_and(|d| d.meta.kind == meta.kind && d.meta.same_content(meta))
            && meta.kind != Kind::Symlink
        {
            let mtime = (meta.kind == Kind::File).then_some(meta.mtime_ns);
            let stat = target.set_attrs(dst_path, Some(meta.mode), mtime, &expect)?;
            return Ok((stat, 0));
        }
        if dst_kind.is_some() && (dst_kind == Some(Kind::Dir)) != (meta.kind == Kind::Dir) {
            // A kind change: the old item goes first (a folder only if empty by now).
            target.remove(dst_path, &expect)?;
            expect = Expect::Absent;
        }
        match meta.kind {
            Kind::File => {
                let mut reader = self.side(from).open_read(src_path)?;
                let written = target.write_file(
                    dst_path,
                    &mut reader,
                    meta.mode,
                    meta.mtime_ns,
                    meta.hash,
                    &expect,
                )?;
                Ok((written.stat, meta.size))
            }
            Kind::Dir => {
                let stat = target.make_dir(dst_path, meta.mode, Some(meta.mtime_ns), &expect)?;
                Ok((stat, 0))
            }
            Kind::Symlink => {
                let link = meta.target.clone().unwrap_or_default();
                let stat = target.make_symlink(dst_path, &link, Some(meta.mtime_ns), &expect)?;
                Ok((stat, 0))
            }
        }
    }

    /// Both sides hold the same item: it becomes the original.
    fn record_both(&mut self, path: &RelPath) -> std::result::Result<(), RemoteError> {
        let missing = || RemoteError::new(ErrorKind::NotFound, path, "it is gone");
        let local = self.scanned(Side::Local, path).ok_or_else(missing)?;
        let remote = self.scanned(Side::Remote, path).ok_or_else(missing)?;
        let original = Original {
            meta: local.meta.clone(),
            local_identity: Some(local.identity.clone()),
            remote_identity: Some(remote.identity.clone()),
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
            remote_identity: Some(remote.identity.clone()),
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
        Ok(Done { bytes, note })
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
            if self.cache.local.stat(&candidate)?.is_none()
                && self.share.stat(&candidate)?.is_none()
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
        for dir in folders.iter().rev() {
            keeper.make_dir(dir, 0o755, None, &Expect::Any)?;
        }
        crashpoint::hit("engine.save_copy.before");
        let meta = &scanned.meta;
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
        let base = self.cache.meta_dir().join(CONFLICTS_DIR_NAME);
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
            fs::create_dir_all(&folder).map_err(io)?;
            for dir in [&run_dir, &base] {
                fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
            }
            let keeper = DirRemote::open(&folder, &[])?;
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
            .prepared
            .plan
            .items
            .iter()
            .filter(|i| matches!(i.action, Action::LogConflict | Action::Blocked))
            .map(|i| &i.path)
            .collect();
        let in_scan = |p: &RelPath| self.prepared.covers(p);
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
        if self.pending.len() >= COMMIT_EVERY_ITEMS || self.last_commit.elapsed() >= COMMIT_EVERY {
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
        let batch = self.cache.store.transaction()?;
        for change in self.pending.drain(..) {
            match change {
                StoreChange::PutOriginal(path, original) => batch.put_original(&path, &original)?,
                StoreChange::DeleteOriginal(path) => batch.delete_original(&path)?,
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
        self.last_commit = Instant::now();
        Ok(())
    }
}

/// True for the work that changes the cache folder or the share (and so gets a
/// journal row); bookkeeping and logged conflicts only touch the state database.
fn changes_a_side(item: &PlanItem) -> bool {
    matches!(
        item.action,
        Action::Run(_) | Action::KeepOne { .. } | Action::KeepBoth { .. }
    )
}

/// Side-changing items per journal transaction: [`JOURNAL_GROUP`], or the value of
/// `OFFLINE_JOURNAL_GROUP` (a knob for measuring the cost, see docs/SAFETY.md).
fn journal_group() -> usize {
    std::env::var("OFFLINE_JOURNAL_GROUP")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(JOURNAL_GROUP)
}

fn is_deletion(item: &PlanItem) -> bool {
    matches!(
        item.action,
        Action::Run(SyncOperation::DeleteClientCopy) | Action::Run(SyncOperation::DeleteServerCopy)
    )
}

fn side_word(side: Side) -> &'static str {
    match side {
        Side::Local => "cache",
        Side::Remote => "share",
    }
}
