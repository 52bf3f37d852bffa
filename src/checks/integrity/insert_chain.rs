//! DATA008 across functions and files: a function looks a row up through a project helper
//! that queries by a natural key (`existing = users.lookup(email)`), decides on the result
//! (`if existing is None:` or `if existing: return/raise`), then creates the row through a
//! helper that inserts it (`users.register(..)` → `session.add(User(..))`), with no
//! conflict handling on the way. Pairs the per-file rule already names (`get_by_email`
//! then `create_user` in one function) are left to it.

use crate::checks::{ChainHit, Confidence};
use crate::model::pyindex::{CallKind, ProjectIndex, Step, Target};
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;

/// What the per-file rule recognises by name alone.
fn named_pair(lookup: &str, create: &str) -> bool {
    static BY_KEY: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(get|find|fetch|lookup|load|select)(_\w+)?_by_\w+$").expect("static regex")
    });
    let last = |s: &str| s.rsplit('.').next().unwrap_or(s).to_string();
    let (l, c) = (last(lookup), last(create));
    BY_KEY.is_match(&l)
        && (c == "create" || c.starts_with("create_") || c.starts_with("insert_"))
        && !c.contains("_or_")
}

/// Functions whose name promises one row per key.
static PROMISED: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(_or_create|get_or_|^ensure_|upsert|register|sign_?up|subscribe|invite)")
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

/// DATA008's per-file findings whose create builds a model row the database keeps unique
/// on the key at stake, reported at low confidence: the create sets every field of one of
/// the model's unique sets (`Notice(user=u, product=p)`, `Notice.objects.create(..)`,
/// `session.add(Notice(..))`, `repo.create(notice)` of a `notice = Notice(..)` built in the
/// function), or builds the row empty and fills it from a form (`Permission()`, then
/// `form.populate_obj(..)`) after a look-up by every field of such a set
/// (`get_by_codename(..)`, `filter_by(slug=..)`, `Model.slug == ..`). The sets come from
/// the project's ORM models (Django `unique=True`, a `OneToOneField`, `unique_together`,
/// SQLAlchemy `unique=True`, `UniqueConstraint`) or from its SQL DDL for the model's table
/// (`users` for `User`: a primary key, `UNIQUE`, a unique index). The database refuses the
/// second row, so the race costs the loser an IntegrityError (a 500), never a duplicate. A
/// primary key named `id` counts only when the create sets it and the look-up was by it.
/// In an upsert or get-or-create by name, or after a `..._for_update` look-up, only the
/// Django sets count (see `create_covered_by_unique`'s body).
///
/// A create that is a project function inserting nothing (`User.create_sample(..)`
/// returning an unsaved object) is no row at all: withdrawn.
pub fn create_covered_by_unique(
    ix: &ProjectIndex<'_>,
    path: &str,
    text: &str,
    at: usize,
) -> crate::checks::Vet {
    use crate::checks::Vet;
    let Some(rest) = text.get(at..) else {
        return Vet::Keep;
    };
    let g = ix.function_at(path, at);
    if g.is_some_and(|g| builds_no_row(ix, g, at)) {
        return Vet::Withdraw;
    }
    // The function's text up to the create: where the look-up and the row's construction are.
    let before = g
        .and_then(|g| text.get(ix.function(g).start..at))
        .unwrap_or("");
    if let Some(covered) = raw_insert_covered(ix, rest, before) {
        return if covered && !promised_create(ix, g, before) {
            Vet::Demote(Confidence::Low)
        } else {
            Vet::Keep
        };
    }
    let Some((model, fields)) = created_model(rest, before) else {
        return Vet::Keep;
    };
    let keys = lookup_keys(before);
    let base = |c: &str| {
        let c = c.to_ascii_lowercase();
        c.strip_suffix("_id").map_or(c.clone(), str::to_string)
    };
    let given: Vec<String> = fields.iter().map(|f| base(f)).collect();
    let keys: Vec<String> = keys.iter().map(|k| base(k)).collect();
    let covers = |set: &[&str]| {
        let within = |names: &[String]| set.iter().all(|c| names.contains(&base(c)));
        let pk_only = set == ["id"];
        !set.is_empty()
            && if given.is_empty() {
                !pk_only && within(&keys)
            } else {
                within(&given) && (!pk_only || within(&keys))
            }
    };
    let promised = promised_create(ix, g, before);
    let library = LIBRARY_UNIQUE
        .iter()
        .any(|(module, m, set)| *m == model && text.contains(module) && covers(set));
    let project = ix.files.iter().any(|f| {
        f.part.classes.iter().any(|c| {
            c.name == model
                && (c.django || !promised)
                && c.unique.iter().any(|set| {
                    let set: Vec<&str> = set.iter().map(|n| n.as_str()).collect();
                    covers(&set)
                })
        })
    });
    let ddl = !promised
        && ix.sql_unique.iter().any(|(table, sets)| {
            table_of(table, &model)
                && sets.iter().any(|set| {
                    let set: Vec<&str> = set.iter().map(String::as_str).collect();
                    covers(&set)
                })
        });
    if library || project || ddl {
        Vet::Demote(Confidence::Low)
    } else {
        Vet::Keep
    }
}

/// An upsert, a get-or-create or a look-up made `..._for_update` promises one clean
/// outcome per key to callers that retry (webhook redeliveries, parallel jobs): there the
/// IntegrityError is the defect itself, so only the Django sets count.
fn promised_create(ix: &ProjectIndex<'_>, g: Option<usize>, before: &str) -> bool {
    static PROMISE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)(_or_create|_or_reuse|_or_register|upsert|^ensure_|^(find|fetch|get)_or_)")
            .expect("static regex")
    });
    g.is_some_and(|g| PROMISE.is_match(&ix.function(g).name)) || before.contains("_for_update(")
}

/// A literal `INSERT INTO t (cols)` at the finding (`rest`): whether one of the unique sets
/// the project's schema keeps on `t` (its `.sql` files or DDL run from Python) lies within
/// both the inserted columns and the columns the last `SELECT .. FROM t` before it
/// (`before`) compares with a bound parameter (`team_id = :team_id AND user_id = ?`): the
/// database refuses the very duplicate the check looks for. None when no literal INSERT
/// starts the finding.
fn raw_insert_covered(ix: &ProjectIndex<'_>, rest: &str, before: &str) -> Option<bool> {
    static INSERT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?is)^.{0,300}?\bINSERT\s+(?:OR\s+\w+\s+|IGNORE\s+)?INTO\s+["`\[]?(?:\w+\.)?(\w+)["`\]]?\s*\(([^)]*)\)"#)
            .expect("static regex")
    });
    static BOUND: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)\b(\w+)[\x22`\]]?\s*=\s*(?:%s|\?|:\w+|%\(\w+\)s|\$\d+)")
            .expect("static regex")
    });
    // The call's text up to the first blank line: adjacent literals may split the SQL.
    let call = rest.get(..rest.len().min(600)).unwrap_or(rest);
    let call = call.split("\n\n").next().unwrap_or(call);
    let joined = call.replace(['"', '\''], "");
    let c = INSERT.captures(&joined)?;
    let table = c[1].to_ascii_lowercase();
    let columns: Vec<String> = c[2]
        .split(',')
        .map(|x| x.trim().trim_matches(['`', '[', ']']).to_ascii_lowercase())
        .collect();
    let from = re::new(&format!(
        r#"(?i)\bFROM\s+["`\[]?(?:\w+\.)?{}\b"#,
        regex::escape(&table)
    ))
    .ok()?;
    let Some(at) = from.find_iter(before).last() else {
        return Some(false);
    };
    let keys: Vec<String> = BOUND
        .captures_iter(&before[at.end()..])
        .map(|k| k[1].to_ascii_lowercase())
        .collect();
    let within = |set: &[String], names: &[String]| set.iter().all(|c| names.contains(c));
    Some(ix.sql_unique.get(&table).is_some_and(|sets| {
        sets.iter()
            .any(|set| !set.is_empty() && within(set, &columns) && within(set, &keys))
    }))
}

/// Whether a SQL table is the one of model class `model`: `users`/`user` for `User`,
/// `oauth_accounts` for `OAuthAccount`, `categories` for `Category`.
fn table_of(table: &str, model: &str) -> bool {
    let t: String = table.chars().filter(|c| *c != '_').collect();
    let m = model.to_ascii_lowercase();
    t == m
        || t == format!("{m}s")
        || t == format!("{m}es")
        || m.strip_suffix('y')
            .is_some_and(|stem| t == format!("{stem}ies"))
}

/// The model a create builds and the fields it sets by keyword: `User(email=..)`,
/// `models.User.objects.create(email=..)` (the model named through its module),
/// `User.objects.create(email=..)`, `session.add(User(email=..))`, or `repo.create(user)`
/// / `session.add(user)` of a `user = User(..)` assigned earlier in `before`.
fn created_model(rest: &str, before: &str) -> Option<(String, Vec<String>)> {
    static DIRECT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(?:[a-z_]\w*\.)*([A-Z]\w*)(?:\.objects(?:\.\w+\(\))?\.create)?\(")
            .expect("static regex")
    });
    static WRAPPED: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^[\w.]*\.\w+\(\s*(?:([A-Z]\w*)\(|([a-z_]\w*)\s*[,)])").expect("static regex")
    });
    if let Some(c) = DIRECT.captures(rest) {
        let end = c.get(0).map_or(0, |m| m.end());
        return Some((c[1].to_string(), keyword_names(&rest[end..])));
    }
    let c = WRAPPED.captures(rest)?;
    if let Some(m) = c.get(1) {
        return Some((
            m.as_str().to_string(),
            keyword_names(&rest[c.get(0)?.end()..]),
        ));
    }
    let var = c.get(2)?.as_str();
    // `var = Model(`: the last construction bound to that name before the call.
    static BUILT: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"\b([A-Za-z_]\w*)\s*=\s*([A-Z]\w*)\(").expect("static regex"));
    let m = BUILT
        .captures_iter(before)
        .filter(|m| &m[1] == var)
        .last()?;
    let end = m.get(0)?.end();
    Some((m[2].to_string(), keyword_names(&before[end..])))
}

/// The columns the look-ups before a create query by: `get_by_codename(..)` and
/// `find_by_provider_and_account_id(..)` by name, `filter_by(slug=..)`/`.get(email=..)`/
/// `.filter(code__iexact=..)` by keyword, `Model.slug == ..` by comparison.
fn lookup_keys(before: &str) -> Vec<String> {
    static BY_NAME: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\b(?:get|find|fetch|lookup|load|select)(?:_\w+?)?_by_(\w+)\(")
            .expect("static regex")
    });
    static BY_KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\.(?:filter_by|filter|get|get_or_none|find_by_\w+)\(").expect("static regex")
    });
    static COMPARED: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"\b[A-Z]\w*\.(\w+)\s*==").expect("static regex"));
    let mut keys: Vec<String> = Vec::new();
    for c in BY_NAME.captures_iter(before) {
        keys.extend(c[1].split("_and_").map(str::to_string));
    }
    for m in BY_KEYWORD.find_iter(before) {
        keys.extend(
            keyword_names(&before[m.end()..])
                .into_iter()
                .map(|k| k.split("__").next().unwrap_or(&k).to_string()),
        );
    }
    keys.extend(COMPARED.captures_iter(before).map(|c| c[1].to_string()));
    keys
}

/// Whether the create at `at` in function `g` (a call named `create..`/`insert..`) is a
/// project function that inserts nothing, itself or through what it calls (a few levels):
/// no insert the index knows of and no call named like a write (`add`, `save`, `create`,
/// `execute`, `commit`, ..).
fn builds_no_row(ix: &ProjectIndex<'_>, g: usize, at: usize) -> bool {
    let f = ix.function(g);
    let Some(i) = f
        .calls
        .iter()
        .position(|c| c.kind == CallKind::Direct && c.start == at)
    else {
        return false;
    };
    // Only a call named as a create: a model's constructor (`User(..)`) builds the row
    // object an insert further down stores.
    let last = f.calls[i].callee.as_str().rsplit('.').next().unwrap_or("");
    let named = ["create", "insert"]
        .iter()
        .any(|p| last == *p || last.strip_prefix(p).is_some_and(|r| r.starts_with('_')));
    let Target::Project(cf) = ix.targets[g][i] else {
        return false;
    };
    named && writes_nothing(ix, cf, 0)
}

fn writes_nothing(ix: &ProjectIndex<'_>, g: usize, depth: usize) -> bool {
    static WRITE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(add|add_all|save|create|bulk_create|insert|insert_one|insert_many|execute|executemany|executescript|commit|flush|merge|put|put_item|persist|upsert|write|get_or_create|update_or_create|(create|insert|save|add|store|persist|register)_\w+)$")
            .expect("static regex")
    });
    if depth > 3 || ix.data[g].insert.is_some() {
        return false;
    }
    let f = ix.function(g);
    f.calls.iter().zip(&ix.targets[g]).all(|(c, t)| {
        let last = c.callee.as_str().rsplit('.').next().unwrap_or("");
        match t {
            Target::Project(w) if *w == g => true,
            Target::Project(w) => writes_nothing(ix, *w, depth + 1),
            _ => !c.callee.as_str().is_empty() && !WRITE.is_match(last),
        }
    })
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
