//! Report for `bench/run.sh`: reads the raw TSVs written by `../shared/bench/peers.sh`
//! (rows `tool case rep wall_s rss_KiB rc`, `#` lines are headers), prints a markdown table
//! per file count with medians, ratios and issue 5's targets, and draws an SVG of sync time
//! against file count.
//!
//! Usage: offline-bench-report [--svg OUT.svg] [--goals-svg OUT.svg] [--plot-dir DIR] FILE.tsv...
//!   FILE.tsv         results to tabulate (one file per file count; the latest wins per count)
//!   --svg PATH       write the plot there
//!   --goals-svg PATH write issue 16's goals (goals.rs) there, from the latest
//!                    `*-service-N.tsv` and `*-backends-N.tsv` given or in DIR
//!   --plot-dir DIR   also plot the latest `*-<N>.tsv` of every other count found in DIR

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

mod goals;

type Res<T> = Result<T, Box<dyn Error>>;

/// Issue 5's targets (defined at 100k files; checked at every count).
const INITIAL_VS_RSYNC: f64 = 1.0;
const NOCHANGE_VS_UNISON: f64 = 0.5;
const NOCHANGE_VS_FIND: f64 = 1.5;
const MODIFY_VS_UNISON: f64 = 0.4;
const MEMORY_LIMIT_MIB: f64 = 40.0;
/// /usr/bin/time prints wall time with 10 ms resolution; 0.00 is plotted as this.
const TIME_FLOOR: f64 = 0.01;

#[derive(Debug, Clone)]
enum Wall {
    Secs(f64),
    /// killed after this many seconds (`TIMEOUT>300`)
    Timeout(Option<f64>),
    Missing,
}

#[derive(Debug, Clone)]
struct Run {
    tool: String,
    case: String,
    wall: Wall,
    rss_kib: Option<f64>,
    rc: i32,
}

#[derive(Debug, Clone)]
struct ResultFile {
    path: PathBuf,
    n: u64,
    date: String,
    commit: String,
    reps: String,
    /// `# log:` lines from the run (convergence checks, skips, tree generation time)
    log: Vec<String>,
    runs: Vec<Run>,
}

/// Aggregate of one (tool, case).
#[derive(Debug, Clone)]
struct Stat {
    median: Option<f64>,
    min: Option<f64>,
    max: Option<f64>,
    rss_mib: Option<f64>,
    ok: usize,
    total: usize,
    timeouts: usize,
    /// the timeout, when no run succeeded and one timed out: the time is at least this
    timed_out_after: Option<f64>,
    bad_rcs: Vec<i32>,
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

fn header_value(line: &str, key: &str) -> Option<String> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .map(str::to_string)
}

fn n_from_name(path: &Path) -> Option<u64> {
    let stem = path.file_stem()?.to_str()?;
    stem.rsplit('-').next()?.parse().ok()
}

fn parse_file(path: &Path) -> Res<ResultFile> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut rf = ResultFile {
        path: path.to_path_buf(),
        n: 0,
        date: String::new(),
        commit: String::new(),
        reps: String::new(),
        log: vec![],
        runs: vec![],
    };
    let mut n = None;
    for line in text.lines() {
        if let Some(h) = line.strip_prefix('#') {
            let h = h.trim();
            if let Some(l) = h.strip_prefix("log:") {
                rf.log.push(l.trim().to_string());
            }
            if n.is_none() {
                n = header_value(h, "N").and_then(|s| s.parse().ok());
            }
            if let Some(d) = header_value(h, "date") {
                rf.date = d;
            }
            if let Some(c) = header_value(h, "commit") {
                rf.commit = c;
            }
            if let Some(r) = header_value(h, "reps") {
                rf.reps = r;
            }
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 6 {
            continue;
        }
        let wall = if f[3].starts_with("TIMEOUT") {
            Wall::Timeout(f[3].trim_start_matches(|c: char| !c.is_ascii_digit()).parse().ok())
        } else {
            f[3].parse().map(Wall::Secs).unwrap_or(Wall::Missing)
        };
        rf.runs.push(Run {
            tool: f[0].to_string(),
            case: f[1].to_string(),
            wall,
            rss_kib: f[4].parse().ok(),
            rc: f[5].trim().parse().unwrap_or(-1),
        });
    }
    rf.n = n.or_else(|| n_from_name(path)).ok_or_else(|| format!("{}: no N in header or name", path.display()))?;
    if rf.date.is_empty() {
        rf.date = path.file_name().and_then(|s| s.to_str()).unwrap_or("").get(..10).unwrap_or("").to_string();
    }
    Ok(rf)
}

impl ResultFile {
    /// (tool, case) in first-seen order, with aggregates over the runs that succeeded.
    fn stats(&self) -> Vec<((String, String), Stat)> {
        let mut order: Vec<(String, String)> = vec![];
        let mut by: BTreeMap<(String, String), Vec<&Run>> = BTreeMap::new();
        for r in &self.runs {
            let k = (r.tool.clone(), r.case.clone());
            if !by.contains_key(&k) {
                order.push(k.clone());
            }
            by.entry(k).or_default().push(r);
        }
        order
            .into_iter()
            .map(|k| {
                let runs = &by[&k];
                let ok: Vec<&&Run> = runs.iter().filter(|r| r.rc == 0 && matches!(r.wall, Wall::Secs(_))).collect();
                let mut walls: Vec<f64> =
                    ok.iter().filter_map(|r| if let Wall::Secs(s) = r.wall { Some(s) } else { None }).collect();
                let mut rss: Vec<f64> = ok.iter().filter_map(|r| r.rss_kib.map(|k| k / 1024.0)).collect();
                let st = Stat {
                    min: walls.iter().cloned().reduce(f64::min),
                    max: walls.iter().cloned().reduce(f64::max),
                    median: median(&mut walls),
                    rss_mib: median(&mut rss),
                    ok: ok.len(),
                    total: runs.len(),
                    timeouts: runs.iter().filter(|r| matches!(r.wall, Wall::Timeout(_))).count(),
                    timed_out_after: if ok.is_empty() {
                        runs.iter().filter_map(|r| if let Wall::Timeout(t) = r.wall { t } else { None }).reduce(f64::max)
                    } else {
                        None
                    },
                    bad_rcs: runs
                        .iter()
                        .filter(|r| r.rc != 0 && !matches!(r.wall, Wall::Timeout(_)))
                        .map(|r| r.rc)
                        .collect(),
                };
                (k, st)
            })
            .collect()
    }

    fn stat(&self, tool: &str, case: &str) -> Option<Stat> {
        self.stats().into_iter().find(|((t, c), _)| t == tool && c == case).map(|(_, s)| s)
    }

    fn median(&self, tool: &str, case: &str) -> Option<f64> {
        self.stat(tool, case).and_then(|s| s.median)
    }
}

const TOOL_ORDER: [&str; 5] = ["offline", "unison", "rclone", "rsync", "stat"];

fn tool_rank(t: &str) -> usize {
    TOOL_ORDER.iter().position(|x| *x == t).unwrap_or(TOOL_ORDER.len())
}

fn case_rank(c: &str) -> usize {
    ["initial", "nochange", "modify", "find-A", "find-A+B"].iter().position(|x| *x == c).unwrap_or(9)
}

fn label(tool: &str, case: &str) -> String {
    match (tool, case) {
        ("stat", "find-A") => "find A".into(),
        ("stat", "find-A+B") => "find A B".into(),
        ("rsync", _) => format!("rsync -a (one-way) {case}"),
        _ => format!("{tool} {case}"),
    }
}

/// The offline case a peer row is compared with.
fn offline_case_for(tool: &str, case: &str) -> Option<&'static str> {
    match (tool, case) {
        ("offline", _) => None,
        ("stat", "find-A+B") => Some("nochange"),
        ("stat", _) => None,
        (_, "initial") => Some("initial"),
        (_, "nochange") => Some("nochange"),
        (_, "modify") => Some("modify"),
        _ => None,
    }
}

fn fmt_s(v: Option<f64>) -> String {
    match v {
        Some(x) if x < 10.0 => format!("{x:.2}"),
        Some(x) => format!("{x:.1}"),
        None => "—".into(),
    }
}

fn fmt_secs(v: Option<f64>) -> String {
    match v {
        Some(_) => format!("{} s", fmt_s(v)),
        None => "—".into(),
    }
}

fn fmt_ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}×")
    } else {
        format!("{r:.2}×")
    }
}

/// offline ÷ reference, if both are > 0 (a 0.00 s reading has no meaningful ratio).
fn ratio(off: Option<f64>, reference: Option<f64>) -> Option<f64> {
    match (off, reference) {
        (Some(o), Some(r)) if r > 0.0 && o > 0.0 => Some(o / r),
        _ => None,
    }
}

fn table(rf: &ResultFile) -> String {
    let mut s = String::new();
    let short_date = rf.date.get(..10).unwrap_or(&rf.date);
    let _ = writeln!(
        s,
        "### {} files — {}{}{}\n",
        rf.n,
        short_date,
        if rf.commit.is_empty() { String::new() } else { format!(", offline at `{}`", rf.commit) },
        if rf.reps.is_empty() { String::new() } else { format!(", median of {} run{}", rf.reps, if rf.reps == "1" { "" } else { "s" }) },
    );
    let _ = writeln!(s, "| tool | case | median wall s | min–max s | peak RSS MiB | ok runs | offline ÷ this |");
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|");
    let mut stats = rf.stats();
    stats.sort_by_key(|((t, c), _)| (tool_rank(t), case_rank(c)));
    for ((tool, case), st) in &stats {
        let mut ok = format!("{}/{}", st.ok, st.total);
        if st.timeouts > 0 {
            let _ = write!(ok, " ({} timeout)", st.timeouts);
        }
        if !st.bad_rcs.is_empty() {
            let rcs: Vec<String> = st.bad_rcs.iter().map(|r| r.to_string()).collect();
            let _ = write!(ok, " (rc {})", rcs.join(","));
        }
        let rat = offline_case_for(tool, case)
            .and_then(|oc| ratio(rf.median("offline", oc), st.median).map(|r| (oc, r)))
            .map(|(oc, r)| if oc == case { fmt_ratio(r) } else { format!("{} (offline {oc})", fmt_ratio(r)) })
            .unwrap_or_else(|| "".into());
        let minmax = match (st.min, st.max) {
            (Some(a), Some(b)) => format!("{}–{}", fmt_s(Some(a)), fmt_s(Some(b))),
            _ => "—".into(),
        };
        let name = if tool == "offline" { format!("**{tool}**") } else { tool.clone() };
        let case_name = match case.as_str() {
            "find-A" => "`find A`".to_string(),
            "find-A+B" => "`find A B`".to_string(),
            c if tool == "rsync" => format!("{c} (one-way)"),
            c => c.to_string(),
        };
        let _ = writeln!(
            s,
            "| {name} | {case_name} | {} | {minmax} | {} | {ok} | {rat} |",
            match (st.median, st.timed_out_after) {
                (None, Some(t)) => format!("> {} (timeout)", fmt_s(Some(t))),
                (m, _) => fmt_s(m),
            },
            st.rss_mib.map(|m| format!("{m:.1}")).unwrap_or_else(|| "—".into()),
        );
    }
    s.push('\n');
    s.push_str(&targets(rf));
    for l in &rf.log {
        if l.contains("DIFFER") || l.contains("skipped") || l.contains("stopped") {
            let _ = writeln!(s, "\n**Warning:** {l}");
        }
    }
    s
}

fn verdict(value: f64, limit: f64) -> String {
    if value <= limit {
        format!("met ({} of the limit)", fmt_ratio(value / limit))
    } else {
        format!("**missed**: {} over the limit", fmt_ratio(value / limit))
    }
}

fn targets(rf: &ResultFile) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Issue 5's targets (stated for 100k files) at {} files:\n", rf.n);
    let _ = writeln!(s, "| target | offline | reference | offline ÷ reference | verdict |");
    let _ = writeln!(s, "|---|---:|---:|---:|---|");
    let off = |c: &str| rf.stat("offline", c);
    let offline_failed = |c: &str| -> Option<String> {
        let st = off(c)?;
        if st.median.is_none() {
            Some(if st.timeouts > 0 { "timed out".into() } else { format!("failed (rc {:?})", st.bad_rcs) })
        } else {
            None
        }
    };
    let rows: [(&str, &str, &str, &str, f64); 4] = [
        ("initial ≤ 1× rsync -a one-way", "initial", "rsync", "initial", INITIAL_VS_RSYNC),
        ("no-change ≤ 0.5× unison", "nochange", "unison", "nochange", NOCHANGE_VS_UNISON),
        ("no-change ≤ 1.5× `find A B`", "nochange", "stat", "find-A+B", NOCHANGE_VS_FIND),
        ("1% changed each side ≤ 0.4× unison", "modify", "unison", "modify", MODIFY_VS_UNISON),
    ];
    let initial_timeout = off("initial").and_then(|s| s.timed_out_after);
    for (name, oc, rt, rc, limit) in rows {
        let o = rf.median("offline", oc);
        let o_timeout = off(oc).and_then(|s| s.timed_out_after);
        let r = rf.median(rt, rc);
        let refname = if rt == "stat" { "find".to_string() } else { rt.to_string() };
        let (o_text, ratio_text, v) = match (o, o_timeout, r, offline_failed(oc)) {
            (_, Some(t), Some(rv), _) if rv > 0.0 => (
                format!("> {} s (timeout)", fmt_s(Some(t))),
                format!("> {}", fmt_ratio(t / rv)),
                format!("**missed**: > {} over the limit (timed out)", fmt_ratio(t / rv / limit)),
            ),
            (_, _, _, Some(f)) => (fmt_secs(o), "—".into(), format!("offline {f}")),
            (Some(_), _, Some(_), _) => (
                fmt_secs(o),
                ratio(o, r).map(fmt_ratio).unwrap_or_else(|| "—".into()),
                match ratio(o, r) {
                    Some(x) => verdict(x, limit),
                    None => "not measurable (0.00 s reading)".into(),
                },
            ),
            (None, _, _, _) => (
                "—".into(),
                "—".into(),
                match initial_timeout {
                    Some(t) => format!("not measured: offline was skipped after its initial sync timed out (> {} s)", fmt_s(Some(t))),
                    None => "offline not run".into(),
                },
            ),
            (_, _, None, _) => (fmt_secs(o), "—".into(), format!("{refname} not run")),
        };
        let _ = writeln!(s, "| {name} | {o_text} | {} ({refname}) | {ratio_text} | {v} |", fmt_secs(r));
    }
    // memory: the largest median peak RSS over offline's cases
    let mem = ["initial", "nochange", "modify"]
        .iter()
        .filter_map(|c| off(c).and_then(|s| s.rss_mib).map(|m| (m, *c)))
        .fold(None, |acc: Option<(f64, &str)>, x| match acc {
            Some(a) if a.0 >= x.0 => Some(a),
            _ => Some(x),
        });
    match mem {
        Some((m, c)) => {
            let _ = writeln!(
                s,
                "| peak memory ≤ {MEMORY_LIMIT_MIB:.0} MiB | {m:.1} MiB ({c}) | {MEMORY_LIMIT_MIB:.0} MiB | {} | {} |",
                fmt_ratio(m / MEMORY_LIMIT_MIB),
                verdict(m, MEMORY_LIMIT_MIB)
            );
        }
        None => {
            let _ = writeln!(s, "| peak memory ≤ {MEMORY_LIMIT_MIB:.0} MiB | — | | | offline not run |");
        }
    }
    s
}

/// Memory growth of offline between file counts (the issue asks for no faster than the count).
fn scaling(files: &[ResultFile]) -> String {
    let mut pts: Vec<(u64, f64)> = files
        .iter()
        .filter_map(|f| {
            ["initial", "nochange", "modify"]
                .iter()
                .filter_map(|c| f.stat("offline", c).and_then(|s| s.rss_mib))
                .reduce(f64::max)
                .map(|m| (f.n, m))
        })
        .collect();
    pts.sort_by_key(|p| p.0);
    if pts.len() < 2 {
        return String::new();
    }
    let mut s = String::from("Peak memory of offline against file count (largest case):\n\n| files | peak RSS MiB | growth vs previous | files growth |\n|---:|---:|---:|---:|\n");
    for (i, (n, m)) in pts.iter().enumerate() {
        if i == 0 {
            let _ = writeln!(s, "| {n} | {m:.1} | | |");
        } else {
            let (pn, pm) = pts[i - 1];
            let _ = writeln!(s, "| {n} | {m:.1} | {} | {} |", fmt_ratio(m / pm), fmt_ratio(*n as f64 / pn as f64));
        }
    }
    s.push('\n');
    s
}

// ------------------------------------------------------------------------------- plot --

fn tool_color(tool: &str, case: &str) -> RGBColor {
    match (tool, case) {
        ("offline", _) => RGBColor(214, 39, 40),
        ("unison", _) => RGBColor(31, 119, 180),
        ("rclone", _) => RGBColor(44, 160, 44),
        ("rsync", _) => RGBColor(148, 103, 189),
        ("stat", "find-A") => RGBColor(160, 160, 160),
        ("stat", _) => RGBColor(40, 40, 40),
        _ => RGBColor(255, 127, 14),
    }
}

struct Series {
    name: String,
    color: RGBColor,
    points: Vec<(f64, f64)>,
    /// runs that timed out: at least this long (drawn hollow)
    lower: Vec<(f64, f64)>,
}

fn collect_series(files: &[ResultFile], want: &dyn Fn(&str, &str) -> bool, value: &dyn Fn(&Stat) -> Option<f64>) -> Vec<Series> {
    type Pts = (Vec<(f64, f64)>, Vec<(f64, f64)>);
    let mut by: BTreeMap<(usize, usize, String, String), Pts> = BTreeMap::new();
    for f in files {
        for ((t, c), st) in f.stats() {
            if !want(&t, &c) {
                continue;
            }
            let e = by.entry((tool_rank(&t), case_rank(&c), t.clone(), c.clone())).or_default();
            if let Some(v) = value(&st) {
                e.0.push((f.n as f64, v.max(TIME_FLOOR)));
            } else if let Some(t) = st.timed_out_after {
                e.1.push((f.n as f64, t));
            }
        }
    }
    by.into_iter()
        .filter(|(_, (p, l))| !p.is_empty() || !l.is_empty())
        .map(|((_, _, t, c), (mut pts, lower))| {
            pts.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
            Series { name: label(&t, &c), color: tool_color(&t, &c), points: pts, lower }
        })
        .collect()
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    y_desc: &str,
    series: &[Series],
    x: (f64, f64),
    y: (f64, f64),
    limit: Option<(f64, &str)>,
) -> Res<()>
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((x.0..x.1).log_scale(), (y.0..y.1).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("files")
        .y_desc(y_desc)
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&|v| {
            // label 1, 2 and 5 times a power of ten only (log-scale key points crowd otherwise)
            let lead = *v / 10f64.powf(v.log10().floor());
            if ![1.0, 2.0, 5.0].iter().any(|l| (lead - l).abs() < 1e-6) {
                String::new()
            } else if *v >= 1e6 {
                format!("{}M", v / 1e6)
            } else if *v >= 1e3 {
                format!("{}k", v / 1e3)
            } else {
                format!("{v}")
            }
        })
        .y_label_formatter(&|v| {
            let lead = *v / 10f64.powf(v.log10().floor());
            if ![1.0, 2.0, 5.0].iter().any(|l| (lead - l).abs() < 1e-6) {
                String::new()
            } else if *v < 1.0 {
                format!("{v}")
            } else {
                format!("{v:.0}")
            }
        })
        .draw()?;
    if let Some((lim, name)) = limit {
        let c = RGBColor(214, 39, 40);
        chart
            .draw_series(LineSeries::new(vec![(x.0, lim), (x.1, lim)], c.mix(0.5).stroke_width(1)))?
            .label(name.to_string())
            .legend(move |(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], c.mix(0.5)));
    }
    for s in series {
        let c = s.color;
        chart
            .draw_series(LineSeries::new(s.points.clone(), c.stroke_width(2)))?
            .label(s.name.clone())
            .legend(move |(a, b)| PathElement::new(vec![(a, b), (a + 20, b)], c.stroke_width(2)));
        chart.draw_series(s.points.iter().map(|p| Circle::new(*p, 4, c.filled())))?;
        chart.draw_series(s.lower.iter().map(|p| Circle::new(*p, 6, c.stroke_width(2))))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .label_font(("sans-serif", 13))
        .draw()?;
    Ok(())
}

fn plot(files: &[ResultFile], out: &Path) -> Res<()> {
    let cases: [(&str, &str); 3] = [
        ("initial", "initial sync (empty cache / target)"),
        ("nochange", "no-change sync"),
        ("modify", "1% of files changed on each side"),
    ];
    let time_series: Vec<Vec<Series>> = cases
        .iter()
        .map(|(case, _)| {
            let case = *case;
            collect_series(
                files,
                &move |t, c| {
                    if t == "stat" {
                        case == "nochange" && c == "find-A+B"
                    } else {
                        c == case
                    }
                },
                &|st| st.median,
            )
        })
        .collect();
    // memory: median peak RSS of the largest case per tool and count
    let mut mem_series: Vec<Series> = vec![];
    for tool in ["offline", "unison", "rclone", "rsync"] {
        let mut pts: Vec<(f64, f64)> = files
            .iter()
            .filter_map(|f| {
                f.stats()
                    .into_iter()
                    .filter(|((t, _), _)| t == tool)
                    .filter_map(|(_, s)| s.rss_mib)
                    .reduce(f64::max)
                    .map(|m| (f.n as f64, m))
            })
            .collect();
        if pts.is_empty() {
            continue;
        }
        pts.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        mem_series.push(Series { name: tool.to_string(), color: tool_color(tool, ""), points: pts, lower: vec![] });
    }

    let ns: Vec<f64> = files.iter().map(|f| f.n as f64).collect();
    let (nmin, nmax) = ns.iter().fold((f64::MAX, 0.0f64), |(a, b), &n| (a.min(n), b.max(n)));
    let x = (nmin / 2.0, nmax * 2.0);
    let bounds = |ss: &[Series]| {
        ss.iter().flat_map(|s| s.points.iter().chain(s.lower.iter()).map(|p| p.1)).fold((f64::MAX, 0.0f64), |(a, b), v| (a.min(v), b.max(v)))
    };
    let (mut tmin, mut tmax) = time_series.iter().map(|s| bounds(s)).fold((f64::MAX, 0.0f64), |(a, b), (c, d)| (a.min(c), b.max(d)));
    if tmax <= 0.0 {
        tmin = TIME_FLOOR;
        tmax = 1.0;
    }
    let ty = ((tmin / 5.0).max(TIME_FLOOR / 2.0), tmax * 3.0);
    let (mmin, mmax) = bounds(&mem_series);
    let my = if mmax > 0.0 {
        ((mmin.min(MEMORY_LIMIT_MIB) / 8.0).max(0.5), mmax.max(MEMORY_LIMIT_MIB) * 1.6)
    } else {
        (1.0, 100.0)
    };

    let root = SVGBackend::new(out, (1400, 1000)).into_drawing_area();
    root.fill(&WHITE)?;
    let dates: Vec<&str> = files.iter().map(|f| f.date.get(..10).unwrap_or(&f.date)).collect();
    let mut dates = dates;
    dates.sort();
    dates.dedup();
    let title = format!(
        "offline-files vs peers: median wall time and peak memory against file count (log-log; {}; hollow = timed out)",
        dates.join(", ")
    );
    let root = root.titled(&title, ("sans-serif", 20))?;
    let panels = root.split_evenly((2, 2));
    for (i, (_, title)) in cases.iter().enumerate() {
        draw_panel(&panels[i], title, "wall time, s", &time_series[i], x, ty, None)?;
    }
    draw_panel(&panels[3], "peak memory (largest case)", "peak RSS, MiB", &mem_series, x, my, Some((MEMORY_LIMIT_MIB, "target 40 MiB")))?;
    root.present()?;
    Ok(())
}

// -------------------------------------------------------------------------------- main --

fn latest_per_n(files: Vec<ResultFile>) -> Vec<ResultFile> {
    let mut by: BTreeMap<u64, ResultFile> = BTreeMap::new();
    for f in files {
        match by.get(&f.n) {
            Some(old) if (old.date.as_str(), old.path.as_path()) >= (f.date.as_str(), f.path.as_path()) => {}
            _ => {
                by.insert(f.n, f);
            }
        }
    }
    by.into_values().collect()
}

fn main() -> Res<()> {
    let mut svg: Option<PathBuf> = None;
    let mut goals_svg: Option<PathBuf> = None;
    let mut plot_dir: Option<PathBuf> = None;
    let mut inputs: Vec<PathBuf> = vec![];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--svg" => svg = Some(args.next().ok_or("--svg needs a path")?.into()),
            "--goals-svg" => goals_svg = Some(args.next().ok_or("--goals-svg needs a path")?.into()),
            "--plot-dir" => plot_dir = Some(args.next().ok_or("--plot-dir needs a folder")?.into()),
            "-h" | "--help" => {
                println!("usage: offline-bench-report [--svg OUT.svg] [--goals-svg OUT.svg] [--plot-dir DIR] FILE.tsv...");
                return Ok(());
            }
            _ => inputs.push(a.into()),
        }
    }
    if inputs.is_empty() {
        if let Some(d) = &plot_dir {
            inputs = tsvs_in(d)?;
        }
    }
    if let Some(out) = &goals_svg {
        let mut goal_files: Vec<PathBuf> = inputs.iter().filter(|p| goals::goal_kind(p).is_some()).cloned().collect();
        if let Some(d) = &plot_dir {
            goal_files.extend(tsvs_in(d)?.into_iter().filter(|p| goals::goal_kind(p).is_some()));
        }
        if goals::plot(&goal_files, out)? {
            eprintln!("goals plot: {}", out.display());
        }
    }
    // The service and network benches' files have rows of their own kind (goals.rs).
    inputs.retain(|p| goals::goal_kind(p).is_none());
    if inputs.is_empty() {
        if goals_svg.is_some() {
            return Ok(());
        }
        return Err("no result files given".into());
    }
    let tables = latest_per_n(inputs.iter().map(|p| parse_file(p)).collect::<Res<Vec<_>>>()?);
    for f in &tables {
        println!("{}", table(f));
    }

    let mut plotted = tables.clone();
    if let Some(d) = &plot_dir {
        let others = latest_per_n(
            tsvs_in(d)?
                .iter()
                .filter(|p| goals::goal_kind(p).is_none())
                .filter_map(|p| parse_file(p).ok())
                .collect(),
        );
        for o in others {
            if !plotted.iter().any(|f| f.n == o.n) {
                plotted.push(o);
            }
        }
        plotted.sort_by_key(|f| f.n);
    }
    let sc = scaling(&plotted);
    if !sc.is_empty() {
        println!("{sc}");
    }
    if let Some(out) = svg {
        plot(&plotted, &out)?;
        let ns: Vec<String> = plotted.iter().map(|f| f.n.to_string()).collect();
        eprintln!("plot: {} (file counts {})", out.display(), ns.join(", "));
    }
    Ok(())
}

fn tsvs_in(d: &Path) -> Res<Vec<PathBuf>> {
    let mut v = vec![];
    for e in std::fs::read_dir(d).map_err(|e| format!("{}: {e}", d.display()))? {
        let p = e?.path();
        if p.extension().and_then(|x| x.to_str()) == Some("tsv") {
            v.push(p);
        }
    }
    v.sort();
    Ok(v)
}
