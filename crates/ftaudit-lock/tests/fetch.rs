//! End-to-end fetches against a real HTTP server on 127.0.0.1 serving real wheels.

mod support;

use ftaudit_lock::{fetch, parse_lock, HashCheck, LockFetch, NoWheelReason, Target, TargetFetch};
use support::*;

const SO: &str = "fastpkg/_native.cpython-314t-x86_64-linux-gnu.so";

fn linux() -> Target {
    Target::new(
        "3.14t".parse().unwrap(),
        "manylinux_2_28_x86_64".parse().unwrap(),
    )
}
fn windows() -> Target {
    Target::new("3.14t".parse().unwrap(), "win_amd64".parse().unwrap())
}

/// The test index: one project per reason a target can lack a wheel.
struct World {
    fast_linux: (String, Vec<u8>),
    fast_windows_sha: String,
    sdist_sha: String,
}

fn world(ranges: bool, json: bool) -> (World, Site) {
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

fn requirements(world: &World) -> String {
    let fast_linux_sha = sha256_hex(&world.fast_linux.1);
    format!(
        "# a pinned lock\n\
         fastpkg==1.0 \\\n    --hash=sha256:{fast_linux_sha} \\\n    --hash=sha256:{}\n\
         gilonly==2.0\nsdistonly==3.0 --hash=sha256:{}\npurewin==1.1\npurepkg==5.0\nmaconly==0.1\nbadrecord==1.0\n\
         winonly==1.0 ; sys_platform == 'win32'\nnotthere==1.0 ; sys_platform == 'linux'\n",
        world.fast_windows_sha, world.sdist_sha
    )
}

fn reason<'a>(target: &'a TargetFetch, name: &str) -> &'a NoWheelReason {
    &target
        .missing
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("{name} not missing in {:?}", target.missing))
        .reason
}

fn target<'a>(result: &'a LockFetch, name: &str) -> &'a TargetFetch {
    result
        .targets
        .iter()
        .find(|t| t.target.platform.tag == name)
        .unwrap()
}

fn check_every_reason(result: &LockFetch, world: &World) {
    let linux = target(result, "manylinux_2_28_x86_64");
    let windows = target(result, "win_amd64");
    // Linux: fastpkg (native), purewin (native); missing for each reason.
    let names: Vec<&str> = linux.picked.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["fastpkg", "purewin"]);
    let fast = &linux.picked[0];
    assert_eq!(fast.wheel, world.fast_linux.0);
    assert_eq!(fast.native_members, [SO]);
    assert_eq!(
        fast.record_checked, 3,
        "the .so, METADATA and WHEEL against RECORD"
    );
    let slim = std::fs::read(&fast.slim_path).unwrap();
    assert_eq!(fast.slim_path.parent().unwrap(), linux.wheels_dir);
    let members = zip_members(&slim);
    let member_names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        member_names,
        [
            SO,
            "fastpkg-1.0.dist-info/METADATA",
            "fastpkg-1.0.dist-info/WHEEL",
            "fastpkg-1.0.dist-info/RECORD"
        ]
    );
    assert_eq!(
        members[0].1,
        real_shared_object(),
        "the slim .so is the original's bytes"
    );
    assert!(
        matches!(reason(linux, "gilonly"), NoWheelReason::OnlyGilBuild { wheel } if wheel == "gilonly-2.0-cp314-cp314-manylinux_2_17_x86_64.whl")
    );
    assert_eq!(
        reason(linux, "sdistonly"),
        &NoWheelReason::OnlySdist {
            sdist: "sdistonly-3.0.tar.gz".into()
        }
    );
    assert_eq!(
        reason(linux, "maconly"),
        &NoWheelReason::NoneForTarget {
            available: vec!["cp314-cp314t-macosx_11_0_arm64".into()]
        }
    );
    assert!(
        matches!(reason(linux, "badrecord"), NoWheelReason::HashMismatch { checked: HashCheck::Record, file, .. } if file.ends_with("!badrecord/_b.cpython-314t-x86_64-linux-gnu.so"))
    );
    assert!(matches!(
        reason(linux, "notthere"),
        NoWheelReason::NotOnIndex { .. }
    ));
    assert_eq!(
        linux
            .pure
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["purepkg"]
    );
    assert_eq!(linux.not_applicable, ["winonly==1.0"]);
    // Windows: the abi3 wheel does not load in a free-threaded build; purewin is pure here only.
    assert_eq!(
        windows
            .picked
            .iter()
            .map(|p| p.wheel.as_str())
            .collect::<Vec<_>>(),
        ["fastpkg-1.0-cp314-cp314t-win_amd64.whl"]
    );
    assert!(
        matches!(reason(windows, "gilonly"), NoWheelReason::OnlyGilBuild { wheel } if wheel == "gilonly-2.0-cp39-abi3-win_amd64.whl")
    );
    assert_eq!(
        reason(windows, "purewin"),
        &NoWheelReason::PureOnlyHere {
            wheel: "purewin-1.1-py3-none-any.whl".into(),
            native_elsewhere: vec!["cp314t-manylinux_2_28_x86_64".into()]
        }
    );
    assert!(matches!(
        reason(windows, "winonly"),
        NoWheelReason::NotOnIndex { .. }
    ));
    assert_eq!(windows.not_applicable, ["notthere==1.0"]);
    // The folder holds exactly the picked slim wheels.
    let mut listed: Vec<String> = std::fs::read_dir(&windows.wheels_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    listed.sort();
    assert_eq!(listed, ["fastpkg-1.0-cp314-cp314t-win_amd64.whl"]);
}

#[test]
fn requirements_over_a_json_index_with_range_reads_then_a_warm_cache() {
    let (world, site) = world(true, true);
    let lock_text = requirements(&world);
    let wheel_total: u64 = world.fast_linux.1.len() as u64;
    let server = Server::start(site);
    let dir = tempfile::tempdir().unwrap();
    let lock = parse_lock(&write(dir.path(), "requirements.txt", &lock_text)).unwrap();
    let options = options(dir.path(), Some(server.index()));
    let cold = fetch(&lock, &[linux(), windows()], &options);
    check_every_reason(&cold, &world);
    assert!(
        cold.requests > 0
            && cold.requests == server.requests.load(std::sync::atomic::Ordering::SeqCst) as u64
    );
    assert!(target(&cold, "manylinux_2_28_x86_64")
        .picked
        .iter()
        .all(|p| !p.whole_download && !p.from_cache));
    // The 3 MiB fastpkg wheel was never downloaded: its tail and its .so were.
    assert!(
        cold.wheel_bytes_read < wheel_total / 5,
        "read {} of a {wheel_total}-byte wheel",
        cold.wheel_bytes_read
    );
    assert!(cold.picked_wheel_bytes >= wheel_total);
    let log = server.log.lock().unwrap().clone();
    assert!(
        log.iter().any(
            |l| l.starts_with("/files/fastpkg-1.0-cp314-cp314t-manylinux")
                && l.ends_with("bytes=-65536")
        ),
        "{log:?}"
    );

    let before = server.requests.load(std::sync::atomic::Ordering::SeqCst);
    let warm = fetch(&lock, &[linux(), windows()], &options);
    assert_eq!(warm.requests, 0);
    assert_eq!(warm.bytes_read, 0);
    assert_eq!(
        server.requests.load(std::sync::atomic::Ordering::SeqCst),
        before,
        "the server saw no request"
    );
    assert!(warm
        .targets
        .iter()
        .flat_map(|t| &t.picked)
        .all(|p| p.from_cache));
    // Everything but the projects the index never had (not cached) is the same.
    check_every_reason(&warm, &world);

    // Offline with the cache: nothing missing that was there; offline with an empty cache:
    // every package says so.
    let offline = ftaudit_lock::FetchOptions {
        offline: true,
        ..options.clone()
    };
    let warm_offline = fetch(&lock, &[linux()], &offline);
    assert_eq!(warm_offline.requests, 0);
    assert_eq!(warm_offline.targets[0].picked.len(), 2);
    let empty = tempfile::tempdir().unwrap();
    let cold_offline = fetch(
        &lock,
        &[linux()],
        &ftaudit_lock::FetchOptions {
            offline: true,
            ..support::options(empty.path(), Some(server.index()))
        },
    );
    assert_eq!(cold_offline.requests, 0);
    assert!(cold_offline.targets[0].picked.is_empty());
    assert!(
        matches!(reason(&cold_offline.targets[0], "fastpkg"), NoWheelReason::Offline { what } if what.contains("/simple/fastpkg/"))
    );
}

#[test]
fn html_only_index() {
    let (world, site) = world(true, false);
    let lock_text = requirements(&world);
    let server = Server::start(site);
    let dir = tempfile::tempdir().unwrap();
    let lock = parse_lock(&write(dir.path(), "requirements.txt", &lock_text)).unwrap();
    let result = fetch(
        &lock,
        &[linux(), windows()],
        &options(dir.path(), Some(server.index())),
    );
    check_every_reason(&result, &world);
}

#[test]
fn a_server_that_ignores_ranges_gets_whole_downloads_checked_against_the_hash() {
    let (world, site) = world(false, true);
    let (good_name, good_bytes) = world.fast_linux.clone();
    let server = Server::start(site);
    let (purewin_name, _) = build_wheel(
        "purewin",
        "1.1",
        "cp314-cp314t-manylinux_2_28_x86_64",
        &[],
        None,
    );
    let dir = tempfile::tempdir().unwrap();
    let pylock = format!(
        "lock-version = \"1.0\"\ncreated-by = \"test\"\n\n[[packages]]\nname = \"fastpkg\"\nversion = \"1.0\"\n\
         wheels = [{{ name = \"{good_name}\", url = \"{}\", hashes = {{ sha256 = \"{}\" }} }}]\n\n\
         [[packages]]\nname = \"purewin\"\nversion = \"1.1\"\n\
         wheels = [{{ url = \"{}\", hashes = {{ sha256 = \"{}\" }} }}]\n",
        server.file_url(&good_name),
        sha256_hex(&good_bytes),
        server.file_url(&purewin_name),
        "0".repeat(64),
    );
    let lock = parse_lock(&write(dir.path(), "pylock.toml", &pylock)).unwrap();
    let result = fetch(&lock, &[linux()], &options(dir.path(), None));
    let on_linux = &result.targets[0];
    assert_eq!(on_linux.picked.len(), 1);
    assert!(on_linux.picked[0].whole_download);
    assert_eq!(on_linux.picked[0].native_members, [SO]);
    assert!(
        result.wheel_bytes_read >= good_bytes.len() as u64,
        "the whole file was read"
    );
    match reason(on_linux, "purewin") {
        NoWheelReason::HashMismatch {
            checked,
            expected,
            actual,
            ..
        } => {
            assert_eq!(*checked, HashCheck::WholeFile);
            assert_eq!(expected, &vec!["0".repeat(64)]);
            assert_eq!(actual.len(), 64);
        }
        other => panic!("expected a whole-file hash mismatch, got {other:?}"),
    }
    assert_eq!(result.index_bytes_read, 0, "a pylock.toml needs no index");
}

#[test]
fn unreachable_hosts_are_per_package_errors() {
    let (world, site) = world(true, true);
    let server = Server::start(site);
    let port = closed_port();
    let dir = tempfile::tempdir().unwrap();
    let (name, bytes) = world.fast_linux.clone();
    let uv_lock = format!(
        "version = 1\nrevision = 2\nrequires-python = \">=3.14\"\n\n\
         [[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = {{ virtual = \".\" }}\n\n\
         [[package]]\nname = \"fastpkg\"\nversion = \"1.0\"\nsource = {{ registry = \"{}\" }}\n\
         wheels = [{{ url = \"{}\", hash = \"sha256:{}\", size = {} }}]\n\n\
         [[package]]\nname = \"gone\"\nversion = \"1.0\"\nsource = {{ registry = \"http://127.0.0.1:{port}/simple\" }}\n\
         wheels = [{{ url = \"http://127.0.0.1:{port}/files/gone-1.0-cp314-cp314t-manylinux_2_17_x86_64.whl\", hash = \"sha256:{}\", size = 10 }}]\n",
        server.index(),
        server.file_url(&name),
        sha256_hex(&bytes),
        bytes.len(),
        "1".repeat(64),
    );
    let lock = parse_lock(&write(dir.path(), "uv.lock", &uv_lock)).unwrap();
    assert_eq!(lock.format, ftaudit_lock::LockFormat::UvLock);
    let result = fetch(&lock, &[linux()], &options(dir.path(), None));
    let on_linux = &result.targets[0];
    assert_eq!(
        on_linux
            .picked
            .iter()
            .map(|p| p.wheel.as_str())
            .collect::<Vec<_>>(),
        [name.as_str()]
    );
    assert_eq!(on_linux.picked[0].size, Some(bytes.len() as u64));
    match reason(on_linux, "gone") {
        NoWheelReason::DownloadError { message, .. } => assert!(
            message.contains(&format!("127.0.0.1:{port}")) && message.contains("2 attempts"),
            "{message}"
        ),
        other => panic!("expected a download error, got {other:?}"),
    }

    // A requirements file whose only index is unreachable: each pin says so.
    let lock = parse_lock(&write(
        dir.path(),
        "requirements.txt",
        "fastpkg==1.0\ngilonly==2.0\n",
    ))
    .unwrap();
    let result = fetch(
        &lock,
        &[linux()],
        &options(dir.path(), Some(format!("http://127.0.0.1:{port}/simple/"))),
    );
    assert_eq!(result.targets[0].missing.len(), 2);
    for missing in &result.targets[0].missing {
        assert!(
            matches!(&missing.reason, NoWheelReason::IndexError { message } if message.contains("/simple/") && message.contains(&missing.name)),
            "{:?}",
            missing.reason
        );
    }
    // With a reachable extra index, the unreachable primary does not stop anything.
    let both = ftaudit_lock::FetchOptions {
        extra_index_urls: vec![server.index()],
        ..options(dir.path(), Some(format!("http://127.0.0.1:{port}/simple/")))
    };
    let result = fetch(&lock, &[linux()], &both);
    assert_eq!(result.targets[0].picked.len(), 1);
    assert!(matches!(
        reason(&result.targets[0], "gilonly"),
        NoWheelReason::OnlyGilBuild { .. }
    ));
}

#[test]
fn lock_hash_that_no_index_file_has_is_a_mismatch() {
    let (world, site) = world(true, true);
    let server = Server::start(site);
    let dir = tempfile::tempdir().unwrap();
    let text = format!("fastpkg==1.0 --hash=sha256:{}\n", "2".repeat(64));
    let lock = parse_lock(&write(dir.path(), "requirements.txt", &text)).unwrap();
    let result = fetch(
        &lock,
        &[linux(), windows()],
        &options(dir.path(), Some(server.index())),
    );
    for target in &result.targets {
        assert!(matches!(
            reason(target, "fastpkg"),
            NoWheelReason::HashMismatch {
                checked: HashCheck::Index,
                ..
            }
        ));
    }
    // The lock lists the Linux wheel only: Windows's fitting wheel is not in the lock.
    let text = format!(
        "fastpkg==1.0 --hash=sha256:{}\n",
        sha256_hex(&world.fast_linux.1)
    );
    let lock = parse_lock(&write(dir.path(), "requirements.txt", &text)).unwrap();
    let result = fetch(
        &lock,
        &[linux(), windows()],
        &options(dir.path(), Some(server.index())),
    );
    assert_eq!(result.targets[0].picked.len(), 1);
    assert_eq!(
        reason(&result.targets[1], "fastpkg"),
        &NoWheelReason::NotInLock {
            wheel: "fastpkg-1.0-cp314-cp314t-win_amd64.whl".into()
        }
    );
}

#[test]
fn an_unpinned_line_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "requirements.txt",
        "six==1.17.0\n# fine\nnumpy>=2\n",
    );
    let err = parse_lock(&path).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}:3: numpy is not pinned (a range): a lock needs name==version, got \"numpy>=2\"",
            path.display()
        )
    );
}

#[test]
fn a_central_directory_bigger_than_the_tail_and_a_zip64_wheel() {
    let so = real_shared_object();
    let mut site = Site::new(true, true);
    // 3000 members: a directory of ~200 KiB, read with a second range request.
    let many: Vec<(String, Vec<u8>)> = (0..3000)
        .map(|i| {
            (
                format!("bigdir/tests/test_{i:05}.py"),
                format!("x = {i}\n").into_bytes(),
            )
        })
        .collect();
    let mut members: Vec<(&str, Vec<u8>)> =
        many.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    members.insert(
        0,
        ("bigdir/_c.cpython-314t-x86_64-linux-gnu.so", so.clone()),
    );
    let (big_name, big_bytes) = build_wheel(
        "bigdir",
        "1.0",
        "cp314-cp314t-manylinux_2_17_x86_64",
        &members,
        None,
    );
    site.add("bigdir", &big_name, big_bytes);
    // 70 000 members: more than a zip's 16-bit entry count, so the zip64 records are written.
    let huge: Vec<(String, Vec<u8>)> = (0..70_000)
        .map(|i| (format!("z/{i}"), Vec::new()))
        .collect();
    let mut members: Vec<(&str, Vec<u8>)> =
        huge.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
    members.push(("z/_z.cpython-314t-x86_64-linux-gnu.so", so.clone()));
    let (z_name, z_bytes) = build_wheel(
        "zipsixtyfour",
        "1.0",
        "cp314-cp314t-manylinux_2_17_x86_64",
        &members,
        None,
    );
    assert!(
        z_bytes.windows(4).any(|w| w == [0x50, 0x4b, 0x06, 0x07]),
        "the test wheel has a zip64 locator"
    );
    site.add("zipsixtyfour", &z_name, z_bytes);
    let server = Server::start(site);
    let dir = tempfile::tempdir().unwrap();
    let lock = parse_lock(&write(
        dir.path(),
        "requirements.txt",
        "bigdir==1.0\nzipsixtyfour==1.0\n",
    ))
    .unwrap();
    let result = fetch(
        &lock,
        &[linux()],
        &options(dir.path(), Some(server.index())),
    );
    let on_linux = &result.targets[0];
    assert!(on_linux.missing.is_empty(), "{:?}", on_linux.missing);
    let natives: Vec<&str> = on_linux
        .picked
        .iter()
        .flat_map(|p| p.native_members.iter().map(String::as_str))
        .collect();
    assert_eq!(
        natives,
        [
            "bigdir/_c.cpython-314t-x86_64-linux-gnu.so",
            "z/_z.cpython-314t-x86_64-linux-gnu.so"
        ]
    );
    for picked in &on_linux.picked {
        let slim = zip_members(&std::fs::read(&picked.slim_path).unwrap());
        assert_eq!(slim.len(), 4, "{}", picked.wheel);
        assert_eq!(slim[0].1, so);
    }
    let log = server.log.lock().unwrap().clone();
    let big_requests = log
        .iter()
        .filter(|l| l.starts_with(&format!("/files/{big_name}")))
        .count();
    // The tail, the rest of the directory, the .so (first member) and the dist-info files (last,
    // after the 3000 tests: too far to merge with the .so).
    assert_eq!(big_requests, 4, "{log:?}");
}

#[test]
fn a_server_that_refuses_ranges_with_416_gets_a_whole_download() {
    let (world, mut site) = world(true, true);
    site.refuse_ranges = true;
    let server = Server::start(site);
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "fastpkg==1.0 --hash=sha256:{}\n",
        sha256_hex(&world.fast_linux.1)
    );
    let lock = parse_lock(&write(dir.path(), "requirements.txt", &text)).unwrap();
    let result = fetch(
        &lock,
        &[linux()],
        &options(dir.path(), Some(server.index())),
    );
    let picked = &result.targets[0].picked;
    assert_eq!(picked.len(), 1, "{:?}", result.targets[0].missing);
    assert!(picked[0].whole_download);
    assert_eq!(picked[0].native_members, [SO]);
    let log = server.log.lock().unwrap().clone();
    let wheel_requests: Vec<&String> = log.iter().filter(|l| l.starts_with("/files/")).collect();
    assert_eq!(
        wheel_requests.len(),
        2,
        "the refused range, then the whole file: {log:?}"
    );
    assert!(
        wheel_requests[1].trim_end().ends_with(".whl"),
        "no Range header the second time: {log:?}"
    );
}

#[test]
fn a_5xx_is_retried_and_a_404_is_not() {
    let (_, mut site) = world(true, true);
    site.index_failures = 1;
    let server = Server::start(site);
    let dir = tempfile::tempdir().unwrap();
    let lock = parse_lock(&write(dir.path(), "requirements.txt", "fastpkg==1.0\n")).unwrap();
    let result = fetch(
        &lock,
        &[linux()],
        &options(dir.path(), Some(server.index())),
    );
    assert_eq!(
        result.targets[0].picked.len(),
        1,
        "{:?}",
        result.targets[0].missing
    );
    let log = server.log.lock().unwrap().clone();
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("/simple/fastpkg/"))
            .count(),
        2,
        "a 503, then the page: {log:?}"
    );

    let lock = parse_lock(&write(dir.path(), "requirements.txt", "notthere==1.0\n")).unwrap();
    let result = fetch(
        &lock,
        &[linux()],
        &options(dir.path(), Some(server.index())),
    );
    assert!(matches!(
        reason(&result.targets[0], "notthere"),
        NoWheelReason::NotOnIndex { .. }
    ));
    let log = server.log.lock().unwrap().clone();
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("/simple/notthere/"))
            .count(),
        1,
        "{log:?}"
    );
}
