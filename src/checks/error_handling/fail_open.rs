//! ERR010 fail-open: access checks (auth, permissions, rate limits, quotas, signatures,
//! allow-lists, feature flags, masking, fraud checks) that answer "allowed" when they fail:
//! an `except` that returns allow (`True`, `(True, remaining, reset)`, `None` where the
//! caller reads `None` as "no auth needed", the unfiltered or unmasked input, a hard-coded
//! secret), an `except` that logs and falls through to the allow path, a missing
//! configuration answered with allow, and a default identity when no user was set.

use crate::checks::py::{
    body_node, contains_kind, first_return, if_returns_without_raise, name_assignment, snippet,
    unparen, unwrap_expr,
};
use crate::checks::{FileContext, Hit};
use crate::model::facts::python::{string_value, text, PyFunction};
use crate::model::facts::visit_same_scope;
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;
use tree_sitter::Node;

fn re(pattern: &str) -> Regex {
    re::new(pattern).expect("static regex")
}

/// How a check says "no".
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// `True` means allowed (`is_allowed`, `has_permission`, `check_limit`).
    Allow,
    /// `True` means denied (`is_rate_limited`, `is_blocked`, `is_revoked`).
    Deny,
    /// Denies by raising, so any return lets the request on (`require_permission`, a
    /// FastAPI dependency, a `login_required` wrapper).
    Raises,
}

static DENY_FN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(is|are|has|was|should|check_if)_\w*(rate_?limited|throttled|blocked|banned|blacklisted|blocklisted|denylisted|denied|spam|fraud\w*|suspicious|abusive|revoked|exceeded|over_?(limit|quota)|locked(_out)?|forbidden)$|exceeds?_\w*(limit|quota)|^over_?(limit|quota)|(limit|quota)_(exceeded|reached)|^should_(block|deny|throttle|reject)",
    )
});
static RAISES_FN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(require|enforce|ensure|assert)_\w*(perm|auth|role|admin|scope|login|access|owner|member|staff|superuser|user|verified|api_?key|token|csrf|plan|subscription|quota|limit)|^\w*(login|auth|permission|admin|role|staff|superuser|owner|scope)s?_required$",
    )
});
static ALLOW_FN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(auth|permi(t|ssion)|authori[sz]|is_allowed|_allowed$|^allow|can_access|has_access|check_access|access_check|rate_?limit|throttl|verify_(sig|token|jwt|hmac|webhook|request|signature|password|api_?key|key)|signature|check_(token|signature|api_?key|csrf|login)|valid(ate)?_(token|signature|session|api_?key|jwt)|is_admin|csrf|quota|usage_?limit|check_\w*limit|(within|under)_\w*limit|^can_|entitle|feature_?(enabled|active|on)$|is_feature|flag_?(enabled|on)$|is_enabled_for|whitelist|allowlist|captcha|^is_trusted)",
    )
});
/// Filters that narrow the caller's input to what is allowed.
static FILTER_FN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)filter\w*(authori|allow|permi|access|acl|visib)|(authori[sz]ed|allowed|permitted|accessible)_\w+",
    )
});
/// Masking and redaction: on error, the input itself is the leak.
static MASK_FN: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)(mask|redact|scrub|anonymi[sz]|pseudonymi[sz]|obfuscat|sanitiz|strip_pii|remove_pii)")
});
/// Getters of a signing or encryption secret.
static SECRET_FN: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(get|load|read|fetch|resolve)?_?\w*(secret|signing_key|hmac_key|jwt_key|private_key|encryption_key)\w*$",
    )
});
/// Webhook and signature verifiers: SEC029 reports their missing-configuration skips.
static WEBHOOK_FN: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)(webhook|signature|_sig$|hmac)"));
/// What a "configuration missing or failed to load" test looks at.
static CONFIG_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(config|settings|secret|signing_key|public_key|loaded|configured|initiali[sz]ed|ready)",
    )
});
/// Deliberate switches: "disabled, so allow" is a decision, not a failure.
static SWITCH_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)(enabled?|disabled?|debug|required|enforce|strict|active|mode|feature|testing)")
});
/// Exceptions that mean "not found", where the answer is a real answer.
static LOOKUP_EXC: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(KeyError|LookupError|IndexError|DoesNotExist|NotFound|StopIteration|NoResultFound)")
});
/// Identity attributes a default must not stand in for.
static IDENTITY_KEY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^(user|user_?(email|name|id)|email|username|login|principal|identity|subject|sub|role|roles|groups?|is_admin|tenant(_id)?)$",
    )
});
/// A made-up principal: an e-mail address or a privileged or test account.
static FAKE_IDENTITY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^([^@\s]+@[^@\s]+|admin|administrator|root|superuser|superadmin|system|test|test_?user|dev|developer|owner)$",
    )
});
/// Where a request's identity lives.
static IDENTITY_SOURCE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)(request|state|session|scope|claims|payload|token|jwt|identity|headers|\bg\b|ctx|context)",
    )
});

fn strip(name: &str) -> &str {
    name.trim_start_matches('_')
}

fn kind_of(name: &str) -> Option<Kind> {
    let name = strip(name);
    if name.contains("optional") {
        return None;
    }
    if DENY_FN.is_match(name) {
        Some(Kind::Deny)
    } else if RAISES_FN.is_match(name) {
        Some(Kind::Raises)
    } else if ALLOW_FN.is_match(name) {
        Some(Kind::Allow)
    } else {
        None
    }
}

/// Functions enclosing `f` in the file, innermost first.
fn enclosing<'f>(f: &PyFunction, all: &'f [PyFunction]) -> Vec<&'f PyFunction> {
    let mut outer: Vec<&PyFunction> = all
        .iter()
        .filter(|g| g.start < f.start && f.end <= g.end)
        .collect();
    outer.sort_by_key(|g| std::cmp::Reverse(g.start));
    outer
}

/// A function's kind: its own name, or a dependency/wrapper nested in a `require_*`.
fn effective_kind(f: &PyFunction, all: &[PyFunction]) -> Option<(Kind, String)> {
    if let Some(k) = kind_of(&f.name) {
        return Some((k, f.name.clone()));
    }
    enclosing(f, all)
        .into_iter()
        .find(|g| kind_of(&g.name) == Some(Kind::Raises))
        .map(|g| (Kind::Raises, g.name.clone()))
}

/// Whether `n` sits in an `except` clause (of its own function).
fn in_except(n: Node<'_>) -> bool {
    let mut cur = n.parent();
    while let Some(p) = cur {
        match p.kind() {
            "except_clause" => return true,
            "function_definition" | "lambda" => return false,
            _ => cur = p.parent(),
        }
    }
    false
}

/// `v` of `return v` (None for a bare `return`).
fn returned(ret: Node<'_>) -> Option<Node<'_>> {
    ret.named_child(0).map(unparen)
}

/// What returning `v` means for a check of kind `kind`: `Some(description)` when it lets
/// the caller through.
fn allows(
    kind: Kind,
    v: Option<Node<'_>>,
    denies_false: bool,
    wrapped: &[String],
    src: &str,
) -> Option<String> {
    let vt = v.map_or("", |v| text(v, src));
    let first = v
        .filter(|v| matches!(v.kind(), "tuple" | "expression_list"))
        .and_then(|v| v.named_child(0))
        .map(|c| text(c, src));
    let passes = vt.contains("call_next(")
        || vt.contains("get_response(")
        || wrapped.iter().any(|w| {
            let call = vt.trim_start_matches("await ").trim();
            call.starts_with(&format!("{w}(")) && !call.contains("abort")
        });
    if passes {
        return Some("passes the request through".into());
    }
    match kind {
        Kind::Allow => match (vt, first) {
            ("True", _) => Some("returns `True`".into()),
            (_, Some("True")) => Some(format!("returns `{}`", snippet(vt))),
            ("" | "None", _) if denies_false => {
                Some("returns `None` (the caller treats it as not denied)".into())
            }
            _ if allow_dict(v, src) => Some(format!("returns `{}`", snippet(vt))),
            _ => None,
        },
        Kind::Deny => match (vt, first) {
            ("False", _) => Some("returns `False` (not limited or blocked)".into()),
            (_, Some("False")) => Some(format!("returns `{}`", snippet(vt))),
            ("" | "None", _) => Some("returns `None` (falsy: not limited or blocked)".into()),
            _ => None,
        },
        Kind::Raises => match vt {
            "" | "None" => Some("returns instead of raising".into()),
            "True" => Some("returns `True` instead of raising".into()),
            _ => None,
        },
    }
}

/// `{"allowed": True, ...}`.
fn allow_dict(v: Option<Node<'_>>, src: &str) -> bool {
    let Some(v) = v.filter(|v| v.kind() == "dictionary") else {
        return false;
    };
    let mut c = v.walk();
    let found = v.named_children(&mut c).any(|p| {
        p.kind() == "pair"
            && p.child_by_field_name("value")
                .is_some_and(|x| text(x, src) == "True")
            && p.child_by_field_name("key")
                .and_then(|k| string_value(k, src))
                .is_some_and(|k| {
                    matches!(
                        k.as_str(),
                        "allowed" | "allow" | "authorized" | "authorised" | "permitted" | "valid"
                    )
                })
    });
    found
}

fn caught(except: Node<'_>, src: &str) -> String {
    except
        .child_by_field_name("value")
        .or_else(|| {
            let mut c = except.walk();
            let first = except
                .named_children(&mut c)
                .find(|n| n.kind() != "block" && n.kind() != "comment");
            first
        })
        .map_or("any exception".to_string(), |v| {
            let t = text(v, src);
            format!("`{}`", t.split(" as ").next().unwrap_or(t).trim())
        })
}

fn except_block(except: Node<'_>) -> Option<Node<'_>> {
    let mut c = except.walk();
    let b = except.named_children(&mut c).find(|n| n.kind() == "block");
    b
}

fn literal_secret(v: Option<Node<'_>>, src: &str) -> bool {
    let Some(mut v) = v else { return false };
    // `"dev".encode()`
    if v.kind() == "call" {
        if let Some(obj) = v
            .child_by_field_name("function")
            .filter(|f| f.kind() == "attribute")
            .and_then(|f| f.child_by_field_name("object"))
        {
            v = obj;
        }
    }
    string_value(v, src).is_some_and(|s| s.len() >= 4 && !s.contains('{'))
}

/// ERR010: a check that answers "allowed" when it fails.
pub fn fail_open(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let all = &facts.functions;
    let none_allowed = none_means_allow(ctx, all);
    for f in all {
        let Some(body) = body_node(root, f) else {
            continue;
        };
        let kind = effective_kind(f, all).map(|(k, _)| k);
        let returns_input = FILTER_FN.is_match(&f.name) || MASK_FN.is_match(&f.name);
        let secret_getter = kind.is_none() && SECRET_FN.is_match(strip(&f.name));
        let none_caller = if strip(&f.name).contains("optional") {
            None
        } else {
            none_allowed.get(f.name.as_str())
        };
        if kind.is_none() && !returns_input && !secret_getter && none_caller.is_none() {
            continue;
        }
        let params: Vec<&str> = f
            .params
            .iter()
            .map(|p| p.name.trim_start_matches('*'))
            .filter(|p| *p != "self" && *p != "cls")
            .collect();
        // The wrapped view of a decorator (`f` of `def login_required(f)`), called to pass.
        let wrapped: Vec<String> = enclosing(f, all)
            .iter()
            .flat_map(|g| g.params.iter().map(|p| p.name.clone()))
            .filter(|p| p != "self" && p != "cls")
            .collect();
        let mut denies_false = false;
        visit_same_scope(body, |n| {
            if n.kind() == "return_statement"
                && returned(n).is_some_and(|v| text(v, src) == "False")
            {
                denies_false = true;
            }
        });
        // A check named like it raises that answers with a value instead: `return user`
        // when signed in, `return None` otherwise (outside any handler). `None` is then
        // its deny answer, and an `except` that returns `None` fails closed.
        let none_denies = kind == Some(Kind::Raises) && {
            let (mut none, mut value) = (false, false);
            visit_same_scope(body, |n| {
                if n.kind() == "return_statement" && !in_except(n) {
                    match returned(n).map_or("None", |v| text(v, src)) {
                        "None" => none = true,
                        "True" | "False" => {}
                        _ => value = true,
                    }
                }
            });
            none && value
        };
        let mut hits: Vec<(usize, usize, String, String)> = Vec::new();
        visit_same_scope(body, |n| {
            if n.kind() != "except_clause" {
                return;
            }
            let what = caught(n, src);
            let lookup = LOOKUP_EXC.is_match(&what);
            let Some(block) = except_block(n) else { return };
            if let Some(ret) = first_return(block) {
                let v = returned(ret);
                let denied = none_denies && v.is_none_or(|v| text(v, src) == "None");
                let how = kind
                    .filter(|k| !(denied || lookup && *k == Kind::Deny))
                    .and_then(|k| allows(k, v, denies_false, &wrapped, src))
                    .or_else(|| {
                        let vt = v.map_or("", |v| text(v, src));
                        let base = vt.split(" or ").next().unwrap_or("").trim();
                        (returns_input && params.contains(&base)).then(|| {
                            if MASK_FN.is_match(&f.name) {
                                format!("returns its unmasked input `{base}`")
                            } else {
                                format!("returns its unfiltered input `{base}`")
                            }
                        })
                    })
                    .or_else(|| {
                        (secret_getter && literal_secret(v, src))
                            .then(|| "falls back to a hard-coded secret".to_string())
                    })
                    .or_else(|| {
                        let vt = v.map_or("", |v| text(v, src));
                        (none_caller.is_some() && !lookup && matches!(vt, "" | "None")).then(|| {
                            format!(
                                "returns `None` (which `{}` reads as no auth needed)",
                                none_caller.map_or("", |s| s.as_str())
                            )
                        })
                    });
                // `try: return view(...) except AttributeError: return view(...)`: a
                // fallback for the call itself, not for a check.
                let retried = how.as_deref() == Some("passes the request through")
                    && v.is_some_and(|v| {
                        let call = text(v, src).trim_start_matches("await ").trim();
                        let callee = call.split('(').next().unwrap_or(call);
                        let callee = callee.rsplit('.').next().unwrap_or(callee);
                        n.parent()
                            .and_then(|t| t.child_by_field_name("body"))
                            .is_some_and(|b| {
                                text(b, src).contains(&format!("{callee})"))
                                    || text(b, src).contains(&format!("{callee}("))
                            })
                    });
                if let Some(how) = how.filter(|_| !retried) {
                    hits.push((
                        ret.start_byte(),
                        ret.end_byte(),
                        how,
                        format!("when it catches {what}"),
                    ));
                }
                return;
            }
            if contains_kind(
                block,
                &["raise_statement", "continue_statement", "break_statement"],
            ) {
                return;
            }
            // The except logs and falls through: to what?
            let Some(tr) = n.parent().filter(|p| p.kind() == "try_statement") else {
                return;
            };
            let after = following_return(tr);
            if secret_getter {
                if let Some(ret) = after.filter(|r| literal_secret(returned(*r), src)) {
                    hits.push((
                        ret.start_byte(),
                        ret.end_byte(),
                        "falls back to a hard-coded secret".to_string(),
                        format!("when it catches {what}"),
                    ));
                }
                return;
            }
            let Some(k) = kind else { return };
            if lookup && k == Kind::Deny {
                return;
            }
            let try_body = tr.child_by_field_name("body");
            let denial_in_try = try_body.is_some_and(|b| {
                let mut d = false;
                visit_same_scope(b, |m| {
                    if m.kind() == "raise_statement" {
                        d = true;
                    }
                    if m.kind() == "return_statement" {
                        let vt = returned(m).map_or("", |v| text(v, src));
                        d |= (k == Kind::Allow && vt == "False")
                            || (k == Kind::Deny && vt == "True");
                    }
                });
                d
            });
            if !denial_in_try {
                return;
            }
            match after {
                Some(ret)
                    if none_denies && returned(ret).is_none_or(|v| text(v, src) == "None") => {}
                Some(ret) => {
                    if let Some(how) = allows(k, returned(ret), denies_false, &wrapped, src) {
                        hits.push((
                            ret.start_byte(),
                            ret.end_byte(),
                            how,
                            format!("after swallowing {what}"),
                        ));
                    }
                }
                None if k == Kind::Raises && !none_denies && at_function_end(tr) => hits.push((
                    n.start_byte(),
                    n.start_byte() + text(n, src).lines().next().unwrap_or("").len(),
                    "returns instead of raising".to_string(),
                    format!("after swallowing {what}"),
                )),
                None => {}
            }
        });
        // A missing configuration answered with allow.
        if let Some(k) =
            kind.filter(|_| kind_of(&f.name).is_some() && !WEBHOOK_FN.is_match(&f.name))
        {
            visit_same_scope(body, |n| {
                if n.kind() != "if_statement" {
                    return;
                }
                let Some(cond) = n.child_by_field_name("condition") else {
                    return;
                };
                let Some(tested) = missing_config(cond, src) else {
                    return;
                };
                let Some(ret) = if_returns_without_raise(n) else {
                    return;
                };
                if let Some(how) = allows(k, returned(ret), denies_false, &wrapped, src) {
                    hits.push((
                        ret.start_byte(),
                        ret.end_byte(),
                        how,
                        format!("when its configuration is missing (`{tested}`)"),
                    ));
                }
            });
        }
        for (s, e, how, when) in hits {
            out.push(
                Hit::new(s, e)
                    .var("function", f.name.clone())
                    .var("how", how)
                    .var("when", when),
            );
        }
    }
    default_identity(ctx, out);
}

/// The first statement after `tr` in its block, if it is a `return`.
fn following_return(tr: Node<'_>) -> Option<Node<'_>> {
    let mut next = tr.next_named_sibling();
    while let Some(n) = next {
        if n.kind() == "comment" {
            next = n.next_named_sibling();
            continue;
        }
        if n.kind() == "return_statement" {
            return Some(n);
        }
        // `logger.warning(...)` before the return.
        if n.kind() == "expression_statement" && !text_has_assign(n) {
            next = n.next_named_sibling();
            continue;
        }
        return None;
    }
    None
}

fn text_has_assign(n: Node<'_>) -> bool {
    n.named_child(0)
        .is_some_and(|c| matches!(c.kind(), "assignment" | "augmented_assignment"))
}

/// Whether `tr` is the last statement of the function body (directly).
fn at_function_end(tr: Node<'_>) -> bool {
    tr.parent().is_some_and(|b| {
        b.kind() == "block"
            && b.parent()
                .is_some_and(|d| d.kind() == "function_definition")
    }) && {
        let mut next = tr.next_named_sibling();
        while let Some(n) = next.filter(|n| n.kind() == "comment") {
            next = n.next_named_sibling();
        }
        next.is_none()
    }
}

/// `not self.config_loaded`, `settings is None`, `not SECRET or ...`: the configuration
/// tested for absence.
fn missing_config<'s>(cond: Node<'_>, src: &'s str) -> Option<&'s str> {
    let cond = unparen(cond);
    let tested = match cond.kind() {
        "not_operator" => cond.child_by_field_name("argument").map(unparen),
        "comparison_operator" => {
            let t = text(cond, src);
            (t.ends_with(" is None") || t.ends_with("== None"))
                .then(|| cond.named_child(0))
                .flatten()
        }
        "boolean_operator" if text(cond, src).contains(" or ") => {
            return [
                cond.child_by_field_name("left"),
                cond.child_by_field_name("right"),
            ]
            .into_iter()
            .flatten()
            .find_map(|c| missing_config(c, src));
        }
        _ => None,
    }?;
    if !matches!(tested.kind(), "identifier" | "attribute") {
        return None;
    }
    let t = text(tested, src);
    let last = t.rsplit('.').next().unwrap_or(t);
    (CONFIG_NAME.is_match(last) && !SWITCH_NAME.is_match(last)).then_some(t)
}

/// Callee names whose `None` result a gate in this file reads as "let it through":
/// `user = await _resolve_user(request)` then `if user is None: return None`.
fn none_means_allow(ctx: &FileContext<'_>, all: &[PyFunction]) -> HashMap<String, String> {
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let mut map = HashMap::new();
    for g in all {
        let Some((k, _)) = effective_kind(g, all) else {
            continue;
        };
        if k == Kind::Deny {
            continue;
        }
        let Some(body) = body_node(root, g) else {
            continue;
        };
        let mut assigned: Vec<(String, String)> = Vec::new();
        visit_same_scope(body, |n| {
            let Some((var, r)) = name_assignment(n, src) else {
                return;
            };
            let r = unwrap_expr(r);
            if r.kind() != "call" {
                return;
            }
            let Some(callee) = r.child_by_field_name("function") else {
                return;
            };
            let name = text(callee, src).rsplit('.').next().unwrap_or("");
            if !name.is_empty() {
                assigned.push((var.to_string(), name.to_string()));
            }
        });
        if assigned.is_empty() {
            continue;
        }
        visit_same_scope(body, |n| {
            if n.kind() != "if_statement" {
                return;
            }
            let Some(cond) = n.child_by_field_name("condition").map(unparen) else {
                return;
            };
            let ct = text(cond, src);
            let Some((_, callee)) = assigned
                .iter()
                .find(|(v, _)| ct == format!("{v} is None") || ct == format!("not {v}"))
            else {
                return;
            };
            let Some(ret) = if_returns_without_raise(n) else {
                return;
            };
            if allows(k, returned(ret), false, &[], src).is_some() {
                map.insert(callee.clone(), g.name.clone());
            }
        });
    }
    map
}

/// `getattr(request.state, "user_email", "test@test.com")`, `claims.get("role", "admin")`:
/// a made-up identity when the request carries none.
fn default_identity(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let src = ctx.file.text.as_str();
    crate::model::facts::visit(ctx.tree.root_node(), |n| {
        if n.kind() != "call" {
            return true;
        }
        let (Some(func), Some(args)) = (
            n.child_by_field_name("function"),
            n.child_by_field_name("arguments"),
        ) else {
            return true;
        };
        let mut c = args.walk();
        let a: Vec<Node<'_>> = args.named_children(&mut c).collect();
        let (source, key, default) = match (func.kind(), a.as_slice()) {
            ("identifier", [obj, key, default]) if text(func, src) == "getattr" => {
                (text(*obj, src), *key, *default)
            }
            ("attribute", [key, default]) if text(func, src).ends_with(".get") => {
                let obj = func
                    .child_by_field_name("object")
                    .map_or("", |o| text(o, src));
                (obj, *key, *default)
            }
            _ => return true,
        };
        if source.contains("environ") || source.contains("getenv") {
            return true;
        }
        let (Some(k), Some(d)) = (string_value(key, src), string_value(default, src)) else {
            return true;
        };
        if !IDENTITY_KEY.is_match(&k)
            || !FAKE_IDENTITY.is_match(&d)
            || !IDENTITY_SOURCE.is_match(source)
        {
            return true;
        }
        // Only where the value becomes the identity: returned or assigned, not logged.
        let used = n.parent().is_some_and(|p| {
            matches!(p.kind(), "return_statement" | "assignment")
                || (p.kind() == "await"
                    && p.parent()
                        .is_some_and(|q| matches!(q.kind(), "return_statement" | "assignment")))
        });
        if !used {
            return true;
        }
        let function = ctx
            .facts
            .scope_at(n.start_byte())
            .map_or("<module>".to_string(), |s| s.name.clone());
        out.push(
            Hit::new(n.start_byte(), n.end_byte())
                .var("function", function)
                .var(
                    "how",
                    format!(
                        "defaults the caller's identity to `{}`",
                        snippet(text(default, src))
                    ),
                )
                .var("when", format!("when the request carries no `{k}`")),
        );
        true
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(kind_of("is_rate_limited"), Some(Kind::Deny));
        assert_eq!(kind_of("_require_permission"), Some(Kind::Raises));
        assert_eq!(kind_of("admin_required"), Some(Kind::Raises));
        assert_eq!(kind_of("is_domain_allowed"), Some(Kind::Allow));
        assert_eq!(kind_of("check_limit"), Some(Kind::Allow));
        assert_eq!(kind_of("_optional_user"), None);
        assert_eq!(kind_of("parse_config"), None);
    }
}
