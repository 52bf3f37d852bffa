//! Repository checks over the schema model merged across files (`.sql` migrations and ORM
//! models): natural-key columns with no unique constraint (DATA006) and foreign-key columns
//! with no index leading with them (DATA007).

use crate::checks::RepoHit;
use crate::model::schema::TableDef;
use crate::model::summary::RepoContext;
use regex::Regex;
use std::collections::BTreeMap;
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

/// DATA007: a foreign-key column (PostgreSQL) that no index leads with.
pub fn foreign_key_without_index(ctx: &RepoContext<'_>, out: &mut Vec<RepoHit>) {
    let mut postgres: Option<bool> = None;
    for (table, m) in merged(ctx) {
        for (path, t) in &m.pieces {
            let p = path.to_ascii_lowercase();
            if t.not_postgres || p.contains("mysql") || p.contains("sqlite") || p.contains("maria")
            {
                continue;
            }
            for fk in &t.foreign_keys {
                if m.index_leads_with(&fk.name) {
                    continue;
                }
                if !t.orm.is_empty()
                    && (sql_declares(&m, &fk.name)
                        || !*postgres.get_or_insert_with(|| uses_postgres(ctx)))
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
