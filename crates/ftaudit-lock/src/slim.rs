//! Slim wheels: which members a static audit needs (native files and three dist-info files),
//! their check against the wheel's RECORD, and writing them out as a valid zip with the members'
//! compressed bytes copied as they were (no recompression; the CRCs stay the original ones).
//! Bundled libraries (native files no import can load) are the exception: only their first
//! [`HEADER_BYTES`] (plus one) are read, and kept stored (uncompressed) under their own CRC.

use std::io::{Read, Write};
use std::path::Path;

use crate::zipdir::Entry;

/// `.so`, `.pyd`, `.dylib`, `.dll` and versioned shared objects (`libgfortran.so.5`), the same
/// rule the scanner's discovery uses, so every file it would audit is kept.
pub fn is_native_member(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let file = lower.rsplit('/').next().unwrap_or(&lower);
    [".so", ".pyd", ".dylib", ".dll"]
        .iter()
        .any(|ext| file.ends_with(ext))
        || file.contains(".so.")
}

/// How much of a bundled library the scanner's static pass reads: the value of
/// `ftaudit_static::HEADER_BYTES` (a test checks they agree; ftaudit-static is not a build
/// dependency of this crate, it is heavy).
pub const HEADER_BYTES: usize = 64 * 1024;

/// Bytes of a bundled library a slim wheel keeps: one more than [`HEADER_BYTES`], so a scanner
/// that reads only the headers of wheel members bigger than `HEADER_BYTES` still takes the
/// headers-only path (a member of exactly `HEADER_BYTES` would be analysed as a whole file).
pub const HEADERS_KEPT: usize = HEADER_BYTES + 1;

/// A native member no import can load (`numpy.libs/libopenblas.so`, `pyarrow/libarrow.so.2400`,
/// `x.dylibs/y.dylib`, a DLL beside a `.pyd`): the scanner reads only its headers, so the slim
/// wheel holds only its first [`HEADERS_KEPT`] bytes. The rule is the scanner's:
/// [`ftaudit_discover::module_name_for`] of the installed path is None.
pub fn is_bundled_library(name: &str) -> bool {
    is_native_member(name) && ftaudit_discover::module_name_for(install_path(name)).is_none()
}

/// Where a member lands when installed: `x-1.0.data/platlib/a/b.so` -> `a/b.so` (the same
/// mapping the scanner's wheel reader makes before naming modules).
fn install_path(member: &str) -> &str {
    if let Some((first, rest)) = member.split_once('/') {
        if first.ends_with(".data") {
            if let Some(rest) = rest
                .strip_prefix("platlib/")
                .or_else(|| rest.strip_prefix("purelib/"))
            {
                return rest;
            }
        }
    }
    member
}

/// Indexes into `entries` of the members a slim wheel keeps, and the index of RECORD.
pub(crate) fn wanted(entries: &[Entry], distribution: &str) -> (Vec<usize>, Option<usize>) {
    // The wheel's own dist-info is top level; vendored ones deeper down are not it.
    let dist_infos: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.name.split_once('/').map(|(dir, _)| dir))
        .filter(|dir| dir.ends_with(".dist-info"))
        .collect();
    let own = dist_infos
        .iter()
        .find(|d| {
            crate::parse::normalize_name(d.split('-').next().unwrap_or_default())
                == crate::parse::normalize_name(distribution)
        })
        .or(dist_infos.first())
        .map(|d| d.to_string());
    let mut keep = Vec::new();
    let mut record = None;
    for (i, entry) in entries.iter().enumerate() {
        if entry.name.ends_with('/') {
            continue;
        }
        let meta = own
            .as_ref()
            .and_then(|d| entry.name.strip_prefix(d.as_str()))
            .and_then(|rest| rest.strip_prefix('/'));
        match meta {
            Some("RECORD") => {
                record = Some(i);
                keep.push(i);
            }
            Some("METADATA") | Some("WHEEL") => keep.push(i),
            _ if is_native_member(&entry.name) => keep.push(i),
            _ => {}
        }
    }
    (keep, record)
}

/// A member read from the remote wheel: its directory entry and compressed bytes. For a
/// bundled library read only as far as its headers, `entry` describes what is kept (stored,
/// the first [`HEADERS_KEPT`] bytes, their CRC) and `original_size` is the member's real size.
pub(crate) struct RawMember {
    pub entry: Entry,
    pub compressed: Vec<u8>,
    pub original_size: Option<u64>,
}

/// The first `limit` bytes that `compressed` (a prefix of a raw deflate stream) inflates to:
/// fewer when the prefix ends first.
pub(crate) fn inflate_prefix(compressed: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let mut inflater = flate2::Decompress::new(false);
    let mut out = vec![0u8; limit];
    loop {
        let (read, written) = (inflater.total_in() as usize, inflater.total_out() as usize);
        if written == limit {
            break;
        }
        let status = inflater
            .decompress(
                &compressed[read..],
                &mut out[written..],
                flate2::FlushDecompress::None,
            )
            .map_err(|e| format!("inflate: {e}"))?;
        let progress =
            inflater.total_in() as usize != read || inflater.total_out() as usize != written;
        if status == flate2::Status::StreamEnd || !progress {
            break;
        }
    }
    out.truncate(inflater.total_out() as usize);
    Ok(out)
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum SlimError {
    #[error("{member}: {message}")]
    Bad { member: String, message: String },
    #[error("{member}: RECORD says sha256={expected}, the member hashes to {actual}")]
    RecordMismatch {
        member: String,
        expected: String,
        actual: String,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

/// Decompresses every member, checks CRC and size, checks each against RECORD, and returns the
/// number of members checked against RECORD. A bundled library kept as headers only is checked
/// for being listed in RECORD, not against its hash (its bytes were not all read).
pub(crate) fn verify(
    members: &[RawMember],
    record_index: Option<usize>,
) -> Result<usize, SlimError> {
    let bad = |member: &str, message: String| SlimError::Bad {
        member: member.to_string(),
        message,
    };
    let record_member =
        record_index.ok_or_else(|| bad("*.dist-info/RECORD", "the wheel has no RECORD".into()))?;
    let mut contents = Vec::with_capacity(members.len());
    for member in members {
        contents.push(inflate(member).map_err(|m| bad(&member.entry.name, m))?);
    }
    let record = parse_record(&contents[record_member]);
    let mut checked = 0;
    for (i, member) in members.iter().enumerate() {
        if i == record_member {
            continue;
        }
        let name = &member.entry.name;
        let expected = record
            .iter()
            .find(|(path, _)| path == name)
            .map(|(_, hash)| hash.clone())
            .ok_or_else(|| bad(name, "not listed in RECORD".into()))?;
        // Headers only: the rest of the member was never read, so RECORD cannot vouch for it.
        if member.original_size.is_some() {
            continue;
        }
        let Some(expected) = expected.strip_prefix("sha256=") else {
            return Err(bad(
                name,
                format!("RECORD has no sha256 for it ({expected:?})"),
            ));
        };
        let actual = base64_url(&crate::sha256(&contents[i]));
        if actual != expected.trim_end_matches('=') {
            return Err(SlimError::RecordMismatch {
                member: name.clone(),
                expected: expected.to_string(),
                actual,
            });
        }
        checked += 1;
    }
    Ok(checked)
}

fn inflate(member: &RawMember) -> Result<Vec<u8>, String> {
    let entry = &member.entry;
    let data = match entry.method {
        0 => member.compressed.clone(),
        8 => {
            let mut out = Vec::with_capacity(entry.uncompressed_size as usize);
            flate2::read::DeflateDecoder::new(member.compressed.as_slice())
                .read_to_end(&mut out)
                .map_err(|e| format!("inflate: {e}"))?;
            out
        }
        other => {
            return Err(format!(
                "compression method {other} is not supported (stored and deflate are)"
            ))
        }
    };
    if data.len() as u64 != entry.uncompressed_size {
        return Err(format!(
            "{} bytes, the directory says {}",
            data.len(),
            entry.uncompressed_size
        ));
    }
    if crc32fast::hash(&data) != entry.crc32 {
        return Err("CRC-32 does not match the directory".into());
    }
    Ok(data)
}

/// RECORD rows as (path, hash) pairs; CSV with optional double quotes.
fn parse_record(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let mut rows = Vec::new();
    for line in text.lines() {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' if quoted && chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = !quoted,
                ',' if !quoted => fields.push(std::mem::take(&mut field)),
                c => field.push(c),
            }
        }
        fields.push(field);
        if fields.len() >= 2 && !fields[0].is_empty() {
            rows.push((fields[0].clone(), fields[1].clone()));
        }
    }
    rows
}

/// URL-safe base64 without padding, as RECORD spells digests.
pub(crate) fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// Writes the members as a zip at `path` (through a temporary file, renamed when complete, so a
/// crash never leaves a half wheel in the cache).
pub(crate) fn write_wheel(path: &Path, members: &[RawMember]) -> Result<(), SlimError> {
    let failed = |source| SlimError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut out = Vec::new();
    let mut central = Vec::new();
    for member in members {
        let e = &member.entry;
        if e.compressed_size > u32::MAX as u64
            || e.uncompressed_size > u32::MAX as u64
            || out.len() > u32::MAX as usize
        {
            return Err(failed(std::io::Error::other(format!(
                "{} is over 4 GiB (zip64 is not written)",
                e.name
            ))));
        }
        let offset = out.len() as u32;
        // Bit 3 (sizes in a trailing data descriptor) is cleared: the sizes are in the header.
        let flags = e.flags & !0x0008;
        let name = e.name.as_bytes();
        let fixed = |buf: &mut Vec<u8>| {
            buf.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
            buf.extend_from_slice(&flags.to_le_bytes());
            buf.extend_from_slice(&e.method.to_le_bytes());
            buf.extend_from_slice(&0u32.to_le_bytes()); // DOS time and date: 1980
            buf.extend_from_slice(&e.crc32.to_le_bytes());
            buf.extend_from_slice(&(e.compressed_size as u32).to_le_bytes());
            buf.extend_from_slice(&(e.uncompressed_size as u32).to_le_bytes());
            buf.extend_from_slice(&(name.len() as u16).to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes()); // extra length
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        fixed(&mut out);
        out.extend_from_slice(name);
        out.extend_from_slice(&member.compressed);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by
        fixed(&mut central);
        central.extend_from_slice(&[0; 6]); // comment length, disk number, internal attributes
        central.extend_from_slice(&(0o100644u32 << 16).to_le_bytes()); // unix mode rw-r--r--
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    let partial = path.with_extension("whl.partial");
    std::fs::File::create(&partial)
        .and_then(|mut f| f.write_all(&out).and_then(|_| f.sync_all()))
        .and_then(|_| std::fs::rename(&partial, path))
        .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_names_and_base64() {
        for yes in [
            "a/_x.cpython-314t-x86_64-linux-gnu.so",
            "a.libs/libgfortran-1.so.5.0",
            "a/x.pyd",
            "a/lib.dylib",
            "a/x.DLL",
        ] {
            assert!(is_native_member(yes), "{yes}");
        }
        for no in ["a/x.py", "a/so", "a.dist-info/RECORD", "a/x.sox"] {
            assert!(!is_native_member(no), "{no}");
        }
        // sha256 of "" in RECORD's spelling.
        assert_eq!(
            base64_url(&crate::sha256(b"")),
            "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"
        );
        assert_eq!(base64_url(b"ab"), "YWI");
    }

    #[test]
    fn record_rows_with_quotes() {
        let rows = parse_record(b"a/b.so,sha256=x,10\n\"odd,name.so\",sha256=y,\n,,\n");
        assert_eq!(
            rows,
            [
                ("a/b.so".to_string(), "sha256=x".to_string()),
                ("odd,name.so".to_string(), "sha256=y".to_string())
            ]
        );
    }
}
