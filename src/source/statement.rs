//! The statement around a finding, so that a suppression comment may sit on any line of a
//! multi-line statement (a lesson from Bandit's and Semgrep's trackers: users put the
//! comment on the closing line of a call, or on the line of the argument they mean).
//!
//! A statement is the first ancestor of the reported node that sits in a statement list
//! (module, block, SQL program...) or is a clause (`elif`, `except`...). A compound
//! statement only counts up to its body: a comment inside an `if` body never covers a
//! finding in the condition.

use crate::source::names::Names as _;
use tree_sitter::Tree;

/// Node kinds whose children are statements.
const STATEMENT_LISTS: &[&str] = &[
    "module",
    "block",
    "source_file",
    "declaration_list",
    "decorated_definition",
    "program",
];

/// Clauses of compound statements, statements in their own right for suppressions.
const CLAUSES: &[&str] = &[
    "elif_clause",
    "else_clause",
    "except_clause",
    "except_group_clause",
    "finally_clause",
    "case_clause",
    "match_arm",
];

/// Bodies that end a statement's header.
const BODIES: &[&str] = &[
    "block",
    "declaration_list",
    "field_declaration_list",
    "enum_variant_list",
    "match_block",
];

/// Nodes visited at most when looking for the body after a finding.
const VISIT_LIMIT: usize = 4096;

/// Byte range of the statement around `start..end`, or `None` when the language has no
/// statement structure there (YAML, a whole SQL statement).
pub fn span(tree: &Tree, start: usize, end: usize) -> Option<(usize, usize)> {
    let mut node = tree
        .root_node()
        .descendant_for_byte_range(start, end.max(start))?;
    loop {
        let parent = node.parent()?;
        if STATEMENT_LISTS.contains(&parent.kind()) || CLAUSES.contains(&node.kind()) {
            break;
        }
        node = parent;
    }
    let stmt_end = first_body_after(node, end).unwrap_or(node.end_byte());
    Some((node.start_byte().min(start), stmt_end.max(end)))
}

/// End of the header before the first body node inside `node` that begins at or after
/// `after`.
fn first_body_after(node: tree_sitter::Node<'_>, after: usize) -> Option<usize> {
    let mut cursor = node.walk();
    if !cursor.goto_first_child() {
        return None;
    }
    let mut visited = 0;
    loop {
        visited += 1;
        if visited > VISIT_LIMIT {
            return None;
        }
        let n = cursor.node();
        let descend = if n.end_byte() <= after {
            false
        } else if n.start_byte() >= after && BODIES.contains(&n.kind()) {
            // End at the token before the body (`:` or `{`'s predecessor), not at the
            // body's first statement, which may be on the next line.
            let before = n.prev_sibling().map_or(n.start_byte(), |p| p.end_byte());
            return Some(before.max(after));
        } else {
            true
        };
        if descend && cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() || cursor.node() == node {
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::lang::Lang;

    fn lines_of(lang: Lang, src: &str, needle: &str) -> (usize, usize) {
        let tree = crate::source::parse::parse(lang, src, None).unwrap();
        let start = src.find(needle).unwrap();
        let (s, e) = span(&tree, start, start + needle.len()).unwrap();
        let line = |b: usize| src[..b].matches('\n').count() + 1;
        (line(s), line(e.saturating_sub(1).max(s)))
    }

    #[test]
    fn python_statement_spans_its_lines_but_not_a_body() {
        let src = "x = foo(\n    requests.get(u),\n    1,\n)\nif requests.post(u):\n    pass\n";
        assert_eq!(lines_of(Lang::Python, src, "requests.get(u)"), (1, 4));
        assert_eq!(lines_of(Lang::Python, src, "requests.post(u)"), (5, 5));
        let src = "def f():\n    if a:\n        pass\n    elif requests.get(\n        u):\n        pass\n";
        assert_eq!(lines_of(Lang::Python, src, "requests.get("), (4, 5));
    }

    #[test]
    fn rust_statement_stops_at_the_block() {
        let src = "fn f() {\n    let x = client\n        .get(u)\n        .send();\n    if send(\n        a) {\n        b();\n    }\n}\n";
        assert_eq!(lines_of(Lang::Rust, src, ".get(u)"), (2, 4));
        assert_eq!(lines_of(Lang::Rust, src, "send(\n"), (5, 6));
    }
}
