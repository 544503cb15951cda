//! The few zip structures range reading needs: the end-of-central-directory records (zip64
//! included), central directory entries and local file headers. Read from byte slices that
//! start at a known file offset, so only the tail and the wanted members need be fetched.

/// One central directory entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub name: String,
    pub method: u16,
    pub flags: u16,
    pub crc32: u32,
    pub compressed_size: u64,
    pub uncompressed_size: u64,
    pub local_offset: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("not a readable zip: {0}")]
pub(crate) struct ZipError(pub String);

fn bad(message: impl Into<String>) -> ZipError {
    ZipError(message.into())
}

const EOCD: u32 = 0x0605_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
const ZIP64_EOCD: u32 = 0x0606_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}
fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8)
        .map(|s| u64::from_le_bytes(s.try_into().expect("8 bytes")))
}

/// Where the central directory lies, found from the file's tail.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Located {
    Directory {
        offset: u64,
        size: u64,
    },
    /// The zip64 record starts before the tail that was read: read from this offset.
    NeedFrom(u64),
}

/// Finds the central directory from `tail`, the bytes at `tail_start..` up to the end.
pub(crate) fn locate(tail: &[u8], tail_start: u64) -> Result<Located, ZipError> {
    if tail.len() < 22 {
        return Err(bad("shorter than an end-of-central-directory record"));
    }
    // The record is 22 bytes plus a comment of up to 64 KiB; the last signature whose comment
    // length reaches exactly the end is the record.
    let eocd = (0..=tail.len() - 22)
        .rev()
        .find(|&at| {
            u32_at(tail, at) == Some(EOCD)
                && at + 22 + u16_at(tail, at + 20).unwrap_or(0) as usize == tail.len()
        })
        .or_else(|| {
            (0..=tail.len() - 22)
                .rev()
                .find(|&at| u32_at(tail, at) == Some(EOCD))
        })
        .ok_or_else(|| bad("no end-of-central-directory record in the last bytes"))?;
    let size32 = u32_at(tail, eocd + 12).expect("in record");
    let offset32 = u32_at(tail, eocd + 16).expect("in record");
    let has_locator = eocd >= 20 && u32_at(tail, eocd - 20) == Some(ZIP64_LOCATOR);
    if !has_locator {
        return Ok(Located::Directory {
            offset: offset32 as u64,
            size: size32 as u64,
        });
    }
    let record = u64_at(tail, eocd - 20 + 8).expect("in locator");
    if record < tail_start {
        return Ok(Located::NeedFrom(record));
    }
    let at = (record - tail_start) as usize;
    if u32_at(tail, at) != Some(ZIP64_EOCD) {
        return Err(bad("zip64 locator points at no zip64 record"));
    }
    let size = u64_at(tail, at + 40).ok_or_else(|| bad("short zip64 record"))?;
    let offset = u64_at(tail, at + 48).ok_or_else(|| bad("short zip64 record"))?;
    Ok(Located::Directory { offset, size })
}

/// Parses the central directory bytes.
pub(crate) fn entries(directory: &[u8]) -> Result<Vec<Entry>, ZipError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 46 <= directory.len() && u32_at(directory, at) == Some(CENTRAL) {
        let field16 = |o| u16_at(directory, at + o).expect("in header");
        let field32 = |o| u32_at(directory, at + o).expect("in header");
        let (name_len, extra_len, comment_len) = (
            field16(28) as usize,
            field16(30) as usize,
            field16(32) as usize,
        );
        let name_bytes = directory
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| bad("truncated entry name"))?;
        let extra = directory
            .get(at + 46 + name_len..at + 46 + name_len + extra_len)
            .ok_or_else(|| bad("truncated extra field"))?;
        let mut entry = Entry {
            name: String::from_utf8_lossy(name_bytes).into_owned(),
            flags: field16(8),
            method: field16(10),
            crc32: field32(16),
            compressed_size: field32(20) as u64,
            uncompressed_size: field32(24) as u64,
            local_offset: field32(42) as u64,
        };
        apply_zip64_extra(&mut entry, extra)?;
        out.push(entry);
        at += 46 + name_len + extra_len + comment_len;
    }
    if at != directory.len() {
        return Err(bad(format!(
            "central directory ends in garbage at byte {at} of {}",
            directory.len()
        )));
    }
    Ok(out)
}

/// The zip64 extra field (0x0001) holds, in order, whichever of the sizes and the offset are
/// 0xFFFFFFFF in the fixed header.
fn apply_zip64_extra(entry: &mut Entry, extra: &[u8]) -> Result<(), ZipError> {
    let mut at = 0;
    while at + 4 <= extra.len() {
        let id = u16_at(extra, at).expect("in extra");
        let len = u16_at(extra, at + 2).expect("in extra") as usize;
        if id == 0x0001 {
            let data = extra
                .get(at + 4..at + 4 + len)
                .ok_or_else(|| bad("truncated zip64 extra"))?;
            let mut pos = 0;
            let mut next = || {
                let v = u64_at(data, pos).ok_or_else(|| bad("short zip64 extra"));
                pos += 8;
                v
            };
            if entry.uncompressed_size == 0xFFFF_FFFF {
                entry.uncompressed_size = next()?;
            }
            if entry.compressed_size == 0xFFFF_FFFF {
                entry.compressed_size = next()?;
            }
            if entry.local_offset == 0xFFFF_FFFF {
                entry.local_offset = next()?;
            }
            return Ok(());
        }
        at += 4 + len;
    }
    Ok(())
}

/// Offset of a member's data within `local`, bytes that start at its local header.
pub(crate) fn data_start(local: &[u8]) -> Result<usize, ZipError> {
    if u32_at(local, 0) != Some(LOCAL) {
        return Err(bad(
            "no local file header where the central directory points",
        ));
    }
    let name_len = u16_at(local, 26).ok_or_else(|| bad("short local header"))? as usize;
    let extra_len = u16_at(local, 28).ok_or_else(|| bad("short local header"))? as usize;
    Ok(30 + name_len + extra_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_bytes(zip64: bool) -> Vec<u8> {
        let mut out = std::io::Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut out);
            let opts = zip::write::SimpleFileOptions::default().large_file(zip64);
            w.start_file("a/b.so", opts).unwrap();
            w.write_all(&[7u8; 1000]).unwrap();
            w.start_file("a-1.dist-info/RECORD", opts).unwrap();
            w.write_all(b"a/b.so,,\n").unwrap();
            w.finish().unwrap();
        }
        out.into_inner()
    }

    #[test]
    fn reads_the_directory_from_a_tail_only() {
        for zip64 in [false, true] {
            let bytes = zip_bytes(zip64);
            let tail_start = bytes.len() as u64 - 200.min(bytes.len() as u64);
            let (offset, size) = match locate(&bytes[tail_start as usize..], tail_start).unwrap() {
                Located::Directory { offset, size } => (offset, size),
                Located::NeedFrom(from) => match locate(&bytes[from as usize..], from).unwrap() {
                    Located::Directory { offset, size } => (offset, size),
                    other => panic!("{other:?}"),
                },
            };
            let list = entries(&bytes[offset as usize..(offset + size) as usize]).unwrap();
            let names: Vec<_> = list.iter().map(|e| e.name.as_str()).collect();
            assert_eq!(names, ["a/b.so", "a-1.dist-info/RECORD"]);
            assert_eq!(list[0].uncompressed_size, 1000);
            let start = data_start(&bytes[list[0].local_offset as usize..]).unwrap();
            assert_eq!(start, 30 + 6 + if zip64 { 20 } else { 0 });
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(locate(&[0u8; 100], 0).is_err());
        assert!(entries(b"PK\x01\x02short").is_err());
    }
}
