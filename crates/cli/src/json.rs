//! JSON shapes of the model's values, shared by every `--json` printer.

use offline_core::{Meta, PlanItem, Side};
use offline_engine::{ItemError, ItemReport, ItemResult, SyncSummary};
use serde_json::{json, Map, Value};

/// One copy's metadata.
pub fn meta(meta: Option<&Meta>) -> Value {
    let Some(m) = meta else {
        return Value::Null;
    };
    let mut v = json!({
        "kind": m.kind.name(),
        "size": m.size,
        "mtime_ns": m.mtime_ns,
        "mode": format!("{:o}", m.mode),
    });
    if let Some(target) = &m.target {
        v["target"] = json!(offline_core::escape_bytes(target));
    }
    v
}

/// An item error (Windows' sync error info).
pub fn error(e: &ItemError) -> Value {
    json!({
        "operation": e.operation.name(),
        "operation_code": e.operation.code(),
        "kind": format!("{:?}", e.kind),
        "message": e.message,
        "hint": e.hint,
        "differences": e.differences,
        "local": meta(e.local.as_ref()),
        "remote": meta(e.remote.as_ref()),
        "original": meta(e.original.as_ref()),
    })
}

/// One item's report.
pub fn report(r: &ItemReport) -> Value {
    let mut v = Map::new();
    v.insert("path".into(), json!(r.path.escaped()));
    v.insert("state".into(), json!(r.state.map(|s| s.name())));
    v.insert("operation".into(), json!(r.operation.map(|o| o.name())));
    v.insert("result".into(), json!(r.result.name()));
    if let Some(a) = r.action {
        v.insert("action".into(), json!(a.name()));
    }
    match &r.result {
        ItemResult::Error(e) => {
            v.insert("error".into(), error(e));
        }
        ItemResult::Skipped(reason) => {
            v.insert("reason".into(), json!(reason));
        }
        _ => {}
    }
    if r.bytes > 0 {
        v.insert("bytes".into(), json!(r.bytes));
    }
    if let Some(note) = &r.note {
        v.insert("note".into(), json!(note));
    }
    if let Some(from) = &r.from {
        v.insert("from".into(), json!(from.escaped()));
    }
    Value::Object(v)
}

/// A planned item (dry run).
pub fn planned(item: &PlanItem) -> Value {
    let mut v = json!({
        "path": item.path.escaped(),
        "state": item.state.name(),
        "state_code": item.state.code(),
        "operation": item.operation().map(|o| o.name()),
        "action": item.action.name(),
        "result": "planned",
        "local": meta(item.triple.meta(Side::Cache)),
        "remote": meta(item.triple.meta(Side::Share)),
        "original": meta(item.triple.original_meta()),
    });
    if let Some(moved) = &item.moved {
        v["from"] = json!(moved.from.escaped());
    }
    v
}

/// The closing summary line.
pub fn summary(s: &SyncSummary, dry_run: bool) -> Value {
    let mut counts = Map::new();
    for ((counted, result), n) in &s.counts {
        let entry = counts
            .entry(counted.name())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(result.name().to_string(), json!(n));
        }
    }
    json!({"summary": {
        "counts": counts,
        "conflicts": s.conflicts,
        "errors": s.errors,
        "skipped": s.skipped,
        "bytes": s.bytes,
        "stopped": s.stopped.as_ref().map(|why| why.to_string()),
        "dry_run": dry_run,
    }})
}
