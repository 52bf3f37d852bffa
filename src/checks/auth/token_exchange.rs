//! AUTH003's vet: a token decoded without verification that the server itself just
//! received from an identity provider's token endpoint (the OAuth callback's
//! `authorized_response()`/`authorize_access_token()`/`fetch_token()`, or a POST to a
//! token URL), followed through the helpers of the same file that hand it on, never from
//! the client. OpenID Connect allows TLS to the token endpoint in place of the signature
//! there, so the finding is the pattern alone: low confidence.

use crate::checks::{Confidence, Vet};
use crate::model::pyindex::{CallKind, Name, ProjectIndex, Target};
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;

/// A server-side token exchange with the identity provider.
static EXCHANGE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"(?i)\b(?:authorized_response|authorize_access_token|fetch_token|fetch_access_token|exchange_code_for_token)\s*\(|\.post\([^\n]*token",
    )
    .expect("static regex")
});

/// How many helpers up the token may be followed.
const MAX_DEPTH: usize = 4;

pub fn token_from_exchange(ix: &ProjectIndex<'_>, path: &str, text: &str, at: usize) -> Vet {
    let Some(h) = ix.enclosing(path, at) else {
        return Vet::Keep;
    };
    // The token: the decode call's first argument, a plain name.
    let call = text.get(at..).unwrap_or("");
    let Some(open) = call.find('(') else {
        return Vet::Keep;
    };
    let token: String = call[open + 1..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if !token.is_empty() && from_exchange(ix, ix.fns[h].file, text, h, &token, 0) {
        Vet::Demote(Confidence::Low)
    } else {
        Vet::Keep
    }
}

/// The value of `name` in function `g` comes from a token exchange: assigned from one
/// there, or a parameter that every caller (all in this file) fills from one.
fn from_exchange(
    ix: &ProjectIndex<'_>,
    fi: usize,
    text: &str,
    g: usize,
    name: &str,
    depth: usize,
) -> bool {
    let f = ix.function(g);
    let code = text.get(f.start..f.end).unwrap_or("");
    if let Some(rhs) = assigned(code, name) {
        if EXCHANGE.is_match(&rhs) {
            return true;
        }
        // `token = resp["access_token"]` / `resp.get(..)` / `resp.token` of an exchange.
        let base: String = rhs
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        return !base.is_empty()
            && base != name
            && rhs[base.len()..].starts_with(['[', '.'])
            && assigned(code, &base).is_some_and(|r| EXCHANGE.is_match(&r));
    }
    let params: Vec<&Name> = f
        .params
        .iter()
        .chain(f.typed_params.iter().map(|(p, _)| p))
        .filter(|p| *p != "self" && *p != "cls")
        .collect();
    if depth >= MAX_DEPTH || !params.iter().any(|p| *p == name) {
        return false;
    }
    let mut callers = 0;
    for c in 0..ix.fns.len() {
        for (call, t) in ix.function(c).calls.iter().zip(&ix.targets[c]) {
            if *t != Target::Project(g) || call.kind != CallKind::Direct {
                continue;
            }
            if ix.fns[c].file != fi {
                return false;
            }
            let arg = call
                .args
                .iter()
                .find_map(|(k, v)| (k == name || (params.len() == 1 && k == "#0")).then_some(v));
            match arg {
                Some(a) if from_exchange(ix, fi, text, c, a, depth + 1) => callers += 1,
                _ => return false,
            }
        }
    }
    callers > 0
}

/// The right-hand side of the last `name = ...` line in `code`.
fn assigned(code: &str, name: &str) -> Option<String> {
    code.lines().rev().find_map(|l| {
        let rest = l.trim_start().strip_prefix(name)?;
        let rhs = rest.trim_start().strip_prefix('=')?;
        (!rhs.starts_with('=')).then(|| rhs.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_last_assignment() {
        let code = "x = 1\n    resp = provider.authorized_response()\n    tok = resp['t']\n";
        assert_eq!(assigned(code, "tok").as_deref(), Some("resp['t']"));
        assert_eq!(assigned(code, "x").as_deref(), Some("1"));
        assert!(assigned("x == 1\n", "x").is_none());
        assert!(EXCHANGE.is_match("provider.authorized_response()"));
        assert!(EXCHANGE.is_match("requests.post(TOKEN_URL, data={'code': code})"));
    }
}
