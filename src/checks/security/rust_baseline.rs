//! Rust counterparts of the baseline rules:
//! SEC108 a rustls certificate verifier that accepts every certificate;
//! SEC109 MD5/SHA-1 digests (`md5`, `sha1`, `sha-1` crates, OpenSSL, ring's legacy SHA-1)
//! used for a password, signature or secret;
//! SEC110 a file at a fixed name under `env::temp_dir()` (another local user can claim or
//! link it first);
//! SEC111 a credential header (`Authorization`, `Cookie`, `Proxy-Authorization`, an API key)
//! built from a value without `set_sensitive(true)`;
//! SEC112 the program's own path (`env::current_exe()`, `argv[0]`) deciding trust,
//! privilege or authentication (whoever starts the program chooses it).

use crate::checks::rust::{enclosing_fn, in_test_code, text};
use crate::checks::{Confidence, FileContext, Hit};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

/// Which of the rules a walk collects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RustRule {
    Verifier,
    WeakHash,
    TempDir,
    SensitiveHeader,
    ExeTrust,
}

/// SEC108
pub fn dangerous_verifier(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    walk(ctx, RustRule::Verifier, out);
}

/// SEC109
pub fn weak_hash(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    walk(ctx, RustRule::WeakHash, out);
}

/// SEC110
pub fn temp_dir_path(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    walk(ctx, RustRule::TempDir, out);
}

/// SEC111
pub fn sensitive_header(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    walk(ctx, RustRule::SensitiveHeader, out);
}

/// SEC112
pub fn exe_path_trust(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    walk(ctx, RustRule::ExeTrust, out);
}

fn walk(ctx: &FileContext<'_>, rule: RustRule, out: &mut Vec<Hit>) {
    let src = ctx.file.text.as_str();
    crate::model::facts::visit(ctx.tree.root_node(), |n| {
        match (rule, n.kind()) {
            (RustRule::Verifier, "impl_item") => verifier(n, src, out),
            (RustRule::WeakHash, "call_expression" | "macro_invocation") => {
                weak_digest(n, src, out);
            }
            (RustRule::TempDir, "call_expression") => temp_dir(n, src, out),
            (RustRule::SensitiveHeader, "call_expression") => header(n, src, out),
            (RustRule::ExeTrust, "if_expression" | "match_expression") => exe_trust(n, src, out),
            _ => {}
        }
        true
    });
}

/// The body of `f` (a `function_item`) as text, without its signature.
fn body_of<'s>(f: Node<'_>, src: &'s str) -> &'s str {
    f.child_by_field_name("body").map_or("", |b| text(b, src))
}

/// `impl ServerCertVerifier for NoVerify { fn verify_server_cert(..) { Ok(ServerCertVerified::assertion()) } }`
fn verifier(imp: Node<'_>, src: &str, out: &mut Vec<Hit>) {
    let Some(tr) = imp.child_by_field_name("trait") else {
        return;
    };
    let tr = text(tr, src);
    let (method, ok) = if tr.ends_with("ServerCertVerifier") {
        ("verify_server_cert", "ServerCertVerified::assertion()")
    } else if tr.ends_with("ClientCertVerifier") {
        ("verify_client_cert", "ClientCertVerified::assertion()")
    } else {
        return;
    };
    if in_test_code(imp, src) {
        return;
    }
    let Some(body) = imp.child_by_field_name("body") else {
        return;
    };
    let mut cur = body.walk();
    for f in body.named_children(&mut cur) {
        if f.kind() != "function_item"
            || f.child_by_field_name("name").map(|n| text(n, src)) != Some(method)
        {
            continue;
        }
        // The whole body (comments aside) is the assertion: no check, no delegation, no
        // error path.
        let b: String = f.child_by_field_name("body").map_or(String::new(), |b| {
            let mut cur = b.walk();
            let kids: Vec<Node<'_>> = b
                .named_children(&mut cur)
                .filter(|k| !matches!(k.kind(), "line_comment" | "block_comment"))
                .collect();
            kids.iter()
                .flat_map(|k| text(*k, src).split_whitespace())
                .collect()
        });
        if b == format!("Ok({ok})")
            || b == format!("returnOk({ok});")
            || b == format!("returnOk({ok})")
        {
            let ty = imp.child_by_field_name("type").map_or("", |t| text(t, src));
            out.push(
                Hit::new(f.start_byte(), f.end_byte())
                    .var("what", format!("`{ty}` accepts every certificate"))
                    .confidence(Confidence::High),
            );
        }
    }
}

static WEAK_DIGEST: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:md5::compute|(?:md5::|md\-?5::)?Md5::(?:new|digest|new_with_prefix)|(?:sha1::|sha1_smol::)?Sha1::(?:new|digest|from|new_with_prefix)|(?:openssl::hash::)?MessageDigest::(?:md5|sha1)|(?:openssl::)?(?:hash::)?(?:md5|sha1)|ring::digest::digest)$")
        .expect("re")
});

static SECURITY_USE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)passw|passwd|pwd|passphrase|credential|signature|(?:^|_)sign(?:_|$|ed|ing)|secret|api_?key|auth_?token|(?:^|_)token(?:_|$)")
        .expect("re")
});

fn weak_digest(call: Node<'_>, src: &str, out: &mut Vec<Hit>) {
    let Some(f) = call.child_by_field_name("function") else {
        return;
    };
    let callee: String = text(f, src).split_whitespace().collect();
    if !WEAK_DIGEST.is_match(&callee) {
        return;
    }
    let args = call
        .child_by_field_name("arguments")
        .map_or("", |a| text(a, src));
    if callee == "ring::digest::digest" && !args.contains("SHA1_FOR_LEGACY_USE_ONLY") {
        return;
    }
    if (callee == "md5" || callee == "sha1") && !src.contains("openssl") {
        return;
    }
    if in_test_code(call, src) {
        return;
    }
    // HMAC over SHA-1 is not broken; the digest's job decides the rest.
    let func = enclosing_fn(call);
    let name = func
        .and_then(|f| f.child_by_field_name("name"))
        .map_or("", |n| text(n, src));
    let statement = statement_text(call, src);
    if statement.contains("Hmac") {
        return;
    }
    let security = SECURITY_USE.is_match(name) || SECURITY_USE.is_match(args) || {
        let lhs = statement.split('=').next().unwrap_or("");
        statement.contains('=') && SECURITY_USE.is_match(lhs)
    };
    let conf = if security {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    out.push(
        Hit::new(call.start_byte(), call.end_byte())
            .var("callee", callee)
            .confidence(conf),
    );
}

/// The statement around `n` (`let`, expression statement), as text.
fn statement_text<'s>(n: Node<'_>, src: &'s str) -> &'s str {
    let mut cur = n;
    for _ in 0..32 {
        let Some(p) = cur.parent() else { break };
        if matches!(
            p.kind(),
            "let_declaration" | "expression_statement" | "block" | "function_item"
        ) {
            return if p.kind() == "block" || p.kind() == "function_item" {
                text(cur, src)
            } else {
                text(p, src)
            };
        }
        cur = p;
    }
    text(cur, src)
}

/// `env::temp_dir().join("app.lock")`: a fixed name in a shared directory.
fn temp_dir(call: Node<'_>, src: &str, out: &mut Vec<Hit>) {
    let Some(f) = call.child_by_field_name("function") else {
        return;
    };
    if f.kind() != "field_expression"
        || f.child_by_field_name("field").map(|x| text(x, src)) != Some("join")
    {
        return;
    }
    let Some(recv) = f.child_by_field_name("value") else {
        return;
    };
    let r: String = text(recv, src).split_whitespace().collect();
    if !(r == "env::temp_dir()" || r == "std::env::temp_dir()" || r == "temp_dir()") {
        return;
    }
    let Some(args) = call.child_by_field_name("arguments") else {
        return;
    };
    let Some(arg) = args.named_child(0) else {
        return;
    };
    if arg.kind() != "string_literal" || in_test_code(call, src) {
        return;
    }
    // Written, created or removed there (not only read or shown).
    let func = enclosing_fn(call).map_or(src, |f| body_of(f, src));
    let writes = [
        "File::create",
        "fs::write",
        "create_dir",
        "OpenOptions",
        "remove_file",
        "remove_dir",
        "set_permissions",
        "persist",
        "write_all",
    ]
    .iter()
    .any(|w| func.contains(w));
    let conf = if writes {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    out.push(
        Hit::new(call.start_byte(), call.end_byte())
            .var("what", text(arg, src).to_string())
            .confidence(conf),
    );
}

static CREDENTIAL_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"(?i)^(?:(?:header::|http::header::|reqwest::header::)?(?:AUTHORIZATION|PROXY_AUTHORIZATION|COOKIE|SET_COOKIE)|"(?:authorization|proxy-authorization|cookie|x-api-key|api-key|x-auth-token|x-access-token)")$"#)
        .expect("re")
});

/// `headers.insert(AUTHORIZATION, HeaderValue::from_str(&token)?)` without `set_sensitive`.
fn header(call: Node<'_>, src: &str, out: &mut Vec<Hit>) {
    let Some(f) = call.child_by_field_name("function") else {
        return;
    };
    if f.kind() != "field_expression"
        || !matches!(
            f.child_by_field_name("field").map(|x| text(x, src)),
            Some("insert" | "append")
        )
    {
        return;
    }
    let Some(args) = call.child_by_field_name("arguments") else {
        return;
    };
    let (Some(name), Some(value)) = (args.named_child(0), args.named_child(1)) else {
        return;
    };
    if !CREDENTIAL_HEADER.is_match(text(name, src).trim()) {
        return;
    }
    let v: String = text(value, src).split_whitespace().collect();
    let built = v.contains("HeaderValue::from_str(")
        || v.contains("HeaderValue::try_from(")
        || v.contains("HeaderValue::from_maybe_shared(");
    if !built || v.contains("HeaderValue::from_static(") || in_test_code(call, src) {
        return;
    }
    let func = enclosing_fn(call).map_or(src, |f| body_of(f, src));
    if func.contains("set_sensitive(") {
        return;
    }
    out.push(
        Hit::new(call.start_byte(), call.end_byte())
            .var("header", text(name, src).to_string())
            .confidence(Confidence::Low),
    );
}

/// Where the program says it runs from: `current_exe()` or the first argument (`argv[0]`).
static EXE_SOURCE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\bcurrent_exe\s*\(\s*\)|\bargs(?:_os)?\s*\(\s*\)\s*\.\s*(?:next\s*\(\s*\)|nth\s*\(\s*0\s*\))")
        .expect("re")
});

/// The whole argument list (`let argv: Vec<String> = env::args().collect()`).
static ARGS_LIST: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"\bargs(?:_os)?\s*\(\s*\)\s*\.\s*collect\b").expect("re"));

/// `let name = <expression>;` in a function body.
static LET: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?s)\blet\s+(?:mut\s+)?(?:Some\s*\(\s*)?([a-z_][A-Za-z0-9_]*)\b[^=;]*?=([^;]*);")
        .expect("re")
});

/// What a decision about trust, privilege or authentication mentions.
static SECURITY_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)setuid|setgid|seteuid|setegid|\bgeteuid|\bis_root\b|\broot_only|admin|privileg|trust|\bauth|permission|\ballow(?:ed)?_|\bdeny|sudo|elevat|insecure|skip_verif|no_verify|bypass|password|credential|superuser|capabilit")
        .expect("re")
});

/// `if exe.starts_with("/opt/app") { enable_admin() }`: a condition on the program's own
/// path (or a value bound from it in the function) that guards a trust, privilege or
/// authentication decision.
fn exe_trust(n: Node<'_>, src: &str, out: &mut Vec<Hit>) {
    let (cond, body) = match n.kind() {
        "if_expression" => (
            n.child_by_field_name("condition"),
            n.child_by_field_name("consequence"),
        ),
        _ => (
            n.child_by_field_name("value"),
            n.child_by_field_name("body"),
        ),
    };
    let (Some(cond), Some(body)) = (cond, body) else {
        return;
    };
    let ct = text(cond, src);
    let func = enclosing_fn(n).map_or("", |f| body_of(f, src));
    let from_exe = EXE_SOURCE.is_match(ct) || {
        let (names, lists) = exe_names(func);
        names.iter().any(|name| mentions_word(ct, name)) || first_of(ct, &lists)
    };
    if !from_exe {
        return;
    }
    let decision = format!("{ct} {}", text(body, src));
    if !SECURITY_WORDS.is_match(&decision) || in_test_code(n, src) {
        return;
    }
    out.push(
        Hit::new(cond.start_byte(), cond.end_byte())
            .var("what", crate::checks::py::snippet(ct))
            .confidence(Confidence::Medium),
    );
}

/// Names the function binds from the program's path: directly, through the argument list's
/// first element (`argv[0]`, `argv.first()`, `argv.get(0)`), or from another such name.
fn exe_names(func: &str) -> (Vec<String>, Vec<String>) {
    let lets: Vec<(String, String)> = LET
        .captures_iter(func)
        .map(|c| (c[1].to_string(), c[2].to_string()))
        .collect();
    let lists: Vec<String> = lets
        .iter()
        .filter(|(_, rhs)| ARGS_LIST.is_match(rhs))
        .map(|(n, _)| n.clone())
        .collect();
    let mut names: Vec<String> = Vec::new();
    // A chain of bindings is short; a few rounds reach a fixed point.
    for _ in 0..4 {
        let before = names.len();
        for (name, rhs) in &lets {
            if names.contains(name) {
                continue;
            }
            let derived = EXE_SOURCE.is_match(rhs)
                || first_of(rhs, &lists)
                || names.iter().any(|m| mentions_word(rhs, m));
            if derived {
                names.push(name.clone());
            }
        }
        if names.len() == before {
            break;
        }
    }
    (names, lists)
}

/// `t` names `name` as a whole word.
fn mentions_word(t: &str, name: &str) -> bool {
    re::has_word(t, name)
}

/// `t` reads the first element of one of the argument lists (`argv[0]`, `argv.first()`,
/// `argv.get(0)`).
fn first_of(t: &str, lists: &[String]) -> bool {
    lists.iter().any(|l| {
        let l = regex::escape(l);
        re::new(&format!(
            r"\b{l}\s*(?:\[\s*0\s*\]|\.\s*(?:first\s*\(\s*\)|get\s*\(\s*0\s*\)))"
        ))
        .is_ok_and(|re| re.is_match(t))
    })
}
