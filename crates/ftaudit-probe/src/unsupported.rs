//! Where there are no Unix process groups, rlimits or namespaces to contain workers with.

use ftaudit_model::{DynamicFacts, DynamicRun, EmbeddedInterpreter};

use crate::{ProbeConfig, ProbeError, ProbePlan, ProbeProgress};

pub fn embedded_interpreter(_config: &ProbeConfig) -> Result<EmbeddedInterpreter, ProbeError> {
    Err(ProbeError::Unsupported)
}

pub fn run(
    _config: &ProbeConfig,
    _plan: &ProbePlan,
    _progress: &(dyn Fn(ProbeProgress) + Sync),
) -> Result<(DynamicRun, Vec<DynamicFacts>), ProbeError> {
    Err(ProbeError::Unsupported)
}
