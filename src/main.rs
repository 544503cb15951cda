use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use ftaudit::exit;
use ftaudit::scan::{scan, NoProgress, ProbeOptions, Progress, ScanOptions};
use ftaudit_model::AvailableWorker;
use ftaudit_probe::Cancel;
use ftaudit_render::TableOptions;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// `ftaudit 0.1.0 (0123456789ab 2026-12-06)`: the version and the commit it was built from.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("FTAUDIT_COMMIT"), ")");

/// Audits native Python extension modules for free-threaded CPython and subinterpreters.
#[derive(Parser)]
#[command(name = "ftaudit", version = VERSION, about)]
#[command(
    after_help = "Exit status: 0 clean, 1 error-level findings, 2 something could not be checked, 3 the scan could not run, 130 / 143 stopped by SIGINT / SIGTERM (the partial report is still written)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan a venv, a site-packages folder, a wheel, or a folder of wheels.
    Scan(ScanArgs),
    /// Scan a venv with the probe, then stress every module that imported GIL-free: threads,
    /// subinterpreters and processes, correctness and scaling (`scan --stress`).
    Stress(ScanArgs),
    /// List the probe workers next to ftaudit and the interpreter each embeds.
    Workers(WorkersArgs),
    /// Render a saved JSON report in another format (exit status as the scan's).
    Report(ReportArgs),
    /// Merge reports (interpreters, platforms, shards) into one compatibility matrix (JSON).
    Merge(MergeArgs),
    /// What became ready, regressed, appeared or went away between two reports (exit 1 on a
    /// regression or a new finding).
    Diff(DiffArgs),
    /// Print a shell completion script: `ftaudit completions bash > ~/.local/share/bash-completion/completions/ftaudit`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(clap::Args)]
struct ReportArgs {
    /// A report written by `ftaudit scan --format json` (any 1.x schema).
    report: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// List note-level findings in the table too.
    #[arg(long)]
    notes: bool,
}

#[derive(clap::Args)]
struct MergeArgs {
    /// JSON reports (any 1.x schema).
    #[arg(required = true)]
    reports: Vec<PathBuf>,
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// json (the matrix model) or html (one self-contained page).
    #[arg(long, value_enum, default_value_t = MatrixFormat::Json)]
    format: MatrixFormat,
    /// The HTML page's title.
    #[arg(long, default_value = "ftaudit compatibility matrix")]
    title: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum MatrixFormat {
    Json,
    Html,
    /// The per-package roll-up, one column per interpreter and platform.
    Markdown,
}

#[derive(clap::Args)]
struct DiffArgs {
    old: PathBuf,
    new: PathBuf,
    #[arg(long, value_enum, default_value_t = TextOrJson::Table)]
    format: TextOrJson,
}

#[derive(clap::Args)]
struct WorkersArgs {
    #[arg(long, value_enum, default_value_t = TextOrJson::Table)]
    format: TextOrJson,
}

#[derive(Clone, Copy, ValueEnum)]
enum TextOrJson {
    Table,
    Json,
}

#[derive(clap::Args)]
struct ScanArgs {
    /// venv, site-packages folder, .whl file, folder of .whl files, or native files.
    path: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the report here instead of stdout.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Read the binaries only; do not import anything.
    #[arg(long)]
    static_only: bool,
    /// Worker processes for the import probe.
    #[arg(long, short, default_value_t = default_jobs())]
    jobs: usize,
    /// Seconds one module's import may take before it is reported as hung.
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
    /// Memory limit per worker process, in MiB (0 = none).
    #[arg(long, default_value_t = 8192)]
    memory_limit: u64,
    /// Skip the subinterpreter imports.
    #[arg(long)]
    no_subinterpreters: bool,
    /// The worker binary (default: ftaudit-worker next to ftaudit, or $FTAUDIT_WORKER).
    #[arg(long)]
    worker: Option<PathBuf>,
    /// The box around imported and stressed code (Landlock, seccomp, namespaces, limits).
    /// `off` runs package code with the user's rights: the report says so, and a policy with
    /// `sandbox = "require"` fails the run.
    #[arg(long, value_enum, default_value_t = SandboxArg::On)]
    sandbox: SandboxArg,
    /// List note-level findings in the table too.
    #[arg(long)]
    notes: bool,
    /// The policy: levels, allowlist, incompleteness (default: ./ftaudit.toml, else
    /// [tool.ftaudit] in ./pyproject.toml, else every finding at its default level).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// An earlier JSON report: findings already in it do not count (matched by fingerprint).
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Scan only shard K of N (by distribution); `ftaudit merge` joins the shards.
    #[arg(long, value_parser = ftaudit::publish::parse_shard)]
    shard: Option<ftaudit::publish::Shard>,
    #[command(flatten)]
    stress: StressArgs,
    #[command(flatten)]
    lock: LockArgs,
}

#[derive(clap::Args)]
#[command(next_help_heading = "Lock files (requirements.txt, pylock.toml, uv.lock)")]
struct LockArgs {
    /// The interpreter to audit the lock for: 3.14t, 3.13t, 3.15t, 3.14...
    #[arg(long)]
    python: Option<String>,
    /// Wheel platform tag to audit for (repeatable): manylinux_2_28_x86_64, manylinux_2_28_aarch64,
    /// musllinux_1_2_x86_64, macosx_11_0_arm64, macosx_10_13_x86_64, win_amd64. Default: manylinux
    /// x86_64 and aarch64, macOS arm64 and x86_64, Windows amd64.
    #[arg(long = "platform")]
    platforms: Vec<String>,
    /// The index (PEP 691/503 simple API). Default: the lock's, else $PIP_INDEX_URL or
    /// $UV_INDEX_URL, else PyPI.
    #[arg(long)]
    index_url: Option<String>,
    /// More indexes (repeatable).
    #[arg(long = "extra-index-url")]
    extra_index_urls: Vec<String>,
    /// Use only the cache (~/.cache/ftaudit/lock): anything not there is reported, not fetched.
    #[arg(long)]
    offline: bool,
}

#[derive(clap::Args)]
#[command(next_help_heading = "Stress")]
struct StressArgs {
    /// After the probe, stress the modules that imported GIL-free (as `ftaudit stress`).
    #[arg(long)]
    stress: bool,
    /// Fixes every random choice of the stress stage; the report records it.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker counts to measure, comma-separated (default: 1,2,4 and the usable cores).
    #[arg(long, value_delimiter = ',')]
    workers: Option<Vec<usize>>,
    /// Timed rounds per worker count and executor.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// The 1-worker run of each recipe is calibrated to at least this many seconds.
    #[arg(long, default_value_t = 0.5)]
    target_seconds: f64,
    /// Seconds a stress stage may take before it counts as a deadlock or a hang.
    #[arg(long, default_value_t = 20.0)]
    stress_timeout: f64,
    /// Executors to compare, comma-separated: threads, subinterpreters, processes.
    #[arg(long, value_delimiter = ',', default_values_t = [ExecutorArg::Threads, ExecutorArg::Subinterpreters, ExecutorArg::Processes])]
    executors: Vec<ExecutorArg>,
    /// A folder of your own recipes (*.py; see docs/stress.md). Repeatable.
    #[arg(long = "recipes")]
    recipe_dirs: Vec<PathBuf>,
    /// Do not use the recipes shipped with ftaudit.
    #[arg(long)]
    no_shipped_recipes: bool,
    /// Skip the generic workloads (concurrent first import, introspection, rejected calls).
    #[arg(long)]
    no_generic: bool,
    /// Also stress the standard-library modules the shipped recipes cover (zlib, hashlib...).
    #[arg(long)]
    stdlib: bool,
    /// Stress only this module (dotted name; with --stdlib also a standard-library one, e.g.
    /// _json). Repeatable.
    #[arg(long)]
    only: Vec<String>,
    /// Write one SVG chart per stressed module (speed-up against workers) into this folder.
    #[arg(long)]
    charts: Option<PathBuf>,
    /// Seconds per distribution for the synthesized tier (its API discovered and called from
    /// many threads; reproducers' runs come on top).
    #[arg(long, default_value_t = 20.0)]
    synth_budget: f64,
    /// Skip the synthesized tier (calls into each package's own public API).
    #[arg(long)]
    no_synthesized: bool,
    /// Run the synthesized tier even where the sandbox could not be set up (it calls arbitrary
    /// package code with your rights).
    #[arg(long)]
    allow_unboxed_synthesis: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum SandboxArg {
    On,
    Off,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
enum ExecutorArg {
    Threads,
    Subinterpreters,
    Processes,
}

impl std::fmt::Display for ExecutorArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            self.to_possible_value()
                .expect("no skipped values")
                .get_name(),
        )
    }
}

impl StressArgs {
    fn options(
        &self,
        memory_limit_mb: Option<u64>,
        sandbox: bool,
    ) -> ftaudit::stress::StressOptions {
        use ftaudit_model::ExecutorKind;
        ftaudit::stress::StressOptions {
            seed: self.seed,
            worker_counts: self.workers.clone(),
            repeats: self.repeats.max(1),
            target_seconds: self.target_seconds.max(0.01),
            timeout: Duration::from_secs_f64(self.stress_timeout.max(1.0)),
            memory_limit_mb,
            executors: self
                .executors
                .iter()
                .map(|e| match e {
                    ExecutorArg::Threads => ExecutorKind::Threads,
                    ExecutorArg::Subinterpreters => ExecutorKind::Subinterpreters,
                    ExecutorArg::Processes => ExecutorKind::Processes,
                })
                .collect(),
            shipped_recipes: !self.no_shipped_recipes,
            recipe_dirs: self.recipe_dirs.clone(),
            generic: !self.no_generic,
            stdlib: self.stdlib,
            only: self.only.clone(),
            python: None,
            sandbox,
            synth_budget: (!self.no_synthesized)
                .then(|| Duration::from_secs_f64(self.synth_budget.max(1.0))),
            allow_unboxed_synthesis: self.allow_unboxed_synthesis,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    /// A CI job summary (`$GITHUB_STEP_SUMMARY`).
    Markdown,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// JUnit XML, for CI test reports.
    Junit,
    /// GitHub Actions annotations (workflow commands).
    Github,
    /// One self-contained HTML page: the colour-coded matrix, search, filters, evidence.
    Html,
}

fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

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
    let matrix = ftaudit::publish::merge(&reports);
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

fn run_diff(args: DiffArgs) -> ExitCode {
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
    let options = ScanOptions {
        path: args.path.clone(),
        static_only: args.static_only,
        probe: ProbeOptions {
            worker: args.worker.clone(),
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
    let workers: Vec<AvailableWorker> = ftaudit_probe::list_workers(Duration::from_secs(60))
        .into_iter()
        .map(|w| AvailableWorker {
            path: w.path,
            problem: w.interpreter.as_ref().err().map(|e| e.to_string()),
            embeds: w.interpreter.ok(),
        })
        .collect();
    let text = match args.format {
        TextOrJson::Json => ftaudit_render::workers_json(&workers),
        TextOrJson::Table => ftaudit_render::workers_table(&workers),
    };
    print!("{text}");
    // No worker, or one that does not start, means no probe can run: "could not check".
    if workers.is_empty() || workers.iter().any(|w| w.embeds.is_none()) {
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
