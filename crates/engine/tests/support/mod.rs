//! Test support for the engine's in-process tests: an in-memory share
//! ([`mem::MemShare`]), a cache set up around it, and a sink that records what the
//! engine reports (and can ask for retries or fail).
#![allow(dead_code)] // each test file uses a part

pub mod mem;

use offline_core::{PlanItem, RelPath};
use offline_engine::{Cache, InitOptions, ItemReport, Response, SinkError, SyncSink, SyncSummary};
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
