//! `ftaudit workers`: the worker libraries this ftaudit has, and for each interpreter asked
//! about, the worker and mode a scan would use there, started once to show it runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ftaudit_model::{AvailableWorker, InterpreterCheck, WorkerList};
use ftaudit_probe::{HostInterpreter, WorkerModeChoice};

pub fn list(pythons: &[PathBuf], mode: WorkerModeChoice, timeout: Duration) -> WorkerList {
    let workers = ftaudit_probe::worker_files()
        .into_iter()
        .map(|path| match ftaudit_probe::worker_abi(&path) {
            Ok(serves) => AvailableWorker {
                path,
                serves: Some(serves),
                problem: None,
            },
            Err(problem) => AvailableWorker {
                path,
                serves: None,
                problem: Some(problem),
            },
        })
        .collect();
    let interpreters = pythons
        .iter()
        .map(|python| check(python, mode, timeout))
        .collect();
    WorkerList {
        workers,
        interpreters,
    }
}

fn check(python: &Path, mode: WorkerModeChoice, timeout: Duration) -> InterpreterCheck {
    let mut result = InterpreterCheck {
        python: python.to_path_buf(),
        worker: None,
        embeds: None,
        problem: None,
    };
    let planned = HostInterpreter::inspect(python, timeout)
        .and_then(|host| ftaudit_probe::plan(&host, mode, None));
    match planned {
        Ok(worker) => {
            match ftaudit_probe::describe(&worker, timeout) {
                Ok(embeds) => result.embeds = Some(embeds),
                Err(e) => result.problem = Some(format!("the worker failed to start: {e}")),
            }
            result.worker = Some(worker.info);
        }
        Err(problem) => result.problem = Some(problem),
    }
    result
}
