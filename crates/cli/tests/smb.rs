//! What only SMB shares have, against a real Samba `smbd` on loopback (the cases
//! every backend shares are in `backends.rs`): names that differ only by case
//! (Samba, like Windows, ignores case), names Windows refuses, a file another
//! client holds open, modification times kept, SMB 3 encryption required, and the
//! password and domain from the credentials file.

mod servers;

use servers::{run, sync_expect, text, two_caches, write, Backend, Server};
use std::fs;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, UNIX_EPOCH};
use tempfile::TempDir;

/// The share's folder on the server's disk.
fn on_share(server: &Server, path: &str) -> std::path::PathBuf {
    server.path("share/team").join(path)
}

/// The `--json` lines of a sync about `path` with result `error`.
fn errors_about(stdout: &[u8], path: &str) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["path"] == path && v["result"] == "error")
        .collect()
}

/// A name that differs only by case from one on the share is an item error with
/// a clear reason, and the item already on the share is never replaced; the same
/// for a new folder whose name differs by case from one there (nothing lands in
/// the other folder).
#[test]
fn names_that_differ_only_by_case_are_refused_per_item() {
    let server = Server::start(Backend::Smb);
    let (a, b) = two_caches(
        &server,
        &[("Report.txt", "the original\n"), ("Docs/x.txt", "x\n")],
    );
    write(&a.path().join("report.txt"), "lower case, other content\n");
    write(&a.path().join("docs/y.txt"), "y\n");
    write(&a.path().join("fine.txt"), "fine\n");
    let out = sync_expect(&server, a.path(), &["--json"], 1);
    for path in ["report.txt", "docs"] {
        let errors = errors_about(&out.stdout, path);
        assert_eq!(errors.len(), 1, "{path}: {}", text(&out));
        let message = errors[0]["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains("differ only by case"), "{message}");
    }
    assert_eq!(
        fs::read_to_string(on_share(&server, "Report.txt")).unwrap(),
        "the original\n"
    );
    let docs: Vec<String> = fs::read_dir(on_share(&server, "Docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(docs, vec!["x.txt".to_string()], "nothing went into Docs");
    assert_eq!(
        fs::read_to_string(on_share(&server, "fine.txt")).unwrap(),
        "fine\n"
    );
    // The clash stays in the cache, reported again by the next sync.
    assert_eq!(
        fs::read_to_string(a.path().join("report.txt")).unwrap(),
        "lower case, other content\n"
    );
    let again = sync_expect(&server, a.path(), &["--json"], 1);
    assert_eq!(errors_about(&again.stdout, "report.txt").len(), 1);
    sync_expect(&server, b.path(), &[], 0);
    assert!(!b.path().join("report.txt").exists());
    assert_eq!(
        fs::read_to_string(b.path().join("Report.txt")).unwrap(),
        "the original\n"
    );
}

/// A name with a character Windows refuses is an item error naming the
/// character; the other items still travel.
#[test]
fn names_windows_refuses_are_item_errors() {
    let server = Server::start(Backend::Smb);
    let (a, b) = two_caches(&server, &[("start.txt", "start\n")]);
    write(&a.path().join("meeting: notes.txt"), "colon\n");
    write(&a.path().join("ok.txt"), "ok\n");
    let out = sync_expect(&server, a.path(), &["--json"], 1);
    let errors = errors_about(&out.stdout, "meeting: notes.txt");
    assert_eq!(errors.len(), 1, "{}", text(&out));
    let message = errors[0]["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("character `:`"), "{message}");
    sync_expect(&server, b.path(), &[], 0);
    assert_eq!(fs::read_to_string(b.path().join("ok.txt")).unwrap(), "ok\n");
    assert!(!on_share(&server, "meeting").exists(), "no stream, no file");
    assert!(!on_share(&server, "meeting: notes.txt").exists());
}

/// `smbclient` holding a file open (its `open` command denies deletion to others):
/// deleting it is an item error (a sharing violation), retried by the next sync,
/// which succeeds once the file is closed.
#[test]
fn a_file_held_open_by_another_client_is_retried_next_sync() {
    let server = Server::start(Backend::Smb);
    let (a, _b) = two_caches(&server, &[("held.txt", "held\n"), ("other.txt", "o\n")]);
    fs::remove_file(a.path().join("held.txt")).unwrap();
    fs::remove_file(a.path().join("other.txt")).unwrap();
    let holder = hold_open(&server, "team/held.txt");
    let out = sync_expect(&server, a.path(), &["--json"], 1);
    let errors = errors_about(&out.stdout, "held.txt");
    assert_eq!(errors.len(), 1, "{}", text(&out));
    let message = errors[0]["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("sharing violation"), "{message}");
    assert!(on_share(&server, "held.txt").exists(), "still on the share");
    assert!(!on_share(&server, "other.txt").exists(), "the rest went on");
    drop(holder);
    sync_expect(&server, a.path(), &[], 0);
    assert!(!on_share(&server, "held.txt").exists());
}

/// A running `smbclient` with `path` open; closed when dropped.
struct Holder(Child);

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

fn hold_open(server: &Server, path: &str) -> Holder {
    let mut child = Command::new("smbclient")
        .arg("-p")
        .arg(server.port().to_string())
        .arg("//127.0.0.1/share")
        .arg("-U")
        .arg(format!("{}%{}", servers::smb_user(), servers::SMB_PASSWORD))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("smbclient");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "open {path}").unwrap();
    stdin.flush().unwrap();
    child.stdin = Some(stdin);
    // smbclient's own output is buffered in a pipe: ask the server instead.
    let name = path.rsplit('/').next().unwrap_or(path);
    let start = std::time::Instant::now();
    loop {
        let status = Command::new("smbstatus")
            .arg("-s")
            .arg(server.path("smb.conf"))
            .arg("-L")
            .output()
            .expect("smbstatus");
        if String::from_utf8_lossy(&status.stdout).contains(name) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "smbclient did not open {path}: {}",
            text(&status)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Holder(child)
}

/// Modification times travel through the share (to 100 ns, SMB's unit), and a
/// file written on the share by `smbclient` reaches a cache.
#[test]
fn modification_times_are_kept_and_smbclient_files_arrive() {
    let server = Server::start(Backend::Smb);
    let a = TempDir::new().unwrap();
    server.init(a.path());
    let file = a.path().join("dated.txt");
    write(&file, "dated\n");
    let when = UNIX_EPOCH + Duration::new(981_173_106, 123_456_700);
    fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(when)
        .unwrap();
    sync_expect(&server, a.path(), &[], 0);
    let b = TempDir::new().unwrap();
    server.init(b.path());
    sync_expect(&server, b.path(), &[], 0);
    let got = fs::metadata(b.path().join("dated.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(got, when);

    let source = a.path().join(".offline/upload-source.txt");
    fs::write(&source, "from smbclient\n").unwrap();
    server.smbclient(&format!("put {} team/from-smbclient.txt", source.display()));
    sync_expect(&server, b.path(), &[], 0);
    assert_eq!(
        fs::read_to_string(b.path().join("from-smbclient.txt")).unwrap(),
        "from smbclient\n"
    );
}

/// `OFFLINE_SMB_ENCRYPT=1`: works against a server that encrypts; against one with
/// encryption off it is a clear error with exit 3, and nothing is sent.
#[test]
fn encryption_can_be_required() {
    let server = Server::start(Backend::Smb);
    let (a, _b) = two_caches(&server, &[("x.txt", "x\n")]);
    write(&a.path().join("secret.txt"), "s\n");
    let out = server
        .offline(a.path())
        .env("OFFLINE_SMB_ENCRYPT", "1")
        .arg("sync")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let plain = Server::start_smb_without_encryption();
    let c = TempDir::new().unwrap();
    plain.init(c.path());
    write(&c.path().join("secret.txt"), "s\n");
    let out = plain
        .offline(c.path())
        .env("OFFLINE_SMB_ENCRYPT", "1")
        .arg("sync")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("OFFLINE_SMB_ENCRYPT=1"),
        "{}",
        text(&out)
    );
    assert!(!plain.path("share/team/secret.txt").exists());
    // Without the requirement, the same server is used signed only.
    let out = run(&plain, c.path(), &["sync"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(plain.path("share/team/secret.txt").exists());
}

/// The password and the domain from the cache's private `.offline/credentials`
/// (none in the environment): the NTLM logon carries the domain (Samba's logon
/// audit names it; a standalone Samba takes any domain for its own users), and a
/// wrong password there is refused with exit 3 and never printed.
#[test]
fn password_and_domain_from_the_credentials_file() {
    use std::os::unix::fs::PermissionsExt;
    let server = Server::start_smb_auditing_logons();
    let (a, _b) = two_caches(&server, &[("x.txt", "x\n")]);
    let credentials = a.path().join(".offline/credentials");
    fs::write(
        &credentials,
        format!(
            "OFFLINE_SMB_PASSWORD={}\nOFFLINE_SMB_DOMAIN=OFFLINETEST\n",
            servers::SMB_PASSWORD
        ),
    )
    .unwrap();
    fs::set_permissions(&credentials, fs::Permissions::from_mode(0o600)).unwrap();
    write(&a.path().join("from-file.txt"), "f\n");
    let out = server
        .offline(a.path())
        .env_remove("OFFLINE_SMB_PASSWORD")
        .arg("sync")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(on_share(&server, "from-file.txt").exists());
    let audit = fs::read_to_string(server.path("smbd.log")).unwrap_or_default();
    let logon = format!("[OFFLINETEST]\\[{}]", servers::smb_user());
    assert!(audit.contains(&logon), "no logon as {logon}:\n{audit}");

    fs::write(
        &credentials,
        "OFFLINE_SMB_PASSWORD=not-the-password\nOFFLINE_SMB_DOMAIN=OFFLINETEST\n",
    )
    .unwrap();
    let out = server
        .offline(a.path())
        .env_remove("OFFLINE_SMB_PASSWORD")
        .arg("sync")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("refused the credentials"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("not-the-password"), "{}", text(&out));
}
