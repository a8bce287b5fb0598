//! Reading one config object field by field (see [`super`]): every error names the field by
//! its path (`idb.maxBytes`), `null` counts as absent, and the fields nobody read are refused as
//! unknown.

use std::cell::RefCell;
use std::ops::RangeInclusive;

use crate::json::{number_text, Map, Value};

use super::DAY_MS;
use crate::error::{Error, Result};

/// The longest duration any `*Ms` field accepts: one year.
const MAX_DURATION_MS: f64 = 365.0 * DAY_MS;
/// The longest delay `setTimeout` honours (about 24.8 days); browsers fire a longer one at once.
const MAX_TIMER_MS: u32 = i32::MAX as u32;

/// Whether a duration may be zero.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Zero {
    Allowed,
    Refused,
}

/// What reading the config found wrong, and the fields it was asked for.
#[derive(Default)]
struct Findings {
    /// Every field read, by path (`idb.maxBytes`), groups included, in reading order.
    read: Vec<String>,
    /// The first field of an object that nothing read: a misspelling, reported first.
    unknown: Option<Error>,
    /// The first value refused.
    invalid: Option<Error>,
}

/// Reads a config object: runs `read` over the top-level [`Fields`], then refuses fields that
/// nothing read.
pub(super) struct Reader;

impl Reader {
    pub fn read<T>(value: &Value, read: impl FnOnce(&Fields<'_>) -> T) -> Result<T> {
        let findings = RefCell::new(Findings::default());
        let top = Fields::new(Some(value), String::new(), &findings);
        let config = read(&top);
        top.finish();
        let findings = findings.into_inner();
        match findings.unknown.or(findings.invalid) {
            Some(error) => Err(error),
            None => Ok(config),
        }
    }

    /// The paths of every field [`Config::from_json`] reads, groups included.
    #[cfg(test)]
    pub fn paths() -> Vec<String> {
        let findings = RefCell::new(Findings::default());
        super::Config::read(&Fields::new(None, String::new(), &findings));
        findings.into_inner().read
    }
}

/// One object of the config, read field by field: every error names the field by its path
/// (`idb.maxBytes`), `null` counts as absent. A read never fails: a refused value is noted in
/// [`Findings`] and the default stands in for it, so reading goes on to the end.
pub(super) struct Fields<'a> {
    map: Option<&'a Map>,
    prefix: String,
    /// The names read in this object.
    names: RefCell<Vec<&'static str>>,
    findings: &'a RefCell<Findings>,
}

impl<'a> Fields<'a> {
    fn new(value: Option<&'a Value>, prefix: String, findings: &'a RefCell<Findings>) -> Self {
        let fields = Fields {
            map: None,
            prefix,
            names: RefCell::new(Vec::new()),
            findings,
        };
        match value {
            None | Some(Value::Null) => fields,
            Some(Value::Object(map)) => Fields {
                map: Some(map),
                ..fields
            },
            Some(other) => {
                let field = match fields.prefix.trim_end_matches('.') {
                    "" => "config",
                    group => group,
                };
                let error =
                    Error::config(field, format!("must be an object, not {}", other.kind()));
                fields.findings.borrow_mut().invalid.get_or_insert(error);
                fields
            }
        }
    }

    /// Notes that `name` was read and returns its value, if present and not `null`.
    fn get(&self, name: &'static str) -> Option<&'a Value> {
        self.names.borrow_mut().push(name);
        self.findings
            .borrow_mut()
            .read
            .push(format!("{}{name}", self.prefix));
        self.map?.get(name).filter(|v| !v.is_null())
    }

    /// Notes that the field at `path` (relative to this object) was refused for `reason`.
    fn refuse(&self, path: &str, reason: impl Into<String>) {
        let mut findings = self.findings.borrow_mut();
        if findings.invalid.is_none() {
            findings.invalid = Some(Error::config(format!("{}{path}", self.prefix), reason));
        }
    }

    /// Refuses the field at `path` for `reason` unless `ok`.
    pub fn check(&self, path: &str, ok: bool, reason: impl Into<String>) {
        if !ok {
            self.refuse(path, reason);
        }
    }

    /// Refuses the first field of this object that was never read.
    fn finish(&self) {
        let names = self.names.borrow();
        let unknown = self.map.and_then(|m| m.keys().find(|k| !names.contains(k)));
        let mut findings = self.findings.borrow_mut();
        if let (Some(unknown), None) = (unknown, &findings.unknown) {
            findings.unknown = Some(Error::config(
                format!("{}{unknown}", self.prefix),
                "is not a config field (check the spelling)",
            ));
        }
    }

    /// Reads the object `name` with `read`.
    pub fn group<T>(&self, name: &'static str, read: impl FnOnce(&Fields<'a>) -> T) -> T {
        let group = Fields::new(
            self.get(name),
            format!("{}{name}.", self.prefix),
            self.findings,
        );
        let value = read(&group);
        group.finish();
        value
    }

    /// Reads `name` with `as_type`; a value of another type is refused as not `expected`.
    fn typed<T>(
        &self,
        name: &'static str,
        expected: &str,
        as_type: impl Fn(&'a Value) -> Option<T>,
    ) -> Option<T> {
        let value = self.get(name)?;
        let typed = as_type(value);
        if typed.is_none() {
            self.refuse(name, format!("must be {expected}, not {}", value.kind()));
        }
        typed
    }

    fn number(&self, name: &'static str) -> Option<f64> {
        self.typed(name, "a number", Value::as_f64)
    }

    pub fn string(&self, name: &'static str) -> Option<String> {
        self.typed(name, "a string", |v| v.as_str().map(str::to_string))
    }

    pub fn flag(&self, name: &'static str, default: bool) -> bool {
        self.typed(name, "true or false", Value::as_bool)
            .unwrap_or(default)
    }

    /// A string that must not be blank.
    pub fn non_empty(&self, name: &'static str, default: &str) -> String {
        match self.string(name) {
            Some(s) if s.trim().is_empty() => {
                self.refuse(name, "must not be empty");
                default.to_string()
            }
            Some(s) => s,
            None => default.to_string(),
        }
    }

    pub fn strings(&self, name: &'static str) -> Option<Vec<String>> {
        const EXPECTED: &str = "an array of strings";
        let items = self.typed(name, EXPECTED, Value::as_array)?;
        let strings: Option<Vec<String>> = items
            .iter()
            .map(|item| {
                let s = item.as_str().map(str::to_string);
                if s.is_none() {
                    self.refuse(name, format!("must be {EXPECTED}, not {}", item.kind()));
                }
                s
            })
            .collect();
        strings
    }

    pub fn string_map(&self, name: &'static str) -> Option<Vec<(String, String)>> {
        const EXPECTED: &str = "an object of strings";
        let map = self.typed(name, EXPECTED, Value::as_object)?;
        map.iter()
            .map(|(k, item)| match item.as_str() {
                Some(v) => Some((k.to_string(), v.to_string())),
                None => {
                    self.refuse(name, format!("must be {EXPECTED}, not {}", item.kind()));
                    None
                }
            })
            .collect()
    }

    /// A number of milliseconds: finite, not negative (nor zero unless `zero` allows it), at
    /// most [`MAX_DURATION_MS`].
    pub fn duration(&self, name: &'static str, default: f64, zero: Zero) -> f64 {
        let Some(v) = self.number(name) else {
            return default;
        };
        if !v.is_finite() || v < 0.0 || (zero == Zero::Refused && v == 0.0) {
            let bound = match zero {
                Zero::Allowed => "zero or more",
                Zero::Refused => "greater than zero",
            };
            self.refuse(
                name,
                format!(
                    "must be a finite number of milliseconds, {bound}; got {}",
                    number_text(v)
                ),
            );
            return default;
        }
        if v > MAX_DURATION_MS {
            self.refuse(
                name,
                format!(
                    "must be at most one year ({} ms); got {}",
                    number_text(MAX_DURATION_MS),
                    number_text(v)
                ),
            );
            return default;
        }
        v
    }

    /// A timer's wait in milliseconds, read as a [`duration`](Self::duration) greater than
    /// zero: the JS drivers hand it to `setTimeout`, which fires at once for a delay over
    /// 2^31 − 1 ms, so a longer one (up to the year a duration allows) waits that long instead.
    pub fn timer(&self, name: &'static str, default: f64) -> u32 {
        self.duration(name, default, Zero::Refused)
            .min(MAX_TIMER_MS as f64) as u32
    }

    /// A whole number within `range`.
    pub fn count(&self, name: &'static str, default: u64, range: RangeInclusive<u64>) -> u64 {
        let Some(v) = self.number(name) else {
            return default;
        };
        let (min, max) = (*range.start(), *range.end());
        if !v.is_finite() || v.fract() != 0.0 || v < min as f64 || v > max as f64 {
            self.refuse(
                name,
                format!(
                    "must be an integer from {min} to {max}; got {}",
                    number_text(v)
                ),
            );
            return default;
        }
        v as u64
    }
}
