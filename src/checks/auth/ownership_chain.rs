//! AUTH004 across files: an authenticated route hands an id from its path to a project
//! function in another file that loads the row by that id with no owner filter (a
//! repository or service loader), and nothing on the route's way (the handler, the
//! functions it calls, its `Depends`) compares or filters by an owner, while the loader's
//! own module scopes other queries by an owner, so the data is per-user. Routes the
//! per-file rule decides (it reports them, or sees a check) are left to it.

use crate::checks::{ChainHit, Vet};
use crate::model::pyindex::{CallKind, ProjectIndex, Step, Target, Via};
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;

static SKIP_PATH: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(^|/)(admin|internal|public|profiles?)(/|$)|job_id").expect("static regex")
});
static PRIVILEGED: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(admin|superuser|staff|internal|service|system|permission)")
        .expect("static regex")
});

pub fn ownership_via_loader(ix: &ProjectIndex<'_>, out: &mut Vec<ChainHit>) {
    for h in 0..ix.fns.len() {
        let f = ix.function(h);
        let Some(r) = f.data.route.as_ref() else {
            continue;
        };
        if !r.authed
            || r.decided
            || SKIP_PATH.is_match(&r.path)
            || PRIVILEGED.is_match(&r.auth)
            || f.name.contains("public")
            || ix.data[h].owner.is_some()
            || (r.read_only && listed_to_everyone(ix, h))
        {
            continue;
        }
        let here = ix.fns[h].file;
        let found =
            f.calls
                .iter()
                .zip(&ix.targets[h])
                .enumerate()
                .find_map(|(i, (c, t))| match t {
                    Target::Project(l)
                        if c.kind == CallKind::Direct
                            && r.id_calls.contains(&c.start)
                            && ix.fns[*l].file != here
                            && ix.data[*l].load.is_some()
                            && ix.data[*l].owner.is_none() =>
                    {
                        Some((i, *l))
                    }
                    _ => None,
                });
        let Some((i, l)) = found else {
            continue;
        };
        let chain = ix.data_chain(
            l,
            |d| d.load,
            |d| d.load,
            "loads the row by that id, with no owner filter",
        );
        let Some(last) = chain.last().cloned() else {
            continue;
        };
        // The loader's module scopes some other query by an owner: the rows are per-user.
        let loader_file = ix.fns[last.func].file;
        let Some(scoped) = (0..ix.fns.len())
            .find(|&g| ix.fns[g].file == loader_file && ix.data[g].owner == Some(Via::Own))
        else {
            continue;
        };
        let call = &f.calls[i];
        let param = r.ids.first().cloned().unwrap_or_default();
        let auth = if r.auth.is_empty() {
            "the project's default authentication".to_string()
        } else {
            r.auth.clone()
        };
        let mut steps = vec![
            Step {
                func: h,
                start: r.decorator.0,
                end: r.decorator.1,
                label: format!(
                    "`{param}` comes from the path; the caller is authenticated by `{auth}`"
                ),
            },
            Step {
                func: h,
                start: call.start,
                end: call.end,
                label: format!(
                    "the id goes to `{}`; no owner check on the way",
                    ix.display_name(l)
                ),
            },
        ];
        steps.extend(chain);
        if let Some(s) = steps.last_mut() {
            s.label = format!(
                "{}; `{}` in the same module filters by an owner",
                s.label,
                ix.display_name(scoped)
            );
        }
        out.push(ChainHit::at(
            ix,
            h,
            (call.start, call.end),
            &steps,
            vec![
                ("route", r.describe.clone()),
                ("handler", ix.display_name(h)),
                ("param", param),
                ("auth", auth),
            ],
            None,
        ));
    }
}

/// AUTH004's vet: the statement the per-file rule reports (at `at` in file `path`) hands
/// the id to a project function that filters or compares by the caller itself or through
/// its callees (`calibre_db.get_book_by_uuid(uuid)` applying the current user's
/// restrictions in a shared filter): the owner check lives in the helper, so the finding
/// is withdrawn; so is a load whose object then goes, with the caller, to a project helper
/// that filters by an owner. An owner column the helper merely mentions (`User.id == user_id` for a
/// user id from the path, `created_by=row.created_by` in a response mapper) is not a
/// check of the caller and keeps the finding.
pub fn owner_filter_in_callee(ix: &ProjectIndex<'_>, path: &str, text: &str, at: usize) -> Vet {
    if generic_drf_load(text, at) && default_permission_checks_objects(ix, path) {
        return Vet::Withdraw;
    }
    let Some(h) = ix.enclosing(path, at) else {
        return Vet::Keep;
    };
    let Some(r) = ix.function(h).data.route.as_ref() else {
        return Vet::Keep;
    };
    if r.read_only && listed_to_everyone(ix, h) {
        return Vet::Withdraw;
    }
    let line_end = text
        .get(at..)
        .and_then(|t| t.find('\n'))
        .map_or(text.len(), |i| at + i);
    let f = ix.function(h);
    let helper = f.calls.iter().zip(&ix.targets[h]).any(|(c, t)| {
        c.kind == CallKind::Direct
            && (at..line_end).contains(&c.start)
            && c.args.iter().any(|(_, v)| r.ids.iter().any(|id| id == v))
            && matches!(t, Target::Project(l) if ix.data[*l].owner.is_some() && scopes_to_caller(ix, *l))
    });
    if helper {
        return Vet::Withdraw;
    }
    // The loaded object goes, with the caller, to a project helper that filters by an owner
    // (`space = get_object_or_404(Space, id=space_id)` then
    // `switch_user_active_space(request.user, space)` looking up the caller's membership):
    // the helper decides what the caller may do with it.
    let loaded = text
        .get(at..line_end)
        .and_then(|l| l.trim_start().split_once('='))
        .map(|(v, _)| v.trim())
        .filter(|v| !v.is_empty() && v.chars().all(|c| c.is_alphanumeric() || c == '_'));
    static CALLER: LazyLock<Regex> = LazyLock::new(|| {
        re::new(
            r"[(,]\s*(?:(?:self\.)?request\.user|current_user|g\.user|info\.context\.user)\s*[,)]",
        )
        .expect("static regex")
    });
    let handed_over = loaded.is_some_and(|var| {
        f.calls.iter().zip(&ix.targets[h]).any(|(c, t)| {
            c.kind == CallKind::Direct
                && c.start >= line_end
                && c.args.iter().any(|(_, v)| v == var)
                && text.get(c.start..c.end).is_some_and(|t| CALLER.is_match(t))
                && matches!(t, Target::Project(l) if ix.data[*l].owner.is_some())
        })
    });
    if handed_over {
        return Vet::Withdraw;
    }
    // The statement loads project models none of whose rows can belong to anyone (no
    // owner or tenant column, no reference to another table): library-wide metadata such
    // as a custom column's definition. The pattern alone.
    let line = text.get(at..line_end).unwrap_or("");
    let mut models = line
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_uppercase()))
        .filter_map(|w| model_owned(ix, w))
        .peekable();
    if models.peek().is_some() && models.all(|owned| !owned) {
        Vet::Demote(crate::checks::Confidence::Low)
    } else {
        Vet::Keep
    }
}

/// Whether the module of route handler `h` also serves a collection endpoint that lists
/// every row to every caller: a read-only route without path parameters whose handler
/// filters by no owner itself and hands the query to a project function that narrows the
/// rows to nobody (`return service.render(args)` over `session_query(Item)` and a page,
/// the caller's own rows only on request). A module of resource views is about one
/// resource, so reading one of them by id shows nothing the list does not already show
/// to the same callers. A list narrowed by the caller, a visibility column or a helper
/// that filters keeps the finding.
fn listed_to_everyone(ix: &ProjectIndex<'_>, h: usize) -> bool {
    let here = ix.fns[h].file;
    // A function that queries every row: its own owner comparisons, if any, are optional
    // (`all_rows` leaves those out), and nothing it calls narrows them.
    let every_row = |l: usize| {
        ix.function(l).data.all_rows && matches!(ix.data[l].owner, None | Some(Via::Own))
    };
    (0..ix.fns.len()).any(|g| {
        let f = ix.function(g);
        let callees = || {
            f.calls
                .iter()
                .zip(&ix.targets[g])
                .filter_map(|(c, t)| match t {
                    Target::Project(l)
                        if matches!(c.kind, CallKind::Direct | CallKind::Depends) =>
                    {
                        Some(*l)
                    }
                    _ => None,
                })
        };
        ix.fns[g].file == here
            && f.data.collection
            && !f.data.owner
            && callees().all(|l| ix.data[l].owner.is_none() || every_row(l))
            && callees().any(every_row)
    })
}

/// Whether project function `l`, or a function it calls (directly or as a dependency, a
/// few levels down), compares or filters by an owner while naming the current caller
/// (`current_user`, `g.user`, `request.user`): the filter is about whoever calls.
fn scopes_to_caller(ix: &ProjectIndex<'_>, l: usize) -> bool {
    const MAX_SEEN: usize = 32;
    let mut seen = vec![l];
    let mut frontier = vec![l];
    for _ in 0..4 {
        let mut next = Vec::new();
        for &g in &frontier {
            let d = &ix.function(g).data;
            if d.owner && d.caller {
                return true;
            }
            for (c, t) in ix.function(g).calls.iter().zip(&ix.targets[g]) {
                if let Target::Project(w) = t {
                    if matches!(c.kind, CallKind::Direct | CallKind::Depends)
                        && ix.data[*w].owner.is_some()
                        && !seen.contains(w)
                        && seen.len() < MAX_SEEN
                    {
                        seen.push(*w);
                        next.push(*w);
                    }
                }
            }
        }
        frontier = next;
    }
    false
}

/// Whether rows of the project's ORM model `name` can belong to someone (every class of
/// that name agreeing); `None` when no model has that name.
fn model_owned(ix: &ProjectIndex<'_>, name: &str) -> Option<bool> {
    let mut found = None;
    for f in &ix.files {
        for c in f.part.classes.iter().filter(|c| c.name == name && !c.local) {
            let owned = c.owned?;
            found = Some(found.unwrap_or(false) || owned);
        }
    }
    found
}

/// Whether the DRF `DEFAULT_PERMISSION_CLASSES` that govern file `path` name a permission
/// class of the project that defines `has_object_permission` (DRF's generic `get_object()`
/// runs it on every row a view relying on the defaults loads), or Django's model
/// permissions (`DjangoModelPermissions`, a project subclass of it): access is granted per
/// model to the accounts an administrator chose, a team tool where every permitted account
/// sees every row, as for a view that names those permissions itself. A settings module
/// governs the files under the directory that holds its package (`conf/settings.py` -> the
/// repository, `site/conf/settings.py` -> `site/`); every one that governs `path` must.
fn default_permission_checks_objects(ix: &ProjectIndex<'_>, path: &str) -> bool {
    let governs = |settings: &str| {
        let mut package = settings.rsplit_once('/').map_or("", |(d, _)| d);
        // A settings package (`site/settings/base.py`) sits inside the project's package.
        if package == "settings" || package.ends_with("/settings") {
            package = package.rsplit_once('/').map_or("", |(d, _)| d);
        }
        let root = package.rsplit_once('/').map_or("", |(d, _)| d);
        root.is_empty() || path.starts_with(&format!("{root}/"))
    };
    let mut lists = ix
        .files
        .iter()
        .filter(|f| !f.part.drf_permissions.is_empty() && governs(f.path))
        .map(|f| &f.part.drf_permissions)
        .peekable();
    lists.peek().is_some()
        && lists.all(|l| {
            l.iter().any(|name| {
                model_permissions(name)
                    || ix.files.iter().any(|f| {
                        f.part.classes.iter().any(|c| {
                            c.name == *name
                                && !c.local
                                && c.bases.iter().any(|b| model_permissions(b))
                        })
                    })
                    || ix.files.iter().any(|f| {
                        f.part.classes.iter().enumerate().any(|(ci, c)| {
                            c.name == *name
                                && !c.local
                                && f.part.functions.iter().any(|m| {
                                    m.class == Some(ci) && m.name == "has_object_permission"
                                })
                        })
                    })
            })
        })
}

/// DRF's permission classes that grant access per model (`DjangoModelPermissions`,
/// `DjangoModelPermissionsOrAnonReadOnly`, `DjangoObjectPermissions`).
fn model_permissions(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    last.starts_with("DjangoModelPermissions") || last.starts_with("DjangoObjectPermissions")
}

/// Whether the per-file finding at `at` is the generic load of a DRF view that relies on
/// the default permission classes: the `queryset =` or `def get_queryset` of a class whose
/// chain in this file sets no `permission_classes`, overrides neither `get_permissions` nor
/// `get_object`, and derives from a DRF view or viewset.
fn generic_drf_load(text: &str, at: usize) -> bool {
    static HEADER: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?m)^class[ \t]+(\w+)[ \t]*(?:\(([^)]*)\))?[ \t]*:").expect("static regex")
    });
    static DRF_VIEW: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(ViewSet|APIView)$").expect("static regex"));
    let line_start = text
        .get(..at)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let line = text.get(line_start..).unwrap_or("").trim_start();
    // The load itself, or the header of a top-level class (a viewset reported at its class,
    // whose generic `retrieve`/`update` load by the `queryset` it declares).
    let header = text.get(line_start..).unwrap_or("").starts_with("class ");
    if !(line.starts_with("queryset") || line.starts_with("def get_queryset") || header) {
        return false;
    }
    let at = if header {
        text.get(line_start..)
            .and_then(|t| t.find('\n'))
            .map_or(at, |i| line_start + i + 1)
    } else {
        at
    };
    if !text.contains("rest_framework") {
        return false;
    }
    // The body of a top-level class: from its header to the next line at column 0.
    let body_of = |start: usize| {
        let rest = text.get(start..).unwrap_or("");
        let first = rest.find('\n').map_or(rest.len(), |i| i + 1);
        let mut end = first;
        for l in rest[first..].split_inclusive('\n') {
            if l.starts_with(|c: char| !c.is_whitespace() && c != '#') {
                break;
            }
            end += l.len();
        }
        start..start + end
    };
    let Some(owner) = HEADER
        .captures_iter(text)
        .filter(|c| c.get(0).is_some_and(|m| m.start() < at))
        .last()
    else {
        return false;
    };
    if !body_of(owner.get(0).map_or(0, |m| m.start())).contains(&at) {
        return false;
    }
    let mut chain = vec![owner];
    let mut drf = false;
    let mut i = 0;
    while i < chain.len() && chain.len() < 8 {
        let c = &chain[i];
        let body = text
            .get(body_of(c.get(0).map_or(0, |m| m.start())))
            .unwrap_or("");
        if body.contains("permission_classes")
            || body.contains("def get_permissions")
            || body.contains("def get_object")
        {
            return false;
        }
        let bases: Vec<String> = c
            .get(2)
            .map(|b| b.as_str())
            .unwrap_or("")
            .split(',')
            .map(|b| b.trim())
            .filter(|b| !b.is_empty() && !b.contains('='))
            .map(|b| b.rsplit('.').next().unwrap_or(b).to_string())
            .collect();
        for b in bases {
            if let Some(parent) = HEADER
                .captures_iter(text)
                .find(|p| p.get(1).is_some_and(|n| n.as_str() == b))
            {
                if !chain.iter().any(|x| x.get(0) == parent.get(0)) {
                    chain.push(parent);
                }
            } else if DRF_VIEW.is_match(&b) {
                drf = true;
            }
        }
        i += 1;
    }
    drf
}
