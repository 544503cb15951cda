//! The standard (GIL) build's question: can the module be used from `InterpreterPoolExecutor`
//! (isolated, own-GIL subinterpreters)? The probe's isolated import decides where it ran; the
//! module's `Py_mod_multiple_interpreters` declaration otherwise.

use ftaudit_model::{
    Finding, FindingCode, ImportOutcome, MultiInterpDeclaration, NativeFile, Severity,
};

use super::{finding, modules::dotted_name, Context};

pub(super) fn interpreter_pool_findings(
    file: &NativeFile,
    context: &Context,
    out: &mut Vec<Finding>,
) {
    if !context.standard_build() {
        return;
    }
    if let Some(dynamic) = &file.dynamic {
        if let Some(outcome) = &dynamic.isolated_subinterpreter {
            if let Some(why) = super::dynamic::subinterpreter_failure(outcome) {
                out.push(refused(
                    &dynamic.module,
                    format!("its import in an isolated subinterpreter failed: {why}"),
                ));
            }
            if !matches!(outcome, ImportOutcome::NotAttempted { .. }) {
                return;
            }
        }
    }
    let Some(facts) = &file.static_facts else {
        return;
    };
    for module in super::own_modules(facts) {
        let why = match module.multiple_interpreters.value {
            MultiInterpDeclaration::NotSupported => "it cannot be imported in any subinterpreter",
            MultiInterpDeclaration::Supported => "it supports shared-GIL subinterpreters only",
            MultiInterpDeclaration::PerInterpreterGil | MultiInterpDeclaration::Undeterminable => {
                continue
            }
        };
        out.push(refused(
            &dotted_name(file, &module.name),
            format!(
                "{why} ({}); from the declaration, not probed",
                module.multiple_interpreters.evidence
            ),
        ));
    }
}

fn refused(module: &str, why: String) -> Finding {
    finding(
        FindingCode::InterpreterPoolUnsupported,
        Severity::Error,
        Some(module),
        format!("cannot be used from InterpreterPoolExecutor on the standard build: {why}"),
    )
}
