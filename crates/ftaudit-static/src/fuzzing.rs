//! Shared by the fuzz target `static_analyze` and the regression test that replays what it
//! found: which file name an input's first byte stands for (the ABI suffix is part of the
//! verdict). Not API.

/// Base names as discovery hands them to the static pass.
const NAMES: &[&str] = &[
    "x.cpython-314t-x86_64-linux-gnu.so",
    "x.cpython-313t-x86_64-linux-gnu.so",
    "x.cpython-314-x86_64-linux-gnu.so",
    "x.abi3.so",
    "x.cpython-314t-darwin.so",
    "x.cp314t-win_amd64.pyd",
    "libfoo.so",
    "libfoo.so.1.2",
    "foo.dll",
    "libfoo.dylib",
    "x.so",
    "x.pyd",
];

/// The file name the first byte of a fuzz input picks.
pub fn file_name(pick: u8) -> &'static str {
    NAMES[pick as usize % NAMES.len()]
}
