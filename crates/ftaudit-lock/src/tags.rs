//! Targets (a Python and a platform) and wheel tag compatibility, ranked the way
//! packaging.tags orders an interpreter's supported tags: the interpreter/ABI pair first, the
//! platform second, so `cp314-cp314t-manylinux_2_17` beats `py3-none-manylinux_2_39`.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A CPython minor version and build: `3.14t` is the free-threaded 3.14.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct PythonTarget {
    pub minor: u8,
    /// Patch level for `python_full_version` markers; 0 unless given (`3.14.7t`).
    pub patch: u8,
    pub free_threaded: bool,
}

impl PythonTarget {
    pub fn new(minor: u8, free_threaded: bool) -> Self {
        PythonTarget {
            minor,
            patch: 0,
            free_threaded,
        }
    }

    /// `cp314t` or `cp314`.
    pub fn abi_tag(&self) -> String {
        format!(
            "cp3{}{}",
            self.minor,
            if self.free_threaded { "t" } else { "" }
        )
    }

    /// The same version with the GIL: used to say "only a GIL build exists".
    pub fn with_gil(&self) -> PythonTarget {
        PythonTarget {
            free_threaded: false,
            ..*self
        }
    }

    /// (interpreter, abi) pairs this Python loads, best first; `None` abi entries are the
    /// pure-Python `py3x`/`py3` interpreter tags which take any platform-specific or `any` tag.
    fn interpreter_abis(&self) -> Vec<(String, String)> {
        let cp = format!("cp3{}", self.minor);
        let mut pairs = vec![(cp.clone(), self.abi_tag())];
        if self.free_threaded {
            // abi3 extensions use the GIL build's object layout, so a free-threaded build
            // refuses them; abi3t (PEP 803, from 3.15) is the stable ABI it loads.
            for minor in (15..=self.minor).rev() {
                pairs.push((format!("cp3{minor}"), "abi3t".into()));
            }
        } else {
            pairs.push((cp.clone(), "abi3".into()));
        }
        pairs.push((cp.clone(), "none".into()));
        if !self.free_threaded {
            for minor in (2..self.minor).rev() {
                pairs.push((format!("cp3{minor}"), "abi3".into()));
            }
        }
        pairs
    }
}

impl fmt::Display for PythonTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "3.{}{}",
            self.minor,
            if self.free_threaded { "t" } else { "" }
        )
    }
}

impl FromStr for PythonTarget {
    type Err = String;
    /// `3.14t`, `3.14.7t`, `cp314t`, `3.14` (GIL build).
    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("not a Python target: {text:?} (expected e.g. 3.14t or cp314t)");
        let (body, free_threaded) = match text.strip_suffix('t') {
            Some(body) => (body, true),
            None => (text, false),
        };
        let (minor, patch) = if let Some(digits) = body.strip_prefix("cp3") {
            (digits.parse().map_err(|_| bad())?, 0)
        } else {
            let mut parts = body.split('.');
            if parts.next() != Some("3") {
                return Err(bad());
            }
            let minor = parts.next().and_then(|m| m.parse().ok()).ok_or_else(bad)?;
            let patch = match parts.next() {
                Some(p) => p.parse().map_err(|_| bad())?,
                None => 0,
            };
            (minor, patch)
        };
        Ok(PythonTarget {
            minor,
            patch,
            free_threaded,
        })
    }
}

/// An operating system family with the version ceiling the target machine has.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlatformKind {
    /// glibc Linux: wheels for glibc up to this version (manylinux_2_N) load.
    Manylinux {
        glibc: (u16, u16),
    },
    Musllinux {
        musl: (u16, u16),
    },
    /// macOS: wheels built for this version or older load.
    Macos {
        version: (u16, u16),
    },
    Windows,
    /// Plain `linux_<arch>`: only unportable local builds (never on PyPI).
    Linux,
}

/// A target platform, named by a wheel platform tag such as `manylinux_2_28_x86_64`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Platform {
    /// The tag as given (normalised: `manylinux2014_x86_64` becomes `manylinux_2_17_x86_64`).
    pub tag: String,
    pub kind: PlatformKind,
    /// `x86_64`, `aarch64`, `arm64`, `amd64`, `win32`...
    pub arch: String,
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tag)
    }
}

impl FromStr for Platform {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        parse_platform_tag(text).ok_or_else(|| {
            format!(
                "not a platform tag: {text:?} (expected e.g. manylinux_2_28_x86_64, \
                 musllinux_1_2_x86_64, macosx_11_0_arm64, win_amd64)"
            )
        })
    }
}

/// Glibc ceiling of the default Linux targets: 2.39 is Ubuntu 24.04 / RHEL 10 era, new enough
/// that every manylinux wheel on PyPI today loads.
pub const DEFAULT_GLIBC: (u16, u16) = (2, 39);
/// macOS version of the default macOS targets (Sonoma): wheels tagged 14.0 or older load.
pub const DEFAULT_MACOS: (u16, u16) = (14, 0);

/// manylinux x86_64, manylinux aarch64, macOS arm64, macOS x86_64, Windows x64.
pub fn default_platforms() -> Vec<Platform> {
    let (g0, g1) = DEFAULT_GLIBC;
    let (m0, m1) = DEFAULT_MACOS;
    [
        format!("manylinux_{g0}_{g1}_x86_64"),
        format!("manylinux_{g0}_{g1}_aarch64"),
        format!("macosx_{m0}_{m1}_arm64"),
        format!("macosx_{m0}_{m1}_x86_64"),
        "win_amd64".to_string(),
    ]
    .iter()
    .map(|tag| tag.parse().expect("default platform tags parse"))
    .collect()
}

/// One platform tag of a wheel, parsed so compatibility is a comparison, not a list look-up.
fn parse_platform_tag(tag: &str) -> Option<Platform> {
    let platform = |kind, arch: &str, tag: String| Platform {
        tag,
        kind,
        arch: arch.to_string(),
    };
    if let Some(arch) = tag.strip_prefix("win_") {
        return Some(platform(PlatformKind::Windows, arch, tag.to_string()));
    }
    if tag == "win32" {
        return Some(platform(PlatformKind::Windows, "win32", tag.to_string()));
    }
    if let Some(arch) = tag.strip_prefix("linux_") {
        return Some(platform(PlatformKind::Linux, arch, tag.to_string()));
    }
    for (legacy, glibc) in [
        ("manylinux2014_", (2, 17)),
        ("manylinux2010_", (2, 12)),
        ("manylinux1_", (2, 5)),
    ] {
        if let Some(arch) = tag.strip_prefix(legacy) {
            let canonical = format!("manylinux_{}_{}_{arch}", glibc.0, glibc.1);
            return Some(platform(PlatformKind::Manylinux { glibc }, arch, canonical));
        }
    }
    let versioned = |prefix: &str| -> Option<((u16, u16), String)> {
        let rest = tag.strip_prefix(prefix)?;
        let mut parts = rest.splitn(3, '_');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let arch = parts.next().filter(|a| !a.is_empty())?;
        Some(((major, minor), arch.to_string()))
    };
    if let Some((glibc, arch)) = versioned("manylinux_") {
        return Some(platform(
            PlatformKind::Manylinux { glibc },
            &arch,
            tag.to_string(),
        ));
    }
    if let Some((musl, arch)) = versioned("musllinux_") {
        return Some(platform(
            PlatformKind::Musllinux { musl },
            &arch,
            tag.to_string(),
        ));
    }
    if let Some((version, arch)) = versioned("macosx_") {
        return Some(platform(
            PlatformKind::Macos { version },
            &arch,
            tag.to_string(),
        ));
    }
    None
}

/// Architectures a macOS machine of `arch` loads, best first (packaging's binary formats).
fn macos_formats(arch: &str) -> &'static [&'static str] {
    match arch {
        "arm64" => &["arm64", "universal2"],
        "x86_64" => &[
            "x86_64",
            "intel",
            "fat64",
            "fat32",
            "universal2",
            "universal",
        ],
        _ => &[],
    }
}

/// Rank of a wheel platform tag on `target` (0 is best), None when it does not load there.
/// Newer glibc/macOS builds rank before older ones, like packaging's descending tag lists.
pub(crate) fn platform_rank(target: &Platform, wheel_tag: &str) -> Option<u32> {
    if wheel_tag == "any" {
        return None; // handled by the caller: `any` ranks after every platform tag
    }
    let wheel = parse_platform_tag(wheel_tag)?;
    let older_by = |have: (u16, u16), need: (u16, u16)| -> Option<u32> {
        (need <= have)
            .then(|| (have.0 - need.0) as u32 * 100 + (have.1 as u32).saturating_sub(need.1 as u32))
    };
    match (&target.kind, &wheel.kind) {
        (PlatformKind::Manylinux { glibc: have }, PlatformKind::Manylinux { glibc: need })
            if wheel.arch == target.arch =>
        {
            older_by(*have, *need)
        }
        (PlatformKind::Musllinux { musl: have }, PlatformKind::Musllinux { musl: need })
            if wheel.arch == target.arch =>
        {
            older_by(*have, *need)
        }
        // A local `linux_<arch>` build loads on a machine of that arch, last of all.
        (
            PlatformKind::Manylinux { .. } | PlatformKind::Musllinux { .. } | PlatformKind::Linux,
            PlatformKind::Linux,
        ) if wheel.arch == target.arch => Some(100_000),
        (PlatformKind::Macos { version: have }, PlatformKind::Macos { version: need }) => {
            let formats = macos_formats(&target.arch);
            let format = formats.iter().position(|f| *f == wheel.arch)? as u32;
            // macOS 11+ only has major versions that matter (packaging emits X_0 tags).
            let age = if need.0 >= 11 && have.0 >= 11 {
                (need.0 <= have.0).then(|| (have.0 - need.0) as u32 * 100)?
            } else {
                older_by(*have, *need)?
            };
            Some(age * 10 + format)
        }
        (PlatformKind::Windows, PlatformKind::Windows) if wheel.arch == target.arch => Some(0),
        (PlatformKind::Linux, PlatformKind::Linux) => None,
        _ => None,
    }
}

/// A wheel file name split into its parts (`{name}-{ver}(-{build})?-{py}-{abi}-{plat}.whl`);
/// each tag part may be a compressed set (`manylinux_2_17_x86_64.manylinux2014_x86_64`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WheelName {
    pub distribution: String,
    pub version: String,
    pub build: Option<String>,
    pub python_tags: Vec<String>,
    pub abi_tags: Vec<String>,
    pub platform_tags: Vec<String>,
}

impl WheelName {
    pub fn parse(file_name: &str) -> Option<WheelName> {
        let stem = file_name.strip_suffix(".whl")?;
        let parts: Vec<&str> = stem.split('-').collect();
        let (distribution, version, build, rest) = match parts.len() {
            5 => (parts[0], parts[1], None, &parts[2..]),
            6 => (parts[0], parts[1], Some(parts[2].to_string()), &parts[3..]),
            _ => return None,
        };
        let split = |s: &str| s.split('.').map(str::to_string).collect::<Vec<_>>();
        Some(WheelName {
            distribution: distribution.to_string(),
            version: version.to_string(),
            build,
            python_tags: split(rest[0]),
            abi_tags: split(rest[1]),
            platform_tags: split(rest[2]),
        })
    }

    /// `none-any` wheels hold no code for a particular platform.
    pub fn is_pure(&self) -> bool {
        self.platform_tags.iter().all(|p| p == "any") && self.abi_tags.iter().all(|a| a == "none")
    }

    /// Every `py-abi-plat` triple this file name stands for.
    pub fn tag_triples(&self) -> Vec<String> {
        let mut triples = Vec::new();
        for py in &self.python_tags {
            for abi in &self.abi_tags {
                for plat in &self.platform_tags {
                    triples.push(format!("{py}-{abi}-{plat}"));
                }
            }
        }
        triples
    }
}

/// Rank of the best tag of `wheel` for (python, platform), lower is better; None when the wheel
/// does not load there. The interpreter/ABI pair dominates, as in packaging.tags.
pub(crate) fn wheel_rank(
    wheel: &WheelName,
    python: &PythonTarget,
    platform: &Platform,
) -> Option<(u32, u32)> {
    // (interpreter, abi) pairs of compiled code, then pure-Python interpreter tags.
    let mut pairs: Vec<(String, String)> = python.interpreter_abis();
    pairs.push((format!("py3{}", python.minor), "none".into()));
    pairs.push(("py3".into(), "none".into()));
    for minor in (0..python.minor).rev() {
        pairs.push((format!("py3{minor}"), "none".into()));
    }
    let any_base = pairs.len() as u32;
    let mut best: Option<(u32, u32)> = None;
    for py in &wheel.python_tags {
        for abi in &wheel.abi_tags {
            let Some(pair) = pairs.iter().position(|(p, a)| p == py && a == abi) else {
                continue;
            };
            for plat in &wheel.platform_tags {
                let rank = if plat == "any" {
                    // `any` comes after every platform-specific tag; cp3X-none-any only for the
                    // target's own interpreter, the py tags for all.
                    let is_cp = py.starts_with("cp");
                    if is_cp && abi != "none" {
                        continue;
                    }
                    Some((any_base + pair as u32, 0))
                } else {
                    platform_rank(platform, plat).map(|r| (pair as u32, r))
                };
                if let Some(rank) = rank {
                    best = Some(best.map_or(rank, |b| b.min(rank)));
                }
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rank(file: &str, python: &str, platform: &str) -> Option<(u32, u32)> {
        let wheel = WheelName::parse(file).unwrap();
        wheel_rank(&wheel, &python.parse().unwrap(), &platform.parse().unwrap())
    }

    #[test]
    fn free_threaded_loads_cp314t_but_not_abi3() {
        let t = "3.14t";
        let linux = "manylinux_2_28_x86_64";
        assert!(rank(
            "a-1-cp314-cp314t-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
            t,
            linux
        )
        .is_some());
        assert_eq!(
            rank("a-1-cp314-cp314-manylinux_2_17_x86_64.whl", t, linux),
            None
        );
        assert_eq!(
            rank("a-1-cp39-abi3-manylinux_2_17_x86_64.whl", t, linux),
            None
        );
        assert!(rank("a-1-cp39-abi3-manylinux_2_17_x86_64.whl", "3.14", linux).is_some());
        assert_eq!(
            rank("a-1-cp314-cp314t-manylinux_2_34_x86_64.whl", t, linux),
            None,
            "glibc too new"
        );
        assert!(rank("a-1-cp315-abi3t-manylinux_2_17_x86_64.whl", "3.16t", linux).is_some());
    }

    #[test]
    fn ranking_prefers_interpreter_then_newest_platform() {
        let t = "3.14t";
        let p = "manylinux_2_39_x86_64";
        let native_old = rank(
            "a-1-cp314-cp314t-manylinux_2_5_x86_64.manylinux1_x86_64.whl",
            t,
            p,
        )
        .unwrap();
        let native_new = rank("a-1-cp314-cp314t-manylinux_2_28_x86_64.whl", t, p).unwrap();
        let py_plat = rank("a-1-py3-none-manylinux_2_28_x86_64.whl", t, p).unwrap();
        let pure = rank("a-1-py3-none-any.whl", t, p).unwrap();
        assert!(native_new < native_old && native_old < py_plat && py_plat < pure);
    }

    #[test]
    fn macos_versions_and_universal2() {
        let t = "3.14t";
        assert!(rank(
            "a-1-cp314-cp314t-macosx_11_0_arm64.whl",
            t,
            "macosx_14_0_arm64"
        )
        .is_some());
        assert_eq!(
            rank(
                "a-1-cp314-cp314t-macosx_15_0_arm64.whl",
                t,
                "macosx_14_0_arm64"
            ),
            None
        );
        let uni = rank(
            "a-1-cp314-cp314t-macosx_10_13_universal2.whl",
            t,
            "macosx_14_0_arm64",
        )
        .unwrap();
        let thin = rank(
            "a-1-cp314-cp314t-macosx_11_0_arm64.whl",
            t,
            "macosx_14_0_arm64",
        )
        .unwrap();
        assert!(thin < uni);
        assert!(rank(
            "a-1-cp314-cp314t-macosx_10_9_x86_64.whl",
            t,
            "macosx_14_0_x86_64"
        )
        .is_some());
        assert_eq!(
            rank(
                "a-1-cp314-cp314t-macosx_10_9_x86_64.whl",
                t,
                "macosx_14_0_arm64"
            ),
            None
        );
        assert_eq!(
            rank("a-1-cp314-cp314t-win_amd64.whl", t, "win_amd64"),
            Some((0, 0))
        );
        assert_eq!(rank("a-1-cp314-cp314t-win32.whl", t, "win_amd64"), None);
    }

    #[test]
    fn platform_names_parse() {
        let p: Platform = "manylinux2014_aarch64".parse().unwrap();
        assert_eq!(p.tag, "manylinux_2_17_aarch64");
        assert_eq!(p.kind, PlatformKind::Manylinux { glibc: (2, 17) });
        let m: Platform = "musllinux_1_2_x86_64".parse().unwrap();
        assert_eq!(m.kind, PlatformKind::Musllinux { musl: (1, 2) });
        assert!("macos".parse::<Platform>().is_err());
        assert_eq!(default_platforms().len(), 5);
        assert_eq!(
            "cp314t".parse::<PythonTarget>().unwrap(),
            PythonTarget::new(14, true)
        );
        assert_eq!("3.14.7t".parse::<PythonTarget>().unwrap().patch, 7);
    }
}
