//! How a batch of image reads is issued: one range read (`getAll` over the keys from the first
//! to the last asked for) when the rows asked for are most of the rows in that range, one point
//! read per stored row asked for otherwise.
//!
//! A friends list mounting after a reload asks for 100 images at once, and they are usually
//! most of what is stored. Measured on 100 rows of 9 KB Blobs (plain IndexedDB, one readonly
//! transaction, an object URL each, median of 15 reloads): 100 `get`s took 38.9 ms in Chromium
//! and 32.0 ms in Firefox; `getAllKeys` then `getAll` over their range took 32.1 and 13.0 ms,
//! and still 33.6 and 15.0 ms with 30 rows not asked for among them. One request answers in
//! one event where 100 requests answer in 100.
//!
//! The store first reads the keys in the range, at most [`keys_limit`] of them (a sparse range
//! in a large store costs a bounded key read, never a scan), then asks [`plan`] which way to
//! read. Keys are compared as they are stored: a key asked for matches a key read only if they
//! are equal, whatever order the engine sorts them in.

use crate::sort::sort_by;

/// Batches smaller than this are read point by point: a range read's key read costs more than
/// the few events it saves.
pub const RANGE_READ_MIN: usize = 8;

/// How many rows a range read may fetch per row asked for, beyond [`EXTRA_ROWS`]: reading a
/// row not asked for costs about what the event saved by not asking for a row alone.
const EXTRA_PER_ROW: usize = 2;

/// Rows not asked for that a range read may fetch whatever the batch's size.
const EXTRA_ROWS: usize = 4;

/// How many rows a range read of `asked` keys may fetch; the key read stops one past it, so
/// that a range holding more says so without reading them all.
pub fn keys_limit(asked: usize) -> u32 {
    let most = asked + asked / EXTRA_PER_ROW + EXTRA_ROWS;
    u32::try_from(most + 1).unwrap_or(u32::MAX)
}

/// How to read a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadPlan {
    /// Nothing asked for is stored: no read at all.
    Nothing,
    /// One `getAll` over the range.
    Range {
        /// The index, in the range's rows, of each key asked for (`None`: not stored).
        positions: Vec<Option<usize>>,
    },
    /// One `get` per key asked for whose flag is set.
    Points {
        /// Per key asked for: read it (stored, or not known to be absent).
        read: Vec<bool>,
    },
}

/// The plan for the keys `asked` (in any order, repeats allowed), given the keys `stored` in
/// their range as the key read returned them, at most `limit` (see [`keys_limit`]).
pub fn plan<A: AsRef<str>, S: AsRef<str>>(asked: &[A], stored: &[S], limit: u32) -> ReadPlan {
    if stored.len() >= limit as usize {
        // The range holds more than a range read may fetch: which keys are stored is unknown
        // beyond the first `limit`, so every key asked for is read.
        return ReadPlan::Points {
            read: vec![true; asked.len()],
        };
    }
    // The stored keys with their positions, sorted here (whatever the engine's order) so that
    // each key asked for is found by binary search.
    let mut index: Vec<(&str, usize)> = stored
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_ref(), i))
        .collect();
    sort_by(&mut index, |a, b| a.0 < b.0);
    let positions: Vec<Option<usize>> = asked
        .iter()
        .map(|k| {
            let at = index.binary_search_by(|(key, _)| (*key).cmp(k.as_ref()));
            at.ok().map(|at| index[at].1)
        })
        .collect();
    // Stored rows asked for, each counted once however often it was asked for.
    let mut asked_for = vec![false; stored.len()];
    let mut hits = 0;
    for &row in positions.iter().flatten() {
        hits += usize::from(!std::mem::replace(&mut asked_for[row], true));
    }
    if hits == 0 {
        return ReadPlan::Nothing;
    }
    if stored.len() <= hits + hits / EXTRA_PER_ROW + EXTRA_ROWS {
        ReadPlan::Range { positions }
    } else {
        ReadPlan::Points {
            read: positions.iter().map(Option::is_some).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(range: std::ops::Range<usize>) -> Vec<String> {
        range.map(|i| format!("ns:idb:u{i:04}:v1")).collect()
    }

    #[test]
    fn a_batch_that_is_the_whole_range_is_one_range_read() {
        let stored = keys(0..100);
        let asked = keys(0..100);
        match plan(&asked, &stored, keys_limit(asked.len())) {
            ReadPlan::Range { positions } => {
                assert_eq!(positions, (0..100).map(Some).collect::<Vec<_>>())
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn positions_follow_the_order_asked_in_with_repeats_and_misses() {
        let stored = keys(0..10);
        let mut asked = keys(0..10);
        asked.reverse();
        asked.push("ns:idb:u0003:v1".into());
        asked.push("ns:idb:gone:v1".into());
        let ReadPlan::Range { positions } = plan(&asked, &stored, keys_limit(asked.len())) else {
            panic!("a range read was expected");
        };
        let mut expected: Vec<Option<usize>> = (0..10).rev().map(Some).collect();
        expected.push(Some(3));
        expected.push(None);
        assert_eq!(positions, expected);
    }

    #[test]
    fn rows_not_asked_for_are_read_up_to_half_again_plus_four() {
        // 20 asked, all stored, among 34 stored rows (14 more = 20/2 + 4): still a range read.
        let stored = keys(0..34);
        let asked: Vec<String> = stored.iter().take(20).cloned().collect();
        assert!(matches!(
            plan(&asked, &stored, keys_limit(asked.len())),
            ReadPlan::Range { .. }
        ));
        // One more row between them: point reads of the 20.
        let stored = keys(0..35);
        match plan(&asked, &stored, keys_limit(asked.len())) {
            ReadPlan::Points { read } => assert_eq!(read, vec![true; 20]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_sparse_range_reads_only_the_stored_keys_asked_for() {
        // 10 of 20 stored rows, and one key between them that is not stored: the range read
        // would fetch 10 rows not asked for, more than 10 / 2 + 4.
        let stored = keys(0..20);
        let mut asked: Vec<String> = stored.iter().step_by(2).cloned().collect();
        asked.push("ns:idb:u0001x:v1".into());
        match plan(&asked, &stored, keys_limit(asked.len())) {
            ReadPlan::Points { read } => {
                assert_eq!(read.iter().filter(|r| **r).count(), 10);
                assert!(!read[10]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_range_holding_more_than_the_limit_reads_every_key_asked_for() {
        let asked = keys(0..10);
        let limit = keys_limit(asked.len());
        assert_eq!(limit, 10 + 5 + 4 + 1);
        // The key read stopped at the limit: what lies beyond is unknown, so nothing is skipped,
        // not even a key the read did not return.
        let stored = keys(0..limit as usize);
        let mut asked_with_unknown = asked.clone();
        asked_with_unknown.push("ns:idb:zzz:v1".into());
        match plan(&asked_with_unknown, &stored, limit) {
            ReadPlan::Points { read } => assert_eq!(read, vec![true; 11]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nothing_stored_is_no_read() {
        let asked = keys(0..12);
        let stored: Vec<String> = vec!["ns:idb:other:v1".into()];
        assert_eq!(
            plan(&asked, &stored, keys_limit(asked.len())),
            ReadPlan::Nothing
        );
        assert_eq!(
            plan(&asked, &Vec::<String>::new(), keys_limit(asked.len())),
            ReadPlan::Nothing
        );
    }

    #[test]
    fn the_limit_never_overflows() {
        assert_eq!(keys_limit(usize::MAX / 4), u32::MAX);
        assert_eq!(keys_limit(0), 5);
    }
}
