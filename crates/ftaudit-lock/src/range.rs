//! Reading a remote wheel in pieces: the tail (central directory), then one ranged GET per run
//! of wanted members. A server that ignores ranges (200) or refuses them (416) gets the whole
//! file downloaded instead, which is then checked against the lock's/index's sha256.

use crate::http::{Answer, Http, HttpError};
use crate::slim::RawMember;
use crate::zipdir::{self, Entry, Located};

/// Bytes of the first tail read: the central directory of all but the largest wheels fits.
const TAIL: u64 = 64 * 1024;
/// Members closer than this are fetched in one request (a request costs more than 64 KiB).
const MERGE_GAP: u64 = 64 * 1024;

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
    fn slice(&self, start: u64, end: u64) -> Option<&[u8]> {
        self.0.iter().find_map(|(at, bytes)| {
            (start >= *at && end <= at + bytes.len() as u64)
                .then(|| &bytes[(start - at) as usize..(end - at) as usize])
        })
    }
}

enum Mode {
    Ranges { size: u64 },
    Whole,
}

/// Reads the central directory and the members `wanted` picks of the wheel at `url`; with
/// `whole`, the whole file (the only way to check a lock hash the index does not confirm).
pub(crate) fn read_wheel(
    http: &Http,
    url: &str,
    whole: bool,
    wanted: impl Fn(&[Entry]) -> (Vec<usize>, Option<usize>),
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
    let mut spans = keep
        .iter()
        .map(|&i| span(&entries[i]))
        .collect::<Result<Vec<_>, _>>()?;
    spans.sort_unstable();
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for (start, end) in spans {
        match runs.last_mut() {
            Some(last) if start <= last.1 + MERGE_GAP => last.1 = last.1.max(end),
            _ => runs.push((start, end)),
        }
    }
    for (start, end) in runs {
        if pieces.slice(start, end).is_none() {
            let bytes = fetch_range(http, url, start, end, &mut pieces)?;
            pieces.0.push((start, bytes));
        }
    }
    let mut members = Vec::with_capacity(keep.len());
    let mut record_at = None;
    for &i in &keep {
        let entry = entries[i].clone();
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
        if Some(i) == record {
            record_at = Some(members.len());
        }
        members.push(RawMember { entry, compressed });
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
