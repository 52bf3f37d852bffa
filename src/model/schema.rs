//! Schema model from `.sql` files: tables, columns, unique constraints and indexes, foreign
//! keys. Each file contributes what its statements declare (a `CREATE TABLE`, or only an
//! `ALTER TABLE`/`CREATE INDEX` on a table declared elsewhere); repository checks merge
//! the pieces by table name, so a schema spread over many migrations is seen whole.
//!
//! Extraction is textual over each statement (quotes, comments and nesting respected):
//! the tree-sitter SQL grammar drops table constraints it does not know into ERROR nodes,
//! and a missed `UNIQUE` there would turn into a false finding.

use crate::model::sql::{tokens, Tok};
use crate::model::summary::Located;
use crate::source::lang::Lang;
use crate::source::re;
use crate::source::SourceFile;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// What one file declares about one table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDef {
    /// Table name (last segment, unquoted, lower-case) where it is declared or altered.
    pub name: Located,
    /// Whether this piece is the `CREATE TABLE` itself.
    #[serde(default)]
    pub created: bool,
    /// Whether the file looks like MySQL/SQLite rather than PostgreSQL.
    #[serde(default)]
    pub not_postgres: bool,
    /// Columns (`name` lower-case, `detail` = type as written), at their definition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<Located>,
    /// Column sets with a uniqueness guarantee (primary key, UNIQUE, unique index).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unique: Vec<Vec<String>>,
    /// Column lists of plain (non-unique) indexes, in index order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Vec<String>>,
    /// Foreign keys: `name` = first referencing column, `detail` = referenced table.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<Located>,
    /// Where the piece comes from: empty for SQL, else `sqlalchemy`, `sqlmodel`, `django`
    /// or `alembic` (see `crate::model::orm`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub orm: String,
    /// The ORM class declaring the table, if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// Constraint name of each foreign key, aligned with `foreign_keys` (explicit, or
    /// PostgreSQL's default `{table}_{column}_fkey`). SQL pieces only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fk_names: Vec<String>,
    /// Later changes this statement makes to the table (`DROP TABLE`, renames, dropped
    /// columns and constraints), in order, applied after what it adds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// ORM: foreign-key columns declaring `ondelete="CASCADE"`/`"SET NULL"` (deletes of
    /// the parent are part of the design).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub on_delete: Vec<String>,
    /// ORM: the class's `relationship(...)` attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relations: Vec<Relation>,
    /// Columns this piece declares optional on purpose: an explicit `NULL` constraint,
    /// `nullable=True`, `Mapped[Optional[...]]`, Django `null=True`, or a column added to
    /// an existing table with no `NOT NULL` and no `DEFAULT` (empty on every older row).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nullable: Vec<String>,
    /// ORM: columns the model's own methods copy, normalised, into a single unique column
    /// (Django `self.slug = slugify(self.username)` with `slug` unique): the database keeps
    /// them unique through it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unique_through: Vec<String>,
}

/// An ORM `relationship(...)` of a model class: the class it loads, the association table
/// it goes through, whether it also declares the other side (`backref=`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relation {
    pub target: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub secondary: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub backref: bool,
    /// `back_populates=` or `backref=`: the other side loads this class too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paired: bool,
}

/// A change to an existing table that a migration replay applies (see
/// `checks::integrity::schema_keys`). Names are lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    DropTable,
    RenameTable(String),
    RenameColumn(String, String),
    DropColumn(String),
    DropConstraint(String),
    RenameConstraint(String, String),
    /// `ALTER COLUMN c SET NOT NULL`: the column is required from then on.
    SetNotNull(String),
}

/// `down.sql`, `*.down.sql`, `*_down.sql`: a rollback migration, which describes an
/// earlier schema and is never part of the current one.
pub fn is_rollback_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    name == "down.sql" || name.ends_with(".down.sql") || name.ends_with("_down.sql")
}

/// The unique column sets of the tables a Python file's string literals create: a schema
/// the code runs itself (`_SCHEMA = """CREATE TABLE members (.., PRIMARY KEY (team_id,
/// user_id))"""`, `op.execute("CREATE UNIQUE INDEX ..")`), by table name.
pub fn embedded_unique(root: tree_sitter::Node<'_>, src: &str) -> Vec<(String, Vec<Vec<String>>)> {
    static DDL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)\bCREATE\s+(?:UNIQUE\s+INDEX|TABLE)\b").expect("static regex")
    });
    let mut out: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    if !DDL.is_match(src) {
        return out;
    }
    crate::model::facts::visit(root, |n| {
        if !matches!(n.kind(), "string" | "concatenated_string") {
            return true;
        }
        let Some(value) = crate::model::facts::python::string_value(n, src) else {
            return false;
        };
        if !DDL.is_match(&value) {
            return false;
        }
        let file = SourceFile::new("embedded.sql".to_string(), Lang::Sql, value);
        for t in tables(&file) {
            if t.unique.is_empty() {
                continue;
            }
            match out.iter_mut().find(|(name, _)| *name == t.name.name) {
                Some((_, sets)) => {
                    for u in t.unique {
                        if !sets.contains(&u) {
                            sets.push(u);
                        }
                    }
                }
                None => out.push((t.name.name, t.unique)),
            }
        }
        false
    });
    out
}

/// The tables a SQL file declares or alters.
pub fn tables(file: &SourceFile) -> Vec<TableDef> {
    if is_rollback_file(&file.rel) {
        return Vec::new();
    }
    let text = file.text.as_str();
    let not_postgres = {
        let l = text.to_ascii_lowercase();
        l.contains("engine=")
            || l.contains("engine =")
            || l.contains("auto_increment")
            || l.contains("autoincrement")
            || text.contains('`')
    };
    let mut out: Vec<TableDef> = Vec::new();
    for (s, e) in crate::model::sql::split_statements(text) {
        let stmt = &text[s..e];
        let toks = tokens(stmt);
        let words: Vec<String> = toks
            .iter()
            .take(12)
            .map(|t| t.text.to_ascii_uppercase())
            .collect();
        let w = |i: usize| words.get(i).map_or("", String::as_str);
        if w(0) == "CREATE" {
            let mut i = 1;
            while matches!(
                w(i),
                "GLOBAL" | "LOCAL" | "TEMP" | "TEMPORARY" | "UNLOGGED" | "OR" | "REPLACE"
            ) {
                i += 1;
            }
            if matches!(w(1), "TEMP" | "TEMPORARY" | "GLOBAL" | "LOCAL") {
                continue;
            }
            if w(i) == "TABLE" {
                if let Some(t) = create_table(file, s, stmt, &toks, i + 1) {
                    out.push(TableDef { not_postgres, ..t });
                }
            } else if w(i) == "UNIQUE" && w(i + 1) == "INDEX" || w(i) == "INDEX" {
                if let Some(t) = create_index(file, s, stmt, &toks, i) {
                    out.push(TableDef { not_postgres, ..t });
                }
            }
        } else if w(0) == "ALTER" && w(1) == "TABLE" {
            if let Some(t) = alter_table(file, s, stmt, &toks) {
                out.push(TableDef { not_postgres, ..t });
            }
        } else if w(0) == "DROP" && w(1) == "TABLE" {
            // DROP TABLE [IF EXISTS] a, b [CASCADE]
            let mut i = 2;
            if w(2) == "IF" {
                i = 4;
            }
            while let Some((name, name_tok, next)) = qualified_name(&toks, i) {
                let Some(name_t) = toks.iter().find(|t| t.start == name_tok) else {
                    break;
                };
                out.push(TableDef {
                    name: loc(file, s, name_t, &name, ""),
                    not_postgres,
                    changes: vec![Change::DropTable],
                    ..TableDef::default()
                });
                if toks.get(next).is_none_or(|t| t.text != ",") {
                    break;
                }
                i = next + 1;
            }
        }
    }
    out
}

fn upper(t: &Tok<'_>) -> String {
    t.text.to_ascii_uppercase()
}

/// A possibly qualified name starting at token `i`: its last segment and the index after.
fn qualified_name(toks: &[Tok<'_>], mut i: usize) -> Option<(String, usize, usize)> {
    let first = toks.get(i)?;
    if first.text == "(" {
        return None;
    }
    let mut name = first.text;
    let mut at = first.start;
    i += 1;
    while toks.get(i).is_some_and(|t| t.text == ".") {
        let n = toks.get(i + 1)?;
        name = n.text;
        at = n.start;
        i += 2;
    }
    let _ = at;
    Some((name.to_ascii_lowercase(), first.start, i))
}

/// Items of the parenthesised list opening at token `open`: token index ranges split at
/// top-level commas, and the index after the closing parenthesis.
fn paren_items(toks: &[Tok<'_>], open: usize) -> Option<(Vec<(usize, usize)>, usize)> {
    if toks.get(open)?.text != "(" {
        return None;
    }
    let d = toks[open].depth + 1;
    let mut items = Vec::new();
    let mut s = open + 1;
    let mut i = open + 1;
    while i < toks.len() {
        let t = &toks[i];
        if t.depth + 1 == d && t.text == ")" {
            if i > s {
                items.push((s, i));
            }
            return Some((items, i + 1));
        }
        if t.depth == d && t.text == "," {
            items.push((s, i));
            s = i + 1;
        }
        i += 1;
    }
    if i > s {
        items.push((s, i));
    }
    Some((items, i))
}

/// Column names of a `(a, b DESC, lower(c))` list: plain names, and the first name
/// inside an expression.
fn column_list(toks: &[Tok<'_>], open: usize) -> Vec<String> {
    let Some((items, _)) = paren_items(toks, open) else {
        return Vec::new();
    };
    items
        .into_iter()
        .filter_map(|(s, e)| {
            let item = &toks[s..e];
            let word = |t: &&Tok<'_>| {
                t.text
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
            };
            if item.len() > 1 && item.get(1).is_some_and(|t| t.text == "(") {
                // lower(email): the argument.
                item[2..]
                    .iter()
                    .find(word)
                    .map(|t| t.text.to_ascii_lowercase())
            } else {
                item.first()
                    .filter(word)
                    .map(|t| t.text.to_ascii_lowercase())
            }
        })
        .collect()
}

fn loc(file: &SourceFile, base: usize, t: &Tok<'_>, name: &str, detail: &str) -> Located {
    let start = base + t.start;
    let len = if t.text.len() + 2 <= file.text.len() - start
        && file.text[start..].starts_with(['"', '`', '['])
    {
        t.text.len() + 2
    } else {
        t.text.len()
    };
    Located::at(file, start, start + len, name, detail)
}

fn create_table(
    file: &SourceFile,
    base: usize,
    _stmt: &str,
    toks: &[Tok<'_>],
    mut i: usize,
) -> Option<TableDef> {
    if toks.get(i).map(upper).as_deref() == Some("IF") {
        i += 3;
    }
    let (name, name_tok, next) = qualified_name(toks, i)?;
    let name_t = toks.iter().find(|t| t.start == name_tok)?;
    let mut def = TableDef {
        name: loc(file, base, name_t, &name, ""),
        created: true,
        ..TableDef::default()
    };
    let (items, _) = paren_items(toks, next)?;
    for (s, e) in items {
        table_element(file, base, &toks[s..e], toks, s, &mut def, false);
    }
    Some(def)
}

/// One element of a table body or an `ALTER TABLE ... ADD`: a column definition or a
/// table constraint. `all`/`at` locate the element in the statement's tokens.
fn table_element(
    file: &SourceFile,
    base: usize,
    item: &[Tok<'_>],
    all: &[Tok<'_>],
    at: usize,
    def: &mut TableDef,
    alter: bool,
) {
    let mut j = 0;
    let up = |k: usize| item.get(k).map(upper).unwrap_or_default();
    let mut constraint = None;
    if up(0) == "CONSTRAINT" {
        j = 2;
        constraint = item
            .get(1)
            .map(|t| t.text.trim_matches('"').to_ascii_lowercase());
    }
    let open_after = |k: usize| {
        (k..item.len())
            .find(|&x| item[x].text == "(")
            .map(|x| at + x)
    };
    match up(j).as_str() {
        "PRIMARY" | "UNIQUE" => {
            if let Some(o) = open_after(j) {
                let cols = column_list(all, o);
                if !cols.is_empty() {
                    def.unique.push(cols);
                }
            }
        }
        "FOREIGN" => {
            if let Some(o) = open_after(j) {
                let cols = column_list(all, o);
                let refs = item.iter().position(|t| upper(t) == "REFERENCES");
                if let (Some(c), Some(r)) = (cols.first(), refs) {
                    let target = qualified_name(item, r + 1).map(|x| x.0).unwrap_or_default();
                    // Locate at the column name inside the parentheses.
                    let tok = all[o + 1..]
                        .iter()
                        .find(|t| t.text.eq_ignore_ascii_case(c))
                        .unwrap_or(&item[0]);
                    def.foreign_keys.push(loc(file, base, tok, c, &target));
                    let name = constraint
                        .clone()
                        .unwrap_or_else(|| format!("{}_{c}_fkey", def.name.name));
                    def.fk_names.push(name);
                }
            }
        }
        "KEY" | "INDEX" => {
            if let Some(o) = open_after(j) {
                let cols = column_list(all, o);
                if !cols.is_empty() {
                    def.indexes.push(cols);
                }
            }
        }
        "CHECK" | "EXCLUDE" | "LIKE" | "FULLTEXT" | "SPATIAL" | "PERIOD" => {}
        _ => {
            // Column definition: name type [constraints].
            let Some(name_t) = item.get(j) else { return };
            if name_t.text == "(" {
                return;
            }
            let name = name_t.text.to_ascii_lowercase();
            let ty = item.get(j + 1).map_or("", |t| t.text);
            def.columns.push(loc(file, base, name_t, &name, ty));
            let ups: Vec<String> = item[j + 1..].iter().map(upper).collect();
            let has = |w: &str| ups.iter().any(|u| u == w);
            let pk = ups.windows(2).any(|p| p[0] == "PRIMARY" && p[1] == "KEY");
            if has("UNIQUE") || pk {
                def.unique.push(vec![name.clone()]);
            }
            let not_null = ups.windows(2).any(|p| p[0] == "NOT" && p[1] == "NULL");
            let explicit_null = ups.iter().enumerate().any(|(k, u)| {
                u == "NULL" && k > 0 && !matches!(ups[k - 1].as_str(), "NOT" | "DEFAULT")
            });
            if !not_null && !pk && (explicit_null || alter && !has("DEFAULT")) {
                def.nullable.push(name.clone());
            }
            if let Some(r) = ups.iter().position(|u| u == "REFERENCES") {
                let target = qualified_name(item, j + 1 + r + 1)
                    .map(|x| x.0)
                    .unwrap_or_default();
                def.foreign_keys
                    .push(loc(file, base, name_t, &name, &target));
                let cname = constraint
                    .clone()
                    .unwrap_or_else(|| format!("{}_{name}_fkey", def.name.name));
                def.fk_names.push(cname);
            }
        }
    }
}

fn alter_table(file: &SourceFile, base: usize, _stmt: &str, toks: &[Tok<'_>]) -> Option<TableDef> {
    let mut i = 2;
    loop {
        match toks.get(i).map(upper).as_deref() {
            Some("ONLY") => i += 1,
            Some("IF") => i += 2,
            _ => break,
        }
    }
    let (name, name_tok, next) = qualified_name(toks, i)?;
    let name_t = toks.iter().find(|t| t.start == name_tok)?;
    let mut def = TableDef {
        name: loc(file, base, name_t, &name, ""),
        ..TableDef::default()
    };
    // Actions split at top-level commas.
    let mut s = next;
    let mut k = next;
    while k <= toks.len() {
        if k == toks.len() || (toks[k].depth == 0 && matches!(toks[k].text, "," | ";")) {
            let action = &toks[s..k];
            if let Some(c) = alter_change(action) {
                def.changes.push(c);
            }
            if action.first().map(upper).as_deref() == Some("ADD") {
                let mut j = 1;
                if action.get(j).map(upper).as_deref() == Some("COLUMN") {
                    j += 1;
                }
                if action.get(j).map(upper).as_deref() == Some("IF") {
                    j += 3;
                }
                if j < action.len() {
                    table_element(file, base, &action[j..], toks, s + j, &mut def, true);
                }
            }
            s = k + 1;
        }
        k += 1;
    }
    Some(def)
}

/// The change an `ALTER TABLE` action makes: `RENAME [COLUMN] a TO b`, `RENAME TO t`,
/// `RENAME CONSTRAINT a TO b`, `DROP [COLUMN] [IF EXISTS] c`, `DROP CONSTRAINT [IF EXISTS] n`.
fn alter_change(action: &[Tok<'_>]) -> Option<Change> {
    let ups: Vec<String> = action.iter().take(7).map(upper).collect();
    let w = |i: usize| ups.get(i).map_or("", String::as_str);
    let name = |i: usize| {
        action
            .get(i)
            .map(|t| t.text.trim_matches('"').to_ascii_lowercase())
    };
    match (w(0), w(1)) {
        ("RENAME", "TO") => {
            let t = name(2)?;
            let t = t.rsplit('.').next().unwrap_or(&t).to_string();
            Some(Change::RenameTable(t))
        }
        ("RENAME", "CONSTRAINT") if w(3) == "TO" => {
            Some(Change::RenameConstraint(name(2)?, name(4)?))
        }
        ("RENAME", "COLUMN") if w(3) == "TO" => Some(Change::RenameColumn(name(2)?, name(4)?)),
        ("RENAME", _) if w(2) == "TO" => Some(Change::RenameColumn(name(1)?, name(3)?)),
        ("DROP", "CONSTRAINT") => {
            let i = if w(2) == "IF" { 4 } else { 2 };
            Some(Change::DropConstraint(name(i)?))
        }
        ("DROP", "COLUMN") => {
            let i = if w(2) == "IF" { 4 } else { 2 };
            Some(Change::DropColumn(name(i)?))
        }
        ("ALTER", _) => {
            let i = if w(1) == "COLUMN" { 2 } else { 1 };
            let set_not_null = ups
                .get(i + 1..i + 4)
                .is_some_and(|x| x == ["SET", "NOT", "NULL"]);
            if set_not_null {
                Some(Change::SetNotNull(name(i)?))
            } else {
                None
            }
        }
        ("DROP", x) if !matches!(x, "" | "DEFAULT" | "NOT" | "IDENTITY" | "EXPRESSION") => {
            let i = if x == "IF" { 3 } else { 1 };
            Some(Change::DropColumn(name(i)?))
        }
        _ => None,
    }
}

fn create_index(
    file: &SourceFile,
    base: usize,
    _stmt: &str,
    toks: &[Tok<'_>],
    i: usize,
) -> Option<TableDef> {
    let unique = toks.get(i).map(upper).as_deref() == Some("UNIQUE");
    let on = toks.iter().position(|t| t.depth == 0 && upper(t) == "ON")?;
    let mut j = on + 1;
    if toks.get(j).map(upper).as_deref() == Some("ONLY") {
        j += 1;
    }
    let (name, name_tok, mut next) = qualified_name(toks, j)?;
    let name_t = toks.iter().find(|t| t.start == name_tok)?;
    if toks.get(next).map(upper).as_deref() == Some("USING") {
        next += 2;
    }
    let cols = column_list(toks, next);
    if cols.is_empty() {
        return None;
    }
    let mut def = TableDef {
        name: loc(file, base, name_t, &name, ""),
        ..TableDef::default()
    };
    if unique {
        def.unique.push(cols);
    } else {
        def.indexes.push(cols);
    }
    Some(def)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::lang::Lang;

    #[test]
    fn tables_constraints_and_indexes() {
        let sql = "CREATE TABLE public.users (id bigserial PRIMARY KEY, email text NOT NULL UNIQUE,\n\
                   org_id bigint REFERENCES orgs(id), slug text, team_id int,\n\
                   CONSTRAINT u_slug UNIQUE (slug, org_id), FOREIGN KEY (team_id) REFERENCES teams (id));\n\
                   CREATE UNIQUE INDEX CONCURRENTLY idx ON users (lower(external_id));\n\
                   CREATE INDEX ON users USING btree (org_id);\n\
                   ALTER TABLE ONLY users ADD COLUMN handle text, ADD CONSTRAINT uq UNIQUE (handle);";
        let f = SourceFile::new("a.sql".into(), Lang::Sql, sql.into());
        let t = tables(&f);
        assert_eq!(t.len(), 4, "{t:#?}");
        let u = &t[0];
        assert_eq!(u.name.name, "users");
        let cols: Vec<&str> = u.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(cols, ["id", "email", "org_id", "slug", "team_id"]);
        assert!(u.unique.contains(&vec!["email".to_string()]));
        assert!(u
            .unique
            .contains(&vec!["slug".to_string(), "org_id".to_string()]));
        let fks: Vec<(&str, &str)> = u
            .foreign_keys
            .iter()
            .map(|f| (f.name.as_str(), f.detail.as_str()))
            .collect();
        assert_eq!(fks, [("org_id", "orgs"), ("team_id", "teams")]);
        assert_eq!(t[1].unique, [vec!["external_id".to_string()]]);
        assert_eq!(t[2].indexes, [vec!["org_id".to_string()]]);
        assert_eq!(t[3].columns[0].name, "handle");
        assert_eq!(t[3].unique, [vec!["handle".to_string()]]);
    }
}
