//! API001 across functions and files: a page-size parameter the handler only hands to a
//! project function that bounds it (`store.list_audit(user, limit=limit)` where the
//! store clamps with `min(int(limit), 1000)`, or passes it on as S3 `MaxKeys`) is bounded.
//! The per-file rule cannot see the callee; this vet withdraws its finding when the
//! project index shows every use of the parameter going to such a callee.

use crate::checks::Vet;
use crate::model::pyindex::{CallKind, ProjectIndex, Target};

/// At most this many same-named methods stand for an unresolved `obj.method(..)` call.
const MAX_CANDIDATES: usize = 4;

/// True when the parameter declared at `at` (in a route handler of file `path`) is used
/// only as an argument to project functions that bound it.
pub fn limit_bounded_by_callee(ix: &ProjectIndex<'_>, path: &str, text: &str, at: usize) -> Vet {
    // The innermost function whose text holds the parameter: the handler.
    let Some(h) = ix.enclosing(path, at) else {
        return Vet::Keep;
    };
    let name: String = text
        .get(at..)
        .unwrap_or("")
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let f = ix.function(h);
    if name.is_empty()
        || !f
            .params
            .iter()
            .chain(f.typed_params.iter().map(|(p, _)| p))
            .any(|p| *p == name)
    {
        return Vet::Keep;
    }
    // Every mention of the name in the handler: its declaration, plus the arguments
    // that hand it to a bounding callee (and their keywords when spelled `limit=limit`).
    let mut accounted = 1usize;
    let mut handed = false;
    for (c, t) in f.calls.iter().zip(&ix.targets[h]) {
        if c.kind != CallKind::Direct {
            continue;
        }
        for (key, _) in c.args.iter().filter(|(_, v)| *v == name) {
            if !callee_bounds(ix, &c.callee, t, key) {
                return Vet::Keep;
            }
            handed = true;
            accounted += 1 + usize::from(*key == name);
        }
    }
    if handed && mentions(text.get(f.start..f.end).unwrap_or(""), &name) == accounted {
        Vet::Withdraw
    } else {
        Vet::Keep
    }
}

/// The callee (resolved, or else the project's methods of that name taking the argument)
/// bounds the parameter that receives the argument `key` (`#n` positional).
fn callee_bounds(ix: &ProjectIndex<'_>, callee: &str, t: &Target, key: &str) -> bool {
    let receives = |g: usize| -> Option<bool> {
        let f = ix.function(g);
        let takes = match key.strip_prefix('#') {
            Some(_) => true,
            None => f
                .params
                .iter()
                .chain(f.typed_params.iter().map(|(p, _)| p))
                .any(|p| p == key),
        };
        takes.then(|| {
            f.bounds.iter().any(|(pos, n)| match key.strip_prefix('#') {
                Some(i) => i.parse::<usize>().ok() == *pos,
                None => n == key,
            })
        })
    };
    match t {
        Target::Project(g) => receives(*g) == Some(true),
        Target::Unresolved => {
            let Some((_, method)) = callee.rsplit_once('.') else {
                return false;
            };
            let candidates: Vec<bool> = (0..ix.fns.len())
                .filter(|&g| {
                    let f = ix.function(g);
                    f.class.is_some() && f.name == method
                })
                .filter_map(receives)
                .collect();
            !candidates.is_empty()
                && candidates.len() <= MAX_CANDIDATES
                && candidates.iter().all(|b| *b)
        }
        _ => false,
    }
}

/// Occurrences of `name` as a whole word in `code`, comments left out.
fn mentions(code: &str, name: &str) -> usize {
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    code.lines()
        .map(|l| l.split_once('#').map_or(l, |(code, _)| code))
        .map(|l| {
            l.match_indices(name)
                .filter(|(i, _)| {
                    !ident(l[..*i].chars().next_back())
                        && !ident(l[i + name.len()..].chars().next())
                })
                .count()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_whole_words() {
        assert_eq!(
            mentions("limit, limits, page_limit, limit=limit", "limit"),
            3
        );
        assert_eq!(mentions("f(limit)  # clamps `limit`\n", "limit"), 1);
    }
}
