//! Tests of the directory backend on real temporary folders.

/// `skip`: a missing prerequisite fails under CI and is printed elsewhere.
#[path = "../../cli/tests/common/skip.rs"]
mod skip;

use filetime::FileTime;
use offline_core::{Kind, RelPath, CACHE_DIR_NAME, TEMP_PREFIX};
use offline_remote::{DirRemote, ErrorKind, Expect, Remote};
use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;
use tempfile::TempDir;

const MTIME: i64 = 1_600_000_000_123_456_789;

fn p(text: &str) -> RelPath {
    RelPath::from_str_lossy(text).unwrap()
}

fn setup() -> (TempDir, DirRemote) {
    let tmp = tempfile::tempdir().unwrap();
    let remote = DirRemote::open(tmp.path(), &[CACHE_DIR_NAME]).unwrap();
    (tmp, remote)
}

fn write(remote: &DirRemote, path: &str, content: &[u8]) -> offline_remote::Written {
    remote
        .write_file(
            &p(path),
            &mut &content[..],
            0o644,
            MTIME,
            None,
            &Expect::Any,
        )
        .unwrap()
}

/// Names starting with the temp prefix anywhere below `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name.as_bytes().starts_with(TEMP_PREFIX) {
            found.push(entry.path().display().to_string());
        }
        if entry.file_type().unwrap().is_dir() {
            found.extend(temp_files(&entry.path()));
        }
    }
    found
}

fn names(remote: &DirRemote, dir: &str) -> Vec<Vec<u8>> {
    let dir = if dir.is_empty() {
        RelPath::root()
    } else {
        p(dir)
    };
    let mut names: Vec<_> = remote
        .list(&dir)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    names.sort();
    names
}

#[test]
fn written_file_round_trips_content_mode_and_exact_mtime() {
    let (tmp, remote) = setup();
    let content = b"hello, offline world";
    let written = remote
        .write_file(
            &p("a.txt"),
            &mut &content[..],
            0o640,
            MTIME,
            None,
            &Expect::Absent,
        )
        .unwrap();
    assert_eq!(written.hash, *blake3::hash(content).as_bytes());

    let stat = remote.stat(&p("a.txt")).unwrap().unwrap();
    assert_eq!(stat, written.stat);
    assert_eq!(stat.meta.kind, Kind::File);
    assert_eq!(stat.meta.size, content.len() as u64);
    assert_eq!(stat.meta.mode, 0o640);
    assert_eq!(stat.meta.mtime_ns, MTIME);
    assert_eq!(stat.meta.hash, None);

    let on_disk = fs::symlink_metadata(tmp.path().join("a.txt")).unwrap();
    assert_eq!(on_disk.mode() & 0o7777, 0o640);
    let mtime = FileTime::from_last_modification_time(&on_disk);
    assert_eq!(
        (mtime.unix_seconds(), mtime.nanoseconds()),
        (1_600_000_000, 123_456_789)
    );
    assert_eq!(fs::read(tmp.path().join("a.txt")).unwrap(), content);

    assert_eq!(
        remote.hash_file(&p("a.txt")).unwrap(),
        (written.hash, content.len() as u64)
    );
    let mut read_back = Vec::new();
    remote
        .open_read(&p("a.txt"))
        .unwrap()
        .read_to_end(&mut read_back)
        .unwrap();
    assert_eq!(read_back, content);
    assert!(temp_files(tmp.path()).is_empty());
}

#[test]
fn pre_1970_mtimes_round_trip() {
    let (_tmp, remote) = setup();
    let written = remote
        .write_file(
            &p("old"),
            &mut &b"x"[..],
            0o600,
            -1_500_000_000,
            None,
            &Expect::Any,
        )
        .unwrap();
    assert_eq!(written.stat.meta.mtime_ns, -1_500_000_000);
    let stat = remote.stat(&p("old")).unwrap().unwrap();
    assert_eq!(stat.meta.mtime_ns, -1_500_000_000);
}

#[test]
fn large_content_is_streamed_in_odd_chunks() {
    /// A reader that hands out at most 1000 bytes per call.
    struct Trickle(Vec<u8>, usize);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(1000).min(self.0.len() - self.1);
            buf[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }
    let (tmp, remote) = setup();
    let data: Vec<u8> = (0..3 * 1024 * 1024 + 7)
        .map(|i| (i * 7 % 256) as u8)
        .collect();
    let hash = *blake3::hash(&data).as_bytes();
    let written = remote
        .write_file(
            &p("big"),
            &mut Trickle(data.clone(), 0),
            0o644,
            MTIME,
            Some(hash),
            &Expect::Absent,
        )
        .unwrap();
    assert_eq!(written.hash, hash);
    assert_eq!(written.stat.meta.size, data.len() as u64);
    assert_eq!(fs::read(tmp.path().join("big")).unwrap(), data);
}

#[test]
fn expect_absent_refuses_to_replace_an_existing_file() {
    let (tmp, remote) = setup();
    fs::write(tmp.path().join("a.txt"), b"person's edit").unwrap();
    let err = remote
        .write_file(
            &p("a.txt"),
            &mut &b"new"[..],
            0o644,
            MTIME,
            None,
            &Expect::Absent,
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Changed, "{err}");
    assert_eq!(
        fs::read(tmp.path().join("a.txt")).unwrap(),
        b"person's edit"
    );
    assert!(temp_files(tmp.path()).is_empty());
}

#[test]
fn expect_identity_replaces_only_what_was_seen() {
    let (tmp, remote) = setup();
    let first = write(&remote, "a.txt", b"one");
    let seen = Expect::Identity(first.stat.identity.clone());

    // Someone edits the file after it was scanned: the identity no longer matches.
    fs::write(tmp.path().join("a.txt"), b"edited").unwrap();
    let err = remote
        .write_file(&p("a.txt"), &mut &b"two"[..], 0o644, MTIME, None, &seen)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Changed, "{err}");
    assert_eq!(fs::read(tmp.path().join("a.txt")).unwrap(), b"edited");

    // With the current identity the replacement goes through.
    let now = remote.stat(&p("a.txt")).unwrap().unwrap();
    assert_ne!(now.identity, first.stat.identity);
    remote
        .write_file(
            &p("a.txt"),
            &mut &b"two"[..],
            0o644,
            MTIME,
            None,
            &Expect::Identity(now.identity),
        )
        .unwrap();
    assert_eq!(fs::read(tmp.path().join("a.txt")).unwrap(), b"two");

    // Identity of something that is gone.
    let err = remote
        .write_file(
            &p("gone"),
            &mut &b"x"[..],
            0o644,
            MTIME,
            None,
            &Expect::Identity("1:2:3.4:5:6".into()),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Changed);
    assert!(!tmp.path().join("gone").exists());
    assert!(temp_files(tmp.path()).is_empty());
}

#[test]
fn hash_mismatch_leaves_the_target_untouched_and_no_temp_file() {
    let (tmp, remote) = setup();
    fs::create_dir(tmp.path().join("d")).unwrap();
    fs::write(tmp.path().join("d/f"), b"old").unwrap();
    let err = remote
        .write_file(
            &p("d/f"),
            &mut &b"new"[..],
            0o644,
            MTIME,
            Some([7; 32]),
            &Expect::Any,
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Changed);
    assert!(err.message.contains("source changed"), "{err}");
    assert_eq!(fs::read(tmp.path().join("d/f")).unwrap(), b"old");
    assert!(temp_files(tmp.path()).is_empty());
}

#[test]
fn write_over_a_folder_is_refused() {
    let (tmp, remote) = setup();
    fs::create_dir(tmp.path().join("d")).unwrap();
    let err = remote
        .write_file(&p("d"), &mut &b"x"[..], 0o644, MTIME, None, &Expect::Any)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::IsADirectory, "{err}");
    assert!(tmp.path().join("d").is_dir());
    assert!(temp_files(tmp.path()).is_empty());
}

#[test]
fn write_into_a_missing_folder_fails_without_creating_it() {
    let (tmp, remote) = setup();
    let err = remote
        .write_file(
            &p("no/such/f"),
            &mut &b"x"[..],
            0o644,
            MTIME,
            None,
            &Expect::Any,
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    assert!(!tmp.path().join("no").exists());
}

#[test]
fn list_skips_temp_files_and_hidden_root_names_only_at_the_root() {
    let (tmp, remote) = setup();
    let root = tmp.path();
    fs::create_dir_all(root.join(".offline/state")).unwrap();
    fs::create_dir_all(root.join("sub/.offline")).unwrap();
    // Temp files of any cache are skipped; a person's file that only starts like
    // one is listed.
    fs::write(
        root.join(".offline-tmp-0000000000000123-0000000000000abc"),
        b"partial",
    )
    .unwrap();
    fs::write(
        root.join("sub/.offline-tmp-0000000000000009-0000000000000009"),
        b"partial",
    )
    .unwrap();
    fs::write(root.join(".offline-tmp-notes"), b"mine").unwrap();
    fs::write(root.join("keep.txt"), b"k").unwrap();
    fs::write(root.join("sub/x"), b"x").unwrap();

    assert_eq!(
        names(&remote, ""),
        vec![
            b".offline-tmp-notes".to_vec(),
            b"keep.txt".to_vec(),
            b"sub".to_vec()
        ]
    );
    assert_eq!(
        names(&remote, "sub"),
        vec![b".offline".to_vec(), b"x".to_vec()]
    );

    let entries = remote.list(&p("sub")).unwrap();
    let nested = entries.iter().find(|e| e.name == b".offline").unwrap();
    assert_eq!(nested.stat.meta.kind, Kind::Dir);
    let x = entries.iter().find(|e| e.name == b"x").unwrap();
    assert_eq!(x.stat, remote.stat(&p("sub/x")).unwrap().unwrap());
}

#[test]
fn non_utf8_names_are_listed_read_and_written() {
    let (tmp, remote) = setup();
    let raw: &[u8] = b"caf\xe9 \xff.txt";
    fs::write(tmp.path().join(OsStr::from_bytes(raw)), b"latin-1").unwrap();
    assert_eq!(names(&remote, ""), vec![raw.to_vec()]);

    let path = RelPath::root().join(raw).unwrap();
    let mut content = Vec::new();
    remote
        .open_read(&path)
        .unwrap()
        .read_to_end(&mut content)
        .unwrap();
    assert_eq!(content, b"latin-1");

    let dir = RelPath::new(b"d\xfe".to_vec()).unwrap();
    remote.make_dir(&dir, 0o755, None, &Expect::Absent).unwrap();
    let file = dir.join(b"\x80\x81").unwrap();
    remote
        .write_file(
            &file,
            &mut &b"bytes"[..],
            0o600,
            MTIME,
            None,
            &Expect::Absent,
        )
        .unwrap();
    let on_disk = tmp.path().join(OsStr::from_bytes(b"d\xfe/\x80\x81"));
    assert_eq!(fs::read(on_disk).unwrap(), b"bytes");
    assert_eq!(remote.list(&dir).unwrap()[0].name, b"\x80\x81".to_vec());
}

#[test]
fn dangling_and_looping_symlinks_are_listed_as_links() {
    let (tmp, remote) = setup();
    let root = tmp.path();
    symlink("nowhere/at/all", root.join("dangling")).unwrap();
    symlink("b", root.join("a")).unwrap();
    symlink("a", root.join("b")).unwrap();

    let entries = remote.list(&RelPath::root()).unwrap();
    assert_eq!(entries.len(), 3);
    for entry in &entries {
        assert_eq!(entry.stat.meta.kind, Kind::Symlink);
    }
    let dangling = entries.iter().find(|e| e.name == b"dangling").unwrap();
    assert_eq!(
        dangling.stat.meta.target.as_deref(),
        Some(&b"nowhere/at/all"[..])
    );
    assert_eq!(dangling.stat.meta.size, 14);
    let a = remote.stat(&p("a")).unwrap().unwrap();
    assert_eq!(a.meta.target.as_deref(), Some(&b"b"[..]));
}

#[test]
fn make_symlink_creates_and_replaces_a_link_with_its_own_mtime() {
    let (tmp, remote) = setup();
    let stat = remote
        .make_symlink(&p("link"), b"target/file", Some(MTIME), &Expect::Absent)
        .unwrap();
    assert_eq!(stat.meta.kind, Kind::Symlink);
    assert_eq!(stat.meta.mtime_ns, MTIME);
    assert_eq!(
        fs::read_link(tmp.path().join("link")).unwrap(),
        Path::new("target/file")
    );

    let err = remote
        .make_symlink(&p("link"), b"other", None, &Expect::Absent)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Changed);
    remote
        .make_symlink(&p("link"), b"other", None, &Expect::Identity(stat.identity))
        .unwrap();
    assert_eq!(
        fs::read_link(tmp.path().join("link")).unwrap(),
        Path::new("other")
    );
    assert!(temp_files(tmp.path()).is_empty());
}

#[test]
fn remove_removes_the_link_not_its_target() {
    let (tmp, remote) = setup();
    fs::create_dir(tmp.path().join("dir")).unwrap();
    fs::write(tmp.path().join("dir/file"), b"keep me").unwrap();
    symlink("dir", tmp.path().join("to-dir")).unwrap();
    symlink("dir/file", tmp.path().join("to-file")).unwrap();

    remote.remove(&p("to-dir"), &Expect::Any).unwrap();
    remote.remove(&p("to-file"), &Expect::Any).unwrap();
    assert!(fs::symlink_metadata(tmp.path().join("to-dir")).is_err());
    assert!(fs::symlink_metadata(tmp.path().join("to-file")).is_err());
    assert_eq!(fs::read(tmp.path().join("dir/file")).unwrap(), b"keep me");
}

#[test]
fn open_read_does_not_follow_a_symlink() {
    let (tmp, remote) = setup();
    fs::write(tmp.path().join("real"), b"secret").unwrap();
    symlink("real", tmp.path().join("link")).unwrap();
    let err = remote.open_read(&p("link")).err().unwrap();
    assert_eq!(err.kind, ErrorKind::Loop, "{err}");
    assert!(remote.hash_file(&p("link")).is_err());
    let err = remote.open_read(&RelPath::root()).err().unwrap();
    assert_eq!(err.kind, ErrorKind::IsADirectory);
}

#[test]
fn paths_through_a_symlinked_folder_are_not_followed() {
    let (tmp, remote) = setup();
    let outside = tempfile::tempdir().unwrap();
    fs::write(outside.path().join("f"), b"outside").unwrap();
    symlink(outside.path(), tmp.path().join("escape")).unwrap();

    assert_eq!(remote.stat(&p("escape/f")).unwrap(), None);
    let err = remote
        .write_file(
            &p("escape/new"),
            &mut &b"x"[..],
            0o644,
            MTIME,
            None,
            &Expect::Any,
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Loop, "{err}");
    assert!(remote.remove(&p("escape/f"), &Expect::Any).is_err());
    assert!(remote.list(&p("escape")).is_err());
    assert!(remote.open_read(&p("escape/f")).is_err());
    assert_eq!(fs::read(outside.path().join("f")).unwrap(), b"outside");
    assert!(!outside.path().join("new").exists());
    assert!(temp_files(outside.path()).is_empty());
}

#[test]
fn stat_of_missing_items_is_none_and_the_root_is_a_folder() {
    let (tmp, remote) = setup();
    fs::write(tmp.path().join("file"), b"x").unwrap();
    assert_eq!(remote.stat(&p("missing")).unwrap(), None);
    assert_eq!(remote.stat(&p("missing/child")).unwrap(), None);
    assert_eq!(remote.stat(&p("file/child")).unwrap(), None);
    let root = remote.stat(&RelPath::root()).unwrap().unwrap();
    assert_eq!(root.meta.kind, Kind::Dir);
}

#[test]
fn remove_refuses_non_empty_folders_and_changed_items() {
    let (tmp, remote) = setup();
    fs::create_dir_all(tmp.path().join("full/inner")).unwrap();
    let err = remote.remove(&p("full"), &Expect::Any).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotEmpty, "{err}");
    assert!(tmp.path().join("full/inner").is_dir());

    let seen = write(&remote, "f", b"one").stat.identity;
    fs::write(tmp.path().join("f"), b"changed by a person").unwrap();
    let err = remote.remove(&p("f"), &Expect::Identity(seen)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Changed);
    assert!(tmp.path().join("f").exists());

    let err = remote.remove(&p("absent"), &Expect::Any).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);

    let inner = remote.stat(&p("full/inner")).unwrap().unwrap();
    remote
        .remove(&p("full/inner"), &Expect::Identity(inner.identity))
        .unwrap();
    assert!(!tmp.path().join("full/inner").exists());
    let now = remote.stat(&p("f")).unwrap().unwrap();
    remote
        .remove(&p("f"), &Expect::Identity(now.identity))
        .unwrap();
    assert!(!tmp.path().join("f").exists());
}

#[test]
fn rename_never_replaces() {
    let (tmp, remote) = setup();
    write(&remote, "a", b"A");
    write(&remote, "b", b"B");
    let err = remote.rename(&p("a"), &p("b")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::AlreadyExists, "{err}");
    assert_eq!(err.path, p("b"));
    assert_eq!(fs::read(tmp.path().join("a")).unwrap(), b"A");
    assert_eq!(fs::read(tmp.path().join("b")).unwrap(), b"B");

    remote
        .make_dir(&p("d"), 0o755, None, &Expect::Absent)
        .unwrap();
    remote.rename(&p("a"), &p("d/a2")).unwrap();
    assert!(!tmp.path().join("a").exists());
    assert_eq!(fs::read(tmp.path().join("d/a2")).unwrap(), b"A");
    let err = remote.rename(&p("a"), &p("c")).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[test]
fn set_attrs_sets_mode_and_mtime_and_leaves_link_targets_alone() {
    let (tmp, remote) = setup();
    let first = write(&remote, "f", b"x");
    let stat = remote
        .set_attrs(
            &p("f"),
            Some(0o600),
            Some(42_000_000_007),
            &Expect::Identity(first.stat.identity.clone()),
        )
        .unwrap();
    assert_eq!(stat.meta.mode, 0o600);
    assert_eq!(stat.meta.mtime_ns, 42_000_000_007);
    assert_ne!(stat.identity, first.stat.identity);
    assert_eq!(
        fs::metadata(tmp.path().join("f")).unwrap().mode() & 0o7777,
        0o600
    );

    let err = remote
        .set_attrs(
            &p("f"),
            Some(0o644),
            None,
            &Expect::Identity(first.stat.identity),
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Changed);

    symlink("f", tmp.path().join("link")).unwrap();
    let link = remote
        .set_attrs(&p("link"), Some(0o777), Some(MTIME), &Expect::Any)
        .unwrap();
    assert_eq!(link.meta.kind, Kind::Symlink);
    assert_eq!(link.meta.mtime_ns, MTIME);
    let target = remote.stat(&p("f")).unwrap().unwrap();
    assert_eq!(target.meta.mode, 0o600);
    assert_eq!(target.meta.mtime_ns, 42_000_000_007);
}

#[test]
fn make_dir_applies_the_exact_mode_and_checks_what_is_there() {
    let (tmp, remote) = setup();
    let stat = remote
        .make_dir(&p("open"), 0o777, Some(MTIME), &Expect::Absent)
        .unwrap();
    assert_eq!(stat.meta.kind, Kind::Dir);
    assert_eq!(stat.meta.mode, 0o777, "the umask must not apply");
    assert_eq!(stat.meta.mtime_ns, MTIME);
    assert_eq!(
        fs::metadata(tmp.path().join("open")).unwrap().mode() & 0o7777,
        0o777
    );

    let again = remote
        .make_dir(&p("open"), 0o750, None, &Expect::Any)
        .unwrap();
    assert_eq!(again.meta.mode, 0o750);
    let err = remote
        .make_dir(&p("open"), 0o750, None, &Expect::Absent)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Changed);

    write(&remote, "file", b"x");
    let err = remote
        .make_dir(&p("file"), 0o755, None, &Expect::Any)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::AlreadyExists);
    assert!(tmp.path().join("file").is_file());
}

#[test]
fn listing_an_unreadable_folder_is_permission_denied() {
    let (tmp, remote) = setup();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::create_dir(tmp.path().join("locked")).unwrap();
    fs::write(tmp.path().join("locked/inside"), b"x").unwrap();
    fs::set_permissions(tmp.path().join("locked"), fs::Permissions::from_mode(0o000)).unwrap();

    let still_readable = fs::read_dir(tmp.path().join("locked")).is_ok();
    if !still_readable {
        let err = remote.list(&p("locked")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::PermissionDenied, "{err}");
        assert_eq!(err.path, p("locked"));
        return;
    }
    // Root reads any folder: look from a thread that gave up root (Linux keeps
    // credentials per thread at the system-call level).
    let root = tmp.path().to_path_buf();
    let result = std::thread::spawn(move || {
        rustix::thread::set_thread_uid(rustix::fs::Uid::from_raw(65534))
            .map(|()| DirRemote::open(&root, &[]).and_then(|remote| remote.list(&p("locked"))))
    })
    .join()
    .unwrap();
    match result {
        Ok(listed) => {
            let err = listed.unwrap_err();
            assert_eq!(err.kind, ErrorKind::PermissionDenied, "{err}");
            assert_eq!(err.path, p("locked"));
            assert!(err.hint().contains("permissions"));
        }
        Err(errno) => {
            skip::skip(&format!(
                "cannot drop root ({errno}) and chmod 000 does not stop root: the permission error cannot be made here"
            ));
        }
    }
    fs::set_permissions(tmp.path().join("locked"), fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn remove_temp_files_cleans_every_depth_and_nothing_else() {
    let (tmp, remote) = setup();
    let root = tmp.path();
    let own = |n: u64| OsStr::from_bytes(&remote.temp_tag().temp_name(n)).to_owned();
    let other = ".offline-tmp-00000000000000ff-0000000000000001";
    fs::create_dir_all(root.join("a/b/c")).unwrap();
    fs::create_dir_all(root.join(".offline")).unwrap();
    for dir in ["", "a", "a/b/c"] {
        fs::write(root.join(dir).join(own(1)), b"partial").unwrap();
        fs::write(root.join(dir).join("real"), b"kept").unwrap();
    }
    symlink("x", root.join("a/b").join(own(2))).unwrap();
    fs::write(root.join(".offline").join(own(3)), b"hidden folder").unwrap();
    // Another cache's temp file and a person's file named like one stay.
    fs::write(root.join("a").join(other), b"in flight").unwrap();
    fs::write(root.join("a/.offline-tmp-mine"), b"a person's").unwrap();

    assert_eq!(remote.remove_temp_files().unwrap(), 4);
    for dir in ["", "a", "a/b/c"] {
        assert!(root.join(dir).join("real").exists());
    }
    let mut left = temp_files(root);
    left.sort();
    let mut expected = vec![
        root.join(".offline").join(own(3)).display().to_string(),
        root.join("a").join(other).display().to_string(),
        root.join("a/.offline-tmp-mine").display().to_string(),
    ];
    expected.sort();
    assert_eq!(left, expected);
    assert_eq!(remote.remove_temp_files().unwrap(), 0);
}

#[test]
fn a_missing_root_is_unreachable() {
    let tmp = tempfile::tempdir().unwrap();
    let err = DirRemote::open(tmp.path().join("missing"), &[]).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unreachable, "{err}");
    fs::write(tmp.path().join("file"), b"x").unwrap();
    let err = DirRemote::open(tmp.path().join("file"), &[]).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unreachable);

    // A root that disappears later (an unmounted share) is unreachable too, not empty.
    fs::create_dir(tmp.path().join("share")).unwrap();
    let remote = DirRemote::open(tmp.path().join("share"), &[]).unwrap();
    fs::remove_dir(tmp.path().join("share")).unwrap();
    assert_eq!(
        remote.list(&RelPath::root()).unwrap_err().kind,
        ErrorKind::Unreachable
    );
    assert_eq!(
        remote.stat(&p("x")).unwrap_err().kind,
        ErrorKind::Unreachable
    );
}

#[test]
fn identity_follows_content_changes() {
    let (tmp, remote) = setup();
    let first = write(&remote, "f", b"one");
    assert_eq!(
        remote.stat(&p("f")).unwrap().unwrap().identity,
        first.stat.identity
    );
    fs::write(tmp.path().join("f"), b"two").unwrap();
    assert_ne!(
        remote.stat(&p("f")).unwrap().unwrap().identity,
        first.stat.identity
    );
    assert_eq!(remote.describe(), tmp.path().display().to_string());
    assert_eq!(remote.full_path(&p("f")), tmp.path().join("f"));
    assert_eq!(remote.full_path(&RelPath::root()), tmp.path());
    assert!(remote.capabilities().rename);
}

#[test]
fn the_root_cannot_be_removed_or_replaced() {
    let (tmp, remote) = setup();
    let err = remote.remove(&RelPath::root(), &Expect::Any).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NameNotAllowed);
    let err = remote
        .write_file(
            &RelPath::root(),
            &mut &b"x"[..],
            0o644,
            MTIME,
            None,
            &Expect::Any,
        )
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NameNotAllowed);
    assert!(tmp.path().is_dir());
}
