//! What a person sees: the terminal table of a static scan of the fixture venv, snapshotted
//! with paths and addresses filtered out (they depend on the machine and the compiler).

mod support;

use support::*;

#[test]
fn static_table_of_the_fixture_venv() {
    let out = run(ftaudit()
        .args(["scan", "--static-only", "--notes"])
        .arg(fixtures_venv()));
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).expect("UTF-8 table");
    let venv = fixtures_venv().display().to_string();
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex_escape(&venv), "[VENV]");
    // The interpreter's version is read at run time, never hard-coded (3.13t here, 3.14t elsewhere).
    settings.add_filter(r"\b3\.1\d\.\d+\b", "3.X.Y");
    settings.add_filter(r"\b3\.1\d", "3.X");
    settings.add_filter(r"python3\.1\d", "python3.X");
    settings.add_filter(r"\b31\dt\b", "3XXt");
    settings.add_filter(r"ftaudit \d+\.\d+\.\d+", "ftaudit [VERSION]");
    settings.add_filter(r"0x[0-9a-f]+", "[ADDR]");
    settings.add_filter(r"first bytes [0-9a-f]+", "first bytes [BYTES]");
    settings.bind(|| insta::assert_snapshot!(text));
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}
