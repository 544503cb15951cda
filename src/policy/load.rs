//! Reading and validating a policy: `ftaudit.toml`, or `[tool.ftaudit]` in `pyproject.toml`.
//! A bad key or value is an error that names the key and the file; nothing is ignored.

use std::collections::BTreeMap;
use std::path::Path;

use ftaudit_model::FindingCode;
use globset::{Glob, GlobMatcher};
use serde::Deserialize;

use super::{Allow, Level, Override, Pattern, Policy};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    levels: BTreeMap<String, Level>,
    #[serde(default, rename = "override")]
    overrides: Vec<OverrideFile>,
    #[serde(default)]
    allow: Vec<AllowFile>,
    #[serde(default)]
    incomplete: Option<Level>,
    /// "require": package code that ran without every layer of the sandbox fails the gate.
    #[serde(default)]
    sandbox: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverrideFile {
    distribution: Option<String>,
    module: Option<String>,
    levels: BTreeMap<String, Level>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowFile {
    distribution: Option<String>,
    module: Option<String>,
    code: String,
    reason: String,
    expires: Option<Expiry>,
}

/// `expires = 2027-03-31` (a TOML date) or `expires = "2027-03-31"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Expiry {
    Date(toml::value::Datetime),
    Text(String),
}

fn parse_date(e: &Expiry) -> Option<(u16, u8, u8)> {
    match e {
        Expiry::Date(d) => match (d.date, d.time) {
            (Some(date), None) => Some((date.year, date.month, date.day)),
            _ => None,
        },
        Expiry::Text(t) => {
            let mut parts = t.trim().splitn(3, '-');
            let y: u16 = parts.next()?.parse().ok()?;
            let m: u8 = parts.next()?.parse().ok()?;
            let d: u8 = parts.next()?.parse().ok()?;
            ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
        }
    }
}

/// Where a policy came from, for messages: "ftaudit.toml" or "pyproject.toml [tool.ftaudit]".
fn label(path: &Path, in_pyproject: bool) -> String {
    if in_pyproject {
        format!("{} [tool.ftaudit]", path.display())
    } else {
        path.display().to_string()
    }
}

/// The policy in effect for a scan run from `dir`: `explicit` if given, else `ftaudit.toml`,
/// else `pyproject.toml`'s `[tool.ftaudit]`, else the default policy.
pub fn find_and_load(explicit: Option<&Path>, dir: &Path) -> Result<Policy, String> {
    if let Some(path) = explicit {
        return load(path);
    }
    let own = dir.join("ftaudit.toml");
    if own.is_file() {
        return load(&own);
    }
    let pyproject = dir.join("pyproject.toml");
    if pyproject.is_file() {
        let text = read_regular(&pyproject)?;
        let table: toml::Table = toml::from_str(&text)
            .map_err(|e| format!("{}: not valid TOML: {}", pyproject.display(), e.message()))?;
        if table.get("tool").and_then(|t| t.get("ftaudit")).is_some() {
            return parse(&text, &pyproject, true);
        }
    }
    Ok(Policy::default())
}

/// Reads a small text file; anything but a regular file (a FIFO would block) is refused.
pub fn read_regular(path: &Path) -> Result<String, String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => return Err(format!("{}: not a regular file", path.display())),
        Err(e) => return Err(format!("{}: cannot be read: {e}", path.display())),
    }
    std::fs::read_to_string(path).map_err(|e| format!("{}: cannot be read: {e}", path.display()))
}

/// Loads a policy file: `pyproject.toml` is read for its `[tool.ftaudit]` table, any other
/// name as a whole `ftaudit.toml`.
pub fn load(path: &Path) -> Result<Policy, String> {
    let text = read_regular(path)?;
    let in_pyproject = path.file_name().is_some_and(|n| n == "pyproject.toml");
    parse(&text, path, in_pyproject)
}

fn parse(text: &str, path: &Path, in_pyproject: bool) -> Result<Policy, String> {
    let where_ = label(path, in_pyproject);
    let file: PolicyFile = if in_pyproject {
        #[derive(Deserialize)]
        struct Tool {
            ftaudit: PolicyFile,
        }
        #[derive(Deserialize)]
        struct Pyproject {
            tool: Tool,
        }
        toml::from_str::<Pyproject>(text)
            .map(|p| p.tool.ftaudit)
            .map_err(|e| format!("{where_}: {}", describe(&e)))?
    } else {
        toml::from_str(text).map_err(|e| format!("{where_}: {}", describe(&e)))?
    };
    build(file, &where_)
}

/// toml's message with the line it points at, without the multi-line source excerpt.
fn describe(e: &toml::de::Error) -> String {
    e.message().to_string()
}

fn codes(
    levels: BTreeMap<String, Level>,
    key: &str,
    where_: &str,
) -> Result<Vec<(FindingCode, Level)>, String> {
    levels
        .into_iter()
        .map(|(name, level)| {
            FindingCode::from_name(&name)
                .map(|c| (c, level))
                .ok_or_else(|| unknown_code(&name, key, where_))
        })
        .collect()
}

fn unknown_code(name: &str, key: &str, where_: &str) -> String {
    let known: Vec<&str> = ftaudit_model::RULES
        .iter()
        .map(|r| r.code.as_str())
        .collect();
    format!(
        "{where_}: {key}: unknown finding code `{name}` (known codes: {})",
        known.join(", ")
    )
}

fn pattern(
    glob: Option<String>,
    key: &str,
    where_: &str,
    normalise: bool,
) -> Result<Option<Pattern>, String> {
    let Some(text) = glob else { return Ok(None) };
    let subject = if normalise {
        normalise_name(&text)
    } else {
        text.clone()
    };
    let matcher: GlobMatcher = Glob::new(&subject)
        .map_err(|e| format!("{where_}: {key}: `{text}` is not a valid pattern: {e}"))?
        .compile_matcher();
    Ok(Some(Pattern { text, matcher }))
}

/// PEP 503 normalisation, so `Foo_Bar` and `foo-bar` name the same distribution.
pub fn normalise_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_sep {
                out.push('-');
            }
            last_sep = true;
        } else {
            out.extend(c.to_lowercase());
            last_sep = false;
        }
    }
    out
}

fn build(file: PolicyFile, where_: &str) -> Result<Policy, String> {
    let mut levels = codes(file.levels, "levels", where_)?;
    let mut overrides = Vec::new();
    for (i, o) in file.overrides.into_iter().enumerate() {
        let key = format!("override[{i}]");
        if o.distribution.is_none() && o.module.is_none() {
            return Err(format!("{where_}: {key}: give `distribution` or `module` (or both); for every package use [levels]"));
        }
        overrides.push(Override {
            distribution: pattern(o.distribution, &format!("{key}.distribution"), where_, true)?,
            module: pattern(o.module, &format!("{key}.module"), where_, false)?,
            levels: codes(o.levels, &format!("{key}.levels"), where_)?,
        });
    }
    let mut allow = Vec::new();
    for (i, a) in file.allow.into_iter().enumerate() {
        let key = format!("allow[{i}]");
        let code = FindingCode::from_name(&a.code)
            .ok_or_else(|| unknown_code(&a.code, &format!("{key}.code"), where_))?;
        if a.reason.trim().is_empty() {
            return Err(format!(
                "{where_}: {key}.reason: an allowlist entry needs a reason"
            ));
        }
        if a.distribution.is_none() && a.module.is_none() {
            return Err(format!(
                "{where_}: {key}: name the `distribution` or `module` it covers"
            ));
        }
        let expires = match &a.expires {
            None => None,
            Some(e) => Some(parse_date(e).ok_or_else(|| {
                format!("{where_}: {key}.expires: {e:?} is not a date (write it as 2027-03-31)")
            })?),
        };
        allow.push(Allow {
            index: i,
            distribution: pattern(a.distribution, &format!("{key}.distribution"), where_, true)?,
            module: pattern(a.module, &format!("{key}.module"), where_, false)?,
            code,
            reason: a.reason,
            expires,
        });
    }
    match file.sandbox.as_deref() {
        None | Some("report") => {}
        // The same as `levels.unboxed = "deny"`, unless the levels already name it.
        Some("require") => {
            if !levels.iter().any(|(c, _)| *c == FindingCode::Unboxed) {
                levels.push((FindingCode::Unboxed, Level::Deny));
            }
        }
        Some(other) => {
            return Err(format!("{where_}: sandbox: {other:?} is not a choice: use \"require\" (package code that ran without every layer of the sandbox fails the gate) or \"report\" (the default: a note)"));
        }
    }
    let allow_incomplete = match file.incomplete {
        None | Some(Level::Deny) => false,
        Some(Level::Allow) => true,
        Some(Level::Warn) => {
            return Err(format!("{where_}: incomplete: use \"deny\" (exit status 2 when something could not be checked) or \"allow\""));
        }
    };
    Ok(Policy {
        source: Some(where_.to_string()),
        levels,
        overrides,
        allow,
        allow_incomplete,
    })
}
