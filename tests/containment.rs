//! A scan with the import probe leaves the scanned environment exactly as it found it, and says
//! how its workers were kept off the network.

mod support;

use support::*;

#[test]
fn a_probed_venv_is_left_byte_for_byte_unchanged() {
    let venv = demo_venv();
    let before = fingerprint(venv);
    let (code, report) = scan_json(&[], venv);
    let after = fingerprint(venv);
    let run = report.stages.dynamic.as_ref().expect("the probe ran");
    assert!(
        report.files.iter().filter(|f| f.dynamic.is_some()).count() > 20,
        "real modules were imported"
    );
    assert!(code <= 2, "exit {code}");

    let changed: Vec<_> = before
        .iter()
        .filter(|(path, detail)| after.get(*path) != Some(detail))
        .map(|(path, _)| path)
        .collect();
    let added: Vec<_> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    assert!(
        changed.is_empty() && added.is_empty(),
        "the scan changed {changed:?} and added {added:?} in {}",
        venv.display()
    );
    assert!(!run.network.detail.is_empty());
    let kernel_allows = std::process::Command::new("unshare")
        .args(["--net", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if kernel_allows {
        assert!(run.network.isolated, "{:?}", run.network);
    }
}
