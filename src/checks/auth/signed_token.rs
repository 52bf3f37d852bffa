//! AUTH005's vet: a password-reset or verification route whose handler hands the token it
//! receives to a project function that checks a server signature (`Project.verify_token(token)`
//! building an itsdangerous `URLSafeTimedSerializer`, Django `signing.loads`), or itself to a
//! serializer (`serializer.loads(token)`, also one a project factory builds:
//! `s = get_serializer()` then `s.loads(token)`): a forged or guessed token fails the signature, so
//! there is nothing to brute-force and the finding is withdrawn. A token looked up in a table
//! (a short random code) keeps it.

use crate::checks::Vet;
use crate::model::pyindex::{CallKind, ProjectIndex, Target};
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;

/// Signature schemes: itsdangerous serializers and signers, Django's `signing`.
static SIGNER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:itsdangerous|django\.core\.signing)(?:\.|$)|(?:^|\.)(?:URLSafe(?:Timed)?Serializer|TimedSerializer|TimestampSigner|signing\.(?:loads|dumps|TimestampSigner|Signer))$")
        .expect("static regex")
});

/// A token handed on as it came (`token`, `reset_token`, `signature`).
fn token_name(v: &str) -> bool {
    let v = v.to_ascii_lowercase();
    v.contains("token") || v.contains("signature") || v == "signed"
}

pub fn signed_token_in_callee(ix: &ProjectIndex<'_>, path: &str, text: &str, at: usize) -> Vet {
    // The finding sits on the route decorator: the handler is the function defined below it.
    let Some(h) = ix
        .enclosing(path, at)
        .or_else(|| decorated(ix, path, text, at))
    else {
        return Vet::Keep;
    };
    let f = ix.function(h);
    let signed = f.calls.iter().zip(&ix.targets[h]).any(|(c, t)| {
        c.kind == CallKind::Direct
            && c.args.iter().any(|(_, v)| token_name(v.as_str()))
            && match t {
                Target::Project(l) => signs(ix, *l),
                Target::External(q) => SIGNER.is_match(q),
                _ => false,
            }
    });
    // `s = get_serializer()` (a project factory building the serializer), then
    // `s.loads(token)`: the token is checked by the signature the factory set up.
    let factory = || {
        ix.targets[h]
            .iter()
            .any(|t| matches!(t, Target::Project(l) if signs(ix, *l)))
    };
    let loads_token = || {
        f.calls.iter().any(|c| {
            let callee = c.callee.as_str();
            (callee.ends_with(".loads") || callee.ends_with(".unsign"))
                && c.args.iter().any(|(_, v)| token_name(v.as_str()))
        })
    };
    if signed || loads_token() && factory() {
        Vet::Withdraw
    } else {
        Vet::Keep
    }
}

/// The function defined right below the decorator at `at` (only decorator lines between).
fn decorated(ix: &ProjectIndex<'_>, path: &str, text: &str, at: usize) -> Option<usize> {
    let fi = ix.files.iter().position(|f| f.path == path)?;
    let g = (0..ix.fns.len())
        .filter(|&g| ix.fns[g].file == fi && ix.function(g).start >= at)
        .min_by_key(|&g| ix.function(g).start)?;
    let between = text.get(at..ix.function(g).start)?;
    (!between.contains("def ") && !between.contains("class ")).then_some(g)
}

/// Whether project function `l`, or one it calls, builds or applies a signature scheme.
fn signs(ix: &ProjectIndex<'_>, l: usize) -> bool {
    let mut seen = vec![l];
    let mut i = 0;
    while i < seen.len() && i < 8 {
        let g = seen[i];
        for (c, t) in ix.function(g).calls.iter().zip(&ix.targets[g]) {
            match t {
                Target::External(q) if SIGNER.is_match(q) => return true,
                Target::Project(w) if !seen.contains(w) && seen.len() < 8 => seen.push(*w),
                _ if SIGNER.is_match(c.callee.as_str()) => return true,
                _ => {}
            }
        }
        i += 1;
    }
    false
}
