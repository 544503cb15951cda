//! Reading a native file's bytes: installed files are memory-mapped; wheel members are
//! borrowed from the mapped wheel when stored, inflated into memory when deflated. Nothing is
//! written to disk.

use std::fs::File;
use std::io::Cursor;
use std::ops::{Deref, Range};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flate2::{Decompress, FlushDecompress, Status};
use ftaudit_model::{FileProblem, FileProblemKind};
use memmap2::Mmap;
use zip::{CompressionMethod, ZipArchive};

use crate::Location;

/// A mapped wheel shared by every reader of its members.
#[derive(Clone, Debug)]
pub struct SharedMap(Arc<Mmap>);

impl AsRef<[u8]> for SharedMap {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

pub(crate) type WheelArchive = ZipArchive<Cursor<SharedMap>>;

#[derive(Debug)]
pub(crate) struct OpenWheel {
    pub path: PathBuf,
    pub map: SharedMap,
    pub archive: WheelArchive,
}

/// The open inputs behind [`Location`]s. Cheap to share across threads.
#[derive(Debug, Default)]
pub struct Sources {
    wheels: Vec<OpenWheel>,
}

/// A file's bytes, however they were obtained.
#[derive(Debug)]
pub enum FileBytes {
    Mapped(Mmap),
    Owned(Vec<u8>),
    Borrowed { map: SharedMap, range: Range<usize> },
}

impl Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(map) => map,
            FileBytes::Owned(bytes) => bytes,
            FileBytes::Borrowed { map, range } => &map.as_ref()[range.clone()],
        }
    }
}

impl Sources {
    pub(crate) fn add_wheel(&mut self, wheel: OpenWheel) -> usize {
        self.wheels.push(wheel);
        self.wheels.len() - 1
    }

    pub fn wheel_path(&self, index: usize) -> &Path {
        &self.wheels[index].path
    }

    pub fn read(&self, location: &Location) -> Result<FileBytes, FileProblem> {
        self.read_up_to(location, None)
    }

    /// The first `len` bytes of a file, or all of it when shorter. A deflated wheel member is
    /// inflated only that far (and its CRC cannot be checked). Installed files are mapped
    /// whole, which costs nothing until pages are touched.
    pub fn read_head(&self, location: &Location, len: usize) -> Result<FileBytes, FileProblem> {
        self.read_up_to(location, Some(len))
    }

    fn read_up_to(
        &self,
        location: &Location,
        limit: Option<usize>,
    ) -> Result<FileBytes, FileProblem> {
        match location {
            Location::Disk(path) => map_file(path),
            Location::WheelMember { wheel, index, name } => {
                read_member(&self.wheels[*wheel], *index, name, limit)
            }
        }
    }
}

fn read_member(
    wheel: &OpenWheel,
    index: usize,
    name: &str,
    limit: Option<usize>,
) -> Result<FileBytes, FileProblem> {
    let unreadable = |e: &dyn std::fmt::Display| FileProblem {
        kind: FileProblemKind::Unreadable,
        message: format!("cannot read {name} from {}: {e}", wheel.path.display()),
    };
    let mut archive = wheel.archive.clone();
    let member = archive.by_index_raw(index).map_err(|e| unreadable(&e))?;
    if member.encrypted() {
        return Err(unreadable(&"the member is encrypted"));
    }
    let method = member.compression();
    let (start, stored_len, size, crc) = (
        member.data_start(),
        member.compressed_size(),
        member.size(),
        member.crc32(),
    );
    let range = usize::try_from(start)
        .ok()
        .zip(usize::try_from(stored_len).ok())
        .and_then(|(start, len)| Some(start..start.checked_add(len)?))
        .filter(|range| range.end <= wheel.map.as_ref().len())
        .ok_or_else(|| unreadable(&"member extends past the end of the wheel"))?;
    let compressed = &wheel.map.as_ref()[range.clone()];
    match (method, limit) {
        (CompressionMethod::Stored, limit) => {
            let end = limit.map_or(range.end, |l| range.end.min(range.start.saturating_add(l)));
            Ok(FileBytes::Borrowed {
                map: wheel.map.clone(),
                range: range.start..end,
            })
        }
        (CompressionMethod::Deflated, _) if looks_like_a_bomb(stored_len, size) => Err(FileProblem {
            kind: FileProblemKind::Malformed,
            message: format!(
                "{name} in {} declares {size} bytes from {stored_len} compressed: a ratio no native binary has (a zip bomb?), not inflated",
                wheel.path.display()
            ),
        }),
        (CompressionMethod::Deflated, Some(limit)) if (limit as u64) < size => {
            inflate_head(compressed, limit)
                .map(FileBytes::Owned)
                .map_err(|e| unreadable(&e))
        }
        (CompressionMethod::Deflated, _) => {
            let bytes = inflate(compressed, size).map_err(|e| unreadable(&e))?;
            if crc32fast::hash(&bytes) != crc {
                return Err(unreadable(&"CRC-32 mismatch: the member is corrupt"));
            }
            Ok(FileBytes::Owned(bytes))
        }
        (other, _) => Err(unreadable(&format!("unsupported compression {other}"))),
    }
}

/// The first `len` bytes of a raw deflate stream.
fn inflate_head(compressed: &[u8], len: usize) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::with_capacity(len);
    let mut inflater = Decompress::new(false);
    match inflater.decompress_vec(compressed, &mut bytes, FlushDecompress::None) {
        Ok(_) => Ok(bytes),
        Err(e) => Err(format!("corrupt deflate stream: {e}")),
    }
}

/// Inflates a raw deflate stream in one call, straight into a buffer of the size the zip
/// directory declares: no intermediate buffer, no copy.
fn inflate(compressed: &[u8], declared_size: u64) -> Result<Vec<u8>, String> {
    // The declared size is untrusted input: cap the up-front allocation.
    let capacity = usize::try_from(declared_size.min(MAX_MEMBER_SIZE)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity);
    let mut inflater = Decompress::new(false);
    match inflater.decompress_vec(compressed, &mut bytes, FlushDecompress::Finish) {
        Ok(Status::StreamEnd) if bytes.len() as u64 == declared_size => Ok(bytes),
        Ok(Status::StreamEnd) => Err(format!(
            "inflates to {} bytes but the zip directory says {declared_size}",
            bytes.len()
        )),
        Ok(_) if declared_size > MAX_MEMBER_SIZE => Err(format!(
            "declares {declared_size} bytes, more than ftaudit reads from one member"
        )),
        Ok(_) => Err(format!(
            "the deflate stream does not end within the {declared_size} bytes the zip directory declares"
        )),
        Err(e) => Err(format!("corrupt deflate stream: {e}")),
    }
}

/// 1 GiB: larger than any native file seen in a wheel (libarrow is 55 MB).
const MAX_MEMBER_SIZE: u64 = 1 << 30;

/// Members up to this size are inflated whatever their ratio: the memory is small anyway.
const BOMB_CHECK_ABOVE: u64 = 64 << 20;
/// Native binaries deflate 2-5x; even mostly-zero ones stay far below this. Deflate itself
/// cannot exceed about 1032:1, so a higher declared ratio is a lie in any case.
const MAX_PLAUSIBLE_RATIO: u64 = 100;

/// A big member that claims to inflate far more than code and data ever do.
fn looks_like_a_bomb(compressed: u64, declared: u64) -> bool {
    declared > BOMB_CHECK_ABOVE && declared / compressed.max(1) > MAX_PLAUSIBLE_RATIO
}

pub(crate) fn map_file(path: &Path) -> Result<FileBytes, FileProblem> {
    let unreadable = |e: std::io::Error| FileProblem {
        kind: FileProblemKind::Unreadable,
        message: format!("cannot read {}: {e}", path.display()),
    };
    let file = File::open(path).map_err(unreadable)?;
    let len = file.metadata().map_err(unreadable)?.len();
    if len == 0 {
        return Ok(FileBytes::Owned(Vec::new()));
    }
    // SAFETY: the mapping is read-only; a file truncated under us can fault, which is the same risk every mmap-based reader (ripgrep, rustc) accepts for installed files.
    let map = unsafe { Mmap::map(&file) }.map_err(unreadable)?;
    Ok(FileBytes::Mapped(map))
}

/// The entry count the zip's end-of-central-directory record declares (ZIP64 where the
/// classic field is saturated). The zip reader keys members by name, so duplicates collapse
/// there: a count above its `len()` is how duplicate names show.
pub(crate) fn declared_entry_count(bytes: &[u8]) -> Option<u64> {
    const EOCD: &[u8] = b"PK\x05\x06";
    const ZIP64_LOCATOR: &[u8] = b"PK\x06\x07";
    const ZIP64_EOCD: &[u8] = b"PK\x06\x06";
    // The record is 22 bytes plus a comment of at most 65535.
    let search_from = bytes.len().saturating_sub(22 + 65535);
    let at = bytes[search_from..]
        .windows(4)
        .rposition(|w| w == EOCD)
        .map(|i| i + search_from)?;
    let record = bytes.get(at..at + 22)?;
    let count = u16::from_le_bytes([record[10], record[11]]);
    if count != u16::MAX {
        return Some(u64::from(count));
    }
    let locator = bytes.get(at.checked_sub(20)?..at)?;
    if &locator[..4] != ZIP64_LOCATOR {
        return None;
    }
    let offset = usize::try_from(u64::from_le_bytes(locator[8..16].try_into().ok()?)).ok()?;
    let zip64 = bytes.get(offset..offset.checked_add(56)?)?;
    if &zip64[..4] != ZIP64_EOCD {
        return None;
    }
    Some(u64::from_le_bytes(zip64[32..40].try_into().ok()?))
}

pub(crate) fn open_wheel(path: &Path) -> Result<OpenWheel, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    // SAFETY: as in map_file: read-only, and a wheel truncated while mapped is the one accepted risk of reading by mmap.
    let mapped = unsafe { Mmap::map(&file) }.map_err(|e| e.to_string())?;
    let map = SharedMap(Arc::new(mapped));
    let archive = ZipArchive::new(Cursor::new(map.clone()))
        .map_err(|e| format!("not a valid wheel (zip): {e}"))?;
    Ok(OpenWheel {
        path: path.to_path_buf(),
        map,
        archive,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use zip::write::SimpleFileOptions;

    use super::*;

    /// 300 KB that deflate shrinks but does not erase.
    fn payload() -> Vec<u8> {
        (0u32..300_000)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 & 0x0f)
            .collect()
    }

    fn wheel_with(members: &[(&str, CompressionMethod)]) -> (tempfile::TempDir, OpenWheel) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x-1.0-py3-none-any.whl");
        let mut writer = zip::ZipWriter::new(File::create(&path).unwrap());
        for (name, method) in members {
            let options = SimpleFileOptions::default().compression_method(*method);
            writer.start_file(*name, options).unwrap();
            writer.write_all(&payload()).unwrap();
        }
        writer.finish().unwrap();
        let wheel = open_wheel(&path).unwrap();
        (dir, wheel)
    }

    #[test]
    fn members_read_whole_or_only_their_head() {
        let (_dir, wheel) = wheel_with(&[
            ("x/deflated.so", CompressionMethod::Deflated),
            ("x/stored.so", CompressionMethod::Stored),
        ]);
        let whole = payload();
        for index in 0..2 {
            let all = read_member(&wheel, index, "m", None).unwrap();
            assert_eq!(&*all, &whole[..]);
            let head = read_member(&wheel, index, "m", Some(4096)).unwrap();
            assert_eq!(&*head, &whole[..4096]);
            let longer_than_file = read_member(&wheel, index, "m", Some(1 << 20)).unwrap();
            assert_eq!(&*longer_than_file, &whole[..]);
        }
    }

    #[test]
    fn a_corrupt_member_is_unreadable_with_the_reason() {
        let (dir, wheel) = wheel_with(&[("x/deflated.so", CompressionMethod::Deflated)]);
        let path = wheel.path.clone();
        let middle = {
            let mut archive = wheel.archive.clone();
            let member = archive.by_index_raw(0).unwrap();
            (member.data_start() + member.compressed_size() / 2) as usize
        };
        drop(wheel);
        // Flip bytes in the middle of the deflate stream: the stream breaks or the CRC fails.
        let mut bytes = std::fs::read(&path).unwrap();
        for b in &mut bytes[middle..middle + 8] {
            *b ^= 0x5a;
        }
        std::fs::write(&path, bytes).unwrap();
        let wheel = open_wheel(&path).unwrap();
        let problem = read_member(&wheel, 0, "x/deflated.so", None).unwrap_err();
        assert_eq!(problem.kind, FileProblemKind::Unreadable);
        assert!(
            problem
                .message
                .starts_with("cannot read x/deflated.so from ")
                && (problem.message.contains("CRC-32") || problem.message.contains("deflate")),
            "{}",
            problem.message
        );
        drop(dir);
    }
}
