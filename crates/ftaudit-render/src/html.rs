//! One self-contained HTML page for a matrix (a merge of reports, or one report), answer first:
//! each column's verdict with the counts that decide it, then one row per distribution with a
//! roll-up cell per column, expanding to its modules and each module's evidence. Search, the
//! verdict filter, the sort order and the open packages live in the URL's fragment
//! (`#q=lxml&verdict=not_ready&sort=modules&open=lxml`), so a link shows the same view. Verdicts
//! are words and shapes as well as colours; printing expands every package. No network at view
//! time: style and script are inline. Only displays what `merge` decided.

use std::fmt::Write as _;

use ftaudit_model::{Matrix, MatrixCell, MatrixChanges, MatrixPackage, MatrixRow, PackageVerdict};

use crate::markup::escape;
use crate::packages::{describe, verdict_words};

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 .3em; }
h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
.meta { color: #555; margin-bottom: 1em; font-size: 12px; }
.answers { display: flex; flex-wrap: wrap; gap: .8em; margin: .5em 0 1em; }
.answer { border: 2px solid #888; border-radius: 4px; padding: .5em .8em; min-width: 18em; }
.answer .big { font-size: 1.3em; font-weight: 600; }
.answer .findings { font-size: 12px; color: #444; max-width: 40em; }
.answer.ready { border-color: #2a7a2a; } .answer.not_ready { border-color: #b00; }
.answer.could_not_check { border-color: #a70; border-style: dashed; }
.controls { margin: 1em 0; display: flex; gap: 1em; align-items: center; flex-wrap: wrap; }
input[type=search] { padding: .3em .5em; width: 22em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; position: sticky; top: 0; }
tr.package > td { background: #fafafa; }
tr.package button { font: inherit; border: 0; background: none; cursor: pointer; padding: 0 .3em 0 0; }
td.roll.ready { background: #e3f5e3; } td.roll.not_ready { background: #fbe0e0; }
td.roll.could_not_check { background: #f4ecd8; }
.verdict { font-weight: 600; white-space: nowrap; }
tr.modules > td { padding: .3em .3em .8em 2em; }
tr.modules[hidden] { display: none; }
td.cell { min-width: 7em; cursor: pointer; }
td.gil_free { background: #d8f3d8; } td.needs_gil { background: #f8d0d0; } td.unknown { background: #eee; }
td.interp_ok { background: #d8e8f8; } td.interp_refused { background: #f8e0c0; }
td.error { outline: 2px solid #c00; outline-offset: -2px; }
td.conflict { background-image: repeating-linear-gradient(45deg, transparent 0 6px, rgba(0,0,0,.08) 6px 12px); }
.evidence { display: none; font-size: 12px; white-space: pre-wrap; color: #333; margin-top: .3em; }
td.open .evidence { display: block; }
#count { color: #555; }
.stress h3 { margin: 1.2em 0 .3em; font-size: 1.05em; }
.stress .verdict-unsafe, .stress .verdict-gil_reenabled { color: #a00; }
.stress .verdict-scales { color: #060; }
.stress table { margin: .3em 0; }
.stress svg { display: block; margin: .3em 0 1em; }
@media print {
  .controls { display: none; }
  tr.modules[hidden] { display: table-row; }
  .evidence { display: block; }
  th { position: static; }
}
"#;

const SCRIPT: &str = r#"
(function () {
  var table = document.getElementById('packages');
  var groups = Array.prototype.slice.call(table.querySelectorAll('tbody.pkg'));
  var q = document.getElementById('q'), verdict = document.getElementById('verdict');
  var sort = document.getElementById('sort'), count = document.getElementById('count');
  var open = {};
  var rank = { not_ready: 0, could_not_check: 1, ready: 2 };
  function readHash() {
    var params = new URLSearchParams(location.hash.slice(1));
    q.value = params.get('q') || '';
    verdict.value = params.get('verdict') || 'all';
    sort.value = params.get('sort') || 'name';
    open = {};
    (params.get('open') || '').split(',').forEach(function (n) { if (n) open[n] = true; });
  }
  function writeHash() {
    var params = new URLSearchParams();
    if (q.value) params.set('q', q.value);
    if (verdict.value !== 'all') params.set('verdict', verdict.value);
    if (sort.value !== 'name') params.set('sort', sort.value);
    var names = Object.keys(open).sort();
    if (names.length) params.set('open', names.join(','));
    history.replaceState(null, '', '#' + params.toString());
    apply();
  }
  function key(g) {
    if (sort.value === 'verdict') return [rank[g.dataset.verdict], g.dataset.name];
    if (sort.value === 'modules') return [-Number(g.dataset.modules), g.dataset.name];
    return [0, g.dataset.name];
  }
  function apply() {
    var text = q.value.trim().toLowerCase(), wanted = verdict.value, shown = 0;
    groups.sort(function (a, b) {
      var ka = key(a), kb = key(b);
      return ka[0] - kb[0] || (ka[1] < kb[1] ? -1 : ka[1] > kb[1] ? 1 : 0);
    });
    groups.forEach(function (g) {
      table.appendChild(g);
      var hit = (!text || g.dataset.search.indexOf(text) >= 0) &&
        (wanted === 'all' || g.dataset.verdicts.split(' ').indexOf(wanted) >= 0);
      g.hidden = !hit;
      var isOpen = !!open[g.dataset.name];
      g.querySelector('tr.modules').hidden = !isOpen;
      g.querySelector('button').textContent = isOpen ? '\u25be' : '\u25b8';
      g.querySelector('button').setAttribute('aria-expanded', String(isOpen));
      if (hit) shown++;
    });
    count.textContent = shown + ' of ' + groups.length + ' packages shown';
    document.body.dataset.shown = String(shown);
  }
  table.addEventListener('click', function (e) {
    var button = e.target.closest('tr.package button');
    if (button) {
      var name = button.closest('tbody').dataset.name;
      if (open[name]) delete open[name]; else open[name] = true;
      writeHash();
      return;
    }
    var cell = e.target.closest('td.cell');
    if (cell) cell.classList.toggle('open');
  });
  q.addEventListener('input', writeHash);
  verdict.addEventListener('change', writeHash);
  sort.addEventListener('change', writeHash);
  window.addEventListener('hashchange', function () { readHash(); apply(); });
  readHash();
  apply();
  document.body.dataset.ready = '1';
})();
"#;

/// The page; `extra` is more HTML placed after the matrix (the stress section of one report).
pub fn html(matrix: &Matrix, title: &str, extra: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{STYLE}</style></head><body>\n<h1>{t}</h1>\n",
        t = escape(title)
    );
    let _ = writeln!(
        out,
        "<div class=\"meta\" id=\"about\">{} packages audited on {}; generated {} by ftaudit {}.</div>",
        matrix.packages.len(),
        escape(&crate::packages::interpreters(matrix).join("; ")),
        escape(&matrix.provenance.generated_at),
        escape(&matrix.tool.version)
    );
    answers(&mut out, matrix);
    if let Some(changes) = &matrix.changes {
        changes_html(&mut out, changes);
    }
    sources(&mut out, matrix);
    out.push_str(
        "<div class=\"controls\"><input id=\"q\" type=\"search\" placeholder=\"search packages and modules\" aria-label=\"search\">\
         <label>show <select id=\"verdict\"><option value=\"all\">all packages</option><option value=\"not_ready\">not ready</option>\
         <option value=\"could_not_check\">could not check</option><option value=\"ready\">ready</option></select></label>\
         <label>sort by <select id=\"sort\"><option value=\"name\">name</option><option value=\"verdict\">verdict (worst first)</option>\
         <option value=\"modules\">modules (most first)</option></select></label>\
         <span id=\"count\" aria-live=\"polite\"></span></div>\n",
    );
    packages_table(&mut out, matrix);
    let _ = write!(out, "{extra}<script>{SCRIPT}</script>\n</body></html>\n");
    out
}

/// The answer first: one box per column, its verdict in words and shape and the counts behind it.
fn answers(out: &mut String, matrix: &Matrix) {
    out.push_str("<div class=\"answers\">\n");
    for v in &matrix.verdicts {
        let (shape, words) = verdict_words(v.verdict);
        let stress = if v.stress_failures > 0 {
            format!(", {} module(s) failed under stress", v.stress_failures)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "<div class=\"answer {cls}\" data-column=\"{col}\" data-verdict=\"{cls}\"><div>{col}</div>\
             <div class=\"big\">{shape} {upper} <small>for {question}</small></div><div>{nr} not ready, {cnc} could not check, {r} ready \
             of {p} packages ({m} modules){stress}</div><div class=\"findings\">{findings}</div></div>",
            cls = v.verdict.as_str(),
            col = escape(&v.column),
            upper = words.to_uppercase(),
            question = v.readiness.describe(),
            nr = v.not_ready,
            cnc = v.could_not_check,
            r = v.ready,
            p = v.packages,
            m = v.modules,
            findings = escape(&crate::packages::column_findings(v)),
        );
    }
    out.push_str("</div>\n");
}

/// Since the previous publication: per column, the counts, then the packages by name.
fn changes_html(out: &mut String, changes: &MatrixChanges) {
    let _ = write!(
        out,
        "<div class=\"changes\" id=\"changes\"><h2>Since the previous publication ({})</h2><ul>",
        escape(&changes.previous_generated_at)
    );
    if changes.columns.is_empty() {
        out.push_str("<li>No package changed verdict, version, or column.</li>");
    }
    for c in &changes.columns {
        let _ = write!(
            out,
            "<li data-column=\"{col}\"><b>{col}</b>: {} became ready, {} regressed, {} new, {} gone, {} updated.",
            c.became_ready.len(),
            c.regressed.len(),
            c.new.len(),
            c.gone.len(),
            c.updated.len(),
            col = escape(&c.column)
        );
        for (title, list) in [
            ("became ready", &c.became_ready),
            ("regressed", &c.regressed),
            ("new", &c.new),
            ("gone", &c.gone),
        ] {
            if list.is_empty() {
                continue;
            }
            let names: Vec<String> = list
                .iter()
                .map(|p| {
                    format!(
                        "<a href=\"#open={id}\">{}</a>",
                        escape(&p.distribution),
                        id = escape(&p.distribution.to_lowercase())
                    )
                })
                .collect();
            let _ = write!(
                out,
                " <span class=\"{title}\">{title}: {}</span>",
                names.join(", ")
            );
        }
        out.push_str("</li>");
    }
    out.push_str("</ul></div>\n");
}

fn sources(out: &mut String, matrix: &Matrix) {
    let sources: Vec<String> = matrix
        .sources
        .iter()
        .map(|s| {
            format!(
                "{} ({}, scanned on {}, ftaudit {}, {})",
                s.path, s.interpreter, s.provenance.host, s.tool_version, s.provenance.generated_at
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "<div class=\"meta\">{} packages, {} modules, from {} report(s): {}</div>",
        matrix.packages.len(),
        matrix.rows.len(),
        matrix.sources.len(),
        escape(&sources.join("; "))
    );
}

/// One `<tbody>` per distribution: its roll-up row, then its modules (hidden until opened).
fn packages_table(out: &mut String, matrix: &Matrix) {
    out.push_str("<table id=\"packages\"><thead><tr><th>package</th>");
    for c in &matrix.columns {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out.push_str("</tr></thead>\n");
    // `merge` rolls distributions up case-insensitively, as their names compare.
    let mut by_distribution: std::collections::HashMap<String, Vec<&MatrixRow>> =
        std::collections::HashMap::new();
    for row in &matrix.rows {
        by_distribution
            .entry(row.distribution.to_lowercase())
            .or_default()
            .push(row);
    }
    for package in &matrix.packages {
        let modules = by_distribution
            .remove(&package.distribution.to_lowercase())
            .unwrap_or_default();
        package_group(out, matrix, package, &modules);
    }
    out.push_str("</table>\n");
}

fn package_group(
    out: &mut String,
    matrix: &Matrix,
    package: &MatrixPackage,
    modules: &[&MatrixRow],
) {
    let mut verdicts: Vec<&str> = package.cells.iter().map(|c| c.verdict.as_str()).collect();
    let worst = package
        .cells
        .iter()
        .map(|c| c.verdict)
        .min_by_key(|v| match v {
            PackageVerdict::NotReady => 0,
            PackageVerdict::CouldNotCheck => 1,
            PackageVerdict::Ready => 2,
        })
        .unwrap_or_default();
    verdicts.sort_unstable();
    verdicts.dedup();
    let search = std::iter::once(package.distribution.as_str())
        .chain(modules.iter().map(|m| m.module.as_str()))
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let name = package.distribution.to_lowercase();
    let _ = write!(
        out,
        "<tbody class=\"pkg\" id=\"pkg-{id}\" data-name=\"{id}\" data-search=\"{search}\" data-verdict=\"{worst}\" \
         data-verdicts=\"{all}\" data-modules=\"{count}\"><tr class=\"package\"><td><button type=\"button\" \
         aria-expanded=\"false\" aria-label=\"show the modules of {dist}\">\u{25b8}</button>{dist}</td>",
        id = escape(&name),
        search = escape(&search),
        worst = worst.as_str(),
        all = verdicts.join(" "),
        count = modules.len(),
        dist = escape(&package.distribution),
    );
    for column in &matrix.columns {
        match package.cells.iter().find(|c| &c.column == column) {
            Some(c) => {
                let (shape, words) = verdict_words(c.verdict);
                let _ = write!(
                    out,
                    "<td class=\"roll {cls}\" data-verdict=\"{cls}\"><span class=\"verdict\">{shape} {words}</span> \
                     <small>{version}</small><br>{what}</td>",
                    cls = c.verdict.as_str(),
                    version = escape(&c.version),
                    what = escape(&describe(c)),
                );
            }
            None => out.push_str("<td></td>"),
        }
    }
    let _ = write!(
        out,
        "</tr><tr class=\"modules\" hidden><td colspan=\"{}\"><table><thead><tr><th>module</th><th>version</th>",
        matrix.columns.len() + 1
    );
    for c in &matrix.columns {
        let _ = write!(out, "<th>{}</th>", escape(c));
    }
    out.push_str("</tr></thead><tbody>");
    for row in modules {
        let _ = write!(
            out,
            "<tr class=\"module\" data-module=\"{m}\"><td>{m}</td><td>{v}</td>",
            m = escape(&row.module),
            v = escape(&row.version)
        );
        for column in &matrix.columns {
            cell_html(
                out,
                &row.module,
                row.cells.iter().find(|c| &c.column == column),
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></td></tr></tbody>\n");
}

fn cell_html(out: &mut String, module: &str, cell: Option<&MatrixCell>) {
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
    let isolated = match (standard, c.isolated_subinterpreter) {
        (false, Some(true)) => "<br><small>isolated subinterpreter: ok</small>",
        (false, Some(false)) => "<br><small>isolated subinterpreter: refused</small>",
        _ => "",
    };
    // Charts are drawn here, from the figures merge copied, only for the few timed workloads.
    let charts: String = c
        .scaling
        .iter()
        .filter_map(|s| crate::chart::matrix_scaling_svg(module, s))
        .collect();
    let crashed = if c.crashed {
        "<br><small>crashed</small>"
    } else {
        ""
    };
    let _ = write!(
        out,
        "<td class=\"{class}\" title=\"click for the evidence\">{label}{}{isolated}{}{crashed}{}<div class=\"evidence\">{}{charts}</div></td>",
        c.import.as_ref().map(|i| format!("<br><small>import: {}</small>", escape(i))).unwrap_or_default(),
        c.stress.as_ref().map(|s| format!("<br><small>stress: {}</small>", escape(s))).unwrap_or_default(),
        if c.errors > 0 { format!("<br><small>{} error(s)</small>", c.errors) } else { String::new() },
        escape(&evidence.join("\n"))
    );
}
