//! Security checks for Rust: CORS with credentials, shell commands built from input,
//! path traversal in handlers, SQL built with `format!`.

use crate::checks::rust::{
    each_node, enclosing_fn, in_test_code, mentions, request_names, rust_facts, text,
};
use crate::checks::{FileContext, Hit};
use crate::model::facts::rust::unroll;
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

/// `format!("..{x}..")` or `format!("..{}..", x)` where some interpolated value is not an
/// upper-case constant or a placeholder list.
fn format_interpolates(t: &str) -> bool {
    static INLINE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\{([A-Za-z_][A-Za-z0-9_.]*)[^}]*\}").expect("static regex"));
    static ARG: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"^\s*&?\s*([A-Za-z_][A-Za-z0-9_.()]*)\s*$"#).expect("static regex")
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
    Regex::new(r"(?i)placeholder|^binds?$|_binds$|^(sql_)?params$|question_marks|^(self\.)?(table|schema)(_name)?$|columns?$|cols$|^where_clause$")
        .expect("static regex")
});

static SQL_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)"\s*(select\s.+\sfrom|insert\s+into|update\s+\S+\s+set|delete\s+from|with\s+\w+\s+as\s*\(|drop\s|alter\s|create\s)"#)
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
                    Regex::new(
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
        let Some(built) = built_string(first, scope, src) else {
            return;
        };
        if !SQL_START.is_match(text(built, src)) || in_test_code(call, src) {
            return;
        }
        hits.push(
            Hit::new(first.start_byte(), first.end_byte())
                .var("callee", callee)
                .var("expr", text(built, src).to_string()),
        );
    });
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
            Regex::new(r#"^(std::process::|tokio::process::|process::)?Command::new\("(/usr)?(/bin/)?(sh|bash|zsh|dash|cmd|cmd\.exe|powershell|pwsh)"\)$"#).expect("static regex")
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
        Regex::new(r"\b(File::open|File::create|fs::read\w*|fs::write|fs::remove_file|NamedFile::open\w*|ServeFile::new|fs::copy|OpenOptions)\b")
            .expect("static regex")
    });
    static GUARD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"canonicalize[\s\S]*starts_with|starts_with[\s\S]*canonicalize|ParentDir|Component::Normal|contains\(\s*"\.\."|sanitize|normalize_path|is_safe_path|path_clean|secure_join|safe_join"#)
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
            Regex::new(r"(?i)Path::new|PathBuf|dir|root|base|folder|upload|storage|static|path")
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
