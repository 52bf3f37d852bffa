//! Security checks for Rust: CORS with credentials, shell commands built from input,
//! path traversal in handlers, SQL built with `format!`.

use crate::checks::rust::{
    each_node, enclosing_fn, in_test_code, mentions, request_names, rust_facts, text,
};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::rust::unroll;
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

/// The `let` value bound to `name` before `before` inside `scope`, if any.
pub(crate) fn let_value<'t>(
    scope: Node<'t>,
    src: &str,
    name: &str,
    before: usize,
) -> Option<Node<'t>> {
    let mut found = None;
    each_node(scope, &["let_declaration"], |n| {
        if n.start_byte() >= before {
            return;
        }
        let (Some(p), Some(v)) = (
            n.child_by_field_name("pattern"),
            n.child_by_field_name("value"),
        ) else {
            return;
        };
        if text(p, src).trim_start_matches("mut ").trim() == name {
            found = Some(v);
        }
    });
    found
}

fn strip_ref<'t>(mut n: Node<'t>, src: &str) -> Node<'t> {
    for _ in 0..4 {
        match n.kind() {
            "reference_expression" | "parenthesized_expression" => {
                match n.named_child(n.named_child_count().saturating_sub(1) as u32) {
                    Some(c) => n = c,
                    None => break,
                }
            }
            "call_expression" => {
                // `sql.as_str()`, `q.to_string()`
                let (base, calls) = unroll(n, src);
                if calls.len() == 1
                    && matches!(
                        calls[0].0.as_str(),
                        "as_str" | "to_string" | "as_ref" | "clone"
                    )
                {
                    n = base;
                } else {
                    break;
                }
            }
            _ => break,
        }
    }
    n
}

fn is_format(n: Node<'_>, src: &str) -> bool {
    n.kind() == "macro_invocation"
        && n.child_by_field_name("macro")
            .is_some_and(|m| text(m, src).trim_start_matches("std::") == "format")
}

/// A string built at run time: `format!(..)` with arguments, `a + &b`, or a variable
/// bound to one in the enclosing function. Returns the building expression.
fn built_string<'t>(arg: Node<'t>, scope: Option<Node<'t>>, src: &str) -> Option<Node<'t>> {
    let n = strip_ref(arg, src);
    if is_format(n, src) && format_interpolates(text(n, src)) {
        return Some(n);
    }
    if n.kind() == "binary_expression" && text(n, src).contains('+') {
        return Some(n);
    }
    if n.kind() == "identifier" {
        let v = let_value(scope?, src, text(n, src), n.start_byte())?;
        let v = strip_ref(v, src);
        if (is_format(v, src) && format_interpolates(text(v, src)))
            || (v.kind() == "binary_expression" && text(v, src).contains('+'))
        {
            return Some(v);
        }
    }
    None
}

/// A query builder rendered to text with its values inlined (sea-query
/// `stmt.to_string(PostgresQueryBuilder)`), directly or through a `let` in the enclosing
/// function (also as the last expression of a block).
fn builder_rendered<'t>(arg: Node<'t>, scope: Option<Node<'t>>, src: &str) -> Option<Node<'t>> {
    static RENDERED: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\.to_string\(\s*(?:\w+::)*\w*QueryBuilder\b").expect("static regex")
    });
    let n = strip_ref(arg, src);
    let v = match n.kind() {
        "identifier" => let_value(scope?, src, text(n, src), n.start_byte())?,
        _ => n,
    };
    let v = if v.kind() == "block" {
        v.named_child(v.named_child_count().checked_sub(1)? as u32)?
    } else {
        v
    };
    RENDERED.is_match(text(v, src)).then_some(v)
}

/// `format!("..{x}..")` or `format!("..{}..", x)` where some interpolated value is not an
/// upper-case constant or a placeholder list.
fn format_interpolates(t: &str) -> bool {
    static INLINE: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"\{([A-Za-z_][A-Za-z0-9_.]*)[^}]*\}").expect("static regex"));
    static ARG: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"^\s*&?\s*([A-Za-z_][A-Za-z0-9_.()]*)\s*$"#).expect("static regex")
    });
    let safe = |name: &str| {
        let last = name.rsplit('.').next().unwrap_or(name);
        last.chars()
            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
            || SAFE_ARG.is_match(name)
    };
    let Some(open) = t.find('"') else {
        return false;
    };
    let Some(close) = t.rfind('"') else {
        return false;
    };
    if close <= open {
        return false;
    }
    let fmt = &t[open + 1..close];
    let args = &t[close + 1..];
    let mut any = false;
    for c in INLINE.captures_iter(fmt) {
        any = true;
        if !safe(&c[1]) {
            return true;
        }
    }
    let positional = fmt.matches("{}").count() + fmt.matches("{:").count();
    if positional > 0 {
        for a in args.split(',').skip_while(|s| s.trim().is_empty()) {
            let a = a.trim().trim_end_matches(')').trim();
            if a.is_empty() {
                continue;
            }
            any = true;
            match ARG.captures(a) {
                Some(c) if safe(&c[1]) => {}
                _ => return true,
            }
        }
    }
    let _ = any;
    false
}

static SAFE_ARG: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)placeholder|^binds?$|_binds$|^(sql_)?params$|question_marks|^(self\.)?(table|schema)(_name)?$|columns?$|cols$|^where_clause$")
        .expect("static regex")
});

static SQL_START: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"(?is)"\s*(select\s.+\sfrom|insert\s+into|update\s+\S+\s+set|delete\s+from|with\s+\w+\s+as\s*\(|drop\s|alter\s|create\s)"#)
        .expect("static regex")
});

/// SEC107: SQL built with `format!`/`+` reaching sqlx, diesel or a postgres client.
pub fn sql_injection(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = &ctx.file.text;
    let Some(facts) = rust_facts(ctx) else { return };
    each_node(ctx.tree.root_node(), &["call_expression"], |call| {
        let (Some(f), Some(args)) = (
            call.child_by_field_name("function"),
            call.child_by_field_name("arguments"),
        ) else {
            return;
        };
        let callee = match f.kind() {
            "field_expression" => {
                let recv = f
                    .child_by_field_name("value")
                    .map(|v| text(v, src))
                    .unwrap_or("");
                let m = f
                    .child_by_field_name("field")
                    .map(|v| text(v, src))
                    .unwrap_or("");
                static RECV: LazyLock<Regex> = LazyLock::new(|| {
                    re::new(
                        r"(?i)(client|conn|connection|tx|txn|transaction|db|pool|pg|session)\W*$",
                    )
                    .expect("static regex")
                });
                if !matches!(
                    m,
                    "execute"
                        | "query"
                        | "query_one"
                        | "query_opt"
                        | "batch_execute"
                        | "simple_query"
                        | "prepare"
                        | "query_raw"
                ) || !RECV.is_match(recv)
                {
                    return;
                }
                format!("{}.{m}", recv.rsplit('.').next().unwrap_or(recv))
            }
            "identifier" | "scoped_identifier" | "generic_function" => {
                let t = text(f, src);
                let t = t.split("::<").next().unwrap_or(t);
                let q = facts.resolve(t).unwrap_or_default();
                if !(q.starts_with("sqlx::query")
                    || q == "sqlx::raw_sql"
                    || q == "diesel::sql_query"
                    || q == "diesel::dsl::sql_query"
                    || q == "sea_orm::Statement::from_string")
                {
                    return;
                }
                q
            }
            _ => return,
        };
        let Some(first) = args.named_child(0) else {
            return;
        };
        let scope = enclosing_fn(call);
        if let Some(rendered) = builder_rendered(first, scope, src) {
            if !in_test_code(call, src) {
                hits.push(
                    Hit::new(first.start_byte(), first.end_byte())
                        .var("callee", callee)
                        .var("expr", text(rendered, src).to_string()),
                );
            }
            return;
        }
        let Some(built) = built_string(first, scope, src) else {
            return;
        };
        if !SQL_START.is_match(text(built, src)) || in_test_code(call, src) {
            return;
        }
        if traces_to_constants(built, ctx.tree.root_node(), src, 0) {
            return;
        }
        let mut hit = Hit::new(first.start_byte(), first.end_byte())
            .var("callee", callee)
            .var("expr", text(built, src).to_string());
        if quoted_identifier_ddl(text(built, src)) {
            hit = hit.confidence(Confidence::Low);
        }
        hits.push(hit);
    });
}

/// `format!("CREATE SCHEMA \"{name}\"")`: DDL whose every placeholder is a quoted
/// identifier. An identifier cannot be bound, and a name the program generates is the
/// usual case: a near miss unless the name is shown to come from input.
fn quoted_identifier_ddl(built: &str) -> bool {
    static DDL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?is)^\w*!?\s*\(\s*r?#*"\s*(?:create|drop|alter)\s+(?:schema|database|table|index|view|role|user|sequence)\b"#)
            .expect("static regex")
    });
    static PLACEHOLDER: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"\{[A-Za-z_0-9]*(?::[^}]*)?\}").expect("static regex"));
    let holes = PLACEHOLDER.find_iter(built).count();
    let quoted = PLACEHOLDER
        .find_iter(built)
        .filter(|m| built[..m.start()].ends_with("\\\""))
        .count();
    DDL.is_match(built) && holes > 0 && holes == quoted
}

/// The pieces a `format!(..)` or `a + b` splices into its string: the expressions of its
/// `{name}` placeholders and of its arguments (`name = expr` arguments stand for the
/// placeholder of that name).
fn spliced(built: Node<'_>, src: &str) -> Option<Vec<String>> {
    if built.kind() == "binary_expression" {
        let mut out = Vec::new();
        let mut todo = vec![built];
        while let Some(n) = todo.pop() {
            let op = n.child_by_field_name("operator").map(|o| text(o, src));
            match (n.kind(), op) {
                ("binary_expression", Some("+")) => {
                    todo.extend(n.child_by_field_name("left"));
                    todo.extend(n.child_by_field_name("right"));
                }
                _ => out.push(text(n, src).to_string()),
            }
        }
        return Some(out);
    }
    // The token tree of `format!(..)`, split on its top-level commas.
    let mut c = built.walk();
    let tree = built
        .named_children(&mut c)
        .find(|n| n.kind() == "token_tree")?;
    let mut parts: Vec<Vec<Node<'_>>> = vec![Vec::new()];
    let mut c = tree.walk();
    let tokens: Vec<Node<'_>> = tree.children(&mut c).collect();
    for tok in tokens.iter().skip(1).take(tokens.len().saturating_sub(2)) {
        if text(*tok, src) == "," {
            parts.push(Vec::new());
        } else if let Some(last) = parts.last_mut() {
            last.push(*tok);
        }
    }
    let piece = |p: &[Node<'_>]| -> String {
        match (p.first(), p.last()) {
            (Some(a), Some(b)) => src
                .get(a.start_byte()..b.end_byte())
                .unwrap_or("")
                .to_string(),
            _ => String::new(),
        }
    };
    let mut parts = parts.into_iter();
    let fmt = parts.next()?;
    if fmt.len() != 1 || !fmt[0].kind().contains("string_literal") {
        return None;
    }
    let body = string_body(text(fmt[0], src))?;
    let args: Vec<String> = parts
        .map(|p| piece(&p))
        .filter(|a| !a.trim().is_empty())
        .collect();
    let mut out = Vec::new();
    static INLINE: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}").expect("static regex"));
    for c in INLINE.captures_iter(&body) {
        let name = &c[1];
        let named = args.iter().find_map(|a| {
            let (k, v) = a.split_once('=')?;
            (k.trim() == name && !v.starts_with('=')).then(|| v.trim().to_string())
        });
        out.push(named.unwrap_or_else(|| name.to_string()));
    }
    out.extend(args.iter().filter_map(|a| match a.split_once('=') {
        Some((k, v)) if is_ident(k.trim()) && !v.starts_with('=') => None,
        _ => Some(a.trim().to_string()),
    }));
    Some(out)
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// The text between the quotes of a string literal (`"..."` or `r#"..."#`).
fn string_body(lit: &str) -> Option<String> {
    let lit = lit.trim();
    let lit = lit.strip_prefix('r').unwrap_or(lit);
    let hashes = lit.len() - lit.trim_start_matches('#').len();
    let lit = &lit[hashes..];
    let lit = lit.strip_prefix('"')?;
    let lit = lit.strip_suffix(&"#".repeat(hashes)).unwrap_or(lit);
    Some(lit.strip_suffix('"').unwrap_or(lit).to_string())
}

/// Splits `s` on `sep` outside brackets, parentheses, braces and string literals.
fn split_top_level(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut escaped = false;
    let mut cur = String::new();
    for c in s.chars() {
        if in_str {
            cur.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
        if c == sep && depth == 0 {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// Whether every piece a `format!`/`+` splices into SQL is fixed by the program: a
/// literal, an upper-case constant, a placeholder list, a local bound to one of those, a
/// loop over a constant, or a parameter of a private function that every call in the file
/// passes such a value (identifiers and fragments a scheduled job passes as literals).
fn traces_to_constants(built: Node<'_>, root: Node<'_>, src: &str, depth: usize) -> bool {
    if depth > 8 {
        return false;
    }
    let Some(pieces) = spliced(built, src) else {
        return false;
    };
    pieces
        .iter()
        .all(|p| constant_expr(p, built, root, src, depth))
}

fn constant_expr(expr: &str, at: Node<'_>, root: Node<'_>, src: &str, depth: usize) -> bool {
    if depth > 8 {
        return false;
    }
    let mut e = expr.trim().trim_start_matches(['&', '*']).trim();
    for suffix in [
        ".as_str()",
        ".to_string()",
        ".as_ref()",
        ".clone()",
        ".to_owned()",
        ".into()",
    ] {
        e = e.strip_suffix(suffix).unwrap_or(e);
    }
    if e.starts_with('"') || e.starts_with("r\"") || e.starts_with("r#") {
        return true;
    }
    if e.parse::<f64>().is_ok() || matches!(e, "true" | "false") {
        return true;
    }
    if (e.starts_with('(') && e.ends_with(')')) || (e.starts_with('[') && e.ends_with(']')) {
        let inner = &e[1..e.len() - 1];
        return split_top_level(inner, ',')
            .iter()
            .all(|p| constant_expr(p, at, root, src, depth + 1));
    }
    if e.starts_with("format!") {
        let Some(fmt) = find_macro_at(at, root, e, src) else {
            return false;
        };
        return traces_to_constants(fmt, root, src, depth + 1);
    }
    static PATH: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$").expect("static regex")
    });
    if !PATH.is_match(e) {
        return false;
    }
    let segments: Vec<&str> = e.split('.').collect();
    let base = segments[0];
    let upper = |s: &str| {
        s.chars()
            .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
    };
    if upper(base) || SAFE_ARG.is_match(e) {
        return true;
    }
    if base == "self" {
        return false;
    }
    let Some(func) = enclosing_fn(at) else {
        return false;
    };
    if let Some(v) = let_value(func, src, base, at.start_byte()) {
        return constant_expr(text(v, src), v, root, src, depth + 1);
    }
    if let Some(iter) = loop_over(func, src, base, at.start_byte()) {
        return constant_expr(text(iter, src), iter, root, src, depth + 1);
    }
    parameter_from_constants(func, base, root, src, depth)
}

/// The `format!` invocation with text `t` at or under `at` (or anywhere in the file).
fn find_macro_at<'t>(at: Node<'t>, root: Node<'t>, t: &str, src: &str) -> Option<Node<'t>> {
    let mut found = None;
    for scope in [at, root] {
        each_node(scope, &["macro_invocation"], |m| {
            if found.is_none() && text(m, src) == t {
                found = Some(m);
            }
        });
        if found.is_some() {
            break;
        }
    }
    found
}

/// The iterated expression of `for name in <expr>` around `before` inside `scope`.
fn loop_over<'t>(scope: Node<'t>, src: &str, name: &str, before: usize) -> Option<Node<'t>> {
    let mut found = None;
    each_node(scope, &["for_expression"], |n| {
        if n.start_byte() < before
            && before < n.end_byte()
            && n.child_by_field_name("pattern")
                .is_some_and(|p| text(p, src).trim() == name)
        {
            found = n.child_by_field_name("value");
        }
    });
    found
}

/// `name` is a parameter of the private function `func`, and every call of `func` in the
/// file passes a constant in its place.
fn parameter_from_constants(
    func: Node<'_>,
    name: &str,
    root: Node<'_>,
    src: &str,
    depth: usize,
) -> bool {
    let mut c = func.walk();
    if func
        .named_children(&mut c)
        .any(|n| n.kind() == "visibility_modifier")
    {
        return false;
    }
    let (Some(fname), Some(params)) = (
        func.child_by_field_name("name").map(|n| text(n, src)),
        func.child_by_field_name("parameters"),
    ) else {
        return false;
    };
    let mut c = params.walk();
    let list: Vec<Node<'_>> = params.named_children(&mut c).collect();
    let has_self = list.iter().any(|p| p.kind() == "self_parameter");
    let Some(index) = list
        .iter()
        .filter(|p| p.kind() == "parameter")
        .position(|p| {
            p.child_by_field_name("pattern")
                .is_some_and(|x| text(x, src).trim_start_matches("mut ").trim() == name)
        })
    else {
        return false;
    };
    let mut calls = 0;
    let mut all_constant = true;
    each_node(root, &["call_expression"], |call| {
        if !all_constant {
            return;
        }
        let (Some(f), Some(args)) = (
            call.child_by_field_name("function"),
            call.child_by_field_name("arguments"),
        ) else {
            return;
        };
        let (callee, method) = match f.kind() {
            "identifier" => (text(f, src), false),
            "scoped_identifier" => (
                f.child_by_field_name("name").map_or("", |n| text(n, src)),
                false,
            ),
            "field_expression" => (
                f.child_by_field_name("field").map_or("", |n| text(n, src)),
                true,
            ),
            _ => return,
        };
        if callee != fname {
            return;
        }
        let at = if has_self && !method {
            index + 1
        } else {
            index
        };
        let mut ac = args.walk();
        let Some(arg) = args
            .named_children(&mut ac)
            .filter(|a| a.kind() != "line_comment" && a.kind() != "block_comment")
            .nth(at)
        else {
            all_constant = false;
            return;
        };
        calls += 1;
        if !constant_expr(text(arg, src), arg, root, src, depth + 1) {
            all_constant = false;
        }
    });
    calls > 0 && all_constant
}

/// SEC101: CORS that reflects any origin while allowing credentials.
pub fn cors_any_origin_with_credentials(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = &ctx.file.text;
    let mut seen = std::collections::HashSet::new();
    each_node(ctx.tree.root_node(), &["call_expression"], |call| {
        if !seen.insert(call.start_byte()) {
            return;
        }
        let (base, calls) = unroll(call, src);
        let base_t: String = text(base, src).split_whitespace().collect();
        let mut any_origin: Option<String> = None;
        let mut creds = false;
        match base_t.as_str() {
            "CorsLayer::very_permissive()" | "tower_http::cors::CorsLayer::very_permissive()" => {
                any_origin = Some("CorsLayer::very_permissive()".into());
                creds = true;
            }
            "Cors::permissive()" | "actix_cors::Cors::permissive()" => {
                any_origin = Some("Cors::permissive()".into());
                creds = true;
            }
            "CorsLayer::permissive()" | "tower_http::cors::CorsLayer::permissive()" => {
                any_origin = Some("CorsLayer::permissive()".into());
            }
            _ => {}
        }
        for (m, args, _) in &calls {
            let a: String = text(*args, src).split_whitespace().collect();
            match m.as_str() {
                "allow_origin"
                    if matches!(
                        a.as_str(),
                        "(Any)"
                            | "(cors::Any)"
                            | "(tower_http::cors::Any)"
                            | "(AllowOrigin::any())"
                            | "(AllowOrigin::mirror_request())"
                            | "(cors::AllowOrigin::mirror_request())"
                    ) =>
                {
                    any_origin = Some(format!("allow_origin{a}"));
                }
                "allow_any_origin" | "send_wildcard" => any_origin = Some(format!("{m}()")),
                "allow_credentials" if a == "(true)" => creds = true,
                "supports_credentials" => creds = true,
                _ => {}
            }
        }
        if let (Some(origin), true) = (any_origin, creds) {
            hits.push(Hit::new(call.start_byte(), call.end_byte()).var("origin", origin));
        }
    });
    reflected_origin(ctx, hits);
}

/// SEC101 by hand: a response header `Access-Control-Allow-Origin` set to the request's own
/// `Origin` (read in the same function, directly or through a `let`) in a file that also
/// sends `Access-Control-Allow-Credentials: true`.
fn reflected_origin(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    static ORIGIN_READ: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?i)"origin"|header::ORIGIN\b|\bORIGIN\b"#).expect("static regex")
    });
    static CREDS: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?is)(?:"access-control-allow-credentials"|ACCESS_CONTROL_ALLOW_CREDENTIALS)\s*,\s*(?:"true"|HeaderValue::from_static\("true"\))"#)
            .expect("static regex")
    });
    let src = &ctx.file.text;
    if !CREDS.is_match(src) {
        return;
    }
    each_node(ctx.tree.root_node(), &["arguments"], |args| {
        let mut c = args.walk();
        let items: Vec<Node<'_>> = args.named_children(&mut c).collect();
        if items.len() != 2 {
            return;
        }
        let key = text(items[0], src);
        if !(key.eq_ignore_ascii_case("\"access-control-allow-origin\"")
            || key.ends_with("ACCESS_CONTROL_ALLOW_ORIGIN"))
        {
            return;
        }
        let value = strip_ref(items[1], src);
        let read = if value.kind() == "identifier" {
            enclosing_fn(args)
                .and_then(|f| let_value(f, src, text(value, src), value.start_byte()))
                .map(|v| text(v, src))
        } else {
            Some(text(value, src))
        };
        if read.is_some_and(|r| ORIGIN_READ.is_match(r)) && !in_test_code(args, src) {
            hits.push(
                Hit::new(args.start_byte(), args.end_byte())
                    .var("origin", "the request's own Origin header"),
            );
        }
    });
}

/// SEC104: `Command::new("sh").arg("-c").arg(format!(..))`.
pub fn shell_command_injection(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = &ctx.file.text;
    let mut seen = std::collections::HashSet::new();
    each_node(ctx.tree.root_node(), &["call_expression"], |call| {
        if !seen.insert(call.start_byte()) {
            return;
        }
        let (base, calls) = unroll(call, src);
        let bt: String = text(base, src).split_whitespace().collect();
        static SHELL: LazyLock<Regex> = LazyLock::new(|| {
            re::new(r#"^(std::process::|tokio::process::|process::)?Command::new\("(/usr)?(/bin/)?(sh|bash|zsh|dash|cmd|cmd\.exe|powershell|pwsh)"\)$"#).expect("static regex")
        });
        if !SHELL.is_match(&bt) || in_test_code(call, src) {
            return;
        }
        let scope = enclosing_fn(call);
        let mut after_c = false;
        for (m, args, _) in &calls {
            let items: Vec<Node<'_>> = match m.as_str() {
                "arg" => args.named_child(0).into_iter().collect(),
                "args" => match args.named_child(0) {
                    Some(arr) if arr.kind() == "array_expression" => {
                        let mut c = arr.walk();
                        arr.named_children(&mut c).collect()
                    }
                    _ => continue,
                },
                _ => continue,
            };
            for it in items {
                let t = text(it, src);
                if matches!(t, "\"-c\"" | "\"/C\"" | "\"/c\"" | "\"-Command\"") {
                    after_c = true;
                    continue;
                }
                if after_c {
                    if let Some(b) = built_string(it, scope, src) {
                        hits.push(
                            Hit::new(it.start_byte(), it.end_byte())
                                .var("expr", text(b, src).to_string()),
                        );
                        return;
                    }
                }
            }
        }
    });
}

/// SEC103: request input joined onto a base directory and opened without a check that
/// the canonical path stays inside it.
pub fn path_traversal(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = &ctx.file.text;
    let Some(facts) = rust_facts(ctx) else { return };
    static OPEN: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\b(File::open|File::create|fs::read\w*|fs::write|fs::remove_file|NamedFile::open\w*|ServeFile::new|fs::copy|OpenOptions)\b")
            .expect("static regex")
    });
    static GUARD: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"canonicalize[\s\S]*starts_with|starts_with[\s\S]*canonicalize|ParentDir|Component::Normal|contains\(\s*"\.\."|sanitize|normalize_path|is_safe_path|path_clean|secure_join|safe_join"#)
            .expect("static regex")
    });
    each_node(ctx.tree.root_node(), &["call_expression"], |call| {
        let Some(f) = call.child_by_field_name("function") else {
            return;
        };
        if f.kind() != "field_expression"
            || f.child_by_field_name("field").map(|x| text(x, src)) != Some("join")
        {
            return;
        }
        let Some(h) = facts.handler_at(call.start_byte()) else {
            return;
        };
        let names = request_names(h);
        let Some(arg) = call.child_by_field_name("arguments") else {
            return;
        };
        let Some(name) = mentions(text(arg, src), &names) else {
            return;
        };
        // Only a filesystem path join: the receiver is a Path/PathBuf or a directory.
        let recv = f
            .child_by_field_name("value")
            .map(|v| text(v, src))
            .unwrap_or("");
        static PATHY: LazyLock<Regex> = LazyLock::new(|| {
            re::new(r"(?i)Path::new|PathBuf|dir|root|base|folder|upload|storage|static|path")
                .expect("static regex")
        });
        if !PATHY.is_match(recv) {
            return;
        }
        let body = src.get(h.body_start..h.body_end).unwrap_or("");
        if !OPEN.is_match(body) || GUARD.is_match(body) {
            return;
        }
        hits.push(Hit::new(call.start_byte(), call.end_byte()).var("input", name));
    });
}

/// SEC102: `danger_accept_invalid_certs(true)` outside tests and outside a branch on a
/// user's own option.
pub fn tls_verification_disabled(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = &ctx.file.text;
    each_node(ctx.tree.root_node(), &["call_expression"], |call| {
        let (Some(f), Some(args)) = (
            call.child_by_field_name("function"),
            call.child_by_field_name("arguments"),
        ) else {
            return;
        };
        let Some(field) = f.child_by_field_name("field") else {
            return;
        };
        let m = text(field, src);
        if !matches!(
            m,
            "danger_accept_invalid_certs" | "danger_accept_invalid_hostnames"
        ) || text(args, src).split_whitespace().collect::<String>() != "(true)"
        {
            return;
        }
        if in_test_code(call, src) {
            return;
        }
        // `if opts.accept_invalid_certs { builder = builder.danger_accept_invalid_certs(true) }`
        let mut cur = call.parent();
        for _ in 0..64 {
            let Some(c) = cur else { break };
            if c.kind() == "if_expression" {
                let cond = c
                    .child_by_field_name("condition")
                    .map(|x| text(x, src))
                    .unwrap_or("");
                if cond.contains("invalid")
                    || cond.contains("insecure")
                    || cond.contains("verify")
                    || cond.contains("danger")
                {
                    return;
                }
            }
            if c.kind() == "function_item" {
                break;
            }
            cur = c.parent();
        }
        hits.push(Hit::new(field.start_byte(), call.end_byte()).var("method", m.to_string()));
    });
}
