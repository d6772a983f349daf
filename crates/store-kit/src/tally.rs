//! [`Tally`]: how many messages of one batch (or one purge) each sender and
//! each UTC day gained or lost, so an adapter updates each counter row once
//! per batch, in key order (the order both stores take row locks in).

use std::collections::BTreeMap;

use domain::Message;

/// Per-sender and per-day counts, with their total.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    senders: BTreeMap<String, i64>,
    days: BTreeMap<String, i64>,
    /// Each sender's largest feed number in the batch, when known.
    last: BTreeMap<String, i64>,
    total: i64,
}

impl Tally {
    /// Counts one stored message under its sender and its day.
    pub fn add_message(&mut self, message: &Message) {
        self.add(message.from().as_str(), &message.ts().day_key(), 1);
    }

    /// Counts one stored message numbered `seq` in the feed: each sender's
    /// largest number is their conversation's latest message.
    pub fn add_message_at(&mut self, message: &Message, seq: i64) {
        self.add_message(message);
        let last = self
            .last
            .entry(message.from().as_str().to_owned())
            .or_insert(seq);
        *last = (*last).max(seq);
    }

    /// The largest feed number counted for `sender` (0 when none was).
    #[must_use]
    pub fn last_seq(&self, sender: &str) -> i64 {
        self.last.get(sender).copied().unwrap_or(0)
    }

    /// Counts `n` messages of `sender` on `day` (a day key).
    pub fn add(&mut self, sender: &str, day: &str, n: i64) {
        bump(&mut self.senders, sender, n);
        bump(&mut self.days, day, n);
        self.total += n;
    }

    /// Nothing was counted.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.total == 0 && self.senders.is_empty()
    }

    /// The messages counted.
    #[must_use]
    pub fn total(&self) -> i64 {
        self.total
    }

    /// Each sender with its count, in number order.
    pub fn senders(&self) -> impl Iterator<Item = (&str, i64)> {
        self.senders.iter().map(|(k, n)| (k.as_str(), *n))
    }

    /// Each day key with its count, in day order.
    pub fn days(&self) -> impl Iterator<Item = (&str, i64)> {
        self.days.iter().map(|(k, n)| (k.as_str(), *n))
    }

    /// The senders and their counts as two columns (for `unnest`).
    #[must_use]
    pub fn sender_columns(&self) -> (Vec<&str>, Vec<i64>) {
        self.senders().unzip()
    }

    /// The day keys and their counts as two columns (for `unnest`).
    #[must_use]
    pub fn day_columns(&self) -> (Vec<&str>, Vec<i64>) {
        self.days().unzip()
    }
}

fn bump(map: &mut BTreeMap<String, i64>, key: &str, n: i64) {
    match map.get_mut(key) {
        Some(count) => *count += n,
        None => {
            map.insert(key.to_owned(), n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Tally;

    #[test]
    fn counts_per_sender_and_day_in_key_order() {
        let mut t = Tally::default();
        assert!(t.is_empty());
        t.add("+2", "20250102", 1);
        t.add("+1", "20250101", 2);
        t.add("+2", "20250101", 3);
        assert_eq!(t.total(), 6);
        assert_eq!(t.sender_columns(), (vec!["+1", "+2"], vec![2, 4]));
        assert_eq!(t.day_columns(), (vec!["20250101", "20250102"], vec![5, 1]));
        assert!(!t.is_empty());
    }
}
