//! Probe modules by hand and print the DynamicRun and DynamicFacts as JSON:
//!
//!     cargo run -p ftaudit-probe --example probe -- [--jobs N] [--timeout S] [--memory-mb M]
//!         [--no-subinterpreters] <site-packages> <module>...

use std::path::PathBuf;
use std::time::Duration;

use ftaudit_probe::{worker_for, ProbeConfig, ProbePlan, SandboxSpec, WorkerModeChoice};

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    // The interpreter named by $FTAUDIT_PYTHON (default: python3.14t on PATH), with the
    // worker for its ABI next to this example.
    let python = std::env::var_os("FTAUDIT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3.14t"));
    let worker = worker_for(
        &python,
        WorkerModeChoice::Auto,
        None,
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| panic!("no worker for {}: {e}", python.display()));
    let sandbox = match ftaudit_probe::describe(&worker, Duration::from_secs(60)) {
        Ok(embedded) => SandboxSpec::for_interpreter(std::path::Path::new(&embedded.base_prefix)),
        Err(e) => panic!("{} does not start: {e}", worker.info.library.display()),
    };
    let mut config = ProbeConfig {
        worker,
        sandbox,
        jobs: 2,
        timeout: Duration::from_secs(30),
        memory_limit_mb: None,
        subinterpreters: true,
        cancel: Default::default(),
    };
    while let Some(flag) = args.peek().filter(|a| a.starts_with("--")).cloned() {
        args.next();
        let mut value = || {
            args.next()
                .unwrap_or_else(|| panic!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--jobs" => config.jobs = value().parse().expect("--jobs N"),
            "--timeout" => {
                config.timeout =
                    Duration::from_secs_f64(value().parse().expect("--timeout SECONDS"))
            }
            "--memory-mb" => {
                config.memory_limit_mb = Some(value().parse().expect("--memory-mb MB"))
            }
            "--no-subinterpreters" => config.subinterpreters = false,
            other => panic!("unknown flag {other}"),
        }
    }
    let site = PathBuf::from(
        args.next()
            .expect("usage: probe [flags] <site-packages> <module>..."),
    );
    let plan = ProbePlan {
        site_dirs: vec![site],
        modules: args.collect(),
    };
    match ftaudit_probe::run(&config, &plan, &|_| {}) {
        Ok((run, facts)) => {
            println!("{}", serde_json::to_string_pretty(&run).unwrap());
            println!("{}", serde_json::to_string_pretty(&facts).unwrap());
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
