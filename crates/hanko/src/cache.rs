//! A bounded map from the text of a DNS record to what it parses into, shared by the
//! checks of many messages ([`crate::dkim::KeyCache`], [`crate::spf::RecordCache`]).
//!
//! The key is the record's text, not the name it was found at: the lookup is still made
//! every time (the resolver's cache answers it for the record's TTL), and a parsed value is
//! used only while DNS still returns exactly the text it came from. So the cache can never
//! serve a record that has changed or expired; it only saves parsing it again.
//!
//! Bounded by two generations: new entries go into the current one; when it holds half the
//! capacity it becomes the previous one (the old previous one is dropped), and an entry found
//! in the previous generation moves back into the current one. Records in use stay, records
//! not seen for a while go, and there are never more than `capacity` entries.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

pub(crate) struct ParsedCache<T> {
    capacity: usize,
    generations: Mutex<Generations<T>>,
}

struct Generations<T> {
    current: HashMap<Box<[u8]>, Arc<T>>,
    previous: HashMap<Box<[u8]>, Arc<T>>,
}

impl<T> ParsedCache<T> {
    /// A cache of at most `capacity` entries; 0 keeps nothing.
    pub(crate) fn new(capacity: usize) -> ParsedCache<T> {
        ParsedCache {
            capacity,
            generations: Mutex::new(Generations {
                current: HashMap::new(),
                previous: HashMap::new(),
            }),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// A panic elsewhere while the lock was held leaves maps that are still whole (every
    /// change below is a single insert or swap), so a poisoned lock is used as it is.
    fn lock(&self) -> MutexGuard<'_, Generations<T>> {
        self.generations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The value parsed from `text`, if it is kept.
    pub(crate) fn get(&self, text: &[u8]) -> Option<Arc<T>> {
        let mut generations = self.lock();
        if let Some(value) = generations.current.get(text) {
            return Some(Arc::clone(value));
        }
        let (text, value) = generations.previous.remove_entry(text)?;
        let found = Arc::clone(&value);
        self.put(&mut generations, text, value);
        Some(found)
    }

    /// Keeps `value` as what `text` parses into.
    pub(crate) fn insert(&self, text: &[u8], value: Arc<T>) {
        if self.capacity == 0 {
            return;
        }
        let mut generations = self.lock();
        self.put(&mut generations, text.into(), value);
    }

    fn put(&self, generations: &mut Generations<T>, text: Box<[u8]>, value: Arc<T>) {
        // Half the capacity per generation; a capacity of one keeps just the newest entry.
        let half = self.capacity / 2;
        if half == 0 {
            generations.current.clear();
            generations.previous.clear();
        } else if generations.current.len() >= half {
            generations.previous = std::mem::take(&mut generations.current);
        }
        generations.current.insert(text, value);
    }

    /// How many entries are kept.
    pub(crate) fn len(&self) -> usize {
        let generations = self.lock();
        generations.current.len() + generations.previous.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_and_returns_by_text() {
        let cache = ParsedCache::new(10);
        assert!(cache.get(b"v=spf1 -all").is_none());
        cache.insert(b"v=spf1 -all", Arc::new(1));
        assert_eq!(cache.get(b"v=spf1 -all").as_deref(), Some(&1));
        assert!(cache.get(b"v=spf1 +all").is_none());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn bounded_and_keeps_what_is_used() {
        let cache = ParsedCache::new(4);
        for n in 0..100u32 {
            cache.insert(&n.to_be_bytes(), Arc::new(n));
            // Record 0 is read after every insert, so it always survives.
            assert_eq!(cache.get(&0u32.to_be_bytes()).as_deref(), Some(&0));
            assert!(cache.len() <= 4, "{} entries", cache.len());
        }
        // The oldest unused ones are gone, the newest is there.
        assert!(cache.get(&1u32.to_be_bytes()).is_none());
        assert_eq!(cache.get(&99u32.to_be_bytes()).as_deref(), Some(&99));
    }

    #[test]
    fn capacity_zero_keeps_nothing() {
        let cache = ParsedCache::new(0);
        cache.insert(b"x", Arc::new(1));
        assert!(cache.get(b"x").is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn capacity_one_keeps_the_last() {
        let cache = ParsedCache::new(1);
        cache.insert(b"a", Arc::new(1));
        cache.insert(b"b", Arc::new(2));
        assert_eq!(cache.get(b"b").as_deref(), Some(&2));
        assert!(cache.get(b"a").is_none());
        assert_eq!(cache.len(), 1);
    }
}
