//! The HTML report, opened in a real browser: Debian's headless Chromium, which
//! scripts/test.sh installs. The page loads with no console errors and its script runs; each
//! column's answer comes first with the counts of the JSON; every package's roll-up carries the
//! JSON's verdicts; a link opens one package (its modules and cells); search, the verdict filter
//! and the sort (driven through the URL fragment, as a shared link would) show the expected
//! packages; screenshots are written to target/test-artifacts.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::*;

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("which").arg(name).output() {
            if out.status.success() {
                return PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            }
        }
    }
    panic!("no headless browser: scripts/test.sh installs Debian's chromium (apt-get install chromium)");
}

/// The page's DOM after its script ran, and the browser's console lines.
fn open(page: &Path, fragment: &str, extra: &[&str]) -> (String, Vec<String>) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}{fragment}", page.display()))
        .output()
        .expect("chromium runs");
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), console)
}

fn attribute(dom: &str, name: &str) -> Option<String> {
    let at = dom.find(&format!("{name}=\""))? + name.len() + 2;
    Some(dom[at..].split('"').next()?.to_string())
}

/// The `<tbody>` of one package in the DOM.
fn package_group<'a>(dom: &'a str, name: &str) -> &'a str {
    let start = dom
        .find(&format!("<tbody class=\"pkg\" id=\"pkg-{name}\""))
        .unwrap_or_else(|| panic!("no package {name}"));
    let end = dom[start..]
        .find("</tbody></table></td></tr></tbody>")
        .unwrap()
        + start;
    &dom[start..end]
}

#[test]
fn the_html_matrix_works_in_a_real_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    for set in ["linux-cp314t", "macos-arm64"] {
        let out = run(ftaudit()
            .arg("scan")
            .arg(wheel_sets_dir().join(set))
            .args(["--format", "json"]));
        let path = tmp.path().join(format!("{set}.json"));
        std::fs::write(&path, &out.stdout).unwrap();
        reports.push(path);
    }
    let page = tmp.path().join("matrix.html");
    let out = run(ftaudit()
        .arg("merge")
        .args(&reports)
        .args(["--format", "html", "--output"])
        .arg(&page));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let matrix: ftaudit_model::Matrix =
        serde_json::from_slice(&run(ftaudit().arg("merge").args(&reports)).stdout).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains(" src="),
        "self-contained: nothing to fetch"
    );
    let packages = matrix.packages.len();
    assert!(packages > 50, "{packages} packages");
    assert_eq!(
        html.matches("<tr class=\"module\"").count(),
        matrix.rows.len()
    );

    let (dom, console) = open(&page, "", &["--dump-dom"]);
    assert!(console.is_empty(), "console messages: {console:?}");
    assert_eq!(
        attribute(&dom, "data-ready").as_deref(),
        Some("1"),
        "the page's script ran"
    );
    assert_eq!(attribute(&dom, "data-shown"), Some(packages.to_string()));

    // The answer first, per column, in words and shape, with the counts `merge` decided.
    let first_package = dom.find("<table id=\"packages\"").unwrap();
    for v in &matrix.verdicts {
        let at = dom
            .find(&format!("data-column=\"{}\"", v.column))
            .unwrap_or_else(|| panic!("no answer for {}", v.column));
        assert!(at < first_package, "the answers come before the table");
        let answer = &dom[at..at + dom[at..].find("</div></div>").unwrap()];
        let words = match v.verdict {
            ftaudit_model::PackageVerdict::Ready => "✓ READY",
            ftaudit_model::PackageVerdict::NotReady => "✗ NOT READY",
            ftaudit_model::PackageVerdict::CouldNotCheck => "? COULD NOT CHECK",
        };
        assert!(answer.contains(words), "{answer}");
        assert!(
            answer.contains(&format!(
                "{} not ready, {} could not check, {} ready of {} packages ({} modules)",
                v.not_ready, v.could_not_check, v.ready, v.packages, v.modules
            )),
            "{answer}"
        );
    }
    // Every package's roll-up cells carry the verdicts of the JSON, column by column.
    for package in &matrix.packages {
        let group = package_group(&dom, &package.distribution.to_lowercase());
        let shown: Vec<String> = group
            .split("class=\"roll ")
            .skip(1)
            .map(|c| c.split('"').next().unwrap().to_string())
            .collect();
        let expected: Vec<String> = package
            .cells
            .iter()
            .map(|c| c.verdict.as_str().to_string())
            .collect();
        assert_eq!(shown, expected, "{}", package.distribution);
        assert!(
            group.contains("<tr class=\"modules\" hidden"),
            "closed by default"
        );
    }

    // A link that opens one package: its modules, each with its cells; the others stay closed.
    let (dom, console) = open(&page, "#open=markupsafe", &["--dump-dom"]);
    assert!(console.is_empty(), "{console:?}");
    let group = package_group(&dom, "markupsafe");
    assert!(
        group.contains("<tr class=\"modules\"><td"),
        "opened: {group}"
    );
    assert!(group.contains("aria-expanded=\"true\""));
    let speedups = group
        .split("<tr class=\"module\"")
        .find(|r| r.contains(">markupsafe._speedups<"))
        .expect("markupsafe._speedups row");
    assert_eq!(
        speedups.matches("class=\"cell gil_free").count(),
        2,
        "{speedups}"
    );
    assert!(package_group(&dom, "numpy").contains("<tr class=\"modules\" hidden"));

    // Search and the verdict filter, from the URL as a shared link gives them.
    let (dom, _) = open(&page, "#q=markupsafe", &["--dump-dom"]);
    assert_eq!(attribute(&dom, "data-shown").as_deref(), Some("1"));
    let (dom, _) = open(&page, "#q=_speedups", &["--dump-dom"]);
    assert!(
        attribute(&dom, "data-shown")
            .unwrap()
            .parse::<usize>()
            .unwrap()
            >= 1,
        "a module name finds its package"
    );
    let not_ready = matrix
        .packages
        .iter()
        .filter(|p| {
            p.cells
                .iter()
                .any(|c| c.verdict == ftaudit_model::PackageVerdict::NotReady)
        })
        .count();
    assert!(not_ready > 0);
    let (dom, _) = open(&page, "#verdict=not_ready", &["--dump-dom"]);
    assert_eq!(attribute(&dom, "data-shown"), Some(not_ready.to_string()));

    // Sorted by module count, the package with the most modules comes first.
    let (dom, _) = open(&page, "#sort=modules", &["--dump-dom"]);
    let most = matrix
        .packages
        .iter()
        .max_by_key(|p| {
            matrix
                .rows
                .iter()
                .filter(|r| r.distribution.eq_ignore_ascii_case(&p.distribution))
                .count()
        })
        .unwrap();
    let first = attribute(
        &dom[dom.find("<tbody class=\"pkg\"").unwrap()..],
        "data-name",
    )
    .unwrap();
    assert_eq!(first, most.distribution.to_lowercase());

    // Screenshots, kept with the build output for a reviewer to look at: the page as it opens,
    // worst first, and one package opened.
    let shots = repo_root().join("target/test-artifacts");
    std::fs::create_dir_all(&shots).unwrap();
    for (name, fragment) in [
        ("html-matrix-verdict-first.png", "#sort=verdict"),
        ("html-matrix-package-open.png", "#q=numpy&open=numpy"),
    ] {
        let shot = shots.join(name);
        let _ = std::fs::remove_file(&shot);
        open(
            &page,
            fragment,
            &[
                &format!("--screenshot={}", shot.display()),
                "--window-size=1400,900",
            ],
        );
        let png = std::fs::read(&shot).expect("a screenshot was written");
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{name}: {} bytes",
            png.len()
        );
    }
}

/// A module's evidence on the page: the import, the subinterpreters, the stress verdicts with a
/// speed-up chart drawn from the stress figures; and, against a previous publication, the
/// packages that moved, linked to their rows.
#[test]
fn a_module_row_shows_its_stress_chart_and_the_page_its_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let venv = venv_of(tmp.path(), &["markupsafe-", "msgpack-"]);
    let report = tmp.path().join("stressed.json");
    let out = run(ftaudit()
        .arg("scan")
        .arg(&venv)
        .args(["--stress", "--only", "markupsafe._speedups", "--executors"])
        .args(["threads,processes", "--workers", "1,2", "--repeats", "2"])
        .args(["--target-seconds", "0.05", "--no-synthesized", "--format"])
        .args(["json", "--output"])
        .arg(&report));
    assert!(
        out.status.code().is_some_and(|c| c <= 2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The previous publication: the same venv before msgpack was added to it (a report without
    // its files), so msgpack is new on the page.
    let mut before: ftaudit_model::Report =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    before.files.retain(|f| {
        !f.distribution
            .as_deref()
            .is_some_and(|d| d.eq_ignore_ascii_case("msgpack"))
    });
    let before_path = tmp.path().join("before.json");
    std::fs::write(&before_path, serde_json::to_vec(&before).unwrap()).unwrap();
    let previous = tmp.path().join("previous-matrix.json");
    let out = run(ftaudit()
        .arg("merge")
        .arg(&before_path)
        .arg("--output")
        .arg(&previous));
    assert!(out.status.success());
    let page = tmp.path().join("page.html");
    let out = run(ftaudit()
        .arg("merge")
        .arg(&report)
        .arg("--previous")
        .arg(&previous)
        .args(["--format", "html", "--output"])
        .arg(&page));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (dom, console) = open(&page, "#open=markupsafe", &["--dump-dom"]);
    assert!(console.is_empty(), "{console:?}");
    let about = &dom[dom.find("id=\"about\"").expect("the about line")..];
    assert!(
        about[..about.find("</div>").unwrap()].contains("3.1"),
        "names the interpreter: {about}"
    );
    let changes = &dom[dom.find("id=\"changes\"").expect("the changes section")..];
    let changes = &changes[..changes.find("</div>").unwrap()];
    assert!(
        changes.contains("1 new") && changes.contains("href=\"#open=msgpack\""),
        "{changes}"
    );
    let group = package_group(&dom, "markupsafe");
    let row = group
        .split("<tr class=\"module\"")
        .find(|r| r.contains(">markupsafe._speedups<"))
        .expect("the module row");
    for words in [
        "import: ok",
        "isolated subinterpreter: ",
        "stress: ",
        "  markupsafe: ",
    ] {
        assert!(row.contains(words), "{words:?} in {row}");
    }
    assert!(
        row.contains("<svg") && row.contains("speed-up over 1 worker"),
        "a chart: {row}"
    );
    let shots = repo_root().join("target/test-artifacts");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("html-module-evidence.png");
    let _ = std::fs::remove_file(&shot);
    let wide = "--window-size=1400,1400";
    let _ = open(
        &page,
        "#open=markupsafe",
        &[&format!("--screenshot={}", shot.display()), wide],
    );
    assert!(std::fs::read(&shot).is_ok_and(|p| p.starts_with(b"\x89PNG")));
}
