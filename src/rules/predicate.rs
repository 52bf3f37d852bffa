//! Predicates of declarative rules: conditions on a captured node that a tree-sitter
//! query cannot express (import resolution, keyword arguments, async context, the shape of
//! a block, the name an expression stands for).
//!
//! Each `where` entry holds exactly one test, so a rule reads as a list of conditions that
//! must all hold. Tests on arguments see a Python `call` or its `argument_list`; tests on
//! statements see a `block` (or a node that has one, such as an `except_clause`).
//!
//! | key | holds when |
//! |---|---|
//! | `resolves-to` / `not-resolves-to` | the import-resolved name is (not) in the list (`requests.*` wildcard) |
//! | `matches` / `not-matches` | the regex matches the capture's text |
//! | `lacks-keyword` / `has-keyword` | the call lacks / has the keyword argument (`**kwargs`: neither) |
//! | `keyword` + `value-matches` / `value-not-matches` | the keyword's value text matches / does not (absent: only `value-not-matches` holds) |
//! | `lacks-positional = N` | the call has fewer than N positional arguments (`*args`: false) |
//! | `inside-async` | the innermost function scope is (not) `async` |
//! | `inside-test` | inside test code: a Rust `#[test]` fn or `#[cfg(test)]` module, a Python `test_*` function |
//! | `function-matches` / `function-not-matches` | the regex matches the enclosing function's name (module level: the name is empty) |
//! | `rest-of-function-matches` / `-not-matches` | the regex matches the enclosing function's text outside the capture (module level: the whole file) |
//! | `inside-if-matches` / `-not-matches` | the regex matches the condition of an `if`/`elif` whose body holds the capture (up to the enclosing function); none: `-matches` fails |
//! | `rest-of-file-matches` / `-not-matches` | the regex matches the file's text outside the capture |
//! | `only-statements = [kinds]` | every statement of the block is of one of the kinds (an expression statement counts as its expression: `ellipsis`, `string`); comments ignored |
//! | `last-statement-matches` / `-not-matches` | the regex matches the text of the block's last statement; comments ignored |
//! | `name-matches` / `name-not-matches` | the regex matches the name the expression stands for (see [`expr_name`]); no name: `name-matches` fails and `name-not-matches` holds |
//! | `imports` | the file imports one of these packages (or a submodule of one) |

use crate::model::facts::{Facts, Scope};
use crate::source::names::Names as _;
use crate::source::re;
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
    pub lacks_positional: Option<usize>,
    pub inside_async: Option<bool>,
    pub inside_test: Option<bool>,
    pub function_matches: Option<String>,
    pub function_not_matches: Option<String>,
    pub rest_of_function_matches: Option<String>,
    pub rest_of_function_not_matches: Option<String>,
    pub rest_of_file_matches: Option<String>,
    pub rest_of_file_not_matches: Option<String>,
    pub inside_if_matches: Option<String>,
    pub inside_if_not_matches: Option<String>,
    pub only_statements: Option<Vec<String>>,
    pub last_statement_matches: Option<String>,
    pub last_statement_not_matches: Option<String>,
    pub name_matches: Option<String>,
    pub name_not_matches: Option<String>,
    pub imports: Option<Vec<String>>,
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
    LacksPositional(usize),
    InsideAsync(bool),
    InsideTest(bool),
    FunctionMatches(Regex, bool),
    RestOfFunctionMatches(Regex, bool),
    RestOfFileMatches(Regex, bool),
    InsideIfMatches(Regex, bool),
    OnlyStatements(Vec<String>),
    LastStatementMatches(Regex, bool),
    NameMatches(Regex, bool),
    Imports(Vec<String>),
}

fn regex(s: &str) -> Result<Regex, String> {
    re::new(s).map_err(|e| format!("invalid regex `{s}`: {e}"))
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
        if let Some(n) = self.lacks_positional {
            tests.push(Test::LacksPositional(n));
        }
        if let Some(b) = self.inside_test {
            tests.push(Test::InsideTest(b));
        }
        if let Some(b) = self.inside_async {
            tests.push(Test::InsideAsync(b));
        }
        if let Some(s) = self.function_matches {
            tests.push(Test::FunctionMatches(regex(&s)?, true));
        }
        if let Some(s) = self.function_not_matches {
            tests.push(Test::FunctionMatches(regex(&s)?, false));
        }
        if let Some(s) = self.rest_of_function_matches {
            tests.push(Test::RestOfFunctionMatches(regex(&s)?, true));
        }
        if let Some(s) = self.rest_of_function_not_matches {
            tests.push(Test::RestOfFunctionMatches(regex(&s)?, false));
        }
        if let Some(s) = self.rest_of_file_matches {
            tests.push(Test::RestOfFileMatches(regex(&s)?, true));
        }
        if let Some(s) = self.rest_of_file_not_matches {
            tests.push(Test::RestOfFileMatches(regex(&s)?, false));
        }
        if let Some(s) = self.inside_if_matches {
            tests.push(Test::InsideIfMatches(regex(&s)?, true));
        }
        if let Some(s) = self.inside_if_not_matches {
            tests.push(Test::InsideIfMatches(regex(&s)?, false));
        }
        if let Some(kinds) = self.only_statements {
            if kinds.is_empty() {
                return Err("`only-statements` needs at least one statement kind".into());
            }
            tests.push(Test::OnlyStatements(kinds));
        }
        if let Some(s) = self.last_statement_matches {
            tests.push(Test::LastStatementMatches(regex(&s)?, true));
        }
        if let Some(s) = self.last_statement_not_matches {
            tests.push(Test::LastStatementMatches(regex(&s)?, false));
        }
        if let Some(s) = self.name_matches {
            tests.push(Test::NameMatches(regex(&s)?, true));
        }
        if let Some(s) = self.name_not_matches {
            tests.push(Test::NameMatches(regex(&s)?, false));
        }
        if let Some(v) = self.imports {
            if v.is_empty() {
                return Err("`imports` needs at least one package name".into());
            }
            tests.push(Test::Imports(v));
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
    /// Evaluates a text-only test (`matches`/`not-matches`) on a string, as regex rules do;
    /// `None` for tests that need a syntax node.
    pub fn eval_text(&self, s: &str) -> Option<bool> {
        match &self.test {
            Test::Matches(re, want) => Some(re.is_match(s) == *want),
            _ => None,
        }
    }

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
            Test::InsideTest(want) => facts.in_test(node.start_byte()) == *want,
            Test::InsideAsync(want) => {
                facts
                    .scope_at(node.start_byte())
                    .is_some_and(|s| s.is_async)
                    == *want
            }
            Test::LacksPositional(n) => match positional_count(node) {
                Some(count) => count < *n,
                None => false,
            },
            Test::FunctionMatches(re, want) => {
                let name = enclosing_function(facts, node.start_byte()).map_or("", |s| &s.name);
                re.is_match(name) == *want
            }
            Test::RestOfFunctionMatches(re, want) => {
                let (start, end) = enclosing_function(facts, node.start_byte())
                    .map_or((0, text.len()), |s| (s.start, s.end));
                let before = text.get(start..node.start_byte()).unwrap_or("");
                let after = text.get(node.end_byte()..end).unwrap_or("");
                (re.is_match(before) || re.is_match(after)) == *want
            }
            Test::RestOfFileMatches(re, want) => {
                let before = text.get(..node.start_byte()).unwrap_or("");
                let after = text.get(node.end_byte()..).unwrap_or("");
                (re.is_match(before) || re.is_match(after)) == *want
            }
            Test::InsideIfMatches(re, want) => {
                let mut cur = node;
                let mut found = false;
                while let Some(p) = cur.parent() {
                    if matches!(p.kind(), "function_definition" | "lambda" | "module") {
                        break;
                    }
                    if matches!(p.kind(), "if_statement" | "elif_clause")
                        && p.child_by_field_name("consequence")
                            .is_some_and(|c| c.id() == cur.id())
                    {
                        let cond = p
                            .child_by_field_name("condition")
                            .and_then(|c| c.utf8_text(text.as_bytes()).ok())
                            .unwrap_or("");
                        if re.is_match(cond) {
                            found = true;
                            break;
                        }
                    }
                    cur = p;
                }
                found == *want
            }
            Test::OnlyStatements(kinds) => {
                let statements = statements(node);
                !statements.is_empty()
                    && statements
                        .iter()
                        .all(|s| kinds.iter().any(|k| k == statement_kind(*s)))
            }
            Test::LastStatementMatches(re, want) => match statements(node).last() {
                Some(last) => re.is_match(last.utf8_text(text.as_bytes()).unwrap_or("")) == *want,
                None => !*want,
            },
            Test::NameMatches(re, want) => match expr_name(node, text) {
                Some(name) => re.is_match(&name) == *want,
                None => !*want,
            },
            Test::Imports(packages) => match facts {
                Facts::Python(f) => packages.iter().any(|p| f.imports_package(p)),
                Facts::Rust(f) => packages.iter().any(|p| {
                    f.uses
                        .values()
                        .any(|u| u == p || u.starts_with(&format!("{p}::")))
                }),
                Facts::None => false,
            },
        }
    }
}

/// The innermost named function around `byte` (lambdas and closures are skipped: their
/// text belongs to the function that holds them).
fn enclosing_function(facts: &Facts, byte: usize) -> Option<&Scope> {
    let scopes = match facts {
        Facts::Python(f) => &f.scopes,
        Facts::Rust(f) => &f.scopes,
        Facts::None => return None,
    };
    let upto = scopes.partition_point(|s| s.start <= byte);
    scopes[..upto]
        .iter()
        .rev()
        .find(|s| s.end >= byte && !s.name.starts_with('<'))
}

/// Positional arguments of a call (or argument list); `None` when a `*args` splat makes
/// the count unknowable.
fn positional_count(node: Node<'_>) -> Option<usize> {
    let args = if node.kind() == "call" {
        node.child_by_field_name("arguments")?
    } else {
        node
    };
    let mut count = 0;
    let mut cursor = args.walk();
    for child in args.named_children(&mut cursor) {
        match child.kind() {
            "keyword_argument" | "dictionary_splat" | "comment" => {}
            "list_splat" => return None,
            _ => count += 1,
        }
    }
    Some(count)
}

/// Statements of a block, or of the block that `node` holds (an `except_clause`, a
/// function, a `with`), without comments.
fn statements(node: Node<'_>) -> Vec<Node<'_>> {
    let block = if node.kind() == "block" {
        Some(node)
    } else {
        node.child_by_field_name("body").or_else(|| {
            let mut cursor = node.walk();
            let found = node
                .named_children(&mut cursor)
                .find(|c| c.kind() == "block");
            found
        })
    };
    let Some(block) = block else {
        return Vec::new();
    };
    let mut cursor = block.walk();
    block
        .named_children(&mut cursor)
        .filter(|c| c.kind() != "comment")
        .collect()
}

/// Kind of a statement, where an expression statement counts as its expression
/// (`...` is `ellipsis`, a docstring is `string`).
fn statement_kind<'t>(node: Node<'t>) -> &'t str {
    if node.kind() == "expression_statement" && node.named_child_count() == 1 {
        if let Some(inner) = node.named_child(0) {
            return inner.kind();
        }
    }
    node.kind()
}

pub(crate) use crate::checks::py::expr_name;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::facts::python::PyFacts;
    use crate::source::lang::Lang;
    use crate::source::parse::parse;

    /// Parses `src`, finds the first node of `kind` whose text starts with `starts`,
    /// and evaluates the predicate built from a one-entry TOML table on it.
    fn eval(src: &str, kind: &str, starts: &str, spec: &str) -> bool {
        let tree = parse(Lang::Python, src, None).expect("parses");
        let facts = Facts::Python(PyFacts::build(&tree, src));
        let spec: PredicateSpec = toml::from_str(spec).expect("valid spec");
        let predicate = spec.compile().expect("compiles");
        let mut cursor = tree.root_node().walk();
        loop {
            let node = cursor.node();
            if node.kind() == kind
                && node
                    .utf8_text(src.as_bytes())
                    .is_ok_and(|t| t.starts_with(starts))
            {
                return predicate.eval(node, src, &facts);
            }
            if cursor.goto_first_child() {
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                assert!(
                    cursor.goto_parent(),
                    "no {kind} node starting with {starts:?}"
                );
            }
        }
    }

    #[test]
    fn each_entry_needs_exactly_one_test() {
        let two: PredicateSpec =
            toml::from_str("lacks-positional = 2\nname-matches = 'x'").expect("parses");
        assert!(two.compile().is_err());
        let none: PredicateSpec = toml::from_str("capture = 'x'").expect("parses");
        assert!(none.compile().is_err());
        let empty: PredicateSpec = toml::from_str("only-statements = []").expect("parses");
        assert!(empty.compile().is_err());
    }

    #[test]
    fn lacks_positional_counts_positional_arguments_only() {
        let src = "urlopen(u, d, 10)\nurlopen(u, d, timeout=3)\nurlopen(*a)\n";
        assert!(!eval(
            src,
            "call",
            "urlopen(u, d, 10)",
            "lacks-positional = 3"
        ));
        assert!(eval(
            src,
            "call",
            "urlopen(u, d, timeout",
            "lacks-positional = 3"
        ));
        // `*args` may hold any number of arguments: unknown, so the test does not hold.
        assert!(!eval(src, "call", "urlopen(*a)", "lacks-positional = 3"));
    }

    #[test]
    fn only_statements_sees_through_expression_statements_and_comments() {
        let src = "try:\n    x()\nexcept Exception:\n    \"\"\"Ignored.\"\"\"\n    # why\n    pass\n\ntry:\n    y()\nexcept Exception:\n    log(e)\n    pass\n";
        let silent = "only-statements = ['pass_statement', 'ellipsis', 'string']";
        assert!(eval(
            src,
            "except_clause",
            "except Exception:\n    \"",
            silent
        ));
        assert!(!eval(
            src,
            "except_clause",
            "except Exception:\n    log",
            silent
        ));
    }

    #[test]
    fn last_statement_ignores_trailing_comments() {
        let src = "try:\n    x()\nexcept:\n    cleanup()\n    raise\n    # re-raised\n";
        assert!(eval(
            src,
            "block",
            "cleanup()",
            "last-statement-matches = '^raise$'"
        ));
        assert!(!eval(
            src,
            "block",
            "cleanup()",
            "last-statement-not-matches = '^raise$'"
        ));
    }

    #[test]
    fn name_of_expressions() {
        let src = "a = self.token\nb = headers['X-Signature']\nc = request.headers.get('X-Api-Key', '')\nd = compute_sig(body)\ne = (await fetch_token())\nf = 'literal'\n";
        let name = |starts: &str| {
            let tree = parse(Lang::Python, src, None).expect("parses");
            let mut cursor = tree.root_node().walk();
            loop {
                let node = cursor.node();
                if node.kind() == "assignment" {
                    let right = node.child_by_field_name("right").expect("right");
                    if right.utf8_text(src.as_bytes()).unwrap().starts_with(starts) {
                        return expr_name(right, src);
                    }
                }
                if cursor.goto_first_child() {
                    continue;
                }
                while !cursor.goto_next_sibling() {
                    assert!(cursor.goto_parent());
                }
            }
        };
        assert_eq!(name("self.token").as_deref(), Some("token"));
        assert_eq!(name("headers[").as_deref(), Some("X-Signature"));
        assert_eq!(name("request.headers.get").as_deref(), Some("X-Api-Key"));
        assert_eq!(name("compute_sig").as_deref(), Some("compute_sig"));
        assert_eq!(name("(await").as_deref(), Some("fetch_token"));
        assert_eq!(name("'literal'"), None);
        assert!(eval(
            src,
            "attribute",
            "self.token",
            "name-matches = '^token$'"
        ));
        // No name: `name-not-matches` holds, `name-matches` does not.
        assert!(eval(
            src,
            "string",
            "'literal'",
            "name-not-matches = '^[A-Z]+$'"
        ));
        assert!(!eval(src, "string", "'literal'", "name-matches = '.*'"));
    }

    #[test]
    fn function_and_rest_of_function() {
        let src = "def __eq__(self, o):\n    return self.t == o.t\n\ndef peek(t):\n    c = decode(t, verify=False)\n    return decode(t, k, algorithms=['RS256'])\n\ndef only(t):\n    return decode(t, verify=False)\n";
        assert!(eval(
            src,
            "comparison_operator",
            "self.t",
            "function-matches = '^__eq__$'"
        ));
        assert!(!eval(
            src,
            "comparison_operator",
            "self.t",
            "function-not-matches = '^__eq__$'"
        ));
        let verified = "rest-of-function-matches = 'algorithms='";
        assert!(eval(src, "call", "decode(t, verify", verified));
        // The captured call itself does not count, only the rest of its function.
        assert!(!eval(src, "call", "decode(t, k, algorithms", verified));
        let src2 = "def only(t):\n    return decode(t, verify=False)\n";
        assert!(eval(
            src2,
            "call",
            "decode(t, verify",
            "rest-of-function-not-matches = 'algorithms='"
        ));
    }

    #[test]
    fn imports_tests_packages_and_submodules() {
        let src =
            "import urllib.request\nfrom requests.adapters import HTTPAdapter\ns.verify = False\n";
        assert!(eval(
            src,
            "assignment",
            "s.verify",
            "imports = ['requests']"
        ));
        assert!(eval(
            src,
            "assignment",
            "s.verify",
            "imports = ['httpx', 'urllib']"
        ));
        assert!(!eval(src, "assignment", "s.verify", "imports = ['httpx']"));
    }
}
