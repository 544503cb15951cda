//! Test support: real wheels (built from a real shared object on this machine, or taken from a
//! downloaded wheel set) served by a real HTTP server on 127.0.0.1 that speaks the PEP 691 JSON
//! and PEP 503 HTML simple APIs and, unless told not to, HTTP Range requests.

#![allow(dead_code)]

pub mod world;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ftaudit_lock::FetchOptions;

pub fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn record_hash(bytes: &[u8]) -> String {
    // RECORD's urlsafe base64 without padding, written independently of the crate's encoder.
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut bits = String::new();
    for b in digest.as_ref() {
        bits.push_str(&format!("{b:08b}"));
    }
    let pad = (6 - bits.len() % 6) % 6;
    bits.extend(std::iter::repeat_n('0', pad));
    let text: String = bits
        .as_bytes()
        .chunks(6)
        .map(|c| A[usize::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap()] as char)
        .collect();
    format!("sha256={text}")
}

/// A real ELF shared object from this machine.
pub fn real_shared_object() -> Vec<u8> {
    for candidate in [
        "/usr/lib/x86_64-linux-gnu/libz.so.1",
        "/lib/x86_64-linux-gnu/libz.so.1",
        "/usr/lib/aarch64-linux-gnu/libz.so.1",
        "/usr/lib64/libz.so.1",
    ] {
        if let Ok(bytes) = std::fs::read(candidate) {
            return bytes;
        }
    }
    panic!("no libz.so.1 on this machine to build test wheels from");
}

/// Incompressible filler, so a wheel is much bigger than its native members.
pub fn filler(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A wheel `name-version-tags.whl` with `members` (path, bytes) plus METADATA, WHEEL and a
/// correct RECORD (unless `corrupt_record` names a member whose hash is written wrong).
pub fn build_wheel(
    name: &str,
    version: &str,
    tags: &str,
    members: &[(&str, Vec<u8>)],
    corrupt_record: Option<&str>,
) -> (String, Vec<u8>) {
    let members: Vec<(&str, Vec<u8>, bool)> =
        members.iter().map(|(p, b)| (*p, b.clone(), true)).collect();
    build_wheel_full(name, version, tags, &members, corrupt_record)
}

/// [`build_wheel`] with each member's compression chosen: deflated (true) or stored (false).
/// The dist-info files are deflated.
pub fn build_wheel_with(
    name: &str,
    version: &str,
    tags: &str,
    members: &[(&str, Vec<u8>, bool)],
) -> (String, Vec<u8>) {
    build_wheel_full(name, version, tags, members, None)
}

fn build_wheel_full(
    name: &str,
    version: &str,
    tags: &str,
    members: &[(&str, Vec<u8>, bool)],
    corrupt_record: Option<&str>,
) -> (String, Vec<u8>) {
    let filename = format!("{name}-{version}-{tags}.whl");
    let dist_info = format!("{name}-{version}.dist-info");
    let stored: Vec<&str> = members
        .iter()
        .filter(|(_, _, deflated)| !deflated)
        .map(|(p, _, _)| *p)
        .collect();
    let mut all: Vec<(String, Vec<u8>)> = members
        .iter()
        .map(|(p, b, _)| (p.to_string(), b.clone()))
        .collect();
    all.push((
        format!("{dist_info}/METADATA"),
        format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n").into_bytes(),
    ));
    all.push((
        format!("{dist_info}/WHEEL"),
        format!("Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\nTag: {tags}\n")
            .into_bytes(),
    ));
    let mut record = String::new();
    for (path, bytes) in &all {
        let hash = if Some(path.as_str()) == corrupt_record {
            record_hash(b"not this")
        } else {
            record_hash(bytes)
        };
        record.push_str(&format!("{path},{hash},{}\n", bytes.len()));
    }
    record.push_str(&format!("{dist_info}/RECORD,,\n"));
    all.push((format!("{dist_info}/RECORD"), record.into_bytes()));
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (path, bytes) in &all {
            let options = if stored.contains(&path.as_str()) {
                options.compression_method(zip::CompressionMethod::Stored)
            } else {
                options
            };
            zip.start_file(path.as_str(), options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap();
    }
    (filename, out.into_inner())
}

/// Member names and contents of a zip.
pub fn zip_members(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid zip");
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            file.read_to_end(&mut data).unwrap();
            (file.name().to_string(), data)
        })
        .collect()
}

/// What the server serves: files under /files/, project pages under /simple/<name>/.
#[derive(Default)]
pub struct Site {
    /// Contents (or the file holding them, read on demand) and sha256 of each file.
    files: HashMap<String, (Body, String)>,
    projects: HashMap<String, Vec<String>>,
    /// Answer Range requests with 206; false: answer 200 with the whole file.
    pub ranges: bool,
    /// Serve PEP 691 JSON when asked; false: HTML only (a PEP 503 index).
    pub json: bool,
    /// Refuse every Range request with 416 (some servers and proxies do).
    pub refuse_ranges: bool,
    /// Answer the first this many index page requests with 503.
    pub index_failures: usize,
    /// Index pages without hashes (PEP 503 allows that).
    pub no_hashes: bool,
}

impl Site {
    pub fn new(ranges: bool, json: bool) -> Site {
        Site {
            ranges,
            json,
            ..Site::default()
        }
    }

    /// Adds a file of `project` (listed on its index page).
    pub fn add(&mut self, project: &str, filename: &str, bytes: Vec<u8>) {
        let sha = sha256_hex(&bytes);
        self.projects
            .entry(project.to_string())
            .or_default()
            .push(filename.to_string());
        self.files
            .insert(filename.to_string(), (Body::Bytes(bytes), sha));
    }

    /// Adds a file on disk, served from there (wheel sets are hundreds of MB).
    pub fn add_path(&mut self, project: &str, path: &Path) {
        let filename = path.file_name().unwrap().to_str().unwrap().to_string();
        let sha = sha256_hex(&std::fs::read(path).unwrap());
        self.projects
            .entry(project.to_string())
            .or_default()
            .push(filename.clone());
        self.files
            .insert(filename, (Body::Path(path.to_path_buf()), sha));
    }
}

enum Body {
    Bytes(Vec<u8>),
    Path(PathBuf),
}

impl Body {
    fn len(&self) -> u64 {
        match self {
            Body::Bytes(b) => b.len() as u64,
            Body::Path(p) => std::fs::metadata(p).unwrap().len(),
        }
    }

    fn read(&self, start: u64, end_inclusive: u64) -> Vec<u8> {
        match self {
            Body::Bytes(b) => b[start as usize..=end_inclusive as usize].to_vec(),
            Body::Path(p) => {
                use std::io::{Seek, SeekFrom};
                let mut file = std::fs::File::open(p).unwrap();
                file.seek(SeekFrom::Start(start)).unwrap();
                let mut out = vec![0; (end_inclusive + 1 - start) as usize];
                file.read_exact(&mut out).unwrap();
                out
            }
        }
    }
}

pub struct Server {
    pub base: String,
    pub requests: Arc<AtomicUsize>,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn start(site: Site) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let site = Arc::new(site);
        let (counter, lines) = (requests.clone(), log.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (site, counter, lines) = (site.clone(), counter.clone(), lines.clone());
                std::thread::spawn(move || serve(stream, &site, &counter, &lines));
            }
        });
        Server {
            base,
            requests,
            log,
        }
    }

    pub fn index(&self) -> String {
        format!("{}/simple/", self.base)
    }

    pub fn file_url(&self, filename: &str) -> String {
        format!("{}/files/{filename}", self.base)
    }
}

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn serve(stream: TcpStream, site: &Site, counter: &AtomicUsize, log: &Mutex<Vec<String>>) {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    // One request per connection (answers say Connection: close).
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() || request_line.is_empty() {
        return;
    }
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    counter.fetch_add(1, Ordering::SeqCst);
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    log.lock().unwrap().push(format!(
        "{path} {}",
        headers.get("range").cloned().unwrap_or_default()
    ));
    let mut stream = stream;
    let answer = |stream: &mut TcpStream, status: &str, extra: &str, body: &[u8]| {
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
            body.len()
        );
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(body);
    };
    if let Some(name) = path
        .strip_prefix("/simple/")
        .map(|p| p.trim_end_matches('/'))
    {
        let index_requests = log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with("/simple/"))
            .count();
        if index_requests <= site.index_failures {
            return answer(&mut stream, "503 Service Unavailable", "", b"busy");
        }
        let Some(files) = site.projects.get(name) else {
            return answer(&mut stream, "404 Not Found", "", b"no such project");
        };
        let wants_json = headers
            .get("accept")
            .is_some_and(|a| a.contains("vnd.pypi.simple.v1+json"));
        if site.json && wants_json {
            let entries: Vec<String> = files
                .iter()
                .map(|f| {
                    let hashes = if site.no_hashes { String::new() } else { format!(r#""sha256":"{}""#, site.files[f].1) };
                    format!(r#"{{"filename":"{f}","url":"../../files/{f}","hashes":{{{hashes}}},"size":{}}}"#, site.files[f].0.len())
                })
                .collect();
            let body = format!(
                r#"{{"meta":{{"api-version":"1.1"}},"name":"{name}","files":[{}]}}"#,
                entries.join(",")
            );
            return answer(
                &mut stream,
                "200 OK",
                "Content-Type: application/vnd.pypi.simple.v1+json\r\n",
                body.as_bytes(),
            );
        }
        let anchors: String = files
            .iter()
            .map(|f| {
                let fragment = if site.no_hashes {
                    String::new()
                } else {
                    format!("#sha256={}", site.files[f].1)
                };
                format!("<a href=\"/files/{f}{fragment}\">{f}</a><br/>\n")
            })
            .collect();
        let body = format!(
            "<!DOCTYPE html><html><body><h1>Links for {name}</h1>\n{anchors}</body></html>"
        );
        return answer(
            &mut stream,
            "200 OK",
            "Content-Type: text/html\r\n",
            body.as_bytes(),
        );
    }
    let Some((body, _)) = path.strip_prefix("/files/").and_then(|f| site.files.get(f)) else {
        return answer(&mut stream, "404 Not Found", "", b"no such file");
    };
    if site.refuse_ranges && headers.contains_key("range") {
        return answer(&mut stream, "416 Range Not Satisfiable", "", b"");
    }
    let range = headers
        .get("range")
        .filter(|_| site.ranges)
        .and_then(|r| r.strip_prefix("bytes=").map(str::to_string));
    let Some(range) = range else {
        return answer(
            &mut stream,
            "200 OK",
            "Content-Type: application/octet-stream\r\n",
            &body.read(0, body.len() - 1),
        );
    };
    let len = body.len();
    let (start, end) = match range.split_once('-') {
        Some(("", suffix)) => (len.saturating_sub(suffix.parse().unwrap_or(0)), len - 1),
        Some((a, "")) => (a.parse().unwrap_or(0), len - 1),
        Some((a, b)) => (
            a.parse().unwrap_or(0),
            b.parse::<u64>().unwrap_or(0).min(len - 1),
        ),
        None => (len, 0),
    };
    if start >= len || end < start {
        return answer(
            &mut stream,
            "416 Range Not Satisfiable",
            &format!("Content-Range: bytes */{len}\r\n"),
            b"",
        );
    }
    let extra = format!(
        "Content-Range: bytes {start}-{end}/{len}\r\nContent-Type: application/octet-stream\r\n"
    );
    answer(
        &mut stream,
        "206 Partial Content",
        &extra,
        &body.read(start, end),
    );
}

/// Fetch options for a test: its own cache, fast retries.
pub fn options(cache: &Path, index: Option<String>) -> FetchOptions {
    FetchOptions {
        index_url: index,
        extra_index_urls: Vec::new(),
        cache_dir: cache.join("cache"),
        out_dir: Some(cache.join("out")),
        timeout: Duration::from_secs(20),
        retries: 1,
        retry_backoff: Duration::from_millis(10),
        offline: false,
        jobs: 4,
        ca_bundle: None,
    }
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}
