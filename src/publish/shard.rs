//! `--shard K/N`: a deterministic split by distribution, so every shard scans whole packages
//! (their package-level findings stay together) and N machines cover the scan exactly once.

use ftaudit_discover::Discovery;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based, as CI matrices count.
    pub index: u32,
    pub count: u32,
}

/// "2/5" -> shard 2 of 5.
pub fn parse_shard(text: &str) -> Result<Shard, String> {
    let bad = || format!("--shard {text:?}: write K/N with 1 <= K <= N (e.g. 2/5)");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (index, count): (u32, u32) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if count == 0 || index == 0 || index > count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

/// FNV-1a: stable across runs, machines and Rust versions (unlike the std hasher).
fn stable_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The shard a distribution (or, for a file no RECORD claims, its path) belongs to.
fn shard_of(key: &str, count: u32) -> u32 {
    (stable_hash(key) % u64::from(count)) as u32 + 1
}

impl Shard {
    /// Keeps this shard's part of a discovery: its distributions and their files. Input
    /// problems stay in shard 1 only, so the union counts each once.
    pub fn apply(&self, discovery: &mut Discovery) {
        let key = |name: &str| crate::policy::normalise_name(name);
        discovery
            .distributions
            .retain(|d| shard_of(&key(&d.name), self.count) == self.index);
        discovery.files.retain(|f| {
            let k = match &f.distribution {
                Some(d) => key(d),
                None => f.path.clone(),
            };
            shard_of(&k, self.count) == self.index
        });
        if self.index != 1 {
            discovery.problems.clear();
        }
    }
}
