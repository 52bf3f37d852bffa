//! Node kind and field names without tree-sitter's per-call look-ups. `Node::kind()` finds
//! the kind's name and measures and checks it as a C string on every call, and
//! `Node::child_by_field_name` compares the name with each of the grammar's field names in
//! turn; the walks every check makes over whole trees call both on most nodes. [`Names`]
//! answers the same from tables made once per grammar and thread: a kind name read by kind
//! id, a field id found by the name's address.
//!
//! A module brings it in with `use crate::source::names::Names as _;`: for a `Node` value
//! the trait's methods (which take the node by value) are found before tree-sitter's (which
//! take it by reference), so `n.kind()` and `n.child_by_field_name("body")` read the tables.
//! Same answers either way: a kind id names the symbol whose name `kind()` returns (ids
//! outside the table, `ERROR`, ask tree-sitter), and a field name's id is the one
//! tree-sitter would look up.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use tree_sitter::Node;

/// Hashes a field name's (address, length): one multiply, no pass over the bytes.
#[derive(Default)]
struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Kind names and field ids of one grammar.
struct Grammar {
    /// `ts_node_language` of the grammar's nodes.
    key: usize,
    /// Name of each kind id.
    kinds: Vec<&'static str>,
    /// Field id by the name's (address, length): names are `'static` strings, whose
    /// memory is never reused for other text.
    fields:
        HashMap<(usize, usize), Option<std::num::NonZeroU16>, BuildHasherDefault<AddressHasher>>,
}

thread_local! {
    static GRAMMARS: RefCell<Vec<Grammar>> = const { RefCell::new(Vec::new()) };
}

fn language_key(n: Node<'_>) -> usize {
    // SAFETY: reads the language pointer of a live node's tree.
    unsafe { tree_sitter::ffi::ts_node_language(n.into_raw()) as usize }
}

/// The name of kind `id` in the grammar at `key` (`""` when it has none).
fn kind_name(key: usize, id: u16) -> &'static str {
    // SAFETY: `key` is the language of a live tree; a symbol name is a C string in the
    // grammar's static tables (the grammars come from the `tree-sitter-*` crates as static
    // data), so it stays valid for the whole program.
    let ptr = unsafe {
        tree_sitter::ffi::ts_language_symbol_name(key as *const tree_sitter::ffi::TSLanguage, id)
    };
    if ptr.is_null() {
        return "";
    }
    // SAFETY: as above; a non-null name is NUL-terminated.
    unsafe { std::ffi::CStr::from_ptr(ptr) }
        .to_str()
        .unwrap_or("")
}

/// Runs `f` on the tables of `n`'s grammar (made on first use on this thread).
fn with_grammar<R>(n: Node<'_>, f: impl FnOnce(&mut Grammar) -> R) -> R {
    let key = language_key(n);
    GRAMMARS.with(|g| {
        let mut g = g.borrow_mut();
        let i = match g.iter().position(|x| x.key == key) {
            Some(i) => i,
            None => {
                let count = n.language().node_kind_count();
                let kinds = (0..count)
                    .map(|id| u16::try_from(id).map_or("", |id| kind_name(key, id)))
                    .collect();
                g.push(Grammar {
                    key,
                    kinds,
                    fields: HashMap::default(),
                });
                g.len() - 1
            }
        };
        f(&mut g[i])
    })
}

/// Kind names and fields of a node, read from per-grammar tables (see the module docs).
pub trait Names<'t> {
    /// The node's kind, as `Node::kind()` names it.
    fn kind(self) -> &'t str;
    /// The node's child in field `name`, as `Node::child_by_field_name` finds it.
    fn child_by_field_name(self, name: &'static str) -> Option<Node<'t>>;
}

impl<'t> Names<'t> for Node<'t> {
    #[inline]
    fn kind(self) -> &'t str {
        let id = usize::from(self.kind_id());
        match with_grammar(self, |g| g.kinds.get(id).copied()) {
            Some(k) if !k.is_empty() => k,
            // ERROR and other ids outside the table: ask tree-sitter.
            _ => Node::kind(&self),
        }
    }

    #[inline]
    fn child_by_field_name(self, name: &'static str) -> Option<Node<'t>> {
        let key = (name.as_ptr() as usize, name.len());
        let id = with_grammar(self, |g| {
            *g.fields
                .entry(key)
                .or_insert_with(|| self.language().field_id_for_name(name))
        });
        self.child_by_field_id(id?.get())
    }
}

#[cfg(test)]
mod tests {
    use super::Names;
    use tree_sitter::Node;

    #[test]
    fn agrees_with_tree_sitter() {
        let src = "def f(x):\n    return g(x) + (lambda y: y)(1) ) ]\n";
        let tree = crate::source::parse::parse(crate::source::lang::Lang::Python, src, None)
            .expect("parses");
        let mut cursor = tree.walk();
        let mut errors = 0;
        'walk: loop {
            let n = cursor.node();
            assert_eq!(Names::kind(n), Node::kind(&n));
            errors += usize::from(n.is_error());
            for field in [
                "name",
                "body",
                "function",
                "arguments",
                "left",
                "right",
                "nope",
            ] {
                assert_eq!(
                    Names::child_by_field_name(n, field),
                    Node::child_by_field_name(&n, field)
                );
            }
            if cursor.goto_first_child() {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    break 'walk;
                }
            }
        }
        assert!(errors > 0);
    }
}
