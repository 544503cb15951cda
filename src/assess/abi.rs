//! Findings from the ABI a file was built for, against the scanned environment's interpreter.

use ftaudit_model::{AbiTarget, FileKind, FindingCode, InitStyle, NativeFile, Severity};

use super::{finding, Context};

pub(super) fn abi_findings(
    file: &NativeFile,
    context: &Context,
    out: &mut Vec<ftaudit_model::Finding>,
) {
    let Some(facts) = &file.static_facts else {
        return;
    };
    if facts.kind != FileKind::ExtensionModule {
        return;
    }
    let name = file.module_name.as_deref();
    let abi = &facts.abi;
    if let (AbiTarget::FreeThreaded { .. }, AbiTarget::Default { .. }) =
        (&abi.from_suffix, &abi.from_binary)
    {
        out.push(finding(
            FindingCode::SuffixContradictsBinary,
            Severity::Error,
            name,
            format!(
                "the file name says free-threaded but the binary was built for a default (GIL) build ({})",
                abi.binary_evidence
            ),
        ));
    }
    let Some(interpreter) = context.interpreter else {
        return;
    };
    let wanted_minor: String = interpreter
        .version
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    let env = format!(
        "{}{}",
        wanted_minor,
        if interpreter.free_threaded { "t" } else { "" }
    );
    let single_phase = facts
        .modules
        .iter()
        .any(|m| m.init_style == InitStyle::SinglePhase);
    let mismatch = match &abi.conclusion {
        AbiTarget::FreeThreaded { version }
            if !interpreter.free_threaded || *version != wanted_minor =>
        {
            Some(format!("built for {version}t, the environment runs {env}"))
        }
        AbiTarget::Default { version } if interpreter.free_threaded || *version != wanted_minor => {
            Some(format!(
                "built for a default (GIL) {version} build, the environment runs {env}"
            ))
        }
        AbiTarget::Abi3 if interpreter.free_threaded => Some(format!(
            "built for the stable ABI (abi3), which free-threaded {env} cannot load"
        )),
        _ => None,
    };
    let Some(what) = mismatch else { return };
    let consequence = if suffix_matches_environment(
        &abi.from_suffix,
        &wanted_minor,
        interpreter.free_threaded,
    ) {
        if single_phase {
            "its name makes CPython load it, and a single-phase init built for another layout crashes the process"
        } else {
            "its name makes CPython load it, and the import fails with SystemError \
             (init function returned uninitialized object)"
        }
    } else {
        "CPython will not find it under this name (ModuleNotFoundError), so it is dead weight or a packaging mistake"
    };
    out.push(finding(
        FindingCode::AbiMismatch,
        Severity::Error,
        name,
        format!("{what}: {consequence}"),
    ));
}

/// Whether the environment's interpreter would pick the file up by its suffix. A plain `.so` /
/// `.pyd` suffix is always accepted.
fn suffix_matches_environment(suffix: &AbiTarget, minor: &str, free_threaded: bool) -> bool {
    match suffix {
        AbiTarget::FreeThreaded { version } => free_threaded && version == minor,
        AbiTarget::Default { version } => !free_threaded && version == minor,
        AbiTarget::Abi3 => true,
        AbiTarget::Abi3t => free_threaded,
        AbiTarget::Unknown => true,
    }
}
