//! A bounded cache from the text of a DNS record to what it parses into, shared by the
//! checks of many messages: [`crate::dkim::KeyCache`] for DKIM key records,
//! [`crate::spf::RecordCache`] for SPF policies.
//!
//! The key is the record's text, not the name it was found at: the lookup is still made
//! every time (the resolver's cache answers it for the record's TTL), and a parsed value is
//! used only while DNS still returns exactly the text it came from. So the cache can never
//! serve a record that has changed or expired; it only saves parsing it again (for a DKIM RSA
//! key, also aws-lc-rs's set-up of the key).
//!
//! Bounded by two generations: new entries go into the current one; when it holds half the
//! capacity it becomes the previous one (the old previous one is dropped), and an entry found
//! in the previous generation moves back into the current one. Records in use stay, records
//! not seen for a while go, and there are never more than `capacity` entries.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

/// A record a [`ParsedCache`] can keep: parsed from the text of one DNS record.
pub trait ParseRecord: Sized {
    /// Why a text does not parse.
    type Error;
    /// Parses the text of one record (a TXT record's strings joined).
    fn parse_record(text: &[u8]) -> Result<Self, Self::Error>;
}

/// Records already parsed, shared by the checks of many messages (see the
/// [module](self)). Clones share one cache. At most [`capacity`](Self::capacity) records are
/// kept, the ones least recently used going first.
pub struct ParsedCache<T>(Arc<Bounded<T>>);

impl<T: ParseRecord> ParsedCache<T> {
    /// How many records [`ParsedCache::default`] keeps: 1,000.
    pub const DEFAULT_CAPACITY: usize = 1_000;

    /// A cache keeping at most `capacity` records (0 keeps none).
    pub fn new(capacity: usize) -> ParsedCache<T> {
        ParsedCache(Arc::new(Bounded::new(capacity)))
    }

    /// The most records kept.
    pub fn capacity(&self) -> usize {
        self.0.capacity()
    }

    /// How many records are kept now.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when no record is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The record `text` parses into: from the cache, or parsed now and kept when it parses.
    pub fn parse(&self, text: &[u8]) -> Result<Arc<T>, T::Error> {
        if let Some(record) = self.0.get(text) {
            return Ok(record);
        }
        let record = Arc::new(T::parse_record(text)?);
        self.0.insert(text, Arc::clone(&record));
        Ok(record)
    }
}

impl<T> Clone for ParsedCache<T> {
    fn clone(&self) -> Self {
        ParsedCache(Arc::clone(&self.0))
    }
}

impl<T: ParseRecord> Default for ParsedCache<T> {
    /// A cache of [`ParsedCache::DEFAULT_CAPACITY`] records.
    fn default() -> Self {
        ParsedCache::new(Self::DEFAULT_CAPACITY)
    }
}

impl<T> fmt::Debug for ParsedCache<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedCache")
            .field("records", &self.0.len())
            .field("capacity", &self.0.capacity())
            .finish()
    }
}

/// Two handles are equal when they share one cache.
impl<T> PartialEq for ParsedCache<T> {
    fn eq(&self, other: &ParsedCache<T>) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Eq for ParsedCache<T> {}

struct Bounded<T> {
    capacity: usize,
    generations: Mutex<Generations<T>>,
}

struct Generations<T> {
    current: HashMap<Box<[u8]>, Arc<T>>,
    previous: HashMap<Box<[u8]>, Arc<T>>,
}

impl<T> Bounded<T> {
    /// A cache of at most `capacity` entries; 0 keeps nothing.
    fn new(capacity: usize) -> Bounded<T> {
        Bounded {
            capacity,
            generations: Mutex::new(Generations {
                current: HashMap::new(),
                previous: HashMap::new(),
            }),
        }
    }

    fn capacity(&self) -> usize {
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
    fn get(&self, text: &[u8]) -> Option<Arc<T>> {
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
    fn insert(&self, text: &[u8], value: Arc<T>) {
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
    fn len(&self) -> usize {
        let generations = self.lock();
        generations.current.len() + generations.previous.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_and_returns_by_text() {
        let cache = Bounded::new(10);
        assert!(cache.get(b"v=spf1 -all").is_none());
        cache.insert(b"v=spf1 -all", Arc::new(1));
        assert_eq!(cache.get(b"v=spf1 -all").as_deref(), Some(&1));
        assert!(cache.get(b"v=spf1 +all").is_none());
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn bounded_and_keeps_what_is_used() {
        let cache = Bounded::new(4);
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
        let cache = Bounded::new(0);
        cache.insert(b"x", Arc::new(1));
        assert!(cache.get(b"x").is_none());
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn capacity_one_keeps_the_last() {
        let cache = Bounded::new(1);
        cache.insert(b"a", Arc::new(1));
        cache.insert(b"b", Arc::new(2));
        assert_eq!(cache.get(b"b").as_deref(), Some(&2));
        assert!(cache.get(b"a").is_none());
        assert_eq!(cache.len(), 1);
    }
}
