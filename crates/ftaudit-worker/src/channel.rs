//! The worker's outputs that are not the modules': the result pipe, and the stage markers
//! on fd 1 / fd 2 that let the parent attribute raw output to the right stage.

use std::fs::File;
use std::io::Write;
use std::os::fd::FromRawFd;

use ftaudit_model::protocol::WorkerEvent;

pub struct ResultChannel {
    file: File,
}

impl ResultChannel {
    /// Takes ownership of `fd`, the write end of the pipe the parent passed.
    ///
    /// # Safety
    ///
    /// Nothing else in the process may own `fd` (no `File`/`OwnedFd` wraps it, nobody will
    /// close it): the returned channel closes it when dropped.
    pub unsafe fn from_fd(fd: i32) -> Result<Self, String> {
        // SAFETY: F_GETFD only reads the descriptor flags; an invalid fd is reported as -1.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        if flags < 0 {
            return Err(format!(
                "result fd {fd} is not open: {}",
                std::io::Error::last_os_error()
            ));
        }
        // A process a module spawns must not hold the pipe open after the worker dies,
        // or the parent would wait for an end of file that never comes.
        // SAFETY: `fd` is open (checked above); F_SETFD only changes its close-on-exec flag.
        unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) };
        Ok(Self {
            // SAFETY: `fd` is open (checked above) and, per this function's contract, owned by nothing else, so the File becomes its only owner.
            file: unsafe { File::from_raw_fd(fd) },
        })
    }

    /// One JSON line per event, written with a single unbuffered write so the parent has it
    /// even if the next stage kills the process.
    pub fn send(&mut self, event: &WorkerEvent) {
        let mut line = serde_json::to_string(event).expect("worker events always serialise");
        line.push('\n');
        if self.file.write_all(line.as_bytes()).is_err() {
            // The parent is gone; nobody is left to report to.
            // SAFETY: _exit takes no pointers and never returns; skipping Rust and Python teardown is the intent (nothing is left to flush to a parent that is gone).
            unsafe { libc::_exit(5) }
        }
    }
}

/// Writes `\0ftaudit:<token>:<seq>\0` to fd 1 and fd 2 after a Begin event: everything the
/// modules write to those descriptors after it belongs to stage `seq`.
pub struct StageMarkers {
    token: Option<String>,
}

impl StageMarkers {
    pub fn new(token: Option<String>) -> Self {
        Self { token }
    }

    pub fn mark(&self, seq: u64) {
        // printf output of the previous stage sits in libc's buffer until flushed.
        // SAFETY: fflush(NULL) flushes every open stdio stream; libc locks each one itself.
        unsafe { libc::fflush(std::ptr::null_mut()) };
        let Some(token) = &self.token else { return };
        let marker = format!("\0ftaudit:{token}:{seq}\0");
        for fd in [1, 2] {
            write_all_fd(fd, marker.as_bytes());
        }
    }
}

pub fn write_all_fd(fd: i32, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe the live `bytes` slice, which write only reads; a bad fd is reported as -1, not undefined behaviour.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        // 0 <= n <= bytes.len(): write never reports more than it was given.
        bytes = &bytes[n as usize..];
    }
}
