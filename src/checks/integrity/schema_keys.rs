//! Repository checks over the schema model merged across files (`.sql` migrations and ORM
//! models): natural-key columns with no unique constraint (DATA006) and foreign-key columns
//! with no index leading with them (DATA007).

use crate::checks::{Confidence, RepoHit};
use crate::model::schema::{Change, TableDef};
use crate::model::summary::Located;
use crate::model::summary::RepoContext;
use crate::source::re;
use regex::Regex;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::LazyLock;

/// A table merged over every file: the pieces in path order.
struct Merged<'a> {
    pieces: Vec<(&'a str, &'a TableDef)>,
}

impl Merged<'_> {
    fn unique_covers(&self, col: &str) -> bool {
        self.pieces.iter().any(|(_, t)| {
            t.unique.iter().any(|u| u.iter().any(|c| c == col))
                || t.unique_through.iter().any(|c| c == col)
        })
    }

    /// Whether some piece declares `col` optional (explicitly nullable, or added to an
    /// existing table with no `NOT NULL`) and none makes it required later.
    fn optional(&self, col: &str) -> bool {
        let declared = |c: &String| c == col;
        self.pieces
            .iter()
            .any(|(_, t)| t.nullable.iter().any(declared))
            && !self.pieces.iter().any(|(_, t)| {
                t.changes
                    .iter()
                    .any(|c| matches!(c, Change::SetNotNull(x) if x == col))
            })
    }

    /// A plain (non-unique) index some piece declares on purpose over `col`: `CREATE INDEX`
    /// (also on an expression such as `canon(username)`), `index=True`, `db_index=True`,
    /// `Index(...)`. A Django `slug` is left out: `SlugField` brings an index of its own
    /// accord, and the model does not say whether the field asked for it.
    fn plainly_indexed(&self, col: &str) -> bool {
        self.pieces.iter().any(|(_, t)| {
            !(t.orm == "django" && col == "slug")
                && t.indexes.iter().any(|i| i.iter().any(|c| c == col))
        })
    }

    /// A unique set of two or more columns, none of them `col`: the table's own identity.
    fn composite_key_without(&self, col: &str) -> bool {
        self.pieces.iter().any(|(_, t)| {
            t.unique
                .iter()
                .any(|u| u.len() >= 2 && !u.iter().any(|c| c == col))
        })
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
    let r = |p: &str| re::new(p).expect("static regex");
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

/// Whether `column` identifies a row of `table` (declared by the ORM class `model`, if any).
fn natural_key(table: &str, model: &str, column: &str) -> bool {
    let model = model.to_ascii_lowercase();
    NATURAL_KEYS.iter().any(|(c, tables)| {
        c.is_match(column)
            && tables
                .as_ref()
                .is_none_or(|r| r.is_match(table) || !model.is_empty() && r.is_match(&model))
    })
}

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
    // A lookup that names no table (`self.get(slug=x)` in a manager) in a file declaring
    // one model with that column is a lookup of that model: a custom manager lives next to
    // its model and finds that model's rows.
    let mut owned: Vec<String> = Vec::new();
    let mut lookups: HashSet<&str> = HashSet::new();
    for (_, _, s) in ctx.files {
        for l in &s.key_lookups {
            let own: Vec<&crate::model::schema::TableDef> = match l.strip_prefix("*.") {
                Some(col) => s
                    .tables
                    .iter()
                    .filter(|t| t.columns.iter().any(|c| c.name == col))
                    .collect(),
                None => Vec::new(),
            };
            match own.as_slice() {
                [t] => owned.push(format!("{}.{}", t.name.name, &l[2..])),
                _ => {
                    lookups.insert(l.as_str());
                }
            }
        }
    }
    lookups.extend(owned.iter().map(String::as_str));
    let merged = merged(ctx);
    // The tables declaring each natural-key column name with nothing unique over it.
    let mut holders: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (table, m) in &merged {
        for (_, t) in &m.pieces {
            for col in t
                .columns
                .iter()
                .filter(|c| natural_key(table, &t.model, &c.name) && !m.unique_covers(&c.name))
            {
                holders.entry(col.name.as_str()).or_default().insert(table);
            }
        }
    }
    // One report per column of a schema kept in one directory per dialect.
    let mut seen: HashSet<(String, String, String)> = HashSet::new();
    for (table, m) in merged {
        for (path, t) in &m.pieces {
            let model = t.model.to_ascii_lowercase();
            for col in &t.columns {
                let natural = natural_key(table, &model, &col.name);
                if !natural
                    || col.detail == crate::model::orm::OPTIONAL
                    || m.unique_covers(&col.name)
                    || !t.orm.is_empty() && sql_declares(&m, &col.name)
                {
                    continue;
                }
                let Some(lookup) = looked_up(&lookups, table, &t.model, &col.name) else {
                    continue;
                };
                if !seen.insert((table.to_string(), col.name.clone(), dialect_free(path))) {
                    continue;
                }
                // `filter(slug=x)`, `WHERE slug = ?` name no table: when several tables
                // carry the key with nothing unique over it, such a lookup says little
                // about this one.
                let shared = lookup == Lookup::Unnamed
                    && holders.get(col.name.as_str()).is_some_and(|n| n.len() > 1);
                // Such a lookup is weak evidence too where the table keys its rows by a
                // composite unique set of other columns (`unique_together = ("remote_id",
                // "vcs_provider")`): the row's identity is that set, and the key column is
                // likely a copy kept for display.
                let keyed_otherwise =
                    lookup == Lookup::Unnamed && m.composite_key_without(&col.name);
                // A column the schema leaves empty on some rows (a contact address, an
                // external sync id) is optional data rather than the row's identity: a
                // duplicate matters only if code relies on it, which the schema cannot say.
                // A plain index over the key shows the lookup was designed and uniqueness
                // left out on purpose (the code picks a row among duplicates, or the key
                // copies one kept unique elsewhere): only a key with no index at all is
                // likely an oversight.
                let confidence = (m.optional(&col.name)
                    || m.plainly_indexed(&col.name)
                    || shared
                    || keyed_otherwise)
                    .then_some(Confidence::Low);
                out.push(RepoHit {
                    confidence,
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

/// Whether code finds rows of `table` (declared by the ORM class `model`, if any) by
/// `column`: a duplicate only matters where a lookup expects one row. A lookup whose
/// qualifier names the table or the model (`users::email`, `User.email`), or that does
/// not say (`WHERE email = ?`), counts.
fn looked_up(lookups: &HashSet<&str>, table: &str, model: &str, column: &str) -> Option<Lookup> {
    let column = column.to_ascii_lowercase();
    let model = model.to_ascii_lowercase();
    let table = table.to_ascii_lowercase();
    let singular = table.strip_suffix('s').unwrap_or(&table);
    let squashed = table.replace('_', "");
    let mut found = None;
    for l in lookups {
        let Some((qual, col)) = l.rsplit_once('.') else {
            continue;
        };
        if col != column {
            continue;
        }
        if qual == "*" {
            found = Some(Lookup::Unnamed);
        } else if qual == table
            || qual == model
            || qual == singular
            || qual == squashed
            || squashed.strip_suffix('s') == Some(qual)
            || qual.strip_suffix("model") == Some(singular)
        {
            return Some(Lookup::Named);
        }
    }
    found
}

/// How code finds rows by a key: naming the table or model, or not saying which.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lookup {
    Named,
    Unnamed,
}

/// The path with its dialect directory (`mysql/`, `postgresql/`, `sqlite/`) left out:
/// the same migration written once per database.
fn dialect_free(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            let l = seg.to_ascii_lowercase();
            if matches!(
                l.as_str(),
                "mysql"
                    | "mariadb"
                    | "postgresql"
                    | "postgres"
                    | "pg"
                    | "sqlite"
                    | "sqlite3"
                    | "mssql"
            ) {
                "*"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
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
                    Change::SetNotNull(_) => {}
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
    let mut uses: Option<KeyUse<'_>> = None;
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
                let used = uses.get_or_insert_with(|| KeyUse::new(ctx, &merged));
                let confidence = (tenant_key(&fk.name, &fk.detail)
                    || !used.reads_by(table, t, &fk.name, &fk.detail))
                .then_some(crate::checks::Confidence::Low);
                out.push(RepoHit {
                    confidence,
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

/// `org_id` -> `organizations`: the tenant key on every table. One tenant (or a handful)
/// holds most rows, so an index on it alone is rarely chosen, queries pair it with a
/// selective key, and tenants are closed, not deleted.
fn tenant_key(column: &str, target: &str) -> bool {
    let tenant_table = matches!(
        target,
        "organizations"
            | "organization"
            | "organisations"
            | "organisation"
            | "orgs"
            | "org"
            | "tenants"
            | "tenant"
            | "workspaces"
            | "workspace"
    );
    let tenant_col = ["org", "organization", "organisation", "tenant", "workspace"]
        .iter()
        .any(|p| column == format!("{p}_id"));
    tenant_table && tenant_col
}

/// What the code does with foreign-key columns of ORM models: which `Model.key`
/// attributes it names (filters, joins, relationship keys) and which relationships load
/// child rows from the parent side.
struct KeyUse<'a> {
    refs: std::collections::HashSet<&'a str>,
    /// Model classes per table.
    models: HashMap<&'a str, Vec<&'a str>>,
    /// `(table of the declaring class, relationship)`.
    relations: Vec<(&'a str, &'a crate::model::schema::Relation)>,
}

impl<'a> KeyUse<'a> {
    fn new(ctx: &RepoContext<'a>, merged: &BTreeMap<&'a str, Merged<'a>>) -> KeyUse<'a> {
        let refs = ctx
            .files
            .iter()
            .flat_map(|(_, _, s)| s.key_refs.iter().map(String::as_str))
            .collect();
        let mut models: HashMap<&str, Vec<&str>> = HashMap::new();
        let mut relations = Vec::new();
        for (table, m) in merged {
            for (_, t) in &m.pieces {
                if !t.model.is_empty() {
                    models.entry(table).or_default().push(t.model.as_str());
                }
                relations.extend(t.relations.iter().map(|r| (*table, r)));
            }
        }
        KeyUse {
            refs,
            models,
            relations,
        }
    }

    /// Whether anything reads `table` by the key `column` -> `target`: parent deletes
    /// declared to cascade, code naming `Model.column`, a relationship that loads the
    /// children (or, for an association table, the rows on the far side) from the parent.
    fn reads_by(&self, table: &str, t: &TableDef, column: &str, target: &str) -> bool {
        let none: Vec<&str> = Vec::new();
        let children = self.models.get(table).unwrap_or(&none);
        let parents = self.models.get(target).unwrap_or(&none);
        t.on_delete.iter().any(|c| c == column)
            || children
                .iter()
                .any(|m| self.refs.contains(format!("{m}.{column}").as_str()))
            || self.relations.iter().any(|(owner, r)| {
                // The parent's collection of children.
                (*owner == target && children.contains(&r.target.as_str()))
                    // A child's `relationship(Parent, backref=...)`.
                    || (*owner == table && r.backref && parents.contains(&r.target.as_str()))
                    // Through the association table, from the parent's side.
                    || (r.secondary == table && (*owner == target || r.paired))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Confidence;
    use crate::source::lang::Lang;
    use crate::source::SourceFile;

    #[test]
    fn foreign_keys_nothing_reads_by_are_low() {
        let text = include_str!("../../../fixtures/python/integrity/models/ledger/models.py");
        let file = SourceFile::new("ledger/models.py".into(), Lang::Python, text.into());
        let tree = crate::source::parse::parse(Lang::Python, text, None).expect("parses");
        let mut summary = crate::model::summary::summarise(&file);
        summary.tables = crate::model::orm::tables(&tree, &file);
        let files = vec![(file.rel.clone(), Lang::Python, Box::new(summary))];
        let mut out = Vec::new();
        foreign_key_without_index(
            &RepoContext {
                files: &files,
                vendored: &[],
            },
            &mut out,
        );
        let mut got: Vec<(&str, Option<Confidence>)> = out
            .iter()
            .map(|h| (h.at.name.as_str(), h.confidence))
            .collect();
        got.sort();
        let low = Some(Confidence::Low);
        assert_eq!(
            got,
            vec![
                ("batch_id", None),
                ("booked_by_id", None),
                ("currency_id", low),
                ("ledger_id", None),
                ("org_id", low),
                ("tag_id", None),
            ]
        );
    }

    #[test]
    fn tenant_keys() {
        assert!(tenant_key("org_id", "organizations"));
        assert!(tenant_key("workspace_id", "workspaces"));
        assert!(!tenant_key("owner_id", "organizations"));
        assert!(!tenant_key("org_id", "orders"));
    }
}
