//! A wheel read the way `ftaudit scan x.whl` reads it: the input is written to a file named like
//! a wheel, `ftaudit_discover::discover` opens it in place (central directory, dist-info
//! METADATA / WHEEL, member list), then every discovered native member is read whole and by its
//! head (stored members borrowed from the map, deflated ones inflated) and analysed.
//!
//! Input: the bytes of the .whl file.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// The wheel's file name: its tags are what discovery falls back on when WHEEL has none.
const WHEEL_NAME: &str = "fuzz_pkg-1.0-cp314-cp314t-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
/// What `read_head` is asked for besides HEADER_BYTES: a short head, shorter than most members.
const SHORT_HEAD: usize = 4096;

/// One folder per process, made once: creating a tempdir per input would dominate the run.
fn wheel_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        // One wheel per input: a pool of threads per core would only cost start-up time.
        std::env::set_var("RAYON_NUM_THREADS", "1");
        let dir = tempfile::Builder::new()
            .prefix("ftaudit-fuzz-wheel-")
            .tempdir()
            .expect("a temporary folder");
        // Kept for the life of the process (a static is never dropped, so remove nothing).
        dir.keep().join(WHEEL_NAME)
    })
}

fuzz_target!(|data: &[u8]| {
    let path = wheel_path();
    std::fs::write(path, data).expect("write the wheel");
    let Ok(discovery) = ftaudit_discover::discover(path) else {
        return;
    };
    for file in &discovery.files {
        let file_name = file.path.rsplit('/').next().unwrap_or(&file.path);
        let whole = discovery.sources.read(&file.location);
        if let Ok(bytes) = &whole {
            let _ = ftaudit_static::analyze(file_name, bytes);
        }
        for limit in [SHORT_HEAD, ftaudit_static::HEADER_BYTES] {
            let head = discovery.sources.read_head(&file.location, limit);
            if let Ok(head) = &head {
                assert!(head.len() <= limit, "read_head({limit}) gave {} bytes", head.len());
                if limit == ftaudit_static::HEADER_BYTES {
                    let _ = ftaudit_static::identify_library(file_name, head, "fuzzing");
                }
                // A head is the start of the member: when the whole member reads too, the
                // head must be exactly its first `limit` bytes.
                if let Ok(whole) = &whole {
                    let want = &whole[..whole.len().min(limit)];
                    assert!(
                        head[..] == *want,
                        "read_head({limit}) of {} is not the first {} bytes of read() ({} bytes)",
                        file.path,
                        want.len(),
                        head.len()
                    );
                }
            }
        }
        let _ = file.location.display(&discovery.sources);
    }
});
