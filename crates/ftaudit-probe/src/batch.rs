//! Drives one worker process through a list of modules, and says how it ended: all done,
//! or which module and stage it died (or hung) in.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use ftaudit_model::protocol::{ImportRecord, ProbeRequest, ProbeStage, WorkerEvent};
use ftaudit_model::{EmbeddedInterpreter, ImportOutcome};

use crate::cancel::Cancel;
use crate::contain::Limits;
use crate::contain::{SandboxOutcome, SandboxSpec};
use crate::output::StageSplitter;
use crate::process::{spawn_worker, Message, WorkerProcess};
use crate::workers::Worker;
use crate::{signal, ProbeError};

/// Start-up (interpreter initialisation, site folders) is not a module's fault, and on a
/// loaded machine it can take a while; it gets at least this long whatever the module timeout.
const MIN_STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

pub struct BatchSpec<'a> {
    pub worker: &'a Worker,
    pub site_dirs: &'a [PathBuf],
    pub subinterpreters: bool,
    pub timeout: Duration,
    pub memory_limit_mb: Option<u64>,
    pub sandbox: &'a SandboxSpec,
    pub cancel: &'a Cancel,
}

/// Where a worker stopped without finishing.
pub struct Failure {
    /// Index into the batch's module list.
    pub index: usize,
    pub stage: ProbeStage,
    pub outcome: ImportOutcome,
}

pub struct BatchResult {
    pub interpreter: EmbeddedInterpreter,
    pub records: Vec<ImportRecord>,
    pub subinterpreters: Vec<(String, ProbeStage, ImportOutcome)>,
    /// Output written straight to fd 1/2 per (module index, stage), stdout first.
    pub raw_output: Vec<(usize, ProbeStage, String)>,
    pub failure: Option<Failure>,
    /// The run was asked to stop: the worker was killed with the module it was on unfinished
    /// (not the module's fault: no failure is recorded).
    pub cancelled: bool,
    /// What of the box held in the worker.
    pub sandbox: SandboxOutcome,
}

struct Stage {
    index: usize,
    stage: ProbeStage,
}

pub fn run_batch(
    spec: &BatchSpec<'_>,
    modules: &[String],
    on_module_done: &mut dyn FnMut(&str),
) -> Result<BatchResult, ProbeError> {
    let request = ProbeRequest {
        site_dirs: spec.site_dirs.to_vec(),
        modules: modules.to_vec(),
        subinterpreters: spec.subinterpreters,
    };
    let limits = Limits {
        memory_limit_mb: spec.memory_limit_mb,
    };
    let mut worker = spawn_worker(spec.worker, &request, &limits, spec.sandbox)?;

    let mut interpreter = None;
    let mut records = Vec::new();
    let mut subs = Vec::new();
    // stages[seq - 1] is the stage the seq-th Begin opened.
    let mut stages: Vec<Stage> = Vec::new();
    let mut next_index = 0usize;
    let mut deadline = Instant::now() + spec.timeout.max(MIN_STARTUP_TIMEOUT);
    let mut garbage = Vec::new();

    let ending = loop {
        if spec.cancel.requested().is_some() {
            worker.kill();
            break Ending::Cancelled;
        }
        let Some(message) = worker.next_message(Cancel::slice_until(deadline)) else {
            if Instant::now() < deadline {
                continue;
            }
            worker.kill();
            break Ending::TimedOut;
        };
        let event = match message {
            Message::Event(event) => event,
            Message::Garbage(line) => {
                garbage.push(line);
                continue;
            }
            Message::Eof => break Ending::Exited,
        };
        match event {
            WorkerEvent::Ready { interpreter: facts } if interpreter.is_none() => {
                interpreter = Some(facts)
            }
            WorkerEvent::Begin { module, stage } => {
                let ready = interpreter.is_some();
                let index = match stage {
                    ProbeStage::Import => {
                        let index = next_index;
                        next_index += 1;
                        // The previous module has nothing left to report.
                        if index > 0 {
                            on_module_done(&modules[index - 1]);
                        }
                        index
                    }
                    // Subinterpreter stages come after every main import of the batch.
                    _ => modules[..next_index]
                        .iter()
                        .position(|m| *m == module)
                        .unwrap_or(usize::MAX),
                };
                if !ready || modules.get(index) != Some(&module) {
                    return Err(protocol(
                        &worker,
                        format!("unexpected Begin for {module:?} ({stage:?})"),
                    ));
                }
                stages.push(Stage { index, stage });
                deadline = Instant::now() + spec.timeout;
            }
            WorkerEvent::Imported(record) => records.push(record),
            WorkerEvent::Subinterpreter {
                module,
                stage,
                outcome,
            } => subs.push((module, stage, outcome)),
            WorkerEvent::Done => {
                if next_index != modules.len() {
                    return Err(protocol(
                        &worker,
                        format!("Done after {next_index} of {} modules", modules.len()),
                    ));
                }
                if next_index > 0 {
                    on_module_done(&modules[next_index - 1]);
                }
                break Ending::Done;
            }
            other => return Err(protocol(&worker, format!("unexpected event {other:?}"))),
        }
    };

    let status = match ending {
        Ending::Done => {
            // _exit follows Done at once; a worker stuck after it is simply killed.
            let status = worker.wait_until(Instant::now() + spec.timeout)?;
            if status.is_none() {
                worker.kill();
                worker.wait()?;
            }
            None
        }
        Ending::TimedOut | Ending::Cancelled => {
            worker.wait()?;
            None
        }
        Ending::Exited => match worker.wait_until(deadline)? {
            Some(status) => Some(status),
            // The result pipe closed but the process lives on: treat it as hung.
            None => {
                worker.kill();
                worker.wait()?;
                None
            }
        },
    };
    let streams = worker.finish_output();

    let cancelled = matches!(ending, Ending::Cancelled);
    let Some(interpreter) = interpreter else {
        if cancelled {
            return Err(ProbeError::Cancelled);
        }
        let reason = match (&ending, status) {
            (Ending::TimedOut, _) => format!(
                "no Ready event within {:?}",
                spec.timeout.max(MIN_STARTUP_TIMEOUT)
            ),
            (_, Some(status)) => describe_exit(status),
            _ => "it closed its result pipe".to_string(),
        };
        let mut output = stage_text(&streams, 0).unwrap_or_default();
        for line in &garbage {
            output.push_str(line);
            output.push('\n');
        }
        return Err(ProbeError::Startup {
            worker: spec.worker.info.library.clone(),
            reason,
            output: tail(&output, 4000),
        });
    };

    let failure = if matches!(ending, Ending::Done | Ending::Cancelled) {
        None
    } else {
        let Some(last) = stages.last() else {
            let reason = match status {
                Some(status) => format!("{} after Ready", describe_exit(status)),
                None => "it stopped responding after Ready".to_string(),
            };
            return Err(ProbeError::Startup {
                worker: spec.worker.info.library.clone(),
                reason,
                output: tail(&stage_text(&streams, 0).unwrap_or_default(), 4000),
            });
        };
        let stage_output = stage_text(&streams, stages.len() as u64).unwrap_or_default();
        let outcome = match status {
            None => ImportOutcome::TimedOut {
                seconds: spec.timeout.as_secs_f64(),
            },
            Some(status) => crashed(status, last.stage, &stage_output, spec.memory_limit_mb),
        };
        Some(Failure {
            index: last.index,
            stage: last.stage,
            outcome,
        })
    };

    let mut raw_output = Vec::new();
    for (i, stage) in stages.iter().enumerate() {
        if let Some(text) = stage_text(&streams, i as u64 + 1) {
            raw_output.push((stage.index, stage.stage, text));
        }
    }
    Ok(BatchResult {
        interpreter,
        records,
        subinterpreters: subs,
        raw_output,
        failure,
        cancelled,
        sandbox: worker.sandbox,
    })
}

enum Ending {
    Done,
    TimedOut,
    /// The run was asked to stop.
    Cancelled,
    /// The result pipe closed before Done.
    Exited,
}

fn protocol(worker: &WorkerProcess, message: String) -> ProbeError {
    ProbeError::Protocol {
        worker: worker.program().to_path_buf(),
        message,
    }
}

/// stdout then stderr of one stage.
fn stage_text(streams: &[StageSplitter], seq: u64) -> Option<String> {
    let parts: Vec<String> = streams.iter().filter_map(|s| s.text(seq)).collect();
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(""))
    }
}

/// The last `max` bytes of `text` (at a character boundary).
pub fn tail(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].to_string()
}

pub fn describe_exit(status: ExitStatus) -> String {
    match (status.signal(), status.code()) {
        (Some(sig), _) => format!("killed by {}", signal::name(sig)),
        (None, Some(code)) => format!("exited with status {code}"),
        (None, None) => "ended for an unknown reason".to_string(),
    }
}

fn stage_label(stage: ProbeStage) -> &'static str {
    match stage {
        ProbeStage::Import => "the main-interpreter import",
        ProbeStage::IsolatedSubinterpreter => "the isolated subinterpreter import",
        ProbeStage::LegacySubinterpreter => "the legacy subinterpreter import",
    }
}

/// Signs in a dying process's output that it ran out of memory (CPython, mimalloc, C++).
pub const OUT_OF_MEMORY_SIGNS: [&str; 5] = [
    "MemoryError",
    "out of memory",
    "Cannot allocate memory",
    "std::bad_alloc",
    "mimalloc: error",
];

fn crashed(
    status: ExitStatus,
    stage: ProbeStage,
    output: &str,
    memory_limit_mb: Option<u64>,
) -> ImportOutcome {
    if let Some(limit_mb) = memory_limit_mb {
        if OUT_OF_MEMORY_SIGNS.iter().any(|sign| output.contains(sign)) {
            return ImportOutcome::MemoryLimit { limit_mb };
        }
    }
    let mut description = format!(
        "worker {} during {}",
        describe_exit(status),
        stage_label(stage)
    );
    // faulthandler (enabled in the worker) names the fault; the first such line is the gist.
    if let Some(line) = output.lines().find(|l| l.starts_with("Fatal Python error")) {
        description.push_str(": ");
        description.push_str(line.trim());
    }
    ImportOutcome::Crashed {
        signal: status.signal(),
        description,
    }
}
