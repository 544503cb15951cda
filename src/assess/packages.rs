//! Findings that involve the owning distribution: ownership and Free Threading classifiers.

use ftaudit_model::{FindingCode, GilDeclaration, NativeFile, Severity};

use super::{finding, module_for_import, Context};

pub(super) fn package_findings(
    file: &NativeFile,
    context: &Context,
    out: &mut Vec<ftaudit_model::Finding>,
) {
    let Some(dist_name) = file.distribution.as_deref() else {
        if context.expects_records {
            out.push(finding(
                FindingCode::UnownedFile,
                Severity::Note,
                file.module_name.as_deref(),
                format!(
                    "{} is not listed in any RECORD: installed by hand or by a broken installer",
                    file.path
                ),
            ));
        }
        return;
    };
    let Some(dist) = context.distributions.iter().find(|d| d.name == dist_name) else {
        return;
    };
    let Some(level) = dist.free_threading_classifier else {
        return;
    };
    if context.standard_build() {
        // What the classifier claims is tested on a free-threaded build.
        return;
    }
    let static_needs_gil =
        module_for_import(file).is_some_and(|m| m.gil.value == GilDeclaration::Used);
    let runtime_needs_gil = file.dynamic.as_ref().and_then(|d| d.requires_gil);
    if runtime_needs_gil == Some(true) || (runtime_needs_gil.is_none() && static_needs_gil) {
        out.push(finding(
            FindingCode::ClassifierContradicted,
            Severity::Warning,
            file.module_name.as_deref(),
            format!(
                "{} {} declares the Free Threading classifier '{:?}', but this module needs the GIL",
                dist.name, dist.version, level
            ),
        ));
    }
}
