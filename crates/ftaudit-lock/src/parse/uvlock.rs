//! `uv.lock`: `[[package]]` tables with registry sources, wheels and sdists. The project's own
//! entries (editable, virtual, directory sources) are not releases and are left out.

use std::path::Path;

use serde::Deserialize;

use super::{
    line_of, sha256_of, url_file_name, DistFile, Lock, LockError, LockFormat, Marker, Pin,
};

#[derive(Deserialize)]
struct UvLockFile {
    #[serde(default)]
    package: Vec<Package>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Package {
    name: String,
    version: Option<String>,
    source: Option<toml::Table>,
    #[serde(default)]
    wheels: Vec<FileEntry>,
    sdist: Option<FileEntry>,
    /// Set when uv forked the resolution: the package applies where any of them holds.
    #[serde(default)]
    resolution_markers: Vec<String>,
}

#[derive(Deserialize)]
struct FileEntry {
    url: Option<String>,
    path: Option<String>,
    hash: Option<String>,
    size: Option<u64>,
}

pub(super) fn parse(path: &Path, text: &str) -> Result<Lock, LockError> {
    let file: UvLockFile = toml::from_str(text).map_err(|e| LockError::Toml {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut pins = Vec::new();
    for package in file.package {
        let source = package.source.unwrap_or_default();
        if ["editable", "virtual", "directory"]
            .iter()
            .any(|k| source.contains_key(*k))
        {
            continue;
        }
        let line = line_of(text, &format!("name = \"{}\"", package.name));
        let invalid = |message: String| LockError::Invalid {
            path: path.to_path_buf(),
            line,
            message,
        };
        let marker = match package.resolution_markers.as_slice() {
            [] => None,
            markers => {
                let joined = markers
                    .iter()
                    .map(|m| format!("({m})"))
                    .collect::<Vec<_>>()
                    .join(" or ");
                Some(Marker::parse(&joined).map_err(|e| {
                    invalid(format!("bad resolution-markers of {}: {e}", package.name))
                })?)
            }
        };
        let mut files = Vec::new();
        for entry in package.wheels.iter().chain(package.sdist.iter()) {
            let Some(url) = entry.url.clone().or_else(|| entry.path.clone()) else {
                continue;
            };
            files.push(DistFile {
                filename: url_file_name(&url),
                url,
                sha256: entry.hash.as_deref().and_then(sha256_of),
                size: entry.size,
            });
        }
        let index = source
            .get("registry")
            .and_then(|r| r.as_str())
            .map(str::to_string);
        pins.push(Pin::locked(
            &package.name,
            package.version,
            marker,
            files,
            index,
            line,
        ));
    }
    Ok(Lock::locked(path, LockFormat::UvLock, pins))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_packages_and_the_project_left_out() {
        let text = r#"
version = 1
revision = 2
requires-python = ">=3.14"

[[package]]
name = "demo"
version = "0.1.0"
source = { editable = "." }

[[package]]
name = "frozenlist"
version = "1.8.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://f.test/frozenlist-1.8.0.tar.gz", hash = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", size = 10 }
wheels = [
    { url = "https://f.test/frozenlist-1.8.0-cp314-cp314t-win_amd64.whl", hash = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", size = 5 },
]
"#;
        let lock = parse(Path::new("uv.lock"), text).unwrap();
        assert_eq!(lock.pins.len(), 1);
        let pin = &lock.pins[0];
        assert_eq!(
            (pin.name.as_str(), pin.version.as_str(), pin.line),
            ("frozenlist", "1.8.0", 12)
        );
        assert_eq!(pin.index.as_deref(), Some("https://pypi.org/simple"));
        let files = pin.files.as_ref().unwrap();
        assert_eq!(
            files[0].filename,
            "frozenlist-1.8.0-cp314-cp314t-win_amd64.whl"
        );
        assert_eq!(files[1].sha256.as_deref(), Some("a".repeat(64).as_str()));
    }
}
