//! Pinned requirements files, as `pip-compile --generate-hashes` and `uv pip compile` write them.

use std::path::Path;

use super::{normalize_name, sha256_of, Lock, LockError, LockFormat, Marker, Pin};

pub(super) fn parse(path: &Path, text: &str) -> Result<Lock, LockError> {
    let mut lock = Lock {
        path: path.to_path_buf(),
        format: LockFormat::Requirements,
        pins: Vec::new(),
        index_url: None,
        extra_index_urls: Vec::new(),
    };
    for (line, logical) in logical_lines(text) {
        let invalid = |message: String| LockError::Invalid {
            path: path.to_path_buf(),
            line,
            message,
        };
        let words: Vec<&str> = logical.split_whitespace().collect();
        let Some(first) = words.first() else { continue };
        if first.starts_with('-') {
            let (option, inline) = match first.split_once('=') {
                Some((o, v)) => (o, Some(v)),
                None => (*first, None),
            };
            let value = inline.or_else(|| words.get(1).copied());
            match option {
                "-i" | "--index-url" => {
                    lock.index_url = Some(
                        value
                            .ok_or_else(|| invalid(format!("{option} needs a URL")))?
                            .to_string(),
                    )
                }
                "--extra-index-url" => lock.extra_index_urls.push(
                    value
                        .ok_or_else(|| invalid(format!("{option} needs a URL")))?
                        .to_string(),
                ),
                "-r" | "--requirement" | "-c" | "--constraint" => {
                    return Err(invalid(format!(
                        "{option}: nested requirement files are not read; pass each lock file"
                    )))
                }
                "-e" | "--editable" => {
                    return Err(invalid(
                        "an editable requirement is not pinned to a release".into(),
                    ))
                }
                // --require-hashes, --only-binary, --trusted-host, --find-links...: nothing to pin.
                _ => {}
            }
            continue;
        }
        lock.pins
            .push(parse_requirement(&logical, line).map_err(invalid)?);
    }
    Ok(lock)
}

/// Lines with `\` continuations joined and comments removed, each with its first line number.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if current.is_empty() {
            start = i + 1;
        }
        // pip: a comment starts at a `#` at the line start or after whitespace (URLs keep theirs).
        let line = match raw
            .find(" #")
            .map(|p| p + 1)
            .or_else(|| raw.starts_with('#').then_some(0))
        {
            Some(p) => &raw[..p],
            None => raw,
        };
        let line = line.replace('\t', " ");
        let (body, continued) = match line.trim_end().strip_suffix('\\') {
            Some(body) => (body.to_string(), true),
            None => (line, false),
        };
        current.push_str(&body);
        current.push(' ');
        if !continued {
            if !current.trim().is_empty() {
                out.push((start, current.trim().to_string()));
            }
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        out.push((start, current.trim().to_string()));
    }
    out
}

/// `name[extras]==version ; marker --hash=sha256:..`, which must pin exactly one version.
fn parse_requirement(text: &str, line: usize) -> Result<Pin, String> {
    let mut sha256 = Vec::new();
    let mut rest = Vec::new();
    let mut words = text.split_whitespace().peekable();
    while let Some(word) = words.next() {
        if let Some(hash) = word
            .strip_prefix("--hash=")
            .or_else(|| (word == "--hash").then(|| words.next()).flatten())
        {
            match sha256_of(hash) {
                Some(hex) => sha256.push(hex),
                None if hash.contains(':') => {} // other algorithms are not checked
                None => return Err(format!("malformed hash {hash:?}")),
            }
        } else if word.starts_with("--") {
            // per-requirement options such as --config-settings: nothing to pin
        } else {
            rest.push(word);
        }
    }
    let requirement = rest.join(" ");
    let (spec, marker) = match requirement.split_once(';') {
        Some((spec, marker)) => (
            spec.trim(),
            Some(Marker::parse(marker).map_err(|e| format!("bad marker: {e}"))?),
        ),
        None => (requirement.trim(), None),
    };
    let name_end = spec
        .find(|c: char| !(c.is_alphanumeric() || "-_.".contains(c)))
        .unwrap_or(spec.len());
    let name = &spec[..name_end];
    if name.is_empty() {
        return Err(format!("not a requirement: {spec:?}"));
    }
    let mut after = spec[name_end..].trim();
    if after.starts_with('[') {
        let close = after
            .find(']')
            .ok_or_else(|| format!("unclosed extras in {spec:?}"))?;
        after = after[close + 1..].trim();
    }
    let unpinned = |why: &str| {
        format!("{name} is not pinned ({why}): a lock needs name==version, got {spec:?}")
    };
    if after.starts_with('@') {
        return Err(unpinned("a direct URL"));
    }
    let version = after
        .strip_prefix("===")
        .or_else(|| after.strip_prefix("=="))
        .map(str::trim)
        .ok_or_else(|| {
            unpinned(if after.is_empty() {
                "no version"
            } else {
                "a range"
            })
        })?;
    if version.is_empty() || version.contains([',', '*', '<', '>', '!', '~', '=', ' ']) {
        return Err(unpinned("a range"));
    }
    Ok(Pin {
        name: normalize_name(name),
        version: version.to_string(),
        sha256,
        marker,
        files: None,
        index: None,
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQS: &str = "\
# comment line
-i https://example.test/simple
--extra-index-url https://extra.test/simple
numpy==2.4.6 \\
    --hash=sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA \\
    --hash=sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
    # via pandas
Pydantic_Core[extra]==2.50.4 ; sys_platform != 'win32'   # trailing comment
pywin32==311 ; sys_platform == \"win32\"
";

    #[test]
    fn pinned_lines_with_hashes_markers_and_indexes() {
        let lock = parse(Path::new("r.txt"), REQS).unwrap();
        assert_eq!(
            lock.index_url.as_deref(),
            Some("https://example.test/simple")
        );
        assert_eq!(lock.extra_index_urls, ["https://extra.test/simple"]);
        let names: Vec<_> = lock
            .pins
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(
            names,
            [
                ("numpy", "2.4.6", 4),
                ("pydantic-core", "2.50.4", 8),
                ("pywin32", "311", 9)
            ]
        );
        assert_eq!(lock.pins[0].sha256, ["a".repeat(64), "b".repeat(64)]);
        assert_eq!(
            lock.pins[1].marker.as_ref().unwrap().text,
            "sys_platform != 'win32'"
        );
    }

    #[test]
    fn unpinned_lines_name_the_line() {
        for (bad, why) in [
            ("numpy>=2", "a range"),
            ("numpy", "no version"),
            ("numpy @ https://x/numpy.whl", "direct URL"),
            ("numpy==2.*", "a range"),
        ] {
            let text = format!("six==1.17.0\n\n{bad}\n");
            let err = parse(Path::new("locks/r.txt"), &text)
                .unwrap_err()
                .to_string();
            assert!(
                err.starts_with("locks/r.txt:3: numpy is not pinned"),
                "{err}"
            );
            assert!(err.contains(why), "{err}");
        }
    }
}
