//! Issue 16's goals as one chart: each measured ratio (offline ÷ its reference) as a bar
//! on a log scale beside the goal's limit, from the service bench
//! (`*-service-N.tsv`: mount read / copy / find against the cache folder, the daemon's
//! idle memory) and the network bench (`*-backends-N.tsv`: offline against rclone
//! `copy`, `sync` and `bisync` per backend). Both files hold rows
//! `tool case rep value unit rc` after `#` header lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::Res;

/// Which bench wrote a goal file, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalKind {
    Service,
    Backends,
}

/// `DATE-service-N.tsv` / `DATE-backends-N.tsv`; anything else is a sync result.
pub fn goal_kind(path: &Path) -> Option<GoalKind> {
    let name = path.file_name()?.to_str()?;
    if name.contains("-service-") {
        Some(GoalKind::Service)
    } else if name.contains("-backends-") {
        Some(GoalKind::Backends)
    } else {
        None
    }
}

/// Medians of `value` per (tool, case) over the rows that succeeded.
fn medians(path: &Path) -> Res<BTreeMap<(String, String), f64>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut all: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 6 || f[5].trim() != "0" {
            continue;
        }
        if let Ok(v) = f[3].parse::<f64>() {
            all.entry((f[0].to_string(), f[1].to_string())).or_default().push(v);
        }
    }
    Ok(all.into_iter().filter_map(|(k, mut v)| crate::median(&mut v).map(|m| (k, m))).collect())
}

/// One bar: what, offline ÷ reference, the goal's limit on that ratio.
struct Bar {
    label: String,
    ratio: f64,
    limit: f64,
}

fn service_bars(path: &Path, bars: &mut Vec<Bar>) -> Res<()> {
    let m = medians(path)?;
    let get = |t: &str, c: &str| m.get(&(t.to_string(), c.to_string())).copied();
    let pairs = [
        ("read", "read 1 GiB, mount ÷ cache folder", 1.0 / 0.9),
        ("write", "cp 1 GiB in, mount ÷ cache folder", 2.0),
        ("find", "find, mount ÷ cache folder", 2.0),
    ];
    for (case, label, limit) in pairs {
        if let (Some(v), Some(d)) = (get("view", case), get("direct", case)) {
            if d > 0.0 {
                bars.push(Bar { label: label.into(), ratio: v / d, limit });
            }
        }
    }
    if let Some(kib) = get("daemon", "idle-rss") {
        bars.push(Bar { label: "daemon idle RSS ÷ 25 MB".into(), ratio: kib * 1024.0 / 25e6, limit: 1.0 });
    }
    Ok(())
}

fn backends_bars(path: &Path, bars: &mut Vec<Bar>) -> Res<()> {
    let m = medians(path)?;
    let mut backends: Vec<&str> = m.keys().filter_map(|(t, _)| t.strip_suffix("-offline")).collect();
    backends.dedup();
    for b in backends {
        for case in ["upload", "download", "nochange", "modify"] {
            let Some(off) = m.get(&(format!("{b}-offline"), case.to_string())) else { continue };
            for (peer, name) in [("rclone", "rclone"), ("bisync", "rclone bisync")] {
                if let Some(r) = m.get(&(format!("{b}-{peer}"), case.to_string())).filter(|r| **r > 0.0) {
                    bars.push(Bar { label: format!("{b} {case} ÷ {name}"), ratio: off / r, limit: 1.0 });
                }
            }
        }
    }
    Ok(())
}

/// The latest file of each kind among `paths` (names start with the date).
fn latest(paths: &[PathBuf], kind: GoalKind) -> Option<&PathBuf> {
    paths.iter().filter(|p| goal_kind(p) == Some(kind)).max_by_key(|p| p.file_name().map(|n| n.to_os_string()))
}

/// Draws the chart of the latest service and backends files among `paths` to `out`;
/// false when there is neither.
pub fn plot(paths: &[PathBuf], out: &Path) -> Res<bool> {
    let mut bars = vec![];
    let mut sources = vec![];
    if let Some(p) = latest(paths, GoalKind::Service) {
        service_bars(p, &mut bars)?;
        sources.push(p.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string());
    }
    if let Some(p) = latest(paths, GoalKind::Backends) {
        backends_bars(p, &mut bars)?;
        sources.push(p.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string());
    }
    if bars.is_empty() {
        return Ok(false);
    }
    let n = bars.len() as f64;
    let lo = bars.iter().map(|b| b.ratio.min(b.limit)).fold(f64::MAX, f64::min) / 2.0;
    let hi = bars.iter().map(|b| b.ratio.max(b.limit)).fold(0.0, f64::max) * 2.0;
    let root = SVGBackend::new(out, (1100, 120 + 26 * bars.len() as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!(
        "issue 16: offline ÷ reference (log scale; bar green = goal met; | = goal) — {}",
        sources.join(", ")
    );
    let labels: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(300)
        .build_cartesian_2d((lo..hi).log_scale(), -0.5..(n - 0.5))?;
    chart
        .configure_mesh()
        .x_desc("offline ÷ reference")
        .y_labels(bars.len())
        .y_label_formatter(&|y| {
            let i = y.round();
            if (y - i).abs() > 1e-6 || i < 0.0 {
                return String::new();
            }
            // the first bar is drawn at the top
            labels.len().checked_sub(1 + i as usize).and_then(|k| labels.get(k)).cloned().unwrap_or_default()
        })
        .light_line_style(TRANSPARENT)
        .draw()?;
    for (i, b) in bars.iter().enumerate() {
        let y = n - 1.0 - i as f64;
        let color = if b.ratio <= b.limit { RGBColor(44, 160, 44) } else { RGBColor(214, 39, 40) };
        chart.draw_series(std::iter::once(Rectangle::new([(lo, y - 0.35), (b.ratio, y + 0.35)], color.filled())))?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(b.limit, y - 0.45), (b.limit, y + 0.45)],
            BLACK.stroke_width(3),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{:.2}×", b.ratio),
            (b.ratio * 1.05, y + 0.25),
            ("sans-serif", 13),
        )))?;
    }
    root.present()?;
    Ok(true)
}
