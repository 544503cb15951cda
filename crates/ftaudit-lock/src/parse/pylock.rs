//! PEP 751 `pylock.toml`: every package lists its wheels with URLs and hashes, so no index is
//! asked.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{
    line_of, sha256_of, url_file_name, DistFile, Lock, LockError, LockFormat, Marker, Pin,
};

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PylockFile {
    lock_version: Option<String>,
    #[serde(default)]
    packages: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    version: Option<String>,
    marker: Option<String>,
    index: Option<String>,
    #[serde(default)]
    wheels: Vec<FileEntry>,
    sdist: Option<FileEntry>,
}

#[derive(Deserialize)]
struct FileEntry {
    name: Option<String>,
    url: Option<String>,
    path: Option<String>,
    size: Option<u64>,
    #[serde(default)]
    hashes: BTreeMap<String, String>,
}

pub(super) fn parse(path: &Path, text: &str) -> Result<Lock, LockError> {
    let file: PylockFile = toml::from_str(text).map_err(|e| LockError::Toml {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if let Some(version) = &file.lock_version {
        if !version.starts_with("1.") && version != "1" {
            return Err(LockError::Invalid {
                path: path.to_path_buf(),
                line: line_of(text, "lock-version"),
                message: format!("lock-version {version} is not 1.x"),
            });
        }
    }
    let mut pins = Vec::new();
    for package in file.packages {
        let line = line_of(text, &format!("name = \"{}\"", package.name));
        let invalid = |message: String| LockError::Invalid {
            path: path.to_path_buf(),
            line,
            message,
        };
        let marker = match &package.marker {
            Some(m) => Some(
                Marker::parse(m)
                    .map_err(|e| invalid(format!("bad marker of {}: {e}", package.name)))?,
            ),
            None => None,
        };
        let mut files = Vec::new();
        for entry in package.wheels.iter().chain(package.sdist.iter()) {
            // A `path` entry (a local file) has no URL to range-read; it is left out.
            let Some(url) = entry.url.clone().or_else(|| entry.path.clone()) else {
                continue;
            };
            let filename = entry.name.clone().unwrap_or_else(|| url_file_name(&url));
            let sha256 = entry.hashes.get("sha256").and_then(|h| sha256_of(h));
            files.push(DistFile {
                filename,
                url,
                sha256,
                size: entry.size,
            });
        }
        pins.push(Pin::locked(
            &package.name,
            package.version,
            marker,
            files,
            package.index,
            line,
        ));
    }
    Ok(Lock::locked(path, LockFormat::Pylock, pins))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_wheels_sdist_and_markers() {
        let text = r#"
lock-version = "1.0"
created-by = "test"

[[packages]]
name = "MarkupSafe"
version = "3.0.4"
index = "https://pypi.org/simple"
marker = "sys_platform == 'linux'"
wheels = [
  { name = "markupsafe-3.0.4-cp314-cp314t-manylinux_2_17_x86_64.whl", url = "https://f.test/m.whl", size = 20, hashes = { sha256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" } },
  { url = "https://f.test/markupsafe-3.0.4-cp314-cp314t-win_amd64.whl", hashes = { sha256 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" } },
]
sdist = { url = "https://f.test/markupsafe-3.0.4.tar.gz", hashes = { sha256 = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc" } }
"#;
        let lock = parse(Path::new("pylock.toml"), text).unwrap();
        let pin = &lock.pins[0];
        assert_eq!(
            (pin.name.as_str(), pin.version.as_str(), pin.line),
            ("markupsafe", "3.0.4", 6)
        );
        let files = pin.files.as_ref().unwrap();
        assert_eq!(files.len(), 3);
        assert_eq!(
            files[1].filename,
            "markupsafe-3.0.4-cp314-cp314t-win_amd64.whl"
        );
        assert_eq!(files[0].size, Some(20));
        assert_eq!(pin.sha256.len(), 3);
        assert_eq!(pin.index.as_deref(), Some("https://pypi.org/simple"));
        assert!(pin.marker.is_some());
    }

    #[test]
    fn bad_toml_is_an_error() {
        let err = parse(Path::new("pylock.toml"), "[[packages]\nname=").unwrap_err();
        assert!(
            err.to_string().contains("pylock.toml: not valid TOML"),
            "{err}"
        );
    }
}
