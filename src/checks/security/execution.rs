//! SEC030: `eval`/`exec`/`compile` of code that is not a constant, imports by a computed
//! name, `logging.config.listen`. SEC031: a shell command (`os.system`, `os.popen`,
//! `subprocess` with `shell=True`, `asyncio` shell subprocesses, paramiko `exec_command`)
//! whose text is not a constant.
//!
//! Confidence: text built in place from other values (f-string, `%`, `+`, `.format`) is
//! medium, as is any non-constant code evaluated in a web service; a variable elsewhere is
//! low. Request input proven to reach the call is SEC021 (taint).

use super::baseline::{calls, shape, web_file, Shape};
use crate::checks::py::{keyword_arg, positional_arg, snippet};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::python::{text, PyFacts};

/// Byte ranges SEC021 (request input reaching a shell or `eval`) reports in this file:
/// the same call is not reported twice.
fn tainted_ranges(ctx: &FileContext<'_>) -> Vec<(usize, usize)> {
    let mut hits = Vec::new();
    super::taint::command_injection(ctx, &mut hits);
    hits.into_iter().map(|h| (h.start, h.end)).collect()
}

fn overlaps(ranges: &[(usize, usize)], start: usize, end: usize) -> bool {
    ranges.iter().any(|&(s, e)| s < end && start < e)
}

/// The function checks a value of the text against an allow-list first
/// (`if op not in ALLOWED: raise`).
fn allow_listed(
    call: tree_sitter::Node<'_>,
    arg: tree_sitter::Node<'_>,
    ctx: &FileContext<'_>,
    facts: &PyFacts,
) -> bool {
    let src = ctx.file.text.as_str();
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

/// SEC030
pub fn code_execution(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some((facts, calls)) = calls(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let web = web_file(facts);
    let mut tainted: Option<Vec<(usize, usize)>> = None;
    for c in calls {
        let (arg, low_only) = match c.name.as_str() {
            "eval" | "exec" => (positional_arg(c.args, 0), false),
            "compile" if c.written == "compile" => (positional_arg(c.args, 0), true),
            "__import__" | "importlib.import_module" => (positional_arg(c.args, 0), true),
            "logging.config.listen" => {
                out.push(
                    Hit::new(c.node.start_byte(), c.node.end_byte())
                        .var("callee", c.written)
                        .var("what", "a configuration listener")
                        .confidence(Confidence::Low),
                );
                continue;
            }
            _ => continue,
        };
        let Some(arg) = arg else { continue };
        // eval(compile(...)) and exec(code_object): the compile call is judged itself.
        if arg.kind() == "call"
            && arg
                .child_by_field_name("function")
                .is_some_and(|f| text(f, src) == "compile")
        {
            continue;
        }
        let Some(mut conf) = confidence_of(shape(arg, src), web) else {
            continue;
        };
        if low_only || code_template(arg, src) {
            conf = Confidence::Low;
        }
        if allow_listed(c.node, arg, ctx, facts) {
            continue;
        }
        let (start, end) = (c.node.start_byte(), c.node.end_byte());
        if overlaps(
            tainted.get_or_insert_with(|| tainted_ranges(ctx)),
            start,
            end,
        ) {
            continue;
        }
        out.push(
            Hit::new(c.node.start_byte(), c.node.end_byte())
                .var("callee", c.written)
                .var("what", snippet(text(arg, src)))
                .confidence(conf),
        );
    }
}

const SUBPROCESS: &[&str] = &[
    "subprocess.Popen",
    "subprocess.call",
    "subprocess.run",
    "subprocess.check_call",
    "subprocess.check_output",
];

/// SEC031
pub fn shell_command(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some((facts, calls)) = calls(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let paramiko = facts.imports_package("paramiko");
    let mut tainted: Option<Vec<(usize, usize)>> = None;
    for c in calls {
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
                    || (paramiko && c.last() == "exec_command")
            }
        };
        if !shell_call {
            continue;
        }
        let arg = positional_arg(c.args, 0)
            .or_else(|| keyword_arg(c.args, "args", src))
            .or_else(|| keyword_arg(c.args, "cmd", src))
            .or_else(|| keyword_arg(c.args, "command", src));
        let Some(arg) = arg else { continue };
        let conf = match shape(arg, src) {
            Shape::Constant => continue,
            Shape::Built => Confidence::Medium,
            Shape::Opaque => Confidence::Low,
        };
        if allow_listed(c.node, arg, ctx, facts) {
            continue;
        }
        let (start, end) = (c.node.start_byte(), c.node.end_byte());
        if overlaps(
            tainted.get_or_insert_with(|| tainted_ranges(ctx)),
            start,
            end,
        ) {
            continue;
        }
        out.push(
            Hit::new(c.node.start_byte(), c.node.end_byte())
                .var("callee", c.written)
                .var("what", snippet(text(arg, src)))
                .confidence(conf),
        );
    }
}
