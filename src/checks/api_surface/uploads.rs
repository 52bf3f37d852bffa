//! API004: an upload or request body read whole into memory with no size check.

use crate::checks::py::{body_node, request_path_functions};
use crate::checks::py::{call_parts, visit_same_scope};
use crate::checks::{FileContext, Hit};
use crate::model::facts::python::text;
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;

/// A size check anywhere in the function or a file-wide body limit.
static SIZE_CHECK: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)\.size\b|\blen\(\s*\w+\s*\)\s*[<>]|content[-_]length|\bMAX_\w*(?:SIZE|BYTES|LENGTH|UPLOAD)\w*|max_(?:size|bytes|upload\w*|body\w*)|spool_max_size|\.tell\(\)|\bseek\(")
        .expect("static regex")
});

/// Upload parameter annotations (FastAPI/Starlette).
fn is_upload_type(annotation: &str) -> bool {
    let a = annotation.trim();
    let a = a
        .strip_prefix("Annotated[")
        .map_or(a, |r| r.split(',').next().unwrap_or(r).trim());
    matches!(
        a,
        "UploadFile" | "fastapi.UploadFile" | "starlette.datastructures.UploadFile"
    ) || a.starts_with("list[UploadFile")
        || a.starts_with("List[UploadFile")
}

static ADMIN_ONLY: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| re::new(r"(?i)(admin|superuser|staff)").expect("static regex"));

pub fn upload_read_whole(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = crate::checks::py::route_facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    // Flask: `app.config["MAX_CONTENT_LENGTH"]` makes Werkzeug refuse larger bodies.
    let file_limit = src.contains("MAX_CONTENT_LENGTH") || src.contains("MAX_FORM_MEMORY_SIZE");
    for (fi, route, _) in request_path_functions(ctx, facts) {
        let Some(f) = facts.functions.get(fi) else {
            continue;
        };
        // An upload only administrators can send (`@admins_only`, a superuser dependency):
        // the uploader is trusted, there is no attacker-controlled memory pressure.
        let routes: Vec<_> = facts.routes.iter().filter(|r| r.function == fi).collect();
        if !routes.is_empty()
            && routes
                .iter()
                .all(|r| r.auth.as_deref().is_some_and(|a| ADMIN_ONLY.is_match(a)))
        {
            continue;
        }
        let mut uploads: Vec<&str> = f
            .params
            .iter()
            .filter(|p| p.annotation.as_deref().is_some_and(is_upload_type))
            .map(|p| p.name.as_str())
            .collect();
        let Some(body) = body_node(root, f) else {
            continue;
        };
        uploads.extend(form_uploads(body, src));
        if SIZE_CHECK.is_match(text(body, src)) {
            continue;
        }
        let mut first = None;
        visit_same_scope(body, |n| {
            if first.is_some() {
                return;
            }
            let Some((callee, last, args)) = call_parts(n, src) else {
                return;
            };
            // `.read()` with no size argument; `.read(-1)` is the same.
            let whole = args.named_child_count() == 0 || text(args, src).replace(' ', "") == "(-1)";
            let recv = callee.rsplit_once('.').map_or("", |(r, _)| r);
            let what = match last {
                "read" if whole => {
                    let base = recv.strip_suffix(".file").unwrap_or(recv);
                    if uploads.contains(&base) {
                        Some("the upload")
                    } else if !file_limit
                        && (base.starts_with("request.files[")
                            || base.starts_with("request.files.get("))
                        || base.starts_with("request.FILES[")
                        || base.starts_with("request.FILES.get(")
                    {
                        Some("the uploaded file")
                    } else {
                        None
                    }
                }
                _ => None,
            };
            if let Some(w) = what {
                first = Some((n, w));
            }
        });
        if let Some((n, what)) = first {
            out.push(
                Hit::new(n.start_byte(), n.end_byte())
                    .var(
                        "call",
                        text(n, src)
                            .split_whitespace()
                            .collect::<Vec<_>>()
                            .join(" "),
                    )
                    .var("what", what)
                    .var("route", route.clone())
                    .var("function", f.name.clone()),
            );
        }
    }
}

/// Names bound to the files of a form parsed by hand (Starlette/FastAPI):
/// `form = await request.form()`, then `upload = form.get("file")` or `form["file"]`.
fn form_uploads<'s>(body: tree_sitter::Node<'_>, src: &'s str) -> Vec<&'s str> {
    let mut forms: Vec<&str> = Vec::new();
    let mut files: Vec<&str> = Vec::new();
    visit_same_scope(body, |n| {
        if n.kind() != "assignment" {
            return;
        }
        let (Some(l), Some(r)) = (
            n.child_by_field_name("left"),
            n.child_by_field_name("right"),
        ) else {
            return;
        };
        if l.kind() != "identifier" {
            return;
        }
        let rhs = text(r, src).trim();
        let rhs = rhs.strip_prefix("await ").unwrap_or(rhs).trim();
        if rhs.ends_with(".form()") && rhs.contains("request") {
            forms.push(text(l, src));
        } else if forms
            .iter()
            .any(|fv| rhs.starts_with(&format!("{fv}.get(")) || rhs.starts_with(&format!("{fv}[")))
        {
            files.push(text(l, src));
        }
    });
    files
}
