//! Helpers of the Sync Center tests: the page's address and token as `offline ui`
//! prints them, a plain HTTP/1.1 client on a TCP socket (so a test sets Host, Origin
//! and Cookie exactly as an attacker would), and a real Chromium driven over
//! WebDriver (chromedriver on a free port, headless, a fresh profile) that saves a
//! screenshot under target/ when its test fails.

#![allow(dead_code)]

use crate::service_support::{wait_until, Fx};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The page of a running daemon.
#[derive(Debug, Clone)]
pub struct Page {
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// The login token.
    pub token: String,
    /// What `offline ui` printed.
    pub login_url: String,
}

impl Page {
    /// The page of the daemon serving `fx`'s cache, from `offline ui`.
    pub fn of(fx: &Fx) -> Page {
        wait_until(
            "daemon.json names the page",
            Duration::from_secs(20),
            || fx.status()["daemon"]["running"] == true,
        );
        let out = fx.run_raw(&["ui"]);
        assert!(
            out.status.success(),
            "offline ui: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert_eq!(line.lines().count(), 1, "one line: {line}");
        let rest = line
            .strip_prefix("http://")
            .unwrap_or_else(|| panic!("an http URL: {line}"));
        let (addr, query) = rest.split_once("/?token=").expect("a token in the URL");
        Page {
            addr: addr.to_string(),
            token: query.to_string(),
            login_url: line.clone(),
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// The login cookie.
    pub fn cookie(&self) -> String {
        format!("offline_ui_{}={}", self.port(), self.token)
    }

    /// `http://ADDR` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    /// A header's value (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request to `addr` with exactly these headers (Host included) and reads
/// the answer (`Connection: close`).
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut stream = TcpStream::connect(addr).expect("connect to the page");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut text = format!("{method} {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        text.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
    }
    text.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    stream.write_all(text.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read the answer");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("an HTTP status line: {head}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

/// A GET with the page's own Host and the login cookie.
pub fn get(page: &Page, path: &str) -> Answer {
    let cookie = page.cookie();
    request(
        &page.addr,
        "GET",
        path,
        &[("Host", &page.addr), ("Cookie", &cookie)],
        "",
    )
}

/// Browser tests run one at a time: each starts a daemon and a Chromium, and the
/// machine has two cores.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

/// Where failed tests leave their screenshots.
pub fn shots_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("sync-center")
}

/// A headless Chromium under chromedriver, for one test.
pub struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<fantoccini::Client>,
    driver: Child,
    _profile: tempfile::TempDir,
    name: String,
    _turn: std::sync::MutexGuard<'static, ()>,
}

fn which(program: &str, fallback: &str) -> String {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| fallback.to_string())
}

impl Browser {
    /// Starts chromedriver on a free port and a fresh headless Chromium.
    pub fn start(name: &str) -> Browser {
        let turn = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
        let driver_bin = which("chromedriver", "/usr/bin/chromedriver");
        let chromium = which("chromium", "/usr/bin/chromium");
        let profile = tempfile::Builder::new()
            .prefix("offline-chromium-")
            .tempdir()
            .unwrap();
        // Everything the browser writes stays in the temp profile (its crash
        // reporter writes under $XDG_CONFIG_HOME even with --user-data-dir).
        let mut driver = Command::new(&driver_bin)
            .arg("--port=0")
            .env("HOME", profile.path())
            .env("XDG_CONFIG_HOME", profile.path().join("config"))
            .env("XDG_CACHE_HOME", profile.path().join("cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("start {driver_bin} (Debian's chromium-driver; .ci/run installs it): {e}")
            });
        let stdout = driver.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let port: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
                    let _ = tx.send(port);
                }
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(p) => p,
            Err(_) => {
                let _ = driver.kill();
                panic!("chromedriver did not say its port within 30 s");
            }
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--disable-breakpad",
                    "--window-size=1200,1000",
                    format!("--user-data-dir={}", profile.path().join("data").display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let client = rt.block_on(async {
            fantoccini::ClientBuilder::new(
                hyper_util::client::legacy::connect::HttpConnector::new(),
            )
            .capabilities(caps)
            .connect(&url)
            .await
        });
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                let _ = driver.kill();
                let _ = driver.wait();
                panic!("no Chromium session through chromedriver: {e}");
            }
        };
        Browser {
            rt,
            client: Some(client),
            driver,
            _profile: profile,
            name: name.to_string(),
            _turn: turn,
        }
    }

    fn c(&self) -> &fantoccini::Client {
        self.client.as_ref().unwrap()
    }

    /// Opens `url`.
    pub fn goto(&self, url: &str) {
        self.rt
            .block_on(self.c().goto(url))
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Runs `script` in the page; its value.
    pub fn js(&self, script: &str) -> serde_json::Value {
        self.rt
            .block_on(self.c().execute(script, vec![]))
            .unwrap_or_else(|e| panic!("run {script}: {e}"))
    }

    /// An attribute of the first element matching `css`, if there is one.
    pub fn attr(&self, css: &str, attr: &str) -> Option<String> {
        let script = format!(
            "var e = document.querySelector({}); return e ? e.getAttribute({}) : null;",
            serde_json::to_string(css).unwrap(),
            serde_json::to_string(attr).unwrap()
        );
        self.js(&script).as_str().map(str::to_string)
    }

    /// The text of the first element matching `css`, if there is one.
    pub fn text(&self, css: &str) -> Option<String> {
        let script = format!(
            "var e = document.querySelector({}); return e ? e.textContent : null;",
            serde_json::to_string(css).unwrap()
        );
        self.js(&script).as_str().map(str::to_string)
    }

    /// How many elements match `css`.
    pub fn count(&self, css: &str) -> usize {
        let script = format!(
            "return document.querySelectorAll({}).length;",
            serde_json::to_string(css).unwrap()
        );
        self.js(&script).as_u64().unwrap_or(0) as usize
    }

    /// Clicks the element matching `css` (found through WebDriver, as a person would).
    pub fn click(&self, css: &str) {
        self.rt
            .block_on(async {
                let el = self.c().find(fantoccini::Locator::Css(css)).await?;
                el.click().await
            })
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Presses Enter on the element matching `css` (the keyboard, no mouse).
    pub fn press_enter(&self, css: &str) {
        self.rt
            .block_on(async {
                let el = self.c().find(fantoccini::Locator::Css(css)).await?;
                el.send_keys(&fantoccini::key::Key::Enter.to_string()).await
            })
            .unwrap_or_else(|e| panic!("press Enter on {css}: {e}"));
    }

    /// Waits until `cond` holds, polling; panics after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, mut cond: impl FnMut(&Browser) -> bool) {
        let started = Instant::now();
        while !cond(self) {
            assert!(
                started.elapsed() < timeout,
                "timed out after {timeout:?} waiting until {what}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sets the window's size.
    pub fn resize(&self, width: u32, height: u32) {
        self.rt
            .block_on(self.c().set_window_size(width, height))
            .unwrap_or_else(|e| panic!("resize: {e}"));
    }

    /// Saves a PNG screenshot of the window.
    pub fn screenshot(&self, path: &Path) {
        let png = self
            .rt
            .block_on(self.c().screenshot())
            .unwrap_or_else(|e| panic!("screenshot: {e}"));
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap();
        }
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            if std::thread::panicking() {
                let path = shots_dir().join(format!("{}.png", self.name));
                match self.rt.block_on(client.screenshot()) {
                    Ok(png) => {
                        let _ = std::fs::create_dir_all(shots_dir());
                        if std::fs::write(&path, png).is_ok() {
                            eprintln!("screenshot of the failed test: {}", path.display());
                        }
                    }
                    Err(e) => eprintln!("no screenshot of the failed test: {e}"),
                }
            }
            let _ = self.rt.block_on(client.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
