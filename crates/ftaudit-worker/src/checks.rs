//! The subinterpreter checks of one batch: which interpreter each import runs in.
//!
//! Each module gets a subinterpreter in which nothing of it has been imported yet. A fresh
//! interpreter per module re-imports its packages every time (sqlalchemy: ~250 ms; rapidfuzz,
//! fontTools, PIL, lxml: 70-190 ms), so the modules of one top-level package share one, in
//! name order: after `a.b.x` is checked, `a.c.y` is imported in the same interpreter, where `a`
//! is already loaded exactly as `import a.c.y` would load it first. What differs from a fresh
//! interpreter is only that modules of the same package checked before are loaded too; a
//! module one of them already loaded is not tested there, but in a fresh interpreter. Parents
//! that fail are not re-imported at all ([`ParentFailures`]). The real-wheel test compares every
//! outcome with CPython's own fresh-interpreter-per-module run.

use std::collections::HashMap;
use std::path::PathBuf;

use ftaudit_model::protocol::ProbeStage;
use ftaudit_model::ImportOutcome;
use pyo3::Python;

use crate::subinterp::{Subinterpreter, SubinterpreterImport};

pub struct SubinterpreterChecks<'a> {
    site_dirs: &'a [PathBuf],
    parent_failures: ParentFailures,
    /// The interpreter the last check ran in, kept for the next modules of its package.
    warm: Option<Warm>,
}

struct Warm {
    sub: Subinterpreter,
    /// The top-level package whose modules may be checked in it.
    package: String,
}

/// `a` for `a.b.c`; None for a top-level module, which has no package to share.
fn package_of(module: &str) -> Option<&str> {
    module.split_once('.').map(|(package, _)| package)
}

impl<'a> SubinterpreterChecks<'a> {
    pub fn new(site_dirs: &'a [PathBuf]) -> Self {
        Self {
            site_dirs,
            parent_failures: ParentFailures::default(),
            warm: None,
        }
    }

    /// The outcome of importing `module` in a subinterpreter of the kind `stage` names.
    pub fn check(&mut self, py: Python<'_>, stage: ProbeStage, module: &str) -> ImportOutcome {
        if let Some(outcome) = self.parent_failures.known(stage, module) {
            return outcome;
        }
        let package = package_of(module);
        let reusable = self
            .warm
            .as_ref()
            .is_some_and(|w| w.sub.stage() == stage && Some(w.package.as_str()) == package);
        if reusable {
            let warm = self.warm.as_mut().expect("checked above");
            let (attempt, preloaded) = warm.sub.import(py, module, self.site_dirs);
            if !preloaded {
                return attempt.outcome;
            }
        }
        self.end_warm(py);

        let mut sub = match Subinterpreter::create(py, stage) {
            Ok(sub) => sub,
            Err(reason) => return ImportOutcome::NotAttempted { reason },
        };
        let (attempt, _) = sub.import(py, module, self.site_dirs);
        // Worth keeping when the parents imported (any failure is the module's own).
        let parents_loaded = attempt.failed_at.as_deref().is_none_or(|f| f == module);
        match package {
            Some(package) if parents_loaded => {
                self.warm = Some(Warm {
                    sub,
                    package: package.to_string(),
                })
            }
            _ => sub.end(py),
        }
        self.parent_failures.remember(stage, module, &attempt);
        attempt.outcome
    }

    fn end_warm(&mut self, py: Python<'_>) {
        if let Some(warm) = self.warm.take() {
            warm.sub.end(py);
        }
    }

    /// Ends the interpreter kept for siblings, if any.
    pub fn finish(mut self, py: Python<'_>) {
        self.end_warm(py);
    }
}

/// Parent packages whose import failed in a fresh subinterpreter of one kind. `import a.b.c`
/// imports `a` and `a.b` first, so once `a` fails in a fresh isolated interpreter, every later
/// `a.*` check of that kind fails the same way; re-running it would only re-import the package's
/// Python layers (numpy, scipy: ~100 ms each) to hit the same error.
#[derive(Default)]
pub struct ParentFailures {
    failed: HashMap<(ProbeStage, String), (String, String)>,
}

impl ParentFailures {
    pub fn known(&self, stage: ProbeStage, module: &str) -> Option<ImportOutcome> {
        let mut parent = String::new();
        for part in module.split('.').take(module.matches('.').count()) {
            if !parent.is_empty() {
                parent.push('.');
            }
            parent.push_str(part);
            if let Some((exception, message)) = self.failed.get(&(stage, parent.clone())) {
                return Some(ImportOutcome::Error {
                    exception: exception.clone(),
                    message: format!(
                        "{message} (raised while importing the parent package '{parent}', which fails \
                         the same way for every submodule; checked once per worker)"
                    ),
                });
            }
        }
        None
    }

    pub fn remember(&mut self, stage: ProbeStage, module: &str, attempt: &SubinterpreterImport) {
        let (Some(failed_at), ImportOutcome::Error { exception, message }) =
            (&attempt.failed_at, &attempt.outcome)
        else {
            return;
        };
        // Only a strict parent package says something about other modules.
        if failed_at != module && module.starts_with(&format!("{failed_at}.")) {
            self.failed.insert(
                (stage, failed_at.clone()),
                (exception.clone(), message.clone()),
            );
        }
    }
}
