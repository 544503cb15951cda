//! Declarations set by code, read from machine code (issue 10): every pattern in
//! fixtures/code/*.c is compiled here at -O0 and -O2 against the provisioned free-threaded
//! CPython's own headers, read statically, and then imported by that CPython, whose
//! `sys._is_gil_enabled()` after the import is the truth the static verdict must match.

use std::path::{Path, PathBuf};
use std::process::Command;

use ftaudit_model::{GilDeclaration, MultiInterpDeclaration, StaticModule};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// $FTAUDIT_PYTHON, else what scripts/provision-python.sh provides.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("FTAUDIT_PYTHON") {
        return PathBuf::from(p);
    }
    let out = Command::new("bash")
        .arg(repo().join("scripts/provision-python.sh"))
        .output()
        .expect("scripts/provision-python.sh runs");
    assert!(
        out.status.success(),
        "provisioning failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    PathBuf::from(stdout.lines().last().expect("an interpreter path").trim())
}

fn sysconfig(python: &Path, expr: &str) -> String {
    let out = Command::new(python)
        .args(["-I", "-c", &format!("import sysconfig; print({expr})")])
        .env_remove("PYTHON_GIL")
        .output()
        .expect("the interpreter runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

struct Case {
    module: &'static str,
    gil: GilDeclaration,
    multi: Option<MultiInterpDeclaration>,
    /// The decided verdict rests on instructions (a call or stores), not on data alone.
    from_code: bool,
    /// The provisioned CPython can import it (PEP 793 modules need 3.15).
    importable: bool,
}

const fn case(module: &'static str, gil: GilDeclaration, from_code: bool) -> Case {
    Case {
        module,
        gil,
        multi: None,
        from_code,
        importable: true,
    }
}

const CASES: &[Case] = &[
    case("setgil_not_used", GilDeclaration::NotUsed, true),
    case("setgil_used", GilDeclaration::Used, true),
    case("setgil_far", GilDeclaration::NotUsed, true),
    case("setgil_branch", GilDeclaration::NotUsed, true),
    case("setgil_helper", GilDeclaration::NotUsed, true),
    case(
        "setgil_runtime_value",
        GilDeclaration::Undeterminable,
        false,
    ),
    Case {
        module: "slots_runtime",
        gil: GilDeclaration::NotUsed,
        multi: Some(MultiInterpDeclaration::PerInterpreterGil),
        from_code: true,
        importable: true,
    },
    case("slots_null_filled", GilDeclaration::NotUsed, true),
    case("slots_null_never", GilDeclaration::Used, false),
    Case {
        module: "export_slots",
        gil: GilDeclaration::NotUsed,
        multi: Some(MultiInterpDeclaration::Supported),
        from_code: false,
        importable: false,
    },
];

/// Compiles every fixture with `compiler` at `opt` into `dir`; returns the module file per case.
fn compile(python: &Path, compiler: &str, dir: &Path, opt: &str) -> Vec<PathBuf> {
    let include = sysconfig(python, "sysconfig.get_path('include')");
    let suffix = sysconfig(python, "sysconfig.get_config_var('EXT_SUFFIX')");
    CASES
        .iter()
        .map(|c| {
            let src = repo().join(format!("fixtures/code/{}.c", c.module));
            let out = dir.join(format!("{}{suffix}", c.module));
            let status = Command::new(compiler)
                .args(["-shared", "-fPIC", opt, "-I"])
                .arg(&include)
                .arg("-o")
                .arg(&out)
                .arg(&src)
                .status()
                .expect("cc runs");
            assert!(
                status.success(),
                "{compiler} {opt} {} failed",
                src.display()
            );
            out
        })
        .collect()
}

/// Whether CPython runs with the GIL after importing the module from `dir` (a fresh process
/// per module: once re-enabled, the GIL stays on).
fn gil_enabled_after_import(python: &Path, dir: &Path, module: &str) -> bool {
    let script = format!(
        "import sys; sys.path.insert(0, {dir:?}); import {module}; print(sys._is_gil_enabled())",
        dir = dir.display().to_string()
    );
    let out = Command::new(python)
        .args(["-I", "-c", &script])
        .env_remove("PYTHON_GIL")
        .env_remove("FTAUDIT_FIXTURE_WANTS_GIL")
        .output()
        .expect("the interpreter runs");
    assert!(
        out.status.success(),
        "import {module}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    match String::from_utf8_lossy(&out.stdout).trim() {
        "True" => true,
        "False" => false,
        other => panic!("import {module} printed {other:?}"),
    }
}

/// Checks the static verdicts of one compiled set; returns them.
fn check_static(files: &[PathBuf], what: &str) -> Vec<StaticModule> {
    CASES
        .iter()
        .zip(files)
        .map(|(case, file)| {
            let m = module_of(file);
            let ctx = format!("{} {what}: {}", case.module, m.gil.evidence);
            assert_eq!(m.gil.value, case.gil, "{ctx}");
            if let Some(multi) = case.multi {
                assert_eq!(
                    m.multiple_interpreters.value, multi,
                    "{} {what}: {}",
                    case.module, m.multiple_interpreters.evidence
                );
            }
            if case.from_code {
                assert!(
                    !m.gil.code.is_empty(),
                    "{ctx}: no instruction given as evidence"
                );
                for site in &m.gil.code {
                    assert!(
                        site.address != 0 && !site.function.is_empty(),
                        "{ctx}: {site:?}"
                    );
                }
            }
            m
        })
        .collect()
}

fn module_of(path: &Path) -> StaticModule {
    let bytes = std::fs::read(path).expect("read the compiled module");
    let name = path.file_name().unwrap().to_str().unwrap();
    let facts = ftaudit_static::analyze(name, &bytes).unwrap_or_else(|p| panic!("{name}: {p:?}"));
    assert_eq!(facts.modules.len(), 1, "{name}: one entry point");
    facts.modules.into_iter().next().unwrap()
}

#[test]
fn code_set_declarations_match_the_import_at_o0_and_o2() {
    let python = python();
    for opt in ["-O0", "-O2"] {
        let dir = tempfile::tempdir().unwrap();
        let files = compile(&python, "cc", dir.path(), opt);
        let modules = check_static(&files, &format!("x86-64 {opt}"));
        for (case, m) in CASES.iter().zip(&modules).filter(|(c, _)| c.importable) {
            let enabled = gil_enabled_after_import(&python, dir.path(), case.module);
            let what = format!("{} {opt}: {}", case.module, m.gil.evidence);
            match m.gil.value {
                GilDeclaration::Used => assert!(enabled, "{what}: CPython kept the GIL off"),
                GilDeclaration::NotUsed => assert!(!enabled, "{what}: CPython re-enabled the GIL"),
                GilDeclaration::Undeterminable => {}
            }
        }
    }
}

/// The same fixtures for aarch64 Linux (AAPCS64), built with Debian's cross compiler, which
/// scripts/test.sh installs. Read statically only: this machine cannot run them.
#[test]
fn code_set_declarations_on_aarch64() {
    let compiler = "aarch64-linux-gnu-gcc";
    if Command::new(compiler).arg("--version").output().is_err() {
        assert!(
            std::env::var_os("FTAUDIT_REQUIRE_CROSS").is_none(),
            "FTAUDIT_REQUIRE_CROSS is set but {compiler} is not installed"
        );
        eprintln!("{compiler} is not installed: skipped (scripts/test.sh installs it)");
        return;
    }
    let python = python();
    for opt in ["-O0", "-O2"] {
        let dir = tempfile::tempdir().unwrap();
        let files = compile(&python, compiler, dir.path(), opt);
        check_static(&files, &format!("aarch64 {opt}"));
    }
}
