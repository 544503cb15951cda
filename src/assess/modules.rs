//! Findings from each module's own declarations, read statically.

use ftaudit_model::{FindingCode, GilDeclaration, MultiInterpDeclaration, NativeFile, Severity};

use super::{finding, Context};

/// The dotted name of one entry point of a file: the file's package plus the entry point's name.
pub(super) fn dotted_name(file: &NativeFile, entry_name: &str) -> String {
    match file.module_name.as_deref().and_then(|m| m.rsplit_once('.')) {
        Some((package, _)) => format!("{package}.{entry_name}"),
        None => entry_name.to_string(),
    }
}

pub(super) fn static_findings(
    file: &NativeFile,
    context: &Context,
    out: &mut Vec<ftaudit_model::Finding>,
) {
    let facts = match (&file.static_facts, &file.problem) {
        (Some(facts), _) => facts,
        (None, Some(problem)) => {
            out.push(finding(
                FindingCode::UnreadableBinary,
                Severity::Warning,
                file.module_name.as_deref(),
                format!("could not be checked: {}", problem.message),
            ));
            return;
        }
        (None, None) => return,
    };
    let generator = facts.generator.as_ref().map(|g| g.generator);
    for module in super::own_modules(facts) {
        let name = dotted_name(file, &module.name);
        let name = Some(name.as_str());
        // A standard build has the GIL whatever the module declares.
        let gil_value = if context.standard_build() {
            GilDeclaration::NotUsed
        } else {
            module.gil.value
        };
        match gil_value {
            GilDeclaration::Used => {
                let mut f = finding(
                    FindingCode::GilRequired,
                    Severity::Error,
                    name,
                    format!(
                        "does not declare free-threading support: {}",
                        module.gil.evidence
                    ),
                );
                f.fix = Some(ftaudit_static::gil_fix_hint(generator).to_string());
                out.push(f);
            }
            GilDeclaration::Undeterminable => {
                // The probe may settle it; the dynamic rules drop this note when it does.
                out.push(finding(
                    FindingCode::GilUndeterminable,
                    Severity::Note,
                    name,
                    format!(
                        "GIL use not decidable from the binary: {}",
                        module.gil.evidence
                    ),
                ));
            }
            GilDeclaration::NotUsed if !context.standard_build() => {
                if let Some(value) = unusual_gil_slot_value(module) {
                    out.push(finding(
                        FindingCode::GilSlotUnusualValue,
                        Severity::Warning,
                        name,
                        format!(
                            "Py_mod_gil = {value}: 3.13/3.14 read any non-zero value as NOT_USED, \
                             3.15 reads anything but 1 as USED"
                        ),
                    ));
                }
            }
            GilDeclaration::NotUsed => {}
        }
        match module.multiple_interpreters.value {
            MultiInterpDeclaration::NotSupported => out.push(finding(
                FindingCode::SubinterpretersNotSupported,
                Severity::Note,
                name,
                format!(
                    "cannot be imported in subinterpreters: {}",
                    module.multiple_interpreters.evidence
                ),
            )),
            MultiInterpDeclaration::Supported => out.push(finding(
                FindingCode::PerInterpreterGilNotSupported,
                Severity::Note,
                name,
                format!(
                    "shared-GIL subinterpreters only; isolated ones refuse it: {}",
                    module.multiple_interpreters.evidence
                ),
            )),
            MultiInterpDeclaration::PerInterpreterGil | MultiInterpDeclaration::Undeterminable => {}
        }
    }
}

/// Py_mod_gil is slot 4 (Include/moduleobject.h); 0 = USED, 1 = NOT_USED.
fn unusual_gil_slot_value(module: &ftaudit_model::StaticModule) -> Option<u64> {
    let def = module.def.as_ref()?;
    def.slots
        .iter()
        .find(|s| s.id == 4)
        .map(|s| s.value)
        .filter(|&v| v > 1)
}
