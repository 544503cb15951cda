//! Findings from the sandbox: a module whose code ran without every layer of the box says so,
//! once per stage, naming the missing layers. A note by default; `sandbox = "require"` in the
//! policy makes it an error.

use ftaudit_model::{Finding, FindingCode, NativeFile, SandboxReport, SandboxStatus, Severity};

use super::{finding, Context};

pub fn sandbox_findings(file: &NativeFile, context: &Context, findings: &mut Vec<Finding>) {
    let ran = [
        ("imported", file.dynamic.is_some(), context.probe_sandbox),
        ("stressed", file.stress.is_some(), context.stress_sandbox),
    ];
    for (what, ran_code, sandbox) in ran {
        let Some(sandbox) = sandbox.filter(|_| ran_code) else {
            continue;
        };
        if let Some(message) = unboxed(what, sandbox) {
            let module = file
                .dynamic
                .as_ref()
                .map(|d| d.module.as_str())
                .or(file.module_name.as_deref());
            findings.push(finding(
                FindingCode::Unboxed,
                Severity::Note,
                module,
                message,
            ));
        }
    }
}

fn unboxed(what: &str, sandbox: &SandboxReport) -> Option<String> {
    match sandbox.status {
        SandboxStatus::Enforced | SandboxStatus::None => None,
        SandboxStatus::Off => Some(format!(
            "{what} with the sandbox off (--sandbox off): its code could do anything the user can"
        )),
        SandboxStatus::Partial => Some(format!(
            "{what} without these layers of the sandbox: {}",
            sandbox
                .layers
                .iter()
                .filter(|l| !l.enforced)
                .map(|l| format!("{} ({})", l.name, l.detail))
                .collect::<Vec<_>>()
                .join("; ")
        )),
    }
}
