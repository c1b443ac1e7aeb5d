//! The same cases against every network backend (WebDAV, SFTP, S3, SMB), each
//! against a real server on loopback (see `servers/mod.rs`): changes carried both ways between two caches of
//! one share, conflicts (logged, and kept-all), wrong credentials, offline mode and
//! a server killed in the middle of a sync.

mod servers;

use servers::{
    output_within, run, spawn_sync_with, sync_expect, text, two_caches, write, Backend, Server,
    RUN_LIMIT,
};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tempfile::TempDir;

/// What a tree holds (the cache's own `.offline` left out): per path, the kind and
/// the content or link target.
fn tree(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .to_string();
            if rel == ".offline" {
                continue;
            }
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).unwrap();
                out.insert(rel, format!("link -> {}", target.display()));
            } else if meta.is_dir() {
                out.insert(rel.clone(), "dir".to_string());
                walk(root, &path, out);
            } else {
                out.insert(rel, format!("file {}", fs::read_to_string(&path).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn status_json(server: &Server, cache: &Path) -> serde_json::Value {
    let out = run(server, cache, &["status", "--json"]);
    let line = String::from_utf8_lossy(&out.stdout).to_string();
    serde_json::from_str(line.trim())
        .unwrap_or_else(|e| panic!("status --json: {e}\n{}", text(&out)))
}

/// Create, change and delete on each side, seen by a second cache of the share;
/// what the share cannot store (symlinks on WebDAV and S3) is skipped and reported;
/// a wrong password is a clear error with exit 3.
fn changes_travel_both_ways(backend: Backend) {
    let server = Server::start(backend);
    let (a, b) = two_caches(
        &server,
        &[
            ("hello.txt", "hello\n"),
            ("docs/report.txt", "report v1\n"),
            ("docs/deep/notes.md", "notes\n"),
            ("ünïcode name.txt", "names\n"),
        ],
    );
    fs::create_dir_all(a.path().join("empty")).unwrap();
    write(&a.path().join("run.sh"), "#!/bin/sh\n");
    fs::set_permissions(a.path().join("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    sync_expect(&server, a.path(), &[], 0);
    sync_expect(&server, b.path(), &[], 0);
    assert_eq!(tree(a.path()), tree(b.path()), "{}", backend.name());
    assert!(
        tree(b.path()).contains_key("empty"),
        "the empty folder travels"
    );
    // The cache that wrote the executable keeps its mode (no mode change comes back).
    assert_eq!(mode(&a.path().join("run.sh")), 0o755);
    if backend == Backend::Sftp {
        assert_eq!(mode(&b.path().join("run.sh")), 0o755, "SFTP keeps modes");
    }

    // A second sync with no change moves nothing.
    let out = sync_expect(&server, a.path(), &["--json"], 0);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("\"path\""),
        "a no-change sync did something: {}",
        text(&out)
    );

    // Changes in the second cache: edit, delete, create, remove a folder.
    write(&b.path().join("docs/report.txt"), "report v2, longer\n");
    fs::remove_file(b.path().join("hello.txt")).unwrap();
    write(&b.path().join("new/inner/file.txt"), "new\n");
    fs::remove_dir_all(b.path().join("docs/deep")).unwrap();
    sync_expect(&server, b.path(), &[], 0);
    sync_expect(&server, a.path(), &[], 0);
    assert_eq!(tree(a.path()), tree(b.path()), "{}", backend.name());
    assert!(!a.path().join("hello.txt").exists());
    assert!(!a.path().join("docs/deep").exists());
    assert_eq!(
        fs::read_to_string(a.path().join("docs/report.txt")).unwrap(),
        "report v2, longer\n"
    );

    // And back from the first: same-size edit in the same second still travels.
    write(&a.path().join("new/inner/file.txt"), "NEW\n");
    sync_expect(&server, a.path(), &[], 0);
    sync_expect(&server, b.path(), &[], 0);
    assert_eq!(
        fs::read_to_string(b.path().join("new/inner/file.txt")).unwrap(),
        "NEW\n"
    );

    // Symlinks: kept as links on SFTP; skipped (and reported) elsewhere.
    std::os::unix::fs::symlink("run.sh", a.path().join("link")).unwrap();
    if backend == Backend::Sftp {
        sync_expect(&server, a.path(), &[], 0);
        sync_expect(&server, b.path(), &[], 0);
        assert_eq!(
            fs::read_link(b.path().join("link")).unwrap(),
            Path::new("run.sh")
        );
    } else {
        // Skipped, not failed: the link stays in the cache, each sync says so.
        for _ in 0..2 {
            let out = sync_expect(&server, a.path(), &[], 0);
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                stdout.contains("cannot store symlinks") && stdout.contains("link"),
                "{}",
                text(&out)
            );
        }
        assert_eq!(
            fs::read_link(a.path().join("link")).unwrap(),
            Path::new("run.sh")
        );
        sync_expect(&server, b.path(), &[], 0);
        assert!(
            fs::symlink_metadata(b.path().join("link")).is_err(),
            "the link did not travel"
        );
        fs::remove_file(a.path().join("link")).unwrap();
        sync_expect(&server, a.path(), &[], 0);
    }

    // Wrong credentials: exit 3, a clear message, and no secret the client holds in
    // the output. First a wrong secret, then the real one, refused by the server.
    let (key, wrong) = match backend {
        Backend::Webdav => ("OFFLINE_WEBDAV_PASSWORD", "not-the-password".to_string()),
        Backend::S3 => ("AWS_SECRET_ACCESS_KEY", "not-the-secret".to_string()),
        Backend::Smb => ("OFFLINE_SMB_PASSWORD", "not-the-password".to_string()),
        Backend::Sftp => (
            "OFFLINE_SFTP_KEY",
            server.path("host_key").display().to_string(),
        ),
    };
    let wrong_secrets = match backend {
        Backend::Sftp => servers::key_body(&server.path("host_key")),
        _ => vec![wrong.clone()],
    };
    let out = output_within(
        server.offline(b.path()).env(key, &wrong).arg("sync"),
        RUN_LIMIT,
    );
    assert_refused_without_secrets(backend, &out, &wrong_secrets);
    let real = server.secrets();
    assert!(
        !real.is_empty(),
        "{}: the client holds a secret",
        backend.name()
    );
    let refusing = server.refuse_credentials();
    let out = output_within(
        server.offline(b.path()).envs(refusing).arg("sync"),
        RUN_LIMIT,
    );
    server.accept_credentials();
    assert_refused_without_secrets(backend, &out, &real);
    sync_expect(&server, b.path(), &[], 0);
}

/// A sync refused for its credentials: exit 3, the message says so, and none of
/// `secrets` (which the process held) is in its output.
fn assert_refused_without_secrets(
    backend: Backend,
    out: &std::process::Output,
    secrets: &[String],
) {
    assert_eq!(out.status.code(), Some(3), "{}", text(out));
    let all = text(out);
    assert!(
        all.contains("refused the credentials"),
        "{}: {all}",
        backend.name()
    );
    for secret in secrets {
        assert!(
            !all.contains(secret.as_str()),
            "{}: a secret was printed: {secret:?} in {all}",
            backend.name()
        );
    }
}

/// A target that another cache writes between this cache's check of it and its own
/// write (the crash point `net.write_file.checked`, where a hook makes the other
/// cache write and sync) is not overwritten: the server refuses the write (a new
/// file: S3 `If-None-Match: *`, WebDAV `MOVE` with `Overwrite: F`, an SFTP hard
/// link; a replaced file on S3: `If-Match`), the item is an error of kind
/// `Changed`, the next sync makes it a conflict, and a third cache gets the other
/// cache's version from the share.
fn raced_writes_are_refused_by_the_server(backend: Backend, server: &Server, a: &Path, b: &Path) {
    let mut cases = vec![("raced-new.txt", false)];
    if backend == Backend::S3 {
        cases.push(("raced-edit.txt", true));
    }
    let scripts = TempDir::new().unwrap();
    for (name, existing) in cases {
        let what = format!("{}: {name}", backend.name());
        if existing {
            write(&a.join(name), "base\n");
            sync_expect(server, a, &[], 0);
            sync_expect(server, b, &[], 0);
        }
        write(&a.join(name), "from a\n");
        let script = scripts.path().join(format!("{name}.sh"));
        fs::write(
            &script,
            format!(
                "unset OFFLINE_HOOK_AT OFFLINE_HOOK_CMD\nprintf 'from b\\n' > '{b}/{name}'\nexec '{bin}' -C '{b}' sync > '{log}' 2>&1\n",
                b = b.display(),
                bin = env!("CARGO_BIN_EXE_offline"),
                log = scripts.path().join(format!("{name}.log")).display(),
            ),
        )
        .unwrap();
        // Points 1 and 2: the journal's commit; 3: the target was checked.
        let hook = format!("sh '{}'", script.display());
        let out = output_within(
            server
                .offline(a)
                .args(["sync", "--json"])
                .env("OFFLINE_HOOK_AT", "3")
                .env("OFFLINE_HOOK_CMD", &hook),
            RUN_LIMIT,
        );
        let all = text(&out);
        assert!(
            all.contains("crashpoint 3 net.write_file.checked: ran the hook"),
            "{what}: the hook ran after the check: {all}"
        );
        assert_eq!(out.status.code(), Some(1), "{what}: {all}");
        let item: serde_json::Value = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["path"] == name)
            .unwrap_or_else(|| panic!("{what}: no line for {name}: {all}"));
        assert_eq!(item["result"], "error", "{what}: {item}");
        assert_eq!(item["error"]["kind"], "Changed", "{what}: {item}");
        // Nothing lost: a keeps its version, and the next sync makes it a conflict.
        assert_eq!(fs::read_to_string(a.join(name)).unwrap(), "from a\n");
        sync_expect(server, a, &[], 1);
        assert_eq!(fs::read_to_string(a.join(name)).unwrap(), "from a\n");
        let c = TempDir::new().unwrap();
        server.init(c.path());
        sync_expect(server, c.path(), &[], 0);
        assert_eq!(
            fs::read_to_string(c.path().join(name)).unwrap(),
            "from b\n",
            "{what}: the share holds the other cache's version"
        );
        // Settled for the rest of the test: a takes the share's version.
        sync_expect(server, a, &["--policy", "keep-remote", name], 0);
        sync_expect(server, b, &[], 0);
    }
}

/// Simultaneous edits in two caches become a conflict (logged: both copies
/// untouched, exit 1), or with keep-all both versions end up in both caches.
fn simultaneous_edits_are_conflicts(backend: Backend) {
    let server = Server::start(backend);
    let (a, b) = two_caches(&server, &[("f.txt", "base\n"), ("g.txt", "base g\n")]);
    raced_writes_are_refused_by_the_server(backend, &server, a.path(), b.path());
    // Same size, same second: the share's identity must still change.
    write(&a.path().join("f.txt"), "aaaa\n");
    write(&b.path().join("f.txt"), "bbbb\n");
    sync_expect(&server, a.path(), &[], 0);
    let out = sync_expect(&server, b.path(), &[], 1);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("conflict"),
        "{}",
        text(&out)
    );
    assert_eq!(
        fs::read_to_string(b.path().join("f.txt")).unwrap(),
        "bbbb\n"
    );
    let listed = run(&server, b.path(), &["conflicts"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("f.txt"),
        "{}",
        text(&listed)
    );
    // The first cache still sees its own version: nothing was overwritten.
    sync_expect(&server, a.path(), &[], 0);
    assert_eq!(
        fs::read_to_string(a.path().join("f.txt")).unwrap(),
        "aaaa\n"
    );

    // keep-all: both versions kept on both sides.
    write(&a.path().join("g.txt"), "from a\n");
    write(&b.path().join("g.txt"), "from b\n");
    sync_expect(&server, a.path(), &[], 0);
    sync_expect(&server, b.path(), &["--policy", "keep-all", "g.txt"], 0);
    sync_expect(&server, a.path(), &[], 0);
    for cache in [a.path(), b.path()] {
        let contents: Vec<String> = tree(cache)
            .into_iter()
            .filter(|(p, _)| p.starts_with("g"))
            .map(|(_, c)| c)
            .collect();
        assert_eq!(contents.len(), 2, "{}: {contents:?}", backend.name());
        assert!(
            contents.contains(&"file from a\n".to_string()),
            "{contents:?}"
        );
        assert!(
            contents.contains(&"file from b\n".to_string()),
            "{contents:?}"
        );
    }
}

/// A stopped server: exit 3, offline (connection_error), the cache keeps working;
/// restarted: the next sync sends what waited. Killed in the middle of a sync: the
/// run ends cleanly (exit 3, offline), and the next sync finishes the work.
fn offline_mode_and_a_server_killed_mid_sync(backend: Backend) {
    let mut server = Server::start(backend);
    let (a, b) = two_caches(&server, &[("kept.txt", "kept\n")]);

    server.stop();
    write(&a.path().join("while-offline.txt"), "written offline\n");
    let out = sync_expect(&server, a.path(), &[], 3);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("unreachable"),
        "{}",
        text(&out)
    );
    let status = status_json(&server, a.path());
    assert_eq!(status["connect_state"], "offline", "{status}");
    assert_eq!(status["offline_reason"], "connection_error", "{status}");
    assert_eq!(
        fs::read_to_string(a.path().join("kept.txt")).unwrap(),
        "kept\n"
    );

    server.restart();
    sync_expect(&server, a.path(), &[], 0);
    let status = status_json(&server, a.path());
    assert_eq!(status["connect_state"], "online", "{status}");
    sync_expect(&server, b.path(), &[], 0);
    assert_eq!(
        fs::read_to_string(b.path().join("while-offline.txt")).unwrap(),
        "written offline\n"
    );

    // Killed mid-sync.
    const FILES: usize = 240;
    for i in 0..FILES {
        write(
            &a.path().join(format!("bulk/d{}/f{i:04}.txt", i % 8)),
            &format!("file {i}\n").repeat(200),
        );
    }
    // The sync stops at its third crash point (a commit: at the latest the journal
    // rows of items 65 to 128, so well before its end on any machine) in a hook that
    // waits; the server is killed there, then the sync goes on.
    let pause = TempDir::new().unwrap();
    let (paused, resume) = (pause.path().join("paused"), pause.path().join("resume"));
    let hook = format!(
        "touch '{}'; n=0; while [ ! -e '{}' ] && [ $n -lt 2400 ]; do sleep 0.05; n=$((n+1)); done",
        paused.display(),
        resume.display()
    );
    let env = [
        ("OFFLINE_HOOK_AT", "3".to_string()),
        ("OFFLINE_HOOK_CMD", hook),
    ];
    let running = spawn_sync_with(&server, a.path(), &env);
    let started = std::time::Instant::now();
    while !paused.exists() {
        assert!(
            started.elapsed() < RUN_LIMIT,
            "the sync never reached its third crash point"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    server.stop();
    fs::write(&resume, "").unwrap();
    let (code, output) = running.finish();
    assert_eq!(code, Some(3), "{}: {output}", backend.name());
    let status = status_json(&server, a.path());
    assert_eq!(status["connect_state"], "offline", "{status}");
    assert_eq!(status["offline_reason"], "connection_error", "{status}");

    server.restart();
    sync_expect(&server, a.path(), &[], 0);
    sync_expect(&server, b.path(), &[], 0);
    assert_eq!(tree(a.path()), tree(b.path()), "{}", backend.name());
    let bulk = tree(b.path())
        .keys()
        .filter(|p| p.starts_with("bulk/") && p.ends_with(".txt"))
        .count();
    assert_eq!(bulk, FILES);
}

macro_rules! per_backend {
    ($($backend:ident => $module:ident),*) => {$(
        mod $module {
            use super::*;

            #[test]
            fn changes_travel_both_ways() {
                super::changes_travel_both_ways(Backend::$backend);
            }

            #[test]
            fn simultaneous_edits_are_conflicts() {
                super::simultaneous_edits_are_conflicts(Backend::$backend);
            }

            #[test]
            fn offline_mode_and_a_server_killed_mid_sync() {
                super::offline_mode_and_a_server_killed_mid_sync(Backend::$backend);
            }
        }
    )*};
}

per_backend!(Webdav => webdav, Sftp => sftp, S3 => s3, Smb => smb);

/// An S3 server without credentials: anonymous requests work.
#[test]
fn s3_anonymous() {
    let server = Server::start_with(Backend::S3, true);
    let (a, b) = two_caches(&server, &[("open.txt", "for everyone\n")]);
    assert_eq!(tree(a.path()), tree(b.path()));
}

/// Credentials from `.offline/credentials`: refused while others can read it,
/// used once it is private.
#[test]
fn credentials_file_must_be_private() {
    let server = Server::start(Backend::Webdav);
    let (a, _b) = two_caches(&server, &[("x.txt", "x\n")]);
    let file = a.path().join(".offline/credentials");
    let mut lines = String::from("# test credentials\n");
    for (k, v) in &server.env {
        lines.push_str(&format!("{k}={v}\n"));
    }
    fs::write(&file, lines).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let mut no_env = server.offline(a.path());
    no_env.env_remove("OFFLINE_WEBDAV_PASSWORD");
    let out = output_within(no_env.arg("sync"), RUN_LIMIT);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("chmod 600"),
        "{}",
        text(&out)
    );
    fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
    let mut no_env = server.offline(a.path());
    no_env.env_remove("OFFLINE_WEBDAV_PASSWORD");
    let out = output_within(no_env.arg("sync"), RUN_LIMIT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// `webdavs://`: WebDAV over HTTPS (nginx with a certificate of a private CA). With
/// the CA trusted (`SSL_CERT_FILE`) changes travel both ways; without it, the
/// certificate is refused with a clear error and exit 3, and nothing is changed.
#[test]
fn webdav_over_https_checks_the_certificate() {
    let server = Server::start_webdavs();
    assert!(server.url.starts_with("webdavs://"), "{}", server.url);
    let (a, b) = two_caches(&server, &[("hello.txt", "hello over TLS\n")]);
    assert_eq!(
        fs::read_to_string(b.path().join("hello.txt")).unwrap(),
        "hello over TLS\n"
    );
    write(&b.path().join("docs/back.txt"), "back\n");
    sync_expect(&server, b.path(), &[], 0);
    sync_expect(&server, a.path(), &[], 0);
    assert_eq!(tree(a.path()), tree(b.path()));

    write(&a.path().join("untrusted.txt"), "stays\n");
    let mut untrusted = server.offline(a.path());
    untrusted.env_remove("SSL_CERT_FILE");
    let out = output_within(untrusted.arg("sync"), RUN_LIMIT);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let message = text(&out).to_lowercase();
    assert!(
        message.contains("certificate"),
        "the error names the certificate: {}",
        text(&out)
    );
    sync_expect(&server, b.path(), &[], 0);
    assert!(!b.path().join("untrusted.txt").exists(), "nothing was sent");
}
