//! The CI formats, all rendered from the one report (issue 12): SARIF 2.1.0 validated against
//! the official JSON Schema, JUnit XML validated by xmllint against the reference XSD,
//! Markdown for a job summary and GitHub Actions workflow commands. Real wheels (lxml needs
//! the GIL; markupsafe is clean), with an allowlist entry so that suppressions appear too.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use ftaudit_model::RULES;
use support::*;

fn shared_schema(name: &str) -> PathBuf {
    repo_root().join("../shared/reference/schemas").join(name)
}

/// A folder with lxml and markupsafe wheels and a policy that allowlists one lxml module.
fn scenario(tmp: &Path) -> PathBuf {
    let wheels = tmp.join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let set = wheel_sets_dir().join("linux-cp314t");
    for entry in std::fs::read_dir(&set).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("lxml-") || name.starts_with("markupsafe-") {
            std::fs::copy(entry.path(), wheels.join(&name)).unwrap();
        }
    }
    std::fs::write(
        tmp.join("ftaudit.toml"),
        "[[allow]]\nmodule = \"lxml.sax\"\ncode = \"gil-required\"\nreason = \"not imported by our service\"\n",
    )
    .unwrap();
    wheels
}

fn render(tmp: &Path, wheels: &Path, format: &str) -> (i32, String) {
    let out = run(ftaudit()
        .current_dir(tmp)
        .arg("scan")
        .arg(wheels)
        .args(["--format", format]));
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).expect("UTF-8 output"),
    )
}

#[test]
fn sarif_is_valid_against_the_sarif_2_1_0_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let wheels = scenario(tmp.path());
    let (code, text) = render(tmp.path(), &wheels, "sarif");
    assert_eq!(code, 1, "lxml still fails the gate");
    let sarif: serde_json::Value = serde_json::from_str(&text).unwrap();
    let schema: serde_json::Value =
        serde_json::from_slice(&std::fs::read(shared_schema("sarif-schema-2.1.0.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema violations:\n{}",
        errors.join("\n")
    );

    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(
        rules.len(),
        RULES.len(),
        "every rule of the registry is described"
    );
    let results = run["results"].as_array().unwrap();
    let gil: Vec<_> = results
        .iter()
        .filter(|r| r["ruleId"] == "gil-required")
        .collect();
    assert!(gil.len() >= 2);
    for r in &gil {
        let fp = r["partialFingerprints"]["ftaudit/v1"].as_str().unwrap();
        assert!(fp.starts_with("gil-required/lxml/lxml."), "{fp}");
        assert_eq!(r["level"], "error");
        // ruleIndex points at the rule it names.
        assert_eq!(
            rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"],
            "gil-required"
        );
    }
    let sax = gil
        .iter()
        .find(|r| r["partialFingerprints"]["ftaudit/v1"] == "gil-required/lxml/lxml.sax")
        .unwrap();
    assert_eq!(sax["suppressions"][0]["kind"], "external");
    assert!(sax["suppressions"][0]["justification"]
        .as_str()
        .unwrap()
        .contains("not imported by our service"));
}

#[test]
fn junit_is_valid_against_the_reference_xsd() {
    let tmp = tempfile::tempdir().unwrap();
    let wheels = scenario(tmp.path());
    let (code, text) = render(tmp.path(), &wheels, "junit");
    assert_eq!(code, 1);
    let xml = tmp.path().join("junit.xml");
    std::fs::write(&xml, &text).unwrap();
    let out = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(shared_schema("junit.xsd"))
        .arg(&xml)
        .output()
        .expect("xmllint (Debian's libxml2-utils, installed by scripts/test.sh) runs");
    assert!(
        out.status.success(),
        "xmllint rejects the JUnit report:\n{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    // lxml's failing modules are failures; markupsafe passes; the allowlisted module passes.
    assert!(text.contains("<testsuite name=\"lxml\""), "{text}");
    assert!(
        text.contains("<testcase name=\"lxml.etree\" classname=\"lxml\">\n      <failure"),
        "{text}"
    );
    assert!(
        text.contains("<testcase name=\"lxml.sax\" classname=\"lxml\">\n      <system-out>"),
        "{text}"
    );
    assert!(
        text.contains("<testsuite name=\"MarkupSafe\" tests=\"1\" failures=\"0\""),
        "{text}"
    );
}

#[test]
fn markdown_and_github_annotations_show_what_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let wheels = scenario(tmp.path());
    let (code, md) = render(tmp.path(), &wheels, "markdown");
    assert_eq!(code, 1);
    assert!(md.contains("**Not ready** for free-threading"), "{md}");
    assert!(md.contains("| distribution | modules |"), "{md}");
    assert!(md.contains("| lxml |"), "{md}");
    assert!(md.contains("`gil-required` | lxml.etree | Cython"), "{md}");
    assert!(
        !md.contains("lxml.sax |"),
        "the allowlisted module is not listed: {md}"
    );
    assert!(md.contains("suppressed"), "{md}");

    let (code, gh) = render(tmp.path(), &wheels, "github");
    assert_eq!(code, 1);
    let lines: Vec<&str> = gh.lines().collect();
    assert!(!lines.is_empty());
    for line in &lines {
        assert!(
            line.starts_with("::error title=") || line.starts_with("::warning title="),
            "{line}"
        );
        assert!(!line.contains('\r'));
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("::error title=ftaudit gil-required lxml.etree::")),
        "{gh}"
    );
    assert!(!gh.contains("lxml.sax::"), "{gh}");
}

#[test]
fn generators_are_named_as_their_projects_spell_them() {
    let tmp = tempfile::tempdir().unwrap();
    let wheels = scenario(tmp.path());
    let (_, table) = render(tmp.path(), &wheels, "table");
    assert!(table.contains("plain C"), "{table}");
    assert!(table.contains("Cython"), "{table}");
    for debug in ["PlainC", "Pybind11", "Pyo3 "] {
        assert!(!table.contains(debug), "{debug} in:\n{table}");
    }
}

/// The JSON report validates against the JSON Schema committed in docs/ (generated from the
/// model's types), including a probed report with findings, suppressions and code evidence.
#[test]
fn json_reports_validate_against_the_committed_json_schema() {
    let schema: serde_json::Value = serde_json::from_slice(
        &std::fs::read(repo_root().join("docs/report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the report schema compiles");
    let tmp = tempfile::tempdir().unwrap();
    let wheels = scenario(tmp.path());
    let mut reports = vec![render(tmp.path(), &wheels, "json").1];
    // Probed, with crashes, a hang (cut short by --timeout) and failed imports in it.
    let out = run(ftaudit().arg("scan").arg(fixtures_venv()).args([
        "--format",
        "json",
        "--timeout",
        "5",
    ]));
    reports.push(String::from_utf8(out.stdout).unwrap());
    for (i, text) in reports.iter().enumerate() {
        let json: serde_json::Value = serde_json::from_str(text).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .take(10)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "report {i} violates docs/report.schema.json:\n{}",
            errors.join("\n")
        );
    }
}

/// A module that could not be checked is a skipped test case, not a pass or a failure.
#[test]
fn junit_skips_what_could_not_be_checked() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let wheels = tmp.path().join("wheels");
    std::fs::create_dir_all(&wheels).unwrap();
    let path = wheels.join("cut-1.0-cp314-cp314t-manylinux_2_28_x86_64.whl");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    let members: [(&str, &[u8]); 4] = [
        ("cut/_speedups.cpython-314t-x86_64-linux-gnu.so", b"\x7fELF\x02\x01\x01 cut short"),
        ("cut-1.0.dist-info/METADATA", b"Metadata-Version: 2.4\nName: cut\nVersion: 1.0\n"),
        ("cut-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp314-cp314t-manylinux_2_28_x86_64\n"),
        ("cut-1.0.dist-info/RECORD", b"cut/_speedups.cpython-314t-x86_64-linux-gnu.so,,\ncut-1.0.dist-info/METADATA,,\ncut-1.0.dist-info/WHEEL,,\ncut-1.0.dist-info/RECORD,,\n"),
    ];
    for (name, bytes) in members {
        zip.start_file(name, options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    let (code, text) = render(tmp.path(), &wheels, "junit");
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("<testcase name=\"cut._speedups\" classname=\"cut\">\n      <skipped message=\"could not be checked: unreadable-binary"), "{text}");
    assert!(text.contains("skipped=\"1\""), "{text}");
    let xml = tmp.path().join("junit.xml");
    std::fs::write(&xml, &text).unwrap();
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(shared_schema("junit.xsd"))
        .arg(&xml)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
