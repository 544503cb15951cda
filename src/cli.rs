//! The command line: every subcommand and flag, as clap parses them. `main.rs` turns them into
//! the library's options; nothing here decides anything.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

/// `ftaudit 0.1.0 (0123456789ab 2026-12-06)`: the version and the commit it was built from.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("FTAUDIT_COMMIT"), ")");

/// Audits native Python extension modules for free-threaded CPython and subinterpreters.
#[derive(Parser)]
#[command(name = "ftaudit", version = VERSION, about)]
#[command(
    after_help = "Exit status: 0 clean, 1 error-level findings, 2 something could not be checked, 3 the scan could not run, 130 / 143 stopped by SIGINT / SIGTERM (the partial report is still written)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Scan a venv, a site-packages folder, a wheel, or a folder of wheels.
    Scan(ScanArgs),
    /// Scan a venv with the probe, then stress every module that imported GIL-free: threads,
    /// subinterpreters and processes, correctness and scaling (`scan --stress`).
    Stress(ScanArgs),
    /// List the probe's worker libraries; with --python, start the one each interpreter would
    /// use and say how it ran.
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
pub struct ReportArgs {
    /// A report written by `ftaudit scan --format json` (any 1.x schema).
    pub report: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// List note-level findings in the table too.
    #[arg(long)]
    pub notes: bool,
}

#[derive(clap::Args)]
pub struct MergeArgs {
    /// JSON reports (any 1.x schema).
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// json (the matrix model) or html (one self-contained page).
    #[arg(long, value_enum, default_value_t = MatrixFormat::Json)]
    pub format: MatrixFormat,
    /// The HTML page's title.
    #[arg(long, default_value = "ftaudit compatibility matrix")]
    pub title: String,
    /// The previous publication's matrix (JSON): what became ready, regressed, appeared or went
    /// away since then goes into the matrix and its summary.
    #[arg(long, value_name = "MATRIX")]
    pub previous: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum MatrixFormat {
    Json,
    Html,
    /// The per-package roll-up, one column per interpreter and platform.
    Markdown,
}

#[derive(clap::Args)]
pub struct DiffArgs {
    /// Two reports, or two merged matrices (`ftaudit merge`): then the packages whose verdict
    /// moved, per column.
    pub old: PathBuf,
    pub new: PathBuf,
    #[arg(long, value_enum, default_value_t = TextOrJson::Table)]
    pub format: TextOrJson,
}

#[derive(clap::Args)]
pub struct WorkersArgs {
    #[arg(long, value_enum, default_value_t = TextOrJson::Table)]
    pub format: TextOrJson,
    /// Also start the worker a scan would use in this interpreter, and say how it ran
    /// (repeatable).
    #[arg(long = "python", value_name = "PYTHON")]
    pub pythons: Vec<PathBuf>,
    /// As `scan --worker-mode`.
    #[arg(long, value_enum, default_value_t = WorkerModeArg::Auto)]
    pub worker_mode: WorkerModeArg,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum TextOrJson {
    Table,
    Json,
}

#[derive(clap::Args)]
pub struct ScanArgs {
    /// venv, site-packages folder, .whl file, folder of .whl files, or native files.
    pub path: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report here instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Read the binaries only; do not import anything.
    #[arg(long)]
    pub static_only: bool,
    /// Worker processes for the import probe.
    #[arg(long, short, default_value_t = default_jobs())]
    pub jobs: usize,
    /// Seconds one module's import may take before it is reported as hung.
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,
    /// Memory limit per worker process, in MiB (0 = none).
    #[arg(long, default_value_t = 8192)]
    pub memory_limit: u64,
    /// Skip the subinterpreter imports.
    #[arg(long)]
    pub no_subinterpreters: bool,
    /// The worker library (default: the one for the interpreter's ABI, ftaudit-worker-X.Y[t].so
    /// next to ftaudit or in ../lib/ftaudit, or $FTAUDIT_WORKER).
    #[arg(long)]
    pub worker: Option<PathBuf>,
    /// How the worker reaches the interpreter: `embedded` loads its shared libpython,
    /// `hosted` runs inside the interpreter itself; `auto` embeds where libpython is shared.
    #[arg(long, value_enum, default_value_t = WorkerModeArg::Auto)]
    pub worker_mode: WorkerModeArg,
    /// The interpreter to probe in (default: the one the venv's pyvenv.cfg names).
    #[arg(long)]
    pub interpreter: Option<PathBuf>,
    /// The box around imported and stressed code (Landlock, seccomp, namespaces, limits).
    /// `off` runs package code with the user's rights: the report says so, and a policy with
    /// `sandbox = "require"` fails the run.
    #[arg(long, value_enum, default_value_t = SandboxArg::On)]
    pub sandbox: SandboxArg,
    /// List note-level findings in the table too.
    #[arg(long)]
    pub notes: bool,
    /// The policy: levels, allowlist, incompleteness (default: ./ftaudit.toml, else
    /// [tool.ftaudit] in ./pyproject.toml, else every finding at its default level).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// An earlier JSON report: findings already in it do not count (matched by fingerprint).
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Scan only shard K of N (by distribution); `ftaudit merge` joins the shards.
    #[arg(long, value_parser = ftaudit::publish::parse_shard)]
    pub shard: Option<ftaudit::publish::Shard>,
    /// An earlier JSON report of the same environment: distributions it holds unchanged (same
    /// ftaudit version, interpreter and stages; same version, native file paths and sizes) keep
    /// its probe and stress results instead of running again.
    #[arg(long, value_name = "REPORT")]
    pub reuse: Option<PathBuf>,
    /// With --reuse: run this distribution again whatever the earlier report holds (its wheel
    /// changed). Repeatable, or comma-separated.
    #[arg(long, value_name = "DIST", value_delimiter = ',', requires = "reuse")]
    pub rescan: Vec<String>,
    #[command(flatten)]
    pub stress: StressArgs,
    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(clap::Args)]
#[command(next_help_heading = "Lock files (requirements.txt, pylock.toml, uv.lock)")]
pub struct LockArgs {
    /// The interpreter to audit the lock for: 3.14t, 3.13t, 3.15t, 3.14...
    #[arg(long)]
    pub python: Option<String>,
    /// Wheel platform tag to audit for (repeatable): manylinux_2_28_x86_64, manylinux_2_28_aarch64,
    /// musllinux_1_2_x86_64, macosx_11_0_arm64, macosx_10_13_x86_64, win_amd64. Default: manylinux
    /// x86_64 and aarch64, macOS arm64 and x86_64, Windows amd64.
    #[arg(long = "platform")]
    pub platforms: Vec<String>,
    /// The index (PEP 691/503 simple API). Default: the lock's, else $PIP_INDEX_URL or
    /// $UV_INDEX_URL, else PyPI.
    #[arg(long)]
    pub index_url: Option<String>,
    /// More indexes (repeatable).
    #[arg(long = "extra-index-url")]
    pub extra_index_urls: Vec<String>,
    /// Use only the cache (~/.cache/ftaudit/lock): anything not there is reported, not fetched.
    #[arg(long)]
    pub offline: bool,
}

#[derive(clap::Args)]
#[command(next_help_heading = "Stress")]
pub struct StressArgs {
    /// After the probe, stress the modules that imported GIL-free (as `ftaudit stress`).
    #[arg(long)]
    pub stress: bool,
    /// Fixes every random choice of the stress stage; the report records it.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker counts to measure, comma-separated (default: 1,2,4 and the usable cores).
    #[arg(long, value_delimiter = ',')]
    pub workers: Option<Vec<usize>>,
    /// Timed rounds per worker count and executor.
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// The 1-worker run of each recipe is calibrated to at least this many seconds.
    #[arg(long, default_value_t = 0.5)]
    pub target_seconds: f64,
    /// Seconds a stress stage may take before it counts as a deadlock or a hang.
    #[arg(long, default_value_t = 20.0)]
    pub stress_timeout: f64,
    /// Executors to compare, comma-separated: threads, subinterpreters, processes.
    #[arg(long, value_delimiter = ',', default_values_t = [ExecutorArg::Threads, ExecutorArg::Subinterpreters, ExecutorArg::Processes])]
    pub executors: Vec<ExecutorArg>,
    /// A folder of your own recipes (*.py; see docs/stress.md). Repeatable.
    #[arg(long = "recipes")]
    pub recipe_dirs: Vec<PathBuf>,
    /// Do not use the recipes shipped with ftaudit.
    #[arg(long)]
    pub no_shipped_recipes: bool,
    /// Skip the generic workloads (concurrent first import, introspection, rejected calls).
    #[arg(long)]
    pub no_generic: bool,
    /// Also stress the standard-library modules the shipped recipes cover (zlib, hashlib...).
    #[arg(long)]
    pub stdlib: bool,
    /// Stress only this module (dotted name; with --stdlib also a standard-library one, e.g.
    /// _json). Repeatable.
    #[arg(long)]
    pub only: Vec<String>,
    /// Write one SVG chart per stressed module (speed-up against workers) into this folder.
    #[arg(long)]
    pub charts: Option<PathBuf>,
    /// Seconds per distribution for the synthesized tier (its API discovered and called from
    /// many threads; reproducers' runs come on top).
    #[arg(long, default_value_t = 20.0)]
    pub synth_budget: f64,
    /// Skip the synthesized tier (calls into each package's own public API).
    #[arg(long)]
    pub no_synthesized: bool,
    /// Run the synthesized tier even where the sandbox could not be set up (it calls arbitrary
    /// package code with your rights).
    #[arg(long)]
    pub allow_unboxed_synthesis: bool,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum WorkerModeArg {
    Auto,
    Embedded,
    Hosted,
}

impl From<WorkerModeArg> for ftaudit_probe::WorkerModeChoice {
    fn from(arg: WorkerModeArg) -> Self {
        match arg {
            WorkerModeArg::Auto => Self::Auto,
            WorkerModeArg::Embedded => Self::Embedded,
            WorkerModeArg::Hosted => Self::Hosted,
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum SandboxArg {
    On,
    Off,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum ExecutorArg {
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
    pub fn options(
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
pub enum Format {
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

pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
