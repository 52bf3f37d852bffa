//! Node kinds tested by id. `Node::kind()` looks the kind's name up and measures and
//! checks it as a C string on every call; on the walks every check makes over whole
//! trees that adds up. A [`KindSet`] names its kinds once and, for each grammar it meets,
//! marks which kind ids carry one of those names, so a test is a table read.
//!
//! Same answer as comparing `kind()` with the names: a kind id names the symbol whose
//! name `kind()` returns, and ids outside the table (`ERROR`) are compared by name.

use std::sync::Mutex;
use tree_sitter::Node;

/// A set of node kind names, with a table of kind ids per grammar (built on first use).
pub struct KindSet {
    names: &'static [&'static str],
    tables: Mutex<Vec<(usize, &'static [bool])>>,
}

/// A [`KindSet`]'s table for one grammar.
#[derive(Clone, Copy)]
pub struct Kinds {
    names: &'static [&'static str],
    table: &'static [bool],
}

impl KindSet {
    pub const fn new(names: &'static [&'static str]) -> KindSet {
        KindSet {
            names,
            tables: Mutex::new(Vec::new()),
        }
    }

    /// The table for the grammar `node` was parsed with.
    pub fn of(&self, node: Node<'_>) -> Kinds {
        let lang = node.language();
        // SAFETY: reads the language pointer of a live node's tree.
        let key = unsafe { tree_sitter::ffi::ts_node_language(node.into_raw()) } as usize;
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let table = match tables.iter().find(|(k, _)| *k == key) {
            Some((_, t)) => *t,
            None => {
                let t: Vec<bool> = (0..lang.node_kind_count())
                    .map(|id| {
                        u16::try_from(id)
                            .ok()
                            .and_then(|id| lang.node_kind_for_id(id))
                            .is_some_and(|k| self.names.contains(&k))
                    })
                    .collect();
                // A few grammars times a few sets: leaked once, kept for the process.
                let t: &'static [bool] = Box::leak(t.into_boxed_slice());
                tables.push((key, t));
                t
            }
        };
        Kinds {
            names: self.names,
            table,
        }
    }
}

impl Kinds {
    /// Whether `n` (of the grammar this table was made for) is of one of the set's kinds.
    #[inline]
    pub fn has(&self, n: Node<'_>) -> bool {
        match self.table.get(usize::from(n.kind_id())) {
            Some(&b) => b,
            None => self.names.contains(&n.kind()),
        }
    }
}

impl Kinds {
    /// Whether a node of kind id `id` (`n`, asked for only when the id is outside the
    /// grammar's table) is of one of the set's kinds.
    #[inline]
    pub fn has_id<'t>(&self, id: u16, n: impl FnOnce() -> Node<'t>) -> bool {
        match self.table.get(usize::from(id)) {
            Some(&b) => b,
            None => self.names.contains(&n().kind()),
        }
    }

    /// `n`'s kind when it is one of the set's, `""` otherwise (for a `match` on the name).
    #[inline]
    pub fn kind<'t>(&self, n: Node<'t>) -> &'t str {
        if self.has(n) {
            n.kind()
        } else {
            ""
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_kind_names() {
        static SET: KindSet = KindSet::new(&["call", "identifier", "ERROR", "lambda"]);
        let src = "def f(x):\n    return g(x) + (lambda y: y)(1) ) ]\n";
        let tree = crate::source::parse::parse(crate::source::lang::Lang::Python, src, None)
            .expect("parses");
        let kinds = SET.of(tree.root_node());
        let mut seen = 0;
        let mut cursor = tree.walk();
        'walk: loop {
            let n = cursor.node();
            assert_eq!(kinds.has(n), SET.names.contains(&n.kind()), "{}", n.kind());
            seen += usize::from(kinds.has(n));
            if cursor.goto_first_child() {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    break 'walk;
                }
            }
        }
        assert!(seen > 3);
    }
}
