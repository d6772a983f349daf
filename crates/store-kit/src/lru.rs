//! A map that keeps what was used last within a budget: both adapters'
//! kept search matches. Each entry has a weight (the rows it holds); past
//! the budget of weight or entries, the least recently used go first.

use std::collections::HashMap;

#[derive(Debug)]
pub struct Lru<V> {
    entries: HashMap<String, Entry<V>>,
    held: usize,
    clock: u64,
    max_weight: usize,
    max_entries: usize,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    weight: usize,
    used: u64,
}

impl<V> Lru<V> {
    /// An empty map holding at most `max_weight` in all and `max_entries`.
    #[must_use]
    pub fn new(max_weight: usize, max_entries: usize) -> Self {
        Self {
            entries: HashMap::new(),
            held: 0,
            clock: 0,
            max_weight,
            max_entries,
        }
    }

    /// The value under `key`, marked as just used.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        self.clock += 1;
        let clock = self.clock;
        self.entries.get_mut(key).map(|e| {
            e.used = clock;
            &mut e.value
        })
    }

    /// The value under `key`, leaving its place in the order.
    #[must_use]
    pub fn peek(&self, key: &str) -> Option<&V> {
        self.entries.get(key).map(|e| &e.value)
    }

    /// Puts `value` under `key` (replacing what was there) as just used,
    /// then drops the least recently used others while over the budget.
    pub fn insert(&mut self, key: &str, value: V, weight: usize) {
        self.remove(key);
        self.clock += 1;
        self.held += weight;
        let used = self.clock;
        self.entries.insert(
            key.to_owned(),
            Entry {
                value,
                weight,
                used,
            },
        );
        while self.held > self.max_weight || self.entries.len() > self.max_entries {
            let Some(oldest) = self
                .entries
                .iter()
                .filter(|(k, _)| k.as_str() != key)
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            self.remove(&oldest);
        }
    }

    /// Drops what is under `key`.
    pub fn remove(&mut self, key: &str) {
        if let Some(gone) = self.entries.remove(key) {
            self.held -= gone.weight;
        }
    }

    /// The weight held in all.
    #[must_use]
    pub fn held(&self) -> usize {
        self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_recently_used_go_first_past_either_budget() {
        let mut lru = Lru::new(10, 3);
        lru.insert("a", 1, 4);
        lru.insert("b", 2, 4);
        assert_eq!(lru.get_mut("a"), Some(&mut 1), "a is now the newest");
        lru.insert("c", 3, 4);
        assert_eq!(lru.peek("b"), None, "b was the least recently used");
        assert_eq!((lru.peek("a"), lru.peek("c")), (Some(&1), Some(&3)));
        assert_eq!(lru.held(), 8);
        lru.insert("d", 4, 1);
        lru.insert("e", 5, 1);
        assert_eq!(lru.peek("a"), None, "four entries are one too many");
        lru.insert("c", 6, 2);
        assert_eq!((lru.peek("c"), lru.held()), (Some(&6), 4), "replaced");
        lru.remove("c");
        assert_eq!(lru.held(), 2);
    }
}
