//! The policy stage, between assessment and the summary: per-code levels (deny / warn /
//! allow), per distribution or module pattern, an allowlist whose entries need a reason and
//! may expire, and a baseline of earlier findings. It changes findings' levels and marks
//! suppressed ones; it never removes a finding from the report.

mod apply;
mod baseline;
mod load;

pub use apply::{apply, fingerprint, today};
pub use baseline::Baseline;
pub use load::{find_and_load, load, normalise_name, read_regular};

use ftaudit_model::FindingCode;
use globset::GlobMatcher;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// An error: fails the gate (exit status 1).
    Deny,
    /// A warning: shown, does not fail the gate.
    Warn,
    /// Suppressed: kept in the JSON report, not counted or shown.
    Allow,
}

#[derive(Debug, Clone)]
pub struct Pattern {
    pub text: String,
    matcher: GlobMatcher,
}

impl Pattern {
    fn matches(&self, subject: &str) -> bool {
        self.matcher.is_match(subject)
    }
}

#[derive(Debug, Clone)]
pub struct Override {
    pub distribution: Option<Pattern>,
    pub module: Option<Pattern>,
    pub levels: Vec<(FindingCode, Level)>,
}

#[derive(Debug, Clone)]
pub struct Allow {
    /// Its position in the file, for messages (`allow[2]`).
    pub index: usize,
    pub distribution: Option<Pattern>,
    pub module: Option<Pattern>,
    pub code: FindingCode,
    pub reason: String,
    /// (year, month, day): the last day the entry holds.
    pub expires: Option<(u16, u8, u8)>,
}

#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// How messages name it ("ftaudit.toml", "pyproject.toml [tool.ftaudit]"); None: default.
    pub source: Option<String>,
    pub levels: Vec<(FindingCode, Level)>,
    pub overrides: Vec<Override>,
    pub allow: Vec<Allow>,
    /// `incomplete = "allow"`: a report with something not checked does not exit with 2.
    pub allow_incomplete: bool,
}

/// Whether a pattern pair covers a finding: every pattern given must match.
fn covers(
    distribution: &Option<Pattern>,
    module: &Option<Pattern>,
    dist: Option<&str>,
    module_name: Option<&str>,
) -> bool {
    let dist_ok = match distribution {
        None => true,
        Some(p) => dist.is_some_and(|d| p.matches(&normalise_name(d))),
    };
    let module_ok = match module {
        None => true,
        Some(p) => module_name.is_some_and(|m| p.matches(m)),
    };
    dist_ok && module_ok
}

impl Policy {
    /// The level the policy gives `code` for this distribution and module: the last matching
    /// override, else `[levels]`, else None (the finding keeps its own level).
    pub fn level(
        &self,
        code: FindingCode,
        dist: Option<&str>,
        module: Option<&str>,
    ) -> Option<Level> {
        let from_override = self
            .overrides
            .iter()
            .rev()
            .filter(|o| covers(&o.distribution, &o.module, dist, module))
            .find_map(|o| o.levels.iter().find(|(c, _)| *c == code).map(|(_, l)| *l));
        from_override.or_else(|| {
            self.levels
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(_, l)| *l)
        })
    }

    /// The first allowlist entry covering this finding, expired or not.
    pub fn allow_entry(
        &self,
        code: FindingCode,
        dist: Option<&str>,
        module: Option<&str>,
    ) -> Option<&Allow> {
        self.allow
            .iter()
            .find(|a| a.code == code && covers(&a.distribution, &a.module, dist, module))
    }
}
