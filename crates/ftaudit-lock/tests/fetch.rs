//! End-to-end fetches against a real HTTP server on 127.0.0.1 serving real wheels: every
//! reason a pin can lack a wheel, each index format, the warm cache, offline runs, hashes.

mod support;

use ftaudit_lock::{fetch, parse_lock, HashCheck, LockFetch, NoWheelReason};
use support::world::*;
use support::*;

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
    let result = fetch_text(
        dir.path(),
        "requirements.txt",
        &lock_text,
        &[linux(), windows()],
        Some(server.index()),
    );
    check_every_reason(&result, &world);
}

#[test]
fn lock_hash_that_no_index_file_has_is_a_mismatch() {
    let (world, site) = world(true, true);
    let server = Server::start(site);
    let dir = tempfile::tempdir().unwrap();
    let text = format!("fastpkg==1.0 --hash=sha256:{}\n", "2".repeat(64));
    let result = fetch_text(
        dir.path(),
        "requirements.txt",
        &text,
        &[linux(), windows()],
        Some(server.index()),
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
    let text = world.linux_pin();
    let result = fetch_text(
        dir.path(),
        "requirements.txt",
        &text,
        &[linux(), windows()],
        Some(server.index()),
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
fn header_bytes_is_the_static_passs() {
    assert_eq!(ftaudit_lock::HEADER_BYTES, ftaudit_static::HEADER_BYTES);
    assert_eq!(ftaudit_lock::HEADERS_KEPT, ftaudit_static::HEADER_BYTES + 1);
}

#[test]
fn a_bundled_library_is_read_only_as_far_as_its_headers() {
    const MODULE: &str = "bigpkg/_x.cpython-314t-x86_64-linux-gnu.so";
    const LIBRARY: &str = "bigpkg.libs/libbig.so.1";
    const STORED: &str = "bigpkg.libs/libstored.so.2";
    let so = real_shared_object();
    // A real ELF file's first bytes, then 3 MiB that do not compress: the wheel's bulk.
    let mut big = so.clone();
    big.extend(filler(3 << 20, 7));
    let mut stored = so.clone();
    stored.extend(filler(1 << 20, 9));
    let (filename, wheel) = build_wheel_with(
        "bigpkg",
        "1.0",
        "cp314-cp314t-manylinux_2_17_x86_64",
        &[
            (MODULE, so.clone(), true),
            (LIBRARY, big.clone(), true),
            (STORED, stored.clone(), false),
            ("bigpkg/__init__.py", b"from ._x import *\n".to_vec(), true),
        ],
    );
    let wheel_len = wheel.len() as u64;
    let mut site = Site::new(true, true);
    site.add("bigpkg", &filename, wheel);
    let server = Server::start(site);
    let dir = tempfile::tempdir().unwrap();
    let result = fetch_text(
        dir.path(),
        "requirements.txt",
        "bigpkg==1.0\n",
        &[linux()],
        Some(server.index()),
    );
    let linux = &result.targets[0];
    assert!(linux.missing.is_empty(), "{:?}", linux.missing);
    let picked = &linux.picked[0];
    assert!(
        result.wheel_bytes_read < wheel_len / 10,
        "read {} of a {wheel_len}-byte wheel",
        result.wheel_bytes_read
    );
    assert_eq!(picked.native_members, [MODULE, LIBRARY, STORED]);
    assert_eq!(picked.headers_only, [LIBRARY, STORED]);
    assert_eq!(picked.headers_only_sizes[LIBRARY], big.len() as u64);
    assert_eq!(picked.headers_only_sizes[STORED], stored.len() as u64);
    assert_eq!(
        picked.record_checked, 3,
        "the module, METADATA and WHEEL against RECORD; not the libraries"
    );
    let slim = std::fs::read(&picked.slim_path).unwrap();
    // An independent zip reader checks each member's CRC and size.
    let members = zip_members(&slim);
    let get = |name: &str| &members.iter().find(|(n, _)| n == name).unwrap().1;
    assert_eq!(get(MODULE), &so, "the module is whole");
    for (name, original) in [(LIBRARY, &big), (STORED, &stored)] {
        assert_eq!(get(name).len(), ftaudit_lock::HEADERS_KEPT);
        assert_eq!(
            get(name)[..],
            original[..ftaudit_lock::HEADERS_KEPT],
            "{name} keeps its first bytes"
        );
    }
    // The scanner's own wheel reader accepts the slim wheel, sees the library as bigger than
    // HEADER_BYTES (so it reads only its headers) and no module in it.
    let discovery = ftaudit_discover::discover(&linux.wheels_dir).unwrap();
    assert!(discovery.problems.is_empty(), "{:?}", discovery.problems);
    for file in &discovery.files {
        let bytes = discovery.sources.read(&file.location).unwrap();
        if file.path == LIBRARY {
            assert!(file.module_name.is_none());
            assert!(file.size > ftaudit_lock::HEADER_BYTES as u64);
            assert_eq!(bytes[..], big[..ftaudit_lock::HEADERS_KEPT]);
        } else if file.path == MODULE {
            assert_eq!(bytes[..], so[..]);
        }
    }

    // A warm run gives the same answer from the cache.
    let warm = fetch_text(
        dir.path(),
        "requirements.txt",
        "bigpkg==1.0\n",
        &[support::world::linux()],
        Some(server.index()),
    );
    assert_eq!(warm.requests, 0);
    assert_eq!(warm.targets[0].picked[0].headers_only, [LIBRARY, STORED]);
    assert_eq!(
        warm.targets[0].picked[0].headers_only_sizes,
        picked.headers_only_sizes
    );
}
