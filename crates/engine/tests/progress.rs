//! Progress during a slow run: file copies go through batches (staged, made durable
//! together, placed), and a copy is reported when its batch is placed. A batch is
//! placed when full or once it is a second old, so a run whose items come slowly
//! reports results as it goes, not all at the end (the Sync Center's progress bar
//! and the daemon's events follow these reports).

use offline_core::{PlanItem, RelPath, SyncControl};
use offline_engine::{
    Cache, InitOptions, ItemReport, PrepareOptions, Response, SinkError, SyncSink,
};
use std::fs;
use std::time::Duration;

/// Sleeps at each item's start (as a slow link or a busy disk would) and records
/// the order of starts and results.
struct Slow {
    delay: Duration,
    events: Vec<(bool, RelPath)>,
}

impl SyncSink for Slow {
    fn item_begin(&mut self, item: &PlanItem) -> Result<(), SinkError> {
        std::thread::sleep(self.delay);
        self.events.push((true, item.path.clone()));
        Ok(())
    }

    fn item_result(&mut self, report: &ItemReport) -> Result<Response, SinkError> {
        self.events.push((false, report.path.clone()));
        Ok(Response::Continue)
    }
}

#[test]
fn a_slow_run_reports_copies_before_its_last_item_starts() {
    let root = tempfile::tempdir().expect("temp");
    let share = root.path().join("share");
    fs::create_dir_all(&share).expect("share");
    let files = 16;
    for i in 0..files {
        fs::write(share.join(format!("f{i:02}")), format!("file {i}\n")).expect("write");
    }
    let mut cache = Cache::init(
        share.as_os_str(),
        &root.path().join("cache"),
        InitOptions { pin_root: true },
    )
    .expect("init");
    // 16 items at 150 ms each: 2.4 s of starts, so batches a second old are placed
    // while later items still start.
    let mut slow = Slow {
        delay: Duration::from_millis(150),
        events: Vec::new(),
    };
    cache
        .synchronize(
            &SyncControl::default(),
            &PrepareOptions::default(),
            &mut slow,
        )
        .expect("sync");
    let last_start = slow
        .events
        .iter()
        .rposition(|(start, _)| *start)
        .expect("items started");
    let reported_before = slow.events[..last_start]
        .iter()
        .filter(|(start, _)| !*start)
        .count();
    assert!(
        reported_before >= 1,
        "no copy was reported before the last one started: {:?}",
        slow.events
    );
    let reported = slow.events.iter().filter(|(start, _)| !*start).count();
    assert_eq!(
        reported, files,
        "each copy reported once: {:?}",
        slow.events
    );
    for i in 0..files {
        let copied =
            fs::read_to_string(root.path().join(format!("cache/f{i:02}"))).expect("copied");
        assert_eq!(copied, format!("file {i}\n"));
    }
}
