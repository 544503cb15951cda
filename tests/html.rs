//! The HTML report (issue 12), opened in a real browser: Debian's headless Chromium, which
//! scripts/test.sh installs. The page loads with no console errors, its script runs, the matrix
//! has the expected rows, the search and the status filter (driven through the URL fragment,
//! as a shared link would) show the expected rows, and a screenshot is written.

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
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains(" src="),
        "self-contained: nothing to fetch"
    );
    let rows = html.matches("<tr data-search=").count();
    assert!(rows > 600, "{rows} rows");

    let (dom, console) = open(&page, "", &["--dump-dom"]);
    assert!(console.is_empty(), "console messages: {console:?}");
    assert_eq!(
        attribute(&dom, "data-ready").as_deref(),
        Some("1"),
        "the page's script ran"
    );
    assert_eq!(attribute(&dom, "data-shown"), Some(rows.to_string()));
    // markupsafe is on both platforms: one row, two cells, both GIL-free.
    let speedups = dom
        .split("<tr ")
        .find(|r| r.contains(">markupsafe._speedups<"))
        .expect("markupsafe row");
    assert_eq!(
        speedups.matches("class=\"cell gil_free").count(),
        2,
        "{speedups}"
    );

    let (dom, console) = open(&page, "#q=markupsafe", &["--dump-dom"]);
    assert!(console.is_empty(), "{console:?}");
    assert_eq!(attribute(&dom, "data-shown").as_deref(), Some("1"));
    let (dom, _) = open(&page, "#status=needs_gil", &["--dump-dom"]);
    assert_eq!(
        attribute(&dom, "data-shown").as_deref(),
        Some("21"),
        "the 21 modules that need the GIL"
    );

    // The screenshot, kept with the build output for a reviewer to look at.
    let shots = repo_root().join("target/test-artifacts");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("html-matrix-needs-gil.png");
    let _ = std::fs::remove_file(&shot);
    open(
        &page,
        "#status=needs_gil",
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,900",
        ],
    );
    let png = std::fs::read(&shot).expect("a screenshot was written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
}
