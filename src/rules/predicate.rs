//! Predicates of declarative rules: conditions on a captured node that a tree-sitter
//! query cannot express (import resolution, keyword arguments, async context).

use crate::facts::Facts;
use regex::Regex;
use serde::Deserialize;
use tree_sitter::Node;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PredicateSpec {
    /// Capture the predicate looks at; defaults to the reported capture.
    pub capture: Option<String>,
    pub resolves_to: Option<Vec<String>>,
    pub not_resolves_to: Option<Vec<String>>,
    pub matches: Option<String>,
    pub not_matches: Option<String>,
    pub lacks_keyword: Option<String>,
    pub has_keyword: Option<String>,
    pub keyword: Option<String>,
    pub value_matches: Option<String>,
    pub value_not_matches: Option<String>,
    pub inside_async: Option<bool>,
    pub function_matches: Option<String>,
}

#[derive(Debug)]
pub struct Predicate {
    pub capture: Option<String>,
    pub test: Test,
}

#[derive(Debug)]
pub enum Test {
    ResolvesTo(Vec<String>, bool),
    Matches(Regex, bool),
    Keyword {
        name: String,
        present: bool,
    },
    KeywordValue {
        name: String,
        value: Regex,
        matches: bool,
    },
    InsideAsync(bool),
    FunctionMatches(Regex),
}

fn regex(s: &str) -> Result<Regex, String> {
    Regex::new(s).map_err(|e| format!("invalid regex `{s}`: {e}"))
}

impl PredicateSpec {
    pub fn compile(self) -> Result<Predicate, String> {
        let mut tests = Vec::new();
        if let Some(v) = self.resolves_to {
            tests.push(Test::ResolvesTo(v, true));
        }
        if let Some(v) = self.not_resolves_to {
            tests.push(Test::ResolvesTo(v, false));
        }
        if let Some(s) = self.matches {
            tests.push(Test::Matches(regex(&s)?, true));
        }
        if let Some(s) = self.not_matches {
            tests.push(Test::Matches(regex(&s)?, false));
        }
        if let Some(name) = self.lacks_keyword {
            tests.push(Test::Keyword {
                name,
                present: false,
            });
        }
        if let Some(name) = self.has_keyword {
            tests.push(Test::Keyword {
                name,
                present: true,
            });
        }
        match (self.keyword, self.value_matches, self.value_not_matches) {
            (Some(name), Some(v), None) => tests.push(Test::KeywordValue {
                name,
                value: regex(&v)?,
                matches: true,
            }),
            (Some(name), None, Some(v)) => tests.push(Test::KeywordValue {
                name,
                value: regex(&v)?,
                matches: false,
            }),
            (None, None, None) => {}
            _ => {
                return Err(
                    "`keyword` needs exactly one of `value-matches` or `value-not-matches`".into(),
                )
            }
        }
        if let Some(b) = self.inside_async {
            tests.push(Test::InsideAsync(b));
        }
        if let Some(s) = self.function_matches {
            tests.push(Test::FunctionMatches(regex(&s)?));
        }
        if tests.len() != 1 {
            return Err(format!(
                "each `where` entry needs exactly one test, found {}",
                tests.len()
            ));
        }
        Ok(Predicate {
            capture: self.capture,
            test: tests.pop().expect("one test"),
        })
    }
}

/// `requests.*` matches `requests.get`; otherwise the names must be equal.
pub fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

impl Predicate {
    pub fn eval(&self, node: Node<'_>, text: &str, facts: &Facts) -> bool {
        let node_text = || node.utf8_text(text.as_bytes()).unwrap_or("");
        match &self.test {
            Test::ResolvesTo(names, want) => {
                let hit = facts
                    .resolve(node_text())
                    .is_some_and(|q| names.iter().any(|n| name_matches(n, &q)));
                hit == *want
            }
            Test::Matches(re, want) => re.is_match(node_text()) == *want,
            Test::Keyword { name, present } => match keyword_value(node, text, name) {
                KeywordLookup::Found(_) => *present,
                KeywordLookup::Absent => !*present,
                // `**kwargs` may or may not carry it: neither test holds.
                KeywordLookup::Unknown => false,
            },
            Test::KeywordValue {
                name,
                value,
                matches,
            } => match keyword_value(node, text, name) {
                KeywordLookup::Found(v) => value.is_match(v) == *matches,
                KeywordLookup::Absent => !*matches,
                KeywordLookup::Unknown => false,
            },
            Test::InsideAsync(want) => {
                facts
                    .scope_at(node.start_byte())
                    .is_some_and(|s| s.is_async)
                    == *want
            }
            Test::FunctionMatches(re) => facts
                .scope_at(node.start_byte())
                .is_some_and(|s| re.is_match(&s.name)),
        }
    }
}

pub enum KeywordLookup<'t> {
    Found(&'t str),
    Absent,
    Unknown,
}

/// Looks up a keyword argument in a Python `argument_list` (or the call around it).
pub fn keyword_value<'t>(node: Node<'_>, text: &'t str, name: &str) -> KeywordLookup<'t> {
    let args = if node.kind() == "call" {
        match node.child_by_field_name("arguments") {
            Some(a) => a,
            None => return KeywordLookup::Absent,
        }
    } else {
        node
    };
    let mut unknown = false;
    let mut cursor = args.walk();
    for child in args.named_children(&mut cursor) {
        match child.kind() {
            "keyword_argument" => {
                let key = child
                    .child_by_field_name("name")
                    .and_then(|n| n.utf8_text(text.as_bytes()).ok());
                if key == Some(name) {
                    let v = child
                        .child_by_field_name("value")
                        .and_then(|n| n.utf8_text(text.as_bytes()).ok())
                        .unwrap_or("");
                    return KeywordLookup::Found(v);
                }
            }
            "dictionary_splat" => unknown = true,
            _ => {}
        }
    }
    if unknown {
        KeywordLookup::Unknown
    } else {
        KeywordLookup::Absent
    }
}
