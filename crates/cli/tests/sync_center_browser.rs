//! The Sync Center in a real browser (issue 15): Debian's Chromium, headless, driven
//! over WebDriver by chromedriver, against a real daemon serving real caches of
//! folder shares. The overview shows two caches and their states; a share taken away
//! shows offline with its reason within one retry, live; a conflict is settled with
//! one click on keep-local and both sides then hold the cache's version; a pin from
//! the tree fills the item; a running sync shows its progress live. A failing test
//! leaves a screenshot in target/tmp/sync-center/.

mod service_support;
mod ui_support;

use service_support::{read, Fx};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use ui_support::{shots_dir, Browser, Page};

/// `[name="value"]` for CSS.
fn attr_is(name: &str, value: &str) -> String {
    format!("[{name}={}]", serde_json::to_string(value).unwrap())
}

fn section_of(cache: &Path) -> String {
    format!(
        "section.cache{}",
        attr_is(
            "data-cache",
            &cache.canonicalize().unwrap().display().to_string()
        )
    )
}

/// Logs the browser in with the address `offline ui` printed, then opens `path`.
fn open(browser: &Browser, page: &Page, path: &str) {
    browser.goto(&page.login_url);
    assert_eq!(
        browser.count("section.cache, main h1"),
        browser.count("section.cache, main h1")
    );
    if path != "/" {
        browser.goto(&page.url(path));
    }
    browser.wait_for("the page is shown", Duration::from_secs(20), |b| {
        b.count("main#main") == 1
    });
}

/// A second share and cache beside `fx`'s, synced once, with the test intervals.
fn second_cache(fx: &Fx, files: &[(&str, &str)]) -> PathBuf {
    let share = fx.dir.path().join("share2");
    let cache = fx.dir.path().join("cache2");
    fs::create_dir_all(&share).unwrap();
    for (p, t) in files {
        fs::write(share.join(p), t).unwrap();
    }
    fx.run_plain(&["init", share.to_str().unwrap(), cache.to_str().unwrap()]);
    let c = cache.to_str().unwrap();
    fx.run_plain(&[
        "-C",
        c,
        "config",
        "--sync-interval",
        "1h",
        "--sync-jitter",
        "0",
        "--retry-interval",
        "1s",
        "--push-delay",
        "300ms",
    ]);
    fx.run_plain(&["-C", c, "sync"]);
    cache
}

#[test]
fn the_overview_shows_two_caches_and_their_states() {
    let fx = Fx::synced(&[("a.txt", "one"), ("plan.md", "# Plan\n\nship it\n")]);
    // The first cache has a conflict waiting, the second is offline on purpose.
    fs::write(fx.share.join("plan.md"), "# Plan\n\nship it on Monday\n").unwrap();
    fs::write(fx.cache.join("plan.md"), "# Plan\n\nship it on Friday\n").unwrap();
    assert_eq!(fx.run_raw(&["sync"]).status.code(), Some(1), "a conflict");
    let cache2 = second_cache(&fx, &[("b.txt", "two")]);
    fx.run_plain(&["-C", cache2.to_str().unwrap(), "disconnect"]);
    let daemon = fx.daemon_for(&[&fx.cache, &cache2]);
    let page = Page::of(&fx);
    let browser = Browser::start("overview");
    open(&browser, &page, "/");
    assert_eq!(browser.count("section.cache[data-cache][data-state]"), 2);
    let first = section_of(&fx.cache);
    let second = section_of(&cache2);
    assert_eq!(
        browser.attr(&first, "data-state").as_deref(),
        Some("online")
    );
    assert_eq!(
        browser.attr(&second, "data-state").as_deref(),
        Some("offline")
    );
    assert_eq!(
        browser.attr(&second, "data-reason").as_deref(),
        Some("connection_forced")
    );
    let text = browser.text(&second).unwrap();
    assert!(text.contains("offline on purpose"), "{text}");
    assert!(text.contains("(connection_forced)"), "{text}");
    let first_text = browser.text(&first).unwrap();
    assert!(
        first_text.contains(&fx.share.canonicalize().unwrap().display().to_string()),
        "the share: {first_text}"
    );
    assert!(first_text.contains("Last good sync"), "{first_text}");
    let summary = browser.text("p.summary").unwrap();
    assert!(
        summary.contains("2 caches") && summary.contains("1 offline"),
        "{summary}"
    );
    assert!(summary.contains("1 conflict needs you"), "{summary}");
    assert_eq!(
        browser.count(&format!("{first} tr[data-path=\"plan.md\"]")),
        1
    );
    assert_eq!(browser.count(&format!("{second} tr[data-path]")), 0);
    // The picture in the README (docs/sync-center.png is a copy).
    browser.resize(1200, 1500);
    browser.screenshot(&shots_dir().join("overview.png"));
    // Back online from the keyboard alone: Enter on the Reconnect button.
    browser.press_enter(&format!("{second} button[data-action=\"reconnect\"]"));
    browser.wait_for("the second cache is online", Duration::from_secs(20), |b| {
        b.attr(&second, "data-state").as_deref() == Some("online")
    });
    let status: serde_json::Value =
        serde_json::from_str(&fx.run_plain(&["-C", cache2.to_str().unwrap(), "status", "--json"]))
            .unwrap();
    assert_eq!(status["connect_state"], "online", "{status}");
    daemon.stop();
}

#[test]
fn a_share_taken_away_shows_offline_with_its_reason_within_one_retry() {
    let fx = Fx::synced(&[("a.txt", "one")]);
    let retry = Duration::from_secs(2);
    fx.config(&["--retry-interval", "2s"]);
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    let page = Page::of(&fx);
    let browser = Browser::start("share-taken-away");
    open(&browser, &page, "/");
    let section = section_of(&fx.cache);
    assert_eq!(
        browser.attr(&section, "data-state").as_deref(),
        Some("online")
    );
    // A mark on this very page: it is still there if the page updated itself.
    browser.js("window.stillThisPage = 42; return null;");
    let gone = fx.dir.path().join("share-unmounted");
    let taken = Instant::now();
    fs::rename(&fx.share, &gone).unwrap();
    // One retry interval for the daemon to look, a few seconds for the page.
    browser.wait_for(
        "the page shows the share offline",
        retry + Duration::from_secs(6),
        |b| {
            b.attr(&section, "data-state").as_deref() == Some("offline")
                && b.attr(&section, "data-reason").as_deref() == Some("connection_error")
        },
    );
    eprintln!(
        "offline on the page {:?} after the share went away",
        taken.elapsed()
    );
    assert_eq!(
        browser.js("return window.stillThisPage || null;"),
        serde_json::json!(42),
        "updated live, not reloaded"
    );
    let state = browser.text(&format!("{section} [data-connect]")).unwrap();
    assert!(state.contains("cannot be reached"), "{state}");
    assert!(state.contains("connection_error"), "{state}");
    assert!(browser
        .text("nav.attention")
        .unwrap()
        .contains("is offline"));
    // It comes back: online again by itself.
    fs::rename(&gone, &fx.share).unwrap();
    browser.wait_for(
        "the page shows the share online again",
        retry + Duration::from_secs(10),
        |b| b.attr(&section, "data-state").as_deref() == Some("online"),
    );
    daemon.stop();
}

/// Every file under `dir` whose text is `text`.
fn files_holding(dir: &Path, text: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_holding(&p, text));
        } else if read(&p).as_deref() == Some(text) {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_conflict_is_settled_with_one_click_on_keep_local() {
    let fx = Fx::synced(&[("notes.txt", "the base\n"), ("todo.txt", "milk\n")]);
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    let page = Page::of(&fx);
    let browser = Browser::start("conflict-keep-local");
    open(&browser, &page, "/");
    // Both sides change the same file: the daemon's push finds the conflict.
    fs::write(fx.share.join("notes.txt"), "the share's words\n").unwrap();
    fs::write(fx.cache.join("notes.txt"), "the cache's words, kept\n").unwrap();
    let row = format!("tr{}", attr_is("data-path", "notes.txt"));
    browser.wait_for(
        "the conflict shows on the page",
        Duration::from_secs(20),
        |b| b.count(&row) == 1,
    );
    assert_eq!(browser.count(&format!("{row} button[data-keep]")), 4);
    for keep in ["local", "remote", "latest", "all"] {
        assert_eq!(
            browser.count(&format!("{row} button{}", attr_is("data-keep", keep))),
            1,
            "{keep}"
        );
    }
    assert!(browser.text("nav.attention").unwrap().contains("notes.txt"));
    browser.screenshot(&shots_dir().join("conflict.png"));
    browser.click(&format!("{row} button[data-keep=\"local\"]"));
    browser.wait_for(
        "the conflict is gone from the page",
        Duration::from_secs(30),
        |b| b.count(&row) == 0,
    );
    let flash = browser.text("[data-flash]").unwrap_or_default();
    assert!(flash.contains("Settled notes.txt"), "{flash}");
    assert_eq!(
        read(&fx.cache.join("notes.txt")).as_deref(),
        Some("the cache's words, kept\n")
    );
    assert_eq!(
        read(&fx.share.join("notes.txt")).as_deref(),
        Some("the cache's words, kept\n")
    );
    let (_, lines) = fx.json(&["conflicts", "--json"]);
    assert!(lines.is_empty(), "no conflict left: {lines:?}");
    // The share's version is kept where the person can find it.
    let kept = files_holding(&fx.cache.join(".offline/conflicts"), "the share's words\n");
    assert_eq!(kept.len(), 1, "the losing copy is kept: {kept:?}");
    assert_eq!(read(&fx.share.join("todo.txt")).as_deref(), Some("milk\n"));
    daemon.stop();
}

#[test]
fn a_pin_from_the_tree_fills_the_item() {
    let fx = Fx::new();
    fx.write_share("docs/report.txt", "the quarterly report\n");
    fx.write_share("docs/other.txt", "not wanted offline\n");
    fx.init(&["--no-pin"]);
    fx.run_ok(&["sync"]);
    assert!(!fx.cache.join("docs/report.txt").exists(), "a ghost before");
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    let page = Page::of(&fx);
    let browser = Browser::start("pin-from-tree");
    open(&browser, &page, "/");
    browser.click(&format!("{} a[href^=\"/tree\"]", section_of(&fx.cache)));
    browser.wait_for("the tree", Duration::from_secs(20), |b| {
        b.count("table.items") == 1
    });
    browser.click(&format!("tr{} a.dir", attr_is("data-path", "docs")));
    let row = format!("tr{}", attr_is("data-path", "docs/report.txt"));
    browser.wait_for("the folder's items", Duration::from_secs(20), |b| {
        b.count(&row) == 1
    });
    let flags = browser.attr(&row, "data-flags").unwrap();
    assert!(flags.split(' ').any(|f| f == "ghost"), "{flags}");
    browser.click(&format!("{row} button[data-action=\"pin\"]"));
    browser.wait_for(
        "the item is pinned and filled",
        Duration::from_secs(30),
        |b| {
            b.attr(&row, "data-flags").is_some_and(|f| {
                f.split(' ').any(|w| w == "pinned") && !f.split(' ').any(|w| w == "ghost")
            })
        },
    );
    assert_eq!(
        read(&fx.cache.join("docs/report.txt")).as_deref(),
        Some("the quarterly report\n")
    );
    assert!(
        !fx.cache.join("docs/other.txt").exists(),
        "only the pinned item is filled"
    );
    let other = format!("tr{}", attr_is("data-path", "docs/other.txt"));
    assert!(browser
        .attr(&other, "data-flags")
        .unwrap()
        .contains("ghost"));
    let (_, items) = fx.json(&["ls", "docs", "--json"]);
    let report = items
        .iter()
        .find(|i| i["path"] == "docs/report.txt")
        .expect("listed");
    assert_eq!(report["pinned"], true);
    assert_eq!(report["ghost"], false);
    daemon.stop();
}

#[test]
fn a_running_sync_shows_its_progress_live() {
    let fx = Fx::synced(&[("seed.txt", "x")]);
    // Each item of a sync takes a while, so the test can watch it move.
    let daemon = fx.daemon_with_env(&[("OFFLINE_DAEMON_ITEM_DELAY_MS", "150")]);
    fx.wait_daemon_idle();
    let page = Page::of(&fx);
    let browser = Browser::start("sync-progress");
    open(&browser, &page, "/");
    let files = 60;
    for i in 0..files {
        fx.write_share(&format!("batch/file-{i:02}.txt"), &"data ".repeat(400));
    }
    let section = section_of(&fx.cache);
    let progress = format!("{section} [data-progress]");
    browser.click(&format!("{section} button[data-action=\"sync\"]"));
    browser.wait_for("the progress shows", Duration::from_secs(30), |b| {
        b.attr(&progress, "data-running").as_deref() == Some("true")
            && b.attr(&progress, "data-total")
                .is_some_and(|t| !t.is_empty())
    });
    browser.js("window.stillThisPage = 7; return null;");
    let mut seen = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        let running = browser.attr(&progress, "data-running");
        if running.as_deref() != Some("true") {
            break;
        }
        let done: u64 = browser
            .attr(&progress, "data-done")
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
        let total: u64 = browser
            .attr(&progress, "data-total")
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
        let text = browser
            .text(&format!("{progress} .progress-text"))
            .unwrap_or_default();
        seen.push((done, total, text));
        std::thread::sleep(Duration::from_millis(150));
    }
    let moving: Vec<&(u64, u64, String)> =
        seen.iter().filter(|(d, t, _)| *d > 0 && d < t).collect();
    assert!(
        moving.len() >= 2,
        "the progress moved on the page: {seen:?}"
    );
    let distinct: std::collections::BTreeSet<u64> = moving.iter().map(|(d, _, _)| *d).collect();
    assert!(
        distinct.len() >= 2,
        "live updates, several values: {seen:?}"
    );
    let (done, total, text) = moving[moving.len() / 2];
    assert!(*total >= files, "{total}");
    assert!(text.contains(&format!("{done} of {total} items")), "{text}");
    assert_eq!(
        browser.js("return window.stillThisPage || null;"),
        serde_json::json!(7),
        "no reload"
    );
    browser.wait_for("the sync ends on the page", Duration::from_secs(60), |b| {
        b.attr(&progress, "data-running").as_deref() == Some("false")
    });
    for i in 0..files {
        assert!(
            fx.cache.join(format!("batch/file-{i:02}.txt")).is_file(),
            "file {i} arrived"
        );
    }
    browser.wait_for("the result is listed", Duration::from_secs(20), |b| {
        b.text(&format!("{section} details.recent"))
            .is_some_and(|t| t.contains("Synced") || t.contains("Sync ok"))
    });
    daemon.stop();
}
