//! The `offline` command: a client-side cache of a share, synchronized both ways.
//! Parses the command line, calls the Cache API, prints, and maps errors to exit codes
//! (0 done; 1 items failed or conflicts remain; 2 bad usage or no cache; 3 share
//! unreachable or disconnected).

mod args;
mod commands;
mod exclude;
mod extras;
mod json;
mod printer;
mod service;
mod term;
mod ui;

use args::Cli;
use clap::Parser;
use offline_core::escape_terminal;
use offline_engine::EngineError;
use std::io::IsTerminal;
use std::process::ExitCode;

/// Exit status: everything was done.
pub const EXIT_OK: u8 = 0;
/// Exit status: some items failed or conflicts remain.
pub const EXIT_INCOMPLETE: u8 = 1;
/// Exit status: bad usage, or the cache cannot be opened.
pub const EXIT_USAGE: u8 = 2;
/// Exit status: the share is unreachable or disconnected; nothing was changed.
pub const EXIT_UNREACHABLE: u8 = 3;

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    service::set_lock_wait(&cli.command);
    if let Some(dir) = &cli.dir {
        if let Err(e) = std::env::set_current_dir(dir) {
            let shown = format!("cannot use -C {}: {e}", dir.display());
            eprintln!("offline: {}", escape_terminal(&shown));
            return ExitCode::from(EXIT_USAGE);
        }
    }
    match commands::run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("offline: {}", escape_terminal(&format!("{err:#}")));
            ExitCode::from(exit_code_of(&err))
        }
    }
}

/// What this program logs by default: its own warnings, one plain line each.
const DEFAULT_LOG: &str = "off,offline=warn";

/// Logging on stderr. By default only this program's own warnings (its crates'
/// targets all start with `offline`); the libraries' logs (OpenDAL's retries, say)
/// only when asked for with `OFFLINE_LOG` or `RUST_LOG` (e.g. `OFFLINE_LOG=debug`).
/// Colour only on a terminal, never with `NO_COLOR`. Errors capture no backtrace
/// unless the log level asked for is `debug` or `trace`, whatever `RUST_BACKTRACE`
/// says.
fn init_logging() {
    let asked = ["OFFLINE_LOG", "RUST_LOG"]
        .iter()
        .find_map(|key| std::env::var(key).ok().filter(|v| !v.trim().is_empty()));
    let verbose = asked
        .as_deref()
        .is_some_and(|v| v.contains("debug") || v.contains("trace"));
    if !verbose {
        // Read by std's (and anyhow's, and OpenDAL's) backtrace capture; set before
        // any other thread exists.
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    let filter = asked
        .and_then(|spec| tracing_subscriber::EnvFilter::try_new(spec).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(DEFAULT_LOG));
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .init();
}

/// The exit status for an error that stopped a command.
fn exit_code_of(err: &anyhow::Error) -> u8 {
    match err.downcast_ref::<EngineError>() {
        Some(EngineError::Unreachable { .. } | EngineError::Disconnected { .. }) => {
            EXIT_UNREACHABLE
        }
        // A full disk under the state database: the command could not finish, the
        // cache is sound (nothing was lost).
        Some(EngineError::Store(offline_store::StoreError::DiskFull { .. })) => EXIT_INCOMPLETE,
        Some(
            EngineError::NotACache { .. }
            | EngineError::AlreadyACache { .. }
            | EngineError::Usage(_)
            | EngineError::Store(_),
        ) => EXIT_USAGE,
        Some(_) => EXIT_INCOMPLETE,
        None => EXIT_USAGE,
    }
}
