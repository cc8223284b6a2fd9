//! `--shard i/n`: a deterministic slice of a sweep for a cluster's job array. Shard `i` of
//! `n` runs the points whose index satisfies `index % n == i`, so the shards partition the
//! points and [`crate::dse::merge`] restores the single-run order by point index.

use crate::error::{Error, Result};

/// Shard `index` of `count` (0-based index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, in `0..count`.
    pub index: usize,
    /// Number of shards, at least 1.
    pub count: usize,
}

impl Shard {
    /// The whole sweep.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `i/n` with `0 <= i < n`.
    pub fn parse(s: &str) -> Result<Shard> {
        let err = |m: &str| Error::input("--shard", s, m.to_string());
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| err("expected i/n, e.g. 0/4 (shard 0 of 4)"))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| err("shard index must be an integer >= 0"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| err("shard count must be an integer >= 1"))?;
        if count == 0 || index >= count {
            return Err(err("need 0 <= i < n"));
        }
        Ok(Shard { index, count })
    }

    /// True when point `index` belongs to this shard.
    pub fn contains(&self, point: usize) -> bool {
        point % self.count == self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_partition() {
        let s = Shard::parse("1/3").unwrap();
        assert_eq!(s, Shard { index: 1, count: 3 });
        let taken: Vec<usize> = (0..7).filter(|&p| s.contains(p)).collect();
        assert_eq!(taken, vec![1, 4]);
        for bad in ["3/3", "x/2", "1", "0/0", "-1/2"] {
            let e = Shard::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("--shard"), "{e}");
        }
        // Every point lands in exactly one shard.
        for p in 0..20 {
            assert_eq!(
                (0..4)
                    .filter(|&i| Shard { index: i, count: 4 }.contains(p))
                    .count(),
                1
            );
        }
    }
}
