//! One contained child process, for the probe's workers and the stress stage's drivers alike:
//! spawned in its own process group, with a scratch cwd, HOME and TMPDIR, no PYTHON* variables,
//! stdin from /dev/null, and boxed before it runs anything (see [`sandbox`]: filesystem,
//! network, signals, processes, limits, privileges); its result pipe (fd 3, one JSON event per
//! line) and its stdout/stderr are read on background threads, the output split by the stage
//! markers the child writes.

mod enter;
mod outcome;
pub mod sandbox;

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use crate::output::StageSplitter;
use crate::ProbeError;

pub use crate::SandboxSpec;
pub use outcome::{SandboxOutcome, SandboxTally};
pub use sandbox::landlock_abi;

/// The descriptor the result pipe is given in the child.
pub const RESULT_FD: i32 = 3;
/// How long to wait for stdout/stderr to reach end of file once the worker has exited and its
/// process group was killed. Only a process that left the group can hold them open longer.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

pub enum Message<E> {
    Event(E),
    /// A line on the result pipe that is not an event (a truncated line from a crash).
    Garbage(String),
    Eof,
}

/// A stdout/stderr reader thread: what it split so far, and a signal when it hit end of file.
struct OutputReader {
    splitter: Arc<Mutex<StageSplitter>>,
    finished: Receiver<()>,
    thread: JoinHandle<()>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    pub memory_limit_mb: Option<u64>,
}

/// What to start, and how.
pub struct ChildSpec<'a> {
    pub program: &'a Path,
    /// Arguments; relative paths in them resolve in the scratch folder (the child's cwd).
    pub args: Vec<OsString>,
    /// Files written into the scratch folder before the start (path relative to it, contents).
    pub files: Vec<(PathBuf, Vec<u8>)>,
    /// Extra environment variables (PYTHON* ones are removed whatever this says).
    pub env: Vec<(OsString, OsString)>,
    /// The marker token the child writes between stages (see [`marker_token`]).
    pub token: String,
    pub limits: Limits,
    /// The box the child runs in.
    pub sandbox: SandboxSpec,
}

pub struct ContainedChild<E> {
    program: PathBuf,
    child: Child,
    pid: i32,
    pub messages: Receiver<Message<E>>,
    outputs: Vec<OutputReader>,
    exited: Option<ExitStatus>,
    /// Whether it runs in a network namespace other than ours (checked from outside).
    pub network_isolated: bool,
    /// What of the box held, as the child reported it before exec.
    pub sandbox: SandboxOutcome,
    _scratch: tempfile::TempDir,
}

/// `PYTHON*` variables in this process's environment; the workers never see them.
pub fn python_variables() -> Vec<OsString> {
    let mut names: Vec<OsString> = std::env::vars_os()
        .map(|(k, _)| k)
        .filter(|k| k.as_encoded_bytes().starts_with(b"PYTHON"))
        .collect();
    names.sort();
    names
}

/// A token unlikely to occur in a module's own output, for the stage markers.
pub fn marker_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64 ^ d.as_secs())
        .unwrap_or(0);
    format!("{:x}{:x}", std::process::id(), nanos)
}

impl<E: DeserializeOwned + Send + 'static> ContainedChild<E> {
    pub fn spawn(spec: &ChildSpec<'_>) -> Result<Self, ProbeError> {
        let scratch = tempfile::Builder::new()
            .prefix("ftaudit-child-")
            .tempdir()
            .map_err(|e| ProbeError::io("creating the child's scratch folder", e))?;
        for (relative, contents) in &spec.files {
            let path = scratch.path().join(relative);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| ProbeError::io(format!("creating {}", parent.display()), e))?;
            }
            std::fs::write(&path, contents)
                .map_err(|e| ProbeError::io(format!("writing {}", path.display()), e))?;
        }
        let home = scratch.path().join("home");
        let tmp = scratch.path().join("tmp");
        for dir in [&home, &tmp] {
            std::fs::create_dir(dir)
                .map_err(|e| ProbeError::io(format!("creating {}", dir.display()), e))?;
        }

        // The child runs in the scratch folder, where a relative path would mean something else.
        let program = if spec.program.components().count() > 1 {
            std::path::absolute(spec.program).unwrap_or_else(|_| spec.program.to_path_buf())
        } else {
            spec.program.to_path_buf()
        };
        let worker = program.as_path();
        let (read_end, write_end) = result_pipe()?;
        let token = spec.token.clone();
        let mut command = Command::new(worker);
        command
            .args(&spec.args)
            .current_dir(scratch.path())
            .env("HOME", &home)
            // Temporary files land in the scratch folder, the only place the box lets it write.
            .env("TMPDIR", &tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group, so a timeout kills whatever the module started too.
            .process_group(0);
        for name in python_variables() {
            command.env_remove(name);
        }
        for (name, value) in &spec.env {
            command.env(name, value);
        }
        let write_fd = write_end.as_raw_fd();
        // Everything the box needs is built here, before the fork: nothing may allocate
        // between fork and exec.
        let memory_limit = spec
            .limits
            .memory_limit_mb
            .map(|mb| mb.saturating_mul(1024 * 1024));
        let pending = sandbox::prepare(&spec.sandbox, scratch.path(), worker, memory_limit)
            .map_err(|e| ProbeError::io("preparing the sandbox", e))?;
        let prepared = pending.prepared;
        // SAFETY: the closure makes only raw syscalls (fcntl, dup2, and those of enter::enter: unshare, mount, open/write/close, setrlimit, prctl, landlock, capset, seccomp) on values prepared before the fork, and allocates nothing.
        unsafe {
            command.pre_exec(move || {
                if write_fd == RESULT_FD {
                    let flags = libc::fcntl(write_fd, libc::F_GETFD);
                    if flags < 0
                        || libc::fcntl(write_fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC) < 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                } else if libc::dup2(write_fd, RESULT_FD) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // What cannot be had is not fatal: the child reports what held, and the
                // parent's report says what did not.
                enter::enter(&prepared);
                Ok(())
            });
        }
        let mut child = command.spawn().map_err(|source| ProbeError::Spawn {
            worker: worker.to_path_buf(),
            source,
        })?;
        // The parent's copy must go, or the pipe never reports end of file when the worker dies.
        drop(write_end);
        let pid = child.id() as i32;
        // spawn() returns after exec, so pre_exec has run: the namespace is the final one, and
        // the status word was written (a child that died before exec failed the spawn).
        let network_isolated = own_network_namespace(pid);
        drop(pending.status_write);
        drop(pending.ruleset);
        drop(pending.ruleset_no_netns);
        let held = read_status(pending.status_read);
        let sandbox = SandboxOutcome {
            held,
            enabled: spec.sandbox.enabled,
            filesystem: spec.sandbox.filesystem,
            processes: spec.sandbox.processes,
        };

        let (tx, messages) = mpsc::channel();
        std::thread::spawn(move || read_results(File::from(read_end), tx));
        let mut outputs = Vec::new();
        let streams: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().expect("stdout is piped")),
            Box::new(child.stderr.take().expect("stderr is piped")),
        ];
        for stream in streams {
            let splitter = Arc::new(Mutex::new(StageSplitter::new(&token)));
            let (done_tx, done_rx) = mpsc::channel();
            let shared = Arc::clone(&splitter);
            let handle = std::thread::spawn(move || {
                read_output(stream, &shared);
                let _ = done_tx.send(());
            });
            outputs.push(OutputReader {
                splitter,
                finished: done_rx,
                thread: handle,
            });
        }
        Ok(Self {
            program: worker.to_path_buf(),
            child,
            pid,
            messages,
            outputs,
            exited: None,
            network_isolated,
            sandbox,
            _scratch: scratch,
        })
    }
}

impl<E> ContainedChild<E> {
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The child's pid, which is also its process group's id.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// CPU time (user + system, in clock ticks) the child's process has used so far, from
    /// `/proc/PID/stat`; None once it is gone. Tells a deadlock (no progress) from a busy hang.
    pub fn cpu_ticks(&self) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        // The command name (field 2) may hold spaces: count fields after its closing ')'.
        let rest = &stat[stat.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        Some(utime + stime)
    }

    /// Waits for the next message until `deadline`; None when the deadline passed.
    pub fn next_message(&self, deadline: Instant) -> Option<Message<E>> {
        let wait = deadline.saturating_duration_since(Instant::now());
        match self.messages.recv_timeout(wait) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => Some(Message::Eof),
        }
    }

    /// Kills the worker's whole process group, while its leader is unreaped: until it is
    /// reaped, the worker's pid (the group's id) cannot be reused, so the signal cannot reach
    /// an unrelated process. After reaping, this does nothing.
    pub fn kill(&mut self) {
        if self.exited.is_none() {
            // SAFETY: kill only sends a signal; the group id is our unreaped child's pid.
            unsafe {
                libc::kill(-self.pid, libc::SIGKILL);
            }
        }
    }

    /// Waits for the worker to exit, up to `deadline`; None if it is still running then.
    pub fn wait_until(&mut self, deadline: Instant) -> Result<Option<ExitStatus>, ProbeError> {
        if let Some(status) = self.exited {
            return Ok(Some(status));
        }
        loop {
            match self.has_exited(false) {
                Ok(true) => return self.reap().map(Some),
                Ok(false) if Instant::now() >= deadline => return Ok(None),
                // Polled, but only while a dead worker's pipe is closed and it has not been
                // reaped yet: this loop runs for microseconds in practice.
                Ok(false) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => {
                    return Err(ProbeError::io(
                        format!("waiting for {}", self.program.display()),
                        e,
                    ))
                }
            }
        }
    }

    pub fn wait(&mut self) -> Result<ExitStatus, ProbeError> {
        if let Some(status) = self.exited {
            return Ok(status);
        }
        self.has_exited(true)
            .map_err(|e| ProbeError::io(format!("waiting for {}", self.program.display()), e))?;
        self.reap()
    }

    /// Whether the worker has exited, without reaping it (`WNOWAIT`): it stays a zombie, its
    /// pid reserved, until [`Self::reap`].
    fn has_exited(&self, block: bool) -> std::io::Result<bool> {
        let flags = libc::WEXITED | libc::WNOWAIT | if block { 0 } else { libc::WNOHANG };
        loop {
            // SAFETY: siginfo_t is plain data that waitid fills in; zeroed is a valid value.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: `info` is a valid, writable siginfo_t; the pid is our own child.
            let rc = unsafe { libc::waitid(libc::P_PID, self.pid as libc::id_t, &mut info, flags) };
            if rc < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            // SAFETY: waitid succeeded, so si_pid is set (0 when WNOHANG found nothing).
            return Ok(unsafe { info.si_pid() } != 0);
        }
    }

    /// The worker has exited: kills what is left of its group (it may have started processes
    /// that outlive it) while the pid is still reserved, then reaps it.
    fn reap(&mut self) -> Result<ExitStatus, ProbeError> {
        self.kill();
        let status = self
            .child
            .wait()
            .map_err(|e| ProbeError::io(format!("waiting for {}", self.program.display()), e))?;
        self.exited = Some(status);
        Ok(status)
    }

    /// After exit (the group's stragglers were killed when the worker was reaped): lets the
    /// readers reach end of file and returns the per-stage output of stdout and stderr.
    pub fn finish_output(&mut self) -> Vec<StageSplitter> {
        self.kill();
        let mut result = Vec::new();
        for reader in self.outputs.drain(..) {
            // A process that escaped the group may hold the pipe open forever; don't wait on it.
            if reader.finished.recv_timeout(OUTPUT_GRACE).is_ok() {
                let _ = reader.thread.join();
            }
            let mut guard = reader.splitter.lock().unwrap_or_else(|p| p.into_inner());
            guard.finish();
            let taken = std::mem::replace(&mut *guard, StageSplitter::new(""));
            result.push(taken);
        }
        result
    }
}

impl<E> Drop for ContainedChild<E> {
    fn drop(&mut self) {
        if self.exited.is_none() {
            self.kill();
            let _ = self.child.wait();
        }
    }
}

/// True when `pid` is in another network namespace than this process.
fn own_network_namespace(pid: i32) -> bool {
    let ours = std::fs::read_link("/proc/self/ns/net");
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/net"));
    matches!((ours, theirs), (Ok(a), Ok(b)) if a != b)
}

/// How the workers were kept off the network, for the report.
pub fn describe_network(isolated: usize, workers: usize) -> ftaudit_model::NetworkIsolation {
    if workers == 0 {
        return ftaudit_model::NetworkIsolation {
            isolated: false,
            detail: "no worker ran an import".into(),
        };
    }
    if isolated == workers {
        return ftaudit_model::NetworkIsolation {
            isolated: true,
            detail: "each worker ran in a network namespace of its own (no interface but a loopback that is down)".into(),
        };
    }
    ftaudit_model::NetworkIsolation {
        isolated: false,
        detail: format!(
            "{} of {workers} workers could not get a network namespace of their own (unshare(CLONE_NEWNET) refused, and unprivileged user namespaces are disabled or blocked here): imports could reach the network",
            workers - isolated
        ),
    }
}

fn result_pipe() -> Result<(OwnedFd, OwnedFd), ProbeError> {
    // CLOEXEC on both ends: workers spawned concurrently by other threads must not inherit
    // this pipe; pre_exec gives the child its own copy as fd 3.
    cloexec_pipe().map_err(|e| ProbeError::io("creating the result pipe", e))
}

fn cloexec_pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0i32; 2];
    // SAFETY: `fds` has room for the two descriptors pipe2 writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nobody else.
    unsafe { Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))) }
}

/// The status word the child wrote before exec (0 when it wrote none).
fn read_status(read_end: OwnedFd) -> u32 {
    let mut file = File::from(read_end);
    let mut word = [0u8; 4];
    match file.read_exact(&mut word) {
        Ok(()) => u32::from_ne_bytes(word),
        Err(_) => 0,
    }
}

fn read_results<E: DeserializeOwned>(file: File, tx: mpsc::Sender<Message<E>>) {
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let message = match serde_json::from_slice::<E>(&line) {
                    Ok(event) => Message::Event(event),
                    Err(_) => {
                        Message::Garbage(String::from_utf8_lossy(&line).trim_end().to_string())
                    }
                };
                if tx.send(message).is_err() {
                    return;
                }
            }
        }
    }
    let _ = tx.send(Message::Eof);
}

fn read_output(mut stream: Box<dyn Read + Send>, splitter: &Mutex<StageSplitter>) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => splitter
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .feed(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
    }
}
