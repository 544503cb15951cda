//! Lock files: pinned requirements.txt, PEP 751 pylock.toml and uv.lock, read into one model.

mod marker;
mod pylock;
mod requirements;
mod uvlock;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use marker::{Environment, Marker};

/// Which lock format a file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LockFormat {
    Requirements,
    Pylock,
    UvLock,
}

/// One pinned distribution.
#[derive(Debug, Clone, Serialize)]
pub struct Pin {
    /// Normalised (PEP 503): lower case, runs of `-_.` as one `-`.
    pub name: String,
    pub version: String,
    /// sha256 hex digests the lock allows (empty: the lock pins no hashes).
    pub sha256: Vec<String>,
    #[serde(serialize_with = "marker_text")]
    pub marker: Option<Marker>,
    /// The files the lock itself lists (pylock.toml, uv.lock); None means: ask the index.
    pub files: Option<Vec<DistFile>>,
    /// Index named by the lock for this pin (pylock `index`, uv `source.registry`).
    pub index: Option<String>,
    /// 1-based line of the pin in the lock file (for messages).
    pub line: usize,
}

fn marker_text<S: serde::Serializer>(marker: &Option<Marker>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_some(&marker.as_ref().map(|m| m.text.as_str()))
}

impl Pin {
    /// Whether the pin applies to a target (no marker: everywhere).
    pub fn applies(&self, env: &Environment) -> bool {
        self.marker.as_ref().is_none_or(|m| m.evaluate(env))
    }
}

impl Pin {
    /// A pin whose files the lock lists; the allowed hashes are those of the files.
    pub(crate) fn locked(
        name: &str,
        version: Option<String>,
        marker: Option<Marker>,
        files: Vec<DistFile>,
        index: Option<String>,
        line: usize,
    ) -> Pin {
        Pin {
            name: normalize_name(name),
            version: version.unwrap_or_default(),
            sha256: files.iter().filter_map(|f| f.sha256.clone()).collect(),
            marker,
            files: Some(files),
            index,
            line,
        }
    }
}

/// A wheel or sdist of a release, from the lock or the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct DistFile {
    pub filename: String,
    pub url: String,
    pub sha256: Option<String>,
    pub size: Option<u64>,
}

/// A parsed lock file.
#[derive(Debug, Clone, Serialize)]
pub struct Lock {
    pub path: PathBuf,
    pub format: LockFormat,
    pub pins: Vec<Pin>,
    /// `-i/--index-url` lines of a requirements file.
    pub index_url: Option<String>,
    /// `--extra-index-url` lines of a requirements file.
    pub extra_index_urls: Vec<String>,
}

impl Lock {
    /// A lock whose pins carry their files (pylock.toml, uv.lock): no index lines.
    pub(crate) fn locked(path: &Path, format: LockFormat, pins: Vec<Pin>) -> Lock {
        Lock {
            path: path.to_path_buf(),
            format,
            pins,
            index_url: None,
            extra_index_urls: Vec::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{path}: not valid TOML: {message}")]
    Toml { path: PathBuf, message: String },
}

/// Reads a lock file; the format comes from the name (`pylock.toml`, `pylock.*.toml`,
/// `uv.lock`), else from the content (`lock-version` is pylock, `[[package]]` with `source` uv).
pub fn parse_lock(path: &Path) -> Result<Lock, LockError> {
    let text = std::fs::read_to_string(path).map_err(|source| LockError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let format = if name == "uv.lock" {
        LockFormat::UvLock
    } else if (name.starts_with("pylock.") && name.ends_with(".toml"))
        || text
            .lines()
            .any(|l| l.trim_start().starts_with("lock-version"))
    {
        LockFormat::Pylock
    } else if text.contains("[[package]]")
        && text
            .lines()
            .any(|l| l.starts_with("version = ") || l.starts_with("revision"))
    {
        LockFormat::UvLock
    } else {
        LockFormat::Requirements
    };
    parse_lock_text(path, &text, format)
}

/// Parses lock text of a known format (`path` only names it in messages).
pub fn parse_lock_text(path: &Path, text: &str, format: LockFormat) -> Result<Lock, LockError> {
    match format {
        LockFormat::Requirements => requirements::parse(path, text),
        LockFormat::Pylock => pylock::parse(path, text),
        LockFormat::UvLock => uvlock::parse(path, text),
    }
}

/// PEP 503 normalised project name.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_sep = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '.' {
            if !last_sep {
                out.push('-');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

/// File name at the end of a URL path (before `?` and `#`), percent-decoded for `%2B` (`+`).
pub(crate) fn url_file_name(url: &str) -> String {
    let path = url.split(['#', '?']).next().unwrap_or(url);
    let last = path.rsplit('/').next().unwrap_or(path);
    last.replace("%2B", "+").replace("%2b", "+")
}

/// Line number (1-based) of the first line of `text` containing `needle`, else 0.
pub(crate) fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map_or(0, |i| i + 1)
}

/// A `sha256:<hex>` or bare hex digest, lower-cased; None for other algorithms.
pub(crate) fn sha256_of(hash: &str) -> Option<String> {
    let hex = match hash.split_once([':', '=']) {
        Some((algo, hex)) if algo.eq_ignore_ascii_case("sha256") => hex,
        Some(_) => return None,
        None => hash,
    };
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise() {
        assert_eq!(normalize_name("Pydantic_Core"), "pydantic-core");
        assert_eq!(normalize_name("zope.interface"), "zope-interface");
        assert_eq!(normalize_name("a__b"), "a-b");
        assert_eq!(
            url_file_name("https://x/a/b-1.0%2Bcpu-py3-none-any.whl#sha256=00"),
            "b-1.0+cpu-py3-none-any.whl"
        );
    }
}
