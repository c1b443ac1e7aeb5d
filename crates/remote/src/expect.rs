//! Safety rule 2 for every backend: a precondition ([`Expect`]) checked against
//! what a backend found at the path right before a change, failing with
//! [`ErrorKind::Changed`]. The rule itself is [`Expect::check`]; this gives its
//! answer the remote error type, so each backend only says what it stat-ed.

use crate::error::{ErrorKind, RemoteError, Result};
use offline_core::{Expect, RelPath};

/// [`Expect::check`] with a [`RemoteError`] naming the path.
pub trait CheckExpect {
    /// Checks the precondition against the identity of what is at `path` now
    /// (`None`: nothing is there); fails with [`ErrorKind::Changed`] saying what
    /// changed since the scan.
    fn verify(&self, path: &RelPath, current: Option<&str>) -> Result<()>;
}

impl CheckExpect for Expect {
    fn verify(&self, path: &RelPath, current: Option<&str>) -> Result<()> {
        self.check(current)
            .map_err(|why| RemoteError::new(ErrorKind::Changed, path, why))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_precondition_is_a_change_on_the_path() {
        let path = RelPath::new(b"a/b").unwrap();
        let err = Expect::Absent.verify(&path, Some("x")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Changed);
        assert_eq!(err.path, path);
        let err = Expect::Identity("x".into())
            .verify(&path, Some("y"))
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::Changed);
        assert!(Expect::Identity("x".into())
            .verify(&path, Some("x"))
            .is_ok());
        assert!(Expect::Any.verify(&path, None).is_ok());
    }
}
