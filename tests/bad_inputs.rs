//! Inputs that are broken, or built to hurt: every one is a problem that names the file, the
//! rest of the scan goes on, and the exit status says "could not check" (2), never "ready".

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};

use ftaudit_model::{FileProblemKind, InputProblemKind, Report};
use support::*;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

fn markupsafe_wheel() -> PathBuf {
    let dir = wheel_sets_dir().join("linux-cp314t");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.to_string_lossy().contains("markupsafe-"))
        .expect("the markupsafe cp314t wheel (scripts/fetch-wheels.sh --all)")
}

const MODULE: &str = "markupsafe/_speedups.cpython-314t-x86_64-linux-gnu.so";

/// The real extension module's bytes, out of the real wheel.
fn real_module() -> Vec<u8> {
    let mut archive =
        zip::ZipArchive::new(std::fs::File::open(markupsafe_wheel()).unwrap()).unwrap();
    let mut member = archive.by_name(MODULE).unwrap();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut member, &mut bytes).unwrap();
    bytes
}

fn problems_of(report: &Report, kind: InputProblemKind) -> Vec<String> {
    report
        .input_problems
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| format!("{}: {}", p.path.display(), p.message))
        .collect()
}

fn assert_incomplete(code: i32, report: &Report) {
    assert!(report.summary.incomplete, "{:?}", report.summary);
    assert_eq!(code, 2, "could not check: {:?}", report.input_problems);
}

#[test]
fn a_truncated_wheel_and_a_text_file_named_whl_exit_2_and_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read(markupsafe_wheel()).unwrap();
    let truncated = dir
        .path()
        .join("markupsafe-3.0.4-cp314-cp314t-linux_x86_64.whl");
    std::fs::write(&truncated, &original[..original.len() / 2]).unwrap();
    let text = dir.path().join("x-1.0-py3-none-any.whl");
    std::fs::write(&text, "not a zip\n").unwrap();

    for wheel in [&truncated, &text] {
        let (code, report) = scan_json(&[], wheel);
        assert_incomplete(code, &report);
        assert_eq!(
            report.input_problems.len(),
            1,
            "{:?}",
            report.input_problems
        );
        let problem = &report.input_problems[0];
        assert_eq!(problem.kind, InputProblemKind::BadWheel);
        assert_eq!(problem.path, std::fs::canonicalize(wheel).unwrap());
        assert!(
            problem.message.contains("not a valid wheel"),
            "{}",
            problem.message
        );

        let out = run(ftaudit().arg("scan").arg(wheel));
        let table = String::from_utf8_lossy(&out.stdout);
        assert!(
            table.contains(&*wheel.file_name().unwrap().to_string_lossy()),
            "{table}"
        );
        assert!(table.contains("INCOMPLETE"), "{table}");
        assert_eq!(out.status.code(), Some(2));
    }

    // In a folder of wheels, the good one is still read.
    std::fs::copy(
        markupsafe_wheel(),
        dir.path().join(markupsafe_wheel().file_name().unwrap()),
    )
    .unwrap();
    let (code, report) = scan_json(&[], dir.path());
    assert_incomplete(code, &report);
    assert_eq!(problems_of(&report, InputProblemKind::BadWheel).len(), 2);
    let speedups = file(&report, "markupsafe._speedups");
    assert!(speedups.static_facts.is_some(), "{:?}", speedups.problem);
}

/// A site-packages folder with every kind of entry that is not a plain file: each one is named
/// with its reason, none is opened (a FIFO would block a reader forever), and the real module
/// beside them is still checked.
#[test]
fn fifos_links_and_broken_metadata_in_site_packages_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site-packages");
    let pkg = site.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let suffix = ".cpython-314t-x86_64-linux-gnu.so";
    std::fs::write(pkg.join(format!("_real{suffix}")), real_module()).unwrap();
    let fifo = pkg.join(format!("_fifo{suffix}"));
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    std::os::unix::fs::symlink("/dev/zero", pkg.join(format!("_zero{suffix}"))).unwrap();
    std::os::unix::fs::symlink("/nonexistent/x.so", pkg.join(format!("_dangling{suffix}")))
        .unwrap();
    std::os::unix::fs::symlink(&pkg, site.join("pkg_link")).unwrap();
    std::os::unix::fs::symlink(
        pkg.join(format!("_real{suffix}")),
        pkg.join(format!("_alias{suffix}")),
    )
    .unwrap();
    // A distribution whose RECORD is missing, and one whose METADATA is.
    let no_record = site.join("norecord-1.0.dist-info");
    std::fs::create_dir_all(&no_record).unwrap();
    std::fs::write(
        no_record.join("METADATA"),
        "Metadata-Version: 2.1\nName: norecord\nVersion: 1.0\n",
    )
    .unwrap();
    std::fs::write(
        no_record.join("WHEEL"),
        "Wheel-Version: 1.0\nTag: cp314-cp314t-linux_x86_64\n",
    )
    .unwrap();
    let no_metadata = site.join("pkg-1.0.dist-info");
    std::fs::create_dir_all(&no_metadata).unwrap();
    std::fs::write(
        no_metadata.join("WHEEL"),
        "Wheel-Version: 1.0\nTag: cp314-cp314t-linux_x86_64\n",
    )
    .unwrap();
    std::fs::write(
        no_metadata.join("RECORD"),
        format!("pkg/_real{suffix},,\n\"unterminated\n"),
    )
    .unwrap();

    let (code, report) = scan_json(&["--static-only"], &site);
    assert_incomplete(code, &report);
    let not_regular = problems_of(&report, InputProblemKind::NotARegularFile);
    assert_eq!(not_regular.len(), 1, "{not_regular:?}");
    assert!(
        not_regular[0].contains("_fifo") && not_regular[0].contains("a FIFO"),
        "{not_regular:?}"
    );
    let links = problems_of(&report, InputProblemKind::LinkSkipped);
    assert_eq!(links.len(), 3, "{links:?}");
    assert!(
        links.iter().any(|l| l.contains("_zero")
            && l.contains("/dev/zero")
            && l.contains("character device")),
        "{links:?}"
    );
    assert!(
        links
            .iter()
            .any(|l| l.contains("_dangling") && l.contains("cannot be read")),
        "{links:?}"
    );
    assert!(
        links
            .iter()
            .any(|l| l.contains("pkg_link") && l.contains("folder")),
        "{links:?}"
    );
    let metadata = problems_of(&report, InputProblemKind::BadMetadata);
    assert!(
        metadata
            .iter()
            .any(|m| m.contains("norecord-1.0.dist-info/RECORD")),
        "{metadata:?}"
    );
    assert!(
        metadata
            .iter()
            .any(|m| m.contains("pkg-1.0.dist-info/METADATA")),
        "{metadata:?}"
    );

    // The real module and the link to it are read; nothing else was taken for a module.
    let mut read: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
    read.sort();
    assert_eq!(
        read,
        [format!("pkg/_alias{suffix}"), format!("pkg/_real{suffix}")]
    );
    assert!(
        report.files.iter().all(|f| f.static_facts.is_some()),
        "{:?}",
        report.files
    );
    assert_eq!(report.summary.input_problems, report.input_problems.len());

    let out = run(ftaudit().args(["scan", "--static-only"]).arg(&site));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("could not read") && table.contains("_fifo"),
        "{table}"
    );
}

/// A target that is itself a FIFO is refused at once, not opened.
#[test]
fn a_fifo_as_the_target_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("x.whl");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = run(ftaudit().arg("scan").arg(&fifo));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("x.whl") && stderr.contains("FIFO"),
        "{stderr}"
    );
}

/// Builds a wheel of the real module plus the given extra members, then lets `patch` rewrite
/// its bytes (for what no zip writer will produce: duplicates, lying headers, bad flags).
struct WheelBuilder {
    members: Vec<(String, Vec<u8>, SimpleFileOptions)>,
}

impl WheelBuilder {
    fn new() -> Self {
        let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        let mut builder = Self {
            members: Vec::new(),
        };
        builder.add(
            "demo-1.0.dist-info/METADATA",
            b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n".to_vec(),
            deflated,
        );
        builder.add(
            "demo-1.0.dist-info/WHEEL",
            b"Wheel-Version: 1.0\nTag: cp314-cp314t-linux_x86_64\n".to_vec(),
            deflated,
        );
        builder.add(
            "demo/_good.cpython-314t-x86_64-linux-gnu.so",
            real_module(),
            deflated,
        );
        builder
    }

    fn add(&mut self, name: &str, bytes: Vec<u8>, options: SimpleFileOptions) -> &mut Self {
        self.members.push((name.to_string(), bytes, options));
        self
    }

    fn write(&self, dir: &Path, name: &str, patch: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (member, bytes, options) in &self.members {
            writer.start_file(member.as_str(), *options).unwrap();
            writer.write_all(bytes).unwrap();
        }
        let mut bytes = writer.finish().unwrap().into_inner();
        patch(&mut bytes);
        let path = dir.join(format!("{name}-1.0-cp314-cp314t-linux_x86_64.whl"));
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

/// Offsets of every local header (PK\3\4) and central directory header (PK\1\2) whose name is `name`.
fn headers_named(bytes: &[u8], name: &str) -> Vec<(usize, bool)> {
    let mut found = Vec::new();
    for i in 0..bytes.len().saturating_sub(46) {
        let (central, name_at) = match &bytes[i..i + 4] {
            b"PK\x03\x04" => (false, i + 30),
            b"PK\x01\x02" => (true, i + 46),
            _ => continue,
        };
        let len_at = if central { i + 28 } else { i + 26 };
        let len = u16::from_le_bytes([bytes[len_at], bytes[len_at + 1]]) as usize;
        if bytes.get(name_at..name_at + len) == Some(name.as_bytes()) {
            found.push((i, central));
        }
    }
    found
}

fn patch_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

fn patch_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn good_module_was_read(report: &Report) {
    let good = file(report, "demo._good");
    assert!(
        good.static_facts.is_some(),
        "the rest of the wheel is still read: {:?}",
        good.problem
    );
}

/// `len` bytes of zeros as a raw deflate stream, built from one full-flushed 1 MiB chunk
/// repeated: full flushes are byte-aligned and independent, so the copies concatenate.
fn deflated_zeros(len: usize) -> Vec<u8> {
    const CHUNK: usize = 1 << 20;
    assert_eq!(len % CHUNK, 0);
    let mut compress = flate2::Compress::new(flate2::Compression::best(), false);
    let mut chunk = Vec::with_capacity(CHUNK);
    compress
        .compress_vec(&vec![0u8; CHUNK], &mut chunk, flate2::FlushCompress::Full)
        .unwrap();
    let mut stream = Vec::new();
    for _ in 0..len / CHUNK {
        stream.extend_from_slice(&chunk);
    }
    // An empty final stored block ends the stream.
    stream.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]);
    stream
}

#[test]
fn hostile_wheels_are_refused_member_by_member_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let evil = "../../evil.cpython-314t-x86_64-linux-gnu.so";
    let module = |name: &str| format!("demo/{name}.cpython-314t-x86_64-linux-gnu.so");

    // Path traversal and an absolute name: refused, never taken for modules.
    let traversal = WheelBuilder::new()
        .add(evil, real_module(), deflated)
        .add(
            "/tmp/abs.cpython-314t-x86_64-linux-gnu.so",
            real_module(),
            deflated,
        )
        .write(dir.path(), "traversal", |_| {});
    let (code, report) = scan_json(&[], &traversal);
    assert_incomplete(code, &report);
    let hostile = problems_of(&report, InputProblemKind::HostileMember);
    assert_eq!(hostile.len(), 2, "{hostile:?}");
    assert!(
        hostile
            .iter()
            .all(|h| h.contains("outside the install folder")),
        "{hostile:?}"
    );
    assert!(report
        .files
        .iter()
        .all(|f| !f.path.contains("evil") && !f.path.contains("abs")));
    good_module_was_read(&report);

    // A duplicate name: no writer makes one, so the second member's name is patched.
    let (twin, other) = (module("_twin"), module("_twiN"));
    let duplicate = WheelBuilder::new()
        .add(&twin, real_module(), deflated)
        .add(&other, real_module(), deflated)
        .write(dir.path(), "duplicate", |bytes| {
            for (at, central) in headers_named(bytes, &other) {
                let name_at = at + if central { 46 } else { 30 };
                bytes[name_at..name_at + twin.len()].copy_from_slice(twin.as_bytes());
            }
        });
    let (code, report) = scan_json(&[], &duplicate);
    assert_incomplete(code, &report);
    let text = format!(
        "{:?}{:?}",
        report.input_problems,
        report.files.iter().map(|f| &f.problem).collect::<Vec<_>>()
    );
    assert!(
        text.contains("more than once") || text.contains("uplicate"),
        "{text}"
    );
    good_module_was_read(&report);

    // Encrypted (flag bit 0) and an unsupported compression method (12, bzip2).
    let (locked, bzip) = (module("_locked"), module("_bzip"));
    let flagged = WheelBuilder::new()
        .add(&locked, real_module(), stored)
        .add(&bzip, real_module(), stored)
        .write(dir.path(), "flags", |bytes| {
            for (at, central) in headers_named(bytes, &locked) {
                let flags_at = at + if central { 8 } else { 6 };
                let flags = u16::from_le_bytes([bytes[flags_at], bytes[flags_at + 1]]);
                patch_u16(bytes, flags_at, flags | 1);
            }
            for (at, central) in headers_named(bytes, &bzip) {
                patch_u16(bytes, at + if central { 10 } else { 8 }, 12);
            }
        });
    let (code, report) = scan_json(&[], &flagged);
    assert_incomplete(code, &report);
    let problem = |name: &str| {
        let f = file(&report, &format!("demo.{name}"));
        f.problem
            .clone()
            .unwrap_or_else(|| panic!("{name} must not be read: {:?}", f.static_facts))
    };
    assert!(
        problem("_locked").message.contains("encrypted"),
        "{:?}",
        problem("_locked")
    );
    assert!(
        problem("_bzip").message.contains("compression"),
        "{:?}",
        problem("_bzip")
    );
    good_module_was_read(&report);

    // Sizes that lie: one claims 3 GiB, one claims fewer bytes than it inflates to.
    let (huge, short) = (module("_huge"), module("_short"));
    let lying = WheelBuilder::new()
        .add(&huge, real_module(), deflated)
        .add(&short, real_module(), deflated)
        .write(dir.path(), "lying", |bytes| {
            for (at, central) in headers_named(bytes, &huge) {
                patch_u32(bytes, at + if central { 24 } else { 22 }, 3 << 30);
            }
            for (at, central) in headers_named(bytes, &short) {
                patch_u32(bytes, at + if central { 24 } else { 22 }, 1000);
            }
        });
    let (code, report) = scan_json(&[], &lying);
    assert_incomplete(code, &report);
    for name in ["_huge", "_short"] {
        let p = problem_of(&report, name);
        assert!(
            matches!(
                p.kind,
                FileProblemKind::Unreadable | FileProblemKind::Malformed
            ),
            "{p:?}"
        );
        assert!(
            p.message.contains("lying.") || p.message.contains(".whl"),
            "names the wheel: {p:?}"
        );
    }
    good_module_was_read(&report);
}

fn problem_of(report: &Report, name: &str) -> ftaudit_model::FileProblem {
    let f = file(report, &format!("demo.{name}"));
    f.problem
        .clone()
        .unwrap_or_else(|| panic!("{name} must not be read: {:?}", f.static_facts))
}

/// A real zip bomb (512 MiB of zeros in half a megabyte) is refused without being inflated:
/// the scan stays far below the bomb's size in memory.
#[test]
fn a_zip_bomb_is_refused_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let bomb_len = 512 << 20;
    let stream = deflated_zeros(bomb_len);
    let name = "demo/_bomb.cpython-314t-x86_64-linux-gnu.so";
    // Written as a stored member of the stream's length, then relabelled as deflated with the
    // inflated size and CRC: a valid zip entry whose data is the prepared stream.
    let mut crc = crc32fast::Hasher::new();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..bomb_len >> 20 {
        crc.update(&zeros);
    }
    let crc = crc.finalize();
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let wheel = WheelBuilder::new()
        .add(name, stream, stored)
        .write(dir.path(), "bomb", |bytes| {
            for (at, central) in headers_named(bytes, name) {
                let (method, crc_at, size_at) = if central { (10, 16, 24) } else { (8, 14, 22) };
                patch_u16(bytes, at + method, 8);
                patch_u32(bytes, at + crc_at, crc);
                patch_u32(bytes, at + size_at, bomb_len as u32);
            }
        });
    let started = std::time::Instant::now();
    let out = run(&mut {
        let mut cmd = std::process::Command::new("/usr/bin/env");
        cmd.args(["time", "-f", "maxrss_kb=%M"])
            .arg(env!("CARGO_BIN_EXE_ftaudit"));
        cmd.arg("scan").arg(&wheel).args(["--format", "json"]);
        cmd
    });
    let report: Report = serde_json::from_slice(&out.stdout).expect("a report");
    let p = problem_of(&report, "_bomb");
    assert!(p.message.contains("zip bomb"), "{p:?}");
    assert_eq!(out.status.code(), Some(2));
    good_module_was_read(&report);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let maxrss_kb: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("maxrss_kb="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("GNU time output: {stderr}"));
    assert!(
        maxrss_kb < 128 * 1024,
        "peak RSS {maxrss_kb} KiB for a 512 MiB bomb"
    );
    assert!(started.elapsed().as_secs() < 60);
}

/// ZIP64 headers and names that are not UTF-8 are read like any other.
#[test]
fn zip64_and_non_utf8_names_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let zip64 = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(true);
    let wheel = WheelBuilder::new()
        .add(
            "demo/_big.cpython-314t-x86_64-linux-gnu.so",
            real_module(),
            zip64,
        )
        .add(
            "demo/_caf\u{e9}.cpython-314t-x86_64-linux-gnu.so",
            real_module(),
            SimpleFileOptions::default(),
        )
        .write(dir.path(), "zip64", |bytes| {
            // Make the second name raw Latin-1 (0xe9) without the UTF-8 flag: a CP437 name.
            let utf8 = "demo/_caf\u{e9}.cpython-314t-x86_64-linux-gnu.so";
            for (at, central) in headers_named(bytes, utf8) {
                let (flags_at, name_at) = if central { (8, 46) } else { (6, 30) };
                let flags = u16::from_le_bytes([bytes[at + flags_at], bytes[at + flags_at + 1]]);
                patch_u16(bytes, at + flags_at, flags & !(1 << 11));
                let name_at = at + name_at;
                let e9 = name_at + "demo/_caf".len();
                // "é" is two bytes in UTF-8; replace it with 0xe9 and a harmless '_'.
                bytes[e9] = 0xe9;
                bytes[e9 + 1] = b'_';
            }
        });
    let (code, report) = scan_json(&[], &wheel);
    let big = file(&report, "demo._big");
    assert!(
        big.static_facts.is_some(),
        "ZIP64 member: {:?}",
        big.problem
    );
    let odd = report
        .files
        .iter()
        .find(|f| f.path.starts_with("demo/_caf"))
        .expect("the CP437-named member is listed");
    assert!(
        odd.static_facts.is_some() || odd.problem.is_some(),
        "{odd:?}"
    );
    assert!(code == 0 || code == 1 || code == 2, "exit {code}");
    good_module_was_read(&report);
}

/// A folder that cannot be listed is named, and the module beside it is still read. Root reads
/// anything, so the scan runs in a user namespace with no uid mapping, where it cannot.
#[test]
fn an_unreadable_folder_is_reported_and_the_scan_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site-packages");
    let locked = site.join("locked_pkg");
    std::fs::create_dir_all(&locked).unwrap();
    std::fs::write(
        locked.join("_hidden.cpython-314t-x86_64-linux-gnu.so"),
        real_module(),
    )
    .unwrap();
    std::fs::write(
        site.join("_open.cpython-314t-x86_64-linux-gnu.so"),
        real_module(),
    )
    .unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();

    let out = std::process::Command::new("unshare")
        .args([
            "--user",
            env!("CARGO_BIN_EXE_ftaudit"),
            "scan",
            "--static-only",
            "--format",
            "json",
        ])
        .arg(&site)
        .output()
        .expect("unshare runs");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    let report: Report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let unreadable = problems_of(&report, InputProblemKind::UnreadableFolder);
    assert_eq!(unreadable.len(), 1, "{unreadable:?}");
    assert!(
        unreadable[0].contains("locked_pkg") && unreadable[0].contains("Permission denied"),
        "{unreadable:?}"
    );
    assert!(file(&report, "_open").static_facts.is_some());
    assert_incomplete(out.status.code().unwrap(), &report);
}
