//! SEC030: `eval`/`exec`/`compile` of code that is not a constant, imports by a computed
//! name, `logging.config.listen`. SEC031: a shell command (`os.system`, `os.popen`,
//! `subprocess` with `shell=True`, `asyncio` shell subprocesses, paramiko `exec_command`, an
//! argument vector that starts a shell with `-c`) whose text is not a constant.
//!
//! Confidence: text built in place from other values (f-string, `%`, `+`, `.format`) is
//! medium, as is any non-constant code evaluated in a web service; a variable elsewhere is
//! low, and so is a shell command built only from the enclosing function's parameters
//! outside a route handler (what they hold is its callers' business, as with a variable).
//! Request input proven to reach the call is SEC021 (taint).

use super::baseline::{in_handler, is_constant_name, run, shape, Call, Rule, Scan, Shape, Tainted};
use crate::checks::py::{keyword_arg, positional_arg, snippet};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::python::{text, PyFacts};

/// SEC030
pub fn code_execution(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    untainted(ctx, Rule::CodeExecution, out);
}

/// SEC031
pub fn shell_command(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    untainted(ctx, Rule::ShellCommand, out);
}

/// The rule's hits but those SEC021 (request input reaching a shell or `eval`) reports:
/// the same call is not reported twice.
fn untainted(ctx: &FileContext<'_>, rule: Rule, out: &mut Vec<Hit>) {
    let mut hits = Vec::new();
    run(ctx, rule, &mut hits);
    if hits.is_empty() {
        return;
    }
    let tainted = Tainted::new(ctx);
    out.extend(
        hits.into_iter()
            .filter(|h| !tainted.overlaps(h.start, h.end)),
    );
}

/// The function checks a value of the text against an allow-list first
/// (`if op not in ALLOWED: raise`).
fn allow_listed(
    call: tree_sitter::Node<'_>,
    arg: tree_sitter::Node<'_>,
    src: &str,
    facts: &PyFacts,
) -> bool {
    let func = facts
        .function_at(call.start_byte())
        .map_or("", |f| &src[f.start..f.end]);
    let mut guarded = false;
    crate::checks::py::visit(arg, |n| {
        if n.kind() == "identifier" && !guarded {
            let name = regex::escape(text(n, src));
            guarded = regex::Regex::new(&format!(r"\bif\s+(?:not\s+)?{name}\s+(?:not\s+)?in\b"))
                .is_ok_and(|re| re.is_match(func));
        }
        true
    });
    guarded
}

/// A code template that defines a function or class: a code generator fed by the
/// program's own names (`namedtuple`, `dataclasses`), reported low.
fn code_template(arg: tree_sitter::Node<'_>, src: &str) -> bool {
    let t = text(arg, src);
    t.contains("def ") || t.contains("class ") || t.contains("lambda ")
}

fn confidence_of(s: Shape, web: bool) -> Option<Confidence> {
    match s {
        Shape::Constant => None,
        Shape::Built => Some(Confidence::Medium),
        Shape::Opaque if web => Some(Confidence::Medium),
        Shape::Opaque => Some(Confidence::Low),
    }
}

/// SEC030, one call.
pub fn code_execution_call(s: &Scan<'_, '_>, c: &Call<'_, '_>, out: &mut Vec<Hit>) {
    let src = s.src;
    let (arg, low_only) = match c.name.as_str() {
        "eval" | "exec" => (positional_arg(c.args, 0), false),
        "compile" if c.written == "compile" => (positional_arg(c.args, 0), true),
        "__import__" | "importlib.import_module" => (positional_arg(c.args, 0), true),
        "logging.config.listen" => {
            out.push(
                c.hit()
                    .var("what", "a configuration listener")
                    .confidence(Confidence::Low),
            );
            return;
        }
        _ => return,
    };
    let Some(arg) = arg else { return };
    // eval(compile(...)) and exec(code_object): the compile call is judged itself.
    if arg.kind() == "call"
        && arg
            .child_by_field_name("function")
            .is_some_and(|f| text(f, src) == "compile")
    {
        return;
    }
    let Some(mut conf) = confidence_of(shape(arg, src), s.web) else {
        return;
    };
    if low_only || code_template(arg, src) {
        conf = Confidence::Low;
    }
    if allow_listed(c.node, arg, src, s.facts) {
        return;
    }
    out.push(
        c.hit()
            .var("what", snippet(text(arg, src)))
            .confidence(conf),
    );
}

const SUBPROCESS: &[&str] = &[
    "subprocess.Popen",
    "subprocess.call",
    "subprocess.run",
    "subprocess.check_call",
    "subprocess.check_output",
];

/// SEC031, one call.
pub fn shell_command_call(s: &Scan<'_, '_>, c: &Call<'_, '_>, out: &mut Vec<Hit>) {
    let src = s.src;
    let name = c.name.as_str();
    let shell_call = match name {
        "os.system"
        | "os.popen"
        | "os.popen2"
        | "os.popen3"
        | "os.popen4"
        | "subprocess.getoutput"
        | "subprocess.getstatusoutput"
        | "commands.getoutput"
        | "commands.getstatusoutput"
        | "asyncio.create_subprocess_shell" => true,
        n if SUBPROCESS.contains(&n) => keyword_arg(c.args, "shell", src)
            .is_some_and(|v| !matches!(text(v, src), "False" | "None" | "0")),
        _ => {
            (c.last() == "subprocess_shell" && c.written.contains('.'))
                || (s.paramiko && c.last() == "exec_command")
        }
    };
    let arg = if shell_call {
        positional_arg(c.args, 0)
            .or_else(|| keyword_arg(c.args, "args", src))
            .or_else(|| keyword_arg(c.args, "cmd", src))
            .or_else(|| keyword_arg(c.args, "command", src))
    } else {
        shell_dash_c(c, src)
    };
    let Some(arg) = arg else { return };
    let conf = match shape(arg, src) {
        Shape::Constant => return,
        Shape::Built if !in_handler(s.facts, c.node.start_byte()) && from_caller(s, c, arg) => {
            Confidence::Low
        }
        Shape::Built => Confidence::Medium,
        Shape::Opaque => Confidence::Low,
    };
    if allow_listed(c.node, arg, src, s.facts) {
        return;
    }
    out.push(
        c.hit()
            .var("what", snippet(text(arg, src)))
            .confidence(conf),
    );
}

const SHELLS: &[&str] = &["sh", "bash", "zsh", "dash", "ksh", "ash"];

/// The command line of an argument vector that starts a shell with `-c`:
/// `subprocess.run(["bash", "-c", cmd])`, `os.execl("/bin/sh", "sh", "-c", cmd)`,
/// `os.spawnv(os.P_WAIT, "/bin/bash", ["bash", "-c", cmd])`. Without `shell=True` the
/// vector still hands `cmd` to a shell.
fn shell_dash_c<'t>(c: &Call<'t, '_>, src: &str) -> Option<tree_sitter::Node<'t>> {
    let name = c.name.as_str();
    let vector: Vec<tree_sitter::Node<'t>> = if SUBPROCESS.contains(&name) {
        let first = positional_arg(c.args, 0).or_else(|| keyword_arg(c.args, "args", src))?;
        if !matches!(first.kind(), "list" | "tuple") {
            return None;
        }
        kids(first)
    } else if name == "asyncio.create_subprocess_exec"
        || name
            .strip_prefix("os.")
            .is_some_and(|f| f.starts_with("exec") || f.starts_with("spawn") || f == "posix_spawn")
    {
        let mut all = Vec::new();
        for a in kids(c.args) {
            if matches!(a.kind(), "list" | "tuple") {
                all.extend(kids(a));
            } else if a.kind() != "keyword_argument" {
                all.push(a);
            }
        }
        all
    } else {
        return None;
    };
    let literal = |n: tree_sitter::Node<'_>| {
        (n.kind() == "string" && shape(n, src) == Shape::Constant)
            .then(|| text(n, src).trim_matches(|ch| ch == '"' || ch == '\''))
    };
    let shell_at = vector.iter().position(|&n| {
        literal(n).is_some_and(|v| SHELLS.contains(&v.rsplit('/').next().unwrap_or(v)))
    })?;
    let dash_c = vector[shell_at + 1..]
        .iter()
        .position(|&n| literal(n).is_some_and(|v| matches!(v, "-c" | "-lc" | "-ec")))?;
    vector.get(shell_at + 1 + dash_c + 1).copied()
}

/// The text is built only from constants and the enclosing function's parameters, directly
/// or through locals assigned from them (`script = " && ".join(commands)`): nothing on this
/// path says where the values come from.
fn from_caller(s: &Scan<'_, '_>, c: &Call<'_, '_>, arg: tree_sitter::Node<'_>) -> bool {
    let Some(f) = s.facts.function_at(c.node.start_byte()) else {
        return false;
    };
    let Some(func) = crate::checks::py::node_at(s.ctx.tree.root_node(), f.start, f.end) else {
        return false;
    };
    let params: Vec<&str> = f
        .params
        .iter()
        .map(|p| p.name.as_str())
        .filter(|p| !matches!(*p, "self" | "cls"))
        .collect();
    let mut uses_param = false;
    caller_values(arg, func, s.src, &params, &mut uses_param, 0) && uses_param
}

fn kids(n: tree_sitter::Node<'_>) -> Vec<tree_sitter::Node<'_>> {
    let mut c = n.walk();
    n.named_children(&mut c).collect()
}

fn caller_values(
    n: tree_sitter::Node<'_>,
    func: tree_sitter::Node<'_>,
    src: &str,
    params: &[&str],
    uses_param: &mut bool,
    depth: usize,
) -> bool {
    if depth > 8 {
        return false;
    }
    match n.kind() {
        "string" => kids(n)
            .into_iter()
            .filter(|k| k.kind() == "interpolation")
            .all(|k| {
                k.child_by_field_name("expression")
                    .or_else(|| k.named_child(0))
                    .is_some_and(|e| caller_values(e, func, src, params, uses_param, depth + 1))
            }),
        "concatenated_string"
        | "binary_operator"
        | "parenthesized_expression"
        | "list"
        | "tuple" => kids(n)
            .into_iter()
            .all(|k| caller_values(k, func, src, params, uses_param, depth + 1)),
        "integer" | "float" | "true" | "false" | "none" => true,
        "identifier" if is_constant_name(text(n, src)) => true,
        "identifier" => {
            let name = text(n, src);
            if params.contains(&name) {
                *uses_param = true;
                return true;
            }
            // A local: every assignment to it in the function is made of caller values.
            let mut rights = Vec::new();
            let mut other = false;
            crate::checks::py::visit(func, |m| {
                match m.kind() {
                    "assignment" | "augmented_assignment" => {
                        if m.child_by_field_name("left")
                            .is_some_and(|l| text(l, src) == name)
                        {
                            match m.child_by_field_name("right") {
                                Some(r) => rights.push(r),
                                None => other = true,
                            }
                        } else if m
                            .child_by_field_name("left")
                            .is_some_and(|l| crate::checks::py::mentions(l, name, src))
                        {
                            other = true;
                        }
                    }
                    "for_statement" | "for_in_clause" | "named_expression" | "as_pattern" => {
                        let target = m
                            .child_by_field_name("left")
                            .or_else(|| m.child_by_field_name("name"))
                            .or_else(|| m.child_by_field_name("alias"));
                        if target.is_some_and(|l| crate::checks::py::mentions(l, name, src)) {
                            other = true;
                        }
                    }
                    _ => {}
                }
                true
            });
            !other
                && !rights.is_empty()
                && rights
                    .into_iter()
                    .all(|r| caller_values(r, func, src, params, uses_param, depth + 1))
        }
        "call" => {
            // "...".format(a) / " && ".join(parts)
            let Some(f) = n.child_by_field_name("function") else {
                return false;
            };
            let (Some(obj), Some(attr), Some(args)) = (
                f.child_by_field_name("object"),
                f.child_by_field_name("attribute"),
                n.child_by_field_name("arguments"),
            ) else {
                return false;
            };
            matches!(text(attr, src), "format" | "join")
                && matches!(obj.kind(), "string" | "concatenated_string")
                && caller_values(obj, func, src, params, uses_param, depth + 1)
                && kids(args).into_iter().all(|k| {
                    let v = if k.kind() == "keyword_argument" {
                        k.child_by_field_name("value").unwrap_or(k)
                    } else {
                        k
                    };
                    caller_values(v, func, src, params, uses_param, depth + 1)
                })
        }
        _ => false,
    }
}
