//! The events socket, client side (`offline events`): connect, send the filter, read
//! one JSON event per line.

use crate::events::Filter;
use anyhow::{Context, Result};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// The longest event line read; a longer one (no daemon sends one) is skipped
/// without being held in memory.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// A subscription: yields events as they come.
pub struct Subscription {
    reader: BufReader<UnixStream>,
}

/// Subscribes on `socket` with `filter`. With `wait`, keeps trying until a daemon
/// listens (at most that long).
pub fn subscribe(socket: &Path, filter: &Filter, wait: Option<Duration>) -> Result<Subscription> {
    crate::socket::check_before_subscribing(socket)?;
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
    /// The next event; `None` when the daemon went away. Lines that are no JSON
    /// object, or longer than [`MAX_EVENT_BYTES`], are skipped.
    pub fn next_event(&mut self) -> Option<Value> {
        loop {
            let mut line = Vec::new();
            let limit = MAX_EVENT_BYTES as u64 + 1;
            match (&mut self.reader).take(limit).read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) if line.ends_with(b"\n") => {
                    if let Ok(v) = serde_json::from_slice(&line) {
                        return Some(v);
                    }
                }
                Ok(_) if line.len() > MAX_EVENT_BYTES => {
                    tracing::warn!("an event line longer than {MAX_EVENT_BYTES} bytes was skipped");
                    if !self.skip_line() {
                        return None;
                    }
                }
                // The daemon went away in the middle of a line.
                Ok(_) => return None,
            }
        }
    }

    /// Reads past the rest of the current line; false when the stream ended.
    fn skip_line(&mut self) -> bool {
        loop {
            let (found, len) = match self.reader.fill_buf() {
                Ok([]) | Err(_) => return false,
                Ok(buf) => match buf.iter().position(|&b| b == b'\n') {
                    Some(at) => (true, at + 1),
                    None => (false, buf.len()),
                },
            };
            self.reader.consume(len);
            if found {
                return true;
            }
        }
    }
}
