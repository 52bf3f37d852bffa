//! SEC004: a secret the caller supplies compared with `==`/`!=` against a secret in memory.
//!
//! A comparison is a candidate when one side is named like a secret (see the rule's docs)
//! and the other is not a literal. It is then left out when it cannot be a timing oracle:
//! - it is a SQL expression (`Model.token == value` inside `select().where()`, `filter()`,
//!   `filter_by()`, `and_()`/`or_()`), or a side is a class attribute (`Model.api_key`,
//!   `cls.api_key`: a column; `TokenType.client_secret`: an enum member), or a side is a
//!   kind label of an enum-like class (`mode == PollingMode.TOKEN`) or a member of an `Enum`
//!   class of the module (`method == AuthMethod.API_KEY`);
//! - the "secret" is a digest of local data (`hashlib.sha256(x).hexdigest()`), or a side is
//!   a hash (`token_hash`): the caller's value was hashed first, timing shows only hash bytes;
//! - it detects a change (`existing_secret`, `old_token`, `if stored != token: stored = token`),
//!   not an authentication;
//! - a side was already verified: the signed session cookie or server-side session, an
//!   itsdangerous/Django/token-service signer payload or a token passed to its `loads`, a
//!   helper argument that every caller made itself or took from the signed-in principal, a
//!   key that found its record in a lookup checked just before (by the key or by its hash),
//!   a DRF URL kwarg that the view's permission classes authorised;
//! - a side is a sentinel or placeholder constant (`CENSORED`, `FAILED_TO_DECRYPT_PASSWORD`)
//!   or a public site-verification code, or an ACME challenge value (a `token` written into
//!   a DNS TXT record, compared with a TXT answer or uploaded for HTTP-01): the CA reads it
//!   from public DNS;
//! - the "secret" is a string literal of the module (`callback_token = "target=app"`): it is
//!   in the source for anyone to read, so timing reveals nothing (SEC016 judges the literal).
//!
//! What remains is reported with medium confidence when a side comes from the caller
//! (request data, a parameter), low when neither side visibly does (only in files of a web
//! or crypto code base; elsewhere nothing is reported).

use crate::checks::py::{acme_challenge_value, expr_name, facts, module_assignments, visit};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::python::{text, PyFacts, PyFunction};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

/// Names that say "secret" whatever the code base.
static STRICT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)^(?:[a-z0-9]*[_-])*(?:hmac|secret|secret[_-]?key|signing[_-]?key|api[_-]?key|apikey|access[_-]?key|authorization|(?:access|refresh|auth|bearer|csrf|xsrf|reset|session|api|verification|confirmation|invite|magic|webhook|otp|totp)[_-]?token)(?:[_-](?:256|sha256|sha1|sha512|hex|b64|header|value|bytes))?$|(?i)^x-[a-z0-9-]*signature(?:-256)?$|^[a-z][a-zA-Z0-9]*(?:Hmac|Secret|ApiKey|AccessToken|AuthToken|CsrfToken|RefreshToken)$")
        .expect("static regex")
});

/// Names that are secrets in web and crypto code (a lexer has tokens too).
static LOOSE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)^(?:[a-z0-9]*[_-])*(?:signature|hmac|hexdigest|digest|token|secret|secret[_-]?key|signing[_-]?key|api[_-]?key|apikey|access[_-]?key|authorization)(?:[_-](?:256|sha256|sha1|sha512|hex|b64|header|value|bytes))?$|(?i)^(?:[a-z0-9]*[_-])+sig$|^[a-z][a-zA-Z0-9]*(?:Signature|Sig|Hmac|Digest|Token|Secret|ApiKey)$")
        .expect("static regex")
});

/// Literals and literal containers: comparing with them leaks nothing secret.
static LITERAL: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"(?s)^(?:None|True|False|\.\.\.|[-+]?[0-9][0-9a-zA-Z_.]*|[rRbBuU]{0,2}["'].*|len\(.*\)|\[.*\]|\{.*\}|\(\s*\)|\(\s*["'].*\))$"#)
        .expect("static regex")
});

/// Packages whose presence (with the web frameworks) makes `token`, `signature` and
/// `digest` mean secrets.
const CRYPTO: &[&str] = &[
    "hmac",
    "secrets",
    "jwt",
    "jose",
    "itsdangerous",
    "authlib",
    "passlib",
    "cryptography",
    "nacl",
    "oauthlib",
];

/// Calls whose arguments are SQL expressions (SQLAlchemy, SQLModel, Peewee).
const SQL_CALLS: &[&str] = &[
    "where",
    "filter",
    "filter_by",
    "having",
    "and_",
    "or_",
    "not_",
    "join",
    "outerjoin",
    "on_conflict_do_update",
    "case",
];

/// A side that is an attribute of a class: an ORM column (`Model.token`, `cls.api_key`)
/// or an enum member (`TokenType.client_secret`). `Config.SECRET_KEY` (a constant) is not.
fn is_class_attribute(n: Node<'_>, src: &str) -> bool {
    static CLASS: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(?:cls|(?:[A-Za-z_][A-Za-z0-9_]*\.)*[A-Z][A-Za-z0-9_]*)$").expect("static regex")
    });
    split_attribute(n, src).is_some_and(|(obj, attr)| {
        CLASS.is_match(obj) && attr.chars().any(|c| c.is_ascii_lowercase())
    })
}

/// `obj.attr` as its two texts.
fn split_attribute<'s>(n: Node<'_>, src: &'s str) -> Option<(&'s str, &'s str)> {
    if n.kind() != "attribute" {
        return None;
    }
    Some((
        text(n.child_by_field_name("object")?, src),
        text(n.child_by_field_name("attribute")?, src),
    ))
}

/// A member of an enum-like class named after a credential kind (`PollingMode.TOKEN`,
/// `AuthKind.SECRET`): a label that says which kind of check applies, not a credential.
/// A settings holder (`Config.TOKEN`, `Settings.SECRET`) keeps real values and is not one.
fn is_kind_member(n: Node<'_>, src: &str) -> bool {
    static KIND: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(?:TOKEN|SECRET|SIGNATURE|DIGEST|HMAC|OTP)$").expect("static regex")
    });
    static HOLDER: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)conf|setting|env|secret|key|credential|vault").expect("static regex")
    });
    split_attribute(n, src).is_some_and(|(obj, attr)| {
        let class = obj.rsplit('.').next().unwrap_or("");
        class.starts_with(|c: char| c.is_ascii_uppercase())
            && class.chars().any(|c| c.is_ascii_lowercase())
            && !HOLDER.is_match(class)
            && KIND.is_match(attr)
    })
}

/// A member of an `Enum` subclass defined in this module (`AuthMethod.API_KEY` after
/// `class AuthMethod(str, Enum)`): whatever the member is called, its value is a constant
/// label written in the source, not a credential.
fn is_local_enum_member(n: Node<'_>, src: &str, facts: &PyFacts) -> bool {
    static ENUM: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(?:enum\.)?(?:Enum|StrEnum|IntEnum|Flag|IntFlag)$").expect("static regex")
    });
    split_attribute(n, src).is_some_and(|(obj, _)| {
        facts
            .classes
            .iter()
            .any(|c| c.name == obj && c.bases.iter().any(|b| ENUM.is_match(b)))
    })
}

/// The comparison is an argument of a SQL-building call (through boolean operators,
/// parentheses and argument lists).
fn in_sql_expression(n: Node<'_>, src: &str) -> bool {
    let mut cur = n;
    for _ in 0..12 {
        let Some(p) = cur.parent() else {
            return false;
        };
        match p.kind() {
            "boolean_operator"
            | "not_operator"
            | "parenthesized_expression"
            | "argument_list"
            | "keyword_argument"
            | "list"
            | "tuple"
            | "expression_list" => cur = p,
            "call" => {
                let Some(func) = p.child_by_field_name("function") else {
                    return false;
                };
                let callee = text(func, src);
                let last = callee.rsplit('.').next().unwrap_or(callee);
                return SQL_CALLS.contains(&last);
            }
            _ => return false,
        }
    }
    false
}

/// `x.digest()` / `x.hexdigest()` of a plain hash: a digest of local data, not an HMAC.
fn is_plain_digest(n: Node<'_>, src: &str) -> bool {
    if n.kind() != "call" {
        return false;
    }
    let t = text(n, src);
    let method = n
        .child_by_field_name("function")
        .filter(|f| f.kind() == "attribute")
        .and_then(|f| f.child_by_field_name("attribute"))
        .map(|a| text(a, src));
    matches!(method, Some("digest" | "hexdigest")) && !t.to_ascii_lowercase().contains("hmac")
}

/// The identifier an attribute, subscript or method-call chain starts from.
fn root_name<'s>(n: Node<'_>, src: &'s str) -> Option<&'s str> {
    let mut cur = n;
    for _ in 0..32 {
        cur = match cur.kind() {
            "identifier" => return Some(text(cur, src)),
            "attribute" => cur.child_by_field_name("object")?,
            "subscript" => cur.child_by_field_name("value")?,
            "call" => cur.child_by_field_name("function")?,
            "parenthesized_expression" | "await" => cur.named_child(0)?,
            _ => return None,
        };
    }
    None
}

/// What the enclosing function saw before `at`: the text of its body up to there.
struct Scope<'a> {
    func: Option<&'a PyFunction>,
    is_route: bool,
    before: &'a str,
    /// The rest of the function after the comparison.
    after: &'a str,
}

impl<'a> Scope<'a> {
    fn new(facts: &'a PyFacts, src: &'a str, at: usize) -> Scope<'a> {
        let func = facts.function_at(at);
        let is_route = func.is_some_and(|f| {
            facts.routes.iter().any(|r| {
                facts
                    .functions
                    .get(r.function)
                    .is_some_and(|g| std::ptr::eq(g, f))
            })
        });
        let from = func.map_or(0, |f| f.body.0.min(at));
        let to = func.map_or(at, |f| f.body.1.max(at));
        Scope {
            func,
            is_route,
            before: src.get(from..at).unwrap_or(""),
            after: src.get(at..to).unwrap_or(""),
        }
    }

    fn is_param(&self, name: &str) -> bool {
        !matches!(name, "self" | "cls")
            && self
                .func
                .is_some_and(|f| f.params.iter().any(|p| p.name == name))
    }

    /// The value of the last `name = ...` before the comparison (its first lines).
    fn assigned(&self, name: &str) -> Option<&'a str> {
        let re = re::new(&format!(
            r"(?m)^[ \t]*{}[ \t]*(?::[^=\n]*)?=[ \t]*([^=\n][^\n]*(?:\n[^\n]*){{0,3}})",
            regex::escape(name)
        ))
        .ok()?;
        re.captures_iter(self.before)
            .last()
            .and_then(|c| c.get(1))
            .map(|m| m.as_str())
    }
}

static REQUEST: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\brequest\b|\bheaders\b|\bcookies\b|\bMETA\b").expect("static regex")
});

/// Parameter names that hold request data in any function.
const DATA_PARAMS: &[&str] = &[
    "request",
    "req",
    "data",
    "body",
    "payload",
    "form",
    "params",
    "headers",
    "credentials",
    "creds",
    "query",
];

/// The side holds data the caller chose: request data, a parameter, or a name assigned
/// from either.
fn caller_supplied(n: Node<'_>, src: &str, scope: &Scope<'_>) -> bool {
    let t = text(n, src);
    if REQUEST.is_match(t) {
        return true;
    }
    let Some(root) = root_name(n, src) else {
        return false;
    };
    if scope.is_param(root) {
        if !scope.is_route && passed_principal(n, src, scope, root) {
            return false;
        }
        return n.kind() == "identifier" || scope.is_route || DATA_PARAMS.contains(&root);
    }
    if n.kind() != "identifier" {
        return false;
    }
    scope.assigned(root).is_some_and(|rhs| {
        REQUEST.is_match(rhs)
            || scope.func.is_some_and(|f| {
                f.params.iter().any(|p| {
                    !matches!(p.name.as_str(), "self" | "cls") && re::has_word(rhs, &p.name)
                })
            })
    })
}

/// A helper's parameter that every call in this file fills with an attribute of the
/// signed-in principal (`has_access(obj, user.id)`, `current_user.api_key`) or with a local
/// the calling function made itself (`token = banner.get("dismiss_token")`, not request
/// data nor its own parameter): the caller does not choose that value freely.
fn passed_principal(n: Node<'_>, src: &str, scope: &Scope<'_>, param: &str) -> bool {
    static PRINCIPAL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(?:self\.|g\.|request\.)?(?:current_)?(?:user|principal|identity|account)\.\w+$")
            .expect("static regex")
    });
    let Some(f) = scope.func else {
        return false;
    };
    let offset =
        usize::from(f.class.is_some() && f.params.first().is_some_and(|p| p.name == "self"));
    let Some(index) = f.params.iter().position(|p| p.name == param) else {
        return false;
    };
    let Some(index) = index.checked_sub(offset) else {
        return false;
    };
    let mut root = n;
    while let Some(p) = root.parent() {
        root = p;
    }
    let mut calls = 0usize;
    let mut all_server = true;
    visit(root, |c| {
        if c.kind() != "call" || !all_server {
            return all_server;
        }
        let callee = c
            .child_by_field_name("function")
            .map_or("", |x| text(x, src));
        let called = callee.rsplit('.').next().unwrap_or(callee);
        if called != f.name {
            return true;
        }
        let Some(list) = c.child_by_field_name("arguments") else {
            return true;
        };
        let mut w = list.walk();
        let items: Vec<Node<'_>> = list.named_children(&mut w).collect();
        let keyword = items.iter().find_map(|a| {
            (a.kind() == "keyword_argument"
                && a.child_by_field_name("name").map(|k| text(k, src)) == Some(param))
            .then(|| a.child_by_field_name("value"))
            .flatten()
        });
        let positional = items
            .iter()
            .filter(|a| a.kind() != "keyword_argument")
            .nth(index)
            .copied();
        calls += 1;
        all_server = keyword
            .or(positional)
            .is_some_and(|a| PRINCIPAL.is_match(text(a, src)) || server_local(a, src));
        true
    });
    calls > 0 && all_server
}

/// An identifier the enclosing function bound itself, from neither request data, nor a
/// parameter passed through, nor a parameter that holds request data.
fn server_local(arg: Node<'_>, src: &str) -> bool {
    if arg.kind() != "identifier" {
        return false;
    }
    let Some(func) = crate::checks::py::enclosing_function(arg) else {
        return false;
    };
    let name = text(arg, src);
    let params = func
        .child_by_field_name("parameters")
        .map_or("", |p| text(p, src));
    let words: Vec<&str> = params
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    if words.contains(&name) {
        return false;
    }
    let body_start = func
        .child_by_field_name("body")
        .map_or(func.start_byte(), |b| b.start_byte());
    let before = src.get(body_start..arg.start_byte()).unwrap_or("");
    let Ok(assign) = re::new(&format!(
        r"(?m)^[ \t]*{}[ \t]*(?::[^=\n]*)?=[ \t]*([^=\n][^\n]*)",
        regex::escape(name)
    )) else {
        return false;
    };
    let rhs: Vec<&str> = assign
        .captures_iter(before)
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .collect();
    let param_names: Vec<&str> = words
        .into_iter()
        .filter(|w| !matches!(*w, "self" | "cls"))
        .collect();
    // A parameter passed through as it is, or one that holds request data, is the
    // caller's choice; a value computed from other parameters (a banner, a record) is not.
    let mentions_param = |r: &str| {
        let r = r.trim();
        param_names.contains(&r)
            || r.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|w| param_names.contains(&w) && DATA_PARAMS.contains(&w))
    };
    !rhs.is_empty()
        && rhs
            .iter()
            .all(|r| !REQUEST.is_match(r) && !mentions_param(r))
}

/// `if state.get(KEY) != token: state[KEY] = token`: the comparison decides whether to
/// store a new value, it authenticates nothing.
fn stores_on_change(n: Node<'_>, a: Node<'_>, b: Node<'_>, src: &str) -> bool {
    let Some(cond) = n.parent().filter(|p| p.kind() == "if_statement") else {
        return false;
    };
    if cond.child_by_field_name("condition") != Some(n) {
        return false;
    }
    let Some(body) = cond.child_by_field_name("consequence") else {
        return false;
    };
    let mut found = false;
    visit(body, |c| {
        if found {
            return false;
        }
        if c.kind() == "assignment" {
            if let (Some(left), Some(right)) = (
                c.child_by_field_name("left"),
                c.child_by_field_name("right"),
            ) {
                let value = text(right, src);
                let target = root_name(left, src);
                found = [(a, b), (b, a)].iter().any(|(new, old)| {
                    text(*new, src) == value
                        && target.is_some()
                        && root_name(*old, src) == target
                        && left.kind() != "identifier"
                });
            }
        }
        !found
    });
    found
}

/// The side was verified before it got here: the signed session cookie, or a payload a
/// signer (itsdangerous, Django signing, a JWT library) returned.
fn verified(n: Node<'_>, src: &str, scope: &Scope<'_>) -> bool {
    static SESSION: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(?:flask\.|(?:self\.)?request\.)?session(?:\[|\.get\(|\.pop\()")
            .expect("static regex")
    });
    static SIGNED: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)\b(?:\w+\.)*(?:unsign|unsign_object|unserialize)\(|(?:signer|serializer|signing|token_?service|itsdangerous)\w*\.loads\(|\bjwt\.decode\(")
            .expect("static regex")
    });
    let t = text(n, src);
    if SESSION.is_match(t) && !scope.is_param("session") {
        return true;
    }
    let Some(root) = root_name(n, src) else {
        return false;
    };
    // The name was handed to a signer's `loads` before: a forged value never got here.
    if n.kind() == "identifier" && signer_checked(root, scope) {
        return true;
    }
    if scope.is_param(root) {
        return false;
    }
    let signed = |rhs: &str| {
        let rhs = rhs.trim_start();
        (SESSION.is_match(rhs) && !scope.is_param("session")) || SIGNED.is_match(rhs)
    };
    scope.assigned(root).is_some_and(|rhs| {
        // One step back: `user_id = data.get("user_id")` after `data = signer.loads(..)`.
        signed(rhs)
            || root_of_text(rhs)
                .filter(|r| *r != root && !scope.is_param(r))
                .and_then(|r| scope.assigned(r))
                .is_some_and(signed)
    })
}

/// `signer.loads(token)` / `signer.unsign(token)` (itsdangerous, Django signing, a token
/// service) takes `name` as its argument in the same function: the value is a token the
/// server signed, checked there (before the comparison, or right after it, where a forged
/// value is refused and a learnt one is only the token the server issued).
fn signer_checked(name: &str, scope: &Scope<'_>) -> bool {
    re::new(&format!(
        r"(?i)\b\w*(?:signer|serializer|signing|token_?service|itsdangerous)\w*\.(?:loads|unsign)\(\s*{}\s*[,)]",
        regex::escape(name)
    ))
    .is_ok_and(|re| re.is_match(scope.before) || re.is_match(scope.after))
}

/// The identifier a source text starts with (`data` of `data.get("id")`).
fn root_of_text(t: &str) -> Option<&str> {
    let t = t.trim_start();
    let end = t
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(t.len());
    let name = &t[..end];
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())).then_some(name)
}

/// An all-caps constant named as a sentinel or placeholder (`CENSORED`,
/// `FAILED_TO_DECRYPT_PASSWORD`, `REDACTED`): the comparison tells a marker apart, it
/// verifies no secret. Other constants (`ADMIN_TOKEN`, `EXPECTED`) may hold a credential.
fn sentinel_constant(n: Node<'_>, src: &str, scope: &Scope<'_>) -> bool {
    static CAPS: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"^_?[A-Z][A-Z0-9_]*$").expect("static regex"));
    static SENTINEL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?:^|_)(?:CENSORED|REDACTED|PLACEHOLDER|MASK|MASKED|FAILED|INVALID|DUMMY|UNSET|NOT_SET|MISSING|SENTINEL|HIDDEN)(?:_|$)")
            .expect("static regex")
    });
    if n.kind() != "identifier" {
        return false;
    }
    let name = text(n, src);
    CAPS.is_match(name)
        && !scope.is_param(name)
        && scope.assigned(name).is_none()
        && SENTINEL.is_match(name)
}

/// Google/Bing site-verification codes: published in the site's pages, public by design.
fn site_verification(n: Node<'_>, src: &str) -> bool {
    expr_name(n, src).is_some_and(|x| {
        let x = x.to_ascii_lowercase();
        x.ends_with("site_verification") || x.ends_with("site_verification_code")
    })
}

/// `api_key == request.project.api_key_readonly` after `project = lookup(api_key)` and an
/// `if project is None: ...` that rejected unknown keys: the key is already authenticated.
fn matched_by_lookup(key: Node<'_>, other: Node<'_>, src: &str, scope: &Scope<'_>) -> bool {
    if key.kind() != "identifier" {
        return false;
    }
    let key = text(key, src);
    let other = text(other, src);
    let Ok(lookup) = re::new(&format!(
        r"(?m)^[ \t]*(\w+)[ \t]*=[ \t]*(?:await[ \t]+)?[\w.]+\([^\n]*\b{}\b",
        regex::escape(key)
    )) else {
        return false;
    };
    let found = lookup.captures_iter(scope.before).any(|c| {
        let record = &c[1];
        // The record is an object in the other side's chain (`request.project.key`).
        let parts: Vec<&str> = other.split(['.', '[', '(']).collect();
        let segment = record != key
            && parts[..parts.len().saturating_sub(1)]
                .iter()
                .any(|s| s.trim() == record);
        let checked = re::new(&format!(
            r"\bif[ \t]+(?:{r}[ \t]+is[ \t]+None|not[ \t]+{r})[ \t]*:",
            r = regex::escape(record)
        ))
        .is_ok_and(|re| re.is_match(scope.before));
        segment && checked
    });
    found
}

/// `user.token.plaintext() != token` after `token_hash = hash(token)` found `user` in a
/// lookup and `if user is None: return`: the record was found by the key's hash, so the key
/// is already authenticated.
fn matched_by_hash_lookup(key: Node<'_>, other: Node<'_>, src: &str, scope: &Scope<'_>) -> bool {
    if key.kind() != "identifier" {
        return false;
    }
    let key = regex::escape(text(key, src));
    let hashed = re::new(&format!(r"(?i)=[ \t]*[\w.]*hash\w*\([^\n]*\b{key}\b"))
        .is_ok_and(|re| re.is_match(scope.before));
    let Some(record) = root_name(other, src) else {
        return false;
    };
    if other.kind() == "identifier" || record == text(other, src) {
        return false;
    }
    let checked = re::new(&format!(
        r"\bif[ \t]+(?:{r}[ \t]+is[ \t]+None|not[ \t]+{r})[ \t]*:",
        r = regex::escape(record)
    ))
    .is_ok_and(|re| re.is_match(scope.before));
    hashed && checked
}

/// A module-level name bound to a plain string literal and not rebound in the function.
fn module_literal(n: Node<'_>, src: &str, scope: &Scope<'_>) -> bool {
    if n.kind() != "identifier" {
        return false;
    }
    let name = text(n, src);
    if scope.is_param(name) || scope.assigned(name).is_some() {
        return false;
    }
    let mut root = n;
    while let Some(p) = root.parent() {
        root = p;
    }
    module_assignments(root, src)
        .iter()
        .filter(|(_, m, _)| *m == name)
        .all(|(_, _, v)| v.kind() == "string" && !text(*v, src).contains('{'))
        && module_assignments(root, src)
            .iter()
            .any(|(_, m, _)| *m == name)
}

/// Hash-valued: `token_hash`, `get_token_hash(..)`, a name assigned from a hashing call.
fn is_hash(n: Node<'_>, src: &str, scope: &Scope<'_>) -> bool {
    static HASH: LazyLock<Regex> = LazyLock::new(|| re::new(r"(?i)hash$").expect("static regex"));
    static HASH_CALL: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?i)^[\w.]*hash\w*\(").expect("static regex"));
    if expr_name(n, src).is_some_and(|name| HASH.is_match(&name)) {
        return true;
    }
    n.kind() == "identifier"
        && scope.assigned(text(n, src)).is_some_and(|rhs| {
            let rhs = rhs.trim_start();
            HASH_CALL.is_match(rhs) && !rhs.to_ascii_lowercase().contains("hmac")
        })
}

pub fn non_constant_time_compare(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let web_or_crypto = CRYPTO
        .iter()
        .chain(crate::checks::py::WEB_FRAMEWORKS)
        .any(|p| facts.imports_package(p));
    visit(ctx.tree.root_node(), |n| {
        if n.kind() == "comparison_operator" {
            if let Some(hit) = judge(n, src, facts, web_or_crypto) {
                out.push(hit);
            }
        }
        true
    });
}

fn judge(n: Node<'_>, src: &str, facts: &PyFacts, web_or_crypto: bool) -> Option<Hit> {
    let mut c = n.walk();
    let children: Vec<Node<'_>> = n.children(&mut c).collect();
    let [a, op, b] = children.as_slice() else {
        return None;
    };
    let op = text(*op, src);
    if op != "==" && op != "!=" {
        return None;
    }
    let (a, b) = (*a, *b);
    let secret_named = |s: Node<'_>| {
        let Some(name) = expr_name(s, src) else {
            return false;
        };
        (STRICT.is_match(&name) || (web_or_crypto && LOOSE.is_match(&name)))
            && !is_plain_digest(s, src)
    };
    let literal = |s: Node<'_>| LITERAL.is_match(text(s, src));
    let candidate = (secret_named(a) && !literal(b)) || (secret_named(b) && !literal(a));
    if !candidate {
        return None;
    }
    let scope = Scope::new(facts, src, n.start_byte());
    if scope
        .func
        .is_some_and(|f| f.name == "__eq__" || f.name == "__ne__")
    {
        return None;
    }
    // SQL expressions, columns and enum members.
    if in_sql_expression(n, src) || is_class_attribute(a, src) || is_class_attribute(b, src) {
        return None;
    }
    // A value compared with a kind label (`mode == PollingMode.TOKEN`), or with a member of
    // an `Enum` class of this module (`method == AuthMethod.API_KEY`): a constant label.
    let label = |s: Node<'_>| is_kind_member(s, src) || is_local_enum_member(s, src, facts);
    if (label(a) && !secret_named(b)) || (label(b) && !secret_named(a)) {
        return None;
    }
    // Hashes: timing shows only hash bytes (unless a signature is compared to one).
    static SIGNATURE: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?i)sig|hmac").expect("static regex"));
    let signature = |s: Node<'_>| expr_name(s, src).is_some_and(|x| SIGNATURE.is_match(&x));
    if (is_hash(a, src, &scope) && !signature(b)) || (is_hash(b, src, &scope) && !signature(a)) {
        return None;
    }
    // Change detection: `update.secret != existing_secret`.
    static CHANGE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)^(?:existing|old|previous|prev|orig|original)_").expect("static regex")
    });
    if [a, b]
        .iter()
        .any(|s| expr_name(*s, src).is_some_and(|x| CHANGE.is_match(&x)))
        || (op == "!=" && stores_on_change(n, a, b, src))
    {
        return None;
    }
    // Already verified values, compared with something the caller does not choose.
    // `request.user`, `request.session`, `request.db` are the server's, not the caller's.
    static SERVER_SIDE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\brequest\.(?:user|session|settings|registry|db|dbsession|find_service)\b")
            .expect("static regex")
    });
    let client = |t: &str| REQUEST.is_match(&SERVER_SIDE.replace_all(t, ""));
    let from_request = |s: Node<'_>| {
        client(text(s, src))
            || root_name(s, src)
                .and_then(|r| scope.assigned(r))
                .is_some_and(client)
    };
    if (verified(a, src, &scope) && !from_request(b))
        || (verified(b, src, &scope) && !from_request(a))
    {
        return None;
    }
    if matched_by_lookup(a, b, src, &scope)
        || matched_by_lookup(b, a, src, &scope)
        || matched_by_hash_lookup(a, b, src, &scope)
        || matched_by_hash_lookup(b, a, src, &scope)
    {
        return None;
    }
    // A literal of the module: public, whatever its name says.
    if module_literal(a, src, &scope) || module_literal(b, src, &scope) {
        return None;
    }
    // An ACME challenge value: published in DNS or at a public URL for the CA to read.
    let strict = |s: Node<'_>| expr_name(s, src).is_some_and(|x| STRICT.is_match(&x));
    if (acme_challenge_value(a, src) && !strict(b)) || (acme_challenge_value(b, src) && !strict(a))
    {
        return None;
    }
    // A sentinel or placeholder constant, or a public site-verification code.
    if sentinel_constant(a, src, &scope)
        || sentinel_constant(b, src, &scope)
        || site_verification(a, src)
        || site_verification(b, src)
    {
        return None;
    }
    // DRF URL kwargs: the view's permission classes authorised them before the method ran.
    static URL_KWARG: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"^self\.kwargs(?:\[|\.get\()").expect("static regex"));
    static SECRET_WORD: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)(?:token|signature|secret|sig|hmac)$").expect("static regex")
    });
    let url_kwarg = |s: Node<'_>| {
        URL_KWARG.is_match(text(s, src))
            && !expr_name(s, src).is_some_and(|x| SECRET_WORD.is_match(&x))
    };
    if url_kwarg(a) || url_kwarg(b) {
        return None;
    }
    let supplied = caller_supplied(a, src, &scope) || caller_supplied(b, src, &scope);
    if !supplied && !web_or_crypto {
        return None;
    }
    let cmp = crate::checks::py::snippet(text(n, src));
    let mut hit = Hit::new(n.start_byte(), n.end_byte())
        .var("cmp", cmp)
        .var("op", op);
    if !supplied {
        hit = hit.confidence(Confidence::Low);
    }
    Some(hit)
}
