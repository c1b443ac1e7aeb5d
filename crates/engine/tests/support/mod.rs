//! Test support for the engine's in-process tests: an in-memory share
//! ([`mem::MemShare`]), a cache set up around it, and a sink that records what the
//! engine reports (and can ask for retries or fail).
#![allow(dead_code)] // each test file uses a part

pub mod mem;

use mem::MemShare;
use offline_core::{PlanItem, RelPath, SyncControl};
use offline_engine::{
    Cache, InitOptions, ItemReport, NullSink, PrepareOptions, Response, SinkError, SyncSink,
    SyncSummary,
};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// A path from text.
pub fn p(s: &str) -> RelPath {
    RelPath::from_str_lossy(s).expect("a valid test path")
}

/// A cache in `root/cache` (a full mirror), made against an empty folder share in
/// `root/share` (init needs one); the tests sync it with a [`mem::MemShare`].
pub fn cache_in(root: &Path) -> Cache {
    let share = root.join("share");
    std::fs::create_dir_all(&share).expect("share folder");
    Cache::init(
        share.as_os_str(),
        &root.join("cache"),
        InitOptions { pin_root: true },
    )
    .expect("init")
}

/// What a [`Recorder`] does when an item ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Go on.
    Continue,
    /// Ask to retry every failure.
    RetryFailures,
    /// Fail (the output is gone) after this many reports.
    FailAfter(usize),
}

/// A sink that records the reports it gets.
pub struct Recorder {
    pub answer: Answer,
    pub begun: Vec<RelPath>,
    pub reports: Vec<ItemReport>,
    pub ended: Option<SyncSummary>,
}

impl Recorder {
    pub fn new(answer: Answer) -> Recorder {
        Recorder {
            answer,
            begun: Vec::new(),
            reports: Vec::new(),
            ended: None,
        }
    }

    /// The reports of `path`, in order.
    pub fn of(&self, path: &str) -> Vec<&ItemReport> {
        let path = p(path);
        self.reports.iter().filter(|r| r.path == path).collect()
    }
}

impl SyncSink for Recorder {
    fn item_begin(&mut self, item: &PlanItem) -> Result<(), SinkError> {
        self.begun.push(item.path.clone());
        Ok(())
    }

    fn item_result(&mut self, report: &ItemReport) -> Result<Response, SinkError> {
        if let Answer::FailAfter(n) = self.answer {
            if self.reports.len() >= n {
                return Err(SinkError("the output was closed".to_string()));
            }
        }
        self.reports.push(report.clone());
        let failed = matches!(report.result, offline_engine::ItemResult::Error(_));
        Ok(match self.answer {
            Answer::RetryFailures if failed => Response::Retry,
            _ => Response::Continue,
        })
    }

    fn end(&mut self, summary: &SyncSummary) -> Result<(), SinkError> {
        self.ended = Some(summary.clone());
        Ok(())
    }
}

/// A file's content, telling which side wrote it and which edit.
pub fn content(side: &str, n: u8) -> Vec<u8> {
    format!("{side} {n}\n").into_bytes()
}

/// The cache's files (not its own `.offline`), by path.
pub fn cache_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).expect("read the cache") {
            let entry = entry.expect("entry");
            let path = entry.path();
            if path.file_name().is_some_and(|n| n == ".offline") {
                continue;
            }
            if entry.file_type().expect("type").is_dir() {
                pending.push(path);
            } else {
                let rel = path.strip_prefix(root).expect("inside").to_string_lossy();
                out.insert(rel.into_owned(), fs::read(&path).expect("read"));
            }
        }
    }
    out
}

/// One sync (prepare, then execute) of the cache with the in-memory share; an item
/// error or a stop is an error.
pub fn sync(cache: &mut Cache, share: &MemShare, control: &SyncControl) -> Result<(), String> {
    let prepared = cache
        .prepare(share, control, &PrepareOptions::default())
        .map_err(|e| format!("prepare: {e}"))?;
    let summary = cache
        .execute(share, &prepared, &mut NullSink)
        .map_err(|e| format!("execute: {e}"))?;
    if summary.errors > 0 || summary.stopped.is_some() {
        return Err(format!("the sync failed: {summary:?}"));
    }
    Ok(())
}
