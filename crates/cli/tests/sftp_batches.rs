//! SFTP's batched uploads (`net/sftp/stage.rs`) against a real sshd on loopback (see
//! `servers/mod.rs`): a staged file is re-timed past the version it replaces; a batch
//! whose flush fails places nothing, leaves no temp file and reports every file; a
//! sync killed in the middle of placing a batch leaves only complete files and its own
//! temp files, which the next sync sweeps before it finishes the work.

mod servers;

use servers::{
    output_within, run, sync_expect, text, two_caches, write, Backend, Server, RUN_LIMIT,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// Files of the batch: 12, in one folder (one engine batch).
const FILES: usize = 12;
/// More files than SFTP keeps open while staging (256): a copy's thread flushes the
/// first ones itself, the batch the rest (still one engine batch, at most 512).
const MANY: usize = 300;

fn content(i: usize) -> String {
    format!("file {i}\n").repeat(50)
}

/// A fresh cache of `server`'s share holding `files` files in `batch/`, not synced
/// yet.
fn cache_with_batch(server: &Server, files: usize) -> TempDir {
    let cache = TempDir::new().unwrap();
    server.init(cache.path());
    for i in 0..files {
        write(
            &cache.path().join(format!("batch/f{i:02}.txt")),
            &content(i),
        );
    }
    cache
}

/// A temp file on the share: its path and content.
type Temp = (PathBuf, String);

/// The share's files under `batch/`: (placed, this cache's temp files), by name.
fn on_share(server: &Server) -> (Vec<(String, String)>, Vec<Temp>) {
    let (mut placed, mut temps) = (Vec::new(), Vec::new());
    let Ok(entries) = fs::read_dir(server.path("share/batch")) else {
        return (placed, temps);
    };
    for entry in entries {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let text = fs::read_to_string(entry.path()).unwrap();
        if name.starts_with(".offline-tmp-") {
            temps.push((entry.path(), text));
        } else {
            placed.push((name, text));
        }
    }
    placed.sort();
    (placed, temps)
}

/// The names of temp files, for a failure's message.
fn names(temps: &[Temp]) -> Vec<String> {
    temps
        .iter()
        .map(|(path, _)| path.display().to_string())
        .collect()
}

/// Each placed file holds the whole content of its source.
fn assert_complete(placed: &[(String, String)]) {
    for (name, text) in placed {
        let i: usize = name
            .trim_start_matches('f')
            .trim_end_matches(".txt")
            .parse()
            .unwrap_or_else(|_| panic!("an unexpected file on the share: {name}"));
        assert_eq!(text, &content(i), "{name} is complete");
    }
}

/// `sync --json` with `env`, its batches placed by count only (not also once a second
/// old: `OFFLINE_COMMIT_EVERY`), so each test's files are staged as one batch whatever
/// the machine's speed.
fn sync_with(server: &Server, cache: &Path, env: &[(&str, String)]) -> std::process::Output {
    output_within(
        server
            .offline(cache)
            .args(["sync", "--json"])
            .env("OFFLINE_COMMIT_EVERY", "64")
            .envs(env.iter().map(|(k, v)| (k, v))),
        RUN_LIMIT,
    )
}

/// SFTP keeps an item's identity as `size:mtime(seconds):mode`, so a new version that
/// took the time of the one it replaces (the same second, or a replaced version dated
/// ahead of this clock) would look unchanged to every other cache and let a stale
/// upload pass its check. A batched upload stages its file with the current time and,
/// once it has checked what it replaces, re-times the staged file past that version's
/// time before placing it (`retime` in `net/sftp/stage.rs`). Here the share's version
/// is dated an hour ahead, so that path is taken on every run: the placed version's
/// time must be one second past it, the identity the uploading cache recorded must be
/// the file's (its next sync does nothing), and the other cache gets the new content.
#[test]
fn sftp_a_new_version_is_dated_after_the_one_it_replaces() {
    let server = Server::start(Backend::Sftp);
    let (a, b) = two_caches(&server, &[("f.txt", "base\n")]);
    let on_share = server.path("share/f.txt");
    let ahead = filetime::FileTime::now().unix_seconds() + 3600;
    filetime::set_file_mtime(&on_share, filetime::FileTime::from_unix_time(ahead, 0)).unwrap();
    sync_expect(&server, a.path(), &[], 0);
    sync_expect(&server, b.path(), &[], 0);

    // Same size, same mode: only the time can tell the versions apart.
    write(&a.path().join("f.txt"), "next\n");
    sync_expect(&server, a.path(), &[], 0);
    assert_eq!(fs::read_to_string(&on_share).unwrap(), "next\n");
    let placed = filetime::FileTime::from_last_modification_time(&fs::metadata(&on_share).unwrap());
    assert_eq!(
        placed.unix_seconds(),
        ahead + 1,
        "the new version is dated one second after the version it replaced"
    );
    let out = sync_expect(&server, a.path(), &["--json"], 0);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("\"path\""),
        "the recorded identity is the placed file's: {}",
        text(&out)
    );
    sync_expect(&server, b.path(), &[], 0);
    assert_eq!(
        fs::read_to_string(b.path().join("f.txt")).unwrap(),
        "next\n"
    );
    let temps: Vec<String> = fs::read_dir(server.path("share"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".offline-tmp-"))
        .collect();
    assert!(temps.is_empty(), "no temp file left: {temps:?}");
}

/// The item lines of a `sync --json` run, by path.
fn items(out: &std::process::Output) -> BTreeMap<String, serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| Some((v["path"].as_str()?.to_string(), v)))
        .collect()
}

/// Runs a sync of [`MANY`] new files whose flush at `point` fails (the server's
/// `fsync@openssh.com` answering an error cannot be made on a real disk, so it is
/// injected: `OFFLINE_FAIL=POINT:5`, EIO, reported after the flush ran). Every file
/// is placed complete or reported as an error naming the flush, never both; no temp
/// file is left; the next sync uploads the rest. Returns how many failed.
fn failed_flush(point: &str) -> usize {
    let server = Server::start(Backend::Sftp);
    let cache = cache_with_batch(&server, MANY);
    let out = sync_with(
        &server,
        cache.path(),
        &[("OFFLINE_FAIL", format!("{point}:5"))],
    );
    assert_eq!(out.status.code(), Some(1), "{point}: {}", text(&out));
    let items = items(&out);
    let (placed, temps) = on_share(&server);
    assert!(
        temps.is_empty(),
        "{point}: no temp file left: {:?}",
        names(&temps)
    );
    assert_complete(&placed);
    let placed: BTreeSet<String> = placed.into_iter().map(|(name, _)| name).collect();
    let mut failed = 0;
    for i in 0..MANY {
        let name = format!("f{i:02}.txt");
        let path = format!("batch/{name}");
        let line = items
            .get(&path)
            .unwrap_or_else(|| panic!("{point}: no line for {path}: {}", text(&out)));
        if line["result"] == "error" {
            failed += 1;
            assert!(
                line.to_string().contains("flush a staged file to disk"),
                "{point}: {path}: the error names the flush: {line}"
            );
            assert!(
                !placed.contains(&name),
                "{point}: {path} failed and was placed"
            );
        } else {
            assert!(
                placed.contains(&name),
                "{point}: {path} is reported done: {line}"
            );
        }
    }

    sync_expect(&server, cache.path(), &[], 0);
    let (placed, temps) = on_share(&server);
    assert_eq!(placed.len(), MANY, "{point}");
    assert_complete(&placed);
    assert!(temps.is_empty(), "{point}: {:?}", names(&temps));
    failed
}

/// The batch's flush fails: none of its files is placed (also those a copy's thread
/// had flushed already).
#[test]
fn sftp_a_failed_batch_flush_places_nothing_and_reports_each_file() {
    assert_eq!(failed_flush("sftp.flush"), MANY);
}

/// The flush a copy's thread runs while staging (past 256 open files) fails: those
/// files are reported with that error, each at its own commit, while the batch's
/// other files, flushed by the batch, are placed.
#[test]
fn sftp_a_failed_flush_while_staging_fails_only_the_files_it_took() {
    let failed = failed_flush("sftp.flush.staging");
    assert!(
        (256..MANY).contains(&failed),
        "the files open at the 256th failed, the later ones were placed: {failed}"
    );
}

/// A sync killed (SIGKILL) while it places a batch, at the sixth check before a file
/// is put in place (`OFFLINE_CRASH_AT=net.write_file.checked:6`): the share holds some
/// of the files, complete, and every other one as this cache's temp file, complete
/// too (flushed before any was placed; a file another placing thread had just linked
/// may have both). The next sync says it removed them, leaves none, and uploads the
/// rest.
#[test]
fn sftp_a_sync_killed_mid_batch_leaves_only_temp_files_the_next_sweeps() {
    let server = Server::start(Backend::Sftp);
    let cache = cache_with_batch(&server, FILES);
    let point = "net.write_file.checked:6";
    let out = sync_with(
        &server,
        cache.path(),
        &[("OFFLINE_CRASH_AT", point.to_string())],
    );
    assert_eq!(out.status.code(), None, "killed: {}", text(&out));
    assert!(
        text(&out).contains(&format!("killing the process (OFFLINE_CRASH_AT={point})")),
        "{}",
        text(&out)
    );
    let (placed, temps) = on_share(&server);
    assert!(placed.len() < FILES, "killed before the last: {placed:?}");
    assert_complete(&placed);
    assert!(
        placed.len() + temps.len() >= FILES,
        "every file placed or staged: {placed:?} {:?}",
        names(&temps)
    );
    for (temp, text) in &temps {
        assert!(
            (0..FILES).any(|i| *text == content(i)),
            "{} holds a whole file",
            temp.display()
        );
    }

    let out = sync_expect(&server, cache.path(), &[], 0);
    assert!(
        text(&out).contains(&format!("{} temp files removed", temps.len())),
        "{}",
        text(&out)
    );
    let (placed, left) = on_share(&server);
    assert!(
        left.is_empty(),
        "the temp files were swept: {:?}",
        names(&left)
    );
    assert_eq!(placed.len(), FILES, "{placed:?}");
    assert_complete(&placed);
    let again = run(&server, cache.path(), &["sync", "--json"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(
        !String::from_utf8_lossy(&again.stdout).contains("\"path\""),
        "nothing left to do: {}",
        text(&again)
    );
}
