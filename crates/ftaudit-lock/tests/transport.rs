//! How the transport copes: servers that ignore or refuse ranges, retries, unreachable hosts,
//! central directories bigger than the tail and zip64 wheels.

mod support;

use ftaudit_lock::{fetch, parse_lock, HashCheck, NoWheelReason};
use support::world::*;
use support::*;

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
    let result = fetch_text(
        dir.path(),
        "requirements.txt",
        "fastpkg==1.0\ngilonly==2.0\n",
        &[linux()],
        Some(format!("http://127.0.0.1:{port}/simple/")),
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
    let lock = parse_lock(&dir.path().join("requirements.txt")).unwrap();
    let result = fetch(&lock, &[linux()], &both);
    assert_eq!(result.targets[0].picked.len(), 1);
    assert!(matches!(
        reason(&result.targets[0], "gilonly"),
        NoWheelReason::OnlyGilBuild { .. }
    ));
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
    let result = fetch_text(
        dir.path(),
        "requirements.txt",
        "bigdir==1.0\nzipsixtyfour==1.0\n",
        &[linux()],
        Some(server.index()),
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
    let text = world.linux_pin();
    let result = fetch_text(
        dir.path(),
        "requirements.txt",
        &text,
        &[linux()],
        Some(server.index()),
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
    let result = fetch_text(
        dir.path(),
        "requirements.txt",
        "fastpkg==1.0\n",
        &[linux()],
        Some(server.index()),
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

    let result = fetch_text(
        dir.path(),
        "requirements.txt",
        "notthere==1.0\n",
        &[linux()],
        Some(server.index()),
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

#[test]
fn a_hashed_pin_without_an_index_hash_is_downloaded_whole_and_checked() {
    for json in [true, false] {
        let (world, mut site) = world(true, json);
        site.no_hashes = true;
        let server = Server::start(site);
        let dir = tempfile::tempdir().unwrap();
        // Right hash: read whole (ranges could not check it), accepted.
        let result = fetch_text(
            dir.path(),
            "requirements.txt",
            &world.linux_pin(),
            &[linux()],
            Some(server.index()),
        );
        let picked = &result.targets[0].picked;
        assert_eq!(picked.len(), 1, "{:?}", result.targets[0].missing);
        assert!(picked[0].whole_download);
        assert_eq!(
            picked[0].sha256.as_deref(),
            Some(sha256_hex(&world.fast_linux.1).as_str())
        );
        // Wrong hash: the whole file shows it.
        let wrong = format!("fastpkg==1.0 --hash=sha256:{}\n", "3".repeat(64));
        let result = fetch_text(
            dir.path(),
            "requirements.txt",
            &wrong,
            &[linux()],
            Some(server.index()),
        );
        assert!(matches!(
            reason(&result.targets[0], "fastpkg"),
            NoWheelReason::HashMismatch { checked: HashCheck::WholeFile, actual, .. } if *actual == sha256_hex(&world.fast_linux.1)
        ));
        // No lock hash, no index hash: range reads, RECORD checks only (a fresh cache: the
        // whole copy above would be reused).
        let fresh = tempfile::tempdir().unwrap();
        let result = fetch_text(
            fresh.path(),
            "requirements.txt",
            "fastpkg==1.0\n",
            &[linux()],
            Some(server.index()),
        );
        assert!(!result.targets[0].picked[0].whole_download);
    }
}
