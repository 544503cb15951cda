//! The on-disk cache: index answers (one release's files, keyed by the project page URL, the
//! version and the lock's hashes, so a changed lock asks again) and slim wheels keyed by the
//! wheel's sha256 (the URL's hash when no sha256 is known). Entries are written through a
//! temporary file and renamed, so concurrent runs and crashes never leave half an entry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::parse::DistFile;

/// `$FTAUDIT_CACHE/lock`, else `~/.cache/ftaudit/lock` (`$XDG_CACHE_HOME` honoured).
pub fn default_cache_dir() -> PathBuf {
    if let Some(root) = std::env::var_os("FTAUDIT_CACHE").filter(|v| !v.is_empty()) {
        return PathBuf::from(root).join("lock");
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("ftaudit").join("lock")
}

/// Version of what a slim wheel holds, the first part of its cache key. v1 (no prefix): every
/// native member whole; v2: bundled libraries as their first `HEADERS_KEPT` bytes.
pub(crate) const SLIM_FORMAT: &str = "v2";

/// What is kept beside a slim wheel: how it was read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SlimInfo {
    /// A verdict that follows from the wheel's bytes (a RECORD mismatch, a broken zip): kept so
    /// a warm run repeats it without asking again. Delete the entry to read the wheel anew.
    #[serde(default)]
    pub failure: Option<crate::NoWheelReason>,
    pub whole_download: bool,
    /// sha256 of the whole file, when it was downloaded whole.
    #[serde(default)]
    pub whole_sha256: Option<String>,
    pub native_members: Vec<String>,
    /// Bundled libraries kept as their first bytes only, and their real sizes.
    #[serde(default)]
    pub headers_only: BTreeMap<String, u64>,
    pub record_checked: usize,
    pub members_in_wheel: usize,
}

pub(crate) struct Cache {
    root: PathBuf,
}

impl Cache {
    pub fn new(root: PathBuf) -> Cache {
        Cache { root }
    }

    fn index_path(&self, page_url: &str, version: &str, lock_hashes: &[String]) -> PathBuf {
        let mut hashes = lock_hashes.to_vec();
        hashes.sort();
        let key = crate::hex(&crate::sha256(
            format!("{page_url}\n{version}\n{}", hashes.join(",")).as_bytes(),
        ));
        self.root.join("index").join(format!("{key}.json"))
    }

    /// The release's files as an index listed them; None inside: the index has no such project.
    pub fn index_answer(
        &self,
        page_url: &str,
        version: &str,
        lock_hashes: &[String],
    ) -> Option<Option<Vec<DistFile>>> {
        read_json(&self.index_path(page_url, version, lock_hashes))
    }

    pub fn store_index_answer(
        &self,
        page_url: &str,
        version: &str,
        lock_hashes: &[String],
        files: Option<&[DistFile]>,
    ) {
        // A cache that cannot be written costs a later run requests, not this one its result.
        let _ = write_json(&self.index_path(page_url, version, lock_hashes), &files);
    }

    /// Folder of one wheel's slim copy. The key starts with [`SLIM_FORMAT`], so slim wheels of
    /// an older format (bundled libraries whole) are never taken for this one's, nor the reverse.
    pub fn slim_dir(&self, sha256: Option<&str>, url: &str) -> PathBuf {
        let key = match sha256 {
            Some(hex) => format!("{SLIM_FORMAT}-{hex}"),
            None => format!(
                "{SLIM_FORMAT}-url-{}",
                crate::hex(&crate::sha256(url.as_bytes()))
            ),
        };
        self.root.join("slim").join(key)
    }

    /// The cached slim wheel and how it was read, when both are there (or the cached verdict
    /// that it is bad, with no wheel).
    pub fn slim(&self, dir: &Path, filename: &str) -> Option<(PathBuf, SlimInfo)> {
        let wheel = dir.join(filename);
        let info: SlimInfo = read_json(&dir.join("read.json"))?;
        (info.failure.is_some() || wheel.is_file()).then_some((wheel, info))
    }

    pub fn store_slim_info(&self, dir: &Path, info: &SlimInfo) -> std::io::Result<()> {
        write_json(&dir.join("read.json"), info)
    }
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> std::io::Result<()> {
    let dir = path.parent().expect("cache paths have a folder");
    std::fs::create_dir_all(dir)?;
    let partial = dir.join(format!(
        ".{}.{}.partial",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
        std::process::id()
    ));
    std::fs::write(
        &partial,
        serde_json::to_vec(value).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(&partial, path)
}
