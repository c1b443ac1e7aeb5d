//! A fence around library code that reads server answers: a panic inside it is
//! caught, reported as an error of that one call, and kept off the terminal (it is
//! logged at debug level). A panic anywhere else is printed as usual.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// True while this thread runs guarded code.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `call`; a panic in it becomes `Err` with the panic's message.
pub(crate) fn catch<T>(call: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    let was = GUARDED.with(|g| g.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(call));
    GUARDED.with(|g| g.set(was));
    result.map_err(|payload| {
        let reason = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "an internal error".to_string());
        super::short_message(&std::io::Error::other(reason))
    })
}

/// Wraps the panic hook once: quiet inside guarded code, as before elsewhere.
fn install_hook() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if GUARDED.with(|g| g.get()) {
                tracing::debug!("caught inside a guarded call: {info}");
            } else {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_and_later_calls_work() {
        let caught = catch(|| -> u32 { panic!("slice index 7 out of range") });
        assert_eq!(caught, Err("slice index 7 out of range".to_string()));
        assert_eq!(catch(|| 5), Ok(5));
        assert!(!GUARDED.with(|g| g.get()));
    }
}
