//! Rust facts: the `use` table and function-like scopes (`async fn`, closures, `async` blocks).

use super::Scope;
use std::collections::HashMap;
use tree_sitter::{Node, Tree};

#[derive(Debug, Default)]
pub struct RustFacts {
    /// Name bound by a `use` item -> full path (`sleep` -> `std::thread::sleep`).
    pub uses: HashMap<String, String>,
    pub scopes: Vec<Scope>,
    /// Byte ranges of test functions and `#[cfg(test)]` modules.
    pub test_ranges: Vec<(usize, usize)>,
}

fn text<'a>(node: Node<'_>, src: &'a str) -> &'a str {
    node.utf8_text(src.as_bytes()).unwrap_or("")
}

/// `#[test]`, `#[tokio::test]`, `#[actix_rt::test]`... directly above a function, or
/// `#[cfg(test)]` above a module.
fn is_test_item(node: Node<'_>, src: &str) -> bool {
    let mut prev = node.prev_named_sibling();
    while let Some(p) = prev {
        if p.kind() != "attribute_item" {
            break;
        }
        let t = text(p, src);
        if t.contains("test]")
            || t.contains("::test")
            || t.contains("test(")
            || t.contains("(test)")
        {
            return true;
        }
        prev = p.prev_named_sibling();
    }
    false
}

impl RustFacts {
    pub fn build(tree: &Tree, src: &str) -> RustFacts {
        let mut facts = RustFacts::default();
        let mut cursor = tree.root_node().walk();
        loop {
            let node = cursor.node();
            match node.kind() {
                "use_declaration" => {
                    if let Some(arg) = node.child_by_field_name("argument") {
                        facts.collect_use(arg, "", src, 0);
                    }
                }
                "mod_item" if is_test_item(node, src) => {
                    facts.test_ranges.push((node.start_byte(), node.end_byte()));
                }
                "function_item" => {
                    let is_test = is_test_item(node, src);
                    if is_test {
                        facts.test_ranges.push((node.start_byte(), node.end_byte()));
                    }
                    // A test function runs on a test runtime where blocking is harmless.
                    let is_async = !is_test
                        && node
                            .named_children(&mut node.walk())
                            .find(|c| c.kind() == "function_modifiers")
                            .is_some_and(|m| text(m, src).contains("async"));
                    let name = node
                        .child_by_field_name("name")
                        .map(|n| text(n, src).to_string())
                        .unwrap_or_default();
                    facts.push_scope(node, name, is_async);
                }
                "closure_expression" => facts.push_scope(node, "<closure>".into(), false),
                "async_block" => facts.push_scope(node, "<async block>".into(), true),
                _ => {}
            }
            if cursor.goto_first_child() {
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    facts
                        .scopes
                        .sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
                    return facts;
                }
            }
        }
    }

    fn push_scope(&mut self, node: Node<'_>, name: String, is_async: bool) {
        self.scopes.push(Scope {
            name,
            is_async,
            start: node.start_byte(),
            end: node.end_byte(),
        });
    }

    fn collect_use(&mut self, node: Node<'_>, prefix: &str, src: &str, depth: usize) {
        if depth > 16 {
            return;
        }
        let join = |p: &str, s: &str| {
            if p.is_empty() {
                s.to_string()
            } else {
                format!("{p}::{s}")
            }
        };
        match node.kind() {
            "identifier" | "scoped_identifier" | "crate" | "self" | "super" => {
                let full = join(prefix, text(node, src));
                let last = full.rsplit("::").next().unwrap_or(&full).to_string();
                if last == "self" {
                    let parent = full.trim_end_matches("::self").to_string();
                    let name = parent.rsplit("::").next().unwrap_or(&parent).to_string();
                    self.uses.insert(name, parent);
                } else {
                    self.uses.insert(last, full);
                }
            }
            "use_as_clause" => {
                if let (Some(path), Some(alias)) = (
                    node.child_by_field_name("path"),
                    node.child_by_field_name("alias"),
                ) {
                    self.uses
                        .insert(text(alias, src).to_string(), join(prefix, text(path, src)));
                }
            }
            "scoped_use_list" => {
                let path = node
                    .child_by_field_name("path")
                    .map(|p| join(prefix, text(p, src)))
                    .unwrap_or_else(|| prefix.to_string());
                if let Some(list) = node.child_by_field_name("list") {
                    self.collect_use(list, &path, src, depth + 1);
                }
            }
            "use_list" => {
                let mut c = node.walk();
                for child in node.named_children(&mut c) {
                    self.collect_use(child, prefix, src, depth + 1);
                }
            }
            _ => {}
        }
    }

    pub fn in_test(&self, byte: usize) -> bool {
        self.test_ranges.iter().any(|&(s, e)| s <= byte && byte < e)
    }

    /// Full path of a callee: the head segment goes through the `use` table.
    pub fn resolve(&self, callee: &str) -> Option<String> {
        let callee: String = callee.chars().filter(|c| !c.is_whitespace()).collect();
        let callee = callee.trim_start_matches("::");
        let (head, rest) = match callee.split_once("::") {
            Some((h, r)) => (h, Some(r)),
            None => (callee, None),
        };
        Some(match (self.uses.get(head), rest) {
            (Some(full), Some(r)) => format!("{full}::{r}"),
            (Some(full), None) => full.clone(),
            (None, _) => callee.to_string(),
        })
    }
}
