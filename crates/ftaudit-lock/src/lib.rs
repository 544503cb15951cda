//! Before you install: audit a lock file's wheels without installing them.
//!
//! From a lock (pinned requirements.txt, PEP 751 pylock.toml or uv.lock) and a list of targets
//! (a Python such as 3.14t and a platform such as `manylinux_2_28_x86_64`), [`fetch`] picks each
//! pin's wheel per target the way an installer would, range-reads only the members a static
//! audit needs (native files, METADATA, WHEEL, RECORD), checks them against RECORD and writes
//! them as *slim wheels*, one folder per target, ready for `ftaudit scan DIR --static-only`.
//! Every per-package failure is data ([`NoWheel`]), never an error of the whole run.

mod cache;
mod fetch;
mod http;
mod index;
mod parse;
mod range;
mod select;
mod slim;
mod tags;
mod zipdir;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use cache::default_cache_dir;
pub use fetch::fetch;
pub use index::PYPI_SIMPLE;
pub use parse::{
    normalize_name, parse_lock, parse_lock_text, DistFile, Environment, Lock, LockError,
    LockFormat, Marker, Pin,
};
pub use slim::{is_bundled_library, is_native_member, HEADERS_KEPT, HEADER_BYTES};
pub use tags::{
    default_platforms, Platform, PlatformKind, PythonTarget, WheelName, DEFAULT_GLIBC,
    DEFAULT_MACOS,
};

/// One audit target: a Python build on a platform.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Target {
    pub python: PythonTarget,
    pub platform: Platform,
}

impl Target {
    pub fn new(python: PythonTarget, platform: Platform) -> Target {
        Target { python, platform }
    }

    /// `cp314t-manylinux_2_39_x86_64`: the name of the target's wheel folder.
    pub fn name(&self) -> String {
        format!("{}-{}", self.python.abi_tag(), self.platform.tag)
    }

    pub fn environment(&self) -> Environment {
        Environment::new(&self.python, &self.platform)
    }
}

/// The free-threaded `python` on each of [`default_platforms`].
pub fn default_targets(python: PythonTarget) -> Vec<Target> {
    default_platforms()
        .into_iter()
        .map(|platform| Target { python, platform })
        .collect()
}

/// How [`fetch`] reaches indexes and where it keeps things.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Primary index (a PEP 503/691 simple root). None: the lock's `-i` line, else
    /// `PIP_INDEX_URL` / `UV_DEFAULT_INDEX` / `UV_INDEX_URL`, else PyPI.
    pub index_url: Option<String>,
    /// Extra indexes. Empty: the lock's `--extra-index-url` lines plus `PIP_EXTRA_INDEX_URL` /
    /// `UV_INDEX` / `UV_EXTRA_INDEX_URL` (space separated).
    pub extra_index_urls: Vec<String>,
    /// Cache of index answers and slim wheels ([`default_cache_dir`]).
    pub cache_dir: PathBuf,
    /// Where the per-target folders are made (default `<cache_dir>/targets`). Each target's
    /// folder is emptied of `.whl` files first, so it holds exactly this run's wheels.
    pub out_dir: Option<PathBuf>,
    /// Longest wait for the server: for the connection (at most 15 s) and for each read, so
    /// a transfer that keeps moving is never cut.
    pub timeout: Duration,
    /// Further attempts after a connection error or a 5xx answer.
    pub retries: u32,
    /// First back-off; doubled each retry.
    pub retry_backoff: Duration,
    /// Never touch the network: anything not in the cache is a per-package `Offline`.
    pub offline: bool,
    /// Requests in flight at once.
    pub jobs: usize,
    /// PEM file of CA certificates; None: `SSL_CERT_FILE`, `PIP_CERT`, `REQUESTS_CA_BUNDLE`,
    /// the system bundle, else the roots built in.
    pub ca_bundle: Option<PathBuf>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            index_url: None,
            extra_index_urls: Vec::new(),
            cache_dir: default_cache_dir(),
            out_dir: None,
            timeout: Duration::from_secs(30),
            retries: 3,
            retry_backoff: Duration::from_millis(500),
            offline: false,
            jobs: 8,
            ca_bundle: None,
        }
    }
}

/// What one [`fetch`] did.
#[derive(Debug, Clone, Serialize)]
pub struct LockFetch {
    pub targets: Vec<TargetFetch>,
    /// HTTP requests made (retries included); 0 when everything came from the cache.
    pub requests: u64,
    /// Body bytes read, index pages and wheel ranges together.
    pub bytes_read: u64,
    pub index_bytes_read: u64,
    pub wheel_bytes_read: u64,
    /// Sum of the sizes of the distinct wheels picked (what downloading them would read).
    pub picked_wheel_bytes: u64,
    /// Indexes asked for requirements pins (primary first).
    pub indexes: Vec<String>,
}

/// One target's result.
#[derive(Debug, Clone, Serialize)]
pub struct TargetFetch {
    pub target: Target,
    /// The slim wheels of `picked`, and nothing else.
    pub wheels_dir: PathBuf,
    pub picked: Vec<Picked>,
    /// Pins whose wheel for this target is pure Python on every target: nothing to audit.
    pub pure: Vec<PurePin>,
    /// Pins with no wheel to audit here, and why.
    pub missing: Vec<NoWheel>,
    /// Pins whose environment marker is false for this target (`name==version`).
    pub not_applicable: Vec<String>,
}

/// A pin's wheel for a target, and its slim copy.
#[derive(Debug, Clone, Serialize)]
pub struct Picked {
    pub name: String,
    pub version: String,
    pub wheel: String,
    pub url: String,
    pub sha256: Option<String>,
    /// The slim wheel in `wheels_dir`.
    pub slim_path: PathBuf,
    /// Size of the whole wheel, when known.
    pub size: Option<u64>,
    /// The server ignored Range requests: the whole file was downloaded and its sha256 checked.
    pub whole_download: bool,
    pub from_cache: bool,
    pub native_members: Vec<String>,
    /// Native members kept as their first [`HEADERS_KEPT`] bytes only: bundled libraries
    /// ([`is_bundled_library`]) bigger than that. The slim member is a valid stored zip member
    /// of those bytes (its own CRC); it was not checked against RECORD (not all of it was read).
    pub headers_only: Vec<String>,
    /// The real (uncompressed) size in the wheel of each `headers_only` member.
    pub headers_only_sizes: BTreeMap<String, u64>,
    /// Members whose sha256 matched their RECORD row (every member kept but RECORD itself and
    /// the `headers_only` ones).
    pub record_checked: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PurePin {
    pub name: String,
    pub version: String,
    pub wheel: String,
}

/// A pin with no wheel to audit for a target.
#[derive(Debug, Clone, Serialize)]
pub struct NoWheel {
    pub name: String,
    pub version: String,
    /// Line of the pin in the lock file.
    pub line: usize,
    pub reason: NoWheelReason,
}

/// Which hash disagreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HashCheck {
    /// The index's sha256 of the wheel is not one the lock lists.
    Index,
    /// The whole downloaded file (range requests were ignored).
    WholeFile,
    /// A member against its RECORD row.
    Record,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoWheelReason {
    /// The release has only a source distribution.
    OnlySdist {
        sdist: String,
    },
    /// Here the best wheel is pure Python, while these targets get compiled code.
    PureOnlyHere {
        wheel: String,
        native_elsewhere: Vec<String>,
    },
    /// Only the GIL build of this Python has a wheel (`cp314-cp314`, `abi3`).
    OnlyGilBuild {
        wheel: String,
    },
    /// Wheels exist, none for this target: their tags.
    NoneForTarget {
        available: Vec<String>,
    },
    /// The lock or index lists no file of this release.
    NoFiles,
    /// No index asked has the project.
    NotOnIndex {
        indexes: Vec<String>,
    },
    /// A wheel fits, but the lock's hashes (made for other platforms) do not list it.
    NotInLock {
        wheel: String,
    },
    HashMismatch {
        file: String,
        expected: Vec<String>,
        actual: String,
        checked: HashCheck,
    },
    IndexError {
        message: String,
    },
    DownloadError {
        wheel: String,
        message: String,
    },
    /// The wheel is not a zip that can be read, or lacks RECORD rows for its members.
    BadWheel {
        wheel: String,
        message: String,
    },
    /// Offline and not in the cache.
    Offline {
        what: String,
    },
}

impl fmt::Display for NoWheelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoWheelReason::OnlySdist { sdist } => write!(f, "only a source distribution ({sdist})"),
            NoWheelReason::PureOnlyHere {
                wheel,
                native_elsewhere,
            } => {
                write!(
                    f,
                    "only a pure-Python wheel here ({wheel}); compiled wheels for {}",
                    native_elsewhere.join(", ")
                )
            }
            NoWheelReason::OnlyGilBuild { wheel } => write!(
                f,
                "only a GIL-build wheel ({wheel}), none for the free-threaded build"
            ),
            NoWheelReason::NoneForTarget { available } => write!(
                f,
                "no wheel for this target; wheels exist for {}",
                available.join(", ")
            ),
            NoWheelReason::NoFiles => write!(f, "no file of this release is listed"),
            NoWheelReason::NotOnIndex { indexes } => write!(f, "not on {}", indexes.join(" or ")),
            NoWheelReason::NotInLock { wheel } => {
                write!(f, "{wheel} fits but the lock's hashes do not list it")
            }
            NoWheelReason::HashMismatch {
                file,
                expected,
                actual,
                checked,
            } => {
                write!(
                    f,
                    "hash mismatch ({checked:?}) for {file}: expected {}, got {actual}",
                    expected.join(" or ")
                )
            }
            NoWheelReason::IndexError { message } => write!(f, "index error: {message}"),
            NoWheelReason::DownloadError { wheel, message } => {
                write!(f, "reading {wheel}: {message}")
            }
            NoWheelReason::BadWheel { wheel, message } => write!(f, "bad wheel {wheel}: {message}"),
            NoWheelReason::Offline { what } => write!(f, "offline, not cached: {what}"),
        }
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
