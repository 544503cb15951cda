//! Reading a native file's bytes: installed files are memory-mapped; wheel members are
//! borrowed from the mapped wheel when stored, inflated into memory when deflated. Nothing is
//! written to disk.

use std::fs::File;
use std::io::{Cursor, Read};
use std::ops::{Deref, Range};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
        match location {
            Location::Disk(path) => map_file(path),
            Location::WheelMember { wheel, index, name } => {
                self.read_member(&self.wheels[*wheel], *index, name)
            }
        }
    }

    fn read_member(
        &self,
        wheel: &OpenWheel,
        index: usize,
        name: &str,
    ) -> Result<FileBytes, FileProblem> {
        let unreadable = |e: &dyn std::fmt::Display| FileProblem {
            kind: FileProblemKind::Unreadable,
            message: format!("cannot read {name} from {}: {e}", wheel.path.display()),
        };
        let mut archive = wheel.archive.clone();
        let mut member = archive.by_index(index).map_err(|e| unreadable(&e))?;
        if member.compression() == CompressionMethod::Stored {
            let start = usize::try_from(member.data_start()).map_err(|e| unreadable(&e))?;
            let len = usize::try_from(member.size()).map_err(|e| unreadable(&e))?;
            let end = start
                .checked_add(len)
                .filter(|&end| end <= wheel.map.as_ref().len());
            return match end {
                Some(end) => Ok(FileBytes::Borrowed {
                    map: wheel.map.clone(),
                    range: start..end,
                }),
                None => Err(unreadable(&"member extends past the end of the wheel")),
            };
        }
        // The declared size is untrusted input: cap the up-front allocation.
        let mut bytes = Vec::with_capacity(member.size().min(1 << 30) as usize);
        member.read_to_end(&mut bytes).map_err(|e| unreadable(&e))?;
        Ok(FileBytes::Owned(bytes))
    }
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
    // SAFETY: the mapping is read-only; a file truncated under us can fault, which is the
    // same risk every mmap-based reader (ripgrep, rustc) accepts for installed files.
    let map = unsafe { Mmap::map(&file) }.map_err(unreadable)?;
    Ok(FileBytes::Mapped(map))
}

pub(crate) fn open_wheel(path: &Path) -> Result<OpenWheel, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    // SAFETY: as in map_file.
    let map = SharedMap(Arc::new(
        unsafe { Mmap::map(&file) }.map_err(|e| e.to_string())?,
    ));
    let archive = ZipArchive::new(Cursor::new(map.clone()))
        .map_err(|e| format!("not a valid wheel (zip): {e}"))?;
    Ok(OpenWheel {
        path: path.to_path_buf(),
        map,
        archive,
    })
}
