//! The terminal view: one row per extension module, grouped by distribution, then what could
//! not be checked, the findings, and a summary.

use std::collections::BTreeMap;
use std::fmt::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use ftaudit_model::{
    FileKind, InputProblemKind, NativeFile, Readiness, Report, Severity, StaticModule,
};

use crate::cells;

#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    /// Wrap to this width (a terminal's); None = never wrap (pipes, files).
    pub width: Option<u16>,
    /// List note-level findings too, not only their count.
    pub show_notes: bool,
}

pub fn table(report: &Report, options: &TableOptions) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ftaudit {} — {} ({:?})",
        report.tool.version,
        report.target.path.display(),
        report.target.kind
    );
    if let Some(interpreter) = &report.target.interpreter {
        let build = if interpreter.free_threaded {
            "free-threaded"
        } else {
            "default (GIL) build"
        };
        let _ = writeln!(
            out,
            "environment: Python {} {build} ({})",
            interpreter.version, interpreter.evidence
        );
    }
    if let Some(run) = &report.stages.dynamic {
        let _ = writeln!(
            out,
            "import probe: CPython {}{} (Py_GIL_DISABLED={}), {} worker(s), timeout {} s, {:.1} s",
            run.interpreter.version,
            run.interpreter.abiflags,
            u8::from(run.interpreter.py_gil_disabled),
            run.workers,
            run.timeout_seconds,
            run.elapsed_seconds
        );
    }
    if let Some(worker) = report
        .stages
        .dynamic
        .as_ref()
        .and_then(|r| r.worker.as_ref())
    {
        let _ = writeln!(
            out,
            "worker: {} {} in {} ({})",
            worker.mode.as_str(),
            worker.abi,
            worker.python.display(),
            worker.reason
        );
    }
    if let Some(reused) = &report.stages.reused {
        let _ = writeln!(out, "{}", crate::names::reused_line(reused));
    }
    if let Some(reason) = &report.stages.dynamic_skipped {
        let _ = writeln!(out, "import probe: NOT RUN: {reason}");
    }
    if let Some(run) = &report.stages.dynamic {
        if let Some(line) = sandbox_line(&run.sandbox) {
            let _ = writeln!(out, "import probe: {line}");
        }
        if !run.network.isolated {
            let _ = writeln!(
                out,
                "import probe: network NOT isolated: {}",
                run.network.detail
            );
        }
    }
    if let Some(lock) = &report.stages.lock {
        let _ = writeln!(
            out,
            "lock: {} ({}), {} request(s), {:.1} MB read of {:.1} MB of picked wheels",
            lock.lock.display(),
            lock.format,
            lock.requests,
            lock.bytes_read as f64 / 1e6,
            lock.picked_wheel_bytes as f64 / 1e6
        );
        for target in &lock.targets {
            let _ = writeln!(
                out,
                "  {}: {} wheel(s) with native code, {} pure Python, {} without a wheel to audit, {} not for this target",
                target.name,
                target.wheels.len(),
                target.pure.len(),
                target.missing.len(),
                target.not_applicable.len()
            );
            for m in &target.missing {
                let _ = writeln!(
                    out,
                    "    {}=={} (line {}): {}",
                    m.name, m.version, m.line, m.reason
                );
            }
        }
    }
    if let Some(what) = &report.stages.interrupted {
        let _ = writeln!(out, "INTERRUPTED: {what}");
    }
    out.push('\n');
    out.push_str(&module_table(report, options).to_string());
    out.push('\n');
    if !report.summary.by_distribution.is_empty() {
        out.push_str("\nby distribution:\n");
        out.push_str(&distribution_table(report, options).to_string());
        out.push('\n');
    }
    write_input_problems(report, &mut out);
    write_unchecked(report, &mut out);
    crate::stress_table::write_stress(report, &|| new_table(options), &mut out);
    write_findings(report, options, &mut out);
    write_summary(report, &mut out);
    out
}

fn new_table(options: &TableOptions) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    match options.width {
        Some(width) => {
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(width);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    table
}

/// Per-distribution counts; the GIL columns use the import's verdict where the probe ran.
fn distribution_table(report: &Report, options: &TableOptions) -> Table {
    let dynamic = report.stages.dynamic.is_some();
    let mut table = new_table(options);
    let mut header = vec!["package", "modules", "GIL-free", "need GIL", "unknown"];
    if dynamic {
        header.extend(["import failures", "isolated subinterp ok"]);
    }
    header.extend(["errors", "warnings"]);
    table.set_header(header);
    let gil_applies = report.summary.readiness == Readiness::FreeThreading;
    for d in &report.summary.by_distribution {
        let gil = |count: usize| {
            if gil_applies {
                count.to_string()
            } else {
                "n/a".to_string()
            }
        };
        let mut row = vec![
            d.name.clone(),
            d.extension_modules.to_string(),
            gil(d.gil_free),
            gil(d.needs_gil),
            gil(d.gil_unknown),
        ];
        if dynamic {
            row.extend([
                d.import_failures.to_string(),
                d.isolated_subinterpreter_ok.to_string(),
            ]);
        }
        row.extend([d.errors.to_string(), d.warnings.to_string()]);
        table.add_row(row);
    }
    table
}

fn module_table(report: &Report, options: &TableOptions) -> Table {
    let dynamic = report.stages.dynamic.is_some();
    let gil_applies = report.summary.readiness == Readiness::FreeThreading;
    let mut table = new_table(options);
    let mut header = vec![
        "package",
        "module",
        "generator",
        "abi",
        "init",
        "gil (binary)",
        "subinterp (binary)",
    ];
    if dynamic {
        header.extend(["import", "gil at import", "subinterp iso / legacy"]);
    }
    table.set_header(header);

    for ((_, dist), files) in group_by_distribution(report) {
        let mut first = true;
        for file in files {
            for row in rows_for_file(file, dynamic, gil_applies) {
                let mut cells = vec![if first { dist.clone() } else { String::new() }];
                cells.extend(row);
                table.add_row(cells);
                first = false;
            }
        }
    }
    table
}

/// Keyed by (lower-case name, label) so `MarkupSafe` sorts among the `m`s.
fn group_by_distribution(report: &Report) -> BTreeMap<(String, String), Vec<&NativeFile>> {
    let mut groups: BTreeMap<(String, String), Vec<&NativeFile>> = BTreeMap::new();
    for file in &report.files {
        let shown = match &file.static_facts {
            Some(facts) => facts.kind == FileKind::ExtensionModule || file.dynamic.is_some(),
            None => true,
        };
        if !shown {
            continue;
        }
        let key = match file.distribution.as_deref() {
            Some(name) => {
                let version = report
                    .distributions
                    .iter()
                    .find(|d| d.name == name)
                    .map(|d| d.version.as_str());
                format!("{name} {}", version.unwrap_or(""))
            }
            None => "(no RECORD)".to_string(),
        };
        groups
            .entry((key.to_lowercase(), key))
            .or_default()
            .push(file);
    }
    groups
}

/// `gil_applies`: false on a standard build, where the GIL cells say "n/a".
fn rows_for_file(file: &NativeFile, dynamic: bool, gil_applies: bool) -> Vec<Vec<String>> {
    let not_applicable = |cell: &str| {
        if gil_applies {
            cell.to_string()
        } else {
            "n/a".to_string()
        }
    };
    let import_name = file
        .module_name
        .clone()
        .unwrap_or_else(|| file.path.clone());
    let dynamic_cells = |file: &NativeFile| -> Vec<String> {
        match &file.dynamic {
            Some(d) => vec![
                cells::outcome(&d.import),
                not_applicable(cells::gil_runtime(d)),
                cells::subinterpreters(d),
            ],
            None => vec!["-".into(), "-".into(), "-".into()],
        }
    };
    let facts = match &file.static_facts {
        Some(facts) => facts,
        None => {
            let mut row = vec![
                import_name,
                "-".into(),
                "-".into(),
                "-".into(),
                "UNREADABLE".into(),
                "-".into(),
            ];
            if dynamic {
                row.extend(dynamic_cells(file));
            }
            return vec![row];
        }
    };
    let generator = facts
        .generator
        .as_ref()
        .map(crate::names::generator_name)
        .unwrap_or_else(|| "-".into());
    let imported_last = import_name.rsplit('.').next().unwrap_or("").to_string();
    let modules: Vec<Option<&StaticModule>> = if facts.modules.is_empty() {
        vec![None]
    } else {
        // An alias entry point (mypyc's PyInit___init__) is the same module as its target.
        facts
            .modules
            .iter()
            .filter(|m| m.alias_of.is_none())
            .map(Some)
            .collect()
    };
    modules
        .into_iter()
        .map(|module| {
            let is_imported = module.is_none_or(|m| m.name == imported_last);
            let name = match module {
                Some(m) if !is_imported => {
                    format!("{} (extra entry point in {})", m.name, imported_last)
                }
                _ => import_name.clone(),
            };
            let mut row = vec![
                name,
                generator.clone(),
                cells::abi(&facts.abi.conclusion),
                cells::init(module).into(),
                not_applicable(cells::gil_declared(module)),
                cells::interp_declared(module).into(),
            ];
            if dynamic {
                if is_imported {
                    row.extend(dynamic_cells(file));
                } else {
                    row.extend(["-".into(), "-".into(), "-".into()]);
                }
            }
            row
        })
        .collect()
}

fn write_input_problems(report: &Report, out: &mut String) {
    if report.input_problems.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\ncould not read {} input(s) (native files may be hidden behind them):",
        report.input_problems.len()
    );
    for problem in &report.input_problems {
        let _ = writeln!(
            out,
            "  {} [{}]: {}",
            problem.path.display(),
            input_problem_label(problem.kind),
            problem.message
        );
    }
}

fn input_problem_label(kind: InputProblemKind) -> &'static str {
    match kind {
        InputProblemKind::UnreadableFolder => "unreadable folder",
        InputProblemKind::BadWheel => "bad wheel",
        InputProblemKind::HostileMember => "refused member",
        InputProblemKind::BadMetadata => "bad metadata",
        InputProblemKind::NotARegularFile => "not a regular file",
        InputProblemKind::LinkSkipped => "link not followed",
        InputProblemKind::NoWheel => "no wheel to audit",
    }
}

fn write_unchecked(report: &Report, out: &mut String) {
    let unchecked: Vec<_> = report
        .files
        .iter()
        .filter_map(|f| f.problem.as_ref().map(|problem| (f, problem)))
        .collect();
    if unchecked.is_empty() {
        return;
    }
    let _ = writeln!(out, "\ncould not check {} file(s):", unchecked.len());
    for (file, problem) in unchecked {
        let _ = writeln!(
            out,
            "  {} [{:?}]: {}",
            file.location, problem.kind, problem.message
        );
    }
}

fn write_findings(report: &Report, options: &TableOptions, out: &mut String) {
    let mut notes = 0;
    let mut listed = Vec::new();
    let policy_file = report.policy.source.as_deref().unwrap_or("policy");
    let findings = report
        .files
        .iter()
        .flat_map(|file| file.findings.iter().map(move |f| (file.path.as_str(), f)))
        .chain(report.policy.findings.iter().map(|f| (policy_file, f)));
    for (path, finding) in findings {
        if finding.suppressed.is_some() {
            continue; // counted in the summary; the JSON report lists them
        }
        if finding.severity == Severity::Note && !options.show_notes {
            notes += 1;
        } else {
            listed.push((path, finding));
        }
    }
    listed.sort_by(|a, b| {
        b.1.severity
            .cmp(&a.1.severity)
            .then(a.1.code.cmp(&b.1.code))
    });
    if !listed.is_empty() {
        let _ = writeln!(out, "\nfindings:");
    }
    for (path, finding) in listed {
        let severity = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        let subject = finding.module.as_deref().unwrap_or(path);
        let _ = writeln!(
            out,
            "  {severity}[{}] {subject}: {}",
            finding.code.as_str(),
            finding.message
        );
        if let Some(fix) = &finding.fix {
            let _ = writeln!(out, "      fix: {fix}");
        }
    }
    if notes > 0 {
        let _ = writeln!(
            out,
            "\n{notes} note(s) not listed (--notes lists them; --format json has everything)"
        );
    }
}

fn write_summary(report: &Report, out: &mut String) {
    let s = &report.summary;
    let _ = writeln!(
        out,
        "\nsummary: {} native file(s): {} extension module(s), {} bundled {}, {} could not be checked",
        s.native_files,
        s.extension_modules,
        s.bundled_libraries,
        if s.bundled_libraries == 1 { "library" } else { "libraries" },
        s.unchecked_files
    );
    if s.input_problems > 0 {
        let _ = writeln!(out, "  {} input(s) could not be read", s.input_problems);
    }
    if s.readiness == Readiness::FreeThreading {
        let _ = writeln!(
            out,
            "  declared in the binary: {} GIL-free, {} need the GIL, {} undecidable",
            s.static_gil_not_used, s.static_gil_used, s.static_gil_undeterminable
        );
    } else {
        let _ = writeln!(
            out,
            "  declared in the binary: {} isolated (own-GIL) subinterpreters, {} shared-GIL ones only, {} none (GIL declarations do not apply to a standard build)",
            s.static_own_gil, s.static_shared_gil_only, s.static_no_subinterpreters
        );
    }
    if report.stages.dynamic.is_some() {
        let _ = writeln!(
            out,
            "  at import: {} re-enabled the GIL, {} failed to import, {} crashed/hung (contained), {} not probed",
            s.dynamic_gil_required, s.dynamic_import_failed, s.dynamic_contained, s.dynamic_not_probed
        );
    }
    if report.stages.stress.is_some() {
        let _ = writeln!(
            out,
            "  under stress: {} unsafe, {} re-enabled the GIL, {} slow down, {} serialise, {} scale, {} other (partly, inconclusive, generic only, not stressable)",
            s.stress_unsafe, s.stress_gil_reenabled, s.stress_slows_down, s.stress_serialises, s.stress_scales, s.stress_other
        );
    }
    if s.suppressed > 0 {
        let _ = writeln!(
            out,
            "  {} finding(s) suppressed by the allowlist, baseline or policy (--format json lists them)",
            s.suppressed
        );
    }
    let question = s.readiness.describe();
    let verdict = if s.incomplete && s.incomplete_allowed {
        "incomplete, which the policy allows: some things could not be checked (see above)".into()
    } else if s.incomplete {
        "INCOMPLETE: some things could not be checked (see above)".into()
    } else if s.errors > 0 {
        format!("NOT READY for {question}")
    } else {
        format!("ready for {question}: nothing found at error level")
    };
    let _ = writeln!(
        out,
        "  {} error(s), {} warning(s): {verdict}",
        s.errors, s.warnings
    );
}

/// One line on the box a stage's children ran in: what held, or what did not.
pub fn sandbox_line(sandbox: &ftaudit_model::SandboxReport) -> Option<String> {
    use ftaudit_model::SandboxStatus;
    let missing = sandbox.missing();
    match sandbox.status {
        SandboxStatus::None => None,
        SandboxStatus::Enforced => Some(format!(
            "sandbox enforced in {} process(es): filesystem, network, signals, processes, limits, privileges (Landlock ABI {})",
            sandbox.children, sandbox.landlock_abi
        )),
        SandboxStatus::Off => Some(
            "sandbox OFF (--sandbox off): package code ran with your rights".to_string(),
        ),
        SandboxStatus::Partial => Some(format!(
            "sandbox PARTIAL (Landlock ABI {}): NOT enforced: {}",
            sandbox.landlock_abi,
            sandbox
                .layers
                .iter()
                .filter(|l| missing.contains(&l.name.as_str()))
                .map(|l| format!("{} ({})", l.name, l.detail))
                .collect::<Vec<_>>()
                .join("; ")
        )),
    }
}
