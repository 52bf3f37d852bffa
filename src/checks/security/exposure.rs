//! SEC026: whole settings objects, environment dumps, DSNs and stack traces written to logs or
//! returned by endpoints.
//!
//! Python shapes: a log call whose argument is a whole settings dump (`settings.dict()`,
//! `settings.model_dump_json()`, `vars(config)`, `os.environ`, `app.config`, the settings
//! object itself); a loop over such a dump that logs each value; a route handler (or an
//! exception handler) that returns a dump or `traceback.format_exc()`; a DSN "masked" with
//! `url.replace(password, "***")` (the URL holds the password percent-encoded, or not at all
//! when it is overridden, and the original leaks); a dump filtered by a denylist of key names
//! (`exclude={...}`, `if "api" not in k`) that names no secret/password word or no key/token
//! word. Named secrets in single log lines are SEC025's.
//! Rust shape: `#[derive(Debug)]` on a settings/config struct with a password, secret, token,
//! key or database URL field held as a plain type: every `{:?}`, `#[instrument]` span and
//! error report prints it.

use crate::checks::py::{expr_name, keyword_arg, positional_arg, visit};
use crate::checks::{FileContext, Hit};
use crate::model::facts::python::{text, PyFacts};
use crate::model::facts::Facts;
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

/// Names of settings objects.
static SETTINGS: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)^_*(?:settings|\w+_settings|settings_\w+|config|app_config|\w+_config|conf|cfg|configuration|environ|env_settings|env_vars)$")
        .expect("static regex")
});

/// Settings names that are dumped by logging the object itself.
static SETTINGS_OBJECT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)^_*(?:settings|app_settings|env_settings|admin_settings|global_settings|server_settings|app_config|configuration)$")
        .expect("static regex")
});

static DUMP_METHOD: &[&str] = &[
    "dict",
    "model_dump",
    "model_dump_json",
    "json",
    "to_dict",
    "as_dict",
    "dump",
    "copy",
    "items",
];

static SECRET_WORDS: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"(?i)secret|passw|pwd|credential").expect("static regex"));
static KEY_WORDS: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"(?i)key|token|api").expect("static regex"));

/// What a denylist of key names fails to cover, if anything.
fn denylist_gap(list: &str) -> Option<&'static str> {
    match (SECRET_WORDS.is_match(list), KEY_WORDS.is_match(list)) {
        (true, true) => None,
        (false, true) => Some("passwords and secrets"),
        (true, false) => Some("API keys and tokens"),
        (false, false) => Some("passwords, secrets, API keys and tokens"),
    }
}

pub fn config_leak(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    match ctx.facts {
        Facts::Python(f) => python(ctx, f, out),
        Facts::Rust(_) => rust_debug_settings(ctx, out),
        _ => {}
    }
}

/// A whole-settings dump: `(node, what, denylist text)`.
fn dump<'t>(n: Node<'t>, src: &str) -> Option<(Node<'t>, String, Option<String>)> {
    let t = text(n, src);
    match n.kind() {
        "attribute" => {
            if t == "os.environ"
                || t.ends_with(".__dict__") && {
                    let obj = n.child_by_field_name("object")?;
                    receiver_is_settings(obj, src)
                }
            {
                return Some((n, t.to_string(), None));
            }
            if matches!(t, "app.config" | "current_app.config" | "self.app.config")
                && !one_key_read(n, src)
            {
                return Some((n, t.to_string(), None));
            }
            None
        }
        "identifier" => SETTINGS_OBJECT
            .is_match(t)
            .then(|| (n, t.to_string(), None)),
        "call" => {
            let func = n.child_by_field_name("function")?;
            let args = n.child_by_field_name("arguments")?;
            match func.kind() {
                "identifier" => {
                    let f = text(func, src);
                    if !matches!(f, "vars" | "dict" | "asdict" | "pformat" | "str" | "repr") {
                        return None;
                    }
                    let a = positional_arg(args, 0)?;
                    if f == "dict" || f == "str" || f == "repr" {
                        return dump(a, src).map(|(_, w, d)| (n, w, d));
                    }
                    receiver_is_settings(a, src).then(|| (n, t.to_string(), None))
                }
                "attribute" => {
                    let m = text(func.child_by_field_name("attribute")?, src);
                    let obj = func.child_by_field_name("object")?;
                    if !DUMP_METHOD.contains(&m) {
                        return None;
                    }
                    let ot = text(obj, src);
                    let settings = receiver_is_settings(obj, src)
                        || matches!(ot, "os.environ" | "app.config" | "current_app.config");
                    if !settings || keyword_arg(args, "include", src).is_some() {
                        return None;
                    }
                    let deny = keyword_arg(args, "exclude", src).map(|e| text(e, src).to_string());
                    Some((n, t.to_string(), deny))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// `config["OIDC_LOGOUT_URL"]` or `config.get("KEY")`: one named setting is read from the
/// mapping, not the mapping itself (the rule's other checks judge that value on its own).
fn one_key_read(n: Node<'_>, src: &str) -> bool {
    let Some(p) = n.parent() else {
        return false;
    };
    // The key read: `config["X"]`, `config[Keys.X]`, `config.get("X")`.
    let key = match p.kind() {
        "subscript"
            if p.child_by_field_name("value")
                .is_some_and(|v| v.id() == n.id()) =>
        {
            p.child_by_field_name("subscript")
        }
        "attribute"
            if p.child_by_field_name("object")
                .is_some_and(|o| o.id() == n.id())
                && p.child_by_field_name("attribute")
                    .is_some_and(|a| text(a, src) == "get") =>
        {
            p.parent()
                .filter(|c| c.kind() == "call")
                .and_then(|c| c.child_by_field_name("arguments"))
                .and_then(|a| a.named_child(0))
        }
        _ => None,
    };
    // A key that names a secret or a connection string is still a leak of that value.
    key.is_some_and(|k| {
        let name = text(k, src).rsplit('.').next().unwrap_or("");
        !SECRET_KEY_NAME.is_match(name.trim_matches(|c| c == '"' || c == '\''))
    })
}

static SECRET_KEY_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"(?i)secret|passw|token|credential|private|dsn|database|(^|_)(api_?)?keys?($|_)|(^|_)uri$",
    )
    .expect("static regex")
});

fn snip(s: &str) -> String {
    crate::checks::py::snippet(s)
}

fn receiver_is_settings(n: Node<'_>, src: &str) -> bool {
    let t = text(n, src);
    if t == "os.environ" || t == "self" {
        return t == "os.environ";
    }
    expr_name(n, src).is_some_and(|name| SETTINGS.is_match(&name))
}

fn python(ctx: &FileContext<'_>, facts: &PyFacts, out: &mut Vec<Hit>) {
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let mut reported = std::collections::HashSet::new();
    let mut push = |out: &mut Vec<Hit>, n: Node<'_>, what: String, sink: &str| {
        if reported.insert(n.start_byte()) {
            out.push(
                Hit::new(n.start_byte(), n.end_byte())
                    .var("what", what)
                    .var("sink", sink.to_string()),
            );
        }
    };
    visit(root, |n| {
        match n.kind() {
            "call" => {
                if crate::checks::security::logging::is_logger_call(n, src) {
                    if let Some((what, gap)) = logged_dump(n, src) {
                        match gap {
                            Some(g) => push(
                                out,
                                n,
                                format!("`{}` (its denylist misses {g})", snip(&what)),
                                "the log",
                            ),
                            None => push(out, n, format!("`{}`", snip(&what)), "the log"),
                        }
                    }
                }
                if let Some(what) = masked_by_replace(n, src) {
                    push(
                        out,
                        n,
                        what,
                        "its \"masked\" copy whenever the URL spells it differently (percent-encoded, overridden, empty)",
                    );
                }
            }
            "for_statement" => {
                if let Some((log, what)) = loop_logging_dump(n, src) {
                    push(out, log, what, "the log");
                }
                if let Some((at, gap)) = denylisted_export(facts, n, src) {
                    push(
                        out,
                        at,
                        format!("every setting but a denylist that misses {gap}"),
                        "this export",
                    );
                }
            }
            "return_statement" => {
                if let Some(what) = returned_leak(facts, n, src) {
                    push(out, n, what, "the response");
                }
            }
            _ => {}
        }
        true
    });
}

/// A log call writing a settings dump: what, and the gap of its denylist if it has one.
fn logged_dump(call: Node<'_>, src: &str) -> Option<(String, Option<&'static str>)> {
    let args = call.child_by_field_name("arguments")?;
    let mut found = None;
    visit(args, |c| {
        if found.is_some() {
            return false;
        }
        if let Some((_, what, deny)) = dump(c, src) {
            // The settings object named inside an f-string or passed whole.
            let direct = c.kind() != "identifier"
                || c.parent()
                    .is_some_and(|p| matches!(p.kind(), "argument_list" | "interpolation"));
            if direct {
                match deny {
                    Some(d) => {
                        if let Some(gap) = denylist_gap(&d) {
                            found = Some((what, Some(gap)));
                        }
                        return false;
                    }
                    None => found = Some((what, None)),
                }
            }
            return false;
        }
        true
    });
    found
}

/// `for k, v in settings.dict().items(): logger.debug(f"{k}: {v}")`.
fn loop_logging_dump<'t>(n: Node<'t>, src: &str) -> Option<(Node<'t>, String)> {
    let right = n.child_by_field_name("right")?;
    let left = n.child_by_field_name("left")?;
    let body = n.child_by_field_name("body")?;
    // `x.items()` of a dump, or a dump itself.
    let iterated = match dump(right, src) {
        Some((_, w, deny)) => {
            if deny.as_deref().and_then(denylist_gap).is_none() && deny.is_some() {
                return None;
            }
            w
        }
        None => {
            let func = right.child_by_field_name("function")?;
            let obj = func.child_by_field_name("object")?;
            if text(func.child_by_field_name("attribute")?, src) != "items" {
                return None;
            }
            dump(obj, src)?.1
        }
    };
    // The loop's value variable (last name of `k, v`).
    let mut names = Vec::new();
    visit(left, |c| {
        if c.kind() == "identifier" {
            names.push(text(c, src).to_string());
        }
        true
    });
    let value = names.last()?.clone();
    // A filter of secret names inside the loop (`if "key" in k: continue`, a masking call).
    let mut filtered = false;
    visit(body, |c| {
        if c.kind() == "if_statement" || c.kind() == "conditional_expression" {
            let cond = c
                .child_by_field_name("condition")
                .or_else(|| c.named_child(1))
                .map_or("", |x| text(x, src));
            if SECRET_WORDS.is_match(cond) || KEY_WORDS.is_match(cond) {
                filtered = true;
            }
        }
        if c.kind() == "call" {
            let f = c
                .child_by_field_name("function")
                .map_or("", |f| text(f, src));
            if f.contains("mask") || f.contains("redact") || f.contains("sanitiz") {
                filtered = true;
            }
        }
        !filtered
    });
    if filtered {
        return None;
    }
    let mut log = None;
    visit(body, |c| {
        if log.is_some() {
            return false;
        }
        if c.kind() == "call"
            && crate::checks::security::logging::is_logger_call(c, src)
            && c.child_by_field_name("arguments")
                .is_some_and(|a| logs_whole_value(text(a, src), &value))
        {
            log = Some(c);
        }
        true
    });
    log.map(|l| (l, format!("every value of `{}`", snip(&iterated))))
}

/// The log arguments use the loop's value other than through one named, non-secret field
/// (`settings["type"]` logs the adapter's type, not the settings).
fn logs_whole_value(args: &str, value: &str) -> bool {
    let v = regex::escape(value);
    let Ok(field) = re::new(&format!(
        r#"\b{v}(?:\[\s*["'](\w+)["']\s*\]|\.get\(\s*["'](\w+)["'][^)]*\))"#
    )) else {
        return true;
    };
    let rest = field.replace_all(args, |c: &regex::Captures<'_>| {
        let key = c.get(1).or(c.get(2)).map_or("", |m| m.as_str());
        if SECRET_WORDS.is_match(key) || KEY_WORDS.is_match(key) {
            c[0].to_string()
        } else {
            String::new()
        }
    });
    re::has_word(&rest, value)
}

/// `dsn.replace(password, "***")`.
fn masked_by_replace(call: Node<'_>, src: &str) -> Option<String> {
    let func = call.child_by_field_name("function")?;
    if func.kind() != "attribute" || text(func.child_by_field_name("attribute")?, src) != "replace"
    {
        return None;
    }
    let args = call.child_by_field_name("arguments")?;
    let what = positional_arg(args, 0)?;
    let with = positional_arg(args, 1)?;
    if with.kind() != "string" {
        return None;
    }
    let name = expr_name(what, src)?;
    static PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)(?:^|_)(?:password|passwd|pwd|pass)$").expect("static regex")
    });
    if !PASSWORD.is_match(&name) || what.kind() == "string" {
        return None;
    }
    let recv = func.child_by_field_name("object")?;
    let recv_t = text(recv, src);
    // Only a URL or DSN spells the password its own way (percent-encoded); a command line
    // built with the password verbatim (`p={password}`) holds exactly the replaced text.
    static URL_LIKE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)ur[il]|dsn|conn|database|db_|_db\b|^db\b|engine").expect("static regex")
    });
    if !URL_LIKE.is_match(recv_t) {
        return None;
    }
    Some(format!("the password in `{}`", snip(recv_t)))
}

/// A dict built from `self.__dict__`/a settings dump with a denylist filter on the key, in a
/// settings class or over a settings object, and returned: the denylist's gap.
fn denylisted_export<'t>(
    facts: &PyFacts,
    n: Node<'t>,
    src: &str,
) -> Option<(Node<'t>, &'static str)> {
    let right = n.child_by_field_name("right")?;
    let rt = text(right, src);
    let f = facts.function_at(n.start_byte())?;
    static CONFIG_CLASS: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?i)config|settings").expect("static regex"));
    let in_settings_class = || f.class.as_deref().is_some_and(|c| CONFIG_CLASS.is_match(c));
    let over_self = rt.starts_with("self.__dict__") || rt.starts_with("vars(self)");
    let over_dump = || {
        right
            .child_by_field_name("function")
            .and_then(|func| func.child_by_field_name("object"))
            .and_then(|o| dump(o, src))
            .is_some()
    };
    if !((over_self && in_settings_class()) || over_dump()) {
        return None;
    }
    let body = n.child_by_field_name("body")?;
    let mut c = body.walk();
    let first = body.named_children(&mut c).next()?;
    if first.kind() != "if_statement" {
        return None;
    }
    let cond = first.child_by_field_name("condition")?;
    let ct = text(cond, src);
    // A denylist: names excluded by `not in`, `!=`, `not ...startswith`.
    if !(ct.contains("not in") || ct.contains("!=") || ct.contains("not ")) {
        return None;
    }
    // The filtered dict is returned.
    let cons = text(first.child_by_field_name("consequence")?, src);
    let target = cons.split('[').next()?.trim();
    if target.is_empty() || !target.chars().all(|c| c.is_alphanumeric() || c == '_') {
        return None;
    }
    let fbody = src.get(f.body.0..f.body.1)?;
    if !fbody.contains(&format!("return {target}")) {
        return None;
    }
    let gap = denylist_gap(ct)?;
    Some((cond, gap))
}

/// A route or exception handler returning settings, the environment or a stack trace.
fn returned_leak(facts: &PyFacts, ret: Node<'_>, src: &str) -> Option<String> {
    let f = facts.function_at(ret.start_byte())?;
    let fi = facts.functions.iter().position(|g| std::ptr::eq(g, f))?;
    let is_route = facts.routes.iter().any(|r| r.function == fi);
    let is_error_handler = f
        .decorators
        .iter()
        .any(|d| d.text.contains("exception_handler") || d.text.contains("errorhandler"));
    if !is_route && !is_error_handler {
        return None;
    }
    let value = ret.named_child(0)?;
    let vt = text(value, src);
    if vt.contains("format_exc(") || vt.contains("format_exception(") || vt.contains("format_tb(") {
        return Some("the stack trace".to_string());
    }
    if !is_route {
        return None;
    }
    let mut found = None;
    visit(value, |c| {
        if found.is_some() {
            return false;
        }
        if let Some((_, what, deny)) = dump(c, src) {
            // A bare settings name counts only as a whole value, not as `settings.name`.
            let direct = c.kind() != "identifier"
                || c.parent().is_some_and(|p| {
                    matches!(
                        p.kind(),
                        "argument_list"
                            | "interpolation"
                            | "return_statement"
                            | "pair"
                            | "keyword_argument"
                            | "list"
                            | "tuple"
                    )
                });
            if direct
                && global_settings(facts, c, src)
                && deny.as_deref().is_none_or(|d| denylist_gap(d).is_some())
            {
                found = Some(format!("`{}`", snip(&what)));
            }
            return false;
        }
        true
    });
    found
}

/// The application's settings (imported, or `get_settings()`), not a local record of a
/// user's preferences.
fn global_settings(facts: &PyFacts, n: Node<'_>, src: &str) -> bool {
    let t = text(n, src);
    if t.contains("os.environ") || t.contains("app.config") {
        return true;
    }
    let root: String = t
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let rest = &t[root.len()..];
    facts.imports.contains_key(&root)
        || (root == "get_settings" && rest.starts_with('('))
        || ((root == "vars" || root == "dict") && {
            let inner: String = rest
                .trim_start_matches('(')
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            facts.imports.contains_key(&inner)
        })
}

/// `#[derive(Debug)]` on a settings struct holding a secret in a plain field.
fn rust_debug_settings(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    static STRUCT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)(?:settings|config|configuration|credentials|secrets)$")
            .expect("static regex")
    });
    static FIELD: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)^(?:\w+_)?(?:password|passwd|secret|api_key|private_key|token|db_uri|db_url|database_uri|database_url|dsn|connection_string)$")
            .expect("static regex")
    });
    // Plain types print their value; a newtype may redact its own `Debug`.
    static PLAIN: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(?:Option<\s*)?(?:String|&(?:'\w+\s+)?str|Box<str>|(?:url::)?Url)(?:\s*>)?$")
            .expect("static regex")
    });
    let src = ctx.file.text.as_str();
    // Generated code (API client models) is fixed in its generator.
    if src.lines().take(5).any(|l| l.contains("@generated")) {
        return;
    }
    crate::checks::rust::each_node(ctx.tree.root_node(), &["struct_item"], |s| {
        let Some(name) = s.child_by_field_name("name").map(|n| text(n, src)) else {
            return;
        };
        if !STRUCT.is_match(name) || crate::checks::rust::in_test_code(s, src) {
            return;
        }
        let mut prev = s.prev_named_sibling();
        let mut derive = None;
        while let Some(p) = prev {
            if p.kind() != "attribute_item" {
                break;
            }
            let t = text(p, src);
            let debug = t
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|w| w == "Debug");
            if t.contains("derive(") && debug {
                derive = Some(p);
            }
            prev = p.prev_named_sibling();
        }
        let Some(derive) = derive else {
            return;
        };
        let mut secret = None;
        crate::checks::rust::each_node(s, &["field_declaration"], |f| {
            let (Some(n), Some(ty)) =
                (f.child_by_field_name("name"), f.child_by_field_name("type"))
            else {
                return;
            };
            if secret.is_none()
                && FIELD.is_match(text(n, src))
                && PLAIN.is_match(text(ty, src).trim())
            {
                secret = Some(text(n, src).to_string());
            }
        });
        if let Some(field) = secret {
            let _ = derive;
            // Whether anything prints it is decided in other files: the pattern alone.
            out.push(
                Hit::new(s.start_byte(), s.end_byte())
                    .var("what", format!("`{name}.{field}`"))
                    .var("sink", "every `{:?}` print of it".to_string())
                    .confidence(crate::checks::Confidence::Low),
            );
        }
    });
}
