//! Around the command line: shell completions (`offline completions bash|zsh|fish|...`,
//! by clap_complete) and manual pages (`offline man`, by clap_mangen), both made from
//! the same clap definition the binary parses with, so they never drift from it.

use crate::args::Cli;
use crate::EXIT_OK;
use anyhow::{Context, Result};
use clap::{Args, CommandFactory};
use std::io::Write;
use std::path::PathBuf;

/// `offline completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `offline man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write offline.1 and a page per command (offline-sync.1 ...) into this folder
    /// (e.g. ~/.local/share/man/man1) instead of printing offline(1).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `offline completions SHELL`: the completion script on stdout.
pub fn completions(args: CompletionsArgs) -> Result<u8> {
    let mut command = Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut command, "offline", &mut out);
    out.flush().context("writing the completions")?;
    Ok(EXIT_OK)
}

/// `offline man [--dir DIR]`.
pub fn man(args: ManArgs) -> Result<u8> {
    let command = Cli::command();
    match args.dir {
        None => {
            let mut out = std::io::stdout().lock();
            clap_mangen::Man::new(command)
                .render(&mut out)
                .context("writing the manual page")?;
            out.flush().context("writing the manual page")?;
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(command, &dir)
                .with_context(|| format!("writing the manual pages into {}", dir.display()))?;
            println!("wrote the manual pages into {}", dir.display());
        }
    }
    Ok(EXIT_OK)
}
