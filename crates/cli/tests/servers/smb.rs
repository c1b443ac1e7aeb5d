//! Samba's smbd for the SMB tests: its smb.conf with state folders of its own, the
//! test user in its password database, and `smbclient` as another client.

use super::{free_port, require, text, Backend, Server};
use std::fs;
use std::process::{Command, Output, Stdio};

/// The test user's Samba password.
pub const SMB_PASSWORD: &str = "smb-secret-1";

impl Server {
    /// Samba's smbd with one share (`[share]`, the folder `share/`; the cache's share
    /// is its folder `team`), the current user added to its own password database.
    pub(super) fn setup_smb(&mut self, global: &str) {
        require("smbpasswd");
        require("smbd");
        let port = free_port();
        self.ports = vec![port];
        let root = self.dir.path().display().to_string();
        for dir in [
            "share/team",
            "state",
            "private",
            "lock",
            "cache",
            "pid",
            "ncalrpc",
        ] {
            fs::create_dir_all(self.path(dir)).unwrap();
        }
        let conf = format!(
            "[global]
  smb ports = {port}
  interfaces = 127.0.0.1
  bind interfaces only = yes
  state directory = {root}/state
  private dir = {root}/private
  lock directory = {root}/lock
  cache directory = {root}/cache
  pid directory = {root}/pid
  ncalrpc dir = {root}/ncalrpc
  passdb backend = tdbsam:{root}/private/passdb.tdb
  log file = {root}/smbd.log
  log level = 1
  disable netbios = yes
  server role = standalone server
  map to guest = never
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  server min protocol = SMB2_02
{global}[share]
  path = {root}/share
  read only = no
"
        );
        fs::write(self.path("smb.conf"), conf).unwrap();
        let user = smb_user();
        self.set_smb_password(SMB_PASSWORD);
        self.url = format!("smb://{user}@127.0.0.1:{port}/share/team");
        self.env = vec![("OFFLINE_SMB_PASSWORD".into(), SMB_PASSWORD.into())];
    }

    /// Adds the test's user to Samba's password database, or gives it `password`.
    pub fn set_smb_password(&self, password: &str) {
        let mut add = Command::new(require("smbpasswd"))
            .arg("-c")
            .arg(self.path("smb.conf"))
            .args(["-a", "-s", &smb_user()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("smbpasswd");
        {
            use std::io::Write;
            let mut stdin = add.stdin.take().unwrap();
            write!(stdin, "{password}\n{password}\n").unwrap();
        }
        let out = add.wait_with_output().unwrap();
        assert!(out.status.success(), "smbpasswd -a failed: {out:?}");
    }

    /// Runs `smbclient` against the share (`[share]`, whose folder `team` is the
    /// caches' share) with `commands` (`;`-separated), and returns its output.
    pub fn smbclient(&self, commands: &str) -> Output {
        assert_eq!(self.backend, Backend::Smb);
        let out = Command::new(require("smbclient"))
            .arg("-p")
            .arg(self.port().to_string())
            .arg("//127.0.0.1/share")
            .arg("-U")
            .arg(format!("{}%{SMB_PASSWORD}", smb_user()))
            .arg("-c")
            .arg(commands)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "smbclient -c {commands:?} failed\n{}\n{}",
            text(&out),
            self.log()
        );
        out
    }
}

/// The Samba user of the tests: the current user (Samba maps it to a Unix account).
pub fn smb_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "root".into())
}
