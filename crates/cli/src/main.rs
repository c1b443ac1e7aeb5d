//! The `offline` command: a client-side cache of a share, synchronized both ways.
//! Parses the command line, calls the Cache API, prints, and maps errors to exit codes
//! (0 done; 1 items failed or conflicts remain; 2 bad usage or no cache; 3 share
//! unreachable or disconnected).

mod args;
mod commands;
mod json;
mod printer;
mod service;

use args::Cli;
use clap::Parser;
use offline_engine::EngineError;
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
            eprintln!("offline: cannot use -C {}: {e}", dir.display());
            return ExitCode::from(EXIT_USAGE);
        }
    }
    match commands::run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("offline: {err:#}");
            ExitCode::from(exit_code_of(&err))
        }
    }
}

fn init_logging() {
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("OFFLINE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // The SMB client's libraries tell every connection and logon at `info`: only
    // their warnings, unless OFFLINE_LOG names them.
    let asked = std::env::var("OFFLINE_LOG").unwrap_or_default();
    for chatty in ["smb", "smb_transport", "sspi"] {
        if !asked.contains(chatty) {
            if let Ok(directive) = format!("{chatty}=warn").parse() {
                filter = filter.add_directive(directive);
            }
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// The exit status for an error that stopped a command.
fn exit_code_of(err: &anyhow::Error) -> u8 {
    match err.downcast_ref::<EngineError>() {
        Some(EngineError::Unreachable { .. } | EngineError::Disconnected { .. }) => {
            EXIT_UNREACHABLE
        }
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
