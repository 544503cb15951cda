//! The box the untrusted code ran in: what the probe's workers and the stress stage's drivers
//! were prevented from doing, checked per child process and summed up per stage.

use serde::{Deserialize, Serialize};

/// How a stage's children were boxed (one per stage: `stages.probe.sandbox`, `stages.stress.sandbox`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SandboxReport {
    /// `enforced` when every layer held in every child, `partial` when some did not, `off` when
    /// the user turned the box off (`--sandbox off`), `none` when no child ran package code.
    pub status: SandboxStatus,
    /// The Landlock ABI the kernel offered (0: none). It decides what the filesystem, network and
    /// signal layers can enforce.
    pub landlock_abi: u32,
    /// Child processes counted.
    pub children: usize,
    /// One entry per layer, in a fixed order: filesystem, network, signals, processes, limits,
    /// privileges.
    pub layers: Vec<SandboxLayer>,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SandboxStatus {
    Enforced,
    Partial,
    Off,
    #[default]
    None,
}

/// One kind of confinement, and whether it held for every child of the stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SandboxLayer {
    /// `filesystem`, `network`, `signals`, `processes`, `limits` or `privileges`.
    pub name: String,
    /// True when it was in force in every child.
    pub enforced: bool,
    /// What was enforced, and what the kernel refused.
    pub detail: String,
}

impl SandboxReport {
    /// The layers that were not in force everywhere, by name.
    pub fn missing(&self) -> Vec<&str> {
        self.layers
            .iter()
            .filter(|l| !l.enforced)
            .map(|l| l.name.as_str())
            .collect()
    }
}
