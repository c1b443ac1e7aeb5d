//! The events socket, server side: subscribers connect, send their filter as one JSON
//! line, and get every matching event as one JSON line. Publishing never blocks: each
//! subscriber has a bounded queue written by its own thread; when the queue is full
//! the event is dropped and the subscriber later gets a `data_lost` event (25) in its
//! place, carrying how many were dropped. A `ping` (26) goes to every subscriber when
//! it subscribes and then periodically.

use crate::events::{id, Event, Filter};
use anyhow::{Context, Result};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// The longest subscription line (a filter) read from a subscriber.
const MAX_FILTER_BYTES: u64 = 64 * 1024;

/// Events queued for one subscriber at most (`OFFLINE_EVENTS_QUEUE` overrides).
pub const DEFAULT_QUEUE: usize = 4096;

/// The publishing side of the events socket. Cheap to clone.
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Inner>,
}

struct Inner {
    subscribers: Mutex<Vec<Arc<Subscriber>>>,
    capacity: usize,
    socket: Option<PathBuf>,
    /// The (device, inode) of the socket file this bus made: only that file is
    /// removed when it closes.
    made: Option<(u64, u64)>,
}

/// One subscriber: its filter and its queue of lines to write.
pub struct Subscriber {
    filter: Filter,
    queue: Mutex<Queue>,
    ready: Condvar,
    capacity: usize,
}

#[derive(Default)]
struct Queue {
    lines: VecDeque<String>,
    /// Events dropped since the last `data_lost` was queued.
    dropped: u64,
    closed: bool,
}

fn data_lost_line(dropped: u64) -> String {
    Event::new(id::DATA_LOST)
        .with("dropped", dropped)
        .to_json()
        .to_string()
}

impl Subscriber {
    /// A subscriber with a queue of `capacity` events.
    pub fn new(filter: Filter, capacity: usize) -> Subscriber {
        Subscriber {
            filter,
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    /// Queues a line unless the queue is full (then it counts as dropped).
    pub fn push(&self, line: &str) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.closed {
            return;
        }
        if q.lines.len() >= self.capacity {
            q.dropped += 1;
            return;
        }
        if q.dropped > 0 {
            let lost = data_lost_line(q.dropped);
            q.lines.push_back(lost);
            q.dropped = 0;
        }
        q.lines.push_back(line.to_string());
        self.ready.notify_one();
    }

    /// The next line, waiting up to `timeout`; a pending `data_lost` comes when the
    /// queue runs empty. `None` on time-out or once closed.
    pub fn pop(&self, timeout: Duration) -> Option<String> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            // A closed queue is still drained: the last events reach the subscriber.
            if let Some(line) = q.lines.pop_front() {
                return Some(line);
            }
            if q.closed {
                return None;
            }
            if q.dropped > 0 {
                let lost = data_lost_line(q.dropped);
                q.dropped = 0;
                return Some(lost);
            }
            let (next, result) = self
                .ready
                .wait_timeout(q, timeout)
                .unwrap_or_else(|e| e.into_inner());
            q = next;
            if result.timed_out() && q.lines.is_empty() && q.dropped == 0 {
                return None;
            }
        }
    }

    fn close(&self) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.closed = true;
        self.ready.notify_all();
    }

    /// Drops what is queued (the subscriber went away).
    fn abandon(&self) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.closed = true;
        q.lines.clear();
        self.ready.notify_all();
    }

    fn is_drained(&self) -> bool {
        self.queue
            .lock()
            .map(|q| q.lines.is_empty())
            .unwrap_or(true)
    }

    fn is_closed(&self) -> bool {
        self.queue.lock().map(|q| q.closed).unwrap_or(true)
    }
}

impl Bus {
    /// A bus with no socket (events go nowhere unless subscribers are added by hand).
    pub fn detached() -> Bus {
        Bus {
            inner: Arc::new(Inner {
                subscribers: Mutex::new(Vec::new()),
                capacity: queue_capacity(),
                socket: None,
                made: None,
            }),
        }
    }

    /// Listens on `socket`, in a folder made ready by
    /// [`crate::socket::prepare_to_listen`] (the default folder is this user's alone;
    /// only a stale socket is ever replaced). Fails when another daemon already
    /// listens there, or when something else than a socket is in the way.
    pub fn listen(socket: &Path, ping_every: Duration) -> Result<Bus> {
        crate::socket::prepare_to_listen(socket)?;
        let listener = UnixListener::bind(socket)
            .with_context(|| format!("listening on {}", socket.display()))?;
        let _ = std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600));
        let made = crate::socket::identity(socket);
        let bus = Bus {
            inner: Arc::new(Inner {
                subscribers: Mutex::new(Vec::new()),
                capacity: queue_capacity(),
                socket: Some(socket.to_path_buf()),
                made,
            }),
        };
        let accepting = bus.clone();
        std::thread::Builder::new()
            .name("events-accept".into())
            .spawn(move || accepting.accept_loop(listener))?;
        let pinging = bus.clone();
        std::thread::Builder::new()
            .name("events-ping".into())
            .spawn(move || loop {
                std::thread::sleep(ping_every);
                pinging.publish(&Event::new(id::PING));
            })?;
        Ok(bus)
    }

    /// The socket it listens on.
    pub fn socket(&self) -> Option<&Path> {
        self.inner.socket.as_deref()
    }

    /// Sends `event` to every subscriber that wants it; never blocks on a subscriber.
    pub fn publish(&self, event: &Event) {
        tracing::debug!(event = event.name(), "publish");
        let subscribers: Vec<Arc<Subscriber>> = {
            let mut subs = self
                .inner
                .subscribers
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            subs.retain(|s| !s.is_closed());
            subs.clone()
        };
        if subscribers.is_empty() {
            return;
        }
        let line = event.to_json().to_string();
        for sub in subscribers {
            if sub.filter.accepts(event) {
                sub.push(&line);
            }
        }
    }

    /// Adds a subscriber (the socket's threads do this for each connection).
    pub fn add(&self, subscriber: Arc<Subscriber>) {
        self.inner
            .subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(subscriber);
    }

    /// How many subscribers are connected.
    pub fn subscriber_count(&self) -> usize {
        let mut subs = self
            .inner
            .subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        subs.retain(|s| !s.is_closed());
        subs.len()
    }

    /// Removes the socket file and ends every subscription once what is queued has
    /// been written (waiting a second at most): the daemon stops.
    pub fn close(&self) {
        if let Some(socket) = &self.inner.socket {
            crate::socket::remove_own(socket, self.inner.made);
        }
        let subs: Vec<Arc<Subscriber>> = self
            .inner
            .subscribers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
            .collect();
        for sub in &subs {
            sub.close();
        }
        let started = std::time::Instant::now();
        while started.elapsed() < Duration::from_secs(1) && !subs.iter().all(|s| s.is_drained()) {
            std::thread::sleep(Duration::from_millis(10));
        }
        if !subs.is_empty() {
            // The writers' last write_all may still be on its way.
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn accept_loop(self, listener: UnixListener) {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let bus = self.clone();
            let _ = std::thread::Builder::new()
                .name("events-subscriber".into())
                .spawn(move || bus.serve(stream));
        }
    }

    /// Reads the subscriber's filter, then writes its queue until it goes away.
    fn serve(self, stream: UnixStream) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut first = String::new();
        let filter = match stream.try_clone() {
            Ok(read) => {
                // A filter is short; a line without end is not read on and on.
                let _ = BufReader::new(read.take(MAX_FILTER_BYTES)).read_line(&mut first);
                serde_json::from_str(&first)
                    .ok()
                    .and_then(|v| Filter::from_json(&v))
                    .unwrap_or_default()
            }
            Err(_) => return,
        };
        let sub = Arc::new(Subscriber::new(filter, self.inner.capacity));
        // The first line tells the subscriber it is subscribed.
        sub.push(&Event::new(id::PING).to_json().to_string());
        self.add(sub.clone());
        let mut out = stream;
        let _ = out.set_write_timeout(None);
        loop {
            let Some(line) = sub.pop(Duration::from_secs(3600)) else {
                if sub.is_closed() {
                    break;
                }
                continue;
            };
            if out
                .write_all(line.as_bytes())
                .and_then(|_| out.write_all(b"\n"))
                .is_err()
            {
                sub.abandon();
                break;
            }
        }
        let _ = out.shutdown(std::net::Shutdown::Both);
    }
}

fn queue_capacity() -> usize {
    std::env::var("OFFLINE_EVENTS_QUEUE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_QUEUE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn ids(lines: &[String]) -> Vec<u64> {
        lines
            .iter()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["id"]
                    .as_u64()
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn a_full_queue_drops_and_then_says_data_lost() {
        let sub = Subscriber::new(Filter::default(), 3);
        for i in 0..10 {
            sub.push(
                &Event::new(id::SYNC_FILE_RESULT)
                    .with("n", i)
                    .to_json()
                    .to_string(),
            );
        }
        let mut got = Vec::new();
        while let Some(line) = sub.pop(Duration::from_millis(10)) {
            got.push(line);
        }
        // Three queued, then the loss (7 dropped) once the queue ran empty.
        assert_eq!(ids(&got), vec![6, 6, 6, 25]);
        let lost: Value = serde_json::from_str(&got[3]).unwrap();
        assert_eq!(lost["dropped"], 7);
        // Later events come after the data_lost, in order.
        for i in 0..2 {
            sub.push(&Event::new(id::SYNC_END).with("n", i).to_json().to_string());
        }
        assert_eq!(
            ids(&[sub.pop(Duration::from_millis(10)).unwrap()]),
            vec![10]
        );
    }

    #[test]
    fn data_lost_comes_before_events_queued_after_the_loss() {
        let sub = Subscriber::new(Filter::default(), 2);
        for _ in 0..4 {
            sub.push(&Event::new(id::SYNC_BEGIN).to_json().to_string());
        }
        assert!(sub.pop(Duration::from_millis(10)).is_some());
        sub.push(&Event::new(id::SYNC_END).to_json().to_string());
        let mut got = Vec::new();
        while let Some(line) = sub.pop(Duration::from_millis(10)) {
            got.push(line);
        }
        assert_eq!(ids(&got), vec![5, 25, 10]);
    }

    #[test]
    fn publishing_to_a_subscriber_that_never_reads_does_not_block() {
        let bus = Bus::detached();
        let sub = Arc::new(Subscriber::new(Filter::default(), 8));
        bus.add(sub.clone());
        let started = std::time::Instant::now();
        for _ in 0..100_000 {
            bus.publish(&Event::new(id::ITEM_MODIFIED));
        }
        assert!(started.elapsed() < Duration::from_secs(20));
        assert_eq!(sub.queue.lock().unwrap().lines.len(), 8);
    }
}
