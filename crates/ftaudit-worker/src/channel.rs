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
    pub fn from_fd(fd: i32) -> Result<Self, String> {
        unsafe {
            let flags = libc::fcntl(fd, libc::F_GETFD);
            if flags < 0 {
                return Err(format!(
                    "result fd {fd} is not open: {}",
                    std::io::Error::last_os_error()
                ));
            }
            // A process a module spawns must not hold the pipe open after the worker dies,
            // or the parent would wait for an end of file that never comes.
            libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
            Ok(Self {
                file: File::from_raw_fd(fd),
            })
        }
    }

    /// One JSON line per event, written with a single unbuffered write so the parent has it
    /// even if the next stage kills the process.
    pub fn send(&mut self, event: &WorkerEvent) {
        let mut line = serde_json::to_string(event).expect("worker events always serialise");
        line.push('\n');
        if self.file.write_all(line.as_bytes()).is_err() {
            // The parent is gone; nobody is left to report to.
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
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        bytes = &bytes[n as usize..];
    }
}
