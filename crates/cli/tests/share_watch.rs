//! The daemon learns of changes made on the share by other clients within seconds
//! (not at the next scheduled sync, set to an hour here): announced by an SMB
//! server (`CHANGE_NOTIFY`), seen by inotify on a local folder share, found by the
//! poll at `share_poll_interval` on a WebDAV share.

mod servers;
mod service_support;

use servers::{Backend, Server};
use service_support::{wait_until, Fx};
use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How soon a change on the share must be in the cache.
const WITHIN: Duration = Duration::from_secs(5);

#[test]
fn a_file_written_on_a_local_folder_share_reaches_the_cache_through_inotify() {
    let fx = Fx::synced(&[("a.txt", "a\n")]);
    let daemon = fx.daemon();
    fx.wait_daemon_idle();
    let status = fx.status();
    let how = status["daemon"]["share_changes"]
        .as_str()
        .unwrap_or_default();
    assert!(how.contains("inotify"), "{status}");

    fx.write_share("docs/new.txt", "written on the share\n");
    let target = fx.cache.join("docs/new.txt");
    wait_until("the new file is in the cache", WITHIN, || {
        fs::read_to_string(&target).ok().as_deref() == Some("written on the share\n")
    });
    fs::remove_file(fx.share.join("a.txt")).unwrap();
    wait_until("the deletion reached the cache", WITHIN, || {
        !fx.cache.join("a.txt").exists()
    });
    daemon.stop();
}

/// A daemon serving `cache` with the server's credentials; killed when dropped.
struct ServerDaemon(Child);

impl Drop for ServerDaemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        for _ in 0..200 {
            if self.0.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn offline(server: &Server, home: &Path, cache: &Path) -> Command {
    let mut c = server.offline(cache);
    c.env("OFFLINE_EVENTS_SOCKET", home.join("events.sock"))
        .env("HOME", home)
        .env_remove("XDG_CONFIG_HOME");
    c
}

/// Starts `offline daemon` for `cache`, logging at `info` into `log`.
fn start_daemon(server: &Server, home: &Path, cache: &Path, log: &Path) -> ServerDaemon {
    let child = offline(server, home, cache)
        .arg("daemon")
        .arg(cache)
        .env("OFFLINE_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    ServerDaemon(child)
}

fn status(server: &Server, home: &Path, cache: &Path) -> serde_json::Value {
    let out = offline(server, home, cache)
        .args(["status", "--json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_default()
}

#[test]
fn a_file_written_on_an_smb_share_by_smbclient_reaches_the_cache() {
    let server = Server::start(Backend::Smb);
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("cache");
    server.init(&cache);
    let config = offline(&server, home.path(), &cache)
        .args(["config", "--sync-interval", "1h", "--sync-jitter", "0"])
        .args(["--push-delay", "300ms", "--rescan-interval", "1h"])
        .output()
        .unwrap();
    servers::assert_ok(&config, "offline config", &server);
    let log = home.path().join("daemon.log");
    let _daemon = start_daemon(&server, home.path(), &cache, &log);
    wait_until("the daemon is idle", Duration::from_secs(60), || {
        let s = status(&server, home.path(), &cache);
        s["daemon"]["activity"] == "idle" && s["daemon"]["last_sync_ns"].is_i64()
    });
    let s = status(&server, home.path(), &cache);
    let how = s["daemon"]["share_changes"].as_str().unwrap_or_default();
    assert!(how.contains("SMB server"), "{s}");
    wait_until("the share watch is armed", Duration::from_secs(30), || {
        fs::read_to_string(&log).is_ok_and(|l| l.contains("the server announces changes"))
    });
    // Arming asks for one full look; let it pass, so that only the server's
    // announcement can bring what comes next (the scheduled sync is an hour away).
    std::thread::sleep(Duration::from_secs(1));
    wait_until("the daemon is idle again", Duration::from_secs(30), || {
        status(&server, home.path(), &cache)["daemon"]["activity"] == "idle"
    });
    let syncs_before = fs::read_to_string(&log)
        .unwrap_or_default()
        .matches("share_change")
        .count();

    let source = home.path().join("from-smbclient.txt");
    fs::write(&source, "put by smbclient\n").unwrap();
    server.smbclient(&format!(
        "mkdir team/inbox; put {} team/inbox/note.txt",
        source.display()
    ));
    let target = cache.join("inbox/note.txt");
    let waited = std::panic::catch_unwind(|| {
        wait_until("the file is in the cache", WITHIN, || {
            fs::read_to_string(&target).ok().as_deref() == Some("put by smbclient\n")
        })
    });
    assert!(
        waited.is_ok(),
        "not in the cache within {WITHIN:?}; daemon log:\n{}",
        fs::read_to_string(&log).unwrap_or_default()
    );
    // The sync that brought it logs once it has ended.
    wait_until("a sync for the share's change is logged", WITHIN, || {
        fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("share_change")
            .count()
            > syncs_before
    });
}

/// A WebDAV server announces nothing: the daemon looks at the share every
/// `share_poll_interval` (1 s here; the scheduled sync is an hour away), so a file
/// another cache puts on the share is in this cache within seconds, and `status`
/// says the share is polled.
#[test]
fn a_file_another_cache_puts_on_a_webdav_share_arrives_by_the_poll() {
    let server = Server::start(Backend::Webdav);
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("cache");
    server.init(&cache);
    let config = offline(&server, home.path(), &cache)
        .args(["config", "--sync-interval", "1h", "--sync-jitter", "0"])
        .args(["--push-delay", "300ms", "--rescan-interval", "1h"])
        .args(["--share-poll-interval", "1s"])
        .output()
        .unwrap();
    servers::assert_ok(&config, "offline config", &server);
    let log = home.path().join("daemon.log");
    let _daemon = start_daemon(&server, home.path(), &cache, &log);
    wait_until("the daemon is idle", Duration::from_secs(60), || {
        let s = status(&server, home.path(), &cache);
        s["daemon"]["activity"] == "idle" && s["daemon"]["last_sync_ns"].is_i64()
    });
    let s = status(&server, home.path(), &cache);
    let how = s["daemon"]["share_changes"].as_str().unwrap_or_default();
    assert!(how.contains("polled"), "{s}");

    let other = home.path().join("other");
    server.init(&other);
    fs::create_dir_all(other.join("inbox")).unwrap();
    fs::write(other.join("inbox/note.txt"), "from the other cache\n").unwrap();
    let out = server.offline(&other).arg("sync").output().unwrap();
    servers::assert_ok(&out, "offline sync (the other cache)", &server);
    let target = cache.join("inbox/note.txt");
    let waited = std::panic::catch_unwind(|| {
        wait_until("the file is in the cache", WITHIN, || {
            fs::read_to_string(&target).ok().as_deref() == Some("from the other cache\n")
        })
    });
    assert!(
        waited.is_ok(),
        "not in the cache within {WITHIN:?}; daemon log:\n{}",
        fs::read_to_string(&log).unwrap_or_default()
    );
}

/// `HH:MM` local time, `minutes` from now.
fn local_time_in(minutes: i64) -> String {
    let out = Command::new("date")
        .arg("-d")
        .arg(format!("{minutes} minutes"))
        .arg("+%H:%M")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A share behind a link with a 120 ms round trip (over the 80 ms slow-link
/// latency): `status` says the link is slow, background syncs carry small files
/// at once but a large one only when the slow-link window opens.
#[test]
fn on_a_slow_link_large_files_wait_for_the_slow_link_window() {
    let mut server = Server::start(Backend::Webdav);
    servers::through_relay(&mut server, Duration::from_millis(60));
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("cache");
    server.init(&cache);
    let later = format!("{}-{}", local_time_in(120), local_time_in(180));
    let config = offline(&server, home.path(), &cache)
        .args(["config", "--sync-interval", "1h", "--sync-jitter", "0"])
        .args(["--push-delay", "300ms", "--rescan-interval", "1h"])
        .args(["--share-poll-interval", "1h", "--slow-link-latency", "80ms"])
        .args(["--slow-link-window", &later])
        .output()
        .unwrap();
    servers::assert_ok(&config, "offline config", &server);
    let log = home.path().join("daemon.log");
    let _daemon = start_daemon(&server, home.path(), &cache, &log);
    wait_until("the link is found slow", Duration::from_secs(60), || {
        let s = status(&server, home.path(), &cache);
        s["daemon"]["slow_link"] == true && s["daemon"]["activity"] == "idle"
    });
    let s = status(&server, home.path(), &cache);
    assert!(
        s["daemon"]["round_trip_ms"].as_u64().unwrap_or(0) > 80,
        "{s}"
    );

    fs::write(cache.join("small.txt"), "small\n").unwrap();
    fs::write(cache.join("big.bin"), vec![7u8; 2 * 1024 * 1024]).unwrap();
    let on_share = |name: &str| server.path("data/share").join(name);
    wait_until(
        "the small file is on the share",
        Duration::from_secs(20),
        || on_share("small.txt").exists(),
    );
    wait_until("the daemon is idle", Duration::from_secs(20), || {
        status(&server, home.path(), &cache)["daemon"]["activity"] == "idle"
    });
    assert!(!on_share("big.bin").exists(), "the large file waits");

    let now = format!("{}-{}", local_time_in(-1), local_time_in(60));
    let config = offline(&server, home.path(), &cache)
        .args(["config", "--slow-link-window", &now])
        .output()
        .unwrap();
    servers::assert_ok(&config, "offline config", &server);
    let arrived = std::panic::catch_unwind(|| {
        wait_until(
            "the large file is on the share",
            Duration::from_secs(30),
            || fs::metadata(on_share("big.bin")).is_ok_and(|m| m.len() == 2 * 1024 * 1024),
        )
    });
    assert!(
        arrived.is_ok(),
        "daemon log:\n{}",
        fs::read_to_string(&log).unwrap_or_default()
    );
}
