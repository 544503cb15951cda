//! Package indexes: a project's files from the PEP 691 JSON simple API, with the PEP 503 HTML
//! page as the fallback for indexes that only serve HTML (they answer the JSON `Accept` with
//! HTML, which the content type tells).

use serde::Deserialize;

use crate::http::{Http, HttpError};
use crate::parse::{sha256_of, url_file_name, DistFile};
use crate::tags::WheelName;

pub const PYPI_SIMPLE: &str = "https://pypi.org/simple/";

const ACCEPT: &str = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01";

/// What an index said about a project.
pub(crate) enum ProjectAnswer {
    Files(Vec<DistFile>),
    /// 404: the index has no such project.
    NotFound,
}

/// `{index}/{name}/`.
pub(crate) fn project_url(index: &str, name: &str) -> String {
    format!("{}/{}/", index.trim_end_matches('/'), name)
}

/// All files of `name` on the index at `index` (every version; the caller filters).
pub(crate) fn project_files(
    http: &Http,
    index: &str,
    name: &str,
) -> Result<ProjectAnswer, HttpError> {
    let url = project_url(index, name);
    let answer = http.get(&url, &[("Accept", ACCEPT)])?;
    if answer.status == 404 {
        return Ok(ProjectAnswer::NotFound);
    }
    let failed = |message: String| HttpError::Failed {
        url: url.clone(),
        message,
    };
    if answer.status != 200 {
        return Err(failed(format!("HTTP {}", answer.status)));
    }
    let text = String::from_utf8_lossy(&answer.body);
    let files = if answer.content_type.contains("json") {
        parse_json(&text, &url).map_err(|e| failed(format!("not a PEP 691 answer: {e}")))?
    } else {
        parse_html(&text, &url)
    };
    Ok(ProjectAnswer::Files(files))
}

#[derive(Deserialize)]
struct JsonProject {
    files: Vec<JsonFile>,
}

#[derive(Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: std::collections::BTreeMap<String, String>,
    size: Option<u64>,
}

fn parse_json(text: &str, page_url: &str) -> Result<Vec<DistFile>, serde_json::Error> {
    let project: JsonProject = serde_json::from_str(text)?;
    Ok(project
        .files
        .into_iter()
        .map(|f| DistFile {
            url: join_url(page_url, &f.url),
            sha256: f.hashes.get("sha256").and_then(|h| sha256_of(h)),
            filename: f.filename,
            size: f.size,
        })
        .collect())
}

/// `<a href="url#sha256=..">file</a>` anchors of a PEP 503 page.
fn parse_html(text: &str, page_url: &str) -> Vec<DistFile> {
    let mut files = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(start) = lower[from..].find("<a ").map(|p| p + from) {
        let Some(tag_end) = lower[start..].find('>').map(|p| p + start) else {
            break;
        };
        let tag = &text[start..tag_end];
        from = tag_end;
        let Some(href) = attribute(tag, "href") else {
            continue;
        };
        let href = unescape(&href);
        let (location, fragment) = match href.split_once('#') {
            Some((l, f)) => (l.to_string(), Some(f.to_string())),
            None => (href.clone(), None),
        };
        let sha256 = fragment.and_then(|f| f.strip_prefix("sha256=").and_then(sha256_of));
        let text_end = lower[tag_end..]
            .find("</a")
            .map_or(tag_end + 1, |p| p + tag_end);
        let label = unescape(text[tag_end + 1..text_end].trim());
        let filename = if label.is_empty() {
            url_file_name(&location)
        } else {
            label
        };
        files.push(DistFile {
            filename,
            url: join_url(page_url, &location),
            sha256,
            size: None,
        });
    }
    files
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let at = lower.find(&format!("{name}="))? + name.len() + 1;
    let rest = &tag[at..];
    let quote = rest.chars().next()?;
    if quote == '"' || quote == '\'' {
        rest[1..]
            .find(quote)
            .map(|end| rest[1..1 + end].to_string())
    } else {
        Some(
            rest.split(|c: char| c.is_whitespace() || c == '>')
                .next()?
                .to_string(),
        )
    }
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Resolves `href` against the page URL (absolute, `//host`, `/path` and relative forms).
pub(crate) fn join_url(base: &str, href: &str) -> String {
    if href.contains("://") {
        return href.to_string();
    }
    let scheme_end = base.find("://").map_or(0, |p| p + 3);
    let scheme = &base[..scheme_end];
    if let Some(rest) = href.strip_prefix("//") {
        return format!("{scheme}{rest}");
    }
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |p| p + scheme_end);
    if href.starts_with('/') {
        return format!("{}{href}", &base[..host_end]);
    }
    let base_path = base.split(['?', '#']).next().unwrap_or(base);
    let dir_end = base_path
        .rfind('/')
        .filter(|p| *p >= host_end)
        .map_or(base_path.len(), |p| p + 1);
    let mut segments: Vec<&str> = base_path[host_end..dir_end].split('/').collect();
    segments.pop(); // the empty piece after the last '/'
    let (path, suffix) = match href.find(['?', '#']) {
        Some(p) => (&href[..p], &href[p..]),
        None => (href, ""),
    };
    for part in path.split('/') {
        match part {
            "." => {}
            ".." => {
                if segments.len() > 1 {
                    segments.pop();
                }
            }
            other => segments.push(other),
        }
    }
    format!("{}{}{}", &base[..host_end], segments.join("/"), suffix)
}

/// The release version a file name carries (wheels and `name-version.tar.gz`/`.zip` sdists).
pub(crate) fn file_version(filename: &str) -> Option<String> {
    if let Some(wheel) = WheelName::parse(filename) {
        return Some(wheel.version);
    }
    let stem = [".tar.gz", ".zip", ".tar.bz2", ".tgz"]
        .iter()
        .find_map(|ext| filename.strip_suffix(ext))?;
    stem.rsplit_once('-').map(|(_, v)| v.to_string())
}

/// Whether a file belongs to `version` (compared case-insensitively; wheel names spell `-` `_`).
pub(crate) fn is_version(filename: &str, version: &str) -> bool {
    file_version(filename).is_some_and(|v| {
        v.eq_ignore_ascii_case(version) || v.replace('_', "-").eq_ignore_ascii_case(version)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join() {
        let page = "https://pypi.org/simple/numpy/";
        assert_eq!(
            join_url(page, "https://f.test/a.whl"),
            "https://f.test/a.whl"
        );
        assert_eq!(join_url(page, "//f.test/a.whl"), "https://f.test/a.whl");
        assert_eq!(
            join_url(page, "/packages/a.whl#sha256=00"),
            "https://pypi.org/packages/a.whl#sha256=00"
        );
        assert_eq!(
            join_url(page, "../../packages/a.whl"),
            "https://pypi.org/packages/a.whl"
        );
        assert_eq!(
            join_url(page, "a.whl"),
            "https://pypi.org/simple/numpy/a.whl"
        );
    }

    #[test]
    fn html_anchors_with_hash_fragments() {
        let hex = "ab".repeat(32);
        let page = format!(
            "<html><body><h1>x</h1>\n<a href=\"../../files/x-1.0-py3-none-any.whl#sha256={hex}\" data-requires-python=\"&gt;=3.9\">x-1.0-py3-none-any.whl</a><br/>\n<A HREF='/f/x-1.0.tar.gz'>x-1.0.tar.gz</A></body></html>"
        );
        let files = parse_html(&page, "http://127.0.0.1:9/simple/x/");
        assert_eq!(files.len(), 2);
        // The fragment is the hash, not part of the address.
        assert_eq!(
            files[0].url,
            "http://127.0.0.1:9/files/x-1.0-py3-none-any.whl"
        );
        assert_eq!(files[0].sha256.as_deref(), Some(hex.as_str()));
        assert_eq!(files[1].filename, "x-1.0.tar.gz");
        assert_eq!(files[1].sha256, None);
        assert!(is_version("x-1.0.tar.gz", "1.0") && !is_version("x-1.0.tar.gz", "1.1"));
    }
}
