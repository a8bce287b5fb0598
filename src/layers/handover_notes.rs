//! The users whose records were learned since the service worker last started, as a record
//! store keeps them under [`crate::key::Keys::handover_key`]: a JSON array of user ids, or
//! [`EVERYTHING`] once more than [`NOTED_MAX`] were noted or the text is unreadable. A page
//! answers the worker's next hello with these users' records (point reads), whatever their
//! age: a worker that was stopped missed them, even those older than the newest it holds.
//!
//! The notes exist only once a worker of the namespace has said hello (taking the notes leaves
//! [`NONE_YET`]): an app without a service worker notes nothing. A `clear()` (a logout) leaves
//! [`EVERYTHING`], which names no user: the worker's next hello is then answered with every
//! record, and notes go on.

use crate::json;

/// The users noted at most: past this, the notes say "everything".
pub const NOTED_MAX: usize = 500;

/// The notes once they name too many users to list, or could not be read.
pub const EVERYTHING: &str = "*";

/// The notes right after a worker's hello was answered: nobody yet.
pub const NONE_YET: &str = "[]";

/// The text to store after noting `learned` in `held` (the text stored now, if any), or `None`
/// when nothing changes (no notes kept, all already noted, or already everything).
pub fn noting(held: Option<&str>, learned: &[String]) -> Option<String> {
    held?;
    let Some(mut users) = users(held) else {
        return (held != Some(EVERYTHING)).then(|| EVERYTHING.to_string());
    };
    let before = users.len();
    for user in learned {
        if !users.contains(user) {
            users.push(user.clone());
        }
    }
    if users.len() == before {
        None
    } else if users.len() > NOTED_MAX {
        Some(EVERYTHING.to_string())
    } else {
        Some(json::string_array(&users))
    }
}

/// What the notes become when the users they name are forgotten (a `clear()`): none if there
/// were none (no worker yet), else [`EVERYTHING`]; `None` when nothing changes.
pub fn forgotten(held: Option<&str>) -> Option<&'static str> {
    held.filter(|h| *h != EVERYTHING).map(|_| EVERYTHING)
}

/// The users `held` names (none when nothing is stored); `None` for everything.
pub fn users(held: Option<&str>) -> Option<Vec<String>> {
    let Some(text) = held else {
        return Some(Vec::new());
    };
    let value = json::parse(text.as_bytes()).ok()?;
    value
        .as_array()?
        .iter()
        .map(|user| user.as_str().filter(|u| !u.is_empty()).map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note_all(users: impl IntoIterator<Item = String>) -> Option<String> {
        let mut held = Some(NONE_YET.to_string());
        for user in users {
            if let Some(text) = noting(held.as_deref(), &[user]) {
                held = Some(text);
            }
        }
        held
    }

    fn ids(users: &[&str]) -> Vec<String> {
        users.iter().map(|u| u.to_string()).collect()
    }

    #[test]
    fn users_are_noted_once_each_in_the_order_learned() {
        let held = note_all(["b", "a", "b", "c:1\"\n"].map(String::from));
        assert_eq!(
            users(held.as_deref()),
            Some(vec!["b".into(), "a".into(), "c:1\"\n".into()])
        );
        assert_eq!(
            noting(held.as_deref(), &ids(&["a", "b"])),
            None,
            "already noted"
        );
        let more = noting(held.as_deref(), &ids(&["d", "a", "e"]));
        assert_eq!(
            users(more.as_deref()).unwrap()[3..],
            ["d".to_string(), "e".to_string()]
        );
    }

    #[test]
    fn no_notes_are_kept_before_a_worker_said_hello() {
        assert_eq!(users(None), Some(vec![]));
        assert_eq!(noting(None, &ids(&["u"])), None);
        assert_eq!(users(Some(NONE_YET)), Some(vec![]));
    }

    #[test]
    fn past_the_limit_the_notes_say_everything_and_stay_small() {
        let held = note_all((0..NOTED_MAX).map(|i| format!("u{i}")));
        assert_eq!(users(held.as_deref()).map(|u| u.len()), Some(NOTED_MAX));
        let full = noting(held.as_deref(), &ids(&["one more"]));
        assert_eq!(full.as_deref(), Some(EVERYTHING));
        assert_eq!(users(full.as_deref()), None);
        assert_eq!(
            noting(full.as_deref(), &ids(&["another"])),
            None,
            "no write"
        );
        let burst: Vec<String> = (0..=NOTED_MAX).map(|i| format!("b{i}")).collect();
        assert_eq!(noting(Some(NONE_YET), &burst).as_deref(), Some(EVERYTHING));
    }

    #[test]
    fn forgotten_notes_name_no_user_and_still_say_a_worker_exists() {
        let held = note_all(["alice"].map(String::from));
        assert_eq!(forgotten(held.as_deref()), Some(EVERYTHING));
        assert_eq!(forgotten(Some(EVERYTHING)), None);
        assert_eq!(forgotten(None), None, "no worker yet: still no notes");
    }

    #[test]
    fn unreadable_notes_mean_everything() {
        for garbage in [
            "",
            "[",
            "{\"a\":1}",
            "[1,2]",
            "[\"a\",null]",
            "[\"\"]",
            "nope",
        ] {
            assert_eq!(users(Some(garbage)), None, "{garbage:?}");
            assert_eq!(
                noting(Some(garbage), &ids(&["u"])).as_deref(),
                Some(EVERYTHING)
            );
        }
    }
}
