//! A JSON Schema draft-04 validator for exactly the keywords the SARIF 2.1.0 schema uses.
//!
//! Why not the `jsonschema` crate: it adds ~50 crates and about 4.5 CPU-minutes to every
//! clean test build (measured here on 2 cores) for one test. The SARIF schema needs only
//! the keywords below; any other keyword makes validation fail loudly, so a schema this
//! validator cannot judge never passes silently.

use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;

/// Keywords that only annotate.
const ANNOTATIONS: &[&str] = &[
    "description",
    "default",
    "title",
    "$schema",
    "id",
    "definitions",
];

pub struct Validator<'s> {
    root: &'s Value,
    patterns: HashMap<String, Regex>,
}

impl<'s> Validator<'s> {
    pub fn new(root: &'s Value) -> Validator<'s> {
        let mut patterns = HashMap::new();
        collect_patterns(root, &mut patterns);
        Validator { root, patterns }
    }

    /// Every violation, as `instance path: problem`.
    pub fn errors(&self, instance: &Value) -> Vec<String> {
        let mut out = Vec::new();
        self.check(self.root, instance, "", &mut out);
        out
    }

    fn resolve(&self, reference: &str) -> &'s Value {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("only local $ref is supported: {reference}"));
        self.root
            .pointer(pointer)
            .unwrap_or_else(|| panic!("unresolvable $ref {reference}"))
    }

    fn check(&self, schema: &'s Value, inst: &Value, at: &str, out: &mut Vec<String>) {
        let Some(schema) = schema.as_object() else {
            panic!("schema at {at} is not an object");
        };
        if let Some(r) = schema.get("$ref") {
            // Draft-04: a $ref replaces its siblings.
            let target = self.resolve(r.as_str().expect("$ref is a string"));
            return self.check(target, inst, at, out);
        }
        for (key, value) in schema {
            match key.as_str() {
                k if ANNOTATIONS.contains(&k) => {}
                "type" => {
                    let types: Vec<&str> = match value {
                        Value::String(s) => vec![s.as_str()],
                        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                        _ => panic!("bad type keyword at {at}"),
                    };
                    if !types.iter().any(|t| has_type(inst, t)) {
                        out.push(format!("{at}: expected type {types:?}, got {inst}"));
                    }
                }
                "enum" => {
                    if !value.as_array().expect("enum array").contains(inst) {
                        out.push(format!("{at}: {inst} is not one of {value}"));
                    }
                }
                "properties" => {
                    if let Some(obj) = inst.as_object() {
                        for (name, sub) in value.as_object().expect("properties object") {
                            if let Some(v) = obj.get(name) {
                                self.check(sub, v, &format!("{at}/{name}"), out);
                            }
                        }
                    }
                }
                "additionalProperties" => {
                    let Some(obj) = inst.as_object() else {
                        continue;
                    };
                    let declared = schema.get("properties").and_then(Value::as_object);
                    for (name, v) in obj {
                        if declared.is_some_and(|d| d.contains_key(name)) {
                            continue;
                        }
                        match value {
                            Value::Bool(false) => {
                                out.push(format!("{at}: property `{name}` is not allowed"))
                            }
                            Value::Bool(true) => {}
                            sub => self.check(sub, v, &format!("{at}/{name}"), out),
                        }
                    }
                }
                "required" => {
                    if let Some(obj) = inst.as_object() {
                        for name in value.as_array().expect("required array") {
                            let name = name.as_str().expect("required names are strings");
                            if !obj.contains_key(name) {
                                out.push(format!("{at}: missing required property `{name}`"));
                            }
                        }
                    }
                }
                "items" => {
                    assert!(value.is_object(), "only schema-valued items are supported");
                    if let Some(items) = inst.as_array() {
                        for (i, v) in items.iter().enumerate() {
                            self.check(value, v, &format!("{at}/{i}"), out);
                        }
                    }
                }
                "minItems" => {
                    let min = value.as_u64().expect("minItems number") as usize;
                    if inst.as_array().is_some_and(|a| a.len() < min) {
                        out.push(format!("{at}: fewer than {min} items"));
                    }
                }
                "uniqueItems" => {
                    if value == &Value::Bool(true) {
                        if let Some(a) = inst.as_array() {
                            for (i, x) in a.iter().enumerate() {
                                if a[..i].contains(x) {
                                    out.push(format!("{at}/{i}: duplicate item {x}"));
                                }
                            }
                        }
                    }
                }
                "minimum" | "maximum" => {
                    let bound = value.as_f64().expect("numeric bound");
                    if let Some(n) = inst.as_f64() {
                        let bad = if key == "minimum" {
                            n < bound
                        } else {
                            n > bound
                        };
                        if bad {
                            out.push(format!("{at}: {n} violates {key} {bound}"));
                        }
                    }
                }
                "pattern" => {
                    let p = value.as_str().expect("pattern string");
                    if let Some(s) = inst.as_str() {
                        if !self.patterns[p].is_match(s) {
                            out.push(format!("{at}: {s:?} does not match /{p}/"));
                        }
                    }
                }
                "format" => {
                    if let Some(s) = inst.as_str() {
                        let f = value.as_str().expect("format string");
                        if !format_ok(f, s) {
                            out.push(format!("{at}: {s:?} is not a valid {f}"));
                        }
                    }
                }
                "anyOf" | "oneOf" => {
                    let passing = value
                        .as_array()
                        .expect("anyOf/oneOf array")
                        .iter()
                        .filter(|sub| {
                            let mut errs = Vec::new();
                            self.check(sub, inst, at, &mut errs);
                            errs.is_empty()
                        })
                        .count();
                    let ok = if key == "anyOf" {
                        passing >= 1
                    } else {
                        passing == 1
                    };
                    if !ok {
                        out.push(format!("{at}: {passing} of the {key} alternatives match"));
                    }
                }
                other => {
                    panic!("the focused validator does not support keyword `{other}` (at {at})")
                }
            }
        }
    }
}

fn collect_patterns(v: &Value, out: &mut HashMap<String, Regex>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(p)) = o.get("pattern") {
                let re = Regex::new(p).unwrap_or_else(|e| panic!("pattern {p}: {e}"));
                out.insert(p.clone(), re);
            }
            o.values().for_each(|x| collect_patterns(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_patterns(x, out)),
        _ => {}
    }
}

fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        other => panic!("unknown type {other}"),
    }
}

/// RFC 3986 URI (with a scheme), URI reference, and RFC 3339 date-time.
fn format_ok(format: &str, s: &str) -> bool {
    let clean = |s: &str| {
        !s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || !c.is_ascii() || "\"<>{}|\\^`".contains(c)
        }) && percent_escapes_ok(s)
    };
    match format {
        "uri" => {
            let scheme = s.split_once(':').map(|(sc, _)| sc).unwrap_or("");
            clean(s)
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        "uri-reference" => clean(s),
        "date-time" => {
            Regex::new(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
                .expect("static regex")
                .is_match(s)
        }
        other => panic!("the focused validator does not support format `{other}`"),
    }
}

fn percent_escapes_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}
