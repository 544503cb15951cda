//! File-name rules: which files are native code, and which dotted module name a file would be
//! imported as.

/// `.so`, `.pyd`, `.dylib`, `.dll` (libraries that delvewheel bundles into Windows wheels) and
/// versioned shared objects (`libfoo.so.1.2`).
pub fn is_native_file_name(name: &str) -> bool {
    // Called for every file of a venv (tens of thousands): no allocation.
    let bytes = name.as_bytes();
    let ends_with = |suffix: &[u8]| {
        bytes.len() >= suffix.len()
            && bytes[bytes.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
    };
    ends_with(b".so")
        || ends_with(b".pyd")
        || ends_with(b".dylib")
        || ends_with(b".dll")
        || bytes.windows(4).any(|w| w.eq_ignore_ascii_case(b".so."))
}

/// The dotted name CPython would import `relative_path` (relative to a sys.path entry) as, or
/// None when the file name is not an extension module name or a folder on the way is not a
/// package name (`numpy.libs/`, `foo-1.0.data/`).
pub fn module_name_for(relative_path: &str) -> Option<String> {
    let mut parts: Vec<&str> = relative_path.split('/').filter(|p| !p.is_empty()).collect();
    let file = parts.pop()?;
    let (stem, suffix) = file.split_once('.')?;
    if !is_module_file_stem(stem) || !is_extension_suffix(suffix) {
        return None;
    }
    if !parts.iter().all(|p| is_identifier(p)) {
        return None;
    }
    // `pkg/__init__.<suffix>` is the package `pkg` itself (mypyc compiles package __init__
    // modules): `import pkg` loads it, while `import pkg.__init__` would load it a second time.
    if stem != "__init__" || parts.is_empty() {
        parts.push(stem);
    }
    Some(parts.join("."))
}

/// Suffixes from `importlib.machinery.EXTENSION_SUFFIXES` on any platform, without the leading
/// dot: `so`, `abi3.so`, `cpython-313t-x86_64-linux-gnu.so`, `cpython-314-darwin.so`, `pyd`,
/// `cp313t-win_amd64.pyd`.
fn is_extension_suffix(suffix: &str) -> bool {
    let lower = suffix.to_ascii_lowercase();
    match lower.as_str() {
        "so" | "pyd" | "abi3.so" | "abi3t.so" => true,
        _ => {
            let tagged = |tag: &str, ext: &str| {
                lower
                    .strip_suffix(ext)
                    .is_some_and(|t| t.starts_with(tag) && !t.contains('.'))
            };
            tagged("cpython-", ".so")
                || tagged("cp", ".pyd")
                || tagged("pypy", ".so")
                || tagged("graalpy", ".so")
        }
    }
}

/// A module file's own name: identifier characters, but it may begin with a digit. The import
/// system finds files by name (`importlib.import_module("24eba0d7__mypyc")` loads
/// `24eba0d7__mypyc.<suffix>` through `PyInit_24eba0d7__mypyc`), and mypyc names the shared
/// module of a compiled package that way; only the `import` statement needs an identifier.
fn is_module_file_stem(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c == '_' || c.is_alphanumeric())
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_alphabetic() => {}
        _ => return false,
    }
    chars.all(|c| c == '_' || c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_follow_import_rules() {
        let cases = [
            (
                "numpy/_core/_multiarray_umath.cpython-313t-x86_64-linux-gnu.so",
                Some("numpy._core._multiarray_umath"),
            ),
            (
                "markupsafe/_speedups.cp313t-win_amd64.pyd",
                Some("markupsafe._speedups"),
            ),
            (
                "_cffi_backend.cpython-314t-darwin.so",
                Some("_cffi_backend"),
            ),
            ("yaml/_yaml.abi3.so", Some("yaml._yaml")),
            ("plain.so", Some("plain")),
            (
                "ftfix_café.cpython-313t-x86_64-linux-gnu.so",
                Some("ftfix_café"),
            ),
            ("numpy.libs/libscipy_openblas64_-ff651d7f.so", None),
            ("pillow.libs/libjpeg-1a2b.so.62.4.0", None),
            ("pkg/libhelper.so.1", None),
            ("foo-1.0.data/platlib/foo.so", None),
            (
                "pkg/1bad.cpython-313t-x86_64-linux-gnu.so",
                Some("pkg.1bad"),
            ),
            (
                "24eba0d76380778f559b__mypyc.cpython-314t-x86_64-linux-gnu.so",
                Some("24eba0d76380778f559b__mypyc"),
            ),
            ("1pkg/mod.cpython-313t-x86_64-linux-gnu.so", None),
            ("pkg/bad-name.cpython-313t-x86_64-linux-gnu.so", None),
            (
                "mypy/__init__.cpython-314t-x86_64-linux-gnu.so",
                Some("mypy"),
            ),
            (
                "mypyc/irbuild/__init__.cpython-314t-x86_64-linux-gnu.so",
                Some("mypyc.irbuild"),
            ),
        ];
        for (path, want) in cases {
            assert_eq!(module_name_for(path).as_deref(), want, "{path}");
        }
    }

    #[test]
    fn native_file_names() {
        for yes in [
            "a.so",
            "a.PYD",
            "liba.dylib",
            "msvcp140-1234abcd.DLL",
            "libz.so.1.2.13",
            "x.cpython-313t-x86_64-linux-gnu.so",
        ] {
            assert!(is_native_file_name(yes), "{yes}");
        }
        for no in ["a.py", "a.pyi", "RECORD", "so", "a.sob"] {
            assert!(!is_native_file_name(no), "{no}");
        }
    }
}
