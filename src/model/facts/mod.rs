//! Per-file facts that many rules need, computed once per parsed file.

pub mod pagination;
pub mod python;
mod pyweb;
pub mod rust;

/// A function-like scope: `def`, `async def`, `lambda`, `fn`, closure, `async` block.
#[derive(Debug, Clone)]
pub struct Scope {
    pub name: String,
    pub is_async: bool,
    pub start: usize,
    pub end: usize,
}

/// Calls `f` on every node under `root` (included), in source order, without recursion
/// (generated code nests thousands deep). `f` returns whether to descend into the node's
/// children.
pub fn visit<'t>(root: tree_sitter::Node<'t>, mut f: impl FnMut(tree_sitter::Node<'t>) -> bool) {
    // The tree under analysis is flattened once (`source::flat`): read it when `root` is in it.
    if let Some(sub) = crate::source::flat::subtree(root) {
        let mut i = sub.start();
        while i < sub.end() {
            let (n, past) = sub.at(i);
            i = if f(n) { i + 1 } else { past };
        }
        return;
    }
    let mut cursor = root.walk();
    let mut descend = f(root);
    loop {
        if descend && cursor.goto_first_child() {
            descend = f(cursor.node());
            continue;
        }
        loop {
            if cursor.node() == root {
                return;
            }
            if cursor.goto_next_sibling() {
                descend = f(cursor.node());
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
}

/// Scopes sorted by start byte; the innermost scope containing a byte is the last one
/// (in start order) whose range contains it.
pub fn innermost(scopes: &[Scope], byte: usize) -> Option<&Scope> {
    let upto = scopes.partition_point(|s| s.start <= byte);
    scopes[..upto].iter().rev().find(|s| s.end >= byte)
}

// One per parsed file: boxing the Python facts would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Facts {
    Python(python::PyFacts),
    Rust(rust::RustFacts),
    None,
}

impl Facts {
    /// Fully qualified name of a callee as written (`r.get` with `import requests as r`
    /// is `requests.get`); `None` when it names a local definition or cannot be known.
    pub fn resolve(&self, callee: &str) -> Option<String> {
        match self {
            Facts::Python(f) => f.resolve(callee),
            Facts::Rust(f) => f.resolve(callee),
            Facts::None => Some(callee.to_string()),
        }
    }

    /// Inside test code: a Rust `#[test]` function or `#[cfg(test)]` module, a Python
    /// `test_*` function.
    pub fn in_test(&self, byte: usize) -> bool {
        match self {
            Facts::Python(f) => {
                innermost(&f.scopes, byte).is_some_and(|s| s.name.starts_with("test_"))
            }
            Facts::Rust(f) => f.in_test(byte),
            Facts::None => false,
        }
    }

    pub fn scope_at(&self, byte: usize) -> Option<&Scope> {
        match self {
            Facts::Python(f) => innermost(&f.scopes, byte),
            Facts::Rust(f) => innermost(&f.scopes, byte),
            Facts::None => None,
        }
    }
}

/// Like [`visit`], but does not enter nested functions, lambdas or classes: what runs when
/// the enclosing code runs.
pub fn visit_same_scope<'t>(root: tree_sitter::Node<'t>, mut f: impl FnMut(tree_sitter::Node<'t>)) {
    static SCOPES: crate::source::kinds::KindSet = crate::source::kinds::KindSet::new(&[
        "function_definition",
        "lambda",
        "class_definition",
        "decorated_definition",
    ]);
    let scopes = SCOPES.of(root);
    // In the flattened tree the scope test reads each node's kind from the array.
    if let Some(sub) = crate::source::flat::subtree(root) {
        let mut i = sub.start();
        if i < sub.end() {
            f(sub.at(i).0);
            i += 1;
        }
        while i < sub.end() {
            let (n, past) = sub.at(i);
            if scopes.has_id(sub.kind_id(i), || n) {
                i = past;
            } else {
                f(n);
                i += 1;
            }
        }
        return;
    }
    visit(root, |n| {
        if scopes.has(n) && n != root {
            return false;
        }
        f(n);
        true
    });
}
