//! Repository checks over the schema model merged across files (`.sql` migrations and ORM
//! models): natural-key columns with no unique constraint (DATA006) and foreign-key columns
//! with no index leading with them (DATA007).

use crate::checks::RepoHit;
use crate::model::schema::{Change, TableDef};
use crate::model::summary::Located;
use crate::model::summary::RepoContext;
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

/// A table merged over every file: the pieces in path order.
struct Merged<'a> {
    pieces: Vec<(&'a str, &'a TableDef)>,
}

impl Merged<'_> {
    fn unique_covers(&self, col: &str) -> bool {
        self.pieces
            .iter()
            .any(|(_, t)| t.unique.iter().any(|u| u.iter().any(|c| c == col)))
    }

    /// An index (unique or not) whose leading column is `col`.
    fn index_leads_with(&self, col: &str) -> bool {
        self.pieces.iter().any(|(_, t)| {
            t.unique
                .iter()
                .chain(t.indexes.iter())
                .any(|u| u.first().is_some_and(|c| c == col))
        })
    }
}

fn merged<'a>(ctx: &RepoContext<'a>) -> BTreeMap<&'a str, Merged<'a>> {
    let mut out: BTreeMap<&str, Merged<'_>> = BTreeMap::new();
    for (path, _, s) in ctx.files {
        for t in &s.tables {
            out.entry(t.name.name.as_str())
                .or_insert(Merged { pieces: Vec::new() })
                .pieces
                .push((path.as_str(), t));
        }
    }
    out
}

/// `(column pattern, tables where it identifies the row)`: an empty table pattern means
/// any table.
static NATURAL_KEYS: LazyLock<Vec<(Regex, Option<Regex>)>> = LazyLock::new(|| {
    let people = r"^(app_)?(users?|accounts?|members?|customers?|subscribers?|profiles?|people|persons?|admins?|employees?|identities|logins?|auth_users?)$";
    let r = |p: &str| Regex::new(p).expect("static regex");
    vec![
        (
            r(r"^(e_?mail(_address)?|user_?name|login|handle)$"),
            Some(r(people)),
        ),
        (r(r"^slug$"), None),
        (r(r"^(external_?id|idempotency_?key)$"), None),
        (
            r(r"^sku$"),
            Some(r(
                r"^(products?|items?|variants?|product_variants?|skus?|inventory)$",
            )),
        ),
    ]
});

/// How to add a uniqueness guarantee, in the terms of where the column is declared.
fn unique_fix(orm: &str) -> &'static str {
    match orm {
        "sqlalchemy" => {
            "add `unique=True` to the column or a `UniqueConstraint` to `__table_args__`"
        }
        "sqlmodel" => "declare it with `Field(unique=True)`",
        "django" => "add `unique=True` to the field or a `UniqueConstraint` to `Meta.constraints`",
        _ => "add a UNIQUE constraint or a unique index in a migration",
    }
}

/// How to index a foreign-key column.
fn index_fix(orm: &str) -> &'static str {
    match orm {
        "sqlalchemy" => "add `index=True` to the column or an `Index` to `__table_args__`",
        "sqlmodel" => "declare it with `Field(foreign_key=..., index=True)`",
        "django" => "remove `db_index=False` or add an `Index` to `Meta.indexes`",
        _ => "add an index leading with it in a migration",
    }
}

/// Whether a SQL piece of the table declares the column: then ORM pieces, which mirror
/// the SQL, are not reported a second time.
fn sql_declares(m: &Merged<'_>, col: &str) -> bool {
    m.pieces
        .iter()
        .any(|(_, t)| t.orm.is_empty() && t.columns.iter().any(|c| c.name == col))
}

/// DATA006: a natural key column with no unique constraint or unique index anywhere.
pub fn natural_key_without_unique(ctx: &RepoContext<'_>, out: &mut Vec<RepoHit>) {
    for (table, m) in merged(ctx) {
        for (path, t) in &m.pieces {
            let model = t.model.to_ascii_lowercase();
            for col in &t.columns {
                let natural = NATURAL_KEYS.iter().any(|(c, tables)| {
                    c.is_match(&col.name)
                        && tables.as_ref().is_none_or(|r| {
                            r.is_match(table) || !model.is_empty() && r.is_match(&model)
                        })
                });
                if !natural
                    || col.detail == crate::model::orm::OPTIONAL
                    || m.unique_covers(&col.name)
                    || !t.orm.is_empty() && sql_declares(&m, &col.name)
                {
                    continue;
                }
                out.push(RepoHit {
                    confidence: None,
                    path: path.to_string(),
                    at: col.clone(),
                    vars: vec![
                        ("column", col.name.clone()),
                        ("table", table.to_string()),
                        ("fix", unique_fix(&t.orm).to_string()),
                    ],
                });
            }
        }
    }
}

/// The repository uses PostgreSQL: a driver or PostgreSQL-specific module is imported or
/// declared. ORM models do not say which database they run on.
fn uses_postgres(ctx: &RepoContext<'_>) -> bool {
    const DRIVERS: &[&str] = &["psycopg", "psycopg2", "asyncpg", "pg8000"];
    const DISTS: &[&str] = &[
        "psycopg",
        "psycopg2",
        "psycopg2-binary",
        "psycopg-binary",
        "asyncpg",
        "pg8000",
    ];
    ctx.files.iter().any(|(_, _, s)| {
        s.imports.iter().any(|i| {
            DRIVERS.contains(&i.name.as_str())
                || i.detail.starts_with("sqlalchemy.dialects.postgresql")
                || i.detail.starts_with("django.contrib.postgres")
        }) || s.declared.iter().any(|d| {
            let n = d.name.to_ascii_lowercase().replace('_', "-");
            let n = n.split('[').next().unwrap_or("");
            DISTS.contains(&n)
        })
    })
}

/// A foreign key of the live schema: its column (after renames), constraint name, and
/// where it was declared.
struct LiveFk<'a> {
    column: String,
    constraint: String,
    at: &'a Located,
    path: &'a str,
    skip: bool,
}

/// A table of the live schema after replaying every SQL migration in path order.
#[derive(Default)]
struct LiveTable<'a> {
    fks: Vec<LiveFk<'a>>,
    /// Unique sets and indexes, column lists in index order.
    indexes: Vec<Vec<String>>,
}

impl LiveTable<'_> {
    fn leads_with(&self, col: &str) -> bool {
        self.indexes
            .iter()
            .any(|i| i.first().is_some_and(|c| c == col))
    }
}

/// Replays the SQL pieces (files sorted by path, statements in order): creations, added
/// columns, keys and indexes, then renames and drops of tables, columns and constraints.
/// What is left is the schema the migrations produce (rollback files are not in the model).
fn replay<'a>(ctx: &RepoContext<'a>) -> HashMap<String, LiveTable<'a>> {
    let mut live: HashMap<String, LiveTable<'a>> = HashMap::new();
    for (path, _, s) in ctx.files {
        let p = path.to_ascii_lowercase();
        let skip_file = p.contains("mysql") || p.contains("sqlite") || p.contains("maria");
        for t in s.tables.iter().filter(|t| t.orm.is_empty()) {
            let mut name = t.name.name.clone();
            if t.created {
                live.insert(name.clone(), LiveTable::default());
            }
            let table = live.entry(name.clone()).or_default();
            table
                .indexes
                .extend(t.unique.iter().chain(t.indexes.iter()).cloned());
            for (i, fk) in t.foreign_keys.iter().enumerate() {
                table.fks.push(LiveFk {
                    column: fk.name.clone(),
                    constraint: t
                        .fk_names
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| format!("{name}_{}_fkey", fk.name)),
                    at: fk,
                    path: path.as_str(),
                    skip: skip_file || t.not_postgres,
                });
            }
            for c in &t.changes {
                match c {
                    Change::DropTable => {
                        live.remove(&name);
                    }
                    Change::RenameTable(to) => {
                        if let Some(v) = live.remove(&name) {
                            live.insert(to.clone(), v);
                        }
                        name = to.clone();
                    }
                    Change::RenameColumn(a, b) => {
                        if let Some(v) = live.get_mut(&name) {
                            for fk in v.fks.iter_mut().filter(|f| &f.column == a) {
                                fk.column = b.clone();
                            }
                            for c in v.indexes.iter_mut().flatten().filter(|c| *c == a) {
                                *c = b.clone();
                            }
                        }
                    }
                    Change::DropColumn(col) => {
                        if let Some(v) = live.get_mut(&name) {
                            v.fks.retain(|f| &f.column != col);
                            v.indexes.retain(|i| !i.contains(col));
                        }
                    }
                    Change::DropConstraint(n) => {
                        if let Some(v) = live.get_mut(&name) {
                            v.fks.retain(|f| &f.constraint != n);
                        }
                    }
                    Change::RenameConstraint(a, b) => {
                        if let Some(v) = live.get_mut(&name) {
                            for fk in v.fks.iter_mut().filter(|f| &f.constraint == a) {
                                fk.constraint = b.clone();
                            }
                        }
                    }
                }
            }
        }
    }
    live
}

/// DATA007: a foreign-key column (PostgreSQL) that no index leads with. SQL foreign keys
/// are judged on the schema the migrations leave behind (renamed, dropped and later
/// indexed columns accounted for); ORM foreign keys on the model plus that schema.
pub fn foreign_key_without_index(ctx: &RepoContext<'_>, out: &mut Vec<RepoHit>) {
    let live = replay(ctx);
    let merged = merged(ctx);
    let mut sql_hits: Vec<(&str, &Located, String)> = Vec::new();
    for (table, l) in &live {
        for fk in l.fks.iter().filter(|f| !f.skip) {
            let orm_index = merged.get(table.as_str()).is_some_and(|m| {
                m.pieces.iter().any(|(_, t)| {
                    !t.orm.is_empty()
                        && t.unique
                            .iter()
                            .chain(t.indexes.iter())
                            .any(|u| u.first().is_some_and(|c| c == &fk.column))
                })
            });
            if l.leads_with(&fk.column) || orm_index {
                continue;
            }
            sql_hits.push((fk.path, fk.at, table.clone()));
        }
    }
    sql_hits.sort_by(|a, b| (a.0, a.1.start).cmp(&(b.0, b.1.start)));
    for (path, at, table) in sql_hits {
        out.push(RepoHit {
            confidence: None,
            path: path.to_string(),
            at: at.clone(),
            vars: vec![
                ("column", at.name.clone()),
                ("table", table),
                ("target", at.detail.clone()),
                ("fix", index_fix("").to_string()),
            ],
        });
    }
    let mut postgres: Option<bool> = None;
    for (table, m) in &merged {
        for (path, t) in &m.pieces {
            if t.orm.is_empty() {
                continue;
            }
            let p = path.to_ascii_lowercase();
            if t.not_postgres || p.contains("mysql") || p.contains("sqlite") || p.contains("maria")
            {
                continue;
            }
            for fk in &t.foreign_keys {
                if m.index_leads_with(&fk.name)
                    || live.get(*table).is_some_and(|l| l.leads_with(&fk.name))
                {
                    continue;
                }
                if sql_declares(m, &fk.name) || !*postgres.get_or_insert_with(|| uses_postgres(ctx))
                {
                    continue;
                }
                out.push(RepoHit {
                    confidence: None,
                    path: path.to_string(),
                    at: fk.clone(),
                    vars: vec![
                        ("column", fk.name.clone()),
                        ("table", table.to_string()),
                        ("target", fk.detail.clone()),
                        ("fix", index_fix(&t.orm).to_string()),
                    ],
                });
            }
        }
    }
}
