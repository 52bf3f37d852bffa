//! SEC025: personal data or a secret written to a log line.
//!
//! A call is a log call when it is a level method (`info`, `warning`, `exception`, ...) on
//! something named like a logger (`logger`, `log`, `logging`, `self.log`,
//! `current_app.logger`, `structlog.get_logger()`), or `print` in a file of a web
//! application. Every value it writes is looked at: the f-string interpolations of the
//! message, `%` and `.format` arguments, further positional arguments, keyword arguments
//! (structlog key-values) and the entries of `extra={...}`. A value is sensitive when the
//! last word of its name says so (`user.email`, `phone_number`, `password`, `api_key`,
//! `access_token`, `card_number`, `ssn`, `request.headers`), and not when a word before it
//! says the value was masked (`hashed_password`, `masked_email`), when a call masks, hashes
//! or counts it (`mask_email(email)`, `len(tokens)`), or when it is a literal or an
//! upper-case module constant bound to one (`LICENSE_ENV = "APP_LICENSE_KEY"`). An ACME
//! challenge `token` in a function that writes it into a DNS TXT record is public by design.

use crate::checks::py::{expr_name, facts, module_assignments, visit};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::python::text;
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;
use tree_sitter::Node;

const LOG_METHODS: &[&str] = &[
    "debug",
    "info",
    "warning",
    "warn",
    "error",
    "exception",
    "critical",
    "fatal",
    "log",
    "msg",
];

/// Receivers that are loggers: `logger`, `log`, `_log`, `LOGGER`, `audit_logger`,
/// `logging`, `structlog`, `app.logger`, `self.log`.
static LOGGER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(?:^|[._])(?:log|logger|logging|structlog|log_?)$|(?:get_?logger|getLogger)\([^)]*\)$")
        .expect("static regex")
});

/// Frameworks whose presence makes `print` a log line (its output goes to the server log).
const WEB: &[&str] = &[
    "flask",
    "fastapi",
    "starlette",
    "django",
    "rest_framework",
    "aiohttp",
    "sanic",
    "litestar",
    "quart",
    "tornado",
    "falcon",
];

/// What a name's words say about its value, or `None`.
fn classify(name: &str) -> Option<(&'static str, Confidence)> {
    let words = split_words(name);
    let n = words.len();
    if n == 0 {
        return None;
    }
    // A word before the last that says the value was transformed or is about the value.
    const SAFE_PREFIX: &[&str] = &[
        "hashed",
        "hash",
        "masked",
        "mask",
        "redacted",
        "encrypted",
        "obfuscated",
        "truncated",
        "has",
        "is",
        "num",
        "n",
        "len",
        "count",
        "invalid",
        "fake",
        "dummy",
        "test",
        "example",
        "sample",
        "default",
        "placeholder",
        "next",
        "page",
        "csrf",
        "xsrf",
        "pagination",
        "cursor",
        "continuation",
        "type",
        "kind",
    ];
    if words[..n - 1]
        .iter()
        .any(|w| SAFE_PREFIX.contains(&w.as_str()))
    {
        return None;
    }
    let last = words[n - 1].as_str();
    let prev = if n >= 2 { words[n - 2].as_str() } else { "" };
    // Personal data: medium only where the caller's own input is logged (decided by the
    // check); secrets are medium everywhere.
    let pii = Confidence::Low;
    let secret = Confidence::Medium;
    Some(match (prev, last) {
        (_, "email" | "emails") | ("e", "mail") | ("email", "address") => ("an email address", pii),
        (_, "phone" | "msisdn") | ("phone", "number") | ("mobile", "number") | (_, "mobile")
            if !matches!(prev, "is") =>
        {
            ("a phone number", pii)
        }
        (
            "street" | "home" | "postal" | "billing" | "shipping" | "mailing" | "residential",
            "address",
        ) => ("a postal address", pii),
        ("full" | "first" | "last" | "given" | "family" | "legal" | "display", "name")
        | (_, "surname" | "firstname" | "lastname") => ("a person's name", pii),
        (_, "password" | "passwd" | "passphrase") => ("a password", secret),
        (
            "client" | "app" | "api" | "webhook" | "signing" | "shared" | "jwt" | "secret",
            "secret",
        )
        | ("", "secret") => ("a secret", secret),
        ("api" | "access" | "secret" | "private" | "signing" | "license", "key")
        | (_, "apikey") => ("a key", secret),
        (
            "access" | "refresh" | "auth" | "bearer" | "id" | "session" | "api" | "reset"
            | "verification" | "invite" | "magic" | "otp" | "oauth" | "github" | "slack" | "bot"
            | "personal" | "jwt",
            "token",
        )
        | ("", "token" | "jwt" | "otp" | "totp") => ("a token", secret),
        ("oauth" | "csrf" | "expected", "state") => ("an OAuth state value", secret),
        (_, "authorization")
        | ("" | "session" | "auth" | "request", "cookie" | "cookies")
        | ("set", "cookie") => ("credentials", secret),
        ("card" | "cc" | "credit", "number" | "num") | ("credit", "card") | (_, "cvv" | "cvc") => {
            ("a card number", secret)
        }
        (_, "ssn")
        | ("social", "security")
        | ("date", "birth")
        | (_, "dob")
        | ("passport", "number")
        | ("tax", "id")
        | ("national", "id") => ("a government identifier", secret),
        ("ip" | "remote" | "client", "address" | "addr")
        | ("client" | "remote" | "user" | "source", "ip")
        | ("", "ip") => ("an IP address", Confidence::Low),
        _ => return None,
    })
}

/// `userEmail` → [user, email]; `user_email` → [user, email]; `X-Api-Key` → [x, api, key].
fn split_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in name.chars() {
        if ch == '_' || ch == '-' || ch == ' ' || ch == '.' {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if ch.is_uppercase() && prev_lower && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = ch.is_lowercase() || ch.is_ascii_digit();
        cur.extend(ch.to_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Calls whose result no longer carries the value (masking, hashing, counting).
static SAFE_CALL: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)mask|redact|hash|anonymi|obfuscat|scrub|sanitiz|censor|truncat|^len$|count|^bool$|^type$|domain|digest|encrypt|last_?4|suffix|prefix|partial|hint|^id$|exists|verified|valid")
        .expect("static regex")
});

/// Sensitive description of a logged value, or `None`.
fn sensitive(node: Node<'_>, src: &str) -> Option<(&'static str, Confidence)> {
    let mut node = node;
    for _ in 0..16 {
        match node.kind() {
            "string" | "integer" | "float" | "true" | "false" | "none" | "concatenated_string" => {
                return None
            }
            "parenthesized_expression" | "await" => node = node.named_child(0)?,
            // `card_number[-4:]`: a part of the value.
            "subscript"
                if node
                    .child_by_field_name("subscript")
                    .is_some_and(|s| s.kind() == "slice") =>
            {
                return None
            }
            "call" => {
                let func = node.child_by_field_name("function")?;
                let fname = match func.kind() {
                    "attribute" => text(func.child_by_field_name("attribute")?, src),
                    _ => text(func, src),
                };
                if SAFE_CALL.is_match(fname) {
                    return None;
                }
                // `str(x)`, `repr(x)`, `x.lower()`, `x.strip()`: still the value.
                if matches!(fname, "str" | "repr" | "format" | "f") {
                    node = node.child_by_field_name("arguments")?.named_child(0)?;
                    continue;
                }
                if func.kind() == "attribute"
                    && matches!(fname, "lower" | "upper" | "strip" | "decode" | "encode")
                {
                    node = func.child_by_field_name("object")?;
                    continue;
                }
                // `dict(request.headers)`
                if fname == "dict" {
                    node = node.child_by_field_name("arguments")?.named_child(0)?;
                    continue;
                }
                break;
            }
            _ => break,
        }
    }
    // Request headers and cookies as a whole carry Authorization and session cookies.
    if node.kind() == "attribute" {
        if let Some(obj) = node.child_by_field_name("object") {
            let o = text(obj, src);
            let a = node
                .child_by_field_name("attribute")
                .map_or("", |a| text(a, src));
            if matches!(o, "request" | "req" | "self.request" | "flask.request")
                && matches!(a, "headers" | "cookies" | "COOKIES" | "META")
            {
                return Some((
                    "the request's headers (Authorization, cookies)",
                    Confidence::Medium,
                ));
            }
            // `oauth_manager.state`, `self.oauth.state`: the anti-CSRF value of an OAuth flow.
            if a == "state" && o.to_ascii_lowercase().contains("oauth") {
                return Some(("an OAuth state value", Confidence::Medium));
            }
        }
    }
    let name = expr_name(node, src)?;
    classify(&name)
}

/// The values a log call writes: interpolations, format arguments, extra positional and
/// keyword arguments. Keyword arguments come with their key (structlog).
fn logged_values<'t>(args: Node<'t>, src: &str, out: &mut Vec<(Option<String>, Node<'t>)>) {
    let mut c = args.walk();
    for (i, a) in args.named_children(&mut c).enumerate() {
        match a.kind() {
            "keyword_argument" => {
                let key = a.child_by_field_name("name").map_or("", |n| text(n, src));
                let Some(v) = a.child_by_field_name("value") else {
                    continue;
                };
                match key {
                    "exc_info" | "stack_info" | "stacklevel" | "level" => {}
                    "extra" => {
                        if v.kind() == "dictionary" {
                            let mut dc = v.walk();
                            for pair in v.named_children(&mut dc) {
                                if pair.kind() != "pair" {
                                    continue;
                                }
                                let k = pair.child_by_field_name("key");
                                let key = k
                                    .filter(|k| k.kind() == "string")
                                    .map(|k| text(k, src).trim_matches(['"', '\'']).to_string());
                                if let Some(val) = pair.child_by_field_name("value") {
                                    out.push((key, val));
                                }
                            }
                        }
                    }
                    _ => out.push((Some(key.to_string()), v)),
                }
            }
            "string" => interpolations(a, out),
            "binary_operator" => {
                let op = a
                    .child_by_field_name("operator")
                    .map_or("", |o| text(o, src));
                let left = a.child_by_field_name("left");
                let right = a.child_by_field_name("right");
                if op == "%" && left.is_some_and(|l| l.kind() == "string") {
                    if let Some(r) = right {
                        match r.kind() {
                            "tuple" | "parenthesized_expression" => {
                                let mut rc = r.walk();
                                for e in r.named_children(&mut rc) {
                                    out.push((None, e));
                                }
                            }
                            _ => out.push((None, r)),
                        }
                    }
                } else if op == "+" {
                    // "user " + email
                    let mut stack = vec![a];
                    while let Some(n) = stack.pop() {
                        if n.kind() == "binary_operator" {
                            stack.extend(n.child_by_field_name("left"));
                            stack.extend(n.child_by_field_name("right"));
                        } else if n.kind() == "string" {
                            interpolations(n, out);
                        } else {
                            out.push((None, n));
                        }
                    }
                }
            }
            "call" => {
                // "...".format(email=email, ...)
                let func = a.child_by_field_name("function");
                let is_format = func.is_some_and(|f| {
                    f.kind() == "attribute"
                        && f.child_by_field_name("object")
                            .is_some_and(|o| o.kind() == "string")
                        && f.child_by_field_name("attribute")
                            .is_some_and(|m| text(m, src) == "format")
                });
                if is_format {
                    if let Some(fa) = a.child_by_field_name("arguments") {
                        let mut fc = fa.walk();
                        for e in fa.named_children(&mut fc) {
                            if e.kind() == "keyword_argument" {
                                if let Some(v) = e.child_by_field_name("value") {
                                    out.push((None, v));
                                }
                            } else {
                                out.push((None, e));
                            }
                        }
                    }
                } else if i > 0 {
                    out.push((None, a));
                }
            }
            _ if i > 0 => out.push((None, a)),
            _ => {}
        }
    }
}

/// Exceptions that say a presented credential was rejected.
static REJECTED: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)signature|expired|invalid|decode|malformed|notregistered|doesnotexist|noresultfound|notfound|unknown")
        .expect("static regex")
});

/// Whether `call` sits in an `except` branch that caught a rejected credential.
fn rejected_credential(call: Node<'_>, src: &str) -> bool {
    let mut p = call.parent();
    while let Some(n) = p {
        match n.kind() {
            "except_clause" => {
                let caught = n.child_by_field_name("value").or_else(|| n.named_child(0));
                return caught
                    .is_some_and(|c| c.kind() != "block" && REJECTED.is_match(text(c, src)));
            }
            "function_definition" | "class_definition" | "lambda" => return false,
            _ => p = n.parent(),
        }
    }
    false
}

/// The first identifier of an expression: `body` of `body.email`, `payload` of
/// `payload["email"]`.
fn root_name<'s>(node: Node<'_>, src: &'s str) -> &'s str {
    let mut node = node;
    for _ in 0..32 {
        let next = match node.kind() {
            "attribute" => node.child_by_field_name("object"),
            "subscript" => node.child_by_field_name("value"),
            "call" => node.child_by_field_name("function"),
            "identifier" => return text(node, src),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => break,
        }
    }
    ""
}

fn interpolations<'t>(s: Node<'t>, out: &mut Vec<(Option<String>, Node<'t>)>) {
    let mut c = s.walk();
    for ch in s.named_children(&mut c) {
        if ch.kind() == "interpolation" {
            if let Some(e) = ch.named_child(0) {
                out.push((None, e));
            }
        }
    }
}

/// SEC025: personal data or a secret written to a log line.
pub fn sensitive_data_logged(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let web = facts
        .imports
        .values()
        .any(|q| WEB.contains(&q.split('.').next().unwrap_or("")));
    // Route handlers: `print` there goes to the server log, and their parameters are the
    // caller's input.
    let handlers: Vec<&crate::model::facts::python::PyFunction> = facts
        .routes
        .iter()
        .filter_map(|r| facts.functions.get(r.function))
        .collect();
    let handler_at = |pos: usize| {
        handlers
            .iter()
            .find(|f| f.start <= pos && pos < f.end)
            .copied()
    };
    // Functions that run for every request: handlers, request hooks and middleware, and
    // functions handed the request.
    let per_request = |pos: usize| {
        facts
            .functions
            .iter()
            .filter(|f| f.start <= pos && pos < f.end)
            .find(|f| {
                handlers.iter().any(|h| std::ptr::eq(*h, *f))
                    || f.params
                        .iter()
                        .any(|p| matches!(p.name.as_str(), "request" | "req"))
                    || f.decorators.iter().any(|d| {
                        d.callee.ends_with("before_request")
                            || d.callee.ends_with("after_request")
                            || d.callee.ends_with("before_app_request")
                            || d.callee.ends_with("middleware")
                    })
            })
    };
    // `_ENV_LICENSE_KEY = "APP_LICENSE_KEY"`: an upper-case module constant bound to a plain
    // string is text of the source (the name of a setting, a header), not a secret value.
    let text_constants: HashSet<&str> = module_assignments(ctx.tree.root_node(), src)
        .into_iter()
        .filter(|(_, name, value)| {
            name.chars().any(|c| c.is_ascii_uppercase())
                && !name.chars().any(|c| c.is_ascii_lowercase())
                && value.kind() == "string"
                && !text(*value, src).contains('{')
        })
        .map(|(_, name, _)| name)
        .collect();
    visit(ctx.tree.root_node(), |n| {
        if n.kind() != "call" {
            return true;
        }
        let Some(func) = n.child_by_field_name("function") else {
            return true;
        };
        let is_log = match func.kind() {
            "attribute" => is_logger_call(n, src),
            "identifier" => {
                web && text(func, src) == "print" && handler_at(n.start_byte()).is_some()
            }
            _ => false,
        };
        if !is_log {
            return true;
        }
        let Some(args) = n.child_by_field_name("arguments") else {
            return true;
        };
        let mut values = Vec::new();
        logged_values(args, src, &mut values);
        for (key, v) in values {
            if v.kind() == "identifier" && text_constants.contains(text(v, src)) {
                continue;
            }
            let what = sensitive(v, src).or_else(|| {
                // structlog `email=...`/extra `{"email": ...}`: the key names the value,
                // unless the value is a literal or visibly masked.
                let k = key.as_deref()?;
                let c = classify(k)?;
                let masked = v.kind() == "call"
                    && v.child_by_field_name("function").is_some_and(|f| {
                        let t = text(f, src);
                        SAFE_CALL.is_match(t.rsplit('.').next().unwrap_or(t))
                    });
                let literal = matches!(
                    v.kind(),
                    "string" | "integer" | "float" | "true" | "false" | "none"
                );
                (!masked && !literal).then_some(c)
            });
            if let Some((what, mut conf)) = what {
                // A token or key logged because it was just rejected (bad signature, expired,
                // unknown) opens nothing.
                if matches!(what, "a token" | "a key" | "a secret") && rejected_credential(n, src) {
                    continue;
                }
                // An ACME challenge value, published in a DNS TXT record for the CA to read.
                if what == "a token" && crate::checks::py::acme_challenge_value(v, src) {
                    continue;
                }
                // An audit event records who did what: identity is its purpose.
                if conf == Confidence::Low || what.starts_with("an email") {
                    let args_text = text(args, src).to_ascii_lowercase();
                    if args_text.contains("audit") && !what.starts_with("an IP") {
                        continue;
                    }
                }
                // `"Sudo attempt to %s from %s", email, current_user`: the account acted on
                // next to the signed-in actor is an audit record of who did what to whom.
                if what.starts_with("an email") && logs_actor(args, v, src) {
                    continue;
                }
                // Personal data the caller sent, logged by the handler that received it.
                if conf == Confidence::Low && !what.starts_with("an IP") {
                    let root = root_name(v, src);
                    if let Some(h) = per_request(n.start_byte()) {
                        // A route handler's parameters are the caller's input; a helper
                        // handed the request gets its other arguments (`team_member`, a
                        // stored row) from its caller's code.
                        let handler = handlers.iter().any(|x| std::ptr::eq(*x, h));
                        if matches!(root, "request" | "req" | "current_user" | "g")
                            || (handler && h.params.iter().any(|p| p.name == root))
                        {
                            conf = Confidence::Medium;
                        }
                    }
                }
                // `token = get_one_token(serial=serial)` then `token.get_multi_otp()`: the
                // name holds an object of the program, and what its repr writes is the
                // class's business, not the secret the name suggests.
                if v.kind() == "identifier"
                    && what == "a token"
                    && object_in_function(n.start_byte(), text(v, src), facts, src)
                {
                    conf = Confidence::Low;
                }
                let mut hit = Hit::new(n.start_byte(), n.end_byte())
                    .var("what", what)
                    .var("value", crate::checks::py::snippet(text(v, src)));
                if conf != Confidence::Medium {
                    hit = hit.confidence(conf);
                }
                out.push(hit);
                break;
            }
        }
        true
    });
}

/// In the function around `at`, a method that no string, bytes, dict or list has is called
/// on `name` (`token.get_multi_otp(..)`): it holds an object.
fn object_in_function(
    at: usize,
    name: &str,
    facts: &crate::model::facts::python::PyFacts,
    src: &str,
) -> bool {
    const BUILTIN_METHODS: &[&str] = &[
        "split",
        "rsplit",
        "strip",
        "lstrip",
        "rstrip",
        "encode",
        "decode",
        "lower",
        "upper",
        "startswith",
        "endswith",
        "replace",
        "format",
        "join",
        "find",
        "index",
        "count",
        "partition",
        "rpartition",
        "splitlines",
        "hex",
        "get",
        "items",
        "keys",
        "values",
        "pop",
        "update",
        "setdefault",
        "copy",
        "append",
        "extend",
        "insert",
        "remove",
        "sort",
        "title",
        "capitalize",
        "casefold",
        "isdigit",
        "isalnum",
        "zfill",
        "ljust",
        "rjust",
    ];
    let Some(f) = facts.function_at(at) else {
        return false;
    };
    let Ok(re) = re::new(&format!(r"\b{}\.(\w+)\(", regex::escape(name))) else {
        return false;
    };
    let body = &src[f.start..f.end];
    let object = re
        .captures_iter(body)
        .any(|c| !BUILTIN_METHODS.contains(&&c[1]));
    object
}

/// Another argument of the log call is the signed-in actor itself (`current_user`,
/// `request.user`, `g.user`), not one of its fields.
fn logs_actor(args: Node<'_>, value: Node<'_>, src: &str) -> bool {
    let mut c = args.walk();
    let items: Vec<Node<'_>> = args.named_children(&mut c).collect();
    items.into_iter().any(|a| {
        a.start_byte() != value.start_byte()
            && matches!(
                text(a, src),
                "current_user" | "request.user" | "g.user" | "flask_login.current_user"
            )
    })
}

/// Whether `call` is `<logger>.<level>(...)`: a method of the logging API on an object
/// named like a logger.
pub(crate) fn is_logger_call(call: Node<'_>, src: &str) -> bool {
    let Some(func) = call
        .child_by_field_name("function")
        .filter(|f| f.kind() == "attribute")
    else {
        return false;
    };
    let method = func
        .child_by_field_name("attribute")
        .map_or("", |m| text(m, src));
    let obj = func
        .child_by_field_name("object")
        .map_or("", |o| text(o, src));
    LOG_METHODS.contains(&method) && LOGGER.is_match(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_classes() {
        assert_eq!(split_words("userEmail"), vec!["user", "email"]);
        assert_eq!(split_words("X-Api-Key"), vec!["x", "api", "key"]);
        assert_eq!(classify("email").map(|c| c.0), Some("an email address"));
        assert_eq!(
            classify("user_email").map(|c| c.0),
            Some("an email address")
        );
        assert_eq!(classify("email_verified"), None);
        assert_eq!(classify("hashed_password"), None);
        assert_eq!(classify("password").map(|c| c.0), Some("a password"));
        assert_eq!(classify("next_page_token"), None);
        assert_eq!(classify("token_count"), None);
        assert_eq!(classify("ip_address").map(|c| c.1), Some(Confidence::Low));
        assert_eq!(classify("name"), None);
        assert_eq!(classify("server_address"), None);
    }
}
