//! Shared ground of the baseline rules (SEC030–SEC045), the checks Bandit and Ruff's `S`
//! rules make, narrowed to uses whose input or context makes them a risk: one visitor that
//! walks each Python file once and hands every call (with its import-resolved name) to each
//! rule, and the questions those rules ask about an argument (constant? built in place from
//! other values?) and its context (a web file, a request handler, a name that says
//! "password").
//!
//! The engine runs each rule's check on its own; the first baseline check to run on a file
//! walks it for all of them and keeps their hits for the others (per thread, keyed by the
//! file's path and text), so a file is walked once however many of these rules are on.

use super::{crypto, execution, input_misuse, unsafe_apis};
use crate::checks::py::facts;
use crate::checks::{FileContext, Hit};
use crate::model::facts::python::{text, PyFacts};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::cell::{OnceCell, RefCell};
use std::sync::LazyLock;
use tree_sitter::Node;

/// A call of the file: the node, the callee as written, its import-resolved name (the
/// written text when it resolves to nothing) and the argument list.
pub struct Call<'t, 's> {
    pub node: Node<'t>,
    pub written: &'s str,
    pub name: String,
    pub args: Node<'t>,
}

impl Call<'_, '_> {
    /// Last dotted part of the callee (`extractall` of `tf.extractall`).
    pub fn last(&self) -> &str {
        self.written.rsplit('.').next().unwrap_or(self.written)
    }

    /// A hit on the whole call.
    pub fn at(&self) -> Hit {
        Hit::new(self.node.start_byte(), self.node.end_byte())
    }

    /// A hit on the whole call naming the callee as written (`{callee}`).
    pub fn hit(&self) -> Hit {
        self.at().var("callee", self.written)
    }
}

/// What every rule may ask about the file being walked, computed once.
pub struct Scan<'c, 'a> {
    pub ctx: &'c FileContext<'a>,
    pub facts: &'a PyFacts,
    pub src: &'a str,
    /// The file belongs to a web service ([`web_file`]).
    pub web: bool,
    /// Imports of the packages some rules need before they look at a call.
    pub paramiko: bool,
    pub tarfile: bool,
    pub shutil: bool,
    pub flask: bool,
    pub werkzeug: bool,
    /// Imports `ssl` or `OpenSSL` (whose protocol constants SEC039 looks for).
    pub tls: bool,
    /// The end of a value the old-TLS test already judged (its parts are not judged again).
    tls_judged_until: std::cell::Cell<usize>,
}

/// The rules that share the walk, in the order of their hit lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    CodeExecution,
    ShellCommand,
    WeakHash,
    WeakCipher,
    InsecureRandom,
    XmlUntrusted,
    FilePermissions,
    TarExtraction,
    DebugEnabled,
    OldTls,
    SshHostKey,
    UnsafeLoader,
    UnescapedHtml,
    MassAssignment,
    CsvInjection,
    NanInjection,
}

type OnCall = fn(&Scan<'_, '_>, &Call<'_, '_>, &mut Vec<Hit>);

/// Each rule's test of one call, in [`Rule`] order.
const ON_CALL: [OnCall; 16] = [
    execution::code_execution_call,
    execution::shell_command_call,
    crypto::weak_hash_call,
    crypto::weak_cipher_call,
    crypto::insecure_random_call,
    unsafe_apis::xml_untrusted_call,
    unsafe_apis::file_permissions_call,
    unsafe_apis::tar_extraction_call,
    unsafe_apis::debug_enabled_call,
    unsafe_apis::old_tls_call,
    unsafe_apis::ssh_host_key_call,
    unsafe_apis::unsafe_loader_call,
    unsafe_apis::unescaped_html_call,
    input_misuse::mass_assignment_call,
    input_misuse::csv_injection_call,
    input_misuse::nan_injection_call,
];

/// The file the cached hits belong to: its path and text (the same text parses to the same
/// tree, so the hits stand).
struct Walked {
    rel: String,
    text: String,
    hits: Vec<Vec<Hit>>,
}

impl Walked {
    fn of(&self, ctx: &FileContext<'_>) -> bool {
        self.rel == ctx.file.rel && self.text == ctx.file.text
    }
}

thread_local! {
    static WALKED: RefCell<Option<Walked>> = const { RefCell::new(None) };
}

/// The hits of `rule` in this file: from the walk another baseline check of the same file
/// already made, or from a new walk.
pub fn run(ctx: &FileContext<'_>, rule: Rule, out: &mut Vec<Hit>) {
    WALKED.with(|cell| {
        let mut cached = cell.borrow_mut();
        if !cached.as_ref().is_some_and(|w| w.of(ctx)) {
            *cached = walk(ctx).map(|hits| Walked {
                rel: ctx.file.rel.clone(),
                text: ctx.file.text.clone(),
                hits,
            });
        }
        if let Some(w) = cached.as_ref() {
            out.extend(w.hits[rule as usize].iter().cloned());
        }
    });
}

/// One walk over the file: every call goes to every rule, attributes and names used as
/// values to the old-TLS test, then the rules that read module-level assignments.
fn walk(ctx: &FileContext<'_>) -> Option<Vec<Vec<Hit>>> {
    let facts = facts(ctx)?;
    let src = ctx.file.text.as_str();
    let scan = Scan {
        ctx,
        facts,
        src,
        web: web_file(facts),
        paramiko: facts.imports_package("paramiko"),
        tarfile: facts.imports_package("tarfile"),
        shutil: facts.imports_package("shutil"),
        flask: facts.imports_package("flask")
            || facts.imports_package("werkzeug")
            || facts.imports_package("quart"),
        werkzeug: facts.imports_package("werkzeug"),
        tls: facts.imports_package("ssl") || facts.imports_package("OpenSSL"),
        tls_judged_until: std::cell::Cell::new(0),
    };
    let mut hits: Vec<Vec<Hit>> = (0..ON_CALL.len()).map(|_| Vec::new()).collect();
    crate::checks::py::visit(ctx.tree.root_node(), |n| {
        match n.kind() {
            "call" => {
                if let (Some(f), Some(args)) = (
                    n.child_by_field_name("function"),
                    n.child_by_field_name("arguments"),
                ) {
                    if args.kind() == "argument_list" {
                        let written = text(f, src);
                        let name = facts
                            .resolve(written)
                            .unwrap_or_else(|| written.to_string());
                        let call = Call {
                            node: n,
                            written,
                            name,
                            args,
                        };
                        for (on_call, out) in ON_CALL.iter().zip(hits.iter_mut()) {
                            on_call(&scan, &call, out);
                        }
                    }
                }
            }
            "attribute" | "identifier" if scan.tls => {
                unsafe_apis::old_tls_value(&scan, n, &mut hits[Rule::OldTls as usize]);
            }
            _ => {}
        }
        true
    });
    unsafe_apis::django_debug_settings(&scan, &mut hits[Rule::DebugEnabled as usize]);
    Some(hits)
}

impl Scan<'_, '_> {
    /// Marks the value ending at `end` as judged: names inside it are not judged again.
    pub fn judged_until(&self, end: usize) {
        self.tls_judged_until.set(end);
    }

    /// Inside a value already judged.
    pub fn already_judged(&self, start: usize) -> bool {
        start < self.tls_judged_until.get()
    }

    /// The text of the function around `byte` (the whole file at module level).
    pub fn function_text(&self, byte: usize) -> &str {
        self.facts
            .function_at(byte)
            .map_or(self.src, |f| &self.src[f.start..f.end])
    }
}

/// Byte ranges SEC021 (request input reaching a shell or `eval`) reports in this file.
pub struct Tainted<'c, 'a> {
    ctx: &'c FileContext<'a>,
    ranges: OnceCell<Vec<(usize, usize)>>,
}

impl<'c, 'a> Tainted<'c, 'a> {
    pub fn new(ctx: &'c FileContext<'a>) -> Self {
        Tainted {
            ctx,
            ranges: OnceCell::new(),
        }
    }

    /// SEC021 reports a call overlapping `start..end`.
    pub fn overlaps(&self, start: usize, end: usize) -> bool {
        self.ranges
            .get_or_init(|| {
                let mut hits = Vec::new();
                super::taint::command_injection(self.ctx, &mut hits);
                hits.into_iter().map(|h| (h.start, h.end)).collect()
            })
            .iter()
            .any(|&(s, e)| s < end && start < e)
    }
}

/// What an argument is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Literals only (strings without interpolation, numbers, containers of them,
    /// UPPER_CASE module constants).
    Constant,
    /// Text built in place from non-constant values: an f-string with interpolations,
    /// `%`, `+`, `.format(..)`, `" ".join(..)` of non-constants.
    Built,
    /// Anything else: a variable, an attribute, a call's result.
    Opaque,
}

static CONST_NAME: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"^(?:[A-Za-z_][A-Za-z0-9_]*\.)*[A-Z][A-Z0-9_]+$").expect("re"));

/// An UPPER_CASE name, optionally dotted (`settings.MAX_SIZE`): a constant by convention.
pub fn is_constant_name(t: &str) -> bool {
    CONST_NAME.is_match(t)
}

/// The shape of an expression (bounded: deep nests count as opaque).
pub fn shape(node: Node<'_>, src: &str) -> Shape {
    shape_at(node, src, 0)
}

fn shape_at(node: Node<'_>, src: &str, depth: usize) -> Shape {
    if depth > 12 {
        return Shape::Opaque;
    }
    let join = |a: Shape, b: Shape| match (a, b) {
        (Shape::Constant, Shape::Constant) => Shape::Constant,
        _ => Shape::Built,
    };
    match node.kind() {
        "string" => {
            let mut c = node.walk();
            // An f-string is built in place unless every value it interpolates is a
            // constant (`f"http://localhost:{SHIM_PORT}/health"`).
            let kids: Vec<Node<'_>> = node.named_children(&mut c).collect();
            let built = kids
                .into_iter()
                .filter(|ch| ch.kind() == "interpolation")
                .any(|ch| {
                    ch.child_by_field_name("expression")
                        .or_else(|| ch.named_child(0))
                        .is_none_or(|e| shape_at(e, src, depth + 1) != Shape::Constant)
                });
            if built {
                Shape::Built
            } else {
                Shape::Constant
            }
        }
        "concatenated_string" => {
            let mut c = node.walk();
            let kids: Vec<Node<'_>> = node.named_children(&mut c).collect();
            kids.into_iter()
                .map(|k| shape_at(k, src, depth + 1))
                .fold(Shape::Constant, join)
        }
        "integer" | "float" | "true" | "false" | "none" => Shape::Constant,
        "parenthesized_expression" => node
            .named_child(0)
            .map_or(Shape::Opaque, |c| shape_at(c, src, depth + 1)),
        "list" | "tuple" | "set" => {
            let mut c = node.walk();
            let kids: Vec<Node<'_>> = node.named_children(&mut c).collect();
            let mut out = Shape::Constant;
            for k in kids {
                match shape_at(k, src, depth + 1) {
                    Shape::Constant => {}
                    _ => out = Shape::Built,
                }
            }
            out
        }
        "identifier" | "attribute" if CONST_NAME.is_match(text(node, src)) => Shape::Constant,
        "binary_operator" => {
            let (Some(l), Some(r)) = (
                node.child_by_field_name("left"),
                node.child_by_field_name("right"),
            ) else {
                return Shape::Opaque;
            };
            let (ls, rs) = (shape_at(l, src, depth + 1), shape_at(r, src, depth + 1));
            let stringy = is_stringy(l) || is_stringy(r);
            match (ls, rs) {
                (Shape::Constant, Shape::Constant) => Shape::Constant,
                _ if stringy => Shape::Built,
                _ => Shape::Opaque,
            }
        }
        "call" => {
            // "...".format(x), " ".join(parts)
            let Some(f) = node.child_by_field_name("function") else {
                return Shape::Opaque;
            };
            let args = node.child_by_field_name("arguments");
            if f.kind() == "attribute" {
                let obj = f.child_by_field_name("object");
                let attr = f.child_by_field_name("attribute").map(|a| text(a, src));
                if let (Some(obj), Some("format" | "join")) = (obj, attr) {
                    if is_stringy(obj) {
                        let all_const = args.is_none_or(|a| {
                            let mut c = a.walk();
                            let kids: Vec<Node<'_>> = a.named_children(&mut c).collect();
                            kids.into_iter().all(|k| {
                                let v = if k.kind() == "keyword_argument" {
                                    k.child_by_field_name("value").unwrap_or(k)
                                } else {
                                    k
                                };
                                shape_at(v, src, depth + 1) == Shape::Constant
                            })
                        });
                        return if all_const {
                            Shape::Constant
                        } else {
                            Shape::Built
                        };
                    }
                }
            }
            Shape::Opaque
        }
        _ => Shape::Opaque,
    }
}

fn is_stringy(n: Node<'_>) -> bool {
    let n = crate::checks::py::unparen(n);
    matches!(n.kind(), "string" | "concatenated_string")
        || (n.kind() == "binary_operator"
            && (n.child_by_field_name("left").is_some_and(is_stringy)
                || n.child_by_field_name("right").is_some_and(is_stringy)))
}

/// The file belongs to a web service (imports a web framework or declares routes).
pub fn web_file(facts: &PyFacts) -> bool {
    !facts.routes.is_empty()
        || crate::checks::py::WEB_FRAMEWORKS
            .iter()
            .any(|p| facts.imports_package(p))
}

/// The call sits in a route handler of this file.
pub fn in_handler(facts: &PyFacts, byte: usize) -> bool {
    facts.routes.iter().any(|r| {
        facts
            .functions
            .get(r.function)
            .is_some_and(|f| f.start <= byte && byte <= f.end)
    })
}

pub use crate::checks::py::in_main_guard;

/// The names a value flows into: the assignment target(s) around it, the keyword it is
/// passed as, and the enclosing function's name when it is returned or yielded.
pub fn destination_names(node: Node<'_>, src: &str, facts: &PyFacts) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = node;
    for _ in 0..10 {
        let Some(p) = cur.parent() else { break };
        match p.kind() {
            "assignment" | "augmented_assignment" => {
                if let Some(l) = p.child_by_field_name("left") {
                    out.push(text(l, src).to_string());
                }
                break;
            }
            "keyword_argument" => {
                if let Some(n) = p.child_by_field_name("name") {
                    out.push(text(n, src).to_string());
                }
                break;
            }
            "pair" => {
                if let Some(k) = p.child_by_field_name("key") {
                    out.push(text(k, src).trim_matches(['"', '\'']).to_string());
                }
                break;
            }
            "return_statement" | "yield" | "lambda" => {
                if let Some(f) = facts.function_at(node.start_byte()) {
                    out.push(f.name.clone());
                }
                break;
            }
            "expression_statement" | "block" | "module" | "function_definition" => break,
            _ => cur = p,
        }
    }
    out
}

/// `usedforsecurity=False` or another keyword with a literal `False`/`True` value.
pub fn keyword_is(args: Node<'_>, name: &str, value: &str, src: &str) -> bool {
    crate::checks::py::keyword_arg(args, name, src).is_some_and(|v| text(v, src) == value)
}
