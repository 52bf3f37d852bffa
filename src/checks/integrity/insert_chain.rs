//! DATA008 across functions and files: a function looks a row up through a project helper
//! that queries by a natural key (`existing = users.lookup(email)`), decides on the result
//! (`if existing is None:` or `if existing: return/raise`), then creates the row through a
//! helper that inserts it (`users.register(..)` → `session.add(User(..))`), with no
//! conflict handling on the way. Pairs the per-file rule already names (`get_by_email`
//! then `create_user` in one function) are left to it.

use crate::checks::{ChainHit, Confidence};
use crate::model::pyindex::{CallKind, ProjectIndex, Step, Target};
use regex::Regex;
use std::sync::LazyLock;

/// What the per-file rule recognises by name alone.
fn named_pair(lookup: &str, create: &str) -> bool {
    static BY_KEY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(get|find|fetch|lookup|load|select)(_\w+)?_by_\w+$").expect("static regex")
    });
    let last = |s: &str| s.rsplit('.').next().unwrap_or(s).to_string();
    let (l, c) = (last(lookup), last(create));
    BY_KEY.is_match(&l)
        && (c == "create" || c.starts_with("create_") || c.starts_with("insert_"))
        && !c.contains("_or_")
}

/// Functions whose name promises one row per key.
static PROMISED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(_or_create|get_or_|^ensure_|upsert|register|sign_?up|subscribe|invite)")
        .expect("static regex")
});

/// DATA008's per-file findings in start-up code: a function marked start-up (`lifespan`,
/// `@app.on_event("startup")`, `main`), or one only start-up code calls, runs once before
/// the service takes requests, so nothing races it (a seed admin account, a default
/// project). Reported at low confidence.
pub fn startup_only(ix: &ProjectIndex<'_>, path: &str, byte: usize) -> Option<Confidence> {
    let g = ix.function_at(path, byte)?;
    let callers = ix.callers(g);
    (ix.function(g).startup
        || (!callers.is_empty() && callers.iter().all(|&c| ix.function(c).startup)))
    .then_some(Confidence::Low)
}

/// Models of libraries whose table keeps one row per key: (module the file imports from,
/// model, the unique columns). DRF's `Token` is one-to-one with the user.
const LIBRARY_UNIQUE: &[(&str, &str, &[&str])] =
    &[("rest_framework.authtoken", "Token", &["user"])];

/// DATA008's per-file findings whose create builds a Django model row
/// (`Notice(user=u, product=p)`, `Notice.objects.create(..)`) with every field of one of
/// the model's unique sets (`UniqueConstraint(fields=["user", "product"])`, a
/// `OneToOneField`): the database refuses the second row, so the race costs the loser an
/// IntegrityError (a 500), never a duplicate. Reported at low confidence.
pub fn create_covered_by_unique(
    ix: &ProjectIndex<'_>,
    _path: &str,
    text: &str,
    at: usize,
) -> crate::checks::Vet {
    use crate::checks::Vet;
    static CREATE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^([A-Z]\w*)(?:\.objects(?:\.\w+\(\))?\.create)?\(").expect("static regex")
    });
    let Some(rest) = text.get(at..) else {
        return Vet::Keep;
    };
    let Some(caps) = CREATE.captures(rest) else {
        return Vet::Keep;
    };
    let model = caps.get(1).map_or("", |m| m.as_str());
    let fields = keyword_names(&rest[caps.get(0).map_or(0, |m| m.end())..]);
    let base = |c: &str| c.strip_suffix("_id").unwrap_or(c).to_string();
    let given: Vec<String> = fields.iter().map(|f| base(f)).collect();
    let covers = |set: &[&str]| !set.is_empty() && set.iter().all(|c| given.contains(&base(c)));
    let library = LIBRARY_UNIQUE
        .iter()
        .any(|(module, m, set)| *m == model && text.contains(module) && covers(set));
    let project = ix.files.iter().any(|f| {
        f.part.classes.iter().any(|c| {
            c.name == model
                && c.unique.iter().any(|set| {
                    let set: Vec<&str> = set.iter().map(|n| n.as_str()).collect();
                    covers(&set)
                })
        })
    });
    if library || project {
        Vet::Demote(Confidence::Low)
    } else {
        Vet::Keep
    }
}

/// The keyword names of a call's arguments at the top level, from the text right after its
/// opening parenthesis up to the matching closing one.
fn keyword_names(args: &str) -> Vec<String> {
    let mut depth = 0usize;
    let mut names = Vec::new();
    let mut start = 0usize;
    let take = |piece: &str, names: &mut Vec<String>| {
        if let Some((name, _)) = piece.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                names.push(name.to_string());
            }
        }
    };
    for (i, ch) in args.char_indices() {
        match ch {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => {
                take(&args[start..i], &mut names);
                break;
            }
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                take(&args[start..i], &mut names);
                start = i + 1;
            }
            _ => {}
        }
    }
    names
}

pub fn check_then_insert_via_helpers(ix: &ProjectIndex<'_>, out: &mut Vec<ChainHit>) {
    // Who calls each project function (resolved calls only).
    let mut callers: Vec<Vec<usize>> = vec![Vec::new(); ix.fns.len()];
    for (g, targets) in ix.targets.iter().enumerate() {
        for t in targets {
            if let Target::Project(c) = t {
                callers[*c].push(g);
            }
        }
    }
    for (g, called_by) in callers.iter().enumerate() {
        let f = ix.function(g);
        if f.data.guards.is_empty() || f.data.conflict {
            continue;
        }
        // Start-up code (or a helper only start-up code calls) runs once, before the
        // service takes requests: nothing runs concurrently with it.
        if f.startup || (!called_by.is_empty() && called_by.iter().all(|&c| ix.function(c).startup))
        {
            continue;
        }
        let call_at = |start: usize| {
            f.calls
                .iter()
                .position(|c| c.kind == CallKind::Direct && c.start == start)
        };
        for &(l, c, line) in &f.data.guards {
            let (Some(li), Some(ci)) = (call_at(l), call_at(c)) else {
                continue;
            };
            let (Target::Project(lf), Target::Project(cf)) =
                (&ix.targets[g][li], &ix.targets[g][ci])
            else {
                continue;
            };
            let (lf, cf) = (*lf, *cf);
            if ix.data[lf].lookup.is_none() || ix.data[cf].insert.is_none() || lf == cf {
                continue;
            }
            if named_pair(&f.calls[li].callee, &f.calls[ci].callee) {
                continue;
            }
            let lookup_chain = ix.data_chain(
                lf,
                |d| d.lookup,
                |d| d.lookup,
                "looks the row up by a natural key",
            );
            let insert_chain = ix.data_chain(
                cf,
                |d| d.insert,
                |d| d.insert,
                "inserts the row, with no conflict handling",
            );
            let mut steps = vec![Step {
                func: g,
                start: f.calls[li].start,
                end: f.calls[li].end,
                label: format!("`{}` looks for an existing row", ix.display_name(lf)),
            }];
            steps.extend(lookup_chain);
            steps.push(Step {
                func: g,
                start: f.calls[ci].start,
                end: f.calls[ci].end,
                label: format!("`{}` runs when none was found", ix.display_name(cf)),
            });
            steps.extend(insert_chain);
            let promised = f.data.route.is_some() || PROMISED.is_match(&f.name);
            out.push(ChainHit::at(
                ix,
                g,
                (f.calls[ci].start, f.calls[ci].end),
                &steps,
                vec![
                    ("what", format!("{}(..)", f.calls[ci].callee)),
                    ("function", ix.display_name(g)),
                    ("line", line.to_string()),
                ],
                (!promised).then_some(Confidence::Low),
            ));
            // One finding per function: the first decided create.
            break;
        }
    }
}
