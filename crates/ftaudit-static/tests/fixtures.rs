//! Exact static verdicts for every compiled fixture module (fixtures/ext/*.c, built against the
//! provisioned free-threaded CPython by scripts/build-fixtures.sh). The venv comes from
//! FTAUDIT_FIXTURES_VENV, else from running the build script; neither working is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

use ftaudit_model::*;

fn venv() -> PathBuf {
    if let Some(v) = std::env::var_os("FTAUDIT_FIXTURES_VENV") {
        let v = PathBuf::from(v);
        assert!(
            v.join("ftaudit-fixtures.json").is_file(),
            "FTAUDIT_FIXTURES_VENV={} has no ftaudit-fixtures.json",
            v.display()
        );
        return v;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/build-fixtures.sh");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "FTAUDIT_FIXTURES_VENV is unset and {} could not run: {e}",
                script.display()
            )
        });
    assert!(
        out.status.success(),
        "FTAUDIT_FIXTURES_VENV is unset and {} failed:\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout
        .lines()
        .last()
        .unwrap_or_else(|| panic!("{} printed nothing", script.display()));
    PathBuf::from(last.trim())
}

struct Fixtures {
    cases: Vec<serde_json::Value>,
}

impl Fixtures {
    fn load() -> Self {
        let v = venv();
        let text = std::fs::read_to_string(v.join("ftaudit-fixtures.json"))
            .expect("read ftaudit-fixtures.json");
        let json: serde_json::Value =
            serde_json::from_str(&text).expect("parse ftaudit-fixtures.json");
        Fixtures {
            cases: json["cases"].as_array().expect("cases array").clone(),
        }
    }

    fn path(&self, module: &str) -> PathBuf {
        let case = self
            .cases
            .iter()
            .find(|c| c["module"] == module)
            .unwrap_or_else(|| panic!("fixture case {module} missing from ftaudit-fixtures.json"));
        PathBuf::from(case["path"].as_str().expect("path"))
    }

    fn analyze(&self, module: &str) -> Result<StaticFacts, FileProblem> {
        let path = self.path(module);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let name = path.file_name().unwrap().to_str().unwrap();
        ftaudit_static::analyze(name, &bytes)
    }

    fn facts(&self, module: &str) -> StaticFacts {
        self.analyze(module)
            .unwrap_or_else(|p| panic!("{module}: {p:?}"))
    }

    /// The single module of a one-entry-point fixture.
    fn module(&self, module: &str) -> (StaticFacts, StaticModule) {
        let f = self.facts(module);
        assert_eq!(f.kind, FileKind::ExtensionModule, "{module}");
        assert_eq!(f.modules.len(), 1, "{module}: {:?}", f.modules);
        let m = f.modules[0].clone();
        (f, m)
    }
}

/// "3.14": the fixture venv's interpreter, from its `lib/pythonX.Yt` folder (the fixtures are
/// built for each provisioned interpreter).
fn fixture_minor() -> String {
    std::fs::read_dir(venv().join("lib"))
        .expect("the fixture venv has lib/")
        .flatten()
        .find_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("python")
                .and_then(|v| v.strip_suffix('t'))
                .map(str::to_string)
        })
        .expect("lib/pythonX.Yt")
}

fn ft_fixture() -> AbiTarget {
    AbiTarget::FreeThreaded {
        version: fixture_minor(),
    }
}

fn slot_ids(m: &StaticModule) -> Vec<(i32, u64)> {
    m.def
        .as_ref()
        .expect("def")
        .slots
        .iter()
        .map(|s| (s.id, if s.id == 2 { 0 } else { s.value }))
        .collect()
}

#[test]
fn multi_phase_gil_slots() {
    let fx = Fixtures::load();
    let (f, m) = fx.module("ftfix_mp_gil_not_used");
    assert_eq!(f.format, BinaryFormat::Elf);
    assert_eq!(f.architectures, vec![Architecture::X86_64]);
    assert_eq!(f.abi.from_suffix, ft_fixture());
    assert_eq!(f.abi.from_binary, ft_fixture());
    assert_eq!(f.abi.conclusion, ft_fixture());
    assert_eq!(f.generator.as_ref().unwrap().generator, Generator::PlainC);
    assert_eq!(m.entry_point, "PyInit_ftfix_mp_gil_not_used");
    assert_eq!(m.entry_kind, EntryPointKind::PyInit);
    assert_eq!(m.name, "ftfix_mp_gil_not_used");
    assert_eq!(m.init_style, InitStyle::MultiPhase);
    let def = m.def.as_ref().unwrap();
    assert_eq!(def.layout, DefLayout::FreeThreaded);
    assert_eq!(def.m_name, "ftfix_mp_gil_not_used");
    assert!(!def.slots_built_at_runtime);
    assert_eq!(slot_ids(&m), vec![(2, 0), (4, 1)]);
    assert_eq!(m.gil.value, GilDeclaration::NotUsed);
    let gil_slot = def.slots.iter().find(|s| s.id == 4).unwrap();
    assert_eq!(
        m.gil.evidence,
        format!(
            "Py_mod_gil slot = 1 (Py_MOD_GIL_NOT_USED) at {:#x} in def {:#x}",
            gil_slot.address, def.address
        )
    );
    assert_eq!(
        m.multiple_interpreters.value,
        MultiInterpDeclaration::Supported
    );

    let (_, m) = fx.module("ftfix_mp_no_gil_slot");
    assert_eq!(m.init_style, InitStyle::MultiPhase);
    assert_eq!(slot_ids(&m), vec![(2, 0)]);
    assert_eq!(m.gil.value, GilDeclaration::Used);
    assert!(
        m.gil.evidence.starts_with("no Py_mod_gil slot in def 0x"),
        "{}",
        m.gil.evidence
    );

    let (_, m) = fx.module("ftfix_mp_gil_used");
    assert_eq!(slot_ids(&m), vec![(2, 0), (4, 0)]);
    assert_eq!(m.gil.value, GilDeclaration::Used);
    assert!(
        m.gil
            .evidence
            .starts_with("Py_mod_gil slot = 0 (Py_MOD_GIL_USED)"),
        "{}",
        m.gil.evidence
    );

    let (_, m) = fx.module("ftfix_mp_gil_odd_value");
    assert_eq!(
        m.def
            .as_ref()
            .unwrap()
            .slots
            .iter()
            .find(|s| s.id == 4)
            .unwrap()
            .value,
        2
    );
    assert_eq!(m.gil.value, GilDeclaration::NotUsed);
    assert!(
        m.gil.evidence.contains("unusual value"),
        "{}",
        m.gil.evidence
    );
}

#[test]
fn multiple_interpreter_slots() {
    let fx = Fixtures::load();
    for (module, value, want) in [
        (
            "ftfix_interp_not_supported",
            0,
            MultiInterpDeclaration::NotSupported,
        ),
        (
            "ftfix_interp_supported",
            1,
            MultiInterpDeclaration::Supported,
        ),
        (
            "ftfix_interp_per_gil",
            2,
            MultiInterpDeclaration::PerInterpreterGil,
        ),
    ] {
        let (_, m) = fx.module(module);
        assert_eq!(m.init_style, InitStyle::MultiPhase, "{module}");
        assert!(
            slot_ids(&m).contains(&(3, value)),
            "{module}: {:?}",
            slot_ids(&m)
        );
        assert_eq!(m.multiple_interpreters.value, want, "{module}");
        assert!(m
            .multiple_interpreters
            .evidence
            .starts_with(&format!("Py_mod_multiple_interpreters slot = {value}")));
        assert_eq!(m.gil.value, GilDeclaration::NotUsed, "{module}");
    }
}

#[test]
fn single_phase() {
    let fx = Fixtures::load();
    let (_, m) = fx.module("ftfix_sp_setgil");
    assert_eq!(m.init_style, InitStyle::SinglePhase);
    // Read from the call site (issue 10): the second argument of PyUnstable_Module_SetGIL.
    assert_eq!(m.gil.value, GilDeclaration::NotUsed, "{}", m.gil.evidence);
    assert!(
        m.gil
            .evidence
            .contains("calls PyUnstable_Module_SetGIL(module, Py_MOD_GIL_NOT_USED)"),
        "{}",
        m.gil.evidence
    );
    let site = &m.gil.code[0];
    assert_eq!(
        (site.value, site.register.as_deref()),
        (1, Some("rsi")),
        "{site:?}"
    );
    assert_eq!(site.function, "PyInit_ftfix_sp_setgil");

    // A value chosen by getenv at import time: never guessed.
    let (_, m) = fx.module("ftfix_sp_setgil_runtime");
    assert_eq!(
        m.gil.value,
        GilDeclaration::Undeterminable,
        "{}",
        m.gil.evidence
    );
    assert!(
        m.gil.evidence.contains("not a constant of the code")
            || m.gil.evidence.contains("different values"),
        "{}",
        m.gil.evidence
    );
    assert!(m.gil.code.is_empty());
    assert_eq!(
        m.multiple_interpreters.value,
        MultiInterpDeclaration::NotSupported
    );
    assert_eq!(m.def.as_ref().unwrap().slots_address, None);

    let (_, m) = fx.module("ftfix_sp_plain");
    assert_eq!(m.init_style, InitStyle::SinglePhase);
    assert_eq!(m.gil.value, GilDeclaration::Used);
    assert_eq!(
        m.gil.evidence,
        "single-phase init with no PyUnstable_Module_SetGIL import"
    );
    assert_eq!(
        m.multiple_interpreters.value,
        MultiInterpDeclaration::NotSupported
    );
}

#[test]
fn no_static_def() {
    let fx = Fixtures::load();
    // PyInit raises before creating anything: no def, neither init function imported.
    let (_, m) = fx.module("ftfix_init_raises");
    assert_eq!(m.init_style, InitStyle::Undeterminable);
    assert!(m.def.is_none());
    assert_eq!(m.gil.value, GilDeclaration::Undeterminable);
    assert!(
        m.gil.evidence.contains("no static def"),
        "{}",
        m.gil.evidence
    );
    assert_eq!(
        m.multiple_interpreters.value,
        MultiInterpDeclaration::Undeterminable
    );
}

#[test]
fn runtime_behaviour_fixtures_still_declare_statically() {
    let fx = Fixtures::load();
    for module in [
        "ftfix_exec_raises",
        "ftfix_init_segfault",
        "ftfix_init_abort",
        "ftfix_init_hangs",
        "ftfix_noisy",
        "ftfix_bigalloc",
        "ftfix_unowned",
        "ftfix_pkg._gil_free",
    ] {
        let (_, m) = fx.module(module);
        assert_eq!(m.init_style, InitStyle::MultiPhase, "{module}");
        assert_eq!(
            m.gil.value,
            GilDeclaration::NotUsed,
            "{module}: {}",
            m.gil.evidence
        );
        assert_eq!(
            m.multiple_interpreters.value,
            MultiInterpDeclaration::Supported,
            "{module}"
        );
    }
}

#[test]
fn terminator_only_slot_array_in_bss() {
    // `static PyModuleDef_Slot slots[] = {{0, NULL}}` is all zeros, so it lands in .bss like a
    // run-time-filled array; the 16-byte symbol size says it only holds the terminator.
    let fx = Fixtures::load();
    for module in ["ftfix_pkg._needs_gil", "ftfix_claims_stable._core"] {
        let (_, m) = fx.module(module);
        let def = m.def.as_ref().unwrap();
        assert!(
            def.slots.is_empty() && def.slots_address.is_some() && !def.slots_built_at_runtime,
            "{module}"
        );
        assert_eq!(m.gil.value, GilDeclaration::Used, "{module}");
        assert!(
            m.gil.evidence.contains("only the {0, NULL} terminator"),
            "{}",
            m.gil.evidence
        );
        assert_eq!(
            m.multiple_interpreters.value,
            MultiInterpDeclaration::Supported,
            "{module}"
        );
    }
}

#[test]
fn two_entry_points() {
    let fx = Fixtures::load();
    let f = fx.facts("ftfix_two_entries");
    let names: Vec<&str> = f.modules.iter().map(|m| m.entry_point.as_str()).collect();
    assert_eq!(names.len(), 2);
    assert!(
        names.contains(&"PyInit_ftfix_two_entries") && names.contains(&"PyInit_ftfix_second"),
        "{names:?}"
    );
    let first = f
        .modules
        .iter()
        .find(|m| m.name == "ftfix_two_entries")
        .unwrap();
    let second = f.modules.iter().find(|m| m.name == "ftfix_second").unwrap();
    assert_eq!(first.gil.value, GilDeclaration::NotUsed);
    assert_eq!(
        first.multiple_interpreters.value,
        MultiInterpDeclaration::Supported
    );
    assert_eq!(second.gil.value, GilDeclaration::Used);
    assert_eq!(
        second.multiple_interpreters.value,
        MultiInterpDeclaration::NotSupported
    );
    assert_ne!(
        first.def.as_ref().unwrap().address,
        second.def.as_ref().unwrap().address
    );
}

#[test]
fn punycode_entry_point() {
    let fx = Fixtures::load();
    let (_, m) = fx.module("ftfix_café");
    assert_eq!(m.entry_point, "PyInitU_ftfix_caf_j4a");
    assert_eq!(m.entry_kind, EntryPointKind::PyInitU);
    assert_eq!(m.name, "ftfix_café");
    assert_eq!(m.def.as_ref().unwrap().m_name, "ftfix_café");
    assert_eq!(m.gil.value, GilDeclaration::NotUsed);
}

#[test]
fn default_build_layout() {
    let fx = Fixtures::load();
    let (f, m) = fx.module("ftfix_gil_build");
    let default = AbiTarget::Default {
        version: fixture_minor(),
    };
    assert_eq!(m.def.as_ref().unwrap().layout, DefLayout::Default);
    assert_eq!(f.abi.from_suffix, default);
    assert_eq!(f.abi.from_binary, default);
    assert_eq!(m.gil.value, GilDeclaration::Used);

    // Same code under a free-threaded file name: the binary contradicts the suffix.
    let (f, m) = fx.module("ftfix_gil_build_renamed");
    assert_eq!(m.def.as_ref().unwrap().layout, DefLayout::Default);
    assert_eq!(f.abi.from_suffix, ft_fixture());
    assert!(
        matches!(f.abi.from_binary, AbiTarget::Default { .. }),
        "{:?}",
        f.abi.from_binary
    );
    assert!(matches!(f.abi.conclusion, AbiTarget::Default { .. }));
    assert!(
        f.abi.binary_evidence.contains("default (16-byte)"),
        "{}",
        f.abi.binary_evidence
    );
}

#[test]
fn plain_shared_library() {
    let fx = Fixtures::load();
    let f = fx.facts("libftfix_helper");
    assert_eq!(f.kind, FileKind::SharedLibrary);
    assert!(f.modules.is_empty());
    assert!(f.generator.is_none());
    assert_eq!(f.abi.from_binary, AbiTarget::Unknown);
}

#[test]
fn bad_files() {
    let fx = Fixtures::load();
    let expect = [
        ("ftfix_truncated", FileProblemKind::Truncated),
        ("ftfix_corrupt", FileProblemKind::Malformed),
        ("ftfix_textfile", FileProblemKind::UnknownFormat),
    ];
    for (module, kind) in expect {
        let p = fx.analyze(module).expect_err(module);
        assert_eq!(p.kind, kind, "{module}: {}", p.message);
        assert!(
            p.message.starts_with("ftfix_"),
            "the message names the file: {}",
            p.message
        );
    }
}

#[test]
fn every_case_is_covered() {
    // A new fixture case must get an exact assertion above.
    let covered = [
        "ftfix_mp_gil_not_used",
        "ftfix_mp_no_gil_slot",
        "ftfix_mp_gil_used",
        "ftfix_mp_gil_odd_value",
        "ftfix_sp_setgil",
        "ftfix_sp_setgil_runtime",
        "ftfix_sp_plain",
        "ftfix_interp_not_supported",
        "ftfix_interp_supported",
        "ftfix_interp_per_gil",
        "ftfix_init_raises",
        "ftfix_exec_raises",
        "ftfix_init_segfault",
        "ftfix_init_abort",
        "ftfix_init_hangs",
        "ftfix_noisy",
        "ftfix_bigalloc",
        "ftfix_two_entries",
        "ftfix_café",
        "ftfix_gil_build",
        "ftfix_gil_build_renamed",
        "ftfix_pkg._gil_free",
        "ftfix_pkg._needs_gil",
        "ftfix_unowned",
        "ftfix_claims_stable._core",
        "libftfix_helper",
        "ftfix_truncated",
        "ftfix_corrupt",
        "ftfix_textfile",
    ];
    let fx = Fixtures::load();
    for case in &fx.cases {
        let module = case["module"].as_str().unwrap();
        assert!(
            covered.contains(&module),
            "fixture case {module} has no exact assertion in tests/fixtures.rs"
        );
    }
}
