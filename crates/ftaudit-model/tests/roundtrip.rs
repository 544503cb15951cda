//! The report model is the JSON contract: everything it can hold must come back unchanged.

use ftaudit_model::protocol::{ImportRecord, ProbeStage, WorkerEvent};
use ftaudit_model::*;

fn verdict<T>(value: T, evidence: &str) -> Verdict<T> {
    Verdict {
        value,
        evidence: evidence.into(),
        code: Vec::new(),
    }
}

fn sample_report() -> Report {
    let module = StaticModule {
        entry_point: "PyInit__speedups".into(),
        entry_kind: EntryPointKind::PyInit,
        name: "_speedups".into(),
        init_style: InitStyle::MultiPhase,
        init_style_evidence: "imports PyModuleDef_Init".into(),
        def: Some(ModuleDef {
            address: 0x4020,
            layout: DefLayout::FreeThreaded,
            m_name: "markupsafe._speedups".into(),
            m_size: 0,
            slots_address: Some(0x40a0),
            slots: vec![ModuleSlot {
                id: 4,
                name: "Py_mod_gil".into(),
                value: 1,
                address: 0x40b0,
            }],
            slots_built_at_runtime: false,
        }),
        gil: verdict(GilDeclaration::NotUsed, "Py_mod_gil = 1"),
        multiple_interpreters: verdict(
            MultiInterpDeclaration::Supported,
            "no slot: multi-phase default",
        ),
        alias_of: None,
    };
    let facts = StaticFacts {
        format: BinaryFormat::Elf,
        architectures: vec![Architecture::X86_64, Architecture::Other("riscv64".into())],
        kind: FileKind::ExtensionModule,
        abi: AbiFacts {
            from_suffix: AbiTarget::FreeThreaded {
                version: "3.14".into(),
            },
            from_binary: AbiTarget::FreeThreaded {
                version: "3.14".into(),
            },
            binary_evidence: "def header layout".into(),
            conclusion: AbiTarget::FreeThreaded {
                version: "3.14".into(),
            },
        },
        generator: Some(GeneratorFacts {
            generator: Generator::PlainC,
            version: None,
            evidence: vec![],
        }),
        modules: vec![module],
    };
    let dynamic = DynamicFacts {
        module: "markupsafe._speedups".into(),
        import: ImportOutcome::Ok,
        requires_gil: Some(false),
        gil_enabled_after: Some(false),
        gil_warning: None,
        import_seconds: Some(0.01),
        pulled_in: vec![],
        loaded_by: None,
        output: None,
        isolated_subinterpreter: Some(ImportOutcome::Error {
            exception: "ImportError".into(),
            message: "module markupsafe._speedups does not support loading in subinterpreters"
                .into(),
        }),
        legacy_subinterpreter: Some(ImportOutcome::Crashed {
            signal: Some(11),
            description: "SIGSEGV".into(),
        }),
    };
    Report {
        provenance: Provenance {
            generated_at: "2026-12-02T07:10:00Z".into(),
            host: "linux x86_64".into(),
        },
        schema_version: SCHEMA_VERSION.into(),
        tool: ToolInfo { name: "ftaudit".into(), version: "0.1.0".into() },
        target: Target {
            path: "/venv".into(),
            kind: TargetKind::Venv,
            site_packages: vec!["/venv/lib/python3.14t/site-packages".into()],
            interpreter: Some(TargetInterpreter {
                version: "3.14.0".into(),
                free_threaded: true,
                executable: Some("/usr/bin/python3.14t".into()),
                evidence: "pyvenv.cfg".into(),
            }),
        },
        distributions: vec![Distribution {
            name: "MarkupSafe".into(),
            version: "3.0.2".into(),
            wheel_tags: vec!["cp314-cp314t-manylinux_2_17_x86_64".into()],
            free_threading_classifier: Some(FreeThreadingClassifier::Stable),
            source: "/venv/lib/python3.14t/site-packages/markupsafe-3.0.2.dist-info".into(),
        }],
        files: vec![
            NativeFile {
                path: "markupsafe/_speedups.cpython-314t-x86_64-linux-gnu.so".into(),
                location: "/venv/lib/python3.14t/site-packages/markupsafe/_speedups.cpython-314t-x86_64-linux-gnu.so".into(),
                distribution: Some("MarkupSafe".into()),
                size: 40_000,
                module_name: Some("markupsafe._speedups".into()),
                static_facts: Some(facts),
                problem: None,
                dynamic: Some(dynamic),
                stress: Some(sample_stress()),
                findings: vec![Finding {
                    code: FindingCode::IsolatedSubinterpreterFailed,
                    severity: Severity::Note,
                    module: Some("markupsafe._speedups".into()),
                    message: "ImportError".into(),
                    fix: None,
                    fingerprint: "isolated-subinterpreter-failed/markupsafe/markupsafe._speedups".into(),
                    suppressed: Some(Suppression {
                        by: SuppressedBy::Allowlist,
                        reason: "not run in subinterpreters".into(),
                    }),
                }],
            },
            NativeFile {
                path: "broken.so".into(),
                location: "/venv/broken.so".into(),
                distribution: None,
                size: 3,
                module_name: Some("broken".into()),
                static_facts: None,
                problem: Some(FileProblem { kind: FileProblemKind::Truncated, message: "cut short".into() }),
                dynamic: Some(DynamicFacts {
                    module: "broken".into(),
                    import: ImportOutcome::TimedOut { seconds: 60.0 },
                    requires_gil: None,
                    gil_enabled_after: None,
                    gil_warning: None,
                    import_seconds: None,
                    pulled_in: vec![],
                    loaded_by: None,
                    output: Some("noise".into()),
                    isolated_subinterpreter: Some(ImportOutcome::NotAttempted { reason: "main import failed".into() }),
                    legacy_subinterpreter: Some(ImportOutcome::MemoryLimit { limit_mb: 8192 }),
                }),
                stress: None,
                findings: vec![],
            },
        ],
        input_problems: vec![InputProblem {
            path: "/w/broken.whl".into(),
            kind: InputProblemKind::BadWheel,
            message: "not a valid wheel (zip)".into(),
        }],
        stages: Stages {
            static_analysis: true,
            dynamic: Some(DynamicRun {
                interpreter: EmbeddedInterpreter {
                    version: "3.14.0".into(),
                    abiflags: "t".into(),
                    py_gil_disabled: true,
                    gil_enabled_at_startup: false,
                    ext_suffix: ".cpython-314t-x86_64-linux-gnu.so".into(),
                    cache_tag: "cpython-314".into(),
                    base_prefix: "/usr".into(),
                },
                workers: 2,
                timeout_seconds: 60.0,
                memory_limit_mb: Some(8192),
                subinterpreters: true,
                environment_removed: vec!["PYTHON_GIL".into()],
                worker_processes: 3,
                elapsed_seconds: 1.5,
                worker: Some(ProbeWorker {
                    mode: WorkerMode::Hosted,
                    reason: "libpython is linked into the interpreter".into(),
                    library: "/opt/ftaudit/lib/ftaudit/ftaudit-worker-3.14t.so".into(),
                    abi: "3.14t".into(),
                    python: "/usr/bin/python3.14t".into(),
                    libpython: None,
                }),
                network: NetworkIsolation {
                    isolated: true,
                    detail: "own namespace".into(),
                },
                sandbox: SandboxReport {
                    status: SandboxStatus::Partial,
                    landlock_abi: 5,
                    children: 3,
                    layers: vec![SandboxLayer {
                        name: "signals".into(),
                        enforced: false,
                        detail: "Landlock ABI 5 has no signal scoping".into(),
                    }],
                },
            }),
            dynamic_skipped: None,
            interrupted: Some("SIGINT after 3.0 s".into()),
            stress: None,
            stress_skipped: Some("the stress stage needs the import probe's results".into()),
            lock: None,
            reused: None,
        },
        policy: PolicyOutcome {
            source: Some("ftaudit.toml".into()),
            baseline: None,
            findings: Vec::new(),
        },
        summary: Summary {
            native_files: 2,
            extension_modules: 1,
            unchecked_files: 1,
            incomplete: true,
            by_distribution: vec![DistributionSummary {
                name: "MarkupSafe".into(),
                extension_modules: 1,
                gil_free: 1,
                ..DistributionSummary::default()
            }],
            ..Summary::default()
        },
    }
}

#[test]
fn report_round_trips_through_json() {
    let report = sample_report();
    let json = serde_json::to_string_pretty(&report).unwrap();
    let back: Report = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn json_field_names_are_the_documented_contract() {
    let value = serde_json::to_value(sample_report()).unwrap();
    assert_eq!(value["schema_version"], SCHEMA_VERSION);
    let file = &value["files"][0];
    assert_eq!(
        file["static_facts"]["modules"][0]["gil"]["value"],
        "not_used"
    );
    assert_eq!(
        file["static_facts"]["abi"]["conclusion"]["kind"],
        "free_threaded"
    );
    assert_eq!(
        file["dynamic"]["isolated_subinterpreter"]["status"],
        "error"
    );
    assert_eq!(
        file["findings"][0]["code"],
        "isolated-subinterpreter-failed"
    );
    assert_eq!(value["files"][1]["problem"]["kind"], "truncated");
}

/// Reports from other ftaudit releases merge: a newer minor's extra fields are ignored, an
/// older minor's missing optional fields default; another major is refused with the reason.
#[test]
fn reports_of_any_minor_version_are_read_and_another_major_is_refused() {
    let mut value = serde_json::to_value(sample_report()).unwrap();
    value["schema_version"] = serde_json::json!("1.9");
    value["from_the_future"] = serde_json::json!({"x": 1});
    value["files"][0]["also_new"] = serde_json::json!(true);
    let back = Report::from_json(&value.to_string()).expect("a newer minor is read");
    assert_eq!(back.files, sample_report().files);

    let mut old = serde_json::to_value(sample_report()).unwrap();
    old["schema_version"] = serde_json::json!("1.0");
    old.as_object_mut().unwrap().remove("policy");
    old.as_object_mut().unwrap().remove("input_problems");
    assert!(
        Report::from_json(&old.to_string()).is_ok(),
        "1.0 had neither"
    );

    value["schema_version"] = serde_json::json!("2.0");
    let err = Report::from_json(&value.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("2.0") && err.contains("1.x"), "{err}");
}

/// docs/report.schema.json is generated from the types: regenerate it with
/// `FTAUDIT_WRITE_SCHEMA=1 cargo test -p ftaudit-model` when the model changes.
#[test]
fn the_committed_json_schema_is_in_sync_with_the_types() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/report.schema.json");
    let generated = serde_json::to_string_pretty(&report_json_schema()).unwrap() + "\n";
    if std::env::var_os("FTAUDIT_WRITE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date: run FTAUDIT_WRITE_SCHEMA=1 cargo test -p ftaudit-model",
        path.display()
    );
}

#[test]
fn finding_codes_serialise_as_their_documented_names() {
    for code in [
        FindingCode::UnreadableBinary,
        FindingCode::GilRequired,
        FindingCode::GilReenabled,
        FindingCode::StaticDynamicMismatch,
        FindingCode::PerInterpreterGilNotSupported,
    ] {
        assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
    }
}

#[test]
fn worker_events_round_trip() {
    let events = vec![
        WorkerEvent::Begin {
            module: "a.b".into(),
            stage: ProbeStage::IsolatedSubinterpreter,
        },
        WorkerEvent::Imported(ImportRecord {
            module: "a.b".into(),
            outcome: ImportOutcome::Ok,
            gil_enabled_after: true,
            gil_warning: Some("RuntimeWarning: ...".into()),
            import_seconds: 0.5,
            pulled_in: vec!["a._c".into()],
            gil_required_by: vec!["a._c".into()],
            already_loaded: false,
            python_output: None,
        }),
        WorkerEvent::Done,
    ];
    for event in events {
        let line = serde_json::to_string(&event).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(serde_json::from_str::<WorkerEvent>(&line).unwrap(), event);
    }
}

/// A stress result with every kind of part: figures, a failure, a GIL observation.
fn sample_stress() -> StressFacts {
    let point = ScalingPoint {
        workers: 2,
        wall_seconds: vec![0.26, 0.25, 0.27],
        median_seconds: 0.26,
        speedup: Some(Spread {
            median: 1.9,
            q1: 1.85,
            q3: 1.95,
            min: 1.8,
            max: 2.0,
        }),
        efficiency: Some(0.95),
        cpu_parallelism: 1.97,
        wait_fraction: 0.01,
        late_starts: 0,
        rounds_under_gil: 0,
    };
    StressFacts {
        module: "pkg._speedups".into(),
        workloads: vec![WorkloadResult {
            workload: "pkg".into(),
            tier: WorkloadTier::Shipped,
            unit: "one call".into(),
            total_units: Some(4096),
            executors: vec![ExecutorResult {
                kind: ExecutorKind::Threads,
                not_run: None,
                startup_seconds: Some(0.05),
                peak_rss_mb: Some(31.5),
                points: vec![point],
                verdict: Some(StressVerdict::Scales {
                    speedup: 1.9,
                    efficiency: 0.95,
                }),
            }],
            failures: vec![StressFailure::Deadlock {
                stage: "pkg (threads)".into(),
                seconds: 20.0,
                traceback: Some("Thread 0x1".into()),
            }],
            gil: Some(GilObservation {
                module: Some("helper".into()),
                warning: None,
                executor: Some(ExecutorKind::Threads),
                workers: Some(2),
            }),
            verdict: StressVerdict::Unsafe {
                reasons: vec!["deadlock".into()],
            },
        }],
        verdict: StressVerdict::Unsafe {
            reasons: vec!["deadlock".into()],
        },
        replay: "ftaudit stress .venv --seed 1 --only pkg._speedups".into(),
        synthesized: Some(SynthFacts {
            distribution: "pkg".into(),
            packages: vec!["pkg".into()],
            budget_seconds: 20.0,
            elapsed_seconds: 7.5,
            coverage: SynthCoverage {
                functions: ApiCount {
                    found: 4,
                    exercised: 3,
                    skipped: 1,
                },
                programs: 5,
                doctest_programs: 2,
                calls: 9,
                skipped: vec![SkipReason {
                    reason: "acts on the outside world".into(),
                    count: 1,
                    examples: vec!["pkg.load".into()],
                }],
                ..SynthCoverage::default()
            },
            patterns: vec![PatternRun {
                pattern: "shared_object".into(),
                programs: 2,
                calls: 5,
                outcome: "crashed".into(),
                detail: Some("signal 11".into()),
            }],
            findings: vec![SynthFinding {
                pattern: "shared_object".into(),
                kind: SynthFailureKind::Crash,
                program: Some("pkg.Buffer methods".into()),
                call: None,
                expected: None,
                got: None,
                exception: None,
                message: None,
                detail: Some("killed by signal 11 (SIGSEGV)".into()),
                reproducer: "import pkg\n".into(),
                minimised: true,
                threads: 4,
                seed: 1,
                reproduced: ReproRate {
                    runs: 5,
                    failures: 4,
                },
                flaky: false,
            }],
            not_run: None,
            refused_unboxed: false,
        }),
    }
}
