//! Names for the signals that end a worker, for crash descriptions.

pub fn name(signal: i32) -> String {
    let known = match signal {
        libc::SIGSEGV => Some(("SIGSEGV", "segmentation fault")),
        libc::SIGABRT => Some(("SIGABRT", "aborted")),
        libc::SIGBUS => Some(("SIGBUS", "bus error")),
        libc::SIGFPE => Some(("SIGFPE", "floating-point exception")),
        libc::SIGILL => Some(("SIGILL", "illegal instruction")),
        libc::SIGKILL => Some(("SIGKILL", "killed")),
        libc::SIGTERM => Some(("SIGTERM", "terminated")),
        libc::SIGTRAP => Some(("SIGTRAP", "trace/breakpoint trap")),
        libc::SIGSYS => Some(("SIGSYS", "bad system call")),
        libc::SIGPIPE => Some(("SIGPIPE", "broken pipe")),
        libc::SIGXCPU => Some(("SIGXCPU", "CPU time limit exceeded")),
        libc::SIGXFSZ => Some(("SIGXFSZ", "file size limit exceeded")),
        libc::SIGINT => Some(("SIGINT", "interrupted")),
        libc::SIGHUP => Some(("SIGHUP", "hangup")),
        libc::SIGQUIT => Some(("SIGQUIT", "quit")),
        _ => None,
    };
    match known {
        Some((name, meaning)) => format!("{name} ({meaning})"),
        None => format!("signal {signal}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_common_crash_signals() {
        assert_eq!(super::name(libc::SIGSEGV), "SIGSEGV (segmentation fault)");
        assert_eq!(super::name(libc::SIGABRT), "SIGABRT (aborted)");
        assert_eq!(super::name(77), "signal 77");
    }
}
