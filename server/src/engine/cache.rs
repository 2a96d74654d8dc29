//! The inference cache: model outputs keyed by [`coral_core::ModelInput::content_hash`], so a
//! cell whose model inputs did not change (same tokens, structure and markdown context) is never
//! run through the model twice.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use coral_core::Stage;

/// Key: sha256 of everything the model sees.
pub type CacheKey = [u8; 32];
/// Value: the model's six stage probabilities (five stages and the dummy NONE).
pub type StageProbs = [f32; Stage::OUTPUTS];

const SHARDS: usize = 16;

/// A sharded, bounded map from input hash to stage probabilities. When a shard outgrows its
/// share of the capacity it is emptied (cheap, and a cold entry costs only one re-run).
#[derive(Debug)]
pub struct ProbCache {
    shards: Vec<Mutex<HashMap<CacheKey, StageProbs>>>,
    per_shard: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ProbCache {
    /// A cache holding about `capacity` entries (0 disables caching).
    pub fn new(capacity: usize) -> ProbCache {
        ProbCache {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn shard(&self, key: &CacheKey) -> &Mutex<HashMap<CacheKey, StageProbs>> {
        &self.shards[usize::from(key[0]) % SHARDS]
    }

    pub fn get(&self, key: &CacheKey) -> Option<StageProbs> {
        if self.per_shard == 0 {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let found = self
            .shard(key)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(key)
            .copied();
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    pub fn insert(&self, key: CacheKey, probs: StageProbs) {
        if self.per_shard == 0 {
            return;
        }
        let mut shard = self
            .shard(&key)
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if shard.len() >= self.per_shard && !shard.contains_key(&key) {
            shard.clear();
        }
        shard.insert(key, probs);
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                s.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .len()
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lookups that found an entry.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Lookups that found none.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_misses_and_bounded_size() {
        let cache = ProbCache::new(32);
        let key = [7u8; 32];
        assert_eq!(cache.get(&key), None);
        cache.insert(key, [0.5, 0.5, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(cache.get(&key).map(|p| p[0]), Some(0.5));
        assert_eq!((cache.hits(), cache.misses()), (1, 1));
        for i in 0..200u8 {
            let mut k = [0u8; 32];
            k[0] = i;
            k[1] = i.wrapping_mul(7);
            cache.insert(k, [0.0; 6]);
        }
        assert!(cache.len() <= 32 + SHARDS, "cache grew to {}", cache.len());
        let off = ProbCache::new(0);
        off.insert(key, [0.0; 6]);
        assert_eq!(off.get(&key), None);
    }
}
