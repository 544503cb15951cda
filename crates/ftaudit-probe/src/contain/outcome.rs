//! What held of the box, per child and summed up per stage for the report: a layer counts as
//! enforced only when it held in every child.

use ftaudit_model::{SandboxLayer, SandboxReport, SandboxStatus};

use super::sandbox::{bits, landlock_abi, EXTRA_PROCESSES, FILE_SIZE_LIMIT, OPEN_FILES_LIMIT};

/// What held in one child: the bits it reported, and the box it was meant to get.
#[derive(Debug, Clone, Copy)]
pub struct SandboxOutcome {
    pub held: u32,
    pub enabled: bool,
    pub filesystem: bool,
    pub processes: bool,
}

impl SandboxOutcome {
    pub fn network_isolated(&self) -> bool {
        self.held & bits::NET_NS != 0
    }
}

/// The children of one stage, summed up for the report: a layer counts as enforced only when
/// it held in every child.
#[derive(Debug, Clone, Default)]
pub struct SandboxTally {
    children: usize,
    /// Bits that held in every child so far.
    held: u32,
    /// Children in a network namespace of their own.
    network_isolated: usize,
    enabled: bool,
    filesystem: bool,
    processes: bool,
}

impl SandboxTally {
    pub fn add(&mut self, outcome: SandboxOutcome) {
        self.network_isolated += usize::from(outcome.network_isolated());
        if self.children == 0 {
            self.held = outcome.held;
            self.enabled = outcome.enabled;
            self.filesystem = outcome.filesystem;
            self.processes = outcome.processes;
        } else {
            self.held &= outcome.held;
            self.enabled &= outcome.enabled;
            self.filesystem &= outcome.filesystem;
            self.processes |= outcome.processes;
        }
        self.children += 1;
    }

    pub fn merge(&mut self, other: &SandboxTally) {
        if other.children == 0 {
            return;
        }
        let isolated = self.network_isolated;
        self.add(SandboxOutcome {
            held: other.held,
            enabled: other.enabled,
            filesystem: other.filesystem,
            processes: other.processes,
        });
        self.children += other.children - 1;
        self.network_isolated = isolated + other.network_isolated;
    }

    /// The network part alone (the report's older `network` field).
    pub fn network(&self) -> ftaudit_model::NetworkIsolation {
        super::describe_network(self.network_isolated, self.children)
    }

    pub fn report(&self) -> SandboxReport {
        let abi = landlock_abi();
        if self.children == 0 {
            return SandboxReport {
                status: SandboxStatus::None,
                landlock_abi: abi,
                children: 0,
                layers: Vec::new(),
            };
        }
        let has = |bit: u32| self.held & bit != 0;
        let landlock = has(bits::LANDLOCK);
        let layers = vec![
            filesystem_layer(landlock && self.filesystem, abi, has(bits::PRIVATE_SHM)),
            network_layer(
                has(bits::NET_NS),
                // Without a namespace the child used the ruleset and filter that deny TCP and
                // sockets; with one, the namespace alone.
                !has(bits::NET_NS) && landlock && abi >= 4,
                !has(bits::NET_NS) && has(bits::SECCOMP),
            ),
            signals_layer(landlock, abi),
            processes_layer(has(bits::SECCOMP), self.processes),
            limits_layer(has(bits::LIMITS), self.enabled),
            privileges_layer(
                has(bits::NO_NEW_PRIVS) && has(bits::CAPS_DROPPED),
                has(bits::USER_NS),
            ),
        ];
        let status = if !self.enabled {
            SandboxStatus::Off
        } else if layers.iter().all(|l| l.enforced) {
            SandboxStatus::Enforced
        } else {
            SandboxStatus::Partial
        };
        SandboxReport {
            status,
            landlock_abi: abi,
            children: self.children,
            layers,
        }
    }
}

fn layer(name: &str, enforced: bool, detail: String) -> SandboxLayer {
    SandboxLayer {
        name: name.into(),
        enforced,
        detail,
    }
}

fn filesystem_layer(enforced: bool, abi: u32, private_shm: bool) -> SandboxLayer {
    if !enforced {
        let why = if abi == 0 {
            "the kernel offers no Landlock".to_string()
        } else {
            "the Landlock domain was not in force in every child".to_string()
        };
        return layer(
            "filesystem",
            false,
            format!("not confined ({why}): package code could write anywhere the user can"),
        );
    }
    let mut detail = format!(
        "Landlock ABI {abi}: writes only to the child's scratch folder (its HOME, TMPDIR and working folder){}; reads only from the interpreter, the environment and system folders (/usr, /lib, /etc without its secrets, /proc, /sys)",
        if private_shm { ", a private /dev/shm" } else { "" }
    );
    if abi < 3 {
        detail.push_str("; truncating a readable file is not confined below ABI 3");
    }
    layer("filesystem", true, detail)
}

fn network_layer(namespace: bool, landlock_tcp: bool, seccomp: bool) -> SandboxLayer {
    let mut how = Vec::new();
    if namespace {
        how.push("a network namespace of its own (only a loopback, down)");
    }
    if landlock_tcp {
        how.push("Landlock denies every TCP bind and connect");
    }
    if seccomp {
        how.push("seccomp refuses sockets other than Unix and netlink ones");
    }
    let enforced = namespace || (landlock_tcp && seccomp);
    let detail = if how.is_empty() {
        "not blocked: no network namespace, Landlock network rules or seccomp filter could be had"
            .into()
    } else if enforced {
        how.join("; ")
    } else {
        format!("not fully blocked: only {}", how.join("; "))
    };
    layer("network", enforced, detail)
}

fn signals_layer(landlock: bool, abi: u32) -> SandboxLayer {
    if landlock && abi >= 6 {
        return layer("signals", true, format!("Landlock ABI {abi} scopes signals, abstract Unix sockets and ptrace to the child's own processes"));
    }
    let why = if landlock {
        format!("Landlock ABI {abi} has no signal scoping (6 and later)")
    } else {
        "no Landlock domain".into()
    };
    layer(
        "signals",
        false,
        format!("not confined ({why}): package code could signal the user's other processes"),
    )
}

fn processes_layer(seccomp: bool, may_fork: bool) -> SandboxLayer {
    if !seccomp {
        return layer(
            "processes",
            false,
            "no seccomp filter: package code could start processes and leave the process group"
                .into(),
        );
    }
    let creation = if may_fork {
        "process creation allowed (the process pool needs it), every process stays in the group that is killed at the end"
    } else {
        "no new processes (fork, vfork and non-thread clone refused)"
    };
    layer(
        "processes",
        true,
        format!("{creation}; setsid, setpgid, ptrace, process_vm_* and io_uring refused"),
    )
}

fn limits_layer(held: bool, enabled: bool) -> SandboxLayer {
    if !enabled {
        return layer(
            "limits",
            held,
            "only the memory limit (the box is off)".into(),
        );
    }
    // SAFETY: getuid cannot fail.
    let root = unsafe { libc::getuid() } == 0;
    let nproc = if root {
        "no process count limit (the kernel exempts root from RLIMIT_NPROC)".to_string()
    } else {
        format!("processes capped at the user's count + {EXTRA_PROCESSES}")
    };
    layer(
        "limits",
        held,
        format!(
            "file size {} MiB, {OPEN_FILES_LIMIT} open files, no core dumps, CPU time and memory as set for the stage, {nproc}{}",
            FILE_SIZE_LIMIT >> 20,
            if held { "" } else { " (a limit could not be set)" }
        ),
    )
}

fn privileges_layer(held: bool, user_ns: bool) -> SandboxLayer {
    let detail = match (held, user_ns) {
        (true, true) => "no_new_privs, no capabilities, in a user namespace of its own".to_string(),
        (true, false) => {
            "no_new_privs and no capabilities (no user namespace could be had)".to_string()
        }
        (false, _) => "capabilities or no_new_privs could not be dropped".to_string(),
    };
    layer("privileges", held, detail)
}
