//! Which CPython ABI a file targets: from its name (PEP 3149 / PEP 703 suffixes) and from the
//! binary itself (def layout, free-threaded-only imports, python3XY[t].dll, libpython3.Yt.so).

use ftaudit_model::{AbiFacts, AbiTarget, DefLayout, StaticModule};

use crate::image::Image;

/// `.cpython-313t-x86_64-linux-gnu.so`, `.cp314t-win_amd64.pyd`, `.abi3.so`, `.cpython-313-darwin.so`.
pub fn abi_from_file_name(file_name: &str) -> AbiTarget {
    let parts: Vec<&str> = file_name.split('.').collect();
    if parts.len() < 3 {
        return AbiTarget::Unknown;
    }
    let tag = parts[parts.len() - 2];
    match tag {
        "abi3" => return AbiTarget::Abi3,
        "abi3t" => return AbiTarget::Abi3t,
        _ => {}
    }
    let first = tag.split('-').next().unwrap_or("");
    let rest = first
        .strip_prefix("cpython-")
        .or_else(|| {
            tag.strip_prefix("cpython-")
                .map(|t| t.split('-').next().unwrap_or(""))
        })
        .or_else(|| first.strip_prefix("cp"));
    let Some(rest) = rest else {
        return AbiTarget::Unknown;
    };
    parse_version_flags(rest).unwrap_or(AbiTarget::Unknown)
}

/// "313t" -> free-threaded 3.13; "314" -> default 3.14; "313td" (debug) keeps the 't'.
fn parse_version_flags(s: &str) -> Option<AbiTarget> {
    let digits: &str = &s[..s.bytes().take_while(u8::is_ascii_digit).count()];
    let flags = &s[digits.len()..];
    if digits.len() < 2 || !flags.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let version = format!("{}.{}", &digits[..1], &digits[1..]);
    Some(if flags.contains('t') {
        AbiTarget::FreeThreaded { version }
    } else {
        AbiTarget::Default { version }
    })
}

/// What a linked libpython says: `python313t.dll`, `python3.dll`, `libpython3.14t.so.1.0`.
fn from_library(lib: &str) -> Option<AbiTarget> {
    let lower = lib.to_ascii_lowercase();
    if lower == "python3.dll" {
        return Some(AbiTarget::Abi3);
    }
    if let Some(rest) = lower
        .strip_prefix("python")
        .and_then(|r| r.strip_suffix(".dll"))
    {
        return parse_version_flags(rest);
    }
    let rest = lower.strip_prefix("libpython")?;
    let end = rest
        .find(".so")
        .or_else(|| rest.find(".dylib"))
        .unwrap_or(rest.len());
    parse_version_flags(&rest[..end].replace('.', ""))
}

fn version_of(t: &AbiTarget) -> Option<&str> {
    match t {
        AbiTarget::FreeThreaded { version } | AbiTarget::Default { version } => Some(version),
        _ => None,
    }
}

pub(crate) fn abi_facts(file_name: &str, image: &Image<'_>, modules: &[StaticModule]) -> AbiFacts {
    let from_suffix = abi_from_file_name(file_name);
    let mut evidence: Vec<String> = Vec::new();

    let lib_abi = image
        .imports
        .libraries
        .iter()
        .find_map(|l| from_library(l).map(|a| (l.clone(), a)));
    let layouts: Vec<(u64, DefLayout)> = modules
        .iter()
        .filter_map(|m| m.def.as_ref())
        .map(|d| (d.address, d.layout))
        .collect();
    let ft_layout = layouts.iter().find(|(_, l)| *l == DefLayout::FreeThreaded);
    let default_layout = layouts.iter().find(|(_, l)| *l == DefLayout::Default);
    let ft_imports = &image.imports.free_threaded_only;

    let mut free_threaded: Option<bool> = None;
    if let Some((addr, layout)) = ft_layout.or(default_layout) {
        let ft = *layout == DefLayout::FreeThreaded;
        free_threaded = Some(ft);
        let header = image
            .bytes_at(*addr, 16)
            .map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>())
            .unwrap_or_default();
        evidence.push(format!(
            "PyModuleDef at {addr:#x} has the {} PyObject header (first bytes {header})",
            if ft {
                "free-threaded (32-byte)"
            } else {
                "default (16-byte)"
            }
        ));
        if ft_layout.is_some() && default_layout.is_some() {
            evidence.push("defs of both layouts are present".into());
        }
    }
    if !ft_imports.is_empty() {
        evidence.push(format!(
            "imports free-threaded-only {}",
            ft_imports.join(", ")
        ));
        if free_threaded == Some(false) {
            evidence.push("which contradicts the default def layout".into());
        }
        free_threaded.get_or_insert(true);
    }
    if let Some((lib, abi)) = &lib_abi {
        evidence.push(format!("links {lib}"));
        if free_threaded.is_none() {
            free_threaded = match abi {
                AbiTarget::FreeThreaded { .. } => Some(true),
                AbiTarget::Default { .. } | AbiTarget::Abi3 => Some(false),
                _ => None,
            };
        }
    }

    let lib_version = lib_abi
        .as_ref()
        .and_then(|(_, a)| version_of(a).map(str::to_string));
    let suffix_version = version_of(&from_suffix).map(str::to_string);
    let from_binary = match free_threaded {
        None => {
            evidence.push(
                "no def found, no free-threaded-only imports and no libpython dependency".into(),
            );
            AbiTarget::Unknown
        }
        Some(ft) => {
            if matches!(lib_abi, Some((_, AbiTarget::Abi3))) && !ft {
                AbiTarget::Abi3
            } else {
                let version = lib_version
                    .or_else(|| {
                        // The suffix's version only fills in when the suffix agrees on the layout.
                        match (&from_suffix, ft) {
                            (AbiTarget::FreeThreaded { .. }, true)
                            | (AbiTarget::Default { .. }, false) => suffix_version.clone(),
                            _ => None,
                        }
                    })
                    .unwrap_or_else(|| "unknown".to_string());
                if ft {
                    AbiTarget::FreeThreaded { version }
                } else {
                    AbiTarget::Default { version }
                }
            }
        }
    };
    let conclusion = match (&from_suffix, &from_binary) {
        (s, AbiTarget::Unknown) => s.clone(),
        // Stable-ABI modules use the default layout: the suffix is the more precise statement.
        (AbiTarget::Abi3, AbiTarget::Default { .. }) => AbiTarget::Abi3,
        // The layout comes from the binary; when the binary does not name its version, the
        // file name's version is the best statement of which interpreter it was meant for.
        (
            AbiTarget::FreeThreaded { version } | AbiTarget::Default { version },
            AbiTarget::Default { version: unknown },
        ) if unknown == "unknown" => AbiTarget::Default {
            version: version.clone(),
        },
        (
            AbiTarget::FreeThreaded { version } | AbiTarget::Default { version },
            AbiTarget::FreeThreaded { version: unknown },
        ) if unknown == "unknown" => AbiTarget::FreeThreaded {
            version: version.clone(),
        },
        (_, b) => b.clone(),
    };
    AbiFacts {
        from_suffix,
        from_binary,
        binary_evidence: evidence.join("; "),
        conclusion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes() {
        let ft = |v: &str| AbiTarget::FreeThreaded { version: v.into() };
        let df = |v: &str| AbiTarget::Default { version: v.into() };
        assert_eq!(
            abi_from_file_name("_x.cpython-313t-x86_64-linux-gnu.so"),
            ft("3.13")
        );
        assert_eq!(abi_from_file_name("_x.cpython-314t-darwin.so"), ft("3.14"));
        assert_eq!(abi_from_file_name("_x.cp314t-win_amd64.pyd"), ft("3.14"));
        assert_eq!(abi_from_file_name("_x.cp313-win_arm64.pyd"), df("3.13"));
        assert_eq!(abi_from_file_name("_x.cpython-313-darwin.so"), df("3.13"));
        assert_eq!(
            abi_from_file_name("_x.cpython-310-aarch64-linux-gnu.so"),
            df("3.10")
        );
        assert_eq!(abi_from_file_name("_x.abi3.so"), AbiTarget::Abi3);
        assert_eq!(abi_from_file_name("_x.abi3t.so"), AbiTarget::Abi3t);
        assert_eq!(abi_from_file_name("_x.so"), AbiTarget::Unknown);
        assert_eq!(abi_from_file_name("_x.pyd"), AbiTarget::Unknown);
        assert_eq!(
            abi_from_file_name("_x.pypy310-pp73-x86_64-linux-gnu.so"),
            AbiTarget::Unknown
        );
        assert_eq!(abi_from_file_name("libfoo.so.1"), AbiTarget::Unknown);
    }

    #[test]
    fn libraries() {
        assert_eq!(
            from_library("python313t.dll"),
            Some(AbiTarget::FreeThreaded {
                version: "3.13".into()
            })
        );
        assert_eq!(
            from_library("PYTHON314.dll"),
            Some(AbiTarget::Default {
                version: "3.14".into()
            })
        );
        assert_eq!(from_library("python3.dll"), Some(AbiTarget::Abi3));
        assert_eq!(
            from_library("libpython3.14t.so.1.0"),
            Some(AbiTarget::FreeThreaded {
                version: "3.14".into()
            })
        );
        assert_eq!(from_library("libc.so.6"), None);
    }
}
