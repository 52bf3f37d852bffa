//! Nested DRF views (`/projects/{project_pk}/features/{feature_pk}/options/`) whose scope
//! to the parent named in the URL is inconsistent inside one file, the two IDOR shapes real
//! fixes close:
//!
//! - a class loads a model by one URL keyword argument alone (`get_object_or_404(Feature,
//!   pk=self.kwargs["feature_pk"])`) while another of its methods loads the same model by
//!   that argument *and* the parent's (`Feature.objects.filter(project__id=project_pk)`):
//!   the permission class authorises the parent, and the unscoped load reaches any
//!   project's row;
//! - a view whose own permission classes are only the framework's (`[IsAuthenticated]`)
//!   scopes its queryset by a URL keyword argument (`environment_api_key`) that a sibling
//!   view of the same file guards with one of the project's permission classes
//!   (`NestedEnvironmentPermissions`): any signed-in user reaches any parent's rows.
//!
//! Both compare the file with itself, so they need no knowledge of the permission classes.

use crate::model::facts::python::{PyClass, PyFacts, PyFunction};
use crate::source::re;
use regex::Regex;
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// What a class does wrong and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeGap {
    pub start: usize,
    pub end: usize,
    /// The URL keyword argument the load or queryset uses.
    pub kwarg: String,
    /// Why it is a gap, for the trace.
    pub note: String,
}

/// `self.kwargs["project_pk"]`, `self.kwargs.get("project_pk")`.
static URL_KWARG: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"self\.kwargs\s*(?:\[\s*|\.get\(\s*)["'](\w+)["']"#).expect("static regex")
});
/// `project_pk = self.kwargs.get("project_pk")`.
static KWARG_ALIAS: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"(?m)^\s*(\w+)\s*=\s*self\.kwargs\s*(?:\[\s*|\.get\(\s*)["'](\w+)["']"#)
        .expect("static regex")
});
/// The model a statement loads: `Feature.objects...`, `get_object_or_404(Feature, ...)`.
static MODEL_LOAD: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\b([A-Z]\w*)\.objects\b|get_(?:object|list)_or_404\(\s*([A-Z]\w*)\s*[,)]")
        .expect("static regex")
});
/// The row's own key from a URL keyword argument: `pk=self.kwargs["feature_pk"]`, `id=feature_pk`.
static BY_KEY: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r#"\b(?:pk|id|uuid)\s*=\s*(?:self\.kwargs\s*(?:\[\s*|\.get\(\s*)["'](\w+)["']|(\w+)\b)"#,
    )
    .expect("static regex")
});
/// A URL keyword argument that names a stored object (not a page or a format).
fn names_object(kwarg: &str) -> bool {
    crate::model::routes::is_id_param(kwarg)
        || kwarg.ends_with("_key")
        || kwarg.ends_with("_slug")
        || kwarg.ends_with("_uuid")
}

fn methods<'f>(facts: &'f PyFacts, cls: &PyClass) -> Vec<&'f PyFunction> {
    facts
        .functions
        .iter()
        .filter(|f| {
            f.class.as_deref() == Some(cls.name.as_str())
                && f.start >= cls.start
                && f.end <= cls.end
        })
        .collect()
}

/// The statements of a body as byte ranges: lines joined while brackets are open.
fn statements(body: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    let mut depth = 0i32;
    let mut pos = 0;
    for line in body.split_inclusive('\n') {
        if start.is_none() {
            start = Some(pos);
        }
        for c in line.chars() {
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ => {}
            }
        }
        pos += line.len();
        if depth <= 0 {
            depth = 0;
            if let Some(s) = start.take() {
                out.push((s, pos));
            }
        }
    }
    if let Some(s) = start {
        out.push((s, pos));
    }
    out
}

fn word_in(hay: &str, w: &str) -> bool {
    hay.match_indices(w).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + w.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

/// One model load of a method: the model, the URL keyword arguments it uses, its range.
struct Load {
    model: String,
    kwargs: BTreeSet<String>,
    /// A keyword argument is the row's own key (`pk=...`, `id=...`), not a parent filter.
    by_key: bool,
    start: usize,
    end: usize,
}

fn loads(facts: &PyFacts, src: &str, cls: &PyClass) -> Vec<Load> {
    let mut out = Vec::new();
    for f in methods(facts, cls) {
        let body = src.get(f.body.0..f.body.1).unwrap_or("");
        let aliases: Vec<(String, String)> = KWARG_ALIAS
            .captures_iter(body)
            .map(|c| (c[1].to_string(), c[2].to_string()))
            .collect();
        for (s, e) in statements(body) {
            let stmt = &body[s..e];
            let Some(m) = MODEL_LOAD.captures(stmt) else {
                continue;
            };
            let model = m.get(1).or(m.get(2)).map_or("", |x| x.as_str()).to_string();
            let mut kwargs: BTreeSet<String> = URL_KWARG
                .captures_iter(stmt)
                .map(|c| c[1].to_string())
                .collect();
            for (alias, kw) in &aliases {
                // `project_pk = self.kwargs.get(...)` itself is not a use of it.
                if word_in(stmt, alias) && !stmt.trim_start().starts_with(alias.as_str()) {
                    kwargs.insert(kw.clone());
                }
            }
            kwargs.retain(|k| names_object(k));
            if kwargs.is_empty() {
                continue;
            }
            let names: Vec<&str> = aliases
                .iter()
                .filter(|(_, kw)| kwargs.contains(kw))
                .map(|(a, _)| a.as_str())
                .collect();
            let by_key = BY_KEY.captures_iter(stmt).any(|c| {
                c.get(1).is_some_and(|k| kwargs.contains(k.as_str()))
                    || c.get(2).is_some_and(|a| names.contains(&a.as_str()))
            });
            let lead = stmt.len() - stmt.trim_start().len();
            let text_end = s + stmt.trim_end().len();
            out.push(Load {
                model,
                kwargs,
                by_key,
                start: f.body.0 + s + lead,
                end: f.body.0 + text_end,
            });
        }
    }
    out
}

/// A load of a model by one URL keyword argument alone, where another load of the same
/// model in the class also filters by a parent's.
fn unscoped_parent_load(facts: &PyFacts, src: &str, cls: &PyClass) -> Option<ScopeGap> {
    let all = loads(facts, src, cls);
    for l in all.iter().filter(|l| l.kwargs.len() == 1 && l.by_key) {
        let Some(kw) = l.kwargs.iter().next() else {
            continue;
        };
        let scoped = all
            .iter()
            .find(|o| o.model == l.model && o.kwargs.len() > 1 && o.kwargs.contains(kw));
        if let Some(o) = scoped {
            let parent: Vec<&str> = o
                .kwargs
                .iter()
                .filter(|k| *k != kw)
                .map(String::as_str)
                .collect();
            return Some(ScopeGap {
                start: l.start,
                end: l.end,
                kwarg: kw.clone(),
                note: format!(
                    "`{}` is loaded by `{kw}` alone, while another method of `{}` also filters it by `{}` from the URL",
                    l.model,
                    cls.name,
                    parent.join("`, `")
                ),
            });
        }
    }
    None
}

/// URL keyword arguments the class's querysets are scoped by.
fn queryset_kwargs(facts: &PyFacts, src: &str, cls: &PyClass) -> BTreeSet<String> {
    methods(facts, cls)
        .into_iter()
        .filter(|f| f.name == "get_queryset")
        .flat_map(|f| {
            URL_KWARG
                .captures_iter(src.get(f.body.0..f.body.1).unwrap_or(""))
                .map(|c| c[1].to_string())
                .collect::<Vec<_>>()
        })
        .filter(|k| names_object(k))
        .collect()
}

/// The class's permission classes are the project's own (an attribute or `get_permissions`).
fn project_permissions(facts: &PyFacts, src: &str, cls: &PyClass) -> bool {
    cls.attrs.iter().any(|a| {
        a.name == "permission_classes"
            && crate::model::routes::custom_permission(facts, src, &a.value)
    }) || methods(facts, cls).iter().any(|f| {
        f.name == "get_permissions"
            && crate::model::routes::custom_permission(
                facts,
                src,
                src.get(f.body.0..f.body.1).unwrap_or(""),
            )
    })
}

/// A view with only the framework's permission classes whose queryset is scoped by a URL
/// keyword argument that a sibling view of the file guards with the project's own.
fn sibling_permission_gap(facts: &PyFacts, src: &str, cls: &PyClass) -> Option<ScopeGap> {
    let pc = cls.attrs.iter().find(|a| a.name == "permission_classes")?;
    if pc.value.trim_matches(['[', ']', '(', ')', ' ']).is_empty()
        || project_permissions(facts, src, cls)
        || methods(facts, cls).iter().any(|f| {
            matches!(
                f.name.as_str(),
                "get_permissions"
                    | "has_permission"
                    | "has_object_permission"
                    | "check_permissions"
            )
        })
    {
        return None;
    }
    let mine = queryset_kwargs(facts, src, cls);
    if mine.is_empty() {
        return None;
    }
    facts.classes.iter().find_map(|other| {
        if std::ptr::eq(other, cls) || !project_permissions(facts, src, other) {
            return None;
        }
        let shared = queryset_kwargs(facts, src, other)
            .into_iter()
            .find(|k| mine.contains(k))?;
        Some(ScopeGap {
            start: pc.start,
            end: pc.end,
            kwarg: shared.clone(),
            note: format!(
                "`{}` in the same file scopes its queryset by the same `{shared}` and guards it with the project's permission classes; this view has only `{}`",
                other.name,
                pc.value.trim()
            ),
        })
    })
}

/// The first scope gap of class `ci`, if any.
pub fn class_scope_gap(facts: &PyFacts, src: &str, ci: usize) -> Option<ScopeGap> {
    let cls = facts.classes.get(ci)?;
    unscoped_parent_load(facts, src, cls).or_else(|| sibling_permission_gap(facts, src, cls))
}

#[cfg(test)]
mod tests {
    use super::statements;

    #[test]
    fn statements_join_open_brackets() {
        let body = "a = f(\n  x,\n  y)\nb = 1\n";
        let s: Vec<&str> = statements(body).iter().map(|&(a, b)| &body[a..b]).collect();
        assert_eq!(s, vec!["a = f(\n  x,\n  y)\n", "b = 1\n"]);
    }
}
