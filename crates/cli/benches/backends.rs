//! Network-share benchmark: the same tree synced to and from a real WebDAV (nginx),
//! SFTP (sshd), S3 (SeaweedFS) and SMB (Samba) server on loopback by `offline` and by
//! rclone (`copy`, `sync`, `bisync`) against the same server in the same run,
//! interleaved, with the same number of copies in flight; an anchor the numbers are
//! read against besides: for SMB `smbclient`'s own recursive `mput` and `mget` (one
//! file at a time), for SFTP `rsync -a` over the same sshd (one connection, the
//! limit to approach). Prints a table of seconds per case and backend, offline ÷
//! rclone and offline ÷ anchor. Not part of the test suite.
//!
//! Cases: upload (a new tree into an empty folder: `offline sync` / `rclone copy`),
//! download (into an empty cache / folder), no change (`offline sync` / `rclone sync`
//! and `rclone bisync`), 1% changed in the cache (`offline sync` / `rclone sync` and
//! `rclone bisync`). rclone writes to a folder of its own beside the share.
//!
//! `cargo bench -p offline-cli --bench backends`; environment:
//! `OFFLINE_BENCH_FILES` (2000), `OFFLINE_BENCH_TRANSFERS` ("4"),
//! `OFFLINE_BENCH_BACKENDS` ("webdav sftp s3 smb"), `OFFLINE_BENCH_LARGE` (0: files of
//! 100 MiB added to the tree), `OFFLINE_BENCH_RCLONE` (1; 0: offline only),
//! `OFFLINE_BENCH_DELAY_MS` (0: the client talks to the server directly; N: through a
//! relay on loopback that holds every chunk N ms in each direction, a link with a
//! round trip of 2N ms), `OFFLINE_BENCH_REPS` (1: runs of every case, backends
//! interleaved; the table shows medians), `OFFLINE_BENCH_TSV` (a file to write the
//! raw rows to, such as `bench/results/DATE-backends-N.tsv` for bench/report's goals
//! chart; unset: none),
//! `OFFLINE_BENCH_ANCHOR` (1; 0: no smbclient or rsync runs).

#[path = "../tests/servers/mod.rs"]
mod servers;

use servers::{Backend, Server};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Points the client at a relay in front of the server.
fn through_relay(server: &mut Server, delay: Duration) {
    let port = server.port();
    let relay = servers::start_relay(port, delay);
    let (old, new) = (format!(":{port}"), format!(":{relay}"));
    server.url = server.url.replace(&old, &new);
    for (_, value) in server.env.iter_mut() {
        *value = value.replace(&old, &new);
    }
    if server.backend == Backend::Sftp {
        // The host key, known for the relay's port too.
        let known = server.path("known_hosts");
        let text = fs::read_to_string(&known).expect("read known_hosts");
        let more = text.replace(&format!("]{old} "), &format!("]{new} "));
        fs::write(&known, format!("{text}{more}")).expect("write known_hosts");
    }
}

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

/// `count` files of 1 to 4 KiB in 100 folders.
fn make_tree(root: &Path, count: usize) {
    for i in 0..count {
        let dir = root.join(format!("d{:02}", i % 100));
        fs::create_dir_all(&dir).expect("create a folder");
        let line = format!("file {i} of the benchmark tree\n");
        let body = line.repeat(1024 * (1 + i % 4) / line.len());
        fs::write(dir.join(format!("f{i:06}.txt")), body).expect("write a file");
    }
}

/// Runs `offline ARGS` in `cache`; the wall time in seconds.
fn timed(server: &Server, cache: &Path, args: &[&str]) -> f64 {
    let start = Instant::now();
    let out = server
        .offline(cache)
        .args(args)
        .output()
        .expect("run offline");
    let secs = start.elapsed().as_secs_f64();
    servers::assert_ok(&out, &format!("offline {}", args.join(" ")), server);
    secs
}

fn cache_with(server: &Server, at: &Path, transfers: usize) {
    server.init(at);
    let out = server
        .offline(at)
        .args(["config", "--transfers", &transfers.to_string()])
        .output()
        .expect("run offline config");
    servers::assert_ok(&out, "offline config --transfers", server);
}

/// The value of `key` in the environment the server gives its clients ("" if none).
fn server_env(server: &Server, key: &str) -> String {
    server
        .env
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// The rclone remote of the server's share (as environment variables) and the
/// path of a folder beside the share for rclone's own copy.
fn rclone_remote(server: &Server, folder: &str) -> (Vec<(String, String)>, String) {
    let env = |k: &str| server_env(server, k);
    let conf = |k: &str, v: &str| (format!("RCLONE_CONFIG_BENCH_{k}"), v.to_string());
    let url = server.url.as_str();
    match server.backend {
        Backend::Webdav => {
            // webdav://user@127.0.0.1:PORT/share
            let rest = url.trim_start_matches("webdav://");
            let (user, rest) = rest.split_once('@').expect("a user in the URL");
            let (host, _) = rest.split_once('/').expect("a path in the URL");
            let out = std::process::Command::new("rclone")
                .args(["obscure", &env("OFFLINE_WEBDAV_PASSWORD")])
                .output()
                .expect("run rclone obscure");
            let pass = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (
                vec![
                    conf("TYPE", "webdav"),
                    conf("URL", &format!("http://{host}/")),
                    conf("VENDOR", "other"),
                    conf("USER", user),
                    conf("PASS", &pass),
                ],
                format!("bench:{folder}"),
            )
        }
        Backend::S3 => {
            // s3://bucket/prefix
            let bucket = url
                .trim_start_matches("s3://")
                .split('/')
                .next()
                .unwrap_or("");
            (
                vec![
                    conf("TYPE", "s3"),
                    conf("PROVIDER", "SeaweedFS"),
                    conf("ENDPOINT", &env("AWS_ENDPOINT_URL")),
                    conf("REGION", "us-east-1"),
                    conf("ACCESS_KEY_ID", &env("AWS_ACCESS_KEY_ID")),
                    conf("SECRET_ACCESS_KEY", &env("AWS_SECRET_ACCESS_KEY")),
                ],
                format!("bench:{bucket}/{folder}"),
            )
        }
        Backend::Sftp => {
            // sftp://user@127.0.0.1:PORT/root/share
            let rest = url.trim_start_matches("sftp://");
            let (user, rest) = rest.split_once('@').expect("a user in the URL");
            let (host_port, path) = rest.split_once('/').expect("a path in the URL");
            let (host, port) = host_port.split_once(':').expect("a port in the URL");
            let parent = Path::new("/").join(path);
            let parent = parent.parent().expect("the share's parent folder");
            (
                vec![
                    conf("TYPE", "sftp"),
                    conf("HOST", host),
                    conf("PORT", port),
                    conf("USER", user),
                    conf("KEY_FILE", &env("OFFLINE_SFTP_KEY")),
                    conf("KNOWN_HOSTS_FILE", &env("OFFLINE_SFTP_KNOWN_HOSTS")),
                    // Otherwise rclone runs `md5sum` over SSH for every file it copies or
                    // compares (minutes for 2,000 files here); offline does not hash the
                    // share's copy either (size, time and mode are its identity).
                    conf("DISABLE_HASHCHECK", "true"),
                ],
                format!("bench:{}", parent.join(folder).display()),
            )
        }
        Backend::Smb => {
            // smb://user@127.0.0.1:PORT/share/team
            let rest = url.trim_start_matches("smb://");
            let (user, rest) = rest.split_once('@').expect("a user in the URL");
            let (host_port, path) = rest.split_once('/').expect("a path in the URL");
            let (host, port) = host_port.split_once(':').expect("a port in the URL");
            let share = path.split('/').next().expect("a share in the URL");
            let out = std::process::Command::new("rclone")
                .args(["obscure", &env("OFFLINE_SMB_PASSWORD")])
                .output()
                .expect("run rclone obscure");
            let pass = String::from_utf8_lossy(&out.stdout).trim().to_string();
            (
                vec![
                    conf("TYPE", "smb"),
                    conf("HOST", host),
                    conf("PORT", port),
                    conf("USER", user),
                    conf("PASS", &pass),
                ],
                format!("bench:{share}/{folder}"),
            )
        }
    }
}

/// Whether rclone 1.60's bisync runs against the backend: it needs modification
/// times on both sides, which rclone's WebDAV remote (vendor `other`, as nginx is)
/// does not have ("modification time support is missing on path2").
fn bisync_works(backend: Backend) -> bool {
    backend != Backend::Webdav
}

/// Runs `rclone ARGS` against the server; the wall time in seconds.
fn rclone(env: &[(String, String)], transfers: usize, args: &[&str]) -> f64 {
    let start = Instant::now();
    let out = std::process::Command::new("rclone")
        .args(args)
        .args([
            "--transfers",
            &transfers.to_string(),
            "--config",
            "/dev/null",
            "-q",
        ])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        // rclone's S3 client fails on a custom CA bundle ("HTTPClient's transport
        // unsupported type"); the server is plain HTTP on loopback.
        .env_remove("AWS_CA_BUNDLE")
        .output()
        .expect("run rclone");
    let secs = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "rclone {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    secs
}

/// Appends a line to every hundredth file of the tree at `root` (1%).
fn change_one_percent(root: &Path, count: usize) {
    for i in (0..count).step_by(100) {
        let path = root.join(format!("d{:02}/f{i:06}.txt", i % 100));
        let mut text = fs::read_to_string(&path).expect("read a bench file");
        text.push_str("changed\n");
        fs::write(&path, text).expect("change a bench file");
    }
}

/// Adds `count` files of 100 MiB under `root/large/`.
fn add_large(root: &Path, count: usize) {
    let dir = root.join("large");
    fs::create_dir_all(&dir).expect("create the large folder");
    let block: Vec<u8> = (0..1024 * 1024)
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for n in 0..count {
        let mut file = fs::File::create(dir.join(format!("large-{n}.bin"))).expect("create");
        for b in 0..100u32 {
            let mut chunk = block.clone();
            chunk[0] = b as u8;
            chunk[1] = n as u8;
            file.write_all(&chunk).expect("write a large file");
        }
    }
}

/// What one timed step does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Case {
    Upload,
    Download,
    NoChange,
    Modify,
}

impl Case {
    /// Its name in the TSV (bench/report reads these).
    fn key(self) -> &'static str {
        match self {
            Case::Upload => "upload",
            Case::Download => "download",
            Case::NoChange => "nochange",
            Case::Modify => "modify",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Case::Upload => "upload",
            Case::Download => "download",
            Case::NoChange => "no change",
            Case::Modify => "1% changed",
        }
    }
}

/// One case's seconds: offline's, rclone's (and rclone bisync's, where run).
struct Row {
    case: Case,
    offline: f64,
    rclone: Option<f64>,
    bisync: Option<f64>,
    /// The anchor's upload or download: `smbclient` on SMB, `rsync` on SFTP.
    anchor: Option<f64>,
}

/// What every run shares.
struct Setup {
    files: usize,
    large: usize,
    delay_ms: u64,
    with_rclone: bool,
    with_anchor: bool,
}

/// One run of every case against a fresh server: offline, then rclone, case by case.
fn run_once(backend: Backend, t: usize, setup: &Setup) -> Vec<Row> {
    let (files, with_rclone) = (setup.files, setup.with_rclone);
    // A fresh server (an empty share) for every run.
    let mut server = Server::start(backend);
    if setup.delay_ms > 0 {
        through_relay(&mut server, Duration::from_millis(setup.delay_ms));
    }
    let (renv, rpath) = rclone_remote(&server, "rclone-bench");
    let work = tempfile::tempdir().expect("a temp folder");
    let (up, down) = (work.path().join("up"), work.path().join("down"));
    let (rup, rdown) = (
        work.path().join("rclone-up"),
        work.path().join("rclone-down"),
    );
    let rup_s = rup.display().to_string();
    let workdir = work.path().join("bisync-state").display().to_string();
    let bisync = with_rclone && bisync_works(backend);
    let mut rows = Vec::new();

    cache_with(&server, &up, t);
    make_tree(&up, files);
    add_large(&up, setup.large);
    let offline = timed(&server, &up, &["sync"]);
    let rclone_up = with_rclone.then(|| {
        make_tree(&rup, files);
        add_large(&rup, setup.large);
        rclone(&renv, t, &["copy", &rup_s, &rpath])
    });
    rows.push(Row {
        case: Case::Upload,
        offline,
        rclone: rclone_up,
        bisync: None,
        anchor: None,
    });

    cache_with(&server, &down, t);
    let offline = timed(&server, &down, &["sync"]);
    let rclone_down =
        with_rclone.then(|| rclone(&renv, t, &["copy", &rpath, &rdown.display().to_string()]));
    rows.push(Row {
        case: Case::Download,
        offline,
        rclone: rclone_down,
        bisync: None,
        anchor: None,
    });

    let offline = timed(&server, &up, &["sync"]);
    let sync_s = with_rclone.then(|| rclone(&renv, t, &["sync", &rup_s, &rpath]));
    let bisync_s = bisync.then(|| {
        let resync = ["bisync", &rup_s, &rpath, "--resync", "--workdir", &workdir];
        rclone(&renv, t, &resync);
        rclone(&renv, t, &["bisync", &rup_s, &rpath, "--workdir", &workdir])
    });
    rows.push(Row {
        case: Case::NoChange,
        offline,
        rclone: sync_s,
        bisync: bisync_s,
        anchor: None,
    });

    change_one_percent(&up, files);
    let offline = timed(&server, &up, &["sync"]);
    let sync_s = with_rclone.then(|| {
        change_one_percent(&rup, files);
        rclone(&renv, t, &["sync", &rup_s, &rpath])
    });
    let bisync_s = bisync.then(|| {
        change_one_percent(&rup, files);
        rclone(&renv, t, &["bisync", &rup_s, &rpath, "--workdir", &workdir])
    });
    rows.push(Row {
        case: Case::Modify,
        offline,
        rclone: sync_s,
        bisync: bisync_s,
        anchor: None,
    });
    let anchor = match backend {
        _ if !setup.with_anchor => None,
        Backend::Smb => Some(smbclient_anchor(&server, work.path(), files)),
        Backend::Sftp => Some(rsync_anchor(&server, work.path(), files)),
        _ => None,
    };
    if let Some((up, down)) = anchor {
        rows[0].anchor = Some(up);
        rows[1].anchor = Some(down);
    }
    rows
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => String::new(),
    }
}

fn secs(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.2}")).unwrap_or_default()
}

/// Appends one run's rows to the TSV at `path` (`tool case rep value unit rc`, the
/// tool being `BACKEND-offline`, `BACKEND-rclone` or `BACKEND-bisync`).
fn append_tsv(path: &Path, backend: Backend, rep: usize, rows: &[Row]) {
    let mut out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open OFFLINE_BENCH_TSV");
    for row in rows {
        let tools = [
            ("offline", Some(row.offline)),
            ("rclone", row.rclone),
            ("bisync", row.bisync),
            (anchor_name(backend), row.anchor),
        ];
        for (tool, value) in tools {
            if let Some(v) = value {
                let (b, c) = (backend.name(), row.case.key());
                writeln!(out, "{b}-{tool}\t{c}\t{rep}\t{v:.3}\ts\t0").expect("write the TSV");
            }
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let num = |key: &str, default: &str| -> usize {
        env_or(key, default)
            .parse()
            .unwrap_or_else(|_| panic!("{key}: a number"))
    };
    let setup = Setup {
        files: num("OFFLINE_BENCH_FILES", "2000"),
        large: num("OFFLINE_BENCH_LARGE", "0"),
        delay_ms: num("OFFLINE_BENCH_DELAY_MS", "0") as u64,
        with_rclone: env_or("OFFLINE_BENCH_RCLONE", "1") != "0",
        with_anchor: env_or("OFFLINE_BENCH_ANCHOR", "1") != "0",
    };
    let reps = num("OFFLINE_BENCH_REPS", "1").max(1);
    let transfers: Vec<usize> = env_or("OFFLINE_BENCH_TRANSFERS", "4")
        .split_whitespace()
        .map(|t| t.parse().expect("OFFLINE_BENCH_TRANSFERS: numbers"))
        .collect();
    let wanted = env_or("OFFLINE_BENCH_BACKENDS", "webdav sftp s3 smb");
    let tsv = std::env::var_os("OFFLINE_BENCH_TSV").map(std::path::PathBuf::from);
    let what = format!(
        "{} files of 1-4 KiB in 100 folders{}, round trip {} ms, median of {reps}",
        setup.files,
        if setup.large > 0 {
            format!(" + {} × 100 MiB", setup.large)
        } else {
            String::new()
        },
        2 * setup.delay_ms
    );
    if let Some(path) = &tsv {
        let head = format!("# offline-files backends bench: N={} large={} round_trip_ms={} transfers={transfers:?} reps={reps}\n# columns: tool case rep value unit rc\n", setup.files, setup.large, 2 * setup.delay_ms);
        fs::write(path, head).expect("write OFFLINE_BENCH_TSV");
    }
    let backends: Vec<Backend> = Backend::ALL
        .into_iter()
        .filter(|b| wanted.split_whitespace().any(|w| w == b.name()))
        .collect();
    // (backend, transfers, case) -> every run's row; runs interleave the backends.
    let mut all: std::collections::BTreeMap<(usize, usize, Case), Vec<Row>> = Default::default();
    for rep in 1..=reps {
        for (b, &backend) in backends.iter().enumerate() {
            for &t in &transfers {
                eprintln!("run {rep}/{reps}: {} with {t} in flight", backend.name());
                let rows = run_once(backend, t, &setup);
                if let Some(path) = &tsv {
                    append_tsv(path, backend, rep, &rows);
                }
                for row in rows {
                    all.entry((b, t, row.case)).or_default().push(row);
                }
            }
        }
    }
    println!("{what}");
    println!();
    println!("| backend | transfers | case | offline s | rclone s | offline ÷ rclone | rclone bisync s | offline ÷ bisync | anchor | anchor s | offline ÷ anchor |");
    println!("|---|---:|---|---:|---:|---:|---:|---:|---|---:|---:|");
    for ((b, t, case), rows) in all {
        let offline = median(rows.iter().map(|r| r.offline).collect());
        let rclone = median(rows.iter().filter_map(|r| r.rclone).collect());
        let bisync = median(rows.iter().filter_map(|r| r.bisync).collect());
        let anchor = median(rows.iter().filter_map(|r| r.anchor).collect());
        println!(
            "| {} | {t} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            backends[b].name(),
            case.label(),
            secs(offline),
            secs(rclone),
            ratio(offline, rclone),
            secs(bisync),
            ratio(offline, bisync),
            if anchor.is_some() {
                anchor_name(backends[b])
            } else {
                ""
            },
            secs(anchor),
            ratio(offline, anchor),
        );
    }
}

/// The tool a backend's numbers are also read against (its TSV name).
fn anchor_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Smb => "smbclient",
        Backend::Sftp => "rsync",
        _ => "anchor",
    }
}

/// `rsync -a` of the same tree over ssh to the same sshd, into a folder of its own
/// beside the share, then back into a new local folder: the wall times in seconds.
/// rsync runs one ssh connection and pipelines whole files; it does not flush the
/// files it writes to disk (offline does, on both sides).
fn rsync_anchor(server: &Server, work: &Path, files: usize) -> (f64, f64) {
    // sftp://user@127.0.0.1:PORT/root/share
    let rest = server.url.trim_start_matches("sftp://");
    let (user, rest) = rest.split_once('@').expect("a user in the URL");
    let (host_port, path) = rest.split_once('/').expect("a path in the URL");
    let (host, port) = host_port.split_once(':').expect("a port in the URL");
    let share = Path::new("/").join(path);
    let remote_dir = share
        .parent()
        .expect("the share's parent")
        .join("rsync-bench");
    let env = |k: &str| server_env(server, k);
    let ssh = format!(
        "ssh -p {port} -i {} -o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o BatchMode=yes",
        env("OFFLINE_SFTP_KEY"),
        env("OFFLINE_SFTP_KNOWN_HOSTS")
    );
    let remote = format!("{user}@{host}:{}/", remote_dir.display());
    let source = work.join("rsync-up");
    make_tree(&source, files);
    let target = work.join("rsync-down");
    let run = |from: String, to: String| {
        let start = Instant::now();
        let out = std::process::Command::new("rsync")
            .args(["-a", "-e", &ssh, &from, &to])
            .output()
            .expect("run rsync (is it installed?)");
        let secs = start.elapsed().as_secs_f64();
        servers::assert_ok(&out, &format!("rsync -a {from} {to}"), server);
        secs
    };
    let up = run(format!("{}/", source.display()), remote.clone());
    let down = run(remote, format!("{}/", target.display()));
    let got = walk_count(&target);
    assert_eq!(got, files, "rsync brought {got} of {files} files");
    (up, down)
}

/// `smbclient`'s recursive `mput` of the same tree into a folder of its own on the
/// share, then `mget` of it into a new local folder (through the relay, if any):
/// the wall times in seconds.
fn smbclient_anchor(server: &Server, work: &Path, files: usize) -> (f64, f64) {
    let port = server
        .url
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next())
        .expect("the share URL has a port")
        .to_string();
    let source = work.join("anchor-up");
    make_tree(&source, files);
    let target = work.join("anchor-down");
    fs::create_dir_all(&target).expect("create a folder");
    let run = |commands: String| {
        let start = Instant::now();
        let out = std::process::Command::new("smbclient")
            .args(["-p", &port, "//127.0.0.1/share", "-U"])
            .arg(format!("{}%{}", servers::smb_user(), servers::SMB_PASSWORD))
            .arg("-c")
            .arg(&commands)
            .output()
            .expect("run smbclient");
        let secs = start.elapsed().as_secs_f64();
        servers::assert_ok(&out, &format!("smbclient -c {commands:?}"), server);
        secs
    };
    let mput = run(format!(
        "prompt OFF; recurse ON; mkdir anchor; cd anchor; lcd {}; mput *",
        source.display()
    ));
    let mget = run(format!(
        "prompt OFF; recurse ON; cd anchor; lcd {}; mget *",
        target.display()
    ));
    let got = walk_count(&target);
    assert_eq!(got, files, "smbclient mget brought {got} of {files} files");
    (mput, mget)
}

/// How many files are below `dir`.
fn walk_count(dir: &Path) -> usize {
    let mut count = 0;
    for entry in fs::read_dir(dir).expect("read a folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            count += walk_count(&path);
        } else {
            count += 1;
        }
    }
    count
}
