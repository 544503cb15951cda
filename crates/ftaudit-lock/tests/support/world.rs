//! The test index: one project per reason a target can lack a wheel, and helpers to read
//! the results.

use std::path::Path;

use ftaudit_lock::{fetch, parse_lock, LockFetch, NoWheelReason, Target, TargetFetch};

use super::*;

pub const SO: &str = "fastpkg/_native.cpython-314t-x86_64-linux-gnu.so";

pub fn linux() -> Target {
    Target::new(
        "3.14t".parse().unwrap(),
        "manylinux_2_28_x86_64".parse().unwrap(),
    )
}
pub fn windows() -> Target {
    Target::new("3.14t".parse().unwrap(), "win_amd64".parse().unwrap())
}

/// The test index: one project per reason a target can lack a wheel.
pub struct World {
    pub fast_linux: (String, Vec<u8>),
    pub fast_windows_sha: String,
    pub sdist_sha: String,
}

impl World {
    /// `fastpkg==1.0` hashed to its Linux wheel only.
    pub fn linux_pin(&self) -> String {
        format!(
            "fastpkg==1.0 --hash=sha256:{}\n",
            sha256_hex(&self.fast_linux.1)
        )
    }
}

pub fn world(ranges: bool, json: bool) -> (World, Site) {
    let so = real_shared_object();
    let mut site = Site::new(ranges, json);
    // fastpkg: a native wheel made mostly of pure-Python filler, and a Windows wheel.
    let fast_linux = build_wheel(
        "fastpkg",
        "1.0",
        "cp314-cp314t-manylinux_2_17_x86_64.manylinux2014_x86_64",
        &[
            (SO, so.clone()),
            ("fastpkg/__init__.py", b"from ._native import *\n".to_vec()),
            ("fastpkg/data.bin", filler(3 << 20, 1)),
        ],
        None,
    );
    let fast_windows = build_wheel(
        "fastpkg",
        "1.0",
        "cp314-cp314t-win_amd64",
        &[("fastpkg/_native.cp314t-win_amd64.pyd", so.clone())],
        None,
    );
    let fast_gil = build_wheel(
        "fastpkg",
        "1.0",
        "cp314-cp314-manylinux_2_17_x86_64",
        &[(
            "fastpkg/_native.cpython-314-x86_64-linux-gnu.so",
            so.clone(),
        )],
        None,
    );
    let fast_windows_sha = sha256_hex(&fast_windows.1);
    for (name, bytes) in [fast_linux.clone(), fast_windows, fast_gil] {
        site.add("fastpkg", &name, bytes);
    }
    site.add(
        "fastpkg",
        "fastpkg-0.9-cp314-cp314t-win_amd64.whl",
        build_wheel("fastpkg", "0.9", "cp314-cp314t-win_amd64", &[], None).1,
    );
    // gilonly: a cp314 (GIL) wheel and abi3 only.
    let (n, b) = build_wheel(
        "gilonly",
        "2.0",
        "cp314-cp314-manylinux_2_17_x86_64",
        &[("gilonly/_x.cpython-314-x86_64-linux-gnu.so", so.clone())],
        None,
    );
    site.add("gilonly", &n, b);
    let (n, b) = build_wheel(
        "gilonly",
        "2.0",
        "cp39-abi3-win_amd64",
        &[("gilonly/_x.pyd", so.clone())],
        None,
    );
    site.add("gilonly", &n, b);
    // sdistonly.
    let sdist = filler(1000, 2);
    let sdist_sha = sha256_hex(&sdist);
    site.add("sdistonly", "sdistonly-3.0.tar.gz", sdist);
    // purewin: compiled on Linux, pure Python on Windows.
    let (n, b) = build_wheel(
        "purewin",
        "1.1",
        "cp314-cp314t-manylinux_2_28_x86_64",
        &[(
            "purewin/_speed.cpython-314t-x86_64-linux-gnu.so",
            so.clone(),
        )],
        None,
    );
    site.add("purewin", &n, b);
    let (n, b) = build_wheel(
        "purewin",
        "1.1",
        "py3-none-any",
        &[("purewin/__init__.py", b"x = 1\n".to_vec())],
        None,
    );
    site.add("purewin", &n, b);
    // purepkg: pure everywhere.
    let (n, b) = build_wheel(
        "purepkg",
        "5.0",
        "py3-none-any",
        &[("purepkg/__init__.py", b"y = 2\n".to_vec())],
        None,
    );
    site.add("purepkg", &n, b);
    // maconly: a macOS wheel only.
    let (n, b) = build_wheel(
        "maconly",
        "0.1",
        "cp314-cp314t-macosx_11_0_arm64",
        &[("maconly/_m.cpython-314t-darwin.so", so.clone())],
        None,
    );
    site.add("maconly", &n, b);
    // badrecord: RECORD's hash of the .so is wrong.
    let (n, b) = build_wheel(
        "badrecord",
        "1.0",
        "cp314-cp314t-manylinux_2_17_x86_64",
        &[("badrecord/_b.cpython-314t-x86_64-linux-gnu.so", so)],
        Some("badrecord/_b.cpython-314t-x86_64-linux-gnu.so"),
    );
    site.add("badrecord", &n, b);
    (
        World {
            fast_linux,
            fast_windows_sha,
            sdist_sha,
        },
        site,
    )
}

pub fn requirements(world: &World) -> String {
    let fast_linux_sha = sha256_hex(&world.fast_linux.1);
    format!(
        "# a pinned lock\n\
         fastpkg==1.0 \\\n    --hash=sha256:{fast_linux_sha} \\\n    --hash=sha256:{}\n\
         gilonly==2.0\nsdistonly==3.0 --hash=sha256:{}\npurewin==1.1\npurepkg==5.0\nmaconly==0.1\nbadrecord==1.0\n\
         winonly==1.0 ; sys_platform == 'win32'\nnotthere==1.0 ; sys_platform == 'linux'\n",
        world.fast_windows_sha, world.sdist_sha
    )
}

pub fn reason<'a>(target: &'a TargetFetch, name: &str) -> &'a NoWheelReason {
    &target
        .missing
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("{name} not missing in {:?}", target.missing))
        .reason
}

pub fn target<'a>(result: &'a LockFetch, name: &str) -> &'a TargetFetch {
    result
        .targets
        .iter()
        .find(|t| t.target.platform.tag == name)
        .unwrap()
}

/// Writes `text` as `file_name` in `dir`, parses it and fetches it for `targets`.
pub fn fetch_text(
    dir: &Path,
    file_name: &str,
    text: &str,
    targets: &[Target],
    index: Option<String>,
) -> LockFetch {
    let lock = parse_lock(&write(dir, file_name, text)).unwrap();
    fetch(&lock, targets, &options(dir, index))
}
