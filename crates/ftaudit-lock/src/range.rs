//! Reading a remote wheel in pieces: the tail (central directory), then one ranged GET per run
//! of wanted members. A server that ignores ranges (200) or refuses them (416) gets the whole
//! file downloaded instead, which is then checked against the lock's/index's sha256.

use crate::http::{Answer, Http, HttpError};
use crate::slim::{self, RawMember, HEADERS_KEPT, HEADER_BYTES};
use crate::zipdir::{self, Entry, Located};

/// Bytes of the first tail read: the central directory of all but the largest wheels fits.
const TAIL: u64 = 64 * 1024;
/// Members closer than this are fetched in one request (a request costs more than 64 KiB).
const MERGE_GAP: u64 = 64 * 1024;
/// Room asked for a local header's extra field (not in the central directory; usually empty or
/// a 28-byte timestamp) when only the start of a member's data is read.
const LOCAL_EXTRA_ROOM: u64 = 256;

/// What a wheel read produced.
pub(crate) struct WheelRead {
    pub entries: Vec<Entry>,
    pub members: Vec<RawMember>,
    /// Index (into `members`) of RECORD.
    pub record: Option<usize>,
    pub whole_download: bool,
    pub file_size: u64,
    /// sha256 of the whole file, when it was downloaded whole.
    pub whole_sha256: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("{url}: {message}")]
    Protocol { url: String, message: String },
    #[error("{url}: {source}")]
    Zip {
        url: String,
        source: zipdir::ZipError,
    },
}

/// Bytes known at file offsets: the pieces fetched so far (or the whole file as one piece).
/// The flag is set when a server answered a range request with the whole file.
struct Pieces(Vec<(u64, Vec<u8>)>, bool);

impl Pieces {
    /// The end of the longest piece holding `start` (`start` itself when none does).
    fn covered_until(&self, start: u64) -> u64 {
        self.0
            .iter()
            .filter(|(at, bytes)| *at <= start && start < at + bytes.len() as u64)
            .map(|(at, bytes)| at + bytes.len() as u64)
            .max()
            .unwrap_or(start)
    }

    fn slice(&self, start: u64, end: u64) -> Option<&[u8]> {
        self.0.iter().find_map(|(at, bytes)| {
            (start >= *at && end <= at + bytes.len() as u64)
                .then(|| &bytes[(start - at) as usize..(end - at) as usize])
        })
    }
}

/// A bundled library read as far as its headers: how many bytes of its data to ask for, and
/// its first HEADERS_KEPT bytes once they are in.
struct Prefix {
    entry: usize,
    data: u64,
    kept: Option<Vec<u8>>,
}

impl Prefix {
    /// Bytes from the local header: the header itself (its extra field is not in the directory,
    /// so some room is left for it) and `data` bytes of data.
    fn request_len(&self, entry: &Entry) -> u64 {
        30 + entry.name.len() as u64 + LOCAL_EXTRA_ROOM + self.data
    }
}

enum Mode {
    Ranges { size: u64 },
    Whole,
}

/// Reads the central directory and the members `wanted` picks of the wheel at `url`; with
/// `whole`, the whole file (the only way to check a lock hash the index does not confirm).
/// Members `headers_only` picks are read only as far as their first HEADERS_KEPT bytes.
pub(crate) fn read_wheel(
    http: &Http,
    url: &str,
    whole: bool,
    wanted: impl Fn(&[Entry]) -> (Vec<usize>, Option<usize>),
    headers_only: impl Fn(&Entry) -> bool,
) -> Result<WheelRead, ReadError> {
    let url = url.split('#').next().unwrap_or(url);
    let protocol = |message: String| ReadError::Protocol {
        url: url.to_string(),
        message,
    };
    let zip = |source| ReadError::Zip {
        url: url.to_string(),
        source,
    };
    let first = if whole {
        http.get(url, &[("Accept-Encoding", "identity")])?
    } else {
        ranged(http, url, &format!("bytes=-{TAIL}"))?
    };
    let (mode, mut pieces) = match first.status {
        206 => {
            let (start, size) = content_range(first.content_range.as_deref()).ok_or_else(|| {
                protocol(format!(
                    "206 without a usable Content-Range ({:?})",
                    first.content_range
                ))
            })?;
            (
                Mode::Ranges { size },
                Pieces(vec![(start, first.body)], false),
            )
        }
        200 => (Mode::Whole, Pieces(vec![(0, first.body)], true)),
        416 => {
            let whole = http.get(url, &[("Accept-Encoding", "identity")])?;
            if whole.status != 200 {
                return Err(protocol(format!("HTTP {}", whole.status)));
            }
            (Mode::Whole, Pieces(vec![(0, whole.body)], true))
        }
        status => return Err(protocol(format!("HTTP {status}"))),
    };
    let size = match mode {
        Mode::Ranges { size } => size,
        Mode::Whole => pieces.0[0].1.len() as u64,
    };
    // Locate the directory; a zip64 record or a directory bigger than the tail needs one more
    // read of the bytes before the tail.
    let mut tail_start = pieces.0[0].0;
    let (cd_offset, cd_size) = loop {
        let tail = pieces
            .slice(tail_start, size)
            .ok_or_else(|| protocol("tail not read".into()))?
            .to_vec();
        match zipdir::locate(&tail, tail_start).map_err(zip)? {
            Located::Directory {
                offset,
                size: cd_size,
            } if offset >= tail_start => break (offset, cd_size),
            Located::Directory { offset, .. } | Located::NeedFrom(offset) => {
                if offset >= tail_start {
                    return Err(zip(zipdir::ZipError(
                        "zip64 record inside the tail but not found".into(),
                    )));
                }
                let before = fetch_range(http, url, offset, tail_start, &mut pieces)?;
                let mut joined = before;
                joined.extend_from_slice(&tail);
                pieces.0.push((offset, joined));
                tail_start = offset;
            }
        }
    };
    if cd_offset + cd_size > size {
        return Err(zip(zipdir::ZipError(
            "central directory runs past the end of the file".into(),
        )));
    }
    let directory = pieces
        .slice(cd_offset, cd_offset + cd_size)
        .ok_or_else(|| protocol("directory not read".into()))?;
    let entries = zipdir::entries(directory).map_err(zip)?;
    let (keep, record) = wanted(&entries);

    // A member's bytes run from its local header to the next member's header (or the
    // directory): exact even when data descriptors follow the data.
    let mut starts: Vec<u64> = entries.iter().map(|e| e.local_offset).collect();
    starts.push(cd_offset);
    starts.sort_unstable();
    let span = |e: &Entry| -> Result<(u64, u64), ReadError> {
        let next = starts
            .iter()
            .copied()
            .find(|s| *s > e.local_offset)
            .unwrap_or(cd_offset);
        if next < e.local_offset + 30 + e.compressed_size {
            return Err(zip(zipdir::ZipError(format!(
                "{}: overlaps the next member",
                e.name
            ))));
        }
        Ok((e.local_offset, next))
    };
    // Bundled libraries bigger than what is kept are read as far as their headers: a prefix of
    // their data, grown (doubled) until it inflates to HEADERS_KEPT bytes.
    let mut prefixes: Vec<Prefix> = keep
        .iter()
        .copied()
        .filter(|&i| {
            let e = &entries[i];
            headers_only(e)
                && e.uncompressed_size > HEADERS_KEPT as u64
                && matches!(e.method, 0 | 8)
        })
        .map(|i| Prefix {
            entry: i,
            data: if entries[i].method == 0 {
                HEADERS_KEPT as u64
            } else {
                HEADER_BYTES as u64 / 2
            },
            kept: None,
        })
        .collect();
    let mut rounds = 0;
    loop {
        let mut spans = Vec::with_capacity(keep.len());
        for &i in &keep {
            let (start, end) = span(&entries[i])?;
            match prefixes.iter().find(|p| p.entry == i) {
                Some(p) if p.kept.is_some() => {}
                Some(p) => spans.push((start, end.min(start + p.request_len(&entries[i])))),
                None => spans.push((start, end)),
            }
        }
        if spans.is_empty() {
            break;
        }
        spans.sort_unstable();
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for (start, end) in spans {
            match runs.last_mut() {
                Some(last) if start <= last.1 + MERGE_GAP => last.1 = last.1.max(end),
                _ => runs.push((start, end)),
            }
        }
        for (start, end) in runs {
            let have = pieces.covered_until(start);
            if have < end {
                let from = have.max(start);
                let bytes = fetch_range(http, url, from, end, &mut pieces)?;
                let mut joined = pieces
                    .slice(start, from)
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default();
                joined.extend_from_slice(&bytes);
                pieces.0.push((start, joined));
            }
        }
        // Which prefixes are long enough now; the others ask for twice as much next round.
        let mut pending = false;
        for p in prefixes.iter_mut().filter(|p| p.kept.is_none()) {
            let entry = &entries[p.entry];
            let (start, end) = span(entry)?;
            let local = pieces
                .slice(start, pieces.covered_until(start).min(end))
                .unwrap_or_default();
            let data = match zipdir::data_start(local) {
                Ok(data) if data <= local.len() => Some(data),
                Ok(_) => None,
                Err(_) if local.len() < 30 => None,
                Err(e) => return Err(zip(e)),
            };
            let Some(data) = data else {
                // The local header's extra field was longer than the room left for it.
                p.data *= 2;
                pending = true;
                continue;
            };
            let available = (local.len().saturating_sub(data) as u64).min(entry.compressed_size);
            let compressed = &local[data..data + available as usize];
            let kept = match entry.method {
                0 => compressed[..compressed.len().min(HEADERS_KEPT)].to_vec(),
                _ => slim::inflate_prefix(compressed, HEADERS_KEPT)
                    .map_err(|m| zip(zipdir::ZipError(format!("{}: {m}", entry.name))))?,
            };
            if kept.len() == HEADERS_KEPT {
                p.kept = Some(kept);
            } else if available >= entry.compressed_size {
                return Err(zip(zipdir::ZipError(format!(
                    "{}: inflates to {} bytes, the directory says {}",
                    entry.name,
                    kept.len(),
                    entry.uncompressed_size
                ))));
            } else {
                p.data = (p.data * 2).max(available * 2);
                pending = true;
            }
        }
        rounds += 1;
        if !pending {
            break;
        }
        if rounds > 24 {
            return Err(protocol(
                "bundled library headers still not read after 24 rounds".into(),
            ));
        }
    }
    let mut members = Vec::with_capacity(keep.len());
    let mut record_at = None;
    for &i in &keep {
        let entry = entries[i].clone();
        if Some(i) == record {
            record_at = Some(members.len());
        }
        if let Some(kept) = prefixes
            .iter_mut()
            .find(|p| p.entry == i)
            .and_then(|p| p.kept.take())
        {
            members.push(RawMember {
                entry: Entry {
                    method: 0,
                    // Only the UTF-8 name flag still applies to a stored member.
                    flags: entry.flags & 0x0800,
                    crc32: crc32fast::hash(&kept),
                    compressed_size: kept.len() as u64,
                    uncompressed_size: kept.len() as u64,
                    ..entry.clone()
                },
                compressed: kept,
                original_size: Some(entry.uncompressed_size),
            });
            continue;
        }
        let (start, end) = span(&entry)?;
        let local = pieces
            .slice(start, end)
            .ok_or_else(|| protocol(format!("{} not read", entry.name)))?;
        let data = zipdir::data_start(local).map_err(zip)?;
        let compressed = local
            .get(data..data + entry.compressed_size as usize)
            .ok_or_else(|| {
                zip(zipdir::ZipError(format!(
                    "{}: data runs past the next member",
                    entry.name
                )))
            })?
            .to_vec();
        members.push(RawMember {
            entry,
            compressed,
            original_size: None,
        });
    }
    let whole_download = matches!(mode, Mode::Whole) || pieces.1;
    let whole_sha256 = whole_download.then(|| crate::hex(&crate::sha256(&pieces.0[0].1)));
    Ok(WheelRead {
        entries,
        members,
        record: record_at,
        whole_download,
        file_size: size,
        whole_sha256,
    })
}

/// GET `start..end` (end exclusive). A 200 means the server ignored the range after all: the
/// whole body is then kept as the one piece and the wanted part returned from it.
fn fetch_range(
    http: &Http,
    url: &str,
    start: u64,
    end: u64,
    pieces: &mut Pieces,
) -> Result<Vec<u8>, ReadError> {
    let answer = ranged(http, url, &format!("bytes={start}-{}", end - 1))?;
    match answer.status {
        206 => {
            let got = content_range(answer.content_range.as_deref()).map(|(s, _)| s);
            if got != Some(start) || answer.body.len() as u64 != end - start {
                return Err(ReadError::Protocol {
                    url: url.to_string(),
                    message: format!(
                        "asked for bytes {start}-{}, got {:?} ({} bytes)",
                        end - 1,
                        answer.content_range,
                        answer.body.len()
                    ),
                });
            }
            Ok(answer.body)
        }
        200 if answer.body.len() as u64 >= end => {
            let wanted = answer.body[start as usize..end as usize].to_vec();
            pieces.0 = vec![(0, answer.body)];
            pieces.1 = true;
            Ok(wanted)
        }
        status => Err(ReadError::Protocol {
            url: url.to_string(),
            message: format!("HTTP {status} for bytes {start}-{}", end - 1),
        }),
    }
}

fn ranged(http: &Http, url: &str, range: &str) -> Result<Answer, HttpError> {
    // identity: a compressed answer would make byte offsets meaningless.
    http.get(url, &[("Range", range), ("Accept-Encoding", "identity")])
}

/// `bytes START-END/TOTAL` -> (START, TOTAL).
fn content_range(header: Option<&str>) -> Option<(u64, u64)> {
    let rest = header?.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (start, _) = span.split_once('-')?;
    Some((start.trim().parse().ok()?, total.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_parses() {
        assert_eq!(content_range(Some("bytes 100-199/5000")), Some((100, 5000)));
        assert_eq!(content_range(Some("bytes */5000")), None);
        assert_eq!(content_range(None), None);
    }
}
