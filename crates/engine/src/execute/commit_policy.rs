//! When the executor commits the base changes it has queued during a run: by the
//! clock and a count (the default), or after every N items and never by the clock
//! (`OFFLINE_COMMIT_EVERY=N`), so that a run passes the same crash points in the same
//! order every time, whatever the speed of the machine (the crash tests need that).

use std::time::{Duration, Instant};

/// Pending base changes are committed at least this often by default.
const COMMIT_EVERY_CHANGES: usize = 512;
const COMMIT_EVERY: Duration = Duration::from_secs(2);
/// The variable that sets a commit after every N items.
pub(super) const COMMIT_EVERY_VAR: &str = "OFFLINE_COMMIT_EVERY";

/// When queued base changes are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CommitPolicy {
    /// After 512 queued changes or 2 s since the last commit, whichever comes first.
    Timed,
    /// After every N finished items, never by the clock.
    EveryItems(usize),
}

impl CommitPolicy {
    /// The policy the environment asks for (`OFFLINE_COMMIT_EVERY=N`), else timed.
    pub(super) fn from_env() -> CommitPolicy {
        match crate::env_count(COMMIT_EVERY_VAR, usize::MAX, 0) {
            0 => CommitPolicy::Timed,
            n => CommitPolicy::EveryItems(n),
        }
    }

    /// True when a commit is due after an item ended, with `pending` changes queued,
    /// `items` items ended and the clock at `since` since the last commit.
    pub(super) fn due(self, pending: usize, items: usize, since: Duration) -> bool {
        match self {
            CommitPolicy::Timed => pending >= COMMIT_EVERY_CHANGES || since >= COMMIT_EVERY,
            CommitPolicy::EveryItems(n) => items >= n,
        }
    }
}

/// The clock and count since the last commit, and the policy that reads them.
#[derive(Debug)]
pub(super) struct CommitClock {
    policy: CommitPolicy,
    last: Instant,
    items: usize,
}

impl CommitClock {
    pub(super) fn new(policy: CommitPolicy) -> CommitClock {
        CommitClock {
            policy,
            last: Instant::now(),
            items: 0,
        }
    }

    /// One item ended; true when the queued changes should be committed now.
    pub(super) fn item_ended(&mut self, pending: usize) -> bool {
        self.items += 1;
        self.policy.due(pending, self.items, self.last.elapsed())
    }

    /// The policy it follows.
    pub(super) fn policy(&self) -> CommitPolicy {
        self.policy
    }

    /// A commit was made.
    pub(super) fn committed(&mut self) {
        self.last = Instant::now();
        self.items = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_commits_ignore_the_clock() {
        let policy = CommitPolicy::EveryItems(3);
        assert!(!policy.due(10_000, 2, Duration::from_secs(3600)));
        assert!(policy.due(0, 3, Duration::ZERO));
    }

    #[test]
    fn timed_commits_follow_the_clock_or_the_queue() {
        let policy = CommitPolicy::Timed;
        assert!(!policy.due(1, 1000, Duration::from_millis(10)));
        assert!(policy.due(1, 1, COMMIT_EVERY));
        assert!(policy.due(COMMIT_EVERY_CHANGES, 1, Duration::ZERO));
    }

    #[test]
    fn the_clock_counts_items_from_the_last_commit() {
        let mut clock = CommitClock::new(CommitPolicy::EveryItems(2));
        assert!(!clock.item_ended(1));
        assert!(clock.item_ended(2));
        clock.committed();
        assert!(!clock.item_ended(1));
    }
}
