//! The events socket, client side (`offline events`): connect, send the filter, read
//! one JSON event per line.

use crate::events::Filter;
use anyhow::{Context, Result};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// A subscription: yields events as they come.
pub struct Subscription {
    reader: BufReader<UnixStream>,
}

/// Subscribes on `socket` with `filter`. With `wait`, keeps trying until a daemon
/// listens (at most that long).
pub fn subscribe(socket: &Path, filter: &Filter, wait: Option<Duration>) -> Result<Subscription> {
    let started = Instant::now();
    let mut stream = loop {
        match UnixStream::connect(socket) {
            Ok(s) => break s,
            Err(e) => {
                if wait.is_some_and(|w| started.elapsed() < w) {
                    std::thread::sleep(Duration::from_millis(100));
                    continue;
                }
                return Err(e).with_context(|| {
                    format!(
                        "no offline daemon publishes events on {} (start one with `offline daemon CACHE`)",
                        socket.display()
                    )
                });
            }
        }
    };
    let mut line = filter.to_json().to_string();
    line.push('\n');
    stream
        .write_all(line.as_bytes())
        .context("sending the subscription")?;
    Ok(Subscription {
        reader: BufReader::new(stream),
    })
}

impl Subscription {
    /// The next event; `None` when the daemon went away.
    pub fn next_event(&mut self) -> Option<Value> {
        loop {
            let mut line = String::new();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {
                    if let Ok(v) = serde_json::from_str(line.trim_end()) {
                        return Some(v);
                    }
                }
            }
        }
    }
}
