//! The whole run: each pin's release files (from the lock, the cache or the indexes), a choice
//! per target, one slim read per distinct wheel (shared by targets that pick the same file),
//! and a folder of slim wheels per target.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::cache::{Cache, SlimInfo};
use crate::http::{Http, HttpError};
use crate::index::{self, ProjectAnswer};
use crate::parse::{DistFile, Lock, Pin};
use crate::range::{self, ReadError};
use crate::select::{self, Choice};
use crate::slim::{self, SlimError};
use crate::tags::WheelName;
use crate::{
    FetchOptions, HashCheck, LockFetch, NoWheel, NoWheelReason, Picked, PurePin, Target,
    TargetFetch,
};

/// Fetches the slim wheels of `lock` for every target. Never fails as a whole: what goes wrong
/// for a package is a [`NoWheel`] of the targets it concerns.
pub fn fetch(lock: &Lock, targets: &[Target], options: &FetchOptions) -> LockFetch {
    let http = |()| {
        Http::new(
            options.timeout,
            options.retries,
            options.retry_backoff,
            options.offline,
            options.ca_bundle.as_deref(),
        )
    };
    let (index_http, wheel_http) = (http(()), http(()));
    let cache = Cache::new(options.cache_dir.clone());
    let indexes = index_urls(lock, options);
    let jobs = options.jobs.max(1);

    let environments: Vec<_> = targets.iter().map(Target::environment).collect();
    let applies: Vec<Vec<bool>> = lock
        .pins
        .iter()
        .map(|pin| environments.iter().map(|env| pin.applies(env)).collect())
        .collect();
    let needed: Vec<usize> = (0..lock.pins.len())
        .filter(|&i| applies[i].iter().any(|a| *a))
        .collect();
    let files: BTreeMap<usize, Result<Vec<DistFile>, NoWheelReason>> = needed
        .iter()
        .copied()
        .zip(parallel_map(&needed, jobs, |&i| {
            release_files(&lock.pins[i], &indexes, &index_http, &cache)
        }))
        .collect();

    // choices[target][pin]; None where the marker excludes the pin.
    let choices: Vec<Vec<Option<Choice>>> = targets
        .iter()
        .enumerate()
        .map(|(t, target)| {
            (0..lock.pins.len())
                .map(|i| {
                    applies[i][t].then(|| match &files[&i] {
                        Ok(files) => select::choose(&lock.pins[i], files, target),
                        Err(reason) => Choice::None(reason.clone()),
                    })
                })
                .collect()
        })
        .collect();

    // One read per distinct wheel URL.
    let mut wheels: Vec<(usize, DistFile)> = Vec::new();
    for per_target in &choices {
        for (i, choice) in per_target.iter().enumerate() {
            if let Some(Choice::Native(file)) = choice {
                if !wheels.iter().any(|(_, f)| f.url == file.url) {
                    wheels.push((i, file.clone()));
                }
            }
        }
    }
    let reads = parallel_map(&wheels, jobs, |(i, file)| {
        slim_wheel(&lock.pins[*i], file, &wheel_http, &cache)
    });
    let reads: BTreeMap<&str, &Result<SlimRead, NoWheelReason>> = wheels
        .iter()
        .map(|(_, f)| f.url.as_str())
        .zip(reads.iter())
        .collect();
    let picked_wheel_bytes = reads
        .values()
        .filter_map(|r| r.as_ref().ok())
        .filter_map(|r| r.size)
        .sum();

    let out_dir = options
        .out_dir
        .clone()
        .unwrap_or_else(|| options.cache_dir.join("targets"));
    let mut results = Vec::new();
    for (t, target) in targets.iter().enumerate() {
        let wheels_dir = out_dir.join(target.name());
        let mut result = TargetFetch {
            target: target.clone(),
            wheels_dir: wheels_dir.clone(),
            picked: Vec::new(),
            pure: Vec::new(),
            missing: Vec::new(),
            not_applicable: Vec::new(),
        };
        let prepared = prepare_dir(&wheels_dir);
        for (i, pin) in lock.pins.iter().enumerate() {
            let no_wheel = |reason| NoWheel {
                name: pin.name.clone(),
                version: pin.version.clone(),
                line: pin.line,
                reason,
            };
            match &choices[t][i] {
                None => result
                    .not_applicable
                    .push(format!("{}=={}", pin.name, pin.version)),
                Some(Choice::None(reason)) => result.missing.push(no_wheel(reason.clone())),
                Some(Choice::Pure(file)) => {
                    let native_elsewhere: Vec<String> = targets
                        .iter()
                        .enumerate()
                        .filter(|(u, _)| matches!(choices[*u][i], Some(Choice::Native(_))))
                        .map(|(_, other)| other.name())
                        .collect();
                    if native_elsewhere.is_empty() {
                        result.pure.push(PurePin {
                            name: pin.name.clone(),
                            version: pin.version.clone(),
                            wheel: file.filename.clone(),
                        });
                    } else {
                        result.missing.push(no_wheel(NoWheelReason::PureOnlyHere {
                            wheel: file.filename.clone(),
                            native_elsewhere,
                        }));
                    }
                }
                Some(Choice::Native(file)) => match (reads[file.url.as_str()], &prepared) {
                    (Err(reason), _) => result.missing.push(no_wheel(reason.clone())),
                    (Ok(_), Err(message)) => {
                        result.missing.push(no_wheel(NoWheelReason::DownloadError {
                            wheel: file.filename.clone(),
                            message: message.clone(),
                        }))
                    }
                    (Ok(read), Ok(())) => {
                        let slim_path = wheels_dir.join(&file.filename);
                        if let Err(e) = place(&read.path, &slim_path) {
                            let message =
                                format!("placing the slim wheel in {}: {e}", wheels_dir.display());
                            result.missing.push(no_wheel(NoWheelReason::DownloadError {
                                wheel: file.filename.clone(),
                                message,
                            }));
                            continue;
                        }
                        result.picked.push(Picked {
                            name: pin.name.clone(),
                            version: pin.version.clone(),
                            wheel: file.filename.clone(),
                            url: file.url.clone(),
                            sha256: file
                                .sha256
                                .clone()
                                .or_else(|| read.info.whole_sha256.clone()),
                            slim_path,
                            size: read.size,
                            whole_download: read.info.whole_download,
                            from_cache: read.from_cache,
                            native_members: read.info.native_members.clone(),
                            // In the wheel's order, like `native_members`.
                            headers_only: read
                                .info
                                .native_members
                                .iter()
                                .filter(|n| read.info.headers_only.contains_key(*n))
                                .cloned()
                                .collect(),
                            headers_only_sizes: read.info.headers_only.clone(),
                            record_checked: read.info.record_checked,
                        });
                    }
                },
            }
        }
        results.push(result);
    }
    let (index_bytes_read, wheel_bytes_read) = (index_http.bytes_read(), wheel_http.bytes_read());
    LockFetch {
        targets: results,
        requests: index_http.requests() + wheel_http.requests(),
        bytes_read: index_bytes_read + wheel_bytes_read,
        index_bytes_read,
        wheel_bytes_read,
        picked_wheel_bytes,
        indexes,
    }
}

/// Primary index first, then the extras; see [`FetchOptions`] for the order of sources.
fn index_urls(lock: &Lock, options: &FetchOptions) -> Vec<String> {
    index_urls_with(lock, options, &|name| std::env::var(name).ok())
}

fn index_urls_with(
    lock: &Lock,
    options: &FetchOptions,
    var: &dyn Fn(&str) -> Option<String>,
) -> Vec<String> {
    let env = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| var(n).filter(|v| !v.trim().is_empty()))
    };
    let primary = options
        .index_url
        .clone()
        .or_else(|| lock.index_url.clone())
        .or_else(|| env(&["PIP_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX_URL"]))
        .unwrap_or_else(|| index::PYPI_SIMPLE.to_string());
    let mut urls = vec![primary];
    if !options.extra_index_urls.is_empty() {
        urls.extend(options.extra_index_urls.iter().cloned());
    } else {
        urls.extend(lock.extra_index_urls.iter().cloned());
        for name in ["PIP_EXTRA_INDEX_URL", "UV_INDEX", "UV_EXTRA_INDEX_URL"] {
            if let Some(value) = var(name) {
                // UV_INDEX entries may be `name=url`.
                urls.extend(value.split_whitespace().map(|u| {
                    u.split_once('=')
                        .filter(|(n, _)| !n.contains(':'))
                        .map_or(u, |(_, url)| url)
                        .to_string()
                }));
            }
        }
    }
    let mut seen = Vec::new();
    urls.retain(|u| {
        let key = u.trim_end_matches('/').to_string();
        let new = !seen.contains(&key);
        seen.push(key);
        new
    });
    urls
}

/// The files of the pinned release: the lock's own list, else every index's answer (from the
/// cache when it has one), joined like pip does (all indexes are equal; an unreachable one is
/// only an error when no other index has the project).
fn release_files(
    pin: &Pin,
    indexes: &[String],
    http: &Http,
    cache: &Cache,
) -> Result<Vec<DistFile>, NoWheelReason> {
    if let Some(files) = &pin.files {
        return Ok(files.clone());
    }
    let mut files: Vec<DistFile> = Vec::new();
    let mut errors = Vec::new();
    let mut found_project = false;
    for index_url in indexes {
        let page = index::project_url(index_url, &pin.name);
        let answer = match cache.index_answer(&page, &pin.version, &pin.sha256) {
            Some(Some(cached)) => Ok(ProjectAnswer::Files(cached)),
            Some(None) => Ok(ProjectAnswer::NotFound),
            None => index::project_files(http, index_url, &pin.name).map(|answer| match answer {
                ProjectAnswer::Files(all) => {
                    let release: Vec<DistFile> = all
                        .into_iter()
                        .filter(|f| index::is_version(&f.filename, &pin.version))
                        .collect();
                    cache.store_index_answer(&page, &pin.version, &pin.sha256, Some(&release));
                    ProjectAnswer::Files(release)
                }
                ProjectAnswer::NotFound => {
                    cache.store_index_answer(&page, &pin.version, &pin.sha256, None);
                    ProjectAnswer::NotFound
                }
            }),
        };
        match answer {
            Ok(ProjectAnswer::Files(release)) => {
                found_project = true;
                for file in release {
                    if !files.iter().any(|f| f.filename == file.filename) {
                        files.push(file);
                    }
                }
            }
            Ok(ProjectAnswer::NotFound) => {}
            Err(HttpError::Offline { url }) => errors.push(NoWheelReason::Offline {
                what: format!("index page {url}"),
            }),
            Err(e) => errors.push(NoWheelReason::IndexError {
                message: e.to_string(),
            }),
        }
    }
    if found_project && !files.is_empty() {
        return Ok(files);
    }
    if let Some(first) = errors.into_iter().next() {
        return Err(first);
    }
    if found_project {
        return Ok(Vec::new());
    }
    Err(NoWheelReason::NotOnIndex {
        indexes: indexes.to_vec(),
    })
}

struct SlimRead {
    path: PathBuf,
    info: SlimInfo,
    size: Option<u64>,
    from_cache: bool,
}

/// The slim copy of one wheel: from the cache, else range-read, verified and written there.
fn slim_wheel(
    pin: &Pin,
    file: &DistFile,
    http: &Http,
    cache: &Cache,
) -> Result<SlimRead, NoWheelReason> {
    let dir = cache.slim_dir(file.sha256.as_deref(), &file.url);
    // Range reads check the file against the lock only through the index's hash: without one,
    // a hashed pin's wheel is downloaded whole and hashed, and a cached copy only counts when
    // the hash it was read with is one the lock lists now.
    let whole = !pin.sha256.is_empty() && file.sha256.is_none();
    let cached = cache.slim(&dir, &file.filename).filter(|(_, info)| {
        !whole
            || info
                .whole_sha256
                .as_ref()
                .is_some_and(|h| pin.sha256.contains(h))
    });
    if let Some((path, info)) = cached {
        return match info.failure {
            Some(failure) => Err(failure),
            None => Ok(SlimRead {
                path,
                info,
                size: file.size,
                from_cache: true,
            }),
        };
    }
    let wheel = file.filename.clone();
    let distribution = WheelName::parse(&file.filename)
        .map(|w| w.distribution)
        .unwrap_or_else(|| pin.name.clone());
    let read = range::read_wheel(
        http,
        &file.url,
        whole,
        |entries| slim::wanted(entries, &distribution),
        |entry| slim::is_bundled_library(&entry.name),
    )
    .map_err(|e| match e {
        ReadError::Http(HttpError::Offline { url }) => NoWheelReason::Offline {
            what: format!("slim wheel of {url}"),
        },
        ReadError::Zip { source, .. } => NoWheelReason::BadWheel {
            wheel: wheel.clone(),
            message: source.to_string(),
        },
        other => NoWheelReason::DownloadError {
            wheel: wheel.clone(),
            message: other.to_string(),
        },
    })?;
    if let Some(actual) = &read.whole_sha256 {
        // The whole file is at hand: it must be the file the index and the lock name.
        let index_ok = file.sha256.as_ref().is_none_or(|h| h == actual);
        let lock_ok = pin.sha256.is_empty() || pin.sha256.contains(actual);
        if !index_ok || !lock_ok {
            let mut expected: Vec<String> = file.sha256.iter().cloned().collect();
            expected.extend(
                pin.sha256
                    .iter()
                    .filter(|h| Some(*h) != file.sha256.as_ref())
                    .cloned(),
            );
            return Err(NoWheelReason::HashMismatch {
                file: wheel,
                expected,
                actual: actual.clone(),
                checked: HashCheck::WholeFile,
            });
        }
    }
    let cache_failed = |e: std::io::Error| NoWheelReason::DownloadError {
        wheel: wheel.clone(),
        message: format!("writing the cache at {}: {e}", dir.display()),
    };
    std::fs::create_dir_all(&dir).map_err(cache_failed)?;
    let record_checked = match slim::verify(&read.members, read.record) {
        Ok(checked) => checked,
        Err(e) => {
            let failure = match e {
                SlimError::RecordMismatch {
                    member,
                    expected,
                    actual,
                } => NoWheelReason::HashMismatch {
                    file: format!("{wheel}!{member}"),
                    expected: vec![expected],
                    actual,
                    checked: HashCheck::Record,
                },
                other => NoWheelReason::BadWheel {
                    wheel: wheel.clone(),
                    message: other.to_string(),
                },
            };
            // Only a wheel whose whole hash is known stands for its bytes: cache the verdict.
            if file.sha256.is_some() {
                let info = SlimInfo {
                    failure: Some(failure.clone()),
                    whole_download: read.whole_download,
                    whole_sha256: read.whole_sha256.clone(),
                    native_members: Vec::new(),
                    headers_only: BTreeMap::new(),
                    record_checked: 0,
                    members_in_wheel: read.entries.len(),
                };
                cache.store_slim_info(&dir, &info).map_err(cache_failed)?;
            }
            return Err(failure);
        }
    };
    let path = dir.join(&file.filename);
    slim::write_wheel(&path, &read.members).map_err(|e| NoWheelReason::DownloadError {
        wheel: wheel.clone(),
        message: e.to_string(),
    })?;
    let info = SlimInfo {
        failure: None,
        whole_download: read.whole_download,
        whole_sha256: read.whole_sha256.clone(),
        native_members: read
            .members
            .iter()
            .map(|m| m.entry.name.clone())
            .filter(|n| slim::is_native_member(n))
            .collect(),
        headers_only: read
            .members
            .iter()
            .filter_map(|m| Some((m.entry.name.clone(), m.original_size?)))
            .collect(),
        record_checked,
        members_in_wheel: read.entries.len(),
    };
    cache.store_slim_info(&dir, &info).map_err(cache_failed)?;
    Ok(SlimRead {
        path,
        info,
        size: file.size.or(Some(read.file_size)),
        from_cache: false,
    })
}

/// Makes the target folder and removes the wheels of an earlier run from it.
fn prepare_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("making {}: {e}", dir.display()))?;
    let entries = std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        if entry.path().extension().is_some_and(|x| x == "whl") {
            std::fs::remove_file(entry.path())
                .map_err(|e| format!("removing {}: {e}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// A hard link to the cached slim wheel (a copy across file systems).
fn place(cached: &Path, target: &Path) -> std::io::Result<()> {
    let _ = std::fs::remove_file(target);
    std::fs::hard_link(cached, target).or_else(|_| std::fs::copy(cached, target).map(|_| ()))
}

/// `f` over `items` on up to `jobs` threads, results in input order.
fn parallel_map<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs.min(items.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break done };
                        done.push((i, f(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a fetch worker panicked"))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn index_order_option_then_lock_then_environment() {
        let lock = crate::parse_lock_text(
            Path::new("r.txt"),
            "a==1\n",
            crate::LockFormat::Requirements,
        )
        .unwrap();
        let env = |name: &str| match name {
            "PIP_INDEX_URL" => Some("https://pip.test/simple".to_string()),
            "UV_INDEX" => {
                Some("internal=https://uv.test/simple https://two.test/simple".to_string())
            }
            _ => None,
        };
        let defaults = FetchOptions::default();
        assert_eq!(
            index_urls_with(&lock, &defaults, &env),
            [
                "https://pip.test/simple",
                "https://uv.test/simple",
                "https://two.test/simple"
            ]
        );
        assert_eq!(
            index_urls_with(&lock, &defaults, &|_| None),
            [crate::PYPI_SIMPLE]
        );
        let explicit = FetchOptions {
            index_url: Some("https://mine.test/simple/".into()),
            extra_index_urls: vec!["https://x.test/".into()],
            ..FetchOptions::default()
        };
        assert_eq!(
            index_urls_with(&lock, &explicit, &env),
            ["https://mine.test/simple/", "https://x.test/"]
        );
        let with_lines = crate::parse_lock_text(
            Path::new("r.txt"),
            "-i https://lock.test/simple\na==1\n",
            crate::LockFormat::Requirements,
        )
        .unwrap();
        assert_eq!(
            index_urls_with(&with_lines, &defaults, &env)[0],
            "https://lock.test/simple"
        );
    }
}
