//! What kind of thing the user pointed at, and what it says about its interpreter.

use std::fs;
use std::path::{Path, PathBuf};

use ftaudit_model::{InputProblem, InputProblemKind, Target, TargetInterpreter, TargetKind};

use crate::DiscoverError;

pub(crate) enum Classified {
    Venv {
        target: Target,
    },
    SitePackages {
        target: Target,
    },
    Wheels {
        target: Target,
        wheels: Vec<PathBuf>,
        /// Entries named `*.whl` that are not regular files.
        problems: Vec<InputProblem>,
    },
    Files {
        target: Target,
    },
}

pub(crate) fn classify(path: &Path) -> Result<Classified, DiscoverError> {
    let io = |source| DiscoverError::Io {
        path: path.to_path_buf(),
        source,
    };
    let path = fs::canonicalize(path).map_err(io)?;
    let meta = fs::metadata(&path).map_err(io)?;
    if !meta.is_file() && !meta.is_dir() {
        return Err(DiscoverError::Unsupported {
            path,
            message:
                "neither a regular file nor a folder (a FIFO, socket or device): nothing to scan"
                    .into(),
        });
    }

    if meta.is_file() {
        if has_extension(&path, "whl") {
            let target = target(&path, TargetKind::Wheel, vec![], None);
            return Ok(Classified::Wheels {
                target,
                wheels: vec![path],
                problems: Vec::new(),
            });
        }
        return Ok(Classified::Files {
            target: target(&path, TargetKind::Files, vec![], None),
        });
    }

    let cfg = path.join("pyvenv.cfg");
    if cfg.is_file() {
        let site_packages = venv_site_packages(&path);
        if site_packages.is_empty() {
            return Err(DiscoverError::Unsupported {
                path: path.clone(),
                message: "has a pyvenv.cfg but no lib/python*/site-packages or Lib/site-packages folder: a broken venv?"
                    .into(),
            });
        }
        let interpreter = venv_interpreter(&cfg, &site_packages);
        let target = target(&path, TargetKind::Venv, site_packages, interpreter);
        return Ok(Classified::Venv { target });
    }

    if looks_like_site_packages(&path) {
        let interpreter = interpreter_from_lib_dir(&path);
        let target = target(
            &path,
            TargetKind::SitePackages,
            vec![path.clone()],
            interpreter,
        );
        return Ok(Classified::SitePackages { target });
    }

    let mut wheels = Vec::new();
    let mut problems = Vec::new();
    for entry in fs::read_dir(&path).map_err(io)? {
        let entry_path = match entry {
            Ok(entry) => entry.path(),
            Err(e) => {
                problems.push(InputProblem::new(
                    &path,
                    InputProblemKind::UnreadableFolder,
                    format!("cannot read an entry: {e}"),
                ));
                continue;
            }
        };
        if !has_extension(&entry_path, "whl") {
            continue;
        }
        // Follows links: a link to a wheel is a wheel.
        match fs::metadata(&entry_path) {
            Ok(meta) if meta.is_file() => wheels.push(entry_path),
            Ok(_) => problems.push(InputProblem::new(
                &entry_path,
                InputProblemKind::NotARegularFile,
                "named like a wheel but not a regular file: not read",
            )),
            Err(e) => problems.push(InputProblem::new(
                &entry_path,
                InputProblemKind::BadWheel,
                format!("cannot read: {e}"),
            )),
        }
    }
    if !wheels.is_empty() || !problems.is_empty() {
        wheels.sort();
        problems.sort_by(|a, b| a.path.cmp(&b.path));
        let target = target(&path, TargetKind::WheelDirectory, vec![], None);
        return Ok(Classified::Wheels {
            target,
            wheels,
            problems,
        });
    }

    Ok(Classified::Files {
        target: target(&path, TargetKind::Files, vec![], None),
    })
}

fn target(
    path: &Path,
    kind: TargetKind,
    site_packages: Vec<PathBuf>,
    interpreter: Option<TargetInterpreter>,
) -> Target {
    Target {
        path: path.to_path_buf(),
        kind,
        site_packages,
        interpreter,
    }
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

/// POSIX venvs keep site-packages under `lib/pythonX.Y[t]/` (and sometimes a `lib64` link to
/// the same folder); Windows venvs under `Lib/`.
fn venv_site_packages(venv: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    for lib in ["lib", "lib64", "Lib"] {
        let lib_dir = venv.join(lib);
        let direct = lib_dir.join("site-packages");
        let mut candidates = vec![direct];
        if let Ok(entries) = fs::read_dir(&lib_dir) {
            let mut versioned: Vec<PathBuf> = entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().starts_with("python"))
                .map(|e| e.path().join("site-packages"))
                .collect();
            versioned.sort();
            candidates.extend(versioned);
        }
        for candidate in candidates {
            if let Ok(real) = fs::canonicalize(&candidate) {
                if real.is_dir() && !found.contains(&real) {
                    found.push(real);
                }
            }
        }
    }
    found
}

fn looks_like_site_packages(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name == "site-packages" || name == "dist-packages" {
        return true;
    }
    fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .any(|e| e.file_name().to_string_lossy().ends_with(".dist-info"))
        })
        .unwrap_or(false)
}

/// pyvenv.cfg gives the version (`version_info` from uv and 3.11+, `version` from older venv);
/// only the lib folder name (`python3.13t`) says the interpreter is free-threaded.
fn venv_interpreter(cfg: &Path, site_packages: &[PathBuf]) -> Option<TargetInterpreter> {
    let text = fs::read_to_string(cfg).ok()?;
    let mut version = None;
    let mut executable = None;
    let mut home = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "version_info" => version = Some(value.to_string()),
            "version" if version.is_none() => version = Some(value.to_string()),
            "executable" => executable = Some(PathBuf::from(value)),
            "home" => home = Some(PathBuf::from(value)),
            _ => {}
        }
    }
    let from_lib = site_packages
        .iter()
        .find_map(|sp| interpreter_from_lib_dir(sp));
    let free_threaded = from_lib.as_ref().is_some_and(|i| i.free_threaded)
        || version.as_deref().is_some_and(|v| v.ends_with('t'));
    let version = version.map(|v| v.trim_end_matches('t').to_string());
    let executable = executable.or_else(|| {
        let home = home?;
        let minor = version.as_deref().map(major_minor).unwrap_or_default();
        let name = format!("python{minor}{}", if free_threaded { "t" } else { "" });
        Some(home.join(name))
    });
    match (version, from_lib) {
        (Some(version), _) => Some(TargetInterpreter {
            version,
            free_threaded,
            executable,
            evidence: format!(
                "pyvenv.cfg version; free-threaded {} the lib folder name",
                if free_threaded {
                    "per"
                } else {
                    "not indicated by"
                }
            ),
        }),
        (None, Some(mut from_lib)) => {
            from_lib.executable = executable;
            Some(from_lib)
        }
        (None, None) => None,
    }
}

/// `.../lib/python3.13t/site-packages` names the interpreter's version and build.
fn interpreter_from_lib_dir(site_packages: &Path) -> Option<TargetInterpreter> {
    let parent = site_packages
        .parent()?
        .file_name()?
        .to_string_lossy()
        .into_owned();
    let rest = parent.strip_prefix("python")?;
    let free_threaded = rest.ends_with('t');
    let version = rest.trim_end_matches('t');
    let mut parts = version.split('.');
    let (major, minor) = (parts.next()?, parts.next()?);
    if major.parse::<u32>().is_err() || minor.parse::<u32>().is_err() {
        return None;
    }
    Some(TargetInterpreter {
        version: version.to_string(),
        free_threaded,
        executable: None,
        evidence: format!("lib folder name {parent}"),
    })
}

pub(crate) fn major_minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}
