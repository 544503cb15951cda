//! A lock file audited before install (`ftaudit scan pylock.toml --python 3.14t --platform ...`):
//! which wheel each pin gets on each target, what was read of it, and the pins with none.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LockAudit {
    pub lock: PathBuf,
    /// `requirements`, `pylock` or `uv-lock`.
    pub format: String,
    /// The indexes asked (PEP 691 JSON, PEP 503 HTML as fallback).
    pub indexes: Vec<String>,
    pub targets: Vec<LockTarget>,
    /// Network requests made, and bytes read (index pages and wheel ranges). 0 on a warm cache.
    pub requests: u64,
    pub bytes_read: u64,
    /// Sum of the picked wheels' full sizes, to compare `bytes_read` with.
    pub picked_wheel_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LockTarget {
    /// `cp314t-win_amd64`.
    pub name: String,
    /// Each pin's wheel for this target; its native members are the report's files.
    pub wheels: Vec<LockWheel>,
    /// Pins whose wheel here is pure Python (nothing to audit), `name==version wheel`.
    pub pure: Vec<String>,
    /// Pins with no wheel to audit here, and why.
    pub missing: Vec<LockMissing>,
    /// Pins whose environment marker is false for this target.
    pub not_applicable: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LockWheel {
    pub name: String,
    pub version: String,
    pub wheel: String,
    pub url: String,
    /// The server ignored range requests: the whole wheel was read (and its sha256 checked).
    pub whole_download: bool,
    pub from_cache: bool,
    pub native_members: usize,
    /// Members checked against their RECORD sha256.
    pub record_checked: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LockMissing {
    pub name: String,
    pub version: String,
    /// The pin's line in the lock file.
    pub line: usize,
    pub reason: String,
    /// True when this leaves something unchecked (an sdist to build, a GIL-only wheel, an
    /// unreachable index, a hash mismatch); false for a pure-Python wheel on this target
    /// while others get native ones (reported, nothing to audit).
    pub could_not_check: bool,
}
