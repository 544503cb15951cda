//! Stopping a run early. The CLI turns SIGINT and SIGTERM into a request here; the stages
//! poll it, stop their workers, and return what finished, so an interrupted scan still
//! reports everything it measured.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a waiting stage looks at the request: the delay between Ctrl-C and the workers
/// being stopped.
pub const POLL: Duration = Duration::from_millis(50);

/// Shared by everything one run starts; cloning shares the same request.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    interrupt: Arc<AtomicBool>,
    terminate: Arc<AtomicBool>,
}

/// What asked the run to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl StopSignal {
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Interrupt => "SIGINT",
            StopSignal::Terminate => "SIGTERM",
        }
    }
}

impl Cancel {
    /// The flag a SIGINT handler sets (e.g. with `signal_hook::flag::register`).
    pub fn interrupt_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.interrupt)
    }

    /// The flag a SIGTERM handler sets.
    pub fn terminate_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.terminate)
    }

    pub fn request(&self, signal: StopSignal) {
        match signal {
            StopSignal::Interrupt => self.interrupt.store(true, Ordering::SeqCst),
            StopSignal::Terminate => self.terminate.store(true, Ordering::SeqCst),
        }
    }

    /// The signal that asked to stop, if any; SIGTERM wins when both came.
    pub fn requested(&self) -> Option<StopSignal> {
        if self.terminate.load(Ordering::SeqCst) {
            Some(StopSignal::Terminate)
        } else if self.interrupt.load(Ordering::SeqCst) {
            Some(StopSignal::Interrupt)
        } else {
            None
        }
    }

    /// The next wait's length: up to `deadline`, but no longer than [`POLL`].
    pub fn slice_until(deadline: Instant) -> Instant {
        deadline.min(Instant::now() + POLL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_request_and_sigterm_wins() {
        let cancel = Cancel::default();
        let clone = cancel.clone();
        assert_eq!(clone.requested(), None);
        cancel.request(StopSignal::Interrupt);
        assert_eq!(clone.requested(), Some(StopSignal::Interrupt));
        clone.terminate_flag().store(true, Ordering::SeqCst);
        assert_eq!(cancel.requested(), Some(StopSignal::Terminate));
    }
}
