//! Which entries go when a store is over its entry or byte budget?
//!
//! [`LruIndex`] is the policy only: it knows each key's weight (bytes) and when it was last
//! used, never the values. The memory layer and the IndexedDB layer keep their values elsewhere
//! and ask the index which keys to drop. Lookups take any borrowed form of the key (`&str` for a
//! `String` key), so asking allocates nothing.
//!
//! Entries are ordered by their access time `at`, ties broken by the order of the calls that set
//! it. `at` is given by the caller and may be older than entries already present (entries are
//! loaded from IndexedDB with their stored `lastAccess`), so the index never assumes that time
//! only moves forward.
//!
//! The order is a list of `(stamp, key)` beside a hash map of each key's current stamp: a
//! touch or an insert appends (time usually moves forward, so the list stays sorted without
//! work), an entry whose stamp no longer matches its key's is stale and skipped, and the list
//! is sorted only when an older time was appended, and compacted when stale entries outnumber
//! live ones. So insert, touch and remove are O(1) amortised in the usual case, and listing
//! the oldest entries costs what it skips. (An ordered map did the same in O(log n), for
//! 12 KB more of `.wasm`.)

use std::borrow::Borrow;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::hash::Hash;

use crate::clock::Millis;
use crate::collections::HashMap;

/// The limits a store keeps: at most `max_entries` entries and at most `max_bytes` bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// The most entries kept (0 keeps nothing).
    pub max_entries: usize,
    /// The most bytes kept, summed over every entry's weight.
    pub max_bytes: u64,
}

impl Budget {
    /// Whether an entry of `weight` bytes can be kept at all (when it is alone in the store).
    pub fn admits(&self, weight: u64) -> bool {
        self.max_entries > 0 && weight <= self.max_bytes
    }
}

/// When an entry was last used: its access time, then the sequence number of the call that set
/// it (so equal times keep call order).
#[derive(Debug, Clone, Copy)]
struct Stamp {
    at: Millis,
    seq: u64,
}

impl Stamp {
    /// `NaN` sorts as the oldest possible time; `-0.0` is `0.0`.
    fn new(at: Millis, seq: u64) -> Self {
        let at = if at.is_nan() {
            Millis::NEG_INFINITY
        } else {
            at + 0.0
        };
        Stamp { at, seq }
    }
}

impl PartialEq for Stamp {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Stamp {}

impl PartialOrd for Stamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Stamp {
    fn cmp(&self, other: &Self) -> Ordering {
        self.at.total_cmp(&other.at).then(self.seq.cmp(&other.seq))
    }
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    weight: u64,
    stamp: Stamp,
}

/// A least-recently-used index with an entry budget and a byte budget.
///
/// After every call the index is within its [`Budget`]. It never stores values: callers drop
/// the values of the keys it returns as evicted.
#[derive(Debug, Clone)]
pub struct LruIndex<K> {
    budget: Budget,
    slots: HashMap<K, Slot>,
    /// Every stamp given out and its key, oldest first once [`Order::sorted`] is true.
    order: RefCell<Order<K>>,
    bytes: u64,
    next_seq: u64,
}

impl<K: Eq + Hash + Clone> LruIndex<K> {
    /// An empty index that keeps within `budget`.
    pub fn new(budget: Budget) -> Self {
        LruIndex {
            budget,
            slots: HashMap::default(),
            order: RefCell::new(Order {
                entries: Vec::new(),
                sorted: true,
            }),
            bytes: 0,
            next_seq: 0,
        }
    }

    fn stamp(&mut self, at: Millis) -> Stamp {
        let seq = self.next_seq;
        self.next_seq += 1;
        Stamp::new(at, seq)
    }

    /// Inserts `key` with `weight` bytes, or replaces it (its weight is updated), as used at
    /// `at`. Evicts the least recently used other entries until the index is within budget and
    /// returns them, oldest first.
    ///
    /// An entry that cannot be kept even alone (heavier than `max_bytes`, or a budget of zero
    /// entries) is not kept: it is returned as evicted (after any older version of it was
    /// removed) and no other entry is evicted for it. Never evicts the entry it inserts to make
    /// room for itself, even when `at` is older than every other entry.
    pub fn insert(&mut self, key: K, weight: u64, at: Millis) -> Vec<K> {
        self.remove(&key);
        if !self.budget.admits(weight) {
            return vec![key];
        }
        let evicted = self.plan_room(weight);
        for k in &evicted {
            self.remove(k);
        }
        let stamp = self.stamp(at);
        self.order.get_mut().push(stamp, key.clone());
        self.slots.insert(key, Slot { weight, stamp });
        self.bytes += weight;
        evicted
    }

    /// Marks `key` as used at `at`; `false` if it is not in the index.
    ///
    /// A touch never makes an entry look older than it was: when `at` is older than the entry's
    /// last use, the entry keeps its time (out-of-order batches of accesses are harmless). Among
    /// entries used at the same time, the last touched is the most recent.
    pub fn touch<Q>(&mut self, key: &Q, at: Millis) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let Some(old) = self.slots.get(key).map(|s| s.stamp) else {
            return false;
        };
        let at = Stamp::new(at, 0).at.max(old.at);
        let stamp = self.stamp(at);
        self.order.get_mut().push(stamp, key.to_owned());
        if let Some(slot) = self.slots.get_mut(key) {
            slot.stamp = stamp;
        }
        self.compact_if_mostly_stale();
        true
    }

    /// Removes `key`, returning its weight; `None` if it was not in the index.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<u64>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = self.slots.remove(key)?;
        self.bytes -= slot.weight;
        self.compact_if_mostly_stale();
        Some(slot.weight)
    }

    /// Whether `key` is in the index.
    pub fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.slots.contains_key(key)
    }

    /// The weight of `key`, if it is in the index.
    pub fn weight<Q>(&self, key: &Q) -> Option<u64>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.slots.get(key).map(|s| s.weight)
    }

    /// When `key` was last used (as given to `insert` or `touch`), if it is in the index.
    pub fn last_used<Q>(&self, key: &Q) -> Option<Millis>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.slots.get(key).map(|s| s.stamp.at)
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the index has no entries.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The sum of every entry's weight; never more than the budget's `max_bytes`.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The budget the index keeps within.
    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// Whether an entry of `weight` bytes can be kept at all (see [`Budget::admits`]).
    pub fn admits(&self, weight: u64) -> bool {
        self.budget.admits(weight)
    }

    /// The keys, oldest first, that must go so that one more entry (not already in the index)
    /// of `incoming_weight` bytes fits. Does not change the index.
    ///
    /// Empty when the entry fits as things are, and also when it can never be kept (see
    /// [`Budget::admits`]): [`LruIndex::insert`] refuses such an entry without evicting others.
    pub fn plan_room(&self, incoming_weight: u64) -> Vec<K> {
        if !self.budget.admits(incoming_weight) {
            return Vec::new();
        }
        let max_others = self.budget.max_entries - 1;
        let max_other_bytes = self.budget.max_bytes - incoming_weight;
        let mut count = self.slots.len();
        let mut bytes = self.bytes;
        let mut out = Vec::new();
        if count <= max_others && bytes <= max_other_bytes {
            return out;
        }
        let mut order = self.order.borrow_mut();
        order.sort();
        for (stamp, key) in &order.entries {
            if count <= max_others && bytes <= max_other_bytes {
                break;
            }
            let Some(slot) = self.live(stamp, key) else {
                continue;
            };
            count -= 1;
            bytes -= slot.weight;
            out.push(key.clone());
        }
        out
    }

    /// The keys, oldest first, to delete when the origin's storage quota refused a write of
    /// `incoming_weight` bytes (the budget had room: the origin is full of other data, or the
    /// engine counts more than the bytes): at least a quarter of the entries (at least one), and
    /// together at least twice `incoming_weight`, since engines give back less than a deleted
    /// row's bytes (Chromium: about three quarters of them) and count the new row's overhead.
    /// Skips `keep` (the entry being written, the victims already chosen). Does not change the
    /// index.
    pub fn plan_quota_room(&self, incoming_weight: u64, keep: impl Fn(&K) -> bool) -> Vec<K> {
        let want_count = self.slots.len().div_ceil(4).max(1);
        let want_bytes = incoming_weight.saturating_mul(2);
        let (mut count, mut bytes) = (0, 0u64);
        let mut out = Vec::new();
        let mut order = self.order.borrow_mut();
        order.sort();
        for (stamp, key) in &order.entries {
            if count >= want_count && bytes >= want_bytes {
                break;
            }
            let Some(slot) = self.live(stamp, key) else {
                continue;
            };
            if keep(key) {
                continue;
            }
            count += 1;
            bytes = bytes.saturating_add(slot.weight);
            out.push(key.clone());
        }
        out
    }

    /// Every key, least recently used first.
    pub fn oldest_first(&self) -> Vec<K> {
        let mut order = self.order.borrow_mut();
        order.sort();
        order
            .entries
            .iter()
            .filter(|(stamp, key)| self.live(stamp, key).is_some())
            .map(|(_, key)| key.clone())
            .collect()
    }

    /// Removes every entry (the budget stays).
    pub fn clear(&mut self) {
        self.slots.clear();
        let order = self.order.get_mut();
        order.entries.clear();
        order.sorted = true;
        self.bytes = 0;
    }

    /// The slot of `key` if `stamp` is still its stamp (otherwise the order entry is stale).
    fn live(&self, stamp: &Stamp, key: &K) -> Option<&Slot> {
        self.slots
            .get(key)
            .filter(|slot| slot.stamp.seq == stamp.seq)
    }

    /// Drops the stale entries of the order once they outnumber the live ones.
    fn compact_if_mostly_stale(&mut self) {
        let live = self.slots.len();
        let order = self.order.get_mut();
        if order.entries.len() <= 2 * live + 32 {
            return;
        }
        let slots = &self.slots;
        order.entries.retain(|(stamp, key)| {
            slots
                .get(key)
                .is_some_and(|slot| slot.stamp.seq == stamp.seq)
        });
    }
}

/// The stamps given out, with their keys.
#[derive(Debug, Clone)]
struct Order<K> {
    entries: Vec<(Stamp, K)>,
    /// Whether `entries` is in stamp order.
    sorted: bool,
}

impl<K> Order<K> {
    fn push(&mut self, stamp: Stamp, key: K) {
        if self.entries.last().is_some_and(|(last, _)| *last > stamp) {
            self.sorted = false;
        }
        self.entries.push((stamp, key));
    }

    fn sort(&mut self) {
        if !self.sorted {
            crate::sort::sort_by(&mut self.entries, |a, b| a.0 < b.0);
            self.sorted = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(max_entries: usize, max_bytes: u64) -> LruIndex<&'static str> {
        LruIndex::new(Budget {
            max_entries,
            max_bytes,
        })
    }

    #[test]
    fn entries_come_out_in_order_of_use_with_touches() {
        let mut lru = index(10, 1_000);
        lru.insert("a", 1, 10.0);
        lru.insert("b", 1, 20.0);
        lru.insert("c", 1, 30.0);
        assert_eq!(lru.oldest_first(), vec!["a", "b", "c"]);
        assert!(lru.touch(&"a", 40.0));
        assert_eq!(lru.oldest_first(), vec!["b", "c", "a"]);
        assert!(!lru.touch(&"zz", 50.0));
    }

    #[test]
    fn quota_room_is_a_quarter_of_the_entries_and_twice_the_incoming_bytes_oldest_first() {
        let mut lru = index(100, 1_000_000);
        for (i, key) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .into_iter()
            .enumerate()
        {
            lru.insert(key, 10, i as f64);
        }
        lru.insert("big", 500, 20.0);
        lru.insert("new", 300, 30.0);
        // Small incoming: a quarter of the ten entries (three), the oldest; the entry being
        // written is skipped.
        assert_eq!(lru.plan_quota_room(5, |k| *k == "new"), ["a", "b", "c"]);
        // A large incoming image frees twice its bytes: every small row is not enough, the large
        // one goes too.
        assert_eq!(
            lru.plan_quota_room(200, |k| *k == "new"),
            ["a", "b", "c", "d", "e", "f", "g", "h", "big"]
        );
        // More than everything there is: everything but what is kept.
        let all = lru.plan_quota_room(10_000, |k| *k == "new" || *k == "a");
        assert_eq!(all, ["b", "c", "d", "e", "f", "g", "h", "big"]);
        // Nothing changed in the index.
        assert_eq!(lru.len(), 10);
        // An index of only the entry being written: nothing to free.
        let mut alone = index(10, 1_000);
        alone.insert("new", 5, 1.0);
        assert!(alone.plan_quota_room(5, |k| *k == "new").is_empty());
    }

    #[test]
    fn equal_times_keep_call_order() {
        let mut lru = index(10, 1_000);
        lru.insert("a", 1, 5.0);
        lru.insert("b", 1, 5.0);
        lru.insert("c", 1, 5.0);
        lru.touch(&"a", 5.0);
        assert_eq!(lru.oldest_first(), vec!["b", "c", "a"]);
    }

    #[test]
    fn touch_with_an_older_time_never_makes_an_entry_older() {
        let mut lru = index(10, 1_000);
        lru.insert("a", 1, 10.0);
        lru.insert("b", 1, 20.0);
        lru.touch(&"b", 5.0);
        assert_eq!(lru.oldest_first(), vec!["a", "b"]);
        assert_eq!(lru.last_used(&"b"), Some(20.0));
    }

    #[test]
    fn entries_loaded_with_older_timestamps_sort_before_existing_ones() {
        let mut lru = index(10, 1_000);
        lru.insert("new", 1, 1_000.0);
        lru.insert("old", 1, 10.0);
        lru.insert("middle", 1, 500.0);
        assert_eq!(lru.oldest_first(), vec!["old", "middle", "new"]);
    }

    #[test]
    fn inserting_an_old_entry_into_a_full_index_evicts_others_not_itself() {
        let mut lru = index(2, 1_000);
        lru.insert("a", 1, 100.0);
        lru.insert("b", 1, 200.0);
        assert_eq!(lru.insert("old", 1, 1.0), vec!["a"]);
        assert!(lru.contains(&"old"));
        assert_eq!(lru.oldest_first(), vec!["old", "b"]);
    }

    #[test]
    fn bytes_are_accounted_on_insert_replace_and_remove() {
        let mut lru = index(10, 1_000);
        lru.insert("a", 100, 1.0);
        lru.insert("b", 50, 2.0);
        assert_eq!(lru.bytes(), 150);
        assert!(lru.insert("a", 30, 3.0).is_empty());
        assert_eq!(lru.bytes(), 80);
        assert_eq!(lru.weight(&"a"), Some(30));
        assert_eq!(lru.len(), 2);
        assert_eq!(lru.oldest_first(), vec!["b", "a"]);
        assert_eq!(lru.remove(&"b"), Some(50));
        assert_eq!(lru.remove(&"b"), None);
        assert_eq!(lru.bytes(), 30);
        assert_eq!(lru.len(), 1);
    }

    #[test]
    fn entry_budget_evicts_the_least_recent() {
        let mut lru = index(3, 1_000);
        for (i, k) in ["a", "b", "c"].into_iter().enumerate() {
            assert!(lru.insert(k, 1, i as f64).is_empty());
        }
        lru.touch(&"a", 10.0);
        assert_eq!(lru.insert("d", 1, 11.0), vec!["b"]);
        assert_eq!(lru.oldest_first(), vec!["c", "a", "d"]);
    }

    #[test]
    fn byte_budget_evicts_as_many_as_needed_oldest_first() {
        let mut lru = index(100, 100);
        lru.insert("a", 40, 1.0);
        lru.insert("b", 40, 2.0);
        lru.insert("c", 20, 3.0);
        assert_eq!(lru.bytes(), 100);
        assert_eq!(lru.insert("d", 70, 4.0), vec!["a", "b"]);
        assert_eq!(lru.bytes(), 90);
        assert_eq!(lru.oldest_first(), vec!["c", "d"]);
    }

    #[test]
    fn growing_an_entry_in_place_evicts_others() {
        let mut lru = index(10, 100);
        lru.insert("a", 40, 1.0);
        lru.insert("b", 40, 2.0);
        assert_eq!(lru.insert("b", 90, 3.0), vec!["a"]);
        assert_eq!(lru.bytes(), 90);
    }

    #[test]
    fn oversized_entry_is_refused_without_evicting_others() {
        let mut lru = index(10, 100);
        lru.insert("a", 60, 1.0);
        lru.insert("big", 10, 2.0);
        assert_eq!(lru.insert("big", 101, 3.0), vec!["big"]);
        assert!(!lru.contains(&"big"));
        assert!(lru.contains(&"a"));
        assert_eq!(lru.bytes(), 60);
        assert!(!lru.admits(101));
        assert!(lru.admits(100));
        assert_eq!(lru.insert("exact", 100, 4.0), vec!["a"]);
    }

    #[test]
    fn zero_entry_budget_keeps_nothing() {
        let mut lru = index(0, 100);
        assert_eq!(lru.insert("a", 1, 1.0), vec!["a"]);
        assert!(lru.is_empty());
        assert!(lru.plan_room(1).is_empty());
    }

    #[test]
    fn plan_room_names_the_victims_without_mutating() {
        let mut lru = index(3, 100);
        lru.insert("a", 30, 1.0);
        lru.insert("b", 30, 2.0);
        lru.insert("c", 30, 3.0);
        assert_eq!(lru.plan_room(10), vec!["a"]);
        assert_eq!(lru.plan_room(50), vec!["a", "b"]);
        assert_eq!(lru.plan_room(101), Vec::<&str>::new());
        assert_eq!(lru.len(), 3);
        assert_eq!(lru.bytes(), 90);
        assert_eq!(lru.oldest_first(), vec!["a", "b", "c"]);
        assert_eq!(lru.insert("d", 50, 4.0), vec!["a", "b"]);
    }

    #[test]
    fn plan_room_is_empty_when_the_entry_fits() {
        let mut lru = index(3, 100);
        lru.insert("a", 30, 1.0);
        assert!(lru.plan_room(70).is_empty());
    }

    #[test]
    fn clear_empties_the_index_and_keeps_the_budget() {
        let mut lru = index(3, 100);
        lru.insert("a", 30, 1.0);
        lru.clear();
        assert!(lru.is_empty());
        assert_eq!(lru.bytes(), 0);
        assert_eq!(
            lru.budget(),
            Budget {
                max_entries: 3,
                max_bytes: 100
            }
        );
        assert!(lru.insert("a", 30, 2.0).is_empty());
    }

    #[test]
    fn nan_times_sort_as_the_oldest() {
        let mut lru = index(10, 100);
        lru.insert("a", 1, 1.0);
        lru.insert("nan", 1, Millis::NAN);
        assert_eq!(lru.oldest_first(), vec!["nan", "a"]);
    }

    #[test]
    fn huge_byte_budget_does_not_overflow() {
        let mut lru = LruIndex::new(Budget {
            max_entries: 10,
            max_bytes: u64::MAX,
        });
        lru.insert(1, u64::MAX - 1, 1.0);
        assert_eq!(lru.insert(2, 2, 2.0), vec![1]);
        assert_eq!(lru.bytes(), 2);
    }

    #[test]
    fn touching_five_thousand_entries_is_fast() {
        let mut lru = LruIndex::new(Budget {
            max_entries: 5_000,
            max_bytes: u64::MAX,
        });
        for i in 0..5_000u32 {
            lru.insert(i, 10, f64::from(i));
        }
        for round in 0..20u32 {
            for i in 0..5_000u32 {
                assert!(lru.touch(&i, f64::from(10_000 + round * 5_000 + i)));
            }
        }
        assert_eq!(lru.oldest_first().first(), Some(&0));
        assert_eq!(lru.insert(5_000, 10, 1e9), vec![0]);
    }

    #[test]
    fn index_stays_within_budget_under_random_operations() {
        use crate::clock::{Random, SeededRandom};
        let rng = SeededRandom::new(7);
        let budget = Budget {
            max_entries: 20,
            max_bytes: 1_000,
        };
        let mut lru = LruIndex::new(budget);
        for step in 0..5_000u32 {
            let key = (rng.next_u64() % 40) as u32;
            let at = (rng.next_unit() * 1_000.0).floor();
            match rng.next_u64() % 4 {
                0 | 1 => {
                    let evicted = lru.insert(key, rng.next_u64() % 300, at);
                    for k in evicted.iter().filter(|k| **k != key) {
                        assert!(!lru.contains(k), "step {step}");
                    }
                }
                2 => {
                    lru.touch(&key, at);
                }
                _ => {
                    lru.remove(&key);
                }
            }
            assert!(lru.len() <= budget.max_entries);
            assert!(lru.bytes() <= budget.max_bytes);
            let sum: u64 = lru
                .oldest_first()
                .iter()
                .map(|k| lru.weight(k).unwrap())
                .sum();
            assert_eq!(sum, lru.bytes());
            assert_eq!(lru.oldest_first().len(), lru.len());
        }
    }
}
