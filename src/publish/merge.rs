//! `ftaudit merge`: reports of several interpreters, platforms or shards into one matrix. A
//! cell is one module under one interpreter and platform; two reports that answer the same
//! cell differently both stay in it, as a conflict.

use std::collections::BTreeMap;

use ftaudit_model::{
    Architecture, BinaryFormat, ColumnVerdict, FileKind, FreeThreadingClassifier, ImportOutcome,
    Matrix, MatrixCell, MatrixPackage, MatrixPackageCell, MatrixRow, MatrixScaling, MatrixSource,
    NativeFile, PackageVerdict, Readiness, Report, ScalingSeries, Severity, StressFailure,
    SynthFailureKind, SCHEMA_VERSION,
};

use crate::assess::{gil_status, module_for_import, GilStatus};

/// The interpreter a report speaks for: the one it imported with, else the ABI its files target.
fn interpreter(report: &Report) -> String {
    if let Some(run) = &report.stages.dynamic {
        return format!(
            "{}{}{} imported",
            run.interpreter.version,
            run.interpreter.abiflags,
            if run.interpreter.py_gil_disabled {
                ""
            } else {
                " (standard build)"
            }
        );
    }
    if let Some(i) = &report.target.interpreter {
        return format!(
            "{}{} static",
            i.version,
            if i.free_threaded {
                "t"
            } else {
                " (standard build)"
            }
        );
    }
    "static".into()
}

/// Where a file runs: its binary format and architecture.
fn platform(file: &NativeFile) -> String {
    let Some(facts) = &file.static_facts else {
        return "unreadable".into();
    };
    let os = match facts.format {
        BinaryFormat::Elf => "linux",
        BinaryFormat::MachO | BinaryFormat::MachOFat => "macos",
        BinaryFormat::Pe => "windows",
    };
    let arch: Vec<&str> = facts
        .architectures
        .iter()
        .map(|a| match a {
            Architecture::X86_64 => "x86_64",
            Architecture::Aarch64 => "arm64",
            Architecture::X86 => "x86",
            Architecture::Arm => "arm",
            Architecture::Other(_) => "other",
        })
        .collect();
    format!("{os} {}", arch.join("+"))
}

/// A lock audit's column: the target the lock was audited for (`cp314t static, macos arm64`),
/// read from where the file was fetched (`.../targets/cp314t-macosx_15_0_arm64/<wheel>!...`),
/// whatever ABI or architectures each binary in the chosen wheel holds: a universal2 wheel
/// serves the arm64 target, and a module built for another Python in it is still that wheel's.
fn lock_column(report: &Report, file: &NativeFile) -> Option<String> {
    report.stages.lock.as_ref()?;
    let (_, rest) = file.location.split_once("/targets/")?;
    let target = rest.split('/').next()?;
    let (abi, tag) = target.split_once('-')?;
    let os = if tag.starts_with("macosx") {
        "macos"
    } else if tag.starts_with("win") {
        "windows"
    } else if tag.contains("linux") {
        "linux"
    } else {
        tag.split('_').next().unwrap_or(tag)
    };
    let arch = match tag.rsplit('_').next().unwrap_or(tag) {
        "arm64" | "aarch64" => "arm64",
        "amd64" | "x86_64" | "64" => "x86_64",
        "win32" | "i686" => "x86",
        "universal2" => "x86_64+arm64",
        other => other,
    };
    Some(format!("{abi} static, {os} {arch}"))
}

fn abi_label(file: &NativeFile) -> Option<String> {
    match &file.static_facts.as_ref()?.abi.conclusion {
        ftaudit_model::AbiTarget::FreeThreaded { version } => {
            Some(format!("cp{}t", version.replace('.', "")))
        }
        ftaudit_model::AbiTarget::Default { version } => {
            Some(format!("cp{}", version.replace('.', "")))
        }
        ftaudit_model::AbiTarget::Abi3 => Some("abi3".into()),
        ftaudit_model::AbiTarget::Abi3t => Some("abi3t".into()),
        ftaudit_model::AbiTarget::Unknown => None,
    }
}

/// `standard_build`: the report's environment has the GIL, so no module gets a GIL verdict.
fn gil(file: &NativeFile, standard_build: bool) -> &'static str {
    match gil_status(file) {
        _ if standard_build => "not_applicable",
        GilStatus::Free => "gil_free",
        GilStatus::NeedsGil => "needs_gil",
        GilStatus::Unknown => "unknown",
    }
}

fn import(outcome: &ImportOutcome) -> String {
    match outcome {
        ImportOutcome::Ok => "ok".into(),
        ImportOutcome::Error { exception, .. } => exception.clone(),
        ImportOutcome::Crashed { .. } => "crashed".into(),
        ImportOutcome::TimedOut { .. } => "timed_out".into(),
        ImportOutcome::MemoryLimit { .. } => "memory_limit".into(),
        ImportOutcome::NotAttempted { .. } => "not_attempted".into(),
    }
}

/// An import outcome in one line: `ok`, or the exception and its message.
fn outcome_line(outcome: &ImportOutcome) -> String {
    match outcome {
        ImportOutcome::Error { exception, message } => format!("{exception}: {message}"),
        other => import(other),
    }
}

/// What a reader opens a module's cell for: where the declaration was read, the import and
/// CPython's warning, the subinterpreters' errors, the stress verdicts and synthesized calls,
/// and every finding with its fix, the suppressed ones saying what suppressed them.
fn evidence(file: &NativeFile) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(m) = module_for_import(file) {
        out.push(format!("binary: {}", m.gil.evidence));
        for site in &m.gil.code {
            out.push(format!(
                "  {} at {:#x} in {}: {}",
                site.action, site.address, site.function, site.value
            ));
        }
    }
    if let Some(problem) = &file.problem {
        out.push(format!("not readable: {}", problem.message));
    }
    if let Some(d) = &file.dynamic {
        out.push(format!(
            "import: {}{}",
            outcome_line(&d.import),
            match d.requires_gil {
                Some(true) => ", the GIL was re-enabled",
                Some(false) => ", the GIL stayed off",
                None => "",
            }
        ));
        if let Some(warning) = &d.gil_warning {
            out.push(format!("CPython warned: {warning}"));
        }
        for (kind, outcome) in [
            ("isolated", &d.isolated_subinterpreter),
            ("legacy", &d.legacy_subinterpreter),
        ] {
            match outcome {
                Some(ImportOutcome::NotAttempted { .. }) | None => {}
                Some(o) => out.push(format!("{kind} subinterpreter: {}", outcome_line(o))),
            }
        }
    }
    if let Some(stress) = &file.stress {
        out.push(format!("stress: {}", stress.verdict.name()));
        for w in &stress.workloads {
            let best = w
                .executors
                .iter()
                .filter_map(|e| {
                    let last = e
                        .points
                        .iter()
                        .rev()
                        .find_map(|p| Some((p.workers, p.speedup.as_ref()?.median)))?;
                    Some(format!("{} x{:.2} at {}", e.kind.as_str(), last.1, last.0))
                })
                .collect::<Vec<_>>();
            out.push(format!(
                "  {}: {}{}{}",
                w.workload,
                w.verdict.name(),
                if best.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", best.join(", "))
                },
                if w.failures.is_empty() {
                    String::new()
                } else {
                    format!(", {} failure(s)", w.failures.len())
                }
            ));
        }
        if let Some(synth) = &stress.synthesized {
            for f in &synth.findings {
                out.push(format!(
                    "  synthesized: {} in {}{}; reproducer {}",
                    f.kind.describe(),
                    f.call.as_deref().unwrap_or(&f.pattern),
                    f.message
                        .as_deref()
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default(),
                    f.reproducer
                ));
            }
        }
    }
    for f in file
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Note)
    {
        let suppressed = f
            .suppressed
            .as_ref()
            .map(|s| format!("suppressed ({:?}: {}) ", s.by, s.reason).to_lowercase())
            .unwrap_or_default();
        out.push(format!(
            "{suppressed}{:?} {}: {}",
            f.severity,
            f.code.as_str(),
            f.message
        ));
        if let Some(fix) = &f.fix {
            out.push(format!("  fix: {fix}"));
        }
    }
    out
}

/// The timed workloads' speed-ups, for the page's charts.
fn scaling(file: &NativeFile, cores: usize) -> Vec<MatrixScaling> {
    let Some(stress) = &file.stress else {
        return Vec::new();
    };
    stress
        .workloads
        .iter()
        .map(|w| MatrixScaling {
            workload: w.workload.clone(),
            cores,
            series: w
                .executors
                .iter()
                .map(|e| ScalingSeries {
                    executor: e.kind,
                    points: e
                        .points
                        .iter()
                        .filter_map(|p| Some((p.workers, p.speedup.as_ref()?.median)))
                        .collect(),
                })
                .filter(|s| !s.points.is_empty())
                .collect(),
        })
        .filter(|s| !s.series.is_empty())
        .collect()
}

/// The module took its interpreter down: at import, in a stress workload, or in a synthesized
/// call program.
fn crashed(file: &NativeFile) -> bool {
    let at_import = file
        .dynamic
        .as_ref()
        .is_some_and(|d| matches!(d.import, ImportOutcome::Crashed { .. }));
    let under_stress = file.stress.as_ref().is_some_and(|s| {
        s.workloads
            .iter()
            .flat_map(|w| &w.failures)
            .any(|f| matches!(f, StressFailure::Crashed { .. }))
            || s.synthesized
                .iter()
                .flat_map(|synth| &synth.findings)
                .any(|f| f.kind == SynthFailureKind::Crash)
    });
    at_import || under_stress
}

/// Merges `reports` (with the paths they were read from) into one matrix.
pub fn merge(reports: &[(String, Report)]) -> Matrix {
    let mut sources = Vec::new();
    // (distribution in lower case, version) -> the Free Threading classifier it declares.
    let mut classifiers: Classifiers = BTreeMap::new();
    // (distribution, version, module) -> column -> cell
    let mut cells: BTreeMap<(String, String, String), BTreeMap<String, MatrixCell>> =
        BTreeMap::new();
    for (index, (path, report)) in reports.iter().enumerate() {
        let interp = interpreter(report);
        let standard_build = report.summary.readiness == Readiness::Subinterpreters;
        sources.push(MatrixSource {
            path: path.clone(),
            schema_version: report.schema_version.clone(),
            tool_version: report.tool.version.clone(),
            provenance: report.provenance.clone(),
            target: report.target.path.display().to_string(),
            interpreter: interp.clone(),
        });
        let versions: BTreeMap<String, String> = report
            .distributions
            .iter()
            .map(|d| (d.name.to_lowercase(), d.version.clone()))
            .collect();
        let cores = report.stages.stress.as_ref().map_or(1, |s| s.cores.usable);
        for d in &report.distributions {
            if let Some(level) = d.free_threading_classifier {
                classifiers.insert((d.name.to_lowercase(), d.version.clone()), level);
            }
        }
        for file in &report.files {
            let is_library = file
                .static_facts
                .as_ref()
                .is_some_and(|f| f.kind == FileKind::SharedLibrary);
            if is_library {
                continue;
            }
            let dist = file
                .distribution
                .clone()
                .unwrap_or_else(|| "(no RECORD)".into());
            let version = versions
                .get(&dist.to_lowercase())
                .cloned()
                .unwrap_or_default();
            let module = file
                .module_name
                .clone()
                .unwrap_or_else(|| file.path.clone());
            let column = match lock_column(report, file) {
                Some(column) => column,
                None => {
                    let interp_label = if report.stages.dynamic.is_some() {
                        interp.clone()
                    } else {
                        abi_label(file)
                            .map(|a| format!("{a} static"))
                            .unwrap_or_else(|| interp.clone())
                    };
                    format!("{interp_label}, {}", platform(file))
                }
            };
            let cell = MatrixCell {
                column: column.clone(),
                gil: gil(file, standard_build).to_string(),
                import: file.dynamic.as_ref().map(|d| import(&d.import)),
                isolated_subinterpreter: file
                    .dynamic
                    .as_ref()
                    .and_then(|d| d.isolated_subinterpreter.as_ref())
                    .filter(|o| !matches!(o, ImportOutcome::NotAttempted { .. }))
                    .map(ImportOutcome::is_ok),
                errors: file
                    .findings
                    .iter()
                    .filter(|f| f.suppressed.is_none() && f.severity == Severity::Error)
                    .count(),
                stress: file.stress.as_ref().map(|s| s.verdict.name().to_string()),
                crashed: crashed(file),
                scaling: scaling(file, cores),
                evidence: evidence(file),
                sources: vec![index],
                conflicts: Vec::new(),
            };
            let row = cells.entry((dist, version, module)).or_default();
            match row.get_mut(&column) {
                None => {
                    row.insert(column, cell);
                }
                Some(existing) => join(existing, cell, &sources),
            }
        }
    }
    let mut columns: Vec<String> = cells.values().flat_map(|r| r.keys().cloned()).collect();
    columns.sort();
    columns.dedup();
    let packages = roll_up(&cells, &columns, &classifiers);
    let verdicts = column_verdicts(&packages, &columns);
    let rows = cells
        .into_iter()
        .map(|((distribution, version, module), by_column)| MatrixRow {
            distribution,
            version,
            module,
            cells: by_column.into_values().collect(),
        })
        .collect();
    Matrix {
        schema_version: SCHEMA_VERSION.to_string(),
        tool: ftaudit_model::ToolInfo {
            name: "ftaudit".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        provenance: crate::scan::provenance(),
        sources,
        columns,
        rows,
        packages,
        verdicts,
        changes: None,
    }
}

type Classifiers = BTreeMap<(String, String), FreeThreadingClassifier>;
type Cells = BTreeMap<(String, String, String), BTreeMap<String, MatrixCell>>;

/// Per distribution (whatever its version in each column) and column: the modules' counts.
fn roll_up(cells: &Cells, columns: &[String], classifiers: &Classifiers) -> Vec<MatrixPackage> {
    let mut by_dist: BTreeMap<String, (String, BTreeMap<String, MatrixPackageCell>)> =
        BTreeMap::new();
    for ((distribution, version, _), row) in cells {
        let (_, per_column) = by_dist
            .entry(distribution.to_lowercase())
            .or_insert_with(|| (distribution.clone(), BTreeMap::new()));
        for (column, cell) in row {
            let sum = per_column
                .entry(column.clone())
                .or_insert_with(|| MatrixPackageCell {
                    column: column.clone(),
                    version: version.clone(),
                    classifier: classifiers
                        .get(&(distribution.to_lowercase(), version.clone()))
                        .copied(),
                    ..MatrixPackageCell::default()
                });
            // Two versions in one column (reports of different sets merged): both are named, so
            // the roll-up never passes one version's counts off as the other's.
            if !sum.version.split(", ").any(|v| v == version) {
                sum.version = format!("{}, {version}", sum.version);
            }
            sum.crashes += usize::from(cell.crashed);
            sum.modules += 1;
            match cell.gil.as_str() {
                "gil_free" => sum.gil_free += 1,
                "needs_gil" => sum.needs_gil += 1,
                "not_applicable" => sum.gil_not_applicable += 1,
                _ => sum.gil_unknown += 1,
            }
            if cell.import.as_deref().is_some_and(|i| i != "ok") {
                sum.import_failures += 1;
            }
            match cell.isolated_subinterpreter {
                Some(true) => sum.isolated_ok += 1,
                Some(false) => sum.isolated_refused += 1,
                None => {}
            }
            if cell.errors > 0 {
                sum.modules_with_errors += 1;
            }
            if let Some(stress) = &cell.stress {
                sum.stressed += 1;
                if stress == "unsafe" || stress == "gil_reenabled" {
                    sum.stress_failures += 1;
                }
            }
        }
    }
    for (_, per_column) in by_dist.values_mut() {
        for sum in per_column.values_mut() {
            sum.verdict = package_verdict(sum);
            sum.classifier_contradicted = classifier_contradicted(sum);
        }
    }
    by_dist
        .into_values()
        .map(|(distribution, mut per_column)| MatrixPackage {
            distribution,
            cells: columns
                .iter()
                .filter_map(|c| per_column.remove(c))
                .collect(),
        })
        .collect()
}

/// A package's answer in one column. Its modules' error-level findings (after the policy) are
/// what fails a gate, so any of them makes it not ready; a module whose answer nobody could
/// decide (no import, an undecidable binary) leaves it unchecked.
fn package_verdict(sum: &MatrixPackageCell) -> PackageVerdict {
    if sum.modules_with_errors > 0 || sum.stress_failures > 0 {
        PackageVerdict::NotReady
    } else if sum.gil_unknown > 0 {
        PackageVerdict::CouldNotCheck
    } else {
        PackageVerdict::Ready
    }
}

/// What the package's Free Threading classifier claims, against this column's evidence. Every
/// level claims the package runs on the free-threaded build, so a module that needs the GIL or
/// cannot be imported there contradicts any; "3 - Stable" and "4 - Resilient" claim it is fit
/// for threaded use, so a stress failure contradicts those too. A standard build's column tests
/// none of it.
fn classifier_contradicted(sum: &MatrixPackageCell) -> bool {
    let Some(level) = sum.classifier else {
        return false;
    };
    if sum.gil_not_applicable == sum.modules {
        return false;
    }
    sum.needs_gil > 0
        || sum.import_failures > 0
        || (level >= FreeThreadingClassifier::Stable && sum.stress_failures > 0)
}

/// Per column: its packages by verdict, and the column's answer.
fn column_verdicts(packages: &[MatrixPackage], columns: &[String]) -> Vec<ColumnVerdict> {
    columns
        .iter()
        .map(|column| {
            let mut v = ColumnVerdict {
                column: column.clone(),
                ..ColumnVerdict::default()
            };
            let cells = packages
                .iter()
                .flat_map(|p| p.cells.iter().filter(|c| &c.column == column));
            if cells.clone().all(|c| c.gil_not_applicable == c.modules) {
                v.readiness = Readiness::Subinterpreters;
            }
            for cell in cells {
                v.packages += 1;
                v.modules += cell.modules;
                v.stress_failures += cell.stress_failures;
                v.packages_needing_gil += usize::from(cell.needs_gil > 0);
                v.packages_failing_import += usize::from(cell.import_failures > 0);
                v.packages_refusing_isolated += usize::from(cell.isolated_refused > 0);
                v.packages_failing_stress += usize::from(cell.stress_failures > 0);
                v.packages_crashing += usize::from(cell.crashes > 0);
                v.packages_with_classifier += usize::from(cell.classifier.is_some());
                v.packages_contradicting_classifier += usize::from(cell.classifier_contradicted);
                match cell.verdict {
                    PackageVerdict::Ready => v.ready += 1,
                    PackageVerdict::NotReady => v.not_ready += 1,
                    PackageVerdict::CouldNotCheck => v.could_not_check += 1,
                }
            }
            v.verdict = if v.not_ready > 0 {
                PackageVerdict::NotReady
            } else if v.could_not_check > 0 {
                PackageVerdict::CouldNotCheck
            } else {
                PackageVerdict::Ready
            };
            v
        })
        .collect()
}

/// A second answer for a cell: the same answer adds its source; a different one is a conflict.
fn join(existing: &mut MatrixCell, new: MatrixCell, sources: &[MatrixSource]) {
    let answer = |c: &MatrixCell| {
        (
            c.gil.clone(),
            c.import.clone(),
            c.isolated_subinterpreter,
            c.errors,
        )
    };
    if answer(existing) != answer(&new) {
        let describe = |c: &MatrixCell, i: usize| {
            format!(
                "{}: {} / {}",
                sources.get(i).map_or("?", |s| s.path.as_str()),
                c.gil,
                c.import.as_deref().unwrap_or("not imported")
            )
        };
        if existing.conflicts.is_empty() {
            let first = existing.sources[0];
            existing.conflicts.push(describe(existing, first));
        }
        existing.conflicts.push(describe(&new, new.sources[0]));
        // What the cell shows when sources disagree: the least favourable answer.
        if new.gil == "needs_gil" || existing.gil == "unknown" {
            existing.gil = new.gil.clone();
        }
        existing.errors = existing.errors.max(new.errors);
    }
    existing.crashed |= new.crashed;
    existing.sources.extend(new.sources);
}
