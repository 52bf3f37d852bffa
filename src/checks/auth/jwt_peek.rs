//! AUTH003's vets: a token decoded without verification whose claims are read only as
//! lookup keys (the issuer, the audience or client id, the key id, the launch target) to
//! find the platform or key that a later step verifies the token with: "peek at the
//! issuer". Nothing identifies the caller by those claims, so the finding is withdrawn.
//! A read of an identity claim (`sub`, an email, roles, a user id), the whole claims
//! object handed on or returned, keeps it. A decode in a development stand-in class
//! (`NullPublisherService`) that warns on construction is demoted. Otherwise the
//! token-exchange vet decides.

use crate::checks::Vet;
use crate::model::pyindex::ProjectIndex;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;

/// Claims that name where a token comes from or is going, not who holds it.
const ROUTING_CLAIMS: &[&str] = &[
    "iss",
    "aud",
    "azp",
    "kid",
    "client_id",
    "target_link_uri",
    "deployment_id",
    "tid",
];

/// A claim name, or the last path segment of a URI-named claim
/// (`https://purl.imsglobal.org/spec/lti/claim/target_link_uri`).
fn routing_claim(claim: &str) -> bool {
    let name = claim.rsplit('/').next().unwrap_or(claim);
    ROUTING_CLAIMS.contains(&name)
}

pub fn unverified_decode(ix: &ProjectIndex<'_>, path: &str, text: &str, at: usize) -> Vet {
    if let Some(h) = ix.enclosing(path, at) {
        let f = ix.function(h);
        if let Some(code) = text.get(f.start..f.end) {
            if at >= f.start && routing_claims_only(code, at - f.start) {
                return Vet::Withdraw;
            }
        }
        if development_double(ix, h, text) {
            return Vet::Demote(crate::checks::Confidence::Low);
        }
    }
    super::token_exchange::token_from_exchange(ix, path, text, at)
}

/// Whether function `h` is a method of a development stand-in (`NullTokenService`,
/// `DevVerifier`, `FakeAuth`) that warns whenever it is constructed: a backend chosen by
/// configuration for local runs, not the production verifier. Still worth a look (a
/// misconfigured deployment selects it), so the finding is only demoted.
fn development_double(ix: &ProjectIndex<'_>, h: usize, text: &str) -> bool {
    static DOUBLE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(?:Null|Dev|Development|Fake|Dummy|Insecure|Stub|Mock)[A-Z_]")
            .expect("static regex")
    });
    let (f, file) = (ix.function(h), ix.fns[h].file);
    let Some(c) = f.class else {
        return false;
    };
    let classes = &ix.files[file].part.classes;
    if !classes.get(c).is_some_and(|k| DOUBLE.is_match(&k.name)) {
        return false;
    }
    (0..ix.fns.len())
        .filter(|&g| ix.fns[g].file == file)
        .map(|g| ix.function(g))
        .find(|g| g.class == Some(c) && g.name == "__init__")
        .and_then(|g| text.get(g.start..g.end))
        .is_some_and(|body| body.contains("warn(") || body.contains("warning("))
}

/// `x.get("iss")`, `x["aud"]`, `x.get('https://…/claim/target_link_uri')`: the claim read.
static CLAIM_READ: LazyLock<Regex> =
    LazyLock::new(|| re::new(r#"^\s*(?:\.get\(\s*|\[\s*)["']([^"']+)["']"#).expect("static regex"));

/// The byte just past the call that opens at or after `from` (its closing parenthesis).
fn call_end(code: &str, from: usize) -> Option<usize> {
    let open = from + code.get(from..)?.find('(')?;
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in code[open..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The decode call at `at` of function `code`: its result read directly for a routing
/// claim, or bound to a name every later use of which reads a routing claim (or an
/// identity claim offered only as a hint: `login_hint = ... or claims.get("sub")`).
fn routing_claims_only(code: &str, at: usize) -> bool {
    let Some(end) = call_end(code, at) else {
        return false;
    };
    // `algorithms=[..., "none"]` is meant to verify, not to peek.
    if code[at..end].contains("algorithms") {
        return false;
    }
    if let Some(c) = CLAIM_READ.captures(&code[end..]) {
        return routing_claim(&c[1]);
    }
    // `name = jwt.decode(...)` on the call's line.
    let line_start = code[..at].rfind('\n').map_or(0, |i| i + 1);
    static BOUND: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"^\s*([A-Za-z_]\w*)\s*=\s*$").expect("static regex"));
    let Some(name) = BOUND
        .captures(&code[line_start..at])
        .map(|c| c[1].to_string())
    else {
        return false;
    };
    let rest = &code[end..];
    let mut uses = 0;
    for start in re::word_starts(rest, &name) {
        let after = &rest[start + name.len()..];
        let Some(c) = CLAIM_READ.captures(after) else {
            return false;
        };
        uses += 1;
        if routing_claim(&c[1]) {
            continue;
        }
        let line = rest[..start]
            .rfind('\n')
            .map_or(&rest[..start], |i| &rest[i + 1..start]);
        static HINT: LazyLock<Regex> = LazyLock::new(|| {
            re::new(r#"^\s*(?:\w*hint|["']\w*hint["']\s*:)"#).expect("static regex")
        });
        if !HINT.is_match(line) {
            return false;
        }
    }
    uses > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(code: &str) -> usize {
        code.find("jwt.decode").unwrap()
    }

    #[test]
    fn issuer_lookups_only() {
        let code = "def f(t):\n    u = jwt.decode(t, options={'verify_signature': False})\n    p = Platform.get(iss=u.get('iss'), client_id=u['aud'])\n    return launch(p, t)\n";
        assert!(routing_claims_only(code, at(code)));
        let code = "def f(t):\n    u = jwt.decode(t, options={'verify_signature': False})\n    hint = u.get('sub')\n    login_hint = x or u.get('sub')\n    return go(u.get('https://purl.imsglobal.org/spec/lti/claim/target_link_uri'), login_hint)\n";
        assert!(routing_claims_only(code, at(code)));
        let code = "def f(t):\n    iss = jwt.decode(t, options={\"verify_signature\": False})[\"iss\"]\n    return iss\n";
        assert!(routing_claims_only(code, at(code)));
    }

    #[test]
    fn identity_or_whole_claims_keep() {
        let code = "def f(t):\n    u = jwt.decode(t, options={'verify_signature': False})\n    p = Platform.get(iss=u.get('iss'))\n    return User.get(u['sub'])\n";
        assert!(!routing_claims_only(code, at(code)));
        let code =
            "def f(t):\n    u = jwt.decode(t, options={'verify_signature': False})\n    return u\n";
        assert!(!routing_claims_only(code, at(code)));
        let code =
            "def f(t):\n    return jwt.decode(t, options={'verify_signature': False})['email']\n";
        assert!(!routing_claims_only(code, at(code)));
        let code = "def f(t):\n    u = jwt.decode(t, options={'verify_signature': False})\n";
        assert!(!routing_claims_only(code, at(code)));
    }
}
