//! A few threads running one kind of job: jobs go in on a channel, each comes back
//! with its answer. The copy pool (`execute::parallel`) and the listings read ahead
//! (`read_ahead`) are built on it. A job that panics is answered by `on_panic`, so
//! nobody waits for an answer that never comes.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::Scope;

/// Starts `threads` workers (at least one) in `scope`, each running `work` on the
/// jobs sent to the returned sender until it is dropped. Answers come back as
/// `(job, answer)`, in the order they end.
pub(crate) fn start<'scope, J, R, W>(
    scope: &'scope Scope<'scope, '_>,
    threads: usize,
    work: W,
    on_panic: fn(&J) -> R,
) -> (Sender<J>, Receiver<(J, R)>)
where
    J: Send + 'scope,
    R: Send + 'scope,
    W: Fn(&J) -> R + Send + Sync + 'scope,
{
    let (jobs, job_rx) = channel::<J>();
    let (done_tx, done) = channel();
    let job_rx = Arc::new(Mutex::new(job_rx));
    let work = Arc::new(work);
    for _ in 0..threads.max(1) {
        let job_rx = Arc::clone(&job_rx);
        let done_tx = done_tx.clone();
        let work = Arc::clone(&work);
        scope.spawn(move || loop {
            let next = match job_rx.lock() {
                Ok(rx) => rx.recv(),
                Err(poisoned) => poisoned.into_inner().recv(),
            };
            let Ok(job) = next else {
                return;
            };
            let answer =
                catch_unwind(AssertUnwindSafe(|| work(&job))).unwrap_or_else(|_| on_panic(&job));
            if done_tx.send((job, answer)).is_err() {
                return;
            }
        });
    }
    (jobs, done)
}
