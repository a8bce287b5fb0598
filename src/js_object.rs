//! Plain JS objects, field by field: built for answers and rows, read back from rows, messages
//! and the config. Every read tolerates anything (a getter that throws, a value of the wrong
//! type) and answers `None` rather than an error.

use std::cell::RefCell;

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::collections::HashMap;
use crate::json::{Map, Value};

thread_local! {
    /// The JS strings of the field names this crate reads and writes, made once each (a map of
    /// the same type as the IndexedDB layer's, so that its code is in the `.wasm` once).
    static NAMES: RefCell<HashMap<String, JsValue>> = RefCell::new(HashMap::default());
}

/// The JS string of the field name `name`, made on first use and kept: a row read or an answer
/// built names a dozen fields, and making each string anew (UTF-8 decoded by the glue) was a
/// sizeable part of a stored get's own work.
pub fn name(name: &'static str) -> JsValue {
    NAMES.with(|names| {
        if let Some(value) = names.borrow().get(name) {
            return value.clone();
        }
        let value = JsValue::from_str(name);
        names.borrow_mut().insert(name.to_string(), value.clone());
        value
    })
}

/// A plain object under construction: `JsObject::new().set("a", 1.0).set("b", "x").into()`.
#[derive(Debug, Clone)]
pub struct JsObject(Object);

impl Default for JsObject {
    fn default() -> Self {
        JsObject(Object::new())
    }
}

impl JsObject {
    /// An empty object.
    pub fn new() -> Self {
        JsObject::default()
    }

    /// Sets `name` to `value`.
    pub fn set(self, name: &'static str, value: impl Into<JsValue>) -> Self {
        let _ = Reflect::set(&self.0, &self::name(name), &value.into());
        self
    }

    /// Sets `name` to `value` when there is one (leaves it out otherwise).
    pub fn set_some(self, name: &'static str, value: Option<impl Into<JsValue>>) -> Self {
        match value {
            Some(value) => self.set(name, value),
            None => self,
        }
    }
}

impl From<JsObject> for JsValue {
    fn from(object: JsObject) -> JsValue {
        object.0.into()
    }
}

/// Field `name` of `value` (`undefined` when it is absent or cannot be read).
pub fn field(value: &JsValue, name: &'static str) -> JsValue {
    if !value.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(value, &self::name(name)).unwrap_or(JsValue::UNDEFINED)
}

/// Field `name` as a string.
pub fn string_field(value: &JsValue, name: &'static str) -> Option<String> {
    field(value, name).as_string()
}

/// Field `name` as a number.
pub fn number_field(value: &JsValue, name: &'static str) -> Option<f64> {
    field(value, name).as_f64()
}

/// Field `name` as a boolean.
pub fn bool_field(value: &JsValue, name: &'static str) -> Option<bool> {
    field(value, name).as_bool()
}

/// `value` as an array of strings, if it is exactly one.
pub fn string_array(value: &JsValue) -> Option<Vec<String>> {
    if !Array::is_array(value) {
        return None;
    }
    Array::from(value).iter().map(|v| v.as_string()).collect()
}

/// How deeply a config object may nest.
const MAX_DEPTH: usize = 32;

/// A JS value as JSON data, for [`crate::Config::from_json`]: objects by their own enumerable
/// string keys, arrays, strings, numbers (NaN and infinities kept, for the config to refuse by
/// name), booleans; `undefined` as `null`. Anything else (a function, a symbol, a BigInt, a
/// cycle deeper than the config could be) is refused with what it was.
pub fn to_json_value(value: &JsValue) -> Result<Value, &'static str> {
    to_json_at(value, 0)
}

fn to_json_at(value: &JsValue, depth: usize) -> Result<Value, &'static str> {
    if depth > MAX_DEPTH {
        return Err("is nested too deeply");
    }
    if value.is_null() || value.is_undefined() {
        return Ok(Value::Null);
    }
    if let Some(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(n) = value.as_f64() {
        return Ok(Value::Number(n));
    }
    if let Some(s) = value.as_string() {
        return Ok(Value::String(s));
    }
    if Array::is_array(value) {
        return Array::from(value)
            .iter()
            .map(|item| to_json_at(&item, depth + 1))
            .collect::<Result<_, _>>()
            .map(Value::Array);
    }
    if value.is_function() {
        return Err("holds a function where data was expected");
    }
    let Some(object) = value.dyn_ref::<Object>() else {
        return Err("holds a value that is not JSON data");
    };
    let mut map = Map::default();
    for entry in Object::entries(object).iter() {
        let entry = Array::from(&entry);
        let Some(name) = entry.get(0).as_string() else {
            continue;
        };
        map.insert(name, to_json_at(&entry.get(1), depth + 1)?);
    }
    Ok(Value::Object(map))
}
