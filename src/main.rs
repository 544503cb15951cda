use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use clap::Parser;
use ftaudit::exit;
use ftaudit::scan::{scan, NoProgress, ProbeOptions, Progress, ScanOptions};
use ftaudit_probe::Cancel;
use ftaudit_render::TableOptions;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

mod cli;
use cli::*;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                exit::FATAL
            } else {
                exit::CLEAN
            });
        }
    };
    match cli.command {
        Command::Scan(args) => run_scan(args),
        Command::Stress(mut args) => {
            args.stress.stress = true;
            run_scan(args)
        }
        Command::Workers(args) => run_workers(args),
        Command::Report(args) => run_report(args),
        Command::Merge(args) => run_merge(args),
        Command::Diff(args) => run_diff(args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "ftaudit",
                &mut std::io::stdout(),
            );
            ExitCode::from(exit::CLEAN)
        }
    }
}

fn read_report(path: &std::path::Path) -> Result<ftaudit_model::Report, String> {
    let text = ftaudit::policy::read_regular(path)?;
    ftaudit_model::Report::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn fatal(err: String) -> ExitCode {
    eprintln!("ftaudit: error: {err}");
    ExitCode::from(exit::FATAL)
}

fn run_report(args: ReportArgs) -> ExitCode {
    let report = match read_report(&args.report) {
        Ok(r) => r,
        Err(e) => return fatal(e),
    };
    if let Err(e) = write_output(&report, args.format, args.output.as_deref(), args.notes) {
        return fatal(e);
    }
    ExitCode::from(exit::for_report(&report))
}

fn run_merge(args: MergeArgs) -> ExitCode {
    let mut reports = Vec::new();
    for path in &args.reports {
        match read_report(path) {
            Ok(r) => reports.push((path.display().to_string(), r)),
            Err(e) => return fatal(e),
        }
    }
    let mut matrix = ftaudit::publish::merge(&reports);
    if let Some(path) = &args.previous {
        match read_matrix(path) {
            Ok(old) => {
                matrix.changes = Some(ftaudit::publish::matrix_changes(
                    &path.display().to_string(),
                    &old,
                    &matrix,
                ))
            }
            Err(e) => return fatal(e),
        }
    }
    let text = match args.format {
        MatrixFormat::Json => serde_json::to_string_pretty(&matrix).unwrap_or_default() + "\n",
        MatrixFormat::Html => ftaudit_render::html(&matrix, &args.title, ""),
        MatrixFormat::Markdown => ftaudit_render::matrix_markdown(&matrix, &args.title),
    };
    match write_text(&text, args.output.as_deref()) {
        Ok(()) => ExitCode::from(exit::CLEAN),
        Err(e) => fatal(e),
    }
}

/// A merged matrix (`ftaudit merge`'s JSON), not a report.
fn read_matrix(path: &std::path::Path) -> Result<ftaudit_model::Matrix, String> {
    let text = ftaudit::policy::read_regular(path)?;
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a matrix made by `ftaudit merge`: {e}",
            path.display()
        )
    })
}

fn is_matrix(path: &std::path::Path) -> bool {
    ftaudit::policy::read_regular(path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v.get("rows").is_some() && v.get("columns").is_some())
}

fn run_matrix_diff(args: &DiffArgs) -> ExitCode {
    let (old, new) = match (read_matrix(&args.old), read_matrix(&args.new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => return fatal(e),
    };
    let changes = ftaudit::publish::matrix_changes(&args.old.display().to_string(), &old, &new);
    let text = match args.format {
        TextOrJson::Json => serde_json::to_string_pretty(&changes).unwrap_or_default() + "\n",
        TextOrJson::Table => ftaudit::publish::changes_text(&changes),
    };
    if let Err(e) = write_text(&text, None) {
        return fatal(e);
    }
    ExitCode::from(if ftaudit::publish::any_regressed(&changes) {
        exit::FINDINGS
    } else {
        exit::CLEAN
    })
}

fn run_diff(args: DiffArgs) -> ExitCode {
    if is_matrix(&args.old) && is_matrix(&args.new) {
        return run_matrix_diff(&args);
    }
    let (old, new) = match (read_report(&args.old), read_report(&args.new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => return fatal(e),
    };
    let d = ftaudit::publish::diff(&old, &new);
    let text = match args.format {
        TextOrJson::Json => serde_json::to_string_pretty(&d).unwrap_or_default() + "\n",
        TextOrJson::Table => ftaudit::publish::diff_text(&d),
    };
    if let Err(e) = write_text(&text, None) {
        return fatal(e);
    }
    ExitCode::from(if d.has_regressions() {
        exit::FINDINGS
    } else {
        exit::CLEAN
    })
}

fn write_text(text: &str, output: Option<&std::path::Path>) -> Result<(), String> {
    match output {
        Some(path) => std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display())),
        None => match std::io::stdout().lock().write_all(text.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.map_err(|e| e.to_string()),
        },
    }
}

/// SIGINT and SIGTERM set a flag the scan polls, instead of ending the process: the workers
/// are stopped and the partial report is written before exiting with 130 / 143.
fn stop_on_signals() -> Cancel {
    let cancel = Cancel::default();
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        for (signal, flag) in [
            (SIGINT, cancel.interrupt_flag()),
            (SIGTERM, cancel.terminate_flag()),
        ] {
            if let Err(e) = signal_hook::flag::register(signal, flag) {
                eprintln!("ftaudit: warning: cannot handle signal {signal}: {e}");
            }
        }
    }
    cancel
}

fn run_scan(args: ScanArgs) -> ExitCode {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let policy = match ftaudit::policy::find_and_load(args.policy.as_deref(), &cwd) {
        Ok(policy) => policy,
        Err(err) => {
            eprintln!("ftaudit: error: {err}");
            return ExitCode::from(exit::FATAL);
        }
    };
    let baseline = match args
        .baseline
        .as_deref()
        .map(ftaudit::policy::Baseline::load)
    {
        None => None,
        Some(Ok(b)) => Some(b),
        Some(Err(err)) => {
            eprintln!("ftaudit: error: {err}");
            return ExitCode::from(exit::FATAL);
        }
    };
    let cancel = stop_on_signals();
    let reuse = match &args.reuse {
        Some(path) => match read_report(path) {
            Ok(report) => Some(ftaudit::publish::ReuseFrom {
                path: path.display().to_string(),
                report,
                rescan: args.rescan.clone(),
            }),
            Err(e) => return fatal(e),
        },
        None => None,
    };
    let options = ScanOptions {
        path: args.path.clone(),
        static_only: args.static_only,
        probe: ProbeOptions {
            worker: args.worker.clone(),
            worker_mode: args.worker_mode.into(),
            interpreter: args.interpreter.clone(),
            jobs: args.jobs,
            timeout: Duration::from_secs_f64(args.timeout.max(0.1)),
            memory_limit_mb: (args.memory_limit > 0).then_some(args.memory_limit),
            subinterpreters: !args.no_subinterpreters,
            sandbox: args.sandbox == SandboxArg::On,
        },
        cancel: cancel.clone(),
        policy,
        baseline,
        shard: args.shard,
        reuse,
        stress: args.stress.stress.then(|| {
            args.stress.options(
                (args.memory_limit > 0).then_some(args.memory_limit),
                args.sandbox == SandboxArg::On,
            )
        }),
    };
    let lock = ftaudit::lock::is_lock_file(&args.path).then(|| ftaudit::lock::LockOptions {
        python: args.lock.python.clone(),
        platforms: args.lock.platforms.clone(),
        index_url: args.lock.index_url.clone(),
        extra_index_urls: args.lock.extra_index_urls.clone(),
        offline: args.lock.offline,
    });
    let bar = BarProgress::default();
    let progress: &dyn ftaudit::scan::Progress = if std::io::stderr().is_terminal() {
        &bar
    } else {
        &NoProgress
    };
    let report = match &lock {
        Some(lock) => ftaudit::lock::scan_lock(&options, lock, progress),
        None => scan(&options, progress),
    };
    let report = match report {
        Ok(report) => report,
        Err(err) => {
            eprintln!("ftaudit: error: {err}");
            return ExitCode::from(exit::FATAL);
        }
    };
    if let Some(dir) = &args.stress.charts {
        if let Err(err) = write_charts(&report, dir) {
            eprintln!("ftaudit: error: cannot write the charts: {err}");
            return ExitCode::from(exit::FATAL);
        }
    }
    if let Err(err) = write_output(&report, args.format, args.output.as_deref(), args.notes) {
        eprintln!("ftaudit: error: cannot write the report: {err}");
        return ExitCode::from(exit::FATAL);
    }
    if let Some(signal) = cancel.requested() {
        eprintln!(
            "ftaudit: stopped by {}: the report holds what finished",
            signal.name()
        );
        return ExitCode::from(exit::for_signal(signal));
    }
    ExitCode::from(exit::for_report(&report))
}

/// One SVG per stressed module, named after it.
fn write_charts(report: &ftaudit_model::Report, dir: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let cores = report.stages.stress.as_ref().map_or(1, |s| s.cores.usable);
    let stdlib = report.stages.stress.iter().flat_map(|s| s.stdlib.iter());
    for facts in report
        .files
        .iter()
        .filter_map(|f| f.stress.as_ref())
        .chain(stdlib)
    {
        for workload in &facts.workloads {
            if let Some(svg) = ftaudit_render::chart::scaling_svg(facts, workload, cores) {
                let path = dir.join(format!("{}-{}.svg", facts.module, workload.workload));
                std::fs::write(&path, svg).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// Renders `report` in `format` to `output` or stdout (JSON is streamed).
fn write_output(
    report: &ftaudit_model::Report,
    format: Format,
    output: Option<&std::path::Path>,
    notes: bool,
) -> Result<(), String> {
    let text = match format {
        Format::Json => None,
        Format::Markdown => Some(ftaudit_render::markdown(report)),
        Format::Junit => Some(ftaudit_render::junit(report)),
        Format::Github => Some(ftaudit_render::github(report)),
        Format::Html => {
            let source = report.target.path.display().to_string();
            let matrix = ftaudit::publish::merge(&[(source.clone(), report.clone())]);
            let stress = ftaudit_render::stress_html::section(report);
            Some(ftaudit_render::html(
                &matrix,
                &format!("ftaudit: {source}"),
                &stress,
            ))
        }
        Format::Sarif => Some(
            serde_json::to_string_pretty(&ftaudit_render::sarif(report)).unwrap_or_default() + "\n",
        ),
        Format::Table => {
            let width = if output.is_none() && std::io::stdout().is_terminal() {
                terminal_width()
            } else {
                None
            };
            Some(ftaudit_render::table(
                report,
                &TableOptions {
                    width,
                    show_notes: notes,
                },
            ))
        }
    };
    let render = |out: &mut dyn Write| -> std::io::Result<()> {
        match &text {
            Some(text) => out.write_all(text.as_bytes())?,
            None => ftaudit_render::write_json(report, out)?,
        }
        out.flush()
    };
    match output {
        Some(path) => std::fs::File::create(path)
            .and_then(|file| render(&mut std::io::BufWriter::new(file)))
            .map_err(|e| format!("{}: {e}", path.display())),
        None => match render(&mut std::io::BufWriter::new(std::io::stdout().lock())) {
            // A closed pipe (`ftaudit scan . | head`) is the reader's choice, not an error.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            other => other.map_err(|e| e.to_string()),
        },
    }
}

fn run_workers(args: WorkersArgs) -> ExitCode {
    let list = ftaudit::workers::list(
        &args.pythons,
        args.worker_mode.into(),
        Duration::from_secs(60),
    );
    let text = match args.format {
        TextOrJson::Json => ftaudit_render::workers_json(&list),
        TextOrJson::Table => ftaudit_render::workers_table(&list),
    };
    print!("{text}");
    // No usable worker, or an interpreter none runs in, means no probe can run: "could not check".
    let unusable = list.workers.iter().all(|w| w.serves.is_none())
        || list.interpreters.iter().any(|c| c.embeds.is_none());
    if unusable {
        ExitCode::from(exit::INCOMPLETE)
    } else {
        ExitCode::from(exit::CLEAN)
    }
}

fn terminal_width() -> Option<u16> {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or(Some(160))
}

/// Progress on stderr, only when stderr is a terminal.
#[derive(Default)]
struct BarProgress {
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress for BarProgress {
    fn stage(&self, name: &str, total: usize) {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>15} [{bar:30}] {pos}/{len} {elapsed} {wide_msg}",
            )
            .expect("static template")
            .progress_chars("=> "),
        );
        bar.set_prefix(name.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        *self.bar.lock().expect("progress lock") = Some(bar);
    }

    fn advance(&self, item: &str) {
        if let Some(bar) = self.bar.lock().expect("progress lock").as_ref() {
            bar.set_message(item.to_string());
            bar.inc(1);
        }
    }

    fn finish_stage(&self) {
        if let Some(bar) = self.bar.lock().expect("progress lock").take() {
            bar.finish_and_clear();
        }
    }
}
