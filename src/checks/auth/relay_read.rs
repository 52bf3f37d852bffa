//! For AUTH001: a read-only route (GET/HEAD) whose handler, followed through the project
//! functions it calls, fetches what it answers from remote services over HTTP (release
//! manifests, a public catalogue) and touches nothing stored by this service: no row
//! loaded, looked up or written, no owner check, no datastore or file access, no call
//! that looks like one. There is no data of the service behind it to protect, so the
//! missing declaration is the pattern alone: low confidence. Also a route that only sets
//! or clears a preference cookie (the display language) and redirects, touching nothing
//! stored: public by design. A write route whose handler only builds its response can
//! change nothing but the visitor's own session: AUTH006 demotes it.

use crate::model::pyindex::{CallKind, ProjectIndex, Target};
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;

/// Libraries that reach stored data (databases, caches, object stores, files).
static STORE_LIB: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:sqlalchemy|sqlmodel|psycopg\w*|asyncpg|aiopg|sqlite3|aiosqlite|redis|aioredis|pymongo|motor|databases|peewee|tortoise|django|boto3|aioboto3|botocore|aiofiles|shutil|pathlib|os|io|builtins\.open|open)(?:\.|$)")
        .expect("static regex")
});

/// Parts of those libraries that reach no stored data: Django's request and response
/// classes, URL reversing, string and URL helpers, settings.
static HARMLESS_LIB: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"^django\.(?:http|urls|utils|conf|views\.i18n|views\.decorators|template\.response)(?:\.|$)|^django\.shortcuts\.(?:redirect|render)$",
    )
    .expect("static regex")
});

/// Clients that fetch over HTTP.
static HTTP_LIB: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:httpx|requests|aiohttp|urllib3?)(?:\.|$)").expect("static regex")
});

/// A call the index cannot follow that looks like stored-data access: a session, a
/// connection, a repository or `crud` module, a query method, a bare `get_x(..)` loader.
static STORE_CALL: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"(?i)(?:^|\.)(?:db|database|session|conn\w*|cursor|crud|repo\w*|storage|store|redis|cache|objects|settings_db)(?:\.|$)|\.(?:execute\w*|fetch(?:one|all|row|val|many)|scalars?|query|commit|filter(?:_by)?|select|insert|update|delete|first|one)$|^(?:open|get_\w+|load_\w+|read_\w+|find_\w+|fetch_\w+)$",
    )
    .expect("static regex")
});

const MAX_FUNCTIONS: usize = 48;
const MAX_DEPTH: usize = 6;

/// Whether route handler `h` of the index, followed through the project functions it
/// calls, fetches over HTTP and touches nothing stored.
pub fn relays_only(ix: &ProjectIndex<'_>, h: usize) -> bool {
    stateless(ix, h).is_some_and(|fetches| fetches)
}

/// Whether handler `h` only sets or clears a preference cookie (the display language,
/// the theme) or activates a language, then redirects, and touches nothing stored: a
/// page anyone may call, with no data of the service behind it.
pub fn sets_preference_only(ix: &ProjectIndex<'_>, h: usize) -> bool {
    static PREFERENCE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\.(?:set_cookie|delete_cookie)$|(?:^|\.)activate$").expect("static regex")
    });
    static REDIRECT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?:^|\.)(?:HttpResponse(?:Permanent)?Redirect|RedirectResponse|redirect)$")
            .expect("static regex")
    });
    // Django's `set_language` view, handed the request: it sets the language in the
    // session and cookie and answers with the redirect itself.
    static LANGUAGE_VIEW: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?:^|\.)set_language$").expect("static regex"));
    let calls = &ix.function(h).calls;
    let switches = calls.iter().any(|c| LANGUAGE_VIEW.is_match(&c.callee));
    (switches
        || calls.iter().any(|c| PREFERENCE.is_match(&c.callee))
            && calls.iter().any(|c| REDIRECT.is_match(&c.callee)))
        && stateless(ix, h).is_some()
}

/// Whether handler `h` only redirects: it calls nothing but redirect builders and URL
/// reversing, and at most looks the object of the path up first (`get_object_or_404`) to
/// build the target. Django views answer only with responses they build, so every answer is
/// a redirect to a page that checks its own access. `Some(false)`: nothing stored is read,
/// nothing to protect. `Some(true)`: the lookup tells whether the object exists (404 or
/// redirect), and nothing more of it.
pub fn redirects_only(ix: &ProjectIndex<'_>, h: usize) -> Option<bool> {
    static REDIRECT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?:^|\.)(?:HttpResponse(?:Permanent)?Redirect|redirect)$").expect("static regex")
    });
    static URL: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?:^|\.)reverse(?:_lazy)?$").expect("static regex"));
    static LOOKUP: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?:^|\.)get_object_or_404$").expect("static regex"));
    let f = ix.function(h);
    let calls = &f.calls;
    let allowed = |c: &str| REDIRECT.is_match(c) || URL.is_match(c) || LOOKUP.is_match(c);
    if !calls.iter().any(|c| REDIRECT.is_match(&c.callee))
        || !calls.iter().all(|c| allowed(&c.callee))
        || f.data.insert.is_some()
    {
        return None;
    }
    let looks_up = calls.iter().any(|c| LOOKUP.is_match(&c.callee));
    if !looks_up && stateless(ix, h).is_none() {
        return None;
    }
    Some(looks_up)
}

/// Whether handler `h` calls nothing but response builders (a response, a redirect,
/// URL reversing, a timestamp) and touches nothing stored: all it can change is the
/// visitor's own session or cookies (`request.session["dismissed"] = True`). The index
/// does not see what the session key is, so the finding is only demoted.
pub fn responds_only(ix: &ProjectIndex<'_>, h: usize) -> bool {
    static RESPONSE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?:^|\.)(?:HttpResponse\w*|JsonResponse|redirect|reverse(?:_lazy)?|render|url_for|time|int|str|bool)$")
            .expect("static regex")
    });
    let calls = &ix.function(h).calls;
    !calls.is_empty()
        && calls.iter().all(|c| RESPONSE.is_match(&c.callee))
        && stateless(ix, h) == Some(false)
}

/// Whether read handler `h` only builds its answer from constants: it calls nothing but
/// template and response builders, translation and URL helpers (a static page, the
/// translated strings of a widget), and touches nothing stored. Nothing of the service is
/// behind it to protect.
pub fn static_only(ix: &ProjectIndex<'_>, h: usize) -> bool {
    static STATIC: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?:^|\.)(?:render|render_template|TemplateResponse|HttpResponse|JsonResponse|jsonify|_|gettext\w*|ugettext\w*|pgettext\w*|ngettext\w*|reverse(?:_lazy)?|url_for|dict|list|str)$|^\w+\.(?:items|keys|values|format|join|append|insert|extend|sort)$")
            .expect("static regex")
    });
    // The handler's calls, and those of the project functions it calls (a helper that
    // returns a constant list), a few levels down.
    fn builds_constants(ix: &ProjectIndex<'_>, g: usize, depth: usize) -> bool {
        let f = ix.function(g);
        f.calls.iter().zip(&ix.targets[g]).all(|(c, t)| {
            STATIC.is_match(&c.callee)
                || matches!(t, Target::Project(w)
                    if c.kind == CallKind::Direct && depth < 3 && *w != g && builds_constants(ix, *w, depth + 1))
        })
    }
    !ix.function(h).calls.is_empty()
        && builds_constants(ix, h, 0)
        && stateless(ix, h) == Some(false)
}

/// Whether the functions of a read view (`fns`: a function view, or the methods of a class
/// view) scope what they read by the caller (`events_for_user(request.user, qs)`,
/// `Item.objects.filter(owner=request.user)`) and load nothing by an id: an anonymous
/// caller sees what anyone may see, the view needs no login to keep others' data private.
pub fn caller_scoped(ix: &ProjectIndex<'_>, fns: &[usize]) -> bool {
    let data = |g: usize| &ix.function(g).data;
    fns.iter().any(|&g| data(g).owner)
        && fns
            .iter()
            .all(|&g| data(g).load.is_none() && data(g).insert.is_none())
}

/// Handler `h`, followed through the project functions it calls: `None` if it touches
/// stored data (or may, past the depth limit), else whether it fetches over HTTP.
fn stateless(ix: &ProjectIndex<'_>, h: usize) -> Option<bool> {
    let mut seen = vec![h];
    let mut frontier = vec![h];
    let mut fetches = false;
    for _ in 0..MAX_DEPTH {
        let mut next = Vec::new();
        for &g in &frontier {
            let f = ix.function(g);
            let d = &f.data;
            if d.owner
                || d.load.is_some()
                || d.lookup.is_some()
                || d.insert.is_some()
                || !f.blocks.is_empty()
            {
                return None;
            }
            for (c, t) in f.calls.iter().zip(&ix.targets[g]) {
                match t {
                    Target::Project(w) => {
                        if c.kind != CallKind::Direct {
                            return None;
                        }
                        if !seen.contains(w) {
                            if seen.len() >= MAX_FUNCTIONS {
                                return None;
                            }
                            seen.push(*w);
                            next.push(*w);
                        }
                    }
                    Target::External(name) if HARMLESS_LIB.is_match(name) => {}
                    Target::External(name) if STORE_LIB.is_match(name) => return None,
                    Target::External(name) if HTTP_LIB.is_match(name) => fetches = true,
                    _ if STORE_CALL.is_match(&c.callee) => return None,
                    _ => {}
                }
            }
        }
        frontier = next;
    }
    // Functions left unread at the depth limit may reach anything.
    frontier.is_empty().then_some(fetches)
}

/// The handler of a route registered at byte `at` of file `path`: the first function
/// defined at or after it, named `handler` (a resource's method handler `Items.get` by its
/// own name).
pub fn handler_at(ix: &ProjectIndex<'_>, path: &str, at: usize, handler: &str) -> Option<usize> {
    let fi = ix.files.iter().position(|f| f.path == path)?;
    let handler = handler.rsplit('.').next().unwrap_or(handler);
    (0..ix.fns.len())
        .filter(|&g| ix.fns[g].file == fi && ix.function(g).start >= at)
        .min_by_key(|&g| ix.function(g).start)
        .filter(|&g| ix.function(g).name == handler)
}

/// The request-method handlers (`get`, `post`, ...) of class view `class` declared at or
/// after byte `at` of file `path`.
pub fn class_view_methods(ix: &ProjectIndex<'_>, path: &str, at: usize, class: &str) -> Vec<usize> {
    const METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head"];
    class_methods(ix, path, at, class)
        .into_iter()
        .filter(|&g| METHODS.contains(&ix.function(g).name.as_str()))
        .collect()
}

/// Every method of class `class` declared at or after byte `at` of file `path`.
pub fn class_methods(ix: &ProjectIndex<'_>, path: &str, at: usize, class: &str) -> Vec<usize> {
    let Some(fi) = ix.files.iter().position(|f| f.path == path) else {
        return Vec::new();
    };
    let classes = &ix.files[fi].part.classes;
    (0..ix.fns.len())
        .filter(|&g| ix.fns[g].file == fi && ix.function(g).start >= at)
        .filter(|&g| {
            ix.function(g)
                .class
                .and_then(|c| classes.get(c))
                .is_some_and(|c| c.name == class)
        })
        .collect()
}
