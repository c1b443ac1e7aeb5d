//! Network timeouts (README: connections time out after 10 s, requests after 60 s
//! without progress): a server that accepts connections and never answers must make
//! `offline` give up with "unreachable" (exit 3), for each network backend, after
//! waiting for its timeout rather than for ever. The test shortens both timeouts to
//! 2 s with `OFFLINE_NET_TIMEOUT_MS` (whole seconds: ssh counts in seconds) (the defaults are checked by a unit test in
//! `offline-remote`), so three attempts take seconds, not minutes.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The shortened timeout, in ms.
const TIMEOUT_MS: u64 = 2000;

/// A server on a loopback port that accepts every connection and never writes a
/// byte; the port is bound before it is handed out, so no other process can take
/// it. Runs until the test process ends.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

/// A backend: its name, the share URL, the environment it needs.
type Case<'a> = (&'a str, String, Vec<(&'a str, &'a str)>);

#[test]
fn a_server_that_accepts_and_never_answers_times_out_as_unreachable() {
    let port = silent_server();
    let dir = tempfile::tempdir().expect("temp dir");
    let endpoint = format!("http://127.0.0.1:{port}");
    let cases: [Case; 3] = [
        ("webdav", format!("webdav://127.0.0.1:{port}/share"), vec![]),
        (
            "sftp",
            format!("sftp://root@127.0.0.1:{port}/share"),
            vec![],
        ),
        (
            "s3",
            "s3://bucket/share".to_string(),
            vec![
                ("AWS_ENDPOINT_URL", endpoint.as_str()),
                ("AWS_REGION", "us-east-1"),
                ("AWS_ACCESS_KEY_ID", "KEY"),
                ("AWS_SECRET_ACCESS_KEY", "SECRET"),
            ],
        ),
    ];
    for (name, url, env) in cases {
        let cache = dir.path().join(name);
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_offline"))
            .arg("init")
            .arg(&url)
            .arg(&cache)
            .env("OFFLINE_NET_TIMEOUT_MS", TIMEOUT_MS.to_string())
            .env("OFFLINE_LOG", "error")
            .env("HOME", dir.path())
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start offline");
        let limit = Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                panic!("{name}: still waiting after {limit:?}: no timeout");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = started.elapsed();
        let mut stderr = String::new();
        use std::io::Read;
        let _ = child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr);
        assert_eq!(status.code(), Some(3), "{name}: {stderr}");
        assert!(stderr.contains("unreachable"), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(
            took >= Duration::from_millis(TIMEOUT_MS),
            "{name}: gave up after {took:?}, before the {TIMEOUT_MS} ms timeout: {stderr}"
        );
        println!("{name}: unreachable after {took:.1?}");
    }
}
