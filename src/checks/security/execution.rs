//! SEC030: `eval`/`exec`/`compile` of code that is not a constant, imports by a computed
//! name, `logging.config.listen`. SEC031: a shell command (`os.system`, `os.popen`,
//! `subprocess` with `shell=True`, `asyncio` shell subprocesses, paramiko `exec_command`)
//! whose text is not a constant.
//!
//! Confidence: text built in place from other values (f-string, `%`, `+`, `.format`) is
//! medium, as is any non-constant code evaluated in a web service; a variable elsewhere is
//! low. Request input proven to reach the call is SEC021 (taint).

use super::baseline::{run, shape, Call, Rule, Scan, Shape, Tainted};
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
    if !shell_call {
        return;
    }
    let arg = positional_arg(c.args, 0)
        .or_else(|| keyword_arg(c.args, "args", src))
        .or_else(|| keyword_arg(c.args, "cmd", src))
        .or_else(|| keyword_arg(c.args, "command", src));
    let Some(arg) = arg else { return };
    let conf = match shape(arg, src) {
        Shape::Constant => return,
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
