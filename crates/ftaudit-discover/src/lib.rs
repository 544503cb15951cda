//! Discovery: from a path the user names (venv, site-packages, wheel, folder of wheels) to the
//! list of native files in it, each with the distribution that owns it. Nothing is executed and
//! nothing is extracted to disk: wheel members are read in place.

mod metadata;
mod names;
mod read;
mod site_packages;
mod target;
mod wheel;
// Wrappers over private parsers, for the cargo-fuzz targets in fuzz/ (not API).
#[doc(hidden)]
pub mod fuzzing;

use std::path::{Path, PathBuf};

use ftaudit_model::{Distribution, InputProblem, Target};

pub use names::{is_native_file_name, module_name_for};
pub use read::{FileBytes, Sources};

/// Everything discovery found; the static pass takes it from here.
#[derive(Debug)]
pub struct Discovery {
    pub target: Target,
    pub distributions: Vec<Distribution>,
    /// Sorted by `path`.
    pub files: Vec<DiscoveredFile>,
    /// Problems that did not stop discovery (an unreadable folder, a broken RECORD, a bad wheel).
    pub problems: Vec<InputProblem>,
    /// Open wheels, so members can be read without reopening them.
    pub sources: Sources,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredFile {
    /// Relative to the site-packages folder or the wheel root.
    pub path: String,
    pub location: Location,
    pub distribution: Option<String>,
    /// Uncompressed size.
    pub size: u64,
    /// Dotted module name, when the file name is an extension module file name.
    pub module_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Disk(PathBuf),
    /// `wheel` indexes `Sources::wheels`; `index` is the zip entry index.
    WheelMember {
        wheel: usize,
        index: usize,
        name: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("{0}: no such file or folder")]
    NotFound(PathBuf),
    #[error("{path}: {message}")]
    Unsupported { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Classify `path` and list its native files.
pub fn discover(path: &Path) -> Result<Discovery, DiscoverError> {
    if !path.exists() {
        return Err(DiscoverError::NotFound(path.to_path_buf()));
    }
    match target::classify(path)? {
        target::Classified::Venv { target } | target::Classified::SitePackages { target } => {
            site_packages::discover(target)
        }
        target::Classified::Wheels {
            target,
            wheels,
            problems,
        } => {
            let mut discovery = wheel::discover(target, &wheels)?;
            discovery.problems.splice(0..0, problems);
            Ok(discovery)
        }
        target::Classified::Files { target } => site_packages::discover_loose(target),
    }
}

impl Location {
    /// How the location is shown to a person: a path, or `wheel.whl!member`.
    pub fn display(&self, sources: &Sources) -> String {
        match self {
            Location::Disk(path) => path.display().to_string(),
            Location::WheelMember { wheel, name, .. } => {
                format!("{}!{}", sources.wheel_path(*wheel).display(), name)
            }
        }
    }
}
