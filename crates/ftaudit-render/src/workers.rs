//! `ftaudit workers`: the probe workers and what each embeds.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use ftaudit_model::AvailableWorker;

pub fn workers_table(workers: &[AvailableWorker]) -> String {
    if workers.is_empty() {
        return "no probe worker found next to ftaudit (build them with scripts/build.sh, or set FTAUDIT_WORKER)\n".into();
    }
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_header([
        "worker",
        "embeds",
        "build",
        "GIL off at start",
        "extension suffix",
    ]);
    for worker in workers {
        let path = worker.path.display().to_string();
        match &worker.embeds {
            Some(i) => table.add_row([
                path,
                format!("CPython {}{}", i.version, i.abiflags),
                if i.py_gil_disabled {
                    "free-threaded".into()
                } else {
                    "standard (GIL): subinterpreter checks".to_string()
                },
                yes_no(i.py_gil_disabled && !i.gil_enabled_at_startup).into(),
                i.ext_suffix.clone(),
            ]),
            None => table.add_row([
                path,
                format!(
                    "does not start: {}",
                    worker.problem.as_deref().unwrap_or("no reason given")
                ),
                String::new(),
                String::new(),
                String::new(),
            ]),
        };
    }
    format!("{table}\n")
}

pub fn workers_json(workers: &[AvailableWorker]) -> String {
    let mut text =
        serde_json::to_string_pretty(workers).expect("the worker list always serialises");
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
