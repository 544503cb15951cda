//! Short cell texts for the table: one word or two, so a row fits a terminal.

use ftaudit_model::{
    AbiTarget, DynamicFacts, GilDeclaration, ImportOutcome, InitStyle, MultiInterpDeclaration,
    StaticModule,
};

pub(crate) fn abi(target: &AbiTarget) -> String {
    match target {
        AbiTarget::FreeThreaded { version } => format!("{version}t"),
        AbiTarget::Default { version } => format!("{version} (GIL)"),
        AbiTarget::Abi3 => "abi3".into(),
        AbiTarget::Abi3t => "abi3t".into(),
        AbiTarget::Unknown => "?".into(),
    }
}

pub(crate) fn init(module: Option<&StaticModule>) -> &'static str {
    match module.map(|m| m.init_style) {
        Some(InitStyle::SinglePhase) => "single",
        Some(InitStyle::MultiPhase) => "multi",
        Some(InitStyle::SlotExport) => "export",
        Some(InitStyle::Undeterminable) | None => "?",
    }
}

pub(crate) fn gil_declared(module: Option<&StaticModule>) -> &'static str {
    match module.map(|m| m.gil.value) {
        Some(GilDeclaration::NotUsed) => "free",
        Some(GilDeclaration::Used) => "NEEDS GIL",
        Some(GilDeclaration::Undeterminable) => "undecidable",
        None => "-",
    }
}

pub(crate) fn interp_declared(module: Option<&StaticModule>) -> &'static str {
    match module.map(|m| m.multiple_interpreters.value) {
        Some(MultiInterpDeclaration::PerInterpreterGil) => "own GIL",
        Some(MultiInterpDeclaration::Supported) => "shared GIL",
        Some(MultiInterpDeclaration::NotSupported) => "no",
        Some(MultiInterpDeclaration::Undeterminable) => "undecidable",
        None => "-",
    }
}

pub(crate) fn outcome(outcome: &ImportOutcome) -> String {
    match outcome {
        ImportOutcome::Ok => "ok".into(),
        ImportOutcome::Error { exception, .. } => exception.clone(),
        ImportOutcome::Crashed {
            signal: Some(signal),
            ..
        } => signal_name(*signal),
        ImportOutcome::Crashed { signal: None, .. } => "CRASHED".into(),
        ImportOutcome::TimedOut { seconds } => format!("HUNG >{seconds}s"),
        ImportOutcome::MemoryLimit { limit_mb } => format!("OOM >{limit_mb}M"),
        ImportOutcome::NotAttempted { .. } => "-".into(),
    }
}

pub(crate) fn gil_runtime(dynamic: &DynamicFacts) -> &'static str {
    match dynamic.requires_gil {
        Some(true) => "RE-ENABLED",
        Some(false) => "stays off",
        None => "-",
    }
}

pub(crate) fn subinterpreters(dynamic: &DynamicFacts) -> String {
    let short = |o: &Option<ImportOutcome>| match o {
        None | Some(ImportOutcome::NotAttempted { .. }) => "-".to_string(),
        Some(ImportOutcome::Ok) => "ok".into(),
        Some(ImportOutcome::Error { .. }) => "fails".into(),
        Some(other) => outcome(other),
    };
    format!(
        "{} / {}",
        short(&dynamic.isolated_subinterpreter),
        short(&dynamic.legacy_subinterpreter)
    )
}

fn signal_name(signal: i32) -> String {
    match signal {
        4 => "SIGILL".into(),
        6 => "SIGABRT".into(),
        7 => "SIGBUS".into(),
        8 => "SIGFPE".into(),
        9 => "SIGKILL".into(),
        11 => "SIGSEGV".into(),
        n => format!("signal {n}"),
    }
}
