//! A baseline: the findings of an earlier report, by fingerprint. Read as plain JSON, so a
//! report of any 1.x schema works (older ones have no fingerprints: they are computed from
//! the same fields), and a newer minor's extra fields do not matter.

use std::collections::HashSet;
use std::path::Path;

use serde_json::Value;

use super::fingerprint;

#[derive(Debug, Clone)]
pub struct Baseline {
    pub source: String,
    fingerprints: HashSet<String>,
}

impl Baseline {
    pub fn contains(&self, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
    }

    pub fn load(path: &Path) -> Result<Baseline, String> {
        let where_ = path.display().to_string();
        let text = super::read_regular(path).map_err(|e| format!("baseline {e}"))?;
        let json: Value = serde_json::from_str(&text)
            .map_err(|e| format!("baseline {where_}: not a JSON report: {e}"))?;
        let version = json["schema_version"].as_str().unwrap_or("");
        if version.split('.').next() != Some("1") {
            return Err(format!(
                "baseline {where_}: schema_version {version:?} is not a 1.x ftaudit report"
            ));
        }
        let files = json["files"]
            .as_array()
            .ok_or_else(|| format!("baseline {where_}: no `files` array"))?;
        let mut fingerprints = HashSet::new();
        for file in files {
            let path = file["path"].as_str().unwrap_or("");
            let dist = file["distribution"].as_str();
            let module_name = file["module_name"].as_str();
            for f in file["findings"].as_array().into_iter().flatten() {
                if let Some(given) = f["fingerprint"].as_str().filter(|s| !s.is_empty()) {
                    fingerprints.insert(given.to_string());
                    continue;
                }
                let Some(code) = f["code"].as_str() else {
                    continue;
                };
                let module = f["module"].as_str().or(module_name);
                fingerprints.insert(fingerprint(code, dist, module, path));
            }
        }
        Ok(Baseline {
            source: where_,
            fingerprints,
        })
    }
}
