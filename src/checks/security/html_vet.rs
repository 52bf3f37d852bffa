//! SEC042's index vet: text marked safe whose only unescaped pieces are results of project
//! helpers that return cleaned markup (a `render_markdown` in another module whose every
//! return is bleach's output, see `crate::model::html_clean`) is withdrawn. The file on its
//! own cannot see into the helper; the project index can.

use super::unsafe_apis::{pieces_escaped, Esc, Pieces};
use crate::checks::py::positional_arg;
use crate::checks::Vet;
use crate::model::pyindex::{ProjectIndex, Target};
use tree_sitter::Node;

pub fn cleaned_by_helper(ix: &ProjectIndex<'_>, path: &str, text: &str, at: usize) -> Vet {
    let Some(g) = ix.function_at(path, at) else {
        return Vet::Keep;
    };
    let f = ix.function(g);
    // Only worth a parse when the function calls a helper that cleans.
    let helpers = |i: usize| {
        ix.targets[g]
            .get(i)
            .is_some_and(|t| matches!(t, Target::Project(h) if ix.function(*h).cleans_html))
    };
    if !(0..f.calls.len()).any(helpers) {
        return Vet::Keep;
    }
    let Some(func) = text.get(f.start..f.end) else {
        return Vet::Keep;
    };
    let Some((tree, _)) = crate::source::parse::parse_python(text) else {
        return Vet::Keep;
    };
    let Some(mut call) = tree.root_node().descendant_for_byte_range(at, at) else {
        return Vet::Keep;
    };
    while !(call.kind() == "call" && call.start_byte() == at) {
        match call.parent() {
            Some(p) if p.start_byte() == at => call = p,
            _ => return Vet::Keep,
        }
    }
    let Some(arg) = call
        .child_by_field_name("arguments")
        .and_then(|a| positional_arg(a, 0))
    else {
        return Vet::Keep;
    };
    let cleaned = |n: Node<'_>| {
        f.calls
            .iter()
            .position(|c| c.start == n.start_byte() && c.end == n.end_byte())
            .is_some_and(helpers)
    };
    let e = Esc {
        src: text,
        func,
        mode: Pieces::Escaped,
        cleaned: &cleaned,
    };
    if pieces_escaped(arg, 0, e) {
        Vet::Withdraw
    } else {
        Vet::Keep
    }
}
