//! API-surface checks for axum and actix-web handlers: id path parameters extracted as
//! `String` while the service's ids are typed (API102), and page sizes from the query
//! string used without an upper bound (API101).

use crate::checks::rust::{each_node, rust_facts, text};
use crate::checks::{FileContext, Hit};
use crate::model::facts::rust::{split_top, ExtractorKind, TYPED_ID};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;

fn is_id_name(n: &str) -> bool {
    n == "id" || n.ends_with("_id") || n == "uuid" || n.ends_with("Id")
}

/// API102: an id path parameter extracted as `String` where the service's ids are typed.
pub fn id_path_param_string(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = &ctx.file.text;
    let Some(facts) = rust_facts(ctx) else { return };
    // (handler index, extractor index, param name, type)
    let mut params: Vec<(usize, usize, String, String)> = Vec::new();
    for (hi, h) in facts.handlers.iter().enumerate() {
        for (xi, x) in h.extractors.iter().enumerate() {
            if x.kind != ExtractorKind::Path {
                continue;
            }
            let types = split_top(&x.inner);
            let route_names: Option<Vec<String>> =
                facts.routes_of(hi).next().map(|r| r.path_params());
            let names: Vec<String> = match route_names {
                Some(n) if n.len() == types.len() => n,
                _ => {
                    // `Path((org_id, id))` / `Path(id)`: the bound names.
                    let pat = x.pattern.trim();
                    let pat = pat
                        .strip_prefix("Path(")
                        .or_else(|| pat.strip_prefix("web::Path("))
                        .and_then(|p| p.strip_suffix(')'))
                        .unwrap_or(pat);
                    let n = split_top(pat);
                    if n.len() != types.len() {
                        continue;
                    }
                    n
                }
            };
            for (n, t) in names.into_iter().zip(types) {
                params.push((hi, xi, n, t));
            }
        }
    }
    let typed = params
        .iter()
        .find(|(_, _, n, t)| is_id_name(n) && TYPED_ID.is_match(t))
        .map(|(_, _, n, t)| format!("{n}: {t}"));
    for (hi, xi, n, t) in &params {
        if !is_id_name(n) || !matches!(t.as_str(), "String" | "&str" | "std::string::String") {
            continue;
        }
        let h = &facts.handlers[*hi];
        let body = src.get(h.body_start..h.body_end).unwrap_or("");
        let parsed =
            body.contains("parse_str(") || body.contains(".parse::<") || body.contains(".parse()");
        let Some(evidence) = typed
            .clone()
            .or_else(|| parsed.then(|| "the handler parses it".to_string()))
        else {
            continue;
        };
        let x = &h.extractors[*xi];
        hits.push(
            Hit::new(x.start, x.end)
                .var("param", n.clone())
                .var("handler", h.name.clone())
                .var("evidence", evidence),
        );
    }
}

/// API101: a page-size field of a `Query<T>` struct used without an upper bound.
pub fn unclamped_page_size(ctx: &FileContext<'_>, hits: &mut Vec<Hit>) {
    let src = &ctx.file.text;
    let Some(facts) = rust_facts(ctx) else { return };
    static PAGE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(limit|per_page|page_size|pagesize|take|size|count|max_results|first|last)$")
            .expect("static regex")
    });
    // struct name -> [(field, validated)]
    let mut structs: Vec<(String, Vec<(String, bool)>)> = Vec::new();
    each_node(ctx.tree.root_node(), &["struct_item"], |s| {
        let (Some(name), Some(body)) =
            (s.child_by_field_name("name"), s.child_by_field_name("body"))
        else {
            return;
        };
        let mut fields = Vec::new();
        let mut c = body.walk();
        let mut attrs = String::new();
        for f in body.named_children(&mut c) {
            match f.kind() {
                "attribute_item" => attrs.push_str(text(f, src)),
                "field_declaration" => {
                    if let Some(n) = f.child_by_field_name("name") {
                        let ty = f
                            .child_by_field_name("type")
                            .map(|t| text(t, src))
                            .unwrap_or("");
                        let numeric = ty.contains("i32")
                            || ty.contains("i64")
                            || ty.contains("u32")
                            || ty.contains("u64")
                            || ty.contains("usize")
                            || ty.contains("u16")
                            || ty.contains("u8")
                            || ty.contains("isize");
                        let name = text(n, src).to_string();
                        if numeric && PAGE.is_match(&name) {
                            let validated = attrs.contains("range")
                                || attrs.contains("deserialize_with")
                                || attrs.contains("try_from");
                            fields.push((name, validated));
                        }
                    }
                    attrs.clear();
                }
                _ => attrs.clear(),
            }
        }
        if !fields.is_empty() {
            structs.push((text(name, src).to_string(), fields));
        }
    });
    if structs.is_empty() {
        return;
    }
    static BOUND: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\.clamp\(|\.min\(|cmp::min\(|\bmin\(|\.validate\(|Valid<|MAX_\w*|_MAX\b|> *\d+|>= *\d+|\.take\(\d").expect("static regex")
    });
    for h in &facts.handlers {
        for x in &h.extractors {
            if x.kind != ExtractorKind::Query {
                continue;
            }
            let ty = x.inner.rsplit("::").next().unwrap_or(&x.inner);
            let Some((_, fields)) = structs.iter().find(|(n, _)| n == ty) else {
                continue;
            };
            let body = src.get(h.body_start..h.body_end).unwrap_or("");
            if BOUND.is_match(body) || x.ty.contains("Valid") {
                continue;
            }
            for (field, validated) in fields {
                if *validated {
                    continue;
                }
                let needle = format!(".{field}");
                let Some(pos) = body.find(&needle) else {
                    continue;
                };
                let start = h.body_start + pos + 1;
                hits.push(
                    Hit::new(start, start + field.len())
                        .var("field", field.clone())
                        .var("handler", h.name.clone()),
                );
            }
        }
    }
}
