//! The rule registry: one entry per stable finding code, with its default severity, what it
//! means and what to do about it. The assessment stage emits findings under these codes, a
//! policy may change their level, and the SARIF, JUnit and Markdown formats describe rules from
//! here, so a code means the same thing everywhere.

use crate::{FindingCode, Severity};

pub struct Rule {
    pub code: FindingCode,
    /// The level a finding gets when no policy says otherwise. Rules that the assessment emits
    /// at several levels (a contradiction is an error, a settled question a note) name the
    /// highest here.
    pub default_severity: Severity,
    /// One line: what the finding says.
    pub summary: &'static str,
    /// What to do about it.
    pub help: &'static str,
    /// The finding says something could not be checked (not that something is wrong).
    pub not_checked: bool,
}

const fn rule(
    code: FindingCode,
    default_severity: Severity,
    summary: &'static str,
    help: &'static str,
) -> Rule {
    Rule {
        code,
        default_severity,
        summary,
        help,
        not_checked: false,
    }
}

const fn unchecked(
    code: FindingCode,
    default_severity: Severity,
    summary: &'static str,
    help: &'static str,
) -> Rule {
    Rule {
        code,
        default_severity,
        summary,
        help,
        not_checked: true,
    }
}

/// Every rule, in the order of `FindingCode`.
pub const RULES: &[Rule] = &[
    unchecked(
        FindingCode::UnreadableBinary,
        Severity::Warning,
        "A native file could not be read or parsed.",
        "Check that the file is complete (not truncated by a download or an extraction) and is an ELF, Mach-O or PE file.",
    ),
    rule(
        FindingCode::GilUndeterminable,
        Severity::Note,
        "The binary alone does not decide whether the module declares free-threading support.",
        "Run the scan with the import probe (a venv of a free-threaded interpreter), which settles it.",
    ),
    rule(
        FindingCode::GilRequired,
        Severity::Error,
        "The module does not declare Py_MOD_GIL_NOT_USED: importing it re-enables the GIL.",
        "Ask the package to declare free-threading support (the fix hint names the way for its binding generator), or keep it off the free-threaded build.",
    ),
    rule(
        FindingCode::GilSlotUnusualValue,
        Severity::Warning,
        "A Py_mod_gil slot value other than 0 or 1: 3.13 and 3.14 read it as NOT_USED, 3.15 as USED.",
        "Use Py_MOD_GIL_NOT_USED (1) exactly.",
    ),
    rule(
        FindingCode::SubinterpretersNotSupported,
        Severity::Note,
        "The module cannot be imported in any subinterpreter (single-phase init or Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED).",
        "Port the module to multi-phase init with per-module state if subinterpreters matter to you.",
    ),
    rule(
        FindingCode::PerInterpreterGilNotSupported,
        Severity::Note,
        "Only shared-GIL (legacy) subinterpreters can import the module; isolated ones with their own GIL refuse it.",
        "Declare Py_MOD_PER_INTERPRETER_GIL_SUPPORTED once the module keeps no process-wide state.",
    ),
    rule(
        FindingCode::AbiMismatch,
        Severity::Error,
        "The file is built for another interpreter than the scanned environment's.",
        "Install the wheel built for this interpreter (its cp3XYt tag), or rebuild.",
    ),
    rule(
        FindingCode::SuffixContradictsBinary,
        Severity::Error,
        "The file name says one ABI and the binary another.",
        "Rebuild the extension; a renamed file loads into an interpreter it was not built for.",
    ),
    rule(
        FindingCode::ClassifierContradicted,
        Severity::Warning,
        "The package claims a Free Threading classifier that its modules contradict.",
        "Fix the modules or the classifier in the package's metadata.",
    ),
    rule(
        FindingCode::UnownedFile,
        Severity::Warning,
        "A native file that no RECORD claims: no installer put it there.",
        "Find where it came from; reinstall the environment from its lock if unsure.",
    ),
    rule(
        FindingCode::ImportFailed,
        Severity::Error,
        "Importing the module raised.",
        "Read the exception in the report; a missing dependency or a module that cannot be imported on its own are common causes.",
    ),
    unchecked(
        FindingCode::ImportCrashed,
        Severity::Error,
        "The import crashed its worker process (a signal or an abnormal exit).",
        "Reproduce with `python -X faulthandler -c 'import <module>'` on the same interpreter and report it upstream.",
    ),
    unchecked(
        FindingCode::ImportTimedOut,
        Severity::Error,
        "The import did not finish within the timeout.",
        "Raise --timeout if the import is merely slow; otherwise it hangs (a deadlock at import).",
    ),
    unchecked(
        FindingCode::ImportMemoryLimit,
        Severity::Error,
        "The import exceeded the worker's memory limit.",
        "Raise --memory-limit if the module really needs that much at import.",
    ),
    rule(
        FindingCode::GilReenabled,
        Severity::Error,
        "CPython re-enabled the GIL to load this module.",
        "The module (or one it loads) does not declare free-threading support; see its gil-required finding.",
    ),
    rule(
        FindingCode::IsolatedSubinterpreterFailed,
        Severity::Warning,
        "The import failed in an isolated (own-GIL) subinterpreter.",
        "Only matters if you run this package in subinterpreters (concurrent.interpreters, InterpreterPoolExecutor).",
    ),
    rule(
        FindingCode::LegacySubinterpreterFailed,
        Severity::Warning,
        "The import failed in a legacy (shared-GIL) subinterpreter.",
        "Only matters if you run this package in subinterpreters.",
    ),
    rule(
        FindingCode::StaticDynamicMismatch,
        Severity::Error,
        "What the binary declares and what the import did disagree (a note when the import settled what the binary left open).",
        "An error here means a declaration CPython does not honour: report it with both verdicts' evidence.",
    ),
    rule(
        FindingCode::StressUnsafe,
        Severity::Error,
        "Used from several threads (or subinterpreters, or processes) at once, the module gave wrong results, crashed, deadlocked or hung.",
        "Replay the run with the seed the report names, report it to the package with the failure's evidence, and do not share the module between threads until it is fixed.",
    ),
    rule(
        FindingCode::StressGilReenabled,
        Severity::Error,
        "The module imports without the GIL, but using it brought the GIL back (a module it imports later needs it).",
        "The module named in the evidence needs to declare free-threading support; until then the process runs with the GIL.",
    ),
    rule(
        FindingCode::StressSlowsDown,
        Severity::Warning,
        "More threads made the module's workload slower than one thread.",
        "Look for contention (a lock, a shared reference count, false sharing) in the module; processes or subinterpreters may do better, see the table.",
    ),
    rule(
        FindingCode::StressSerialises,
        Severity::Warning,
        "The module's workload ran no faster with more threads: it takes turns, likely on one lock around every call.",
        "Threads will not speed this module up; compare subinterpreters and processes in the table, or ask the package about finer locking.",
    ),
    rule(
        FindingCode::StressCrash,
        Severity::Error,
        "Calls into the package's own API from several threads crashed or hung the process; alone they do not.",
        "Run the reproducer in the finding with the environment's python to see it; report it to the package with the script, or keep this package off free-threaded builds until fixed.",
    ),
    rule(
        FindingCode::StressCorruption,
        Severity::Error,
        "Under threads the package raised an internal error (SystemError, MemoryError, a failed assertion or a Rust panic): its state broke.",
        "Run the reproducer in the finding; the package needs a lock (or per-thread state) around what the failing call touches.",
    ),
    rule(
        FindingCode::StressWrongResult,
        Severity::Error,
        "Under threads a call of the package gave another result than alone, or raised where alone it did not.",
        "Run the reproducer in the finding; look for process-global state, static buffers or lazily built tables in the package.",
    ),
    rule(
        FindingCode::StressNotShareable,
        Severity::Warning,
        "One object of the package used from several threads at once raised a clean error (for example \"already borrowed\"): it is not meant to be shared.",
        "Give each thread its own object, or guard a shared one with a lock; the package may document this.",
    ),
    rule(
        FindingCode::InterpreterPoolUnsupported,
        Severity::Error,
        "On the standard (GIL) build, isolated subinterpreters (InterpreterPoolExecutor, concurrent.interpreters) refuse the module: the probe's isolated import failed, or, without a probe, the module does not declare Py_MOD_PER_INTERPRETER_GIL_SUPPORTED.",
        "Use threads or processes for this package, or ask it to port to multi-phase init with per-module state and declare Py_MOD_PER_INTERPRETER_GIL_SUPPORTED.",
    ),
    rule(
        FindingCode::Unboxed,
        Severity::Note,
        "The module's code ran (imported or stressed) without every layer of the sandbox: it could reach what the missing layers guard.",
        "Run on a kernel with Landlock (ABI 6 or later confines signals too) and user namespaces, or keep `--sandbox on`; a policy with `sandbox = \"require\"` makes this an error.",
    ),
    rule(
        FindingCode::AllowlistExpired,
        Severity::Error,
        "An allowlist entry has expired: the findings it covered count again.",
        "Remove the entry, or extend `expires` with a reason that still holds.",
    ),
];

impl FindingCode {
    pub fn rule(self) -> &'static Rule {
        RULES.iter().find(|r| r.code == self).unwrap_or(&RULES[0])
    }

    /// The code a policy or allowlist names, e.g. "gil-required".
    pub fn from_name(name: &str) -> Option<FindingCode> {
        RULES.iter().map(|r| r.code).find(|c| c.as_str() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_rule_in_order() {
        assert_eq!(
            RULES.len(),
            FindingCode::AllowlistExpired as usize + 1,
            "a code without a rule"
        );
        for (i, r) in RULES.iter().enumerate() {
            assert_eq!(r.code as usize, i, "{} is out of order", r.code.as_str());
            assert_eq!(FindingCode::from_name(r.code.as_str()), Some(r.code));
            assert!(
                r.summary.ends_with('.') && r.help.ends_with('.'),
                "{}",
                r.code.as_str()
            );
        }
        assert_eq!(FindingCode::from_name("no-such-code"), None);
    }
}
