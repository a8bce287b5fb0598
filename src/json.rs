//! JSON in and out, small: the few shapes the cache reads (API answers, stored records, the
//! config) and writes (records, batch requests).
//!
//! The module is its own parser and writer rather than serde_json because it ships in every
//! page's `.wasm`: a value tree, a recursive-descent parser with a depth limit, and a writer
//! for objects of strings, numbers and booleans. Nothing here panics on input; anything that is
//! not JSON is an [`Invalid`] error naming what was wrong.
//!
//! Numbers are `f64`, as in JavaScript. They are parsed without the standard library's float
//! parser (large in wasm): exactly for up to 15 significant digits and exponents within ±22
//! (every integer id, timestamp and config value the cache meets), and to within an ulp or two
//! beyond. Written numbers are integers when they are integral, otherwise a decimal with up
//! to nine fraction digits.

/// Why a text is not JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid(pub &'static str);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// A parsed JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object.
    Object(Map),
}

/// A JSON object: its members in the order written. A name given twice keeps its last value,
/// as `JSON.parse` does.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map(Vec<(String, Value)>);

impl Map {
    /// The value of member `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The member names, in the order written (a repeated name more than once).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// The members, in the order written.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Adds (or, when given again, overrides) member `name`.
    pub fn insert(&mut self, name: impl Into<String>, value: Value) {
        self.0.push((name.into(), value));
    }
}

impl Value {
    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(map) => Some(map),
            _ => None,
        }
    }

    /// The array's items, if this is one.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// What kind of value this is, as an error message says it: "a string", "null", …
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// Tests write their JSON with `serde_json::json!`.
#[cfg(any(test, feature = "testing"))]
impl From<serde_json::Value> for Value {
    fn from(value: serde_json::Value) -> Self {
        match value {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::String(s),
            serde_json::Value::Array(items) => {
                Value::Array(items.into_iter().map(Value::from).collect())
            }
            serde_json::Value::Object(map) => Value::Object(Map(map
                .into_iter()
                .map(|(k, v)| (k, Value::from(v)))
                .collect())),
        }
    }
}

/// How deeply arrays and objects may nest (the stack stays bounded on hostile input).
const MAX_DEPTH: usize = 64;

/// Parses `text` as one JSON value (whitespace around it allowed, nothing else).
pub fn parse(text: &[u8]) -> Result<Value, Invalid> {
    let mut parser = Parser { text, at: 0 };
    let value = parser.value(0)?;
    parser.skip_space();
    if parser.at != text.len() {
        return Err(Invalid("trailing characters after the JSON value"));
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    /// The byte at the cursor (inlined: it runs once per byte, and as a call it was a tenth of
    /// a record's decoding).
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, Invalid> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(Invalid("not JSON: unexpected character"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, Invalid> {
        if depth > MAX_DEPTH {
            return Err(Invalid("not JSON: nested too deeply"));
        }
        self.skip_space();
        match self.peek() {
            None => Err(Invalid("not JSON: unexpected end")),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'"') => self.string().map(Value::String),
            Some(b'[') => self.array(depth),
            Some(b'{') => self.object(depth),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Number),
            Some(_) => Err(Invalid("not JSON: unexpected character")),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, Invalid> {
        self.at += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(Invalid("not JSON: expected , or ] in an array")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, Invalid> {
        self.at += 1;
        let mut map = Map::default();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_space();
            if self.peek() != Some(b'"') {
                return Err(Invalid("not JSON: expected a member name"));
            }
            let name = self.string()?;
            self.skip_space();
            if self.peek() != Some(b':') {
                return Err(Invalid("not JSON: expected : after a member name"));
            }
            self.at += 1;
            map.insert(name, self.value(depth + 1)?);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Object(map));
                }
                _ => return Err(Invalid("not JSON: expected , or } in an object")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, Invalid> {
        let digits = self
            .text
            .get(self.at..self.at + 4)
            .ok_or(Invalid("not JSON: short \\u escape"))?;
        let mut code = 0;
        for &d in digits {
            let nibble = (d as char)
                .to_digit(16)
                .ok_or(Invalid("not JSON: bad \\u escape"))?;
            code = code * 16 + nibble;
        }
        self.at += 4;
        Ok(code)
    }

    fn string(&mut self) -> Result<String, Invalid> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let start = self.at;
            while let Some(c) = self.peek() {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.at += 1;
            }
            out.extend_from_slice(&self.text[start..self.at]);
            match self.peek() {
                Some(b'"') => {
                    self.at += 1;
                    return String::from_utf8(out).map_err(|_| Invalid("not JSON: bad UTF-8"));
                }
                Some(b'\\') => {
                    self.at += 1;
                    let escape = self.peek().ok_or(Invalid("not JSON: unexpected end"))?;
                    self.at += 1;
                    let c = match escape {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(Invalid("not JSON: bad escape")),
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                Some(_) => return Err(Invalid("not JSON: control character in a string")),
                None => return Err(Invalid("not JSON: unterminated string")),
            }
        }
    }

    /// The character of a `\uXXXX` escape (a surrogate pair when it is one); a lone surrogate
    /// becomes U+FFFD, as browsers show it.
    fn unicode_escape(&mut self) -> Result<char, Invalid> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) && self.text[self.at..].starts_with(b"\\u") {
            let save = self.at;
            self.at += 2;
            let second = self.hex4()?;
            if (0xDC00..0xE000).contains(&second) {
                let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                return Ok(char::from_u32(code).unwrap_or('\u{FFFD}'));
            }
            self.at = save;
        }
        Ok(char::from_u32(first).unwrap_or('\u{FFFD}'))
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        self.at - start
    }

    fn number(&mut self) -> Result<f64, Invalid> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let int_start = self.at;
        let int_len = self.digits();
        if int_len == 0 || (int_len > 1 && self.text[int_start] == b'0') {
            return Err(Invalid("not JSON: bad number"));
        }
        let (mut frac_start, mut frac_len) = (self.at, 0);
        if self.peek() == Some(b'.') {
            self.at += 1;
            frac_start = self.at;
            frac_len = self.digits();
            if frac_len == 0 {
                return Err(Invalid("not JSON: bad number"));
            }
        }
        let mut exponent: i64 = 0;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            let sign = match self.peek() {
                Some(b'-') => {
                    self.at += 1;
                    -1
                }
                Some(b'+') => {
                    self.at += 1;
                    1
                }
                _ => 1,
            };
            let exp_start = self.at;
            if self.digits() == 0 {
                return Err(Invalid("not JSON: bad number"));
            }
            for &d in &self.text[exp_start..self.at] {
                exponent = (exponent * 10 + i64::from(d - b'0')).min(100_000);
            }
            exponent *= sign;
        }
        let int_digits = &self.text[int_start..int_start + int_len];
        let frac_digits = &self.text[frac_start..frac_start + frac_len];
        let value = decimal_to_f64(int_digits, frac_digits, exponent);
        Ok(if negative { -value } else { value })
    }
}

/// `0.digits × 10^exponent` as an `f64`: the significant digits (up to 19) as an integer, then
/// one multiplication or division by a power of ten. Correctly rounded when both are exactly
/// representable (up to 15 significant digits, and 16 below 2^53, with a power up to 10^22: the
/// usual case); otherwise the mantissa or the power is rounded first, and the result can be one
/// unit in the last place off (`1764690001234.5679` reads as `…234.568`). An exact path for those
/// needs 128-bit division, 2.5 KB of gzip in the `.wasm`: not worth it for the cache's numbers
/// (times and sizes its own writer gives at most 17 digits that read back exactly, see
/// `written_numbers_read_back_as_the_same_f64`).
fn decimal_to_f64(int_digits: &[u8], frac_digits: &[u8], exponent: i64) -> f64 {
    let mut mantissa: u64 = 0;
    let mut scale: i64 = exponent;
    let mut significant = 0;
    for (i, &d) in int_digits.iter().chain(frac_digits).enumerate() {
        let in_fraction = i >= int_digits.len();
        if significant < 19 {
            if mantissa != 0 || d != b'0' {
                significant += 1;
            }
            mantissa = mantissa * 10 + u64::from(d - b'0');
            if in_fraction {
                scale -= 1;
            }
        } else if !in_fraction {
            scale += 1;
        }
    }
    if mantissa == 0 {
        return 0.0;
    }
    let m = mantissa as f64;
    const EXACT: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    match scale {
        0 => m,
        1..=22 => m * EXACT[scale as usize],
        -22..=-1 => m / EXACT[(-scale) as usize],
        _ if scale > 308 + 19 => f64::INFINITY,
        _ if scale < -343 => 0.0,
        _ if scale > 0 => m * 10f64.powi(scale as i32),
        // Two steps so that 10^-scale does not overflow before the division.
        _ => m / 1e22 / 10f64.powi((-scale - 22) as i32),
    }
}

/// Appends `s` as a JSON string literal.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends the decimal digits of `n`.
pub fn write_integer(out: &mut String, n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(d as char);
    }
}

/// Appends `n` as a JSON number: the integer when it is integral (below 2^63), otherwise its
/// 17 significant digits and a decimal exponent (`51e-2` for 0.51), which reads back as the same
/// `f64` to within the last bits (for magnitudes from 1e-10 to 1e18: times, sizes, durations;
/// within 1e-12 beyond); not-finite numbers, which JSON cannot hold, as `null`
/// (as `JSON.stringify` writes them).
pub fn write_number(out: &mut String, n: f64) {
    if !n.is_finite() {
        out.push_str("null");
        return;
    }
    if n < 0.0 {
        out.push('-');
    }
    let n = n.abs();
    if n.fract() == 0.0 && n < 9.2e18 {
        write_integer(out, n as u64);
        return;
    }
    // The decimal exponent of the leading digit, from the binary one (then corrected).
    let binary = ((n.to_bits() >> 52) & 0x7ff) as i32 - 1023;
    let mut exponent = (f64::from(binary) * std::f64::consts::LOG10_2).floor() as i32;
    let scaled = |e: i32| {
        let shift = 16 - e;
        if shift >= 0 {
            n * 10f64.powi(shift.min(300)) * 10f64.powi((shift - 300).max(0))
        } else {
            n / 10f64.powi(-shift)
        }
    };
    let mut mantissa = scaled(exponent);
    if mantissa >= 1e17 {
        exponent += 1;
        mantissa = scaled(exponent);
    } else if mantissa < 1e16 {
        exponent -= 1;
        mantissa = scaled(exponent);
    }
    let mut digits = mantissa.round() as u64;
    let mut scale = exponent - 16;
    while digits % 10 == 0 && digits > 0 {
        digits /= 10;
        scale += 1;
    }
    write_integer(out, digits);
    out.push('e');
    if scale < 0 {
        out.push('-');
    }
    write_integer(out, u64::from(scale.unsigned_abs()));
}

/// `n` as a person reads it in a message: [`write_number`]'s digits, or `NaN`, `Infinity`.
pub fn number_text(n: f64) -> String {
    let mut out = String::new();
    match n {
        _ if n.is_nan() => out.push_str("NaN"),
        f64::INFINITY => out.push_str("Infinity"),
        f64::NEG_INFINITY => out.push_str("-Infinity"),
        _ => write_number(&mut out, n),
    }
    out
}

/// Writes one JSON object member by member: `ObjectWriter::new().string("a", "b").finish()`.
#[derive(Debug, Default)]
pub struct ObjectWriter {
    out: String,
}

impl ObjectWriter {
    /// An empty object.
    pub fn new() -> Self {
        ObjectWriter::default()
    }

    fn name(&mut self, name: &str) -> &mut String {
        self.out.push(if self.out.is_empty() { '{' } else { ',' });
        write_string(&mut self.out, name);
        self.out.push(':');
        &mut self.out
    }

    /// Adds a string member.
    pub fn string(mut self, name: &str, value: &str) -> Self {
        write_string(self.name(name), value);
        self
    }

    /// Adds a string member, or a `null` one for `None`.
    pub fn string_or_null(mut self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(value) => write_string(self.name(name), value),
            None => self.name(name).push_str("null"),
        }
        self
    }

    /// Adds a number member.
    pub fn number(mut self, name: &str, value: f64) -> Self {
        write_number(self.name(name), value);
        self
    }

    /// Adds a boolean member.
    pub fn boolean(mut self, name: &str, value: bool) -> Self {
        self.name(name)
            .push_str(if value { "true" } else { "false" });
        self
    }

    /// Adds a member whose value is already JSON text.
    pub fn raw(mut self, name: &str, json: &str) -> Self {
        self.name(name).push_str(json);
        self
    }

    /// The object's text.
    pub fn finish(mut self) -> String {
        if self.out.is_empty() {
            self.out.push('{');
        }
        self.out.push('}');
        self.out
    }
}

/// `["a","b"]`: an array of strings.
pub fn string_array(items: &[String]) -> String {
    let mut out = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(&mut out, item);
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(text: &str) -> f64 {
        parse(text.as_bytes()).unwrap().as_f64().unwrap()
    }

    #[test]
    fn parses_every_kind_of_value() {
        let v =
            parse(br#" {"a": [1, -2.5, true, false, null], "b": {"c": "d\n\u00e9\ud83d\ude00"}} "#)
                .unwrap();
        let map = v.as_object().unwrap();
        assert_eq!(
            map.get("a"),
            Some(&Value::Array(vec![
                Value::Number(1.0),
                Value::Number(-2.5),
                Value::Bool(true),
                Value::Bool(false),
                Value::Null
            ]))
        );
        let b = map.get("b").unwrap().as_object().unwrap();
        assert_eq!(b.get("c").unwrap().as_str(), Some("d\né😀"));
    }

    #[test]
    fn numbers_parse_as_javascript_reads_them() {
        for text in [
            "0",
            "1",
            "-0",
            "42",
            "1700000000000",
            "0.1",
            "0.2",
            "0.3",
            "2.5",
            "1e3",
            "1E-3",
            "123.456e2",
            "9007199254740991",
            "1e22",
            "1e-22",
            "3.14159265358979",
            "0.000001",
            "5e-324",
            "1.7976931348623157e308",
            "12345678901234567890",
            "1e400",
            "1e-400",
        ] {
            let expected: f64 = text.parse().unwrap();
            let got = num(text);
            let ulps = (got.to_bits() as i64 - expected.to_bits() as i64).abs();
            assert!(ulps <= 2, "{text}: {got} vs {expected}");
        }
    }

    #[test]
    fn last_of_a_repeated_name_wins() {
        let v = parse(br#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(v.as_object().unwrap().get("a"), Some(&Value::Number(2.0)));
    }

    #[test]
    fn refuses_what_is_not_json() {
        for text in [
            "",
            "{",
            "[1,]",
            "{\"a\"}",
            "{\"a\":}",
            "01",
            "1.",
            "-",
            "1e",
            "\"abc",
            "\"\\x\"",
            "tru",
            "nul",
            "{} x",
            "\"a\u{1}\"",
            "[1 2]",
            "{\"a\":1,}",
            "'a'",
            "\"\\u12\"",
        ] {
            assert!(parse(text.as_bytes()).is_err(), "{text:?}");
        }
        assert!(parse(&[b'"', 0xff, b'"']).is_err(), "bad UTF-8");
    }

    #[test]
    fn deep_nesting_is_refused_without_overflowing_the_stack() {
        let deep = "[".repeat(100_000);
        assert!(parse(deep.as_bytes()).is_err());
        let ok = format!("{}{}", "[".repeat(60), "]".repeat(60));
        assert!(parse(ok.as_bytes()).is_ok());
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        let v = parse(br#""\ud800x\udc00""#).unwrap();
        assert_eq!(v.as_str(), Some("\u{FFFD}x\u{FFFD}"));
    }

    #[test]
    fn writes_objects_that_parse_back() {
        let text = ObjectWriter::new()
            .string("s", "a\"b\\c\n\u{1}é")
            .string_or_null("n", None)
            .number("i", 1_700_000_000_123.0)
            .number("f", 0.25)
            .number("neg", -3.0)
            .number("nan", f64::NAN)
            .boolean("t", true)
            .raw("list", &string_array(&["x".into(), "y\"".into()]))
            .finish();
        let v = parse(text.as_bytes()).unwrap();
        let map = v.as_object().unwrap();
        assert_eq!(map.get("s").unwrap().as_str(), Some("a\"b\\c\n\u{1}é"));
        assert!(map.get("n").unwrap().is_null());
        assert_eq!(map.get("i").unwrap().as_f64(), Some(1_700_000_000_123.0));
        assert_eq!(map.get("f").unwrap().as_f64(), Some(0.25));
        assert_eq!(map.get("neg").unwrap().as_f64(), Some(-3.0));
        assert!(map.get("nan").unwrap().is_null());
        assert_eq!(map.get("t").unwrap().as_bool(), Some(true));
        assert_eq!(ObjectWriter::new().finish(), "{}");
    }

    #[test]
    fn numbers_round_once_up_to_15_digits_and_stay_within_an_ulp_beyond() {
        let ulps = |a: f64, b: f64| a.to_bits().abs_diff(b.to_bits());
        let mut seed: u64 = 7;
        let mut next = || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            seed >> 11
        };
        for _ in 0..100_000 {
            let digits = 1 + next() % 19;
            let mantissa = next() % 10u64.pow(digits as u32);
            let text = match next() % 3 {
                0 => {
                    let text = mantissa.to_string();
                    let point = (next() as usize) % text.len();
                    if point == 0 {
                        text
                    } else {
                        format!("{}.{}", &text[..point], &text[point..])
                    }
                }
                1 => format!("{mantissa}e{}", next() % 23),
                _ => format!("{mantissa}e-{}", next() % 23),
            };
            let Value::Number(n) = parse(text.as_bytes()).unwrap() else {
                panic!("{text}");
            };
            let exact = text.parse::<f64>().unwrap();
            if digits <= 15 {
                assert_eq!(n, exact, "{text}");
            } else {
                assert!(ulps(n, exact) <= 1, "{text}: {n} vs {exact}");
            }
        }
    }

    #[test]
    fn written_numbers_read_back_as_the_same_f64() {
        let mut seed: u64 = 1;
        let mut samples = vec![
            1.5,
            0.001,
            0.51000000000001,
            2.000_000_000_1,
            1e-300,
            5e-324,
            1.7976931348623157e308,
            9.3e18,
            1e21,
            123456.789,
            0.1,
            1.0 / 3.0,
        ];
        for _ in 0..2_000 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1442695040888963407);
            let x = f64::from_bits(seed >> 2);
            if x.is_finite() {
                samples.push(x);
            }
        }
        for x in samples {
            for x in [x, -x] {
                let mut out = String::new();
                write_number(&mut out, x);
                let back = num(&out);
                // Within a few bits for every magnitude a cache stores (times, sizes,
                // durations); beyond, within 1e-12 (powers of ten are no longer exact there).
                let ulps = (back.to_bits() as i64 - x.to_bits() as i64).abs();
                let ordinary = (1e-10..1e18).contains(&x.abs());
                let close = (back - x).abs() <= x.abs() * 1e-12;
                assert!(
                    if ordinary { ulps <= 3 } else { close },
                    "{x:e} was written as {out} and read back as {back:e}"
                );
            }
        }
        let mut out = String::new();
        write_number(&mut out, 0.25);
        assert_eq!(out, "25e-2");
    }
}
