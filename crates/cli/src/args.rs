//! The command line, as clap parses it.

use clap::{Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

/// A client-side cache of a share that you keep working in when the share is slow or
/// gone, synchronized both ways without losing a change.
#[derive(Debug, Parser)]
#[command(name = "offline", version, about)]
pub struct Cli {
    /// Run as if started in DIR (like git -C).
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Make CACHE_DIR a new cache of the share SHARE (a folder or a URL). Copies
    /// nothing: the first sync does.
    Init {
        /// The share: a folder (a mounted SMB/NFS/sshfs share, or any folder), or a
        /// URL: webdav://host[:port]/path, webdavs://..., sftp://user@host[:port]/path,
        /// s3://bucket/prefix (see the README's "Remote shares").
        share: OsString,
        /// The cache folder you will work in (created if missing).
        cache_dir: PathBuf,
        /// Pin nothing: items stay known by name only until pinned or fetched.
        #[arg(long)]
        no_pin: bool,
    },
    /// Synchronize the cache with its share, both ways.
    Sync {
        /// Only these files or folders (default: everything).
        paths: Vec<PathBuf>,
        /// How conflicts (both sides changed) are settled.
        #[arg(long, value_enum, default_value_t = PolicyArg::Log)]
        policy: PolicyArg,
        /// Print the plan and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Which way changes may go.
        #[arg(long, value_enum, default_value_t = DirectionArg::Both)]
        direction: DirectionArg,
        /// Go on even when the sync would delete more than half of a side, or the
        /// share lists empty.
        #[arg(long)]
        force: bool,
        /// Stop when the sync would delete more than this percentage of a side's
        /// items (default 50).
        #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u32).range(0..=100))]
        max_delete: Option<u32>,
        /// Write one JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Show the share's connect state and what waits to be synced.
    Status {
        /// Write JSON.
        #[arg(long)]
        json: bool,
    },
    /// List items with their cache state.
    Ls {
        /// The folder to list (default: the cache root or the current folder).
        path: Option<PathBuf>,
        /// Write one JSON object per line.
        #[arg(long)]
        json: bool,
        /// List every descendant, not only the children.
        #[arg(long)]
        flat: bool,
        /// Only items with any of these states.
        #[arg(long, value_enum, value_delimiter = ',')]
        filter: Vec<FilterArg>,
    },
    /// Keep files or folders available offline (deep: later items inside too).
    Pin {
        /// What to pin.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Record the pin only; the next sync brings the content.
        #[arg(long)]
        no_fill: bool,
        /// Who pins it.
        #[arg(long, value_enum, default_value_t = SourceArg::User)]
        source: SourceArg,
        /// Write one JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Remove a pin; the content stays, auto-cached, until evicted.
    Unpin {
        /// What to unpin.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Whose pin to remove.
        #[arg(long, value_enum, default_value_t = SourceArg::User)]
        source: SourceArg,
    },
    /// Bring the content of ghosts into the cache without pinning them.
    Fetch {
        /// What to fetch.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Write one JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Drop clean cache copies (they become ghosts); changed ones are kept.
    Evict {
        /// What to evict.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Drop changed copies too (their bytes are moved to .offline/discarded/).
        #[arg(long)]
        discard_changes: bool,
        /// Write JSON.
        #[arg(long)]
        json: bool,
    },
    /// Work offline on purpose: syncs refuse until `offline reconnect`.
    Disconnect,
    /// Stop working offline on purpose and check the share.
    Reconnect,
    /// Run the service in the foreground: keep caches in sync in the background
    /// (scheduled syncs, local changes pushed at once, automatic reconnect).
    Daemon(crate::service::DaemonArgs),
    /// Print the service's events as they happen (Windows' event ids and names).
    Events(crate::service::EventsArgs),
    /// Show the whole share as a folder (FUSE): cached items from the cache, ghosts
    /// fetched when opened.
    Mount(crate::service::MountArgs),
    /// Print the address of the Sync Center, the daemon's web page, with its login
    /// token (--open: open it in the browser).
    Ui(crate::ui::UiArgs),
    /// Print a shell's completion script (bash, zsh, fish, elvish, powershell).
    Completions(crate::extras::CompletionsArgs),
    /// Print the manual page, or write every page into a folder (--dir).
    Man(crate::extras::ManArgs),
    /// Show or set the cache's space limits, copies in flight and daemon schedule.
    Config {
        /// Total size of cached content (e.g. 500M, 2G; 0: no limit).
        #[arg(long, value_parser = parse_size)]
        limit: Option<u64>,
        /// Size of auto-cached (fetched, unpinned) content (0: no limit).
        #[arg(long, value_parser = parse_size)]
        auto_cache_limit: Option<u64>,
        /// File copies a sync runs at once (1 to 64; default 4).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
        transfers: Option<u16>,
        /// Write JSON.
        #[arg(long)]
        json: bool,
        /// The daemon's schedule for this cache.
        #[command(flatten)]
        service: crate::service::ConfigArgs,
        /// What never syncs.
        #[command(flatten)]
        exclude: crate::exclude::ExcludeArgs,
    },
    /// Say whether each path is excluded from syncing, and by which pattern in which
    /// file (as `git check-ignore -v`: SOURCE:LINE:PATTERN, a tab, the path). Exit 0
    /// when a path is excluded, 1 when none is.
    CheckIgnore {
        /// The paths to look at (they need not exist).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Accepted for git's sake: the pattern is always shown.
        #[arg(short, long)]
        verbose: bool,
        /// Write one JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// List the unresolved conflicts.
    Conflicts {
        /// Write one JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Settle one conflict.
    Resolve {
        /// The item in conflict.
        path: PathBuf,
        /// Which copy to keep (the other one is kept in .offline/conflicts/, or under
        /// a conflict name with `all`).
        #[arg(long, value_enum)]
        keep: KeepArg,
        /// Write one JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild a missing or damaged state database by a full compare of the cache
    /// and the share with no base: equal items are recorded, one-sided items copied,
    /// differing items become conflicts. Nothing is overwritten; the damaged file is
    /// kept as .offline/state.db.damaged-<UTC time>.
    Repair {
        /// The share, when .offline/share is missing or names the wrong place.
        #[arg(long, value_name = "PATH")]
        share: Option<PathBuf>,
        /// Pin nothing in the rebuilt database (as `init --no-pin`).
        #[arg(long)]
        no_pin: bool,
        /// Rebuild even a state database that opens fine.
        #[arg(long)]
        force: bool,
        /// Write one JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

/// `--policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyArg {
    /// Leave both copies untouched and record the conflict.
    Log,
    /// The cache copy wins.
    KeepLocal,
    /// The share copy wins.
    KeepRemote,
    /// The copy modified last wins.
    KeepLatest,
    /// Keep both, the cache's under a conflict name.
    KeepAll,
}

/// `--direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DirectionArg {
    /// Both ways.
    Both,
    /// Only push cache changes to the share.
    ToServer,
    /// Only bring share changes into the cache.
    ToClient,
}

/// `resolve --keep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeepArg {
    /// The cache copy.
    Local,
    /// The share copy.
    Remote,
    /// The copy modified last.
    Latest,
    /// Both.
    All,
}

/// `--source` of pin and unpin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceArg {
    /// The person.
    User,
    /// All users of the machine.
    AllUsers,
    /// An administrator's policy.
    Policy,
}

/// Reads sizes like `512`, `64K`, `500M`, `2G`, `1T` (powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size (examples: 4096, 64K, 500M, 2G)"))?;
    let factor: u64 = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return Err(format!("`{text}` has an unknown unit (use K, M, G or T)")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too large"))
}

/// `ls --filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FilterArg {
    /// Changed in the cache since the last sync.
    Dirty,
    /// Pinned.
    Pinned,
    /// Known by name only.
    Ghost,
    /// Partly cached.
    Sparse,
    /// In conflict.
    Conflict,
    /// Excluded from syncing (shown with the pattern and its file).
    Excluded,
}
