//! The nodes of the tree being analysed, flattened once in source order, so that the many
//! whole-subtree walks the facts and checks make (the model's `visit`) read an
//! array instead of stepping a tree cursor through tree-sitter's hidden nodes (a cursor step
//! costs hundreds of instructions; reading the next entry, a few).
//!
//! The engine installs the flattened tree for the file it analyses ([`install`]); a walk
//! over a node of that tree uses it ([`subtree`]), a walk over any other tree (or on a
//! thread with nothing installed) gets `None` and steps a cursor as before. Same nodes, same
//! order, either way.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;
use tree_sitter::ffi::{TSNode, TSTree};
use tree_sitter::{Node, Tree};

/// Every node of one tree in pre-order (the order a cursor visits them).
pub struct Flat {
    /// A copy of the tree (shared, reference-counted nodes): while this exists the nodes
    /// below stay allocated, so a node id here never names a node of another tree.
    _keep: Tree,
    tree: *const TSTree,
    nodes: Vec<TSNode>,
    /// Start byte of `nodes[i]` (non-decreasing in pre-order).
    starts: Vec<u32>,
    /// Index one past the last descendant of `nodes[i]`.
    ends: Vec<u32>,
    /// Kind id of `nodes[i]`, read once here: the walks test kinds of every node they pass.
    kinds: Vec<u16>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Flat>>> = const { RefCell::new(None) };
}

impl Flat {
    fn build(tree: &Tree) -> Option<Flat> {
        let root = tree.root_node();
        let mut nodes = Vec::new();
        let mut starts = Vec::new();
        let mut ends: Vec<u32> = Vec::new();
        let mut kinds: Vec<u16> = Vec::new();
        let mut open: Vec<usize> = Vec::new();
        let mut cursor = root.walk();
        loop {
            let n = cursor.node();
            let i = nodes.len();
            starts.push(u32::try_from(n.start_byte()).ok()?);
            kinds.push(n.kind_id());
            nodes.push(n.into_raw());
            ends.push(0);
            if cursor.goto_first_child() {
                open.push(i);
                continue;
            }
            ends[i] = u32::try_from(i + 1).ok()?;
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return Some(Flat {
                        _keep: tree.clone(),
                        tree: root.into_raw().tree,
                        nodes,
                        starts,
                        ends,
                        kinds,
                    });
                }
                let p = open.pop()?;
                ends[p] = u32::try_from(nodes.len()).ok()?;
            }
        }
    }

    /// Index of `node` in this tree, if it is one of its nodes.
    fn index_of(&self, node: &TSNode, start: usize) -> Option<usize> {
        if node.tree != self.tree {
            return None;
        }
        let start = u32::try_from(start).ok()?;
        let first = self.starts.partition_point(|&s| s < start);
        (first..self.nodes.len())
            .take_while(|&i| self.starts[i] == start)
            .find(|&i| self.nodes[i].id == node.id)
    }
}

/// Keeps a flattened tree installed for this thread; dropping it restores what was before.
pub struct Installed<'t> {
    previous: Option<Rc<Flat>>,
    _tree: PhantomData<&'t Tree>,
}

impl Drop for Installed<'_> {
    fn drop(&mut self) {
        let previous = self.previous.take();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
}

/// Flattens `tree` and makes it the one walks on this thread read, until the result drops.
pub fn install(tree: &Tree) -> Installed<'_> {
    let flat = Flat::build(tree).map(Rc::new);
    let previous = CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), flat));
    Installed {
        previous,
        _tree: PhantomData,
    }
}

/// The nodes of `root`'s subtree in pre-order with, for each, the position just past its
/// own subtree, when `root` belongs to the installed tree.
pub struct Subtree<'t> {
    flat: Rc<Flat>,
    start: usize,
    end: usize,
    _tree: PhantomData<Node<'t>>,
}

impl<'t> Subtree<'t> {
    /// Position of the root.
    pub fn start(&self) -> usize {
        self.start
    }

    /// Position just past the root's subtree.
    pub fn end(&self) -> usize {
        self.end
    }

    /// The kind id of the node at position `i` (as `Node::kind_id` gives it).
    pub fn kind_id(&self, i: usize) -> u16 {
        self.flat.kinds[i]
    }

    /// The node at position `i` (in `start()..end()`) and the position past its subtree.
    pub fn at(&self, i: usize) -> (Node<'t>, usize) {
        let raw = self.flat.nodes[i];
        // SAFETY: `raw` was read from the tree `root` (of lifetime 't) belongs to: it has the
        // same tree pointer, and `_keep` holds that tree's nodes, so an id match cannot be a
        // node of another tree that happens to reuse freed memory. A node of a live tree
        // is valid for as long as the tree is, which `root: Node<'t>` guarantees.
        let node = unsafe { Node::from_raw(raw) };
        (node, self.flat.ends[i] as usize)
    }
}

/// `root`'s subtree in the installed flattened tree, or `None` when `root` is from another
/// tree (or none is installed).
pub fn subtree<'t>(root: Node<'t>) -> Option<Subtree<'t>> {
    let flat = CURRENT.with(|c| c.borrow().clone())?;
    let at = root.start_byte();
    let start = flat.index_of(&root.into_raw(), at)?;
    let end = flat.ends[start] as usize;
    Some(Subtree {
        flat,
        start,
        end,
        _tree: PhantomData,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::lang::Lang;
    use crate::source::parse::parse;

    fn cursor_order(root: Node<'_>) -> Vec<(usize, usize, u16)> {
        let mut out = Vec::new();
        let mut cursor = root.walk();
        loop {
            let n = cursor.node();
            out.push((n.start_byte(), n.end_byte(), n.kind_id()));
            if cursor.goto_first_child() {
                continue;
            }
            loop {
                if cursor.node() == root {
                    return out;
                }
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return out;
                }
            }
        }
    }

    #[test]
    fn subtrees_list_the_nodes_a_cursor_visits() {
        let src = "import os\n\ndef f(a, b=1):\n    if a:\n        return os.path.join(a, b)\n    x = [i for i in range(3)]\n\nclass C:\n    y = f(1)\n";
        let tree = parse(Lang::Python, src, None).expect("parses");
        let _installed = install(&tree);
        let mut all = Vec::new();
        let mut stack = vec![tree.root_node()];
        while let Some(n) = stack.pop() {
            all.push(n);
            let mut c = n.walk();
            stack.extend(n.children(&mut c));
        }
        assert!(all.len() > 40);
        for n in all {
            let sub = subtree(n).expect("a node of the installed tree");
            let mut got = Vec::new();
            for i in sub.start()..sub.end() {
                let (m, _) = sub.at(i);
                assert_eq!(sub.kind_id(i), m.kind_id());
                got.push((m.start_byte(), m.end_byte(), m.kind_id()));
            }
            assert_eq!(got, cursor_order(n), "subtree of {}", n.kind());
        }
    }

    #[test]
    fn another_tree_is_not_served_and_dropping_restores() {
        let a = parse(Lang::Python, "x = 1\n", None).expect("parses");
        let b = parse(Lang::Python, "x = 1\n", None).expect("parses");
        {
            let _outer = install(&a);
            {
                let _inner = install(&b);
                assert!(subtree(a.root_node()).is_none());
                assert!(subtree(b.root_node()).is_some());
            }
            assert!(subtree(a.root_node()).is_some());
            assert!(subtree(b.root_node()).is_none());
        }
        assert!(subtree(a.root_node()).is_none());
    }
}
