//! Entering the box, in the child between fork and exec. The parent has prepared every value
//! (paths, maps, the Landlock ruleset, the seccomp programs); this side makes only
//! async-signal-safe system calls on them: no allocation, no lock, no panic.
//!
//! Order matters: namespaces and the private `/dev/shm` mount first (Landlock forbids mounts once
//! in force), then resource limits, `no_new_privs`, the Landlock domain, dropping every
//! capability, and the seccomp filters last (they would refuse some of the calls before them).

use std::ffi::CStr;
use std::os::fd::RawFd;

use seccompiler::sock_filter;

use super::sandbox::bits;

/// What a new user namespace maps: this user and group onto themselves, so files keep their
/// owners as the child sees them.
pub(super) struct IdMaps {
    pub uid_map: Vec<u8>,
    pub gid_map: Vec<u8>,
}

impl IdMaps {
    pub fn for_current_user() -> Self {
        // SAFETY: getuid and getgid cannot fail and touch no memory.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        Self {
            uid_map: format!("{uid} {uid} 1").into_bytes(),
            gid_map: format!("{gid} {gid} 1").into_bytes(),
        }
    }
}

/// Everything the child needs to box itself, prepared by the parent before the fork.
pub(super) struct Prepared {
    pub id_maps: IdMaps,
    /// Full box (namespaces, limits, Landlock, capabilities, seccomp); false keeps only the
    /// network namespace and the memory limit (`--sandbox off`).
    pub boxed: bool,
    /// (resource, soft and hard limit), applied in order.
    pub rlimits: Vec<(libc::__rlimit_resource_t, u64)>,
    /// The Landlock rulesets, owned by the parent's copies until after the spawn: the first
    /// for a child in a network namespace of its own, the second (which also denies TCP) for
    /// one that could not get one.
    pub landlock_fd: Option<RawFd>,
    pub landlock_fd_no_netns: Option<RawFd>,
    /// Landlock rights for the private `/dev/shm` (added in the child: the mount is its own).
    pub shm_access: u64,
    /// Landlock rights on the child's own `/proc/self` (its `clear_refs` and status files).
    pub proc_self_access: u64,
    /// Seccomp programs, each installed in turn.
    pub seccomp: Vec<Vec<sock_filter>>,
    /// Installed too where no network namespace could be had: refuses sockets other than Unix
    /// and netlink ones. (Inside a namespace a socket is harmless, and refusing it would fail
    /// imports that make one and expect the connection, not the socket, to fail.)
    pub seccomp_no_netns: Vec<sock_filter>,
    /// The write end of the status pipe: the child reports the bits that held.
    pub status_fd: RawFd,
}

/// Boxes the calling (just forked, single-threaded) process. Failures are not fatal: the bits
/// written to the status pipe say what held, and the parent reports the rest.
pub(super) fn enter(p: &Prepared) {
    let mut held = 0u32;
    if p.boxed {
        held |= namespaces(&p.id_maps);
        if held & bits::MOUNT_NS != 0 && private_shm() {
            held |= bits::PRIVATE_SHM;
        }
    } else if isolate_network_only(&p.id_maps) {
        held |= bits::NET_NS;
    }
    if limits(&p.rlimits) {
        held |= bits::LIMITS;
    }
    if p.boxed {
        // SAFETY: prctl with integer arguments only changes this process's flags.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } == 0 {
            held |= bits::NO_NEW_PRIVS;
        }
        let ruleset = if held & bits::NET_NS != 0 {
            p.landlock_fd
        } else {
            p.landlock_fd_no_netns
        };
        if let Some(fd) = ruleset {
            if held & bits::PRIVATE_SHM != 0 && add_rule(fd, c"/dev/shm", p.shm_access) {
                held |= bits::SHM_RULE;
            }
            if add_rule(fd, c"/proc/self", p.proc_self_access) {
                held |= bits::PROC_SELF_RULE;
            }
            // SAFETY: fd is the parent's open ruleset; the call only restricts this thread.
            if unsafe { libc::syscall(libc::SYS_landlock_restrict_self, fd, 0u32) } == 0 {
                held |= bits::LANDLOCK;
            }
        }
        if drop_capabilities() {
            held |= bits::CAPS_DROPPED;
        }
        let mut all = !p.seccomp.is_empty();
        let socket_filter = (held & bits::NET_NS == 0 && !p.seccomp_no_netns.is_empty())
            .then_some(&p.seccomp_no_netns);
        for program in p.seccomp.iter().chain(socket_filter) {
            // apply_filter makes two prctl/seccomp calls on the borrowed program; it allocates
            // nothing (its error is an io::Error from errno).
            all &= seccompiler::apply_filter(program).is_ok();
        }
        if all {
            held |= bits::SECCOMP;
        }
    }
    let bytes = held.to_ne_bytes();
    // SAFETY: status_fd is the open write end of a pipe; `bytes` outlives the call.
    unsafe {
        libc::write(p.status_fd, bytes.as_ptr().cast(), bytes.len());
    }
}

/// A user namespace (so the rest needs no privilege and root keeps none outside it), a network
/// namespace (only a loopback, down) and a mount namespace; as root without user namespaces,
/// the network and mount ones alone.
fn namespaces(maps: &IdMaps) -> u32 {
    // SAFETY: unshare changes only this single-threaded, just-forked process's namespaces.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET | libc::CLONE_NEWNS) } == 0 {
        write_proc_file(c"/proc/self/setgroups", b"deny");
        write_proc_file(c"/proc/self/uid_map", &maps.uid_map);
        write_proc_file(c"/proc/self/gid_map", &maps.gid_map);
        return bits::USER_NS | bits::NET_NS | bits::MOUNT_NS;
    }
    // SAFETY: as above.
    if unsafe { libc::unshare(libc::CLONE_NEWNET | libc::CLONE_NEWNS) } == 0 {
        return bits::NET_NS | bits::MOUNT_NS;
    }
    // SAFETY: as above.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0 {
        return bits::NET_NS;
    }
    0
}

/// The containment without the box: a network namespace where one can be had.
fn isolate_network_only(maps: &IdMaps) -> bool {
    // SAFETY: unshare changes only this single-threaded, just-forked process's namespaces.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } == 0 {
        return true;
    }
    // SAFETY: as above.
    if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET) } != 0 {
        return false;
    }
    write_proc_file(c"/proc/self/setgroups", b"deny");
    write_proc_file(c"/proc/self/uid_map", &maps.uid_map);
    write_proc_file(c"/proc/self/gid_map", &maps.gid_map);
    true
}

/// In the child's own mount namespace: nothing propagates back, and `/dev/shm` becomes an
/// empty tmpfs of its own (POSIX semaphores for the stress stage's process pool live there).
fn private_shm() -> bool {
    // SAFETY: the strings are NUL-terminated literals; mount only changes this process's mount namespace, which is its own.
    unsafe {
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            return false;
        }
        libc::mount(
            c"tmpfs".as_ptr(),
            c"/dev/shm".as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            c"size=256m,mode=1777".as_ptr().cast(),
        ) == 0
    }
}

fn limits(rlimits: &[(libc::__rlimit_resource_t, u64)]) -> bool {
    let mut all = true;
    for &(resource, value) in rlimits {
        let limit = libc::rlimit {
            rlim_cur: value,
            rlim_max: value,
        };
        // SAFETY: `limit` is a valid rlimit; setrlimit only changes this process's limits.
        all &= unsafe { libc::setrlimit(resource, &limit) } == 0;
    }
    all
}

/// `struct landlock_path_beneath_attr` (packed in the kernel's UAPI).
#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// Adds a path-beneath rule to the ruleset; the path is opened here, in the child, because it
/// names something the child's own namespace has (its `/dev/shm`, its `/proc/self`).
fn add_rule(ruleset: RawFd, path: &CStr, access: u64) -> bool {
    if access == 0 {
        return false;
    }
    // SAFETY: path is NUL-terminated; open, the landlock syscall and close are async-signal-safe and get only the stack value `attr`, which outlives the call.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let attr = PathBeneathAttr {
            allowed_access: access,
            parent_fd: fd,
        };
        let rc = libc::syscall(
            libc::SYS_landlock_add_rule,
            ruleset,
            1i32, // LANDLOCK_RULE_PATH_BENEATH
            &attr as *const PathBeneathAttr,
            0u32,
        );
        libc::close(fd);
        rc == 0
    }
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Empties the bounding set (so an exec as root gains nothing back) and then every set of this
/// process. True when the sets are empty.
fn drop_capabilities() -> bool {
    for cap in 0..64 {
        // SAFETY: prctl with integer arguments; an unknown capability number is EINVAL.
        unsafe {
            libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0);
        }
    }
    let header = CapHeader {
        version: 0x2008_0522, // _LINUX_CAPABILITY_VERSION_3
        pid: 0,
    };
    let data = [CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: header and the two data words are valid for the call and outlive it.
    unsafe { libc::syscall(libc::SYS_capset, &header as *const CapHeader, data.as_ptr()) == 0 }
}

/// One write to a /proc file, ignoring failure (the child then runs unmapped, as `nobody`).
fn write_proc_file(path: &CStr, data: &[u8]) {
    // SAFETY: path is NUL-terminated; open, write and close are async-signal-safe, and `data` outlives the write.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd >= 0 {
            libc::write(fd, data.as_ptr().cast(), data.len());
            libc::close(fd);
        }
    }
}
