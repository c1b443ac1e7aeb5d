//! Printers of a sync: a progress bar and a table for people, JSON lines for programs.
//! Both are sinks of the engine; a write that fails (the output was closed) stops
//! the sync as the engine's `SinkFailed`.

use crate::json;
use crate::term::shown;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use offline_core::{Plan, PlanItem};
use offline_engine::{
    CountedAs, ItemReport, ItemResult, Response, ResultKind, SinkError, SyncSink, SyncSummary,
};
use std::io::{IsTerminal, Write};

/// Prints a table of what was done, with a progress bar on a terminal.
pub struct TablePrinter {
    bar: ProgressBar,
}

impl TablePrinter {
    /// A printer; the bar shows only when stderr is a terminal.
    pub fn new() -> TablePrinter {
        let bar = if std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr())
        } else {
            ProgressBar::hidden()
        };
        if let Ok(style) =
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {wide_msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        TablePrinter { bar }
    }

    fn line(&self, text: String) -> Result<(), SinkError> {
        self.bar.suspend(|| {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{text}")
        })?;
        Ok(())
    }
}

impl Default for TablePrinter {
    fn default() -> Self {
        TablePrinter::new()
    }
}

/// The table's columns for one report.
pub fn report_line(r: &ItemReport) -> String {
    let op = r
        .operation
        .map(|o| o.name())
        .or(r.action.map(|a| a.name()))
        .unwrap_or("-");
    let mut text = format!("{:<8} {:<22} {}", r.result.name(), op, r.path);
    if let Some(from) = &r.from {
        text.push_str(&format!(" (renamed from {from})"));
    }
    match &r.result {
        ItemResult::Error(e) => {
            text.push_str(&format!(
                "\n         error: {}\n         hint: {}",
                shown(&e.message),
                e.hint
            ));
        }
        ItemResult::Skipped(reason) => text.push_str(&format!("  ({})", shown(reason))),
        ItemResult::Conflict => text.push_str(&format!(
            "  (both sides changed: {}; settle it with `offline resolve`)",
            r.state.map(|s| s.name()).unwrap_or("")
        )),
        ItemResult::Ok => {}
    }
    if let Some(note) = &r.note {
        text.push_str(&format!("  ({})", shown(note)));
    }
    text
}

/// The closing line for people.
pub fn summary_line(s: &SyncSummary) -> String {
    let done: u64 = s
        .counts
        .iter()
        .filter(|((_, result), _)| *result == ResultKind::Ok)
        .map(|(_, n)| n)
        .sum();
    let mut text = format!(
        "{done} done, {} conflicts, {} errors, {} skipped, {} bytes moved",
        s.conflicts, s.errors, s.skipped, s.bytes
    );
    if let Some(reason) = &s.stopped {
        text.push_str(&format!("; stopped: {}", shown(reason)));
    }
    text
}

impl SyncSink for TablePrinter {
    fn begin(&mut self, plan: &Plan) -> Result<(), SinkError> {
        self.bar.set_length(plan.items.len() as u64);
        Ok(())
    }

    fn streams(&self) -> bool {
        true
    }

    fn more(&mut self, piece: &Plan) -> Result<(), SinkError> {
        self.bar.inc_length(piece.items.len() as u64);
        Ok(())
    }

    fn item_begin(&mut self, item: &PlanItem) -> Result<(), SinkError> {
        self.bar.set_message(item.path.to_string());
        Ok(())
    }

    fn item_result(&mut self, report: &ItemReport) -> Result<Response, SinkError> {
        if report.state.is_some() {
            self.bar.inc(1);
        }
        let bookkeeping = report.from.is_none()
            && matches!(
                report.action,
                Some(offline_core::Action::RecordOriginal)
                    | Some(offline_core::Action::ForgetOriginal)
                    | Some(offline_core::Action::RecordGhost)
                    | Some(offline_core::Action::ForgetExcluded)
            );
        if !(bookkeeping && report.result == ItemResult::Ok) {
            self.line(report_line(report))?;
        }
        Ok(Response::Continue)
    }

    fn end(&mut self, summary: &SyncSummary) -> Result<(), SinkError> {
        self.bar.finish_and_clear();
        self.line(summary_line(summary))
    }
}

/// Prints JSON lines: one per item, then the summary.
pub struct JsonPrinter;

fn write_json(value: &serde_json::Value) -> Result<(), SinkError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{value}")?;
    Ok(())
}

fn print_json(value: &serde_json::Value) {
    let _ = write_json(value);
}

impl SyncSink for JsonPrinter {
    fn streams(&self) -> bool {
        true
    }

    fn item_result(&mut self, report: &ItemReport) -> Result<Response, SinkError> {
        write_json(&json::report(report))?;
        Ok(Response::Continue)
    }

    fn end(&mut self, summary: &SyncSummary) -> Result<(), SinkError> {
        write_json(&json::summary(summary, false))
    }
}

/// Prints a plan without running it (`--dry-run`): exactly the items a real run
/// carries out, bookkeeping included in JSON, after what prepare found (`problems`:
/// errors, and names left out as skipped).
pub fn print_plan(plan: &Plan, problems: &[ItemReport], as_json: bool) {
    for p in problems {
        if as_json {
            print_json(&json::report(p));
        } else {
            println!("{}", report_line(p));
        }
    }
    for item in plan.items.iter().filter(|i| !excluded(i)) {
        if as_json {
            print_json(&json::planned(item));
        } else if plan_visible(item) {
            let op = item
                .operation()
                .map(|o| o.name())
                .unwrap_or(item.action.name());
            let from = item
                .moved
                .as_ref()
                .map(|m| format!(" (renamed from {})", m.from))
                .unwrap_or_default();
            println!(
                "{:<8} {:<22} {}{from}  ({})",
                "planned",
                op,
                item.path,
                item.state.name()
            );
        }
    }
    let visible = plan.items.iter().filter(|i| plan_visible(i)).count();
    if as_json {
        let mut summary = SyncSummary::default();
        for item in plan.items.iter().filter(|i| !excluded(i)) {
            *summary
                .counts
                .entry((CountedAs::planned(item), ResultKind::Planned))
                .or_insert(0) += 1;
            if item.action == offline_core::Action::LogConflict {
                summary.conflicts += 1;
            }
        }
        for p in problems {
            match p.result {
                ItemResult::Error(_) => summary.errors += 1,
                ItemResult::Skipped(_) => summary.skipped += 1,
                _ => {}
            }
        }
        print_json(&json::summary(&summary, true));
    } else {
        println!("dry run: {visible} items would be synced; nothing was changed");
    }
}

fn plan_visible(item: &PlanItem) -> bool {
    item.moved.is_some()
        || !matches!(
            item.action,
            offline_core::Action::RecordOriginal
                | offline_core::Action::ForgetOriginal
                | offline_core::Action::RecordGhost
                | offline_core::Action::ForgetExcluded
        )
}

/// An excluded path is no part of the sync: a plan never shows it, not even in JSON.
fn excluded(item: &PlanItem) -> bool {
    item.action == offline_core::Action::ForgetExcluded
}
