//! Migration safety checks over `.sql` files (one statement per tree).

use crate::checks::{FileContext, Hit};
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;
use tree_sitter::Node;

static CREATE_TABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\bcreate\s+(?:(?:global\s+|local\s+)?(?:temp|temporary)\s+|unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?([\w."]+)"#,
    )
    .expect("static regex")
});
static NOT_POSTGRES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(\bengine\s*=|\bauto_increment\b|\bautoincrement\b|`)").expect("static regex")
});

/// Last segment of a possibly qualified, possibly quoted name, lower-cased.
fn table_key(name: &str) -> String {
    name.rsplit('.')
        .next()
        .unwrap_or(name)
        .trim_matches('"')
        .to_ascii_lowercase()
}

fn tables_created_in(text: &str) -> HashSet<String> {
    CREATE_TABLE
        .captures_iter(text)
        .map(|c| table_key(&c[1]))
        .collect()
}

fn find_kind<'t>(root: Node<'t>, kind: &str) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    crate::model::facts::visit(root, |node| {
        if node.kind() == kind {
            out.push(node);
            return false;
        }
        true
    });
    out
}

/// DATA004: `CREATE INDEX` without `CONCURRENTLY` on a table this file does not create.
pub fn index_without_concurrently(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    if ctx.file.lang == crate::source::lang::Lang::Python {
        return crate::checks::integrity::alembic::index_without_concurrently(ctx, out);
    }
    let src = ctx.file.text.as_str();
    let indexes = find_kind(ctx.tree.root_node(), "create_index");
    if indexes.is_empty() || NOT_POSTGRES.is_match(src) {
        return;
    }
    let mut created: Option<HashSet<String>> = None;
    for idx in indexes {
        let mut c = idx.walk();
        let children: Vec<Node<'_>> = idx.children(&mut c).collect();
        if children.iter().any(|n| n.kind() == "keyword_concurrently") {
            continue;
        }
        let Some(table) = children.iter().find(|n| n.kind() == "object_reference") else {
            continue;
        };
        let name = table.utf8_text(src.as_bytes()).unwrap_or("");
        let created = created.get_or_insert_with(|| tables_created_in(src));
        if created.contains(&table_key(name)) {
            continue;
        }
        out.push(Hit::new(idx.start_byte(), idx.end_byte()).var("table", name));
    }
}

/// DATA005: `ALTER TABLE ... ADD COLUMN c type NOT NULL` with no default (SQL), or its
/// Alembic form.
pub fn add_not_null_column(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    static NOT_NULL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)\bnot\s+null\b").expect("static regex"));
    static FILLS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(default|generated|identity|serial|bigserial|smallserial)\b")
            .expect("static regex")
    });
    if ctx.file.lang == crate::source::lang::Lang::Python {
        return crate::checks::integrity::alembic::add_not_null_column(ctx, out);
    }
    let src = ctx.file.text.as_str();
    for add in find_kind(ctx.tree.root_node(), "add_column") {
        let mut c = add.walk();
        let Some(def) = add
            .named_children(&mut c)
            .find(|n| n.kind() == "column_definition")
        else {
            continue;
        };
        let def_text = def.utf8_text(src.as_bytes()).unwrap_or("");
        if !NOT_NULL.is_match(def_text) || FILLS.is_match(def_text) {
            continue;
        }
        let column = def
            .child_by_field_name("name")
            .and_then(|n| n.utf8_text(src.as_bytes()).ok())
            .unwrap_or("?");
        out.push(Hit::new(add.start_byte(), add.end_byte()).var("column", column));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_tables_are_found() {
        let t = tables_created_in(
            "CREATE TABLE IF NOT EXISTS public.\"Orders\" (id int);\ncreate unlogged table jobs (id int);",
        );
        assert!(t.contains("orders") && t.contains("jobs"), "{t:?}");
    }
}
