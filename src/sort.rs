//! The crate's one sort: an in-place heapsort by a comparison, plus an order-keeping dedup.
//!
//! The standard library's sorts are faster on large inputs, but each use is instantiated anew
//! and brings several kilobytes of code into the `.wasm`; the cache sorts a few hundred or
//! thousand entries at a time (percentiles, eviction order, the LRU mirror at open), where a
//! heapsort's O(n log n) without allocation is plenty. Not stable: equal elements may come out
//! in any order.

use crate::collections::HashSet;

/// Sorts `items` so that no element is `less` than the one before it.
pub fn sort_by<T>(items: &mut [T], less: impl Fn(&T, &T) -> bool) {
    let len = items.len();
    for start in (0..len / 2).rev() {
        sift_down(items, start, len, &less);
    }
    for end in (1..len).rev() {
        items.swap(0, end);
        sift_down(items, 0, end, &less);
    }
}

/// Sorts `items` by an `f64` key, smallest first (NaN first of all, then -∞ … +∞).
pub fn sort_by_f64<T>(items: &mut [T], key: impl Fn(&T) -> f64) {
    sort_by(items, |a, b| key(a).total_cmp(&key(b)).is_lt());
}

fn sift_down<T>(items: &mut [T], mut root: usize, end: usize, less: &impl Fn(&T, &T) -> bool) {
    loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && less(&items[child], &items[child + 1]) {
            child += 1;
        }
        if !less(&items[root], &items[child]) {
            return;
        }
        items.swap(root, child);
        root = child;
    }
}

/// `items` without repeats, each kept where it first appeared.
pub fn dedup_keep_order(items: &[String]) -> Vec<String> {
    // A set of owned strings, the set type the rest of the crate uses (a set of `&str` was a
    // second copy of the set's code in the `.wasm`).
    let mut seen: HashSet<String> =
        HashSet::with_capacity_and_hasher(items.len(), Default::default());
    let mut kept = Vec::with_capacity(items.len());
    for item in items {
        if !seen.contains(item) {
            seen.insert(item.clone());
            kept.push(item.clone());
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_like_the_standard_library() {
        let mut seed: u64 = 7;
        for len in [0, 1, 2, 3, 10, 100, 1_000] {
            let mut items: Vec<u64> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    seed >> 54
                })
                .collect();
            let mut expected = items.clone();
            expected.sort();
            sort_by(&mut items, |a, b| a < b);
            assert_eq!(items, expected);
        }
    }

    #[test]
    fn f64_keys_sort_with_nan_first() {
        let mut items = vec![3.0, f64::NAN, -1.0, f64::INFINITY, 0.5, f64::NEG_INFINITY];
        sort_by_f64(
            &mut items,
            |x| if x.is_nan() { f64::NEG_INFINITY } else { *x },
        );
        assert!(items[0].is_nan() || items[0] == f64::NEG_INFINITY);
        assert_eq!(&items[2..], &[-1.0, 0.5, 3.0, f64::INFINITY]);
    }

    #[test]
    fn dedup_keeps_first_appearances_in_order() {
        let items = ["b", "a", "b", "c", "a"].map(String::from);
        assert_eq!(dedup_keep_order(&items), vec!["b", "a", "c"]);
    }
}
