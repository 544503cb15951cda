//! One self-contained HTML page for a matrix (a merge of reports, or one report): colour-coded
//! cells, a search box and a status filter, each cell's evidence on click. No network at view
//! time: the style and the script are inline. The filter state lives in the URL's fragment
//! (`#q=lxml&status=needs_gil`), so a link shows the same view.

use std::fmt::Write as _;

use ftaudit_model::{Matrix, MatrixCell};

use crate::markup::escape;

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 .3em; }
.meta { color: #555; margin-bottom: 1em; }
.controls { margin: 1em 0; display: flex; gap: 1em; align-items: center; }
input[type=search] { padding: .3em .5em; width: 22em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; position: sticky; top: 0; }
td.cell { min-width: 7em; cursor: pointer; }
td.gil_free { background: #d8f3d8; }
td.needs_gil { background: #f8d0d0; }
td.unknown { background: #eee; }
td.interp_ok { background: #d8e8f8; }
td.interp_refused { background: #f8e0c0; }
td.error { outline: 2px solid #c00; outline-offset: -2px; }
td.conflict { background-image: repeating-linear-gradient(45deg, transparent 0 6px, rgba(0,0,0,.08) 6px 12px); }
.evidence { display: none; font-size: 12px; white-space: pre-wrap; color: #333; margin-top: .3em; }
td.open .evidence { display: block; }
.legend span { padding: .1em .5em; margin-right: .5em; border: 1px solid #ccc; }
#count { color: #555; }
.stress h3 { margin: 1.2em 0 .3em; font-size: 1.05em; }
.stress .verdict-unsafe, .stress .verdict-gil_reenabled { color: #a00; }
.stress .verdict-scales { color: #060; }
.stress table { margin: .3em 0; }
.stress svg { display: block; margin: .3em 0 1em; }
"#;

const SCRIPT: &str = r#"
(function () {
  // The module rows (the packages table above them is not filtered).
  var rows = Array.prototype.slice.call(document.querySelectorAll('tbody tr[data-search]'));
  var q = document.getElementById('q'), status = document.getElementById('status');
  var count = document.getElementById('count');
  function readHash() {
    var params = new URLSearchParams(location.hash.slice(1));
    q.value = params.get('q') || '';
    status.value = params.get('status') || 'all';
  }
  function apply() {
    var text = q.value.trim().toLowerCase(), wanted = status.value, shown = 0;
    rows.forEach(function (row) {
      var matchesText = !text || row.dataset.search.indexOf(text) >= 0;
      var matchesStatus = wanted === 'all' || row.dataset.status.split(' ').indexOf(wanted) >= 0;
      row.hidden = !(matchesText && matchesStatus);
      if (!row.hidden) shown++;
    });
    count.textContent = shown + ' of ' + rows.length + ' modules shown';
    document.body.dataset.shown = String(shown);
  }
  function writeHash() {
    var params = new URLSearchParams();
    if (q.value) params.set('q', q.value);
    if (status.value !== 'all') params.set('status', status.value);
    history.replaceState(null, '', '#' + params.toString());
    apply();
  }
  q.addEventListener('input', writeHash);
  status.addEventListener('change', writeHash);
  window.addEventListener('hashchange', function () { readHash(); apply(); });
  document.querySelectorAll('td.cell').forEach(function (td) {
    td.addEventListener('click', function () { td.classList.toggle('open'); });
  });
  readHash();
  apply();
  document.body.dataset.ready = '1';
})();
"#;

/// One row per distribution, one roll-up cell per column (what `merge` counted).
fn package_table(out: &mut String, matrix: &Matrix) {
    out.push_str("<h2>Packages</h2>\n<table class=\"packages\"><thead><tr><th>distribution</th>");
    for c in &matrix.columns {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out.push_str("</tr></thead><tbody>\n");
    for package in &matrix.packages {
        let _ = write!(out, "<tr><td>{}</td>", escape(&package.distribution));
        for column in &matrix.columns {
            match package.cells.iter().find(|c| &c.column == column) {
                Some(c) => {
                    let _ = write!(
                        out,
                        "<td>{} {}</td>",
                        escape(&c.version),
                        escape(&crate::packages::describe(c))
                    );
                }
                None => out.push_str("<td></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

fn cell_html(out: &mut String, cell: Option<&MatrixCell>) {
    let Some(c) = cell else {
        out.push_str("<td></td>");
        return;
    };
    // A standard build's column answers the subinterpreter question instead of the GIL one.
    let standard = c.gil == "not_applicable";
    let mut class = format!("cell {}", c.gil);
    if standard {
        class.push_str(match c.isolated_subinterpreter {
            Some(true) => " interp_ok",
            Some(false) => " interp_refused",
            None => "",
        });
    }
    if c.errors > 0 {
        class.push_str(" error");
    }
    if !c.conflicts.is_empty() {
        class.push_str(" conflict");
    }
    let label = match (c.gil.as_str(), c.isolated_subinterpreter) {
        ("gil_free", _) => "GIL-free",
        ("needs_gil", _) => "needs GIL",
        ("not_applicable", Some(true)) => "subinterpreters ok",
        ("not_applicable", Some(false)) => "subinterpreters refuse it",
        ("not_applicable", None) => "GIL build, not probed",
        _ => "unknown",
    };
    let mut evidence: Vec<String> = c.evidence.clone();
    for conflict in &c.conflicts {
        evidence.push(format!("conflict: {conflict}"));
    }
    let _ = write!(
        out,
        "<td class=\"{class}\" title=\"click for the evidence\">{label}{}{}<div class=\"evidence\">{}</div></td>",
        c.import.as_ref().map(|i| format!("<br><small>import: {}</small>", escape(i))).unwrap_or_default(),
        if c.errors > 0 { format!("<br><small>{} error(s)</small>", c.errors) } else { String::new() },
        escape(&evidence.join("\n"))
    );
}

/// The matrix as one HTML document.
/// The page; `extra` is more HTML placed after the matrix (the stress section of one report).
pub fn html(matrix: &Matrix, title: &str, extra: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body>\n<h1>{t}</h1>\n",
        t = escape(title)
    );
    let sources: Vec<String> = matrix
        .sources
        .iter()
        .map(|s| {
            format!(
                "{} ({}, {}, ftaudit {}, {})",
                s.path, s.interpreter, s.provenance.host, s.tool_version, s.provenance.generated_at
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "<div class=\"meta\">{} modules from {} report(s): {}</div>",
        matrix.rows.len(),
        matrix.sources.len(),
        escape(&sources.join("; "))
    );
    out.push_str(
        "<div class=\"controls\"><input id=\"q\" type=\"search\" placeholder=\"search distributions and modules\">\
         <select id=\"status\"><option value=\"all\">all modules</option><option value=\"gil_free\">GIL-free</option>\
         <option value=\"needs_gil\">needs the GIL</option><option value=\"unknown\">unknown</option>\
         <option value=\"error\">with errors</option><option value=\"conflict\">with conflicts</option></select>\
         <span id=\"count\"></span></div>\n",
    );
    out.push_str("<div class=\"legend\"><span class=\"gil_free\" style=\"background:#d8f3d8\">GIL-free</span><span style=\"background:#f8d0d0\">needs GIL</span><span style=\"background:#eee\">unknown</span> red outline: error findings; hatched: reports disagree</div>\n");
    package_table(&mut out, matrix);
    out.push_str(
        "<h2>Modules</h2>\n<table><thead><tr><th>distribution</th><th>version</th><th>module</th>",
    );
    for c in &matrix.columns {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in &matrix.rows {
        let mut status: Vec<&str> = row.cells.iter().map(|c| c.gil.as_str()).collect();
        if row.cells.iter().any(|c| c.errors > 0) {
            status.push("error");
        }
        if row.cells.iter().any(|c| !c.conflicts.is_empty()) {
            status.push("conflict");
        }
        status.sort_unstable();
        status.dedup();
        let _ = write!(
            out,
            "<tr data-search=\"{}\" data-status=\"{}\"><td>{}</td><td>{}</td><td>{}</td>",
            escape(&format!("{} {}", row.distribution, row.module).to_lowercase()),
            status.join(" "),
            escape(&row.distribution),
            escape(&row.version),
            escape(&row.module)
        );
        for column in &matrix.columns {
            cell_html(&mut out, row.cells.iter().find(|c| &c.column == column));
        }
        out.push_str("</tr>\n");
    }
    let _ = write!(
        out,
        "</tbody></table>\n{extra}<script>{SCRIPT}</script>\n</body></html>\n"
    );
    out
}
