//! The probe's worker process: a [`ContainedChild`] that reads a [`ProbeRequest`] and reports
//! [`WorkerEvent`]s.

use std::ffi::OsString;
use std::path::PathBuf;

use ftaudit_model::protocol::{ProbeRequest, WorkerEvent};

use crate::contain::{marker_token, ChildSpec, ContainedChild, Limits, SandboxSpec, RESULT_FD};
use crate::workers::Worker;
use crate::ProbeError;

pub use crate::contain::Message;

pub type WorkerProcess = ContainedChild<WorkerEvent>;

/// Starts `worker` on `request` (written to `request.json` in its scratch folder).
pub fn spawn_worker(
    worker: &Worker,
    request: &ProbeRequest,
    limits: &Limits,
    sandbox: &SandboxSpec,
) -> Result<WorkerProcess, ProbeError> {
    let token = marker_token();
    let json = serde_json::to_vec(request).expect("a ProbeRequest always serialises");
    let mut args: Vec<OsString> = worker.leading_args.clone();
    args.extend::<[OsString; 6]>([
        "--request".into(),
        "request.json".into(),
        "--result-fd".into(),
        RESULT_FD.to_string().into(),
        "--markers".into(),
        token.clone().into(),
    ]);
    ContainedChild::spawn(&ChildSpec {
        program: &worker.program,
        args,
        files: vec![(PathBuf::from("request.json"), json)],
        env: Vec::new(),
        token,
        limits: *limits,
        sandbox: sandbox.clone(),
    })
}
