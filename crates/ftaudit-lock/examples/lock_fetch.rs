//! Drives `ftaudit_lock::fetch` from the command line and prints JSON stats (for
//! benches/lock.sh, and to try a lock by hand):
//!
//!     cargo run --release -p ftaudit-lock --example lock_fetch -- LOCK \
//!         [--python 3.14t] [--platform TAG]... [--index-url URL] [--extra-index-url URL]... \
//!         [--cache DIR] [--out DIR] [--offline] [--jobs N] [--full]
//!
//! Without --platform the default targets are used. --full prints the whole result.

use std::path::PathBuf;
use std::time::Instant;

use ftaudit_lock::{
    default_platforms, fetch, parse_lock, FetchOptions, Platform, PythonTarget, Target,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut lock_path = None;
    let mut python: PythonTarget = "3.14t".parse().expect("default python");
    let mut platforms: Vec<Platform> = Vec::new();
    let mut options = FetchOptions::default();
    let mut full = false;
    let value = |args: &mut dyn Iterator<Item = String>, flag: &str| {
        args.next()
            .unwrap_or_else(|| die(&format!("{flag} needs a value")))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--python" => {
                python = value(&mut args, "--python")
                    .parse()
                    .unwrap_or_else(|e: String| die(&e))
            }
            "--platform" => platforms.push(
                value(&mut args, "--platform")
                    .parse()
                    .unwrap_or_else(|e: String| die(&e)),
            ),
            "--index-url" => options.index_url = Some(value(&mut args, "--index-url")),
            "--extra-index-url" => options
                .extra_index_urls
                .push(value(&mut args, "--extra-index-url")),
            "--cache" => options.cache_dir = PathBuf::from(value(&mut args, "--cache")),
            "--out" => options.out_dir = Some(PathBuf::from(value(&mut args, "--out"))),
            "--jobs" => {
                options.jobs = value(&mut args, "--jobs")
                    .parse()
                    .unwrap_or_else(|_| die("--jobs needs a number"))
            }
            "--offline" => options.offline = true,
            "--full" => full = true,
            other if other.starts_with('-') => die(&format!("unknown option {other}")),
            other => lock_path = Some(PathBuf::from(other)),
        }
    }
    let lock_path = lock_path
        .unwrap_or_else(|| die("usage: lock_fetch LOCK [--python 3.14t] [--platform TAG]..."));
    let lock = parse_lock(&lock_path).unwrap_or_else(|e| die(&e.to_string()));
    if platforms.is_empty() {
        platforms = default_platforms();
    }
    let targets: Vec<Target> = platforms
        .into_iter()
        .map(|p| Target::new(python, p))
        .collect();
    let started = Instant::now();
    let result = fetch(&lock, &targets, &options);
    let seconds = started.elapsed().as_secs_f64();
    if full {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).expect("serialisable")
        );
        return;
    }
    let per_target: Vec<serde_json::Value> = result
        .targets
        .iter()
        .map(|t| {
            serde_json::json!({
                "target": t.target.name(),
                "wheels_dir": t.wheels_dir,
                "picked": t.picked.len(),
                "whole_downloads": t.picked.iter().filter(|p| p.whole_download).count(),
                "from_cache": t.picked.iter().filter(|p| p.from_cache).count(),
                "pure": t.pure.len(),
                "not_applicable": t.not_applicable.len(),
                "missing": t.missing.iter().map(|m| serde_json::json!({"name": m.name, "version": m.version, "reason": m.reason.to_string()})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let stats = serde_json::json!({
        "lock": lock_path,
        "pins": lock.pins.len(),
        "seconds": seconds,
        "requests": result.requests,
        "bytes_read": result.bytes_read,
        "index_bytes_read": result.index_bytes_read,
        "wheel_bytes_read": result.wheel_bytes_read,
        "picked_wheel_bytes": result.picked_wheel_bytes,
        "targets": per_target,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&stats).expect("serialisable")
    );
}

fn die(message: &str) -> ! {
    eprintln!("lock_fetch: {message}");
    std::process::exit(2);
}
