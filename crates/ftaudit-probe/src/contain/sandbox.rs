//! The box around a contained child, parent side: what the child may read, where it may write
//! and what it may not do at all, built before the fork (the child only applies it, see
//! `enter.rs`), and what held, read back from the child and summed up for the report.
//!
//! The layers (docs in the README's "Bad and hostile input"):
//! - filesystem (Landlock): read and execute only the interpreter, the environment and the
//!   system's own folders; write only the child's scratch folder, its private `/dev/shm` and
//!   its own `/proc/self`;
//! - network: a network namespace of its own, and Landlock TCP rules plus a seccomp filter on
//!   socket families where no namespace can be had;
//! - signals (Landlock ABI 6): signals and abstract Unix sockets only within the child's own
//!   processes; ptrace and process memory access only there too;
//! - processes (seccomp): no fork where the stage needs none; no `setsid`/`setpgid`, so the
//!   group kill reaches everything the child started;
//! - limits: CPU time, file size, open files, core dumps, data segment, process count;
//! - privileges: `no_new_privs` and no capabilities (a root child keeps none).
//!
//! The `landlock` crate builds the ruleset (it knows which rights each ABI has); the child's
//! own `restrict_self` and its two child-side rules are raw system calls, because between fork
//! and exec nothing may allocate, which the crate's API does not promise.

use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ftaudit_model::{SandboxLayer, SandboxReport, SandboxStatus};
use landlock::{
    Access, AccessFs, AccessNet, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreatedAttr, Scope, ABI,
};
use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
};

use super::enter::{IdMaps, Prepared};
use crate::SandboxSpec;

/// What held in a child, as the child reports it on the status pipe.
pub mod bits {
    pub const USER_NS: u32 = 1 << 0;
    pub const NET_NS: u32 = 1 << 1;
    pub const MOUNT_NS: u32 = 1 << 2;
    pub const PRIVATE_SHM: u32 = 1 << 3;
    pub const LIMITS: u32 = 1 << 4;
    pub const NO_NEW_PRIVS: u32 = 1 << 5;
    pub const LANDLOCK: u32 = 1 << 6;
    pub const SECCOMP: u32 = 1 << 7;
    pub const CAPS_DROPPED: u32 = 1 << 8;
    pub const SHM_RULE: u32 = 1 << 9;
    pub const PROC_SELF_RULE: u32 = 1 << 10;
}

/// Folders every Python needs to read: the loader, system libraries, configuration, `/proc`.
const SYSTEM_READ: &[&str] = &[
    "/usr",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/bin",
    "/sbin",
    "/opt",
    "/nix/store",
    "/gnu/store",
    "/proc",
    "/sys",
];
/// Under `/etc`, what stays unreadable: secrets a root child could otherwise print into the
/// report's captured output.
const ETC_SECRETS: &[&str] = &[
    "shadow",
    "shadow-",
    "gshadow",
    "gshadow-",
    "sudoers",
    "sudoers.d",
    "ssh",
    "ssl/private",
    "security/opasswd",
    "credstore",
    "credstore.encrypted",
    "wireguard",
    "krb5.keytab",
    "NetworkManager/system-connections",
    "openvpn",
    "ppp",
    "docker",
    "containerd",
    "netrc",
];
/// Device files a child may read and write.
const DEVICES: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

/// The ceiling on a file the child writes (RLIMIT_FSIZE).
const FILE_SIZE_LIMIT: u64 = 1 << 30;
/// Open files (RLIMIT_NOFILE).
const OPEN_FILES_LIMIT: u64 = 4096;
/// Processes beyond the user's current count, where the kernel counts them (not for root).
const EXTRA_PROCESSES: u64 = 512;

/// The Landlock ABI this kernel offers (0: none).
pub fn landlock_abi() -> u32 {
    static ABI_VERSION: OnceLock<u32> = OnceLock::new();
    *ABI_VERSION.get_or_init(|| {
        // SAFETY: LANDLOCK_CREATE_RULESET_VERSION (1) with a NULL attribute and size 0 only
        // returns the ABI version, or -1 where Landlock is absent.
        let v = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<u8>(),
                0usize,
                1u32,
            )
        };
        u32::try_from(v).unwrap_or(0)
    })
}

/// What the parent keeps until the child has started: the ruleset and the status pipe's read end.
pub(super) struct Pending {
    pub prepared: Prepared,
    pub ruleset: Option<OwnedFd>,
    pub ruleset_no_netns: Option<OwnedFd>,
    pub status_read: OwnedFd,
    pub status_write: OwnedFd,
}

/// Builds everything the child applies. Paths that do not exist are left out.
pub(super) fn prepare(
    spec: &SandboxSpec,
    scratch: &Path,
    program: &Path,
    memory_limit: Option<u64>,
) -> std::io::Result<Pending> {
    let (status_read, status_write) = super::cloexec_pipe()?;
    let abi = landlock_abi();
    let mut rlimits = Vec::new();
    if let Some(bytes) = memory_limit {
        // RLIMIT_DATA, not RLIMIT_AS: a free-threaded CPython reserves far more address space
        // than it uses (3.13t with 8 threads: ~1.2 GB VmSize, 15 MB RSS), and under a tight
        // RLIMIT_AS it was seen to deadlock instead of failing. Under RLIMIT_DATA a big malloc
        // fails cleanly with MemoryError. Thread stacks count too: below ~256 MB threads fail.
        rlimits.push((libc::RLIMIT_DATA, bytes));
    }
    let mut ruleset = None;
    let mut ruleset_no_netns = None;
    let mut seccomp = Vec::new();
    let mut seccomp_no_netns = Vec::new();
    if spec.enabled {
        rlimits.push((libc::RLIMIT_FSIZE, FILE_SIZE_LIMIT));
        rlimits.push((
            libc::RLIMIT_NOFILE,
            OPEN_FILES_LIMIT.min(current_limit(libc::RLIMIT_NOFILE)),
        ));
        rlimits.push((libc::RLIMIT_CORE, 0));
        if let Some(seconds) = spec.cpu_seconds {
            rlimits.push((libc::RLIMIT_CPU, seconds));
        }
        if let Some(cap) = process_cap(spec.processes) {
            rlimits.push((libc::RLIMIT_NPROC, cap));
        }
        if abi > 0 {
            let build = |deny_tcp| {
                build_ruleset(spec, scratch, program, abi, deny_tcp).map_err(|e| {
                    std::io::Error::other(format!("building the Landlock ruleset: {e}"))
                })
            };
            ruleset = build(false)?;
            ruleset_no_netns = build(true)?;
        }
        (seccomp, seccomp_no_netns) = seccomp_programs(spec.processes)?;
    }
    let abi_flags = ABI::from(abi as i32);
    let fs_all = AccessFs::from_all(abi_flags);
    let handled = if spec.filesystem {
        fs_all
    } else {
        fs_all & !AccessFs::from_read(abi_flags)
    };
    let prepared = Prepared {
        id_maps: IdMaps::for_current_user(),
        boxed: spec.enabled,
        rlimits,
        landlock_fd: ruleset.as_ref().map(|fd: &OwnedFd| fd.as_raw_fd()),
        landlock_fd_no_netns: ruleset_no_netns.as_ref().map(|fd: &OwnedFd| fd.as_raw_fd()),
        shm_access: handled.bits(),
        proc_self_access: ((AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::ReadDir)
            & handled)
            .bits(),
        seccomp,
        seccomp_no_netns,
        status_fd: status_write.as_raw_fd(),
    };
    Ok(Pending {
        prepared,
        ruleset,
        ruleset_no_netns,
        status_read,
        status_write,
    })
}

fn current_limit(resource: libc::__rlimit_resource_t) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(resource, &mut limit) } == 0 {
        limit.rlim_max
    } else {
        u64::MAX
    }
}

/// RLIMIT_NPROC counts every process of the real user, and the kernel exempts root: a cap of
/// the user's current count plus [`EXTRA_PROCESSES`] for other users, none for root.
fn process_cap(may_fork: bool) -> Option<u64> {
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    if uid == 0 {
        return None;
    }
    let mut count = 0u64;
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            use std::os::unix::fs::MetadataExt;
            let is_pid = entry
                .file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit());
            if is_pid && entry.metadata().is_ok_and(|m| m.uid() == uid) {
                count += 1;
            }
        }
    }
    // Threads count as processes too; a child that may not fork still starts threads.
    let extra = if may_fork {
        EXTRA_PROCESSES
    } else {
        EXTRA_PROCESSES / 2
    };
    Some((count + extra).min(current_limit(libc::RLIMIT_NPROC)))
}

fn build_ruleset(
    spec: &SandboxSpec,
    scratch: &Path,
    program: &Path,
    abi_version: u32,
    deny_tcp: bool,
) -> Result<Option<OwnedFd>, landlock::RulesetError> {
    let abi = ABI::from(abi_version as i32);
    let fs_all = AccessFs::from_all(abi);
    let read_dir = AccessFs::from_read(abi);
    let read_file = read_dir & AccessFs::from_file(abi);
    let device = (AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::IoctlDev) & fs_all;
    // Without filesystem confinement only what no read needs is handled: writes stay confined.
    let handled = if spec.filesystem {
        fs_all
    } else {
        fs_all & !read_dir
    };
    // TCP rules only where no network namespace could be had (the child picks the ruleset):
    // inside one, a bind or connect already reaches nothing, and a refusal would differ from
    // what the package's code expects to handle.
    let mut ruleset = Ruleset::default().handle_access(handled)?;
    if deny_tcp {
        ruleset = ruleset.handle_access(AccessNet::from_all(abi))?;
    }
    let mut created = ruleset.scope(Scope::from_all(abi))?.create()?;

    // (path, rights on a folder, rights on a file)
    let mut wanted: Vec<(PathBuf, BitFlags<AccessFs>, BitFlags<AccessFs>)> = vec![(
        scratch.to_path_buf(),
        fs_all,
        fs_all & AccessFs::from_file(abi),
    )];
    for device_path in DEVICES {
        wanted.push((PathBuf::from(device_path), BitFlags::EMPTY, device));
    }
    if spec.filesystem {
        for root in SYSTEM_READ {
            wanted.push((PathBuf::from(root), read_dir, read_file));
        }
        for path in readable_etc() {
            wanted.push((path, read_dir, read_file));
        }
        wanted.push((program.to_path_buf(), read_dir, read_file));
        for root in &spec.read_roots {
            wanted.push((root.clone(), read_dir, read_file));
        }
    }
    for (path, dir_access, file_access) in wanted {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        let access = handled
            & if meta.is_dir() {
                dir_access
            } else {
                file_access
            };
        if access.is_empty() {
            continue;
        }
        if let Ok(fd) = PathFd::new(&path) {
            created = created.add_rule(PathBeneath::new(fd, access))?;
        }
    }
    Ok(Option::<OwnedFd>::from(created))
}

/// `/etc` without [`ETC_SECRETS`]: its entries, and inside a folder that holds a secret
/// (`ssl` for `ssl/private`), that folder's entries.
fn readable_etc() -> Vec<PathBuf> {
    fn walk(dir: &Path, relative: &str, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if relative.is_empty() {
                name
            } else {
                format!("{relative}/{name}")
            };
            if ETC_SECRETS.contains(&rel.as_str()) {
                continue;
            }
            let holds_secret = ETC_SECRETS
                .iter()
                .any(|s| s.starts_with(&format!("{rel}/")));
            if holds_secret && entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&entry.path(), &rel, out);
            } else {
                out.push(entry.path());
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new("/etc"), "", &mut out);
    out
}

type Programs = (
    Vec<Vec<seccompiler::sock_filter>>,
    Vec<seccompiler::sock_filter>,
);

/// Two filters: EPERM for what the box forbids, ENOSYS for `clone3` (whose flags a filter
/// cannot read: C libraries then fall back to `clone`, whose flags it can); and a third, on
/// socket families, for a child that could not get a network namespace.
fn seccomp_programs(may_fork: bool) -> std::io::Result<Programs> {
    static PROGRAMS: OnceLock<[Result<Programs, String>; 2]> = OnceLock::new();
    let programs = PROGRAMS.get_or_init(|| [build_seccomp(false), build_seccomp(true)]);
    programs[usize::from(may_fork)]
        .clone()
        .map_err(std::io::Error::other)
}

fn build_seccomp(may_fork: bool) -> Result<Programs, String> {
    use std::collections::BTreeMap;
    let arch = std::env::consts::ARCH
        .try_into()
        .map_err(|e| format!("seccomp: {e:?}"))?;
    let always = || vec![];
    let mut denied: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    // Leaving the process group would escape the group kill.
    denied.insert(libc::SYS_setsid, always());
    denied.insert(libc::SYS_setpgid, always());
    // Reading or writing other processes (Landlock also scopes these to the child's own).
    denied.insert(libc::SYS_ptrace, always());
    denied.insert(libc::SYS_process_vm_readv, always());
    denied.insert(libc::SYS_process_vm_writev, always());
    // io_uring's socket and open operations bypass seccomp.
    denied.insert(libc::SYS_io_uring_setup, always());
    if !may_fork {
        #[cfg(target_arch = "x86_64")]
        {
            denied.insert(libc::SYS_fork, always());
            denied.insert(libc::SYS_vfork, always());
        }
        // A clone without CLONE_THREAD is a new process.
        let no_thread = SeccompCondition::new(
            0,
            SeccompCmpArgLen::Qword,
            SeccompCmpOp::MaskedEq(libc::CLONE_THREAD as u64),
            0,
        )
        .map_err(|e| format!("{e:?}"))?;
        denied.insert(
            libc::SYS_clone,
            vec![SeccompRule::new(vec![no_thread]).map_err(|e| format!("{e:?}"))?],
        );
    }
    let deny = SeccompFilter::new(
        denied,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| format!("{e:?}"))?;
    let mut clone3 = BTreeMap::new();
    clone3.insert(libc::SYS_clone3, always());
    let no_clone3 = SeccompFilter::new(
        clone3,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )
    .map_err(|e| format!("{e:?}"))?;
    // Sockets other than Unix and netlink ones: the network, where no namespace can be had.
    let cond = |op, value| {
        SeccompCondition::new(0, SeccompCmpArgLen::Dword, op, value).map_err(|e| format!("{e:?}"))
    };
    let mut sockets = BTreeMap::new();
    sockets.insert(
        libc::SYS_socket,
        vec![SeccompRule::new(vec![
            cond(SeccompCmpOp::Ne, libc::AF_UNIX as u64)?,
            cond(SeccompCmpOp::Ne, libc::AF_NETLINK as u64)?,
        ])
        .map_err(|e| format!("{e:?}"))?],
    );
    let no_sockets = SeccompFilter::new(
        sockets,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EACCES as u32),
        arch,
    )
    .map_err(|e| format!("{e:?}"))?;
    Ok((
        vec![
            deny.try_into().map_err(|e| format!("{e:?}"))?,
            no_clone3.try_into().map_err(|e| format!("{e:?}"))?,
        ],
        no_sockets.try_into().map_err(|e| format!("{e:?}"))?,
    ))
}

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
