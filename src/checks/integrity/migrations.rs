//! Migration safety checks over `.sql` files (one statement per tree).

use crate::checks::{FileContext, Hit};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;
use tree_sitter::Node;

static CREATE_TABLE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r#"(?i)\bcreate\s+(?:(?:global\s+|local\s+)?(?:temp|temporary)\s+|unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?([\w."]+)"#,
    )
    .expect("static regex")
});
static CREATE_VIEW: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"(?i)\bcreate\s+materialized\s+view\s+(?:if\s+not\s+exists\s+)?([\w."]+)"#)
        .expect("static regex")
});
static NOT_POSTGRES: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(\bengine\s*=|\bauto_increment\b|\bautoincrement\b|`)").expect("static regex")
});

/// Last segment of a possibly qualified, possibly quoted name, lower-cased.
fn table_key(name: &str) -> String {
    name.rsplit('.')
        .next()
        .unwrap_or(name)
        .trim_matches('"')
        .to_ascii_lowercase()
}

/// Tables and materialized views the file creates (`CREATE TABLE ... AS` included).
fn tables_created_in(text: &str) -> HashSet<String> {
    CREATE_TABLE
        .captures_iter(text)
        .chain(CREATE_VIEW.captures_iter(text))
        .map(|c| table_key(&c[1]))
        .collect()
}

/// Which migration tool runs this `.sql` file, by its layout: Diesel
/// (`migrations/2024-01-01-000000_name/up.sql`) or sqlx (`20240101000000_name.sql`,
/// `.up.sql`). Both wrap a migration in a transaction, where CONCURRENTLY is refused.
fn concurrently_fix(path: &str) -> &'static str {
    static DIESEL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(^|/)\d{4}-\d{2}-\d{2}-\d{6}(-\d{4})?_[^/]+/up\.sql$").expect("static regex")
    });
    static SQLX: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(^|/)\d{8,14}_[^/]+\.sql$").expect("static regex"));
    if DIESEL.is_match(path) {
        "Diesel runs each migration in a transaction: use CREATE INDEX CONCURRENTLY in a migration whose metadata.toml sets `run_in_transaction = false`"
    } else if SQLX.is_match(path) {
        "sqlx runs each migration in a transaction: start the file with `-- no-transaction` and use CREATE INDEX CONCURRENTLY"
    } else {
        "use CREATE INDEX CONCURRENTLY, outside a transaction block"
    }
}

/// The migration targets SQLite (no CONCURRENTLY, no shared writers): the nearest
/// `Cargo.toml` above the file enables an sqlx/Diesel SQLite backend without a
/// PostgreSQL one, or the directory names SQLite. Read from disk once per directory.
fn sqlite_migration(rel: &str) -> bool {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;
    static SEEN: LazyLock<Mutex<HashMap<PathBuf, bool>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    if rel.to_ascii_lowercase().contains("sqlite") {
        return true;
    }
    let Some(dir) = Path::new(rel).parent() else {
        return false;
    };
    if let Ok(seen) = SEEN.lock() {
        if let Some(v) = seen.get(dir) {
            return *v;
        }
    }
    let mut cur = Some(dir);
    let mut verdict = false;
    for _ in 0..6 {
        let Some(d) = cur else { break };
        if let Ok(manifest) = std::fs::read_to_string(d.join("Cargo.toml")) {
            let m = manifest.to_ascii_lowercase();
            verdict = if m.contains("sqlite") || m.contains("postgres") {
                m.contains("sqlite") && !m.contains("postgres")
            } else {
                // A workspace dependency: the crate's own sources say which pool it opens.
                crate_sources_use_sqlite(&d.join("src"))
            };
            break;
        }
        cur = d.parent().filter(|p| !p.as_os_str().is_empty());
    }
    if let Ok(mut seen) = SEEN.lock() {
        seen.insert(dir.to_path_buf(), verdict);
    }
    verdict
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

/// The top-level `.rs` files of a crate's `src/` open SQLite (`sqlx::sqlite`,
/// `SqlitePool`, diesel `SqliteConnection`) and never PostgreSQL.
fn crate_sources_use_sqlite(src: &std::path::Path) -> bool {
    let Ok(entries) = std::fs::read_dir(src) else {
        return false;
    };
    let (mut sqlite, mut postgres) = (false, false);
    for e in entries.flatten().take(64) {
        let path = e.path();
        if path.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        sqlite |= text.contains("sqlx::sqlite")
            || text.contains("SqlitePool")
            || text.contains("SqliteConnection");
        postgres |= text.contains("PgPool")
            || text.contains("sqlx::postgres")
            || text.contains("PgConnection");
    }
    sqlite && !postgres
}

/// DATA004: `CREATE INDEX` without `CONCURRENTLY` on a table this file does not create.
pub fn index_without_concurrently(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    if ctx.file.lang == crate::source::lang::Lang::Python {
        return crate::checks::integrity::alembic::index_without_concurrently(ctx, out);
    }
    let src = ctx.file.text.as_str();
    let indexes = find_kind(ctx.tree.root_node(), "create_index");
    if indexes.is_empty()
        || NOT_POSTGRES.is_match(src)
        || crate::model::schema::is_rollback_file(&ctx.file.rel)
        || sqlite_migration(&ctx.file.rel)
    {
        return;
    }
    let mut created: Option<HashSet<String>> = None;
    for idx in indexes {
        let mut c = idx.walk();
        let children: Vec<Node<'_>> = idx.children(&mut c).collect();
        if children.iter().any(|n| n.kind() == "keyword_concurrently") {
            ctx.examined(true);
            continue;
        }
        let Some(table) = children.iter().find(|n| n.kind() == "object_reference") else {
            continue;
        };
        let name = table.utf8_text(src.as_bytes()).unwrap_or("");
        let created = created.get_or_insert_with(|| tables_created_in(src));
        // An index on a table the same migration creates locks nothing that is in use.
        if created.contains(&table_key(name)) {
            continue;
        }
        ctx.examined(false);
        out.push(
            Hit::new(idx.start_byte(), idx.end_byte())
                .var("table", name)
                .var("fix", concurrently_fix(&ctx.file.rel)),
        );
    }
}

/// DATA005: `ALTER TABLE ... ADD COLUMN c type NOT NULL` with no default (SQL), or its
/// Alembic form.
pub fn add_not_null_column(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    static NOT_NULL: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?i)\bnot\s+null\b").expect("static regex"));
    static FILLS: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)\b(default|generated|identity|serial|bigserial|smallserial|auto_increment)\b")
            .expect("static regex")
    });
    if ctx.file.lang == crate::source::lang::Lang::Python {
        return crate::checks::integrity::alembic::add_not_null_column(ctx, out);
    }
    let src = ctx.file.text.as_str();
    // A rollback restores an earlier shape and is run by hand, if ever.
    if crate::model::schema::is_rollback_file(&ctx.file.rel) {
        return;
    }
    let root = ctx.tree.root_node();
    for add in find_kind(root, "add_column") {
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
        // MySQL fills existing rows with the type's implicit default (0, ''), except for
        // dates, which strict mode rejects as zero dates.
        if mysql_flavoured(src) && !DATES.is_match(def_text) {
            continue;
        }
        let column = def
            .child_by_field_name("name")
            .and_then(|n| n.utf8_text(src.as_bytes()).ok())
            .unwrap_or("?");
        let (start, end) = crate::model::sql::unit_span(ctx.tree);
        if new_or_emptied(&src[start..end], &src[..start]) {
            continue;
        }
        out.push(Hit::new(add.start_byte(), add.end_byte()).var("column", column));
    }
}

static DATES: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)\b(date|datetime|timestamp|time|year)\b").expect("static regex")
});

/// A SQL file written for MySQL/MariaDB: backticks, `ENGINE=`, `AUTO_INCREMENT`, display
/// widths (`int(11)`), `TINYINT`, `UNSIGNED`, column positions (`AFTER c`, `FIRST`),
/// `CHANGE` column clauses, `SET FOREIGN_KEY_CHECKS`.
fn mysql_flavoured(src: &str) -> bool {
    static MYSQL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(
            r"(?im)`|\bengine\s*=|\bauto_increment\b|\b(?:tiny|small|medium|big)?int\s*\(\s*\d+\s*\)|\btinyint\b|\bunsigned\b|\bforeign_key_checks\b|\busing\s+btree\b|\b(?:null|\))\s+(?:after\s+[\w`]+|first)\b|^\s*change\s+(?:column\s+)?\w+\s+\w+\s+\w+",
        )
        .expect("static regex")
    });
    static COMMENT: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?m)--.*$|/\*(?s:.*?)\*/").expect("static regex"));
    MYSQL.is_match(&COMMENT.replace_all(src, ""))
}

/// The altered table was created, or emptied (`DELETE FROM t` without WHERE, `TRUNCATE`),
/// earlier in the same file: it has no rows for the NOT NULL column to reject.
fn new_or_emptied(stmt: &str, before: &str) -> bool {
    static ALTER: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?i)\balter\s+table\s+(?:only\s+)?(?:if\s+exists\s+)?([\w."]+)"#)
            .expect("static regex")
    });
    let Some(table) = ALTER.captures(stmt).map(|c| table_key(&c[1])) else {
        return false;
    };
    if tables_created_in(before).contains(&table) {
        return true;
    }
    let t = regex::escape(&table);
    let emptied = format!(
        r#"(?i)\b(?:delete\s+from\s+(?:only\s+)?(?:\w+\.)?"?{t}"?\s*;|truncate\s+(?:table\s+)?(?:only\s+)?(?:\w+\.)?"?{t}"?\b)"#
    );
    re::new(&emptied).is_ok_and(|r| r.is_match(before))
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
