//! One run of the Python driver as a contained child (the probe's containment: process group,
//! scratch cwd and HOME, no PYTHON* variables, no network, memory limit), and what it reported.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use ftaudit_model::ExecutorKind;
use ftaudit_probe::contain::{
    marker_token, ChildSpec, ContainedChild, Limits, Message, SandboxOutcome, SandboxSpec,
    RESULT_FD,
};
use ftaudit_probe::{Cancel, StageSplitter};

use crate::protocol::{DriverEvent, DriverRequest};
use crate::StressError;

const DRIVER: &str = include_str!("../python/driver.py");
const CHUNKS: &str = include_str!("../python/ftaudit_stress_worker.py");

/// `PYTHONHASHSEED=0` for every process that runs package code for stress: results are compared
/// across processes (discovery, first use, reproducers), and the repr of a set, a frozenset or a
/// hash map orders str keys by their hash, which is randomised per process otherwise.
pub fn fixed_hash_seed() -> (OsString, OsString) {
    ("PYTHONHASHSEED".into(), "0".into())
}
/// The synthesized tier: discovery, the pattern scripts, and the workload that runs them.
const SYNTH: [(&str, &str); 3] = [
    (
        "ftaudit_synth.py",
        include_str!("../python/ftaudit_synth.py"),
    ),
    (
        "ftaudit_patterns.py",
        include_str!("../python/ftaudit_patterns.py"),
    ),
    (
        "ftaudit_synthesize.py",
        include_str!("../python/ftaudit_synthesize.py"),
    ),
];

/// A recipe as the driver gets it: written to `recipes/<module>.py` in the scratch folder.
#[derive(Debug, Clone)]
pub struct RecipeFile {
    /// Importable name, unique and unlike any real module's (`ftaudit_recipe_numpy`).
    pub module: String,
    pub source: String,
}

pub struct DriverSetup<'a> {
    pub python: &'a Path,
    pub site_dirs: &'a [PathBuf],
    pub recipes: &'a [RecipeFile],
    pub limits: Limits,
    /// The box: the module's code runs in the driver and in every process it starts.
    pub sandbox: SandboxSpec,
    /// The driver gives up on a stage after this; the parent's own deadline comes later.
    pub stage_timeout: Duration,
    pub cancel: &'a Cancel,
    /// The executor whose speed-up decides a workload's speed verdict (threads on a
    /// free-threaded build, subinterpreters on a standard one).
    pub speed_executor: ExecutorKind,
}

#[derive(Debug)]
pub enum Ending {
    Done,
    /// The result pipe closed before Done: the driver died (or ended itself after a stuck stage).
    Exited(ExitStatus),
    /// Nothing came for too long and the parent killed it; the CPU it used in its last second.
    Killed {
        cpu_per_second: Option<f64>,
        seconds: f64,
    },
    Cancelled,
}

pub struct DriverRun {
    pub events: Vec<DriverEvent>,
    pub ending: Ending,
    /// (workload, stage) of each Begin, in order: stage n of the output is the n-th entry.
    pub stages: Vec<(String, String)>,
    streams: Vec<StageSplitter>,
    pub garbage: Vec<String>,
    /// What of the box held in this driver.
    pub sandbox: SandboxOutcome,
}

impl DriverRun {
    /// stdout then stderr of the `n`-th stage (1-based; 0 is start-up).
    pub fn stage_output(&self, n: usize) -> String {
        self.streams
            .iter()
            .filter_map(|s| s.text(n as u64))
            .collect::<Vec<_>>()
            .join("")
    }
}

/// Runs the driver on `request` until it is done, dies or stops answering.
pub fn run_driver(
    setup: &DriverSetup<'_>,
    request: &DriverRequest,
) -> Result<DriverRun, StressError> {
    let token = marker_token();
    let mut pth = String::new();
    for dir in setup.site_dirs {
        pth.push_str(
            &std::path::absolute(dir)
                .unwrap_or_else(|_| dir.clone())
                .display()
                .to_string(),
        );
        pth.push('\n');
    }
    // Relative lines of a .pth file resolve against its own folder: paths/.. is the scratch folder.
    pth.push_str("..\n../recipes\n");
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![
        ("driver.py".into(), DRIVER.as_bytes().to_vec()),
        (
            "ftaudit_stress_worker.py".into(),
            CHUNKS.as_bytes().to_vec(),
        ),
        ("paths/ftaudit.pth".into(), pth.into_bytes()),
        (
            "request.json".into(),
            serde_json::to_vec(request).expect("a request serialises"),
        ),
    ];
    for (name, source) in SYNTH {
        files.push((name.into(), source.as_bytes().to_vec()));
    }
    for recipe in setup.recipes {
        files.push((
            format!("recipes/{}.py", recipe.module).into(),
            recipe.source.clone().into_bytes(),
        ));
    }
    // Isolated as `-I` would be (no user site, no script folder on sys.path; the containment
    // removes every PYTHON* variable) but reading the environment, so that the one variable
    // set here holds: a fixed hash seed, the same in the driver that records the expected
    // results and in every fresh process that checks them (set and dict orders in reprs).
    let args: Vec<OsString> = [
        "-s",
        "-P",
        "-S",
        "-B",
        "-X",
        "faulthandler",
        "driver.py",
        "--request",
        "request.json",
        "--result-fd",
    ]
    .iter()
    .map(OsString::from)
    .chain([
        RESULT_FD.to_string().into(),
        "--markers".into(),
        token.clone().into(),
    ])
    .collect();
    let mut child: ContainedChild<DriverEvent> = ContainedChild::spawn(&ChildSpec {
        program: setup.python,
        args,
        files,
        env: vec![fixed_hash_seed()],
        token,
        limits: setup.limits,
        sandbox: setup.sandbox.clone(),
    })
    .map_err(|e| StressError::Spawn(e.to_string()))?;

    // The driver reports at least once per timed run; a stage gets its own timeout twice over
    // (pool start-up, the faulthandler dump, the driver's own one-second CPU sample) before the
    // parent steps in.
    let silence = setup.stage_timeout * 2 + Duration::from_secs(10);
    let mut deadline = Instant::now() + silence.max(Duration::from_secs(60));
    let mut events = Vec::new();
    let mut stages = Vec::new();
    let mut garbage = Vec::new();
    let ending = loop {
        if setup.cancel.requested().is_some() {
            child.kill();
            break Ending::Cancelled;
        }
        let Some(message) = child.next_message(Cancel::slice_until(deadline)) else {
            if Instant::now() < deadline {
                continue;
            }
            let before = child.cpu_ticks();
            std::thread::sleep(Duration::from_secs(1));
            let after = child.cpu_ticks();
            let ticks = clock_ticks_per_second();
            let cpu_per_second = before
                .zip(after)
                .map(|(b, a)| a.saturating_sub(b) as f64 / ticks);
            child.kill();
            break Ending::Killed {
                cpu_per_second,
                seconds: silence.as_secs_f64(),
            };
        };
        match message {
            Message::Event(event) => {
                deadline = Instant::now() + silence;
                if let DriverEvent::Begin { workload, stage } = &event {
                    stages.push((workload.clone(), stage.clone()));
                }
                let done = matches!(event, DriverEvent::Done);
                events.push(event);
                if done {
                    break Ending::Done;
                }
            }
            Message::Garbage(line) => garbage.push(line),
            Message::Eof => {
                let status = child
                    .wait_until(Instant::now() + Duration::from_secs(5))
                    .map_err(|e| StressError::Io(e.to_string()))?;
                match status {
                    Some(status) => break Ending::Exited(status),
                    None => {
                        child.kill();
                        break Ending::Killed {
                            cpu_per_second: None,
                            seconds: 5.0,
                        };
                    }
                }
            }
        }
    };
    if matches!(ending, Ending::Done) {
        // The driver calls os._exit right after Done; one that lingers is simply killed.
        if child
            .wait_until(Instant::now() + Duration::from_secs(10))
            .ok()
            .flatten()
            .is_none()
        {
            child.kill();
        }
    }
    let _ = child.wait();
    let streams = child.finish_output();
    Ok(DriverRun {
        events,
        ending,
        stages,
        streams,
        garbage,
        sandbox: child.sandbox,
    })
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}
