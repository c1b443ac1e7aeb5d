//! The Sync Center without a browser (issue 15): who may use the page (401 without
//! the token, a foreign Host refused, an action without the page's Origin refused,
//! no CORS), what another user can read of the token, escaping of names taken from
//! the share, `offline ui` and `--open`, and the man page and shell completions.

mod service_support;
mod ui_support;

use service_support::{bin, run_bounded, wait_until, Fx};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;
use std::time::Duration;
use ui_support::{get, request, Page};

/// The user another person would be (the permission tests' nobody).
const NOBODY: u32 = 65534;

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

#[test]
fn without_the_token_every_request_gets_401_and_the_token_logs_in_once() {
    let fx = Fx::synced(&[("a.txt", "one")]);
    let daemon = fx.daemon();
    let page = Page::of(&fx);
    let host = page.addr.clone();
    for path in [
        "/",
        "/events",
        "/tree?cache=0",
        "/static/app.js",
        "/nothing",
    ] {
        let a = request(&page.addr, "GET", path, &[("Host", &host)], "");
        assert_eq!(a.status, 401, "GET {path} without the token: {a:?}");
        assert!(!a.body.contains("data-cache"), "nothing of the page shows");
    }
    let wrong = format!("offline_ui_{}={}", page.port(), "0".repeat(64));
    let a = request(
        &page.addr,
        "GET",
        "/",
        &[("Host", &host), ("Cookie", &wrong)],
        "",
    );
    assert_eq!(a.status, 401, "a wrong cookie");
    let a = request(&page.addr, "GET", "/?token=abc", &[("Host", &host)], "");
    assert_eq!(a.status, 401, "a wrong token in the URL");
    // The login URL sets an HttpOnly SameSite=Strict cookie and drops the token from
    // the address.
    let a = request(
        &page.addr,
        "GET",
        &format!("/?token={}", page.token),
        &[("Host", &host)],
        "",
    );
    assert_eq!(a.status, 303, "{a:?}");
    assert_eq!(a.header("Location"), Some("/"));
    let cookie = a.header("Set-Cookie").expect("a cookie");
    assert!(cookie.starts_with(&page.cookie()), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    let a = get(&page, "/");
    assert_eq!(a.status, 200, "{a:?}");
    assert!(
        a.body.contains(&format!(
            "data-cache=\"{}\"",
            fx.cache.canonicalize().unwrap().display()
        )),
        "{}",
        a.body
    );
    assert!(a
        .header("Content-Security-Policy")
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(a.header("X-Frame-Options"), Some("DENY"));
    daemon.stop();
}

#[test]
fn a_foreign_host_is_refused_even_with_the_token() {
    let fx = Fx::synced(&[("a.txt", "one")]);
    let daemon = fx.daemon();
    let page = Page::of(&fx);
    let cookie = page.cookie();
    let port = page.port();
    // What a DNS-rebinding page would send: its own name, the right port.
    for host in [
        format!("evil.example:{port}"),
        format!("127.0.0.1.evil.example:{port}"),
        "localhost".to_string(),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
    ] {
        let a = request(
            &page.addr,
            "GET",
            "/",
            &[("Host", &host), ("Cookie", &cookie)],
            "",
        );
        assert_eq!(a.status, 403, "Host {host}: {a:?}");
        assert!(!a.body.contains("data-cache"));
        let a = request(
            &page.addr,
            "GET",
            &format!("/?token={}", page.token),
            &[("Host", &host)],
            "",
        );
        assert_eq!(a.status, 403, "login through Host {host}");
        assert!(a.header("Set-Cookie").is_none(), "no cookie for {host}");
    }
    let a = request(&page.addr, "GET", "/", &[("Cookie", &cookie)], "");
    assert_eq!(a.status, 403, "no Host at all");
    for host in [
        page.addr.clone(),
        format!("localhost:{port}"),
        format!("LOCALHOST:{port}"),
    ] {
        let a = request(
            &page.addr,
            "GET",
            "/",
            &[("Host", &host), ("Cookie", &cookie)],
            "",
        );
        assert_eq!(a.status, 200, "Host {host}");
    }
    daemon.stop();
}

#[test]
fn an_action_without_the_pages_origin_is_refused_and_changes_nothing() {
    let fx = Fx::synced(&[("a.txt", "one")]);
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    let page = Page::of(&fx);
    let cookie = page.cookie();
    let host = page.addr.clone();
    let body = "cache=0&back=%2F";
    let own = format!("http://{}", page.addr);
    let attempts: Vec<Vec<(&str, &str)>> = vec![
        vec![("Host", &host), ("Cookie", &cookie)],
        vec![
            ("Host", &host),
            ("Cookie", &cookie),
            ("Origin", "http://evil.example"),
        ],
        vec![("Host", &host), ("Cookie", &cookie), ("Origin", "null")],
        vec![
            ("Host", &host),
            ("Cookie", &cookie),
            ("Origin", "https://127.0.0.1"),
        ],
    ];
    for headers in &attempts {
        let a = request(&page.addr, "POST", "/action/disconnect", headers, body);
        assert_eq!(a.status, 403, "{headers:?}: {a:?}");
        assert!(a.header("Access-Control-Allow-Origin").is_none());
    }
    // A GET never acts.
    let a = get(&page, "/action/disconnect?cache=0");
    assert_ne!(a.status, 303);
    // The token in the URL of an action does not stand in for the cookie + Origin.
    let a = request(
        &page.addr,
        "POST",
        &format!("/action/disconnect?token={}", page.token),
        &[("Host", &host), ("Origin", &own)],
        body,
    );
    assert_eq!(a.status, 403, "{a:?}");
    // No CORS: a preflight is not answered with permissions.
    let a = request(
        &page.addr,
        "OPTIONS",
        "/action/disconnect",
        &[
            ("Host", &host),
            ("Origin", "http://evil.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
        "",
    );
    assert!(a.status >= 400, "{a:?}");
    assert!(a.header("Access-Control-Allow-Origin").is_none(), "{a:?}");
    std::thread::sleep(Duration::from_millis(500));
    let status = fx.status();
    assert_eq!(
        status["connect_state"], "online",
        "nothing changed: {status}"
    );
    // The page's own Origin works.
    let a = request(
        &page.addr,
        "POST",
        "/action/disconnect",
        &[("Host", &host), ("Cookie", &cookie), ("Origin", &own)],
        body,
    );
    assert_eq!(a.status, 303, "{a:?}");
    assert!(a.header("Location").unwrap().starts_with("/?flash="));
    let status = fx.status();
    assert_eq!(status["connect_state"], "offline", "{status}");
    assert_eq!(status["offline_reason"], "connection_forced");
    daemon.stop();
}

#[test]
fn another_user_cannot_read_the_token_file() {
    let fx = Fx::synced(&[("a.txt", "one")]);
    // Let another user walk down to the configuration folder, so only the modes the
    // daemon set protect the token.
    fs::set_permissions(fx.dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let daemon = fx.daemon();
    let page = Page::of(&fx);
    let token_file = fx.dir.path().join(".config/offline-files/ui-token");
    let folder = token_file.parent().unwrap();
    assert_eq!(fs::read_to_string(&token_file).unwrap().trim(), page.token);
    assert_eq!(page.token.len(), 64, "32 random bytes as hex");
    let meta = fs::metadata(&token_file).unwrap();
    assert_eq!(
        meta.mode() & 0o777,
        0o600,
        "the token file is the user's to read only"
    );
    assert_eq!(meta.uid(), euid());
    assert_eq!(fs::metadata(folder).unwrap().mode() & 0o777, 0o700);
    fs::set_permissions(
        fx.dir.path().join(".config"),
        fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    if euid() != 0 {
        eprintln!("not root: cannot switch to uid {NOBODY}; the modes above were checked");
        daemon.stop();
        return;
    }
    let read_as_nobody = |path: &std::path::Path| {
        let mut cmd = Command::new("cat");
        cmd.arg(path);
        // SAFETY: setgid/setuid in the child before exec; no allocation.
        unsafe {
            use std::os::unix::process::CommandExt;
            cmd.pre_exec(|| {
                if libc::setgid(NOBODY) != 0 || libc::setuid(NOBODY) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        run_bounded(cmd, Duration::from_secs(10))
    };
    let out = read_as_nobody(&token_file);
    assert!(!out.status.success(), "uid {NOBODY} read the token");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&page.token));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Permission denied"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Even with the folder opened up, the file's own mode keeps the token.
    fs::set_permissions(folder, fs::Permissions::from_mode(0o755)).unwrap();
    let out = read_as_nobody(&token_file);
    assert!(
        !out.status.success(),
        "uid {NOBODY} read the token through an open folder"
    );
    // Control: the same user can read a file with an ordinary mode there.
    let control = folder.join("readable");
    fs::write(&control, "x").unwrap();
    fs::set_permissions(&control, fs::Permissions::from_mode(0o644)).unwrap();
    assert!(
        read_as_nobody(&control).status.success(),
        "the control is readable"
    );
    daemon.stop();
}

#[test]
fn names_from_the_share_are_escaped_in_the_page() {
    let nasty = "<script>alert(1)</script>&\"x'.txt";
    let fx = Fx::synced(&[(nasty, "one")]);
    fs::write(fx.share.join(nasty), "share side").unwrap();
    fs::write(fx.cache.join(nasty), "cache side, longer").unwrap();
    let out = fx.run_raw(&["sync"]);
    assert_eq!(out.status.code(), Some(1), "a conflict");
    let daemon = fx.daemon();
    let page = Page::of(&fx);
    let a = get(&page, "/");
    assert_eq!(a.status, 200);
    assert!(!a.body.contains("<script>alert"), "{}", a.body);
    assert!(
        a.body
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;x'.txt"),
        "{}",
        a.body
    );
    let a = get(&page, "/tree?cache=0");
    assert_eq!(a.status, 200);
    assert!(!a.body.contains("<script>alert"));
    assert!(a.body.contains("&lt;script&gt;"));
    let path: String = form_encode(nasty);
    let a = get(&page, &format!("/conflict?cache=0&path={path}"));
    assert_eq!(a.status, 200, "{a:?}");
    assert!(!a.body.contains("<script>alert"));
    // The diff of the two small texts is shown, escaped too.
    assert!(a.body.contains("+ cache side, longer"), "{}", a.body);
    assert!(a.body.contains("share side"));
    daemon.stop();
}

fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn offline_ui_prints_the_login_address_and_open_hands_it_to_xdg_open() {
    let fx = Fx::synced(&[("a.txt", "one")]);
    let out = fx.run_raw(&["ui"]);
    assert_eq!(out.status.code(), Some(2), "no daemon yet");
    assert!(String::from_utf8_lossy(&out.stderr).contains("offline daemon"));
    let daemon = fx.daemon();
    let page = Page::of(&fx);
    assert!(page.addr.starts_with("127.0.0.1:"), "{page:?}");
    assert_eq!(
        fx.status()["daemon"]["running"],
        true,
        "daemon.json has the page's address"
    );
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(fx.cache.join(".offline/daemon.json")).unwrap())
            .unwrap();
    assert_eq!(json["ui"], format!("http://{}/", page.addr));
    // --open: xdg-open gets the same URL (a stand-in on PATH records it).
    let tools = fx.dir.path().join("tools");
    fs::create_dir_all(&tools).unwrap();
    let record = fx.dir.path().join("opened");
    let script = tools.join("xdg-open");
    fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", record.display()),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = Command::new(bin());
    cmd.env("OFFLINE_EVENTS_SOCKET", &fx.socket)
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", fx.dir.path())
        .env(
            "PATH",
            format!("{}:{}", tools.display(), std::env::var("PATH").unwrap()),
        )
        .arg("-C")
        .arg(&fx.cache)
        .args(["ui", "--open"]);
    let out = run_bounded(cmd, Duration::from_secs(30));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), page.login_url);
    assert_eq!(fs::read_to_string(&record).unwrap(), page.login_url);
    // The printed address works.
    let a = request(
        &page.addr,
        "GET",
        &format!("/?token={}", page.token),
        &[("Host", &page.addr)],
        "",
    );
    assert_eq!(a.status, 303);
    daemon.stop();
}

#[test]
fn the_daemon_serves_the_page_on_loopback_only_and_not_with_no_ui() {
    let fx = Fx::synced(&[("a.txt", "one")]);
    let mut cmd = Command::new(bin());
    cmd.env("OFFLINE_EVENTS_SOCKET", fx.dir.path().join("other.sock"))
        .env("HOME", fx.dir.path())
        .args(["daemon", "--ui", "0.0.0.0:0"])
        .arg(&fx.cache);
    let out = run_bounded(cmd, Duration::from_secs(30));
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
    // --no-ui: no address in daemon.json, and `offline ui` says there is none.
    let mut cmd = Command::new(bin());
    cmd.env("OFFLINE_EVENTS_SOCKET", &fx.socket)
        .env("HOME", fx.dir.path())
        .args(["daemon", "--no-ui"])
        .arg(&fx.cache)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    wait_until("the daemon runs", Duration::from_secs(20), || {
        fx.status()["daemon"]["running"] == true
    });
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(fx.cache.join(".offline/daemon.json")).unwrap())
            .unwrap();
    assert!(json.get("ui").is_none(), "{json}");
    let out = fx.run_raw(&["ui"]);
    assert_eq!(out.status.code(), Some(2));
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
}

#[test]
fn completions_and_man_pages_come_from_the_command_line_definition() {
    let run = |args: &[&str]| {
        let mut cmd = Command::new(bin());
        cmd.args(args);
        let out = run_bounded(cmd, Duration::from_secs(30));
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let bash = run(&["completions", "bash"]);
    assert!(bash.contains("complete -F"), "bash");
    for sub in ["sync", "resolve", "daemon", "ui", "completions"] {
        assert!(bash.contains(sub), "bash completes {sub}");
    }
    assert!(run(&["completions", "zsh"]).starts_with("#compdef offline"));
    let fish = run(&["completions", "fish"]);
    assert!(fish.contains("complete -c offline"), "fish");
    assert!(fish.contains("keep-local"), "fish knows the policies");
    let man = run(&["man"]);
    assert!(man.contains(".TH offline 1"), "{man}");
    assert!(man.contains("resolve"));
    let dir = tempfile::tempdir().unwrap();
    run(&["man", "--dir", dir.path().to_str().unwrap()]);
    for page in [
        "offline.1",
        "offline-sync.1",
        "offline-ui.1",
        "offline-daemon.1",
    ] {
        let text =
            fs::read_to_string(dir.path().join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}");
    }
    let daemon_page = fs::read_to_string(dir.path().join("offline-daemon.1")).unwrap();
    assert!(
        daemon_page.contains("no\\-ui"),
        "the daemon's page lists --no-ui"
    );
    let out = Command::new(bin())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}
