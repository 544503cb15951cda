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
pub(super) const FILE_SIZE_LIMIT: u64 = 1 << 30;
/// Open files (RLIMIT_NOFILE).
pub(super) const OPEN_FILES_LIMIT: u64 = 4096;
/// Processes beyond the user's current count, where the kernel counts them (not for root).
pub(super) const EXTRA_PROCESSES: u64 = 512;

/// The Landlock ABI this kernel offers (0: none).
pub fn landlock_abi() -> u32 {
    static ABI_VERSION: OnceLock<u32> = OnceLock::new();
    *ABI_VERSION.get_or_init(|| {
        // SAFETY: LANDLOCK_CREATE_RULESET_VERSION (1) with a NULL attribute and size 0 only returns the ABI version, or -1 where Landlock is absent.
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
