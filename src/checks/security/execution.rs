//! SEC030: `eval`/`exec`/`compile` of code that is not a constant, imports by a computed
//! name, `logging.config.listen`. SEC031: a shell command (`os.system`, `os.popen`,
//! `subprocess` with `shell=True`, `asyncio` shell subprocesses, paramiko `exec_command`, an
//! argument vector that starts a shell with `-c`) whose text is not a constant.
//!
//! Confidence: text built in place from other values (f-string, `%`, `+`, `.format`) is
//! medium, as is any non-constant code evaluated in a web service; a variable elsewhere is
//! low, and so is a shell command built only from the enclosing function's parameters
//! outside a route handler (what they hold is its callers' business, as with a variable).
//! Request input proven to reach the call is SEC021 (taint). Code text that can hold no name
//! (constants, numbers, regex groups limited to digits and operators) is not reported.

use super::baseline::{in_handler, is_constant_name, run, shape, Call, Rule, Scan, Shape, Tainted};
use crate::checks::py::{keyword_arg, positional_arg, snippet};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::python::{text, PyFacts};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

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
    static GUARD: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\bif\s+(?:not\s+)?(\w+)\s+(?:not\s+)?in\b").expect("static regex")
    });
    let tested: HashSet<&str> = GUARD
        .captures_iter(func)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str())
        .collect();
    if tested.is_empty() {
        return false;
    }
    let mut guarded = false;
    crate::checks::py::visit(arg, |n| {
        if n.kind() == "identifier" && !guarded {
            guarded = tested.contains(text(n, src));
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
    if inert(arg, src, 0) {
        return;
    }
    out.push(
        c.hit()
            .var("what", snippet(text(arg, src)))
            .confidence(conf),
    );
}

/// The text can hold no names, so it runs no code: every piece is a constant, a number
/// (`int(..)`, `"{:02d}".format(..)`, `sys.version_info[0]`), or a group of a regex match
/// whose pattern admits only digits, dots, spaces and comparison operators
/// (`m = re.match(r"([<=>]+)([\d.]+)", line)`; `m.group(1)`, `m.group(2).split(".")[0]`).
/// `eval("3.11" + m.group(1) + "3.08")` compares two versions, whatever the line said.
fn inert(n: tree_sitter::Node<'_>, src: &str, depth: usize) -> bool {
    let n = crate::checks::py::unwrap_expr(n);
    if depth > 8 {
        return false;
    }
    if shape(n, src) == Shape::Constant {
        return true;
    }
    let t = text(n, src);
    if t.starts_with("sys.version_info") {
        return true;
    }
    match n.kind() {
        "binary_operator" => ["left", "right"].into_iter().all(|side| {
            n.child_by_field_name(side)
                .is_some_and(|x| inert(x, src, depth + 1))
        }),
        "string" => {
            let mut c = n.walk();
            let kids: Vec<tree_sitter::Node<'_>> = n.named_children(&mut c).collect();
            kids.into_iter()
                .filter(|k| k.kind() == "interpolation")
                .all(|k| {
                    k.child_by_field_name("expression")
                        .or_else(|| k.named_child(0))
                        .is_some_and(|e| inert(e, src, depth + 1))
                })
        }
        "call" => {
            let (Some(func), Some(args)) = (
                n.child_by_field_name("function"),
                n.child_by_field_name("arguments"),
            ) else {
                return false;
            };
            let mut c = args.walk();
            let argv: Vec<tree_sitter::Node<'_>> = args.named_children(&mut c).collect();
            match text(func, src) {
                "int" | "float" | "len" | "abs" | "round" | "bool" => return true,
                "str" => return argv.len() == 1 && inert(argv[0], src, depth + 1),
                _ => {}
            }
            if func.kind() != "attribute" {
                return false;
            }
            let (Some(obj), Some(attr)) = (
                func.child_by_field_name("object"),
                func.child_by_field_name("attribute"),
            ) else {
                return false;
            };
            match text(attr, src) {
                "format" => {
                    inert(obj, src, depth + 1) && argv.iter().all(|a| inert(*a, src, depth + 1))
                }
                "strip" | "lstrip" | "rstrip" | "split" | "rsplit" => inert(obj, src, depth + 1),
                "group" => {
                    !argv.is_empty()
                        && argv.iter().all(|a| {
                            text(*a, src)
                                .parse::<usize>()
                                .is_ok_and(|g| inert_match_group(obj, g, src))
                        })
                }
                _ => false,
            }
        }
        // `parts[0]`, `m.group(2).split(".")[1]`; not `request.POST["q"]`: an attribute
        // in capitals reads as a constant, but a mapping's items are whatever it was given.
        "subscript" => n
            .child_by_field_name("value")
            .is_some_and(|v| v.kind() != "attribute" && inert(v, src, depth + 1)),
        "identifier" => {
            let values = local_values(n, src);
            !values.is_empty() && values.into_iter().all(|v| inert(v, src, depth + 1))
        }
        _ => false,
    }
}

/// The values assigned to the name `n` in its function (empty when it is assigned in any
/// other way: a parameter, a loop variable, a `with`).
fn local_values<'t>(n: tree_sitter::Node<'t>, src: &str) -> Vec<tree_sitter::Node<'t>> {
    let name = text(n, src);
    let mut scope = n;
    while let Some(p) = scope.parent() {
        scope = p;
        if p.kind() == "function_definition" {
            break;
        }
    }
    if scope.kind() != "function_definition"
        || crate::checks::py::mentions(
            scope.child_by_field_name("parameters").unwrap_or(scope),
            name,
            src,
        )
    {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut other = false;
    crate::checks::py::visit(scope, |x| {
        match x.kind() {
            "assignment" | "augmented_assignment" => {
                if let (Some(l), Some(r)) = (
                    x.child_by_field_name("left"),
                    x.child_by_field_name("right"),
                ) {
                    if l.kind() == "identifier" && text(l, src) == name {
                        if x.kind() == "assignment" {
                            out.push(r);
                        } else {
                            other = true;
                        }
                    } else if crate::checks::py::mentions(l, name, src) {
                        other = true;
                    }
                }
            }
            "for_statement" | "with_item" | "for_in_clause" | "named_expression"
                if x.child_by_field_name("left")
                    .or_else(|| x.child_by_field_name("value"))
                    .or_else(|| x.child_by_field_name("name"))
                    .is_some_and(|l| crate::checks::py::mentions(l, name, src)) =>
            {
                other = true;
            }
            _ => {}
        }
        true
    });
    if other {
        Vec::new()
    } else {
        out
    }
}

/// `m.group(g)` where `m = re.match(<literal pattern>, ..)` and group `g` of the pattern
/// matches only digits, dots, spaces and comparison operators.
fn inert_match_group(m: tree_sitter::Node<'_>, g: usize, src: &str) -> bool {
    if m.kind() != "identifier" {
        return false;
    }
    let values = local_values(m, src);
    !values.is_empty()
        && values.into_iter().all(|v| {
            let v = crate::checks::py::unwrap_expr(v);
            let Some(func) = v.child_by_field_name("function") else {
                return false;
            };
            if v.kind() != "call"
                || !matches!(text(func, src), "re.match" | "re.fullmatch" | "re.search")
            {
                return false;
            }
            v.child_by_field_name("arguments")
                .and_then(|a| positional_arg(a, 0))
                .and_then(|p| literal_text(p, src))
                .and_then(|p| regex_group(&p, g))
                .is_some_and(|grp| inert_pattern(&grp))
        })
}

/// The text of a string literal whose escapes need no decoding: raw strings, and plain
/// strings without a backslash (implicitly concatenated pieces joined).
fn literal_text(n: tree_sitter::Node<'_>, src: &str) -> Option<String> {
    match n.kind() {
        "concatenated_string" => {
            let mut c = n.walk();
            let parts: Vec<tree_sitter::Node<'_>> = n.named_children(&mut c).collect();
            let mut out = String::new();
            for p in parts {
                out.push_str(&literal_text(p, src)?);
            }
            Some(out)
        }
        "string" => {
            let t = text(n, src);
            let q = t.find(['"', '\''])?;
            let prefix = t[..q].to_ascii_lowercase();
            if prefix.contains('f') || prefix.contains('b') {
                return None;
            }
            let quote = if t[q..].starts_with("\"\"\"") || t[q..].starts_with("'''") {
                3
            } else {
                1
            };
            let body = t.get(q + quote..t.len().checked_sub(quote)?)?;
            (prefix.contains('r') || !body.contains('\\')).then(|| body.to_string())
        }
        _ => None,
    }
}

/// The text of capturing group `g` (1-based) of a regex, `None` when it cannot be found.
fn regex_group(pat: &str, g: usize) -> Option<String> {
    let b = pat.as_bytes();
    let (mut i, mut count, mut in_class) = (0, 0, false);
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' if !in_class => in_class = true,
            b']' if in_class => in_class = false,
            b'(' if !in_class => {
                let named = pat[i + 1..].starts_with("?P<");
                if named || !pat[i + 1..].starts_with('?') {
                    count += 1;
                    if count == g {
                        // The group's body, up to its closing parenthesis.
                        let start = if named {
                            i + 1 + pat[i + 1..].find('>')? + 1
                        } else {
                            i + 1
                        };
                        let (mut j, mut depth, mut cls) = (start, 0usize, false);
                        while j < b.len() {
                            match b[j] {
                                b'\\' => j += 1,
                                b'[' if !cls => cls = true,
                                b']' if cls => cls = false,
                                b'(' if !cls => depth += 1,
                                b')' if !cls => {
                                    if depth == 0 {
                                        return pat.get(start..j).map(str::to_string);
                                    }
                                    depth -= 1;
                                }
                                _ => {}
                            }
                            j += 1;
                        }
                        return None;
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A regex fragment that matches only digits, dots, spaces, `-` and `<`, `=`, `>`, `!`:
/// no letter, no bracket, no quote can come out of it.
fn inert_pattern(p: &str) -> bool {
    let b = p.as_bytes();
    let mut i = 0;
    let mut in_class = false;
    while i < b.len() {
        let ch = b[i];
        match ch {
            b'\\' => {
                if !matches!(
                    b.get(i + 1),
                    Some(b'd' | b's' | b'.' | b'-' | b'<' | b'>' | b'=' | b'!')
                ) {
                    return false;
                }
                i += 1;
            }
            b'[' if !in_class => {
                in_class = true;
                if b.get(i + 1) == Some(&b'^') {
                    return false;
                }
            }
            b']' if in_class => in_class = false,
            b'0'..=b'9' | b'<' | b'=' | b'>' | b'!' | b' ' | b'-' => {}
            b'.' if in_class => {}
            b'+' | b'*' | b'?' | b'{' | b'}' | b',' if !in_class => {}
            b'|' if !in_class => {}
            _ => return false,
        }
        i += 1;
    }
    !in_class
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_groups() {
        let p = r"(.*?)([<=>\s]+)(?:;(?P<marker>[\d\.]+))?(?:x(y))";
        assert_eq!(regex_group(p, 1).as_deref(), Some(".*?"));
        assert_eq!(regex_group(p, 2).as_deref(), Some(r"[<=>\s]+"));
        assert_eq!(regex_group(p, 3).as_deref(), Some(r"[\d\.]+"));
        assert_eq!(regex_group(p, 4).as_deref(), Some("y"));
        assert_eq!(regex_group(p, 5), None);
    }

    #[test]
    fn inert_patterns() {
        assert!(inert_pattern(r"[<=>]+"));
        assert!(inert_pattern(r"[\d\.]+"));
        assert!(inert_pattern(r"\d{1,3}"));
        assert!(!inert_pattern(r"[\w.]+"));
        assert!(!inert_pattern(r".*?"));
        assert!(!inert_pattern(r"[^<]+"));
        assert!(!inert_pattern(r"[a-z]+"));
    }
}
