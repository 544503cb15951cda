//! `ftaudit workers`: the worker libraries, and what each interpreter asked about would run.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::Table;
use ftaudit_model::WorkerList;

pub fn workers_table(list: &WorkerList) -> String {
    let mut out = String::new();
    if list.workers.is_empty() {
        out.push_str("no worker library found (ftaudit-worker-*.so next to ftaudit or in ../lib/ftaudit; build them with scripts/build.sh, or set FTAUDIT_WORKER_DIR)\n");
    } else {
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED);
        table.set_header(["worker library", "serves CPython"]);
        for worker in &list.workers {
            table.add_row([
                worker.path.display().to_string(),
                match (&worker.serves, &worker.problem) {
                    (Some(abi), _) => abi.clone(),
                    (None, problem) => format!(
                        "unusable: {}",
                        problem.as_deref().unwrap_or("no reason given")
                    ),
                },
            ]);
        }
        out.push_str(&format!("{table}\n"));
    }
    if list.interpreters.is_empty() {
        return out;
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header([
        "interpreter",
        "worker",
        "mode",
        "ran in",
        "GIL off at start",
    ]);
    for check in &list.interpreters {
        let python = check.python.display().to_string();
        let worker = check
            .worker
            .as_ref()
            .map(|w| w.abi.clone())
            .unwrap_or_default();
        let mode = check
            .worker
            .as_ref()
            .map(|w| format!("{}: {}", w.mode.as_str(), w.reason))
            .unwrap_or_default();
        let ran_in = match (&check.embeds, &check.problem) {
            (Some(i), _) => format!("CPython {}{}", i.version, i.abiflags),
            (None, problem) => format!(
                "could not check: {}",
                problem.as_deref().unwrap_or("no reason given")
            ),
        };
        let gil_off = check
            .embeds
            .as_ref()
            .map(|i| yes_no(i.py_gil_disabled && !i.gil_enabled_at_startup).to_string())
            .unwrap_or_default();
        table.add_row([python, worker, mode, ran_in, gil_off]);
    }
    out.push_str(&format!("{table}\n"));
    out
}

pub fn workers_json(list: &WorkerList) -> String {
    let mut text = serde_json::to_string_pretty(list).expect("the worker list always serialises");
    text.push('\n');
    text
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}
