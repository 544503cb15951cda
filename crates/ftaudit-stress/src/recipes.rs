//! Where recipes come from: the ones shipped in the binary (recipes/*.py) and the user's
//! folders (`--recipes DIR`). Each gets an importable name of its own, so a recipe called
//! `zlib.py` never shadows the module it exercises.

use std::path::Path;

use crate::driver::RecipeFile;

/// The recipes shipped with ftaudit: (name, source).
pub const SHIPPED: &[(&str, &str)] = &[
    ("hashlib", include_str!("../recipes/hashlib.py")),
    ("zlib", include_str!("../recipes/zlib.py")),
    ("json", include_str!("../recipes/json.py")),
    ("re", include_str!("../recipes/re.py")),
    ("bz2", include_str!("../recipes/bz2.py")),
    ("numpy", include_str!("../recipes/numpy.py")),
    ("markupsafe", include_str!("../recipes/markupsafe.py")),
    ("yaml", include_str!("../recipes/yaml.py")),
    ("ujson", include_str!("../recipes/ujson.py")),
    ("msgspec", include_str!("../recipes/msgspec.py")),
    ("regex", include_str!("../recipes/regex.py")),
    ("rapidfuzz", include_str!("../recipes/rapidfuzz.py")),
    ("pydantic_core", include_str!("../recipes/pydantic_core.py")),
    ("cryptography", include_str!("../recipes/cryptography.py")),
    ("pillow", include_str!("../recipes/pillow.py")),
    ("xxhash", include_str!("../recipes/xxhash.py")),
];

/// A recipe before its metadata is read.
#[derive(Debug, Clone)]
pub struct RecipeCandidate {
    pub name: String,
    /// `shipped`, or the user's file path.
    pub origin: String,
    pub file: RecipeFile,
}

/// The shipped recipes (if wanted), then every `*.py` of each folder, in name order. An
/// unreadable folder or file is returned as a problem naming it; the rest go on.
pub fn gather(shipped: bool, dirs: &[impl AsRef<Path>]) -> (Vec<RecipeCandidate>, Vec<String>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    if shipped {
        for (name, source) in SHIPPED {
            found.push(candidate(
                name,
                "shipped".into(),
                source.to_string(),
                found.len(),
            ));
        }
    }
    for dir in dirs {
        let dir = dir.as_ref();
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                problems.push(format!(
                    "{}: cannot read the recipe folder: {e}",
                    dir.display()
                ));
                continue;
            }
        };
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "py") && p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            match std::fs::read_to_string(&path) {
                Ok(source) => {
                    let stem = path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    found.push(candidate(
                        &stem,
                        path.display().to_string(),
                        source,
                        found.len(),
                    ));
                }
                Err(e) => problems.push(format!("{}: cannot read the recipe: {e}", path.display())),
            }
        }
    }
    (found, problems)
}

fn candidate(name: &str, origin: String, source: String, index: usize) -> RecipeCandidate {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    RecipeCandidate {
        name: name.to_string(),
        origin,
        file: RecipeFile {
            module: format!("ftaudit_recipe_{index}_{safe}"),
            source,
        },
    }
}
