//! Schema pieces from Python ORM code, in the same shape as `.sql` files give
//! (`crate::model::schema::TableDef`), so the repository checks merge both by table name:
//!
//! - SQLAlchemy declarative classes (`__tablename__`, `Column(...)`, 2.0 `mapped_column`,
//!   `@declared_attr` columns, `__table_args__`), Flask-SQLAlchemy `db.Model` classes
//!   (table named after the class), `Table("t", metadata, Column(...))`, module-level
//!   `Index(..., Model.col, unique=True)`;
//! - SQLModel classes with `table=True` (`Field(unique=..., index=..., foreign_key=...)`);
//! - Django models (`<app>_<model>` or `Meta.db_table`; `unique`, `db_index`, `SlugField`
//!   and foreign keys indexed by default, `Meta.unique_together`, `constraints`, `indexes`);
//! - Alembic migrations: only what makes a column unique or indexed (`op.create_index`,
//!   `op.create_unique_constraint`, `op.create_table` constraints, `batch_alter_table`,
//!   `op.execute("CREATE UNIQUE INDEX ...")`). Their columns and foreign keys mirror the
//!   models and are not reported a second time.
//!
//! Fields of base classes defined in the same file are inherited; bases from other files
//! are not followed (a missed column, never an invented one).

use crate::model::facts::visit;
use crate::model::schema::TableDef;
use crate::model::summary::Located;
use crate::source::lang::Lang;
use crate::source::names::Names as _;
use crate::source::re;
use crate::source::SourceFile;
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;
use tree_sitter::{Node, Tree};

/// Files worth a parse for their models: a cheap test on the text.
static MARKERS: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"__tablename__|\btable\s*=\s*True|\bTable\(|\bmodels\.(Model|[A-Za-z]*Field|ForeignKey|OneToOneField)\b|\bdb\.Model\b|\bop\.(create_index|create_unique_constraint|create_primary_key|create_table|add_column|batch_alter_table|execute)\b",
    )
    .expect("static regex")
});

/// Whether a Python file is test code: under a `tests/` or `test/` directory, a `test_*`
/// module or a `conftest.py`.
pub fn is_test_path(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    rel.starts_with("tests/")
        || rel.starts_with("test/")
        || rel.contains("/tests/")
        || rel.contains("/test/")
        || name.starts_with("test_")
        || name == "conftest.py"
}

/// Whether a Python file may declare tables (and is not test code or a Django migration,
/// which mirrors the models it is generated from).
pub fn is_candidate(rel: &str, text: &str) -> bool {
    !is_test_path(rel) && !text.contains("migrations.Migration") && MARKERS.is_match(text)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Orm {
    SqlAlchemy,
    SqlModel,
    Django,
}

impl Orm {
    fn name(self) -> &'static str {
        match self {
            Orm::SqlAlchemy => "sqlalchemy",
            Orm::SqlModel => "sqlmodel",
            Orm::Django => "django",
        }
    }
}

struct Class<'t> {
    name: String,
    node: Node<'t>,
    name_node: Node<'t>,
    bases: Vec<String>,
    table_kw: bool,
    body: Option<Node<'t>>,
}

struct Src<'a> {
    file: &'a SourceFile,
    text: &'a str,
}

impl<'a> Src<'a> {
    fn t(&self, n: Node<'_>) -> &'a str {
        n.utf8_text(self.text.as_bytes()).unwrap_or("")
    }

    /// Value of a plain string literal (no interpolation, no concatenation).
    fn string(&self, n: Node<'_>) -> Option<String> {
        if n.kind() != "string" {
            return None;
        }
        let mut c = n.walk();
        let mut out = String::new();
        for ch in n.children(&mut c) {
            match ch.kind() {
                "string_content" => out.push_str(self.t(ch)),
                "interpolation" => return None,
                _ => {}
            }
        }
        Some(out)
    }

    fn loc(&self, n: Node<'_>, name: &str, detail: &str) -> Located {
        Located::at(self.file, n.start_byte(), n.end_byte(), name, detail)
    }
}

/// Callee's last dotted segment: `sa.Column` -> `Column`.
fn last_segment(callee: &str) -> &str {
    callee.rsplit('.').next().unwrap_or(callee)
}

fn callee<'a>(s: &Src<'a>, call: Node<'_>) -> &'a str {
    call.child_by_field_name("function").map_or("", |f| s.t(f))
}

/// Positional arguments and keyword arguments of a call.
fn args<'t>(call: Node<'t>) -> (Vec<Node<'t>>, Vec<(Node<'t>, Node<'t>)>) {
    let mut pos = Vec::new();
    let mut kw = Vec::new();
    if let Some(a) = call.child_by_field_name("arguments") {
        let mut c = a.walk();
        for ch in a.named_children(&mut c) {
            match ch.kind() {
                "keyword_argument" => {
                    if let (Some(n), Some(v)) = (
                        ch.child_by_field_name("name"),
                        ch.child_by_field_name("value"),
                    ) {
                        kw.push((n, v));
                    }
                }
                "comment" | "list_splat" | "dictionary_splat" => {}
                _ => pos.push(ch),
            }
        }
    }
    (pos, kw)
}

fn kwarg<'t>(s: &Src<'_>, kw: &[(Node<'t>, Node<'t>)], name: &str) -> Option<Node<'t>> {
    kw.iter().find(|(n, _)| s.t(*n) == name).map(|(_, v)| *v)
}

fn is_true(s: &Src<'_>, v: Option<Node<'_>>) -> bool {
    v.is_some_and(|v| s.t(v) == "True")
}

fn is_false(s: &Src<'_>, v: Option<Node<'_>>) -> bool {
    v.is_some_and(|v| s.t(v) == "False")
}

/// Unwraps parentheses.
fn inner(mut n: Node<'_>) -> Node<'_> {
    while n.kind() == "parenthesized_expression" {
        match n.named_child(0) {
            Some(c) => n = c,
            None => break,
        }
    }
    n
}

/// Elements of a list, tuple or set literal (a lone value is its own element).
fn elements(n: Node<'_>) -> Vec<Node<'_>> {
    let n = inner(n);
    match n.kind() {
        "list" | "tuple" | "set" => {
            let mut c = n.walk();
            n.named_children(&mut c)
                .filter(|x| x.kind() != "comment")
                .collect()
        }
        _ => vec![n],
    }
}

static IDENT: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"[A-Za-z_][A-Za-z0-9_]*").expect("static regex"));

/// The column a constraint or index argument names: `"email"`, `email`, `cls.email`,
/// `User.email`, `func.lower(email)`, `text("lower(email)")`, `Lower("email")`,
/// `"-created"` (Django descending).
fn col_ref(s: &Src<'_>, n: Node<'_>, depth: usize) -> Option<String> {
    let n = inner(n);
    if depth > 4 {
        return None;
    }
    match n.kind() {
        "string" => {
            let v = s.string(n)?;
            let v = v.trim().trim_start_matches('-');
            if v.contains('(') {
                // SQL text: the first identifier inside the parentheses.
                let after = &v[v.find('(')? + 1..];
                return IDENT.find(after).map(|m| m.as_str().to_ascii_lowercase());
            }
            let v = v.trim_matches('"');
            (!v.is_empty()).then(|| v.to_ascii_lowercase())
        }
        "identifier" => Some(s.t(n).to_ascii_lowercase()),
        "attribute" => n
            .child_by_field_name("attribute")
            .map(|a| s.t(a).to_ascii_lowercase()),
        "call" => {
            let (pos, _) = args(n);
            pos.first().and_then(|a| col_ref(s, *a, depth + 1))
        }
        _ => None,
    }
}

/// What a column definition says about itself.
#[derive(Default)]
struct ColInfo {
    column: String,
    unique: bool,
    index: bool,
    pk: bool,
    fk: Option<String>,
    /// Optional by design (Django `blank=True`): a contact detail, not an identifier.
    optional: bool,
    /// `nullable=` (SQLAlchemy) or `null=` (Django) as written: `Some(true)` declares the
    /// column optional, `Some(false)` required.
    nullable: Option<bool>,
    /// The foreign key declares `ondelete="CASCADE"` or `"SET NULL"`.
    cascade: bool,
}

/// `ondelete="CASCADE"` / `"SET NULL"`: parent deletes reach this table by design.
fn cascades(s: &Src<'_>, v: Option<Node<'_>>) -> bool {
    v.and_then(|v| s.string(v)).is_some_and(|d| {
        let d = d.to_ascii_lowercase();
        d == "cascade" || d == "set null"
    })
}

/// `ForeignKey("users.id")` / `"users.id"` / `User.id` -> `users` / `user`.
fn fk_target(s: &Src<'_>, n: Node<'_>) -> String {
    let n = inner(n);
    if let Some(v) = s.string(n) {
        let mut parts: Vec<&str> = v.split('.').collect();
        if parts.len() > 1 {
            parts.pop();
        }
        return parts.last().unwrap_or(&"").to_ascii_lowercase();
    }
    if n.kind() == "attribute" {
        if let Some(o) = n.child_by_field_name("object") {
            return last_segment(s.t(o)).to_ascii_lowercase();
        }
    }
    last_segment(s.t(n)).to_ascii_lowercase()
}

/// SQLAlchemy `Column(...)` / `mapped_column(...)` arguments.
fn sa_column(s: &Src<'_>, call: Node<'_>, attr: &str) -> ColInfo {
    let (pos, kw) = args(call);
    let mut info = ColInfo {
        column: attr.to_ascii_lowercase(),
        ..ColInfo::default()
    };
    if let Some(name) = pos.first().and_then(|p| s.string(*p)) {
        info.column = name.to_ascii_lowercase();
    }
    if let Some(name) = kwarg(s, &kw, "name").and_then(|v| s.string(v)) {
        info.column = name.to_ascii_lowercase();
    }
    for p in &pos {
        if p.kind() == "call" && last_segment(callee(s, *p)) == "ForeignKey" {
            let (fp, fkw) = args(*p);
            if let Some(t) = fp.first() {
                info.fk = Some(fk_target(s, *t));
            }
            info.cascade = cascades(s, kwarg(s, &fkw, "ondelete"));
        }
    }
    info.unique = is_true(s, kwarg(s, &kw, "unique"));
    info.index = is_true(s, kwarg(s, &kw, "index"));
    info.pk = is_true(s, kwarg(s, &kw, "primary_key"));
    info.nullable = explicit_bool(s, kwarg(s, &kw, "nullable"));
    info
}

/// `Some(true)`/`Some(false)` for a literal `True`/`False`, else `None`.
fn explicit_bool(s: &Src<'_>, v: Option<Node<'_>>) -> Option<bool> {
    if is_true(s, v) {
        Some(true)
    } else if is_false(s, v) {
        Some(false)
    } else {
        None
    }
}

/// A class attribute that may be a column.
struct Attr<'t> {
    name: String,
    name_node: Node<'t>,
    value: Option<Node<'t>>,
    annotation: Option<Node<'t>>,
    declared_attr: bool,
}

fn class_attrs<'t>(s: &Src<'_>, body: Node<'t>) -> Vec<Attr<'t>> {
    let mut out = Vec::new();
    let mut c = body.walk();
    for st in body.named_children(&mut c) {
        match st.kind() {
            "expression_statement" => {
                let Some(a) = st.named_child(0).filter(|a| a.kind() == "assignment") else {
                    continue;
                };
                let Some(left) = a
                    .child_by_field_name("left")
                    .filter(|l| l.kind() == "identifier")
                else {
                    continue;
                };
                out.push(Attr {
                    name: s.t(left).to_string(),
                    name_node: left,
                    value: a.child_by_field_name("right"),
                    annotation: a.child_by_field_name("type"),
                    declared_attr: false,
                });
            }
            "decorated_definition" => {
                let mut dc = st.walk();
                let declared = st
                    .named_children(&mut dc)
                    .any(|d| d.kind() == "decorator" && s.t(d).contains("declared_attr"));
                let Some(f) = st
                    .child_by_field_name("definition")
                    .filter(|f| f.kind() == "function_definition")
                else {
                    continue;
                };
                let (Some(n), Some(b)) =
                    (f.child_by_field_name("name"), f.child_by_field_name("body"))
                else {
                    continue;
                };
                if !declared {
                    continue;
                }
                let mut bc = b.walk();
                let ret = b
                    .named_children(&mut bc)
                    .find(|x| x.kind() == "return_statement")
                    .and_then(|r| r.named_child(0));
                out.push(Attr {
                    name: s.t(n).to_string(),
                    name_node: n,
                    value: ret,
                    annotation: None,
                    declared_attr: true,
                });
            }
            _ => {}
        }
    }
    out
}

fn attr<'a, 't>(attrs: &'a [Attr<'t>], name: &str) -> Option<&'a Attr<'t>> {
    attrs.iter().find(|a| a.name == name)
}

/// The nested `class Meta:` of a Django model.
fn meta_attrs<'t>(s: &Src<'_>, body: Node<'t>) -> Vec<Attr<'t>> {
    let mut c = body.walk();
    let meta = body.named_children(&mut c).find(|st| {
        st.kind() == "class_definition"
            && st
                .child_by_field_name("name")
                .is_some_and(|n| s.t(n) == "Meta")
    });
    meta.and_then(|m| m.child_by_field_name("body"))
        .map(|b| class_attrs(s, b))
        .unwrap_or_default()
}

fn collect_classes<'t>(s: &Src<'_>, root: Node<'t>) -> Vec<Class<'t>> {
    let mut out = Vec::new();
    visit(root, |n| {
        match n.kind() {
            "function_definition" | "lambda" => return false,
            "class_definition" => {
                let Some(name_node) = n.child_by_field_name("name") else {
                    return false;
                };
                let mut bases = Vec::new();
                let mut table_kw = false;
                if let Some(sc) = n.child_by_field_name("superclasses") {
                    let mut c = sc.walk();
                    for b in sc.named_children(&mut c) {
                        if b.kind() == "keyword_argument" {
                            let k = b.child_by_field_name("name").map(|x| s.t(x));
                            let v = b.child_by_field_name("value").map(|x| s.t(x));
                            if k == Some("table") && v == Some("True") {
                                table_kw = true;
                            }
                        } else {
                            bases.push(s.t(b).to_string());
                        }
                    }
                }
                out.push(Class {
                    name: s.t(name_node).to_string(),
                    node: n,
                    name_node,
                    bases,
                    table_kw,
                    body: n.child_by_field_name("body"),
                });
                // Nested classes (Django `Meta`) are read from their parent.
                return false;
            }
            _ => {}
        }
        true
    });
    out
}

/// Indices of a class and its same-file ancestors, the class first (bounded).
fn lineage(classes: &[Class<'_>], i: usize) -> Vec<usize> {
    let mut out = vec![i];
    let mut k = 0;
    while k < out.len() && out.len() < 16 {
        let c = &classes[out[k]];
        for b in &c.bases {
            let b = last_segment(b.split('[').next().unwrap_or(b));
            if let Some(j) = classes
                .iter()
                .position(|x| x.name == b && x.node.start_byte() < c.node.start_byte())
            {
                if !out.contains(&j) {
                    out.push(j);
                }
            }
        }
        k += 1;
    }
    out
}

fn is_django_field(callee: &str) -> bool {
    let last = last_segment(callee);
    (last.ends_with("Field") && last != "ManyToManyField" && !last.starts_with("Generic"))
        || last == "ForeignKey"
        || last == "OneToOneField"
        || last == "ParentalKey"
}

fn snake(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0 && (prev_lower || next_lower && chars[i - 1].is_uppercase()) {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Django app label of a models file: the package holding `models.py` or `models/`.
fn django_app(rel: &str) -> String {
    let parts: Vec<&str> = rel.split('/').collect();
    let n = parts.len();
    if n >= 3 && parts[n - 2] == "models" {
        return parts[n - 3].to_ascii_lowercase();
    }
    if n >= 2 {
        return parts[n - 2].to_ascii_lowercase();
    }
    String::new()
}

fn new_def(s: &Src<'_>, at: Node<'_>, table: &str, orm: &str, model: &str) -> TableDef {
    TableDef {
        name: s.loc(at, table, ""),
        created: true,
        orm: orm.to_string(),
        model: model.to_string(),
        ..TableDef::default()
    }
}

fn push_unique(def: &mut TableDef, cols: Vec<String>) {
    if !cols.is_empty() && !def.unique.contains(&cols) {
        def.unique.push(cols);
    }
}

fn push_index(def: &mut TableDef, cols: Vec<String>) {
    if !cols.is_empty() && !def.indexes.contains(&cols) {
        def.indexes.push(cols);
    }
}

/// SQLAlchemy table-level items: `UniqueConstraint`, `PrimaryKeyConstraint`, `Index`,
/// `ForeignKeyConstraint` (and, with `columns`, `Column(...)` entries of a `Table`).
fn sa_table_item(
    s: &Src<'_>,
    item: Node<'_>,
    def: &mut TableDef,
    columns: bool,
    names: &HashMap<String, String>,
) {
    let item = inner(item);
    if item.kind() != "call" {
        return;
    }
    let map = |c: String| names.get(&c).cloned().unwrap_or(c);
    let callee = last_segment(callee(s, item));
    let (pos, kw) = args(item);
    match callee {
        "UniqueConstraint" | "PrimaryKeyConstraint" => {
            let cols = pos
                .iter()
                .filter_map(|p| col_ref(s, *p, 0))
                .map(map)
                .collect();
            push_unique(def, cols);
        }
        "Index" => {
            let cols: Vec<String> = pos
                .iter()
                .skip(1)
                .filter_map(|p| col_ref(s, *p, 0))
                .map(map)
                .collect();
            if is_true(s, kwarg(s, &kw, "unique")) {
                push_unique(def, cols);
            } else {
                push_index(def, cols);
            }
        }
        "ForeignKeyConstraint" if columns => {
            if let (Some(c), Some(r)) = (pos.first(), pos.get(1)) {
                let cols = elements(*c);
                let refs = elements(*r);
                if let (Some(c0), Some(r0)) = (cols.first(), refs.first()) {
                    if let Some(name) = col_ref(s, *c0, 0) {
                        let target = fk_target(s, *r0);
                        def.foreign_keys.push(s.loc(*c0, &map(name), &target));
                    }
                }
            }
        }
        "Column" => {
            let info = sa_column(s, item, "");
            if info.column.is_empty() {
                return;
            }
            let at = pos.first().copied().unwrap_or(item);
            add_column(s, def, at, &info, columns);
        }
        _ => {}
    }
}

/// `Located::detail` of a column that may be left empty (see `crate::model::schema`).
pub const OPTIONAL: &str = "optional";

/// Records one column's facts; `located` = whether its definition and foreign key are
/// reported from this piece.
fn add_column(s: &Src<'_>, def: &mut TableDef, at: Node<'_>, info: &ColInfo, located: bool) {
    if located {
        let detail = if info.optional { OPTIONAL } else { "" };
        def.columns.push(s.loc(at, &info.column, detail));
    }
    if info.nullable == Some(true) && !info.pk {
        def.nullable.push(info.column.clone());
    }
    if info.unique {
        push_unique(def, vec![info.column.clone()]);
    }
    if info.index {
        push_index(def, vec![info.column.clone()]);
    }
    if let (Some(t), true) = (&info.fk, located) {
        def.foreign_keys.push(s.loc(at, &info.column, t));
        if info.cascade {
            def.on_delete.push(info.column.clone());
        }
    }
}

/// The tables a Python file declares with an ORM, or makes unique/indexed in Alembic.
pub fn tables(tree: &Tree, file: &SourceFile) -> Vec<TableDef> {
    let s = Src {
        file,
        text: &file.text,
    };
    let root = tree.root_node();
    // An Alembic revision's own model classes are snapshots for data migrations: only
    // its operations count.
    let revision = file.text.contains("down_revision");
    let classes = if revision {
        Vec::new()
    } else {
        collect_classes(&s, root)
    };
    let django_file = file.text.contains("django");
    let mut out: Vec<TableDef> = Vec::new();
    // Per class: is it a Django model (directly or through a same-file base)?
    let mut django: Vec<bool> = vec![false; classes.len()];
    for i in 0..classes.len() {
        let c = &classes[i];
        let direct = c
            .bases
            .iter()
            .any(|b| b == "models.Model" || b.ends_with("db.models.Model"));
        let inherited = lineage(&classes, i).iter().skip(1).any(|&j| django[j]);
        let has_fields = c.body.is_some_and(|b| {
            class_attrs(&s, b).iter().any(|a| {
                a.value.is_some_and(|v| {
                    v.kind() == "call" && {
                        let cal = callee(&s, v);
                        cal.starts_with("models.") && is_django_field(cal)
                    }
                })
            })
        });
        django[i] = django_file && (direct || inherited || has_fields);
    }
    // Class name -> table (for module-level `Index(..., User.email)`).
    let mut class_tables: HashMap<String, usize> = HashMap::new();
    for i in 0..classes.len() {
        let c = &classes[i];
        let Some(body) = c.body else { continue };
        let attrs = class_attrs(&s, body);
        let own_str = |k: &str| {
            attr(&attrs, k)
                .and_then(|a| a.value)
                .and_then(|v| s.string(v))
        };
        let abstract_ = attr(&attrs, "__abstract__")
            .and_then(|a| a.value)
            .is_some_and(|v| s.t(v) == "True");
        let def = if django[i] {
            django_model(&s, &classes, i, &django)
        } else if c.table_kw {
            let table = own_str("__tablename__").unwrap_or_else(|| c.name.to_ascii_lowercase());
            Some(sa_model(&s, &classes, i, &table, Orm::SqlModel))
        } else if let Some(table) = own_str("__tablename__") {
            (!abstract_).then(|| sa_model(&s, &classes, i, &table, Orm::SqlAlchemy))
        } else if c.bases.iter().any(|b| b == "db.Model")
            && attr(&attrs, "__tablename__").is_none()
            && !abstract_
        {
            Some(sa_model(&s, &classes, i, &snake(&c.name), Orm::SqlAlchemy))
        } else {
            None
        };
        if let Some(d) = def {
            class_tables.insert(c.name.clone(), out.len());
            out.push(d);
        }
    }
    calls(&s, root, &mut out, &class_tables, revision);
    out
}

/// Columns of an SQLAlchemy or SQLModel class (and its same-file bases).
fn sa_model(s: &Src<'_>, classes: &[Class<'_>], i: usize, table: &str, orm: Orm) -> TableDef {
    let c = &classes[i];
    let mut def = new_def(
        s,
        c.name_node,
        &table.to_ascii_lowercase(),
        orm.name(),
        &c.name,
    );
    let mut pk: Vec<String> = Vec::new();
    let mut names: HashMap<String, String> = HashMap::new();
    let mut seen: Vec<String> = Vec::new();
    let mut table_args = None;
    // Own attributes first, then bases (an override in the class wins).
    for j in lineage(classes, i) {
        let Some(body) = classes[j].body else {
            continue;
        };
        let attrs = class_attrs(s, body);
        if table_args.is_none() {
            table_args = attr(&attrs, "__table_args__").and_then(|a| a.value);
        }
        for a in &attrs {
            if a.name.starts_with("__") || seen.contains(&a.name) {
                continue;
            }
            if let Some(r) = relation(s, a) {
                seen.push(a.name.clone());
                def.relations.push(r);
                continue;
            }
            let info = match (orm, a.value) {
                (_, Some(v)) if v.kind() == "call" => {
                    let cal = last_segment(callee(s, v));
                    match cal {
                        "Column" | "mapped_column" => Some(sa_column(s, v, &a.name)),
                        "Field" if orm == Orm::SqlModel => Some(sqlmodel_field(s, v, &a.name)),
                        _ => None,
                    }
                }
                (Orm::SqlModel, v) if !a.declared_attr => {
                    // A plain annotated attribute is a column; a ClassVar or a value
                    // that is not a default (Relationship) is not.
                    let ann = a.annotation.map_or("", |t| s.t(t));
                    let plain_default = v.is_none_or(|v| v.kind() != "call");
                    (a.annotation.is_some()
                        && !ann.contains("ClassVar")
                        && !a.name.starts_with('_')
                        && a.name != "model_config"
                        && plain_default)
                        .then(|| ColInfo {
                            column: a.name.to_ascii_lowercase(),
                            ..ColInfo::default()
                        })
                }
                (Orm::SqlAlchemy, None) => {
                    let ann = a.annotation.map_or("", |t| s.t(t));
                    (ann.starts_with("Mapped[") || ann.contains(".Mapped[")).then(|| ColInfo {
                        column: a.name.to_ascii_lowercase(),
                        ..ColInfo::default()
                    })
                }
                _ => None,
            };
            let Some(mut info) = info else { continue };
            // `Mapped[Optional[str]]` / `Mapped[str | None]` with no `nullable=` says the
            // column is optional.
            let ann = a.annotation.map_or("", |t| s.t(t));
            if info.nullable.is_none() && (ann.contains("Optional[") || ann.contains("| None")) {
                info.nullable = Some(true);
            }
            seen.push(a.name.clone());
            names.insert(a.name.to_ascii_lowercase(), info.column.clone());
            if info.pk {
                pk.push(info.column.clone());
            }
            add_column(s, &mut def, a.name_node, &info, true);
        }
    }
    push_unique(&mut def, pk);
    if let Some(ta) = table_args {
        let ta = inner(ta);
        let items = if ta.kind() == "dictionary" {
            Vec::new()
        } else {
            elements(ta)
        };
        for item in items {
            sa_table_item(s, item, &mut def, true, &names);
        }
    }
    def
}

/// A `relationship(...)` / SQLModel `Relationship(...)` attribute: the class it loads
/// (first argument, or the class named in the annotation), `secondary=`, `backref=`.
fn relation(s: &Src<'_>, a: &Attr<'_>) -> Option<crate::model::schema::Relation> {
    let v = a.value.filter(|v| v.kind() == "call")?;
    if !matches!(last_segment(callee(s, v)), "relationship" | "Relationship") {
        return None;
    }
    let (pos, kw) = args(v);
    let from_arg = pos.first().map(|p| {
        let t = s.string(*p).unwrap_or_else(|| s.t(*p).to_string());
        last_segment(t.trim()).to_string()
    });
    let target = from_arg.or_else(|| {
        let ann = a.annotation.map(|t| s.t(t))?;
        IDENT
            .find_iter(ann)
            .map(|m| m.as_str())
            .filter(|w| {
                w.starts_with(|c: char| c.is_ascii_uppercase())
                    && !matches!(
                        *w,
                        "Mapped" | "List" | "Optional" | "Set" | "Sequence" | "Union"
                    )
            })
            .last()
            .map(str::to_string)
    })?;
    let secondary = kwarg(s, &kw, "secondary")
        .map(|v| {
            let t = s.string(v).unwrap_or_else(|| s.t(v).to_string());
            last_segment(t.trim()).to_ascii_lowercase()
        })
        .unwrap_or_default();
    let backref = kwarg(s, &kw, "backref").is_some();
    Some(crate::model::schema::Relation {
        target,
        secondary,
        backref,
        paired: backref || kwarg(s, &kw, "back_populates").is_some(),
    })
}

/// SQLModel `Field(...)`.
fn sqlmodel_field(s: &Src<'_>, call: Node<'_>, attr: &str) -> ColInfo {
    let (_, kw) = args(call);
    if let Some(col) = kwarg(s, &kw, "sa_column").filter(|v| v.kind() == "call") {
        return sa_column(s, col, attr);
    }
    let mut info = ColInfo {
        column: attr.to_ascii_lowercase(),
        unique: is_true(s, kwarg(s, &kw, "unique")),
        index: is_true(s, kwarg(s, &kw, "index")),
        pk: is_true(s, kwarg(s, &kw, "primary_key")),
        fk: kwarg(s, &kw, "foreign_key").map(|v| fk_target(s, v)),
        optional: false,
        nullable: explicit_bool(s, kwarg(s, &kw, "nullable")),
        cascade: cascades(s, kwarg(s, &kw, "ondelete")),
    };
    if let Some(name) = kwarg(s, &kw, "sa_column_kwargs")
        .filter(|v| v.kind() == "dictionary")
        .map(|d| s.t(d).replace(' ', ""))
    {
        info.unique |= name.contains("\"unique\":True") || name.contains("'unique':True");
    }
    info
}

/// A Django model: fields of the class and its same-file abstract bases, `Meta`.
fn django_model(s: &Src<'_>, classes: &[Class<'_>], i: usize, django: &[bool]) -> Option<TableDef> {
    let c = &classes[i];
    let body = c.body?;
    let meta = meta_attrs(s, body);
    let meta_val = |k: &str| attr(&meta, k).and_then(|a| a.value);
    if ["abstract", "proxy"]
        .iter()
        .any(|k| meta_val(k).is_some_and(|v| s.t(v) == "True"))
        || meta_val("managed").is_some_and(|v| s.t(v) == "False")
    {
        return None;
    }
    // Multi-table inheritance: a concrete same-file model base has its own table.
    let table = match meta_val("db_table").and_then(|v| s.string(v)) {
        Some(t) => t.to_ascii_lowercase(),
        None => {
            let app = meta_val("app_label")
                .and_then(|v| s.string(v))
                .unwrap_or_else(|| django_app(&s.file.rel));
            format!("{app}_{}", c.name.to_ascii_lowercase())
        }
    };
    let mut def = new_def(s, c.name_node, &table, Orm::Django.name(), &c.name);
    let mut names: HashMap<String, String> = HashMap::new();
    let mut seen: Vec<String> = Vec::new();
    let mut has_pk = false;
    let mut metas = vec![meta];
    for (k, j) in lineage(classes, i).into_iter().enumerate() {
        if !django[j] {
            continue;
        }
        let Some(b) = classes[j].body else { continue };
        if k > 0 {
            // Only abstract bases give their fields to this table.
            let m = meta_attrs(s, b);
            let abstract_ = attr(&m, "abstract")
                .and_then(|a| a.value)
                .is_some_and(|v| s.t(v) == "True");
            if !abstract_ {
                continue;
            }
            metas.push(m);
        }
        for a in class_attrs(s, b) {
            let Some(v) = a.value.filter(|v| v.kind() == "call") else {
                continue;
            };
            let cal = callee(s, v);
            if !is_django_field(cal) || seen.contains(&a.name) {
                continue;
            }
            seen.push(a.name.clone());
            let last = last_segment(cal);
            let (pos, kw) = args(v);
            let fk = matches!(last, "ForeignKey" | "OneToOneField" | "ParentalKey");
            let column = kwarg(s, &kw, "db_column")
                .and_then(|x| s.string(x))
                .unwrap_or_else(|| {
                    if fk {
                        format!("{}_id", a.name)
                    } else {
                        a.name.clone()
                    }
                })
                .to_ascii_lowercase();
            names.insert(a.name.to_ascii_lowercase(), column.clone());
            let db_index = kwarg(s, &kw, "db_index");
            let pk = is_true(s, kwarg(s, &kw, "primary_key"));
            has_pk |= pk;
            let info = ColInfo {
                column: column.clone(),
                unique: is_true(s, kwarg(s, &kw, "unique")) || pk || last == "OneToOneField",
                index: is_true(s, db_index)
                    || (matches!(last, "SlugField") || fk) && !is_false(s, db_index),
                pk,
                optional: is_true(s, kwarg(s, &kw, "blank")),
                nullable: explicit_bool(s, kwarg(s, &kw, "null")),
                fk: if fk {
                    pos.first()
                        .copied()
                        .or_else(|| kwarg(s, &kw, "to"))
                        .map(|t| {
                            // Django names models, `"app.Model"`, not `table.column`.
                            let t = inner(t);
                            match s.string(t) {
                                Some(v) => last_segment(&v).to_ascii_lowercase(),
                                None => fk_target(s, t),
                            }
                        })
                } else {
                    None
                },
                cascade: false,
            };
            add_column(s, &mut def, a.name_node, &info, true);
        }
    }
    if !has_pk {
        push_unique(&mut def, vec!["id".into()]);
    }
    unique_through(s, body, &names, &mut def);
    let map = |n: String| names.get(&n).cloned().unwrap_or(n);
    for m in &metas {
        for a in m {
            let Some(v) = a.value else { continue };
            match a.name.as_str() {
                "unique_together" | "index_together" => {
                    let els = elements(v);
                    // ("a", "b") is one set; (("a", "b"), ...) several.
                    let sets: Vec<Vec<Node<'_>>> = if els.iter().all(|e| e.kind() == "string") {
                        vec![els]
                    } else {
                        els.into_iter().map(elements).collect()
                    };
                    for set in sets {
                        let cols = set
                            .iter()
                            .filter_map(|e| col_ref(s, *e, 0))
                            .map(map)
                            .collect();
                        if a.name == "unique_together" {
                            push_unique(&mut def, cols);
                        } else {
                            push_index(&mut def, cols);
                        }
                    }
                }
                "constraints" | "indexes" => {
                    for e in elements(v) {
                        let e = inner(e);
                        if e.kind() != "call" {
                            continue;
                        }
                        let last = last_segment(callee(s, e));
                        let (pos, kw) = args(e);
                        let mut cols: Vec<String> = kwarg(s, &kw, "fields")
                            .map(|f| {
                                elements(f)
                                    .into_iter()
                                    .filter_map(|x| col_ref(s, x, 0))
                                    .map(map)
                                    .collect()
                            })
                            .unwrap_or_default();
                        if cols.is_empty() {
                            cols = pos
                                .iter()
                                .filter_map(|x| col_ref(s, *x, 0))
                                .map(map)
                                .collect();
                        }
                        match last {
                            "UniqueConstraint" => push_unique(&mut def, cols),
                            "Index" if a.name == "indexes" => push_index(&mut def, cols),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Some(def)
}

/// Fields a model's methods copy, through a call, into a field kept unique on its own:
/// `self.slug = slugify(self.username)` (`slug` unique) keeps `username` unique in its
/// normalised form.
fn unique_through(
    s: &Src<'_>,
    body: Node<'_>,
    names: &HashMap<String, String>,
    def: &mut TableDef,
) {
    let field = |n: Node<'_>| -> Option<String> {
        let t = s.t(n).strip_prefix("self.")?;
        names.get(&t.to_ascii_lowercase()).cloned()
    };
    let mut found: Vec<String> = Vec::new();
    visit(body, |n| {
        if n.kind() != "assignment" {
            return true;
        }
        let (Some(l), Some(r)) = (
            n.child_by_field_name("left"),
            n.child_by_field_name("right"),
        ) else {
            return false;
        };
        let Some(target) = field(l) else {
            return false;
        };
        if r.kind() != "call" || !def.unique.contains(&vec![target.clone()]) {
            return false;
        }
        let (pos, _) = args(r);
        if let Some(src_col) = pos.first().and_then(|a| field(*a)) {
            if src_col != target && !found.contains(&src_col) {
                found.push(src_col);
            }
        }
        false
    });
    def.unique_through.extend(found);
}

/// `User` in `User.email` or `func.lower(User.email)`.
fn class_of(s: &Src<'_>, n: Node<'_>) -> Option<String> {
    let mut n = inner(n);
    for _ in 0..4 {
        match n.kind() {
            "attribute" => return n.child_by_field_name("object").map(|o| s.t(o).to_string()),
            "call" => n = inner(*args(n).0.first()?),
            _ => return None,
        }
    }
    None
}

/// A new Alembic piece for `table`.
fn alembic<'o>(
    out: &'o mut Vec<TableDef>,
    s: &Src<'_>,
    table: String,
    at: Node<'_>,
) -> &'o mut TableDef {
    out.push(TableDef {
        name: s.loc(at, &table.to_ascii_lowercase(), ""),
        orm: "alembic".into(),
        ..TableDef::default()
    });
    let k = out.len() - 1;
    &mut out[k]
}

/// Calls outside classes: `Table(...)`, module-level `Index(...)`, Alembic operations.
fn calls(
    s: &Src<'_>,
    root: Node<'_>,
    out: &mut Vec<TableDef>,
    classes: &HashMap<String, usize>,
    revision: bool,
) {
    // `with op.batch_alter_table("t") as batch_op:` -> (start, end, alias, table).
    let mut batches: Vec<(usize, usize, String, String)> = Vec::new();
    let mut found: Vec<Node<'_>> = Vec::new();
    visit(root, |n| match n.kind() {
        "class_definition" => false,
        "function_definition" => n
            .child_by_field_name("name")
            .is_none_or(|x| s.t(x) != "downgrade"),
        "with_item" => {
            if let Some(v) = n
                .child_by_field_name("value")
                .filter(|v| v.kind() == "as_pattern")
            {
                let call = v.named_child(0).filter(|c| c.kind() == "call");
                let alias = v
                    .child_by_field_name("alias")
                    .map(|a| s.t(a).trim().to_string());
                if let (Some(call), Some(alias)) = (call, alias) {
                    if last_segment(callee(s, call)) == "batch_alter_table" {
                        let (pos, _) = args(call);
                        if let Some(t) = pos.first().and_then(|p| s.string(*p)) {
                            let with = n.parent().and_then(|p| p.parent()).unwrap_or(n);
                            batches.push((with.start_byte(), with.end_byte(), alias, t));
                        }
                    }
                }
            }
            true
        }
        "call" => {
            found.push(n);
            true
        }
        _ => true,
    });
    let no_names = HashMap::new();
    for call in found {
        let full = callee(s, call);
        let last = last_segment(full);
        let obj = full.rsplit_once('.').map_or("", |(o, _)| o);
        let (pos, kw) = args(call);
        let is_op = obj == "op";
        let batch = batches
            .iter()
            .filter(|b| b.0 <= call.start_byte() && call.end_byte() <= b.1 && b.2 == obj)
            .map(|b| b.3.clone())
            .next_back();
        let str_at = |k: usize, name: &str| {
            kwarg(s, &kw, name)
                .or_else(|| pos.get(k).copied())
                .and_then(|v| s.string(v))
        };
        let cols_at = |k: usize, name: &str| -> Vec<String> {
            kwarg(s, &kw, name)
                .or_else(|| pos.get(k).copied())
                .map(|v| {
                    elements(v)
                        .into_iter()
                        .filter_map(|x| col_ref(s, x, 0))
                        .collect()
                })
                .unwrap_or_default()
        };
        match (last, is_op, &batch) {
            ("Table", _, _) if !is_op && batch.is_none() && !revision => {
                let Some(name) = pos.first().and_then(|p| s.string(*p)) else {
                    continue;
                };
                if pos.len() < 2 {
                    continue;
                }
                let mut def = new_def(s, pos[0], &name.to_ascii_lowercase(), "sqlalchemy", "");
                let mut pk = Vec::new();
                for item in &pos[2..] {
                    let item = inner(*item);
                    if item.kind() == "call" && last_segment(callee(s, item)) == "Column" {
                        let info = sa_column(s, item, "");
                        if info.pk {
                            pk.push(info.column.clone());
                        }
                    }
                    sa_table_item(s, item, &mut def, true, &no_names);
                }
                push_unique(&mut def, pk);
                out.push(def);
            }
            ("Index" | "UniqueConstraint", false, None) => {
                // Module-level `Index("ix", User.email, unique=True)`.
                let skip = usize::from(last == "Index");
                let Some(cls) = pos.get(skip).and_then(|p| class_of(s, *p)) else {
                    continue;
                };
                // Only statements, not items of `__table_args__` (read with the class).
                if call
                    .parent()
                    .is_none_or(|p| p.kind() != "expression_statement")
                {
                    continue;
                }
                if let Some(&k) = classes.get(&cls) {
                    let names = HashMap::new();
                    sa_table_item(s, call, &mut out[k], false, &names);
                }
            }
            ("create_table", true, _) => {
                let Some(name) = pos.first().and_then(|p| s.string(*p)) else {
                    continue;
                };
                let def = alembic(out, s, name, pos[0]);
                for item in &pos[1..] {
                    sa_table_item(s, *item, def, false, &no_names);
                }
            }
            ("add_column", true, _) | ("add_column", false, Some(_)) => {
                let (table, k) = match &batch {
                    Some(t) if !is_op => (Some(t.clone()), 0),
                    _ => (pos.first().and_then(|p| s.string(*p)), 1),
                };
                let (Some(table), Some(col)) = (table, pos.get(k)) else {
                    continue;
                };
                let def = alembic(out, s, table, call);
                sa_table_item(s, *col, def, false, &no_names);
            }
            ("create_index" | "create_unique_constraint" | "create_primary_key", true, _)
            | (
                "create_index" | "create_unique_constraint" | "create_primary_key",
                false,
                Some(_),
            ) => {
                let (table, cols) = match &batch {
                    Some(t) if !is_op => (Some(t.clone()), cols_at(1, "columns")),
                    _ => (str_at(1, "table_name"), cols_at(2, "columns")),
                };
                let Some(table) = table else { continue };
                let unique = last != "create_index" || is_true(s, kwarg(s, &kw, "unique"));
                let def = alembic(out, s, table, call);
                if unique {
                    push_unique(def, cols);
                } else {
                    push_index(def, cols);
                }
            }
            ("execute", true, _) => {
                let Some(sql) = pos.first().and_then(|p| {
                    let p = inner(*p);
                    if p.kind() == "call" {
                        args(p).0.first().and_then(|x| s.string(*x))
                    } else {
                        s.string(p)
                    }
                }) else {
                    continue;
                };
                let upper = sql.to_ascii_uppercase();
                if !upper.contains("INDEX") && !upper.contains("UNIQUE") {
                    continue;
                }
                let f = SourceFile::new("op.sql".into(), Lang::Sql, sql);
                for t in crate::model::schema::tables(&f) {
                    let def = alembic(out, s, t.name.name.clone(), call);
                    for u in t.unique {
                        push_unique(def, u);
                    }
                    for i in t.indexes {
                        push_index(def, i);
                    }
                }
            }
            _ => {}
        }
    }
    out.retain(|t| t.orm != "alembic" || !t.unique.is_empty() || !t.indexes.is_empty());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(rel: &str, src: &str) -> Vec<TableDef> {
        let f = SourceFile::new(rel.into(), Lang::Python, src.into());
        let tree = crate::source::parse::parse(Lang::Python, src, None).expect("parses");
        tables(&tree, &f)
    }

    #[test]
    fn sqlalchemy_classes_and_table_args() {
        let t = run(
            "app/models.py",
            r#"
class User(Base):
    __tablename__ = 'users'
    __table_args__ = (UniqueConstraint('org_id', 'username'), Index('ix', 'org_id'))
    id = Column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String, unique=True)
    username = Column('user_name', String)
    org_id = Column(ForeignKey('orgs.id'))
    handle: Mapped[str]

Index('ix_users_handle', func.lower(User.handle), unique=True)
"#,
        );
        assert_eq!(t.len(), 1, "{t:#?}");
        let u = &t[0];
        assert_eq!(
            (u.name.name.as_str(), u.orm.as_str()),
            ("users", "sqlalchemy")
        );
        let cols: Vec<&str> = u.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(cols, ["id", "email", "user_name", "org_id", "handle"]);
        assert!(u.unique.contains(&vec!["email".into()]));
        assert!(u.unique.contains(&vec!["id".into()]));
        assert!(u
            .unique
            .contains(&vec!["org_id".into(), "user_name".into()]));
        assert!(u.unique.contains(&vec!["handle".into()]));
        assert_eq!(u.indexes, [vec!["org_id".to_string()]]);
        assert_eq!(u.foreign_keys[0].detail, "orgs");
    }

    #[test]
    fn sqlmodel_and_django() {
        let t = run(
            "shop/models.py",
            r#"
from django.db import models
class Stamped(models.Model):
    slug = models.SlugField()
    class Meta:
        abstract = True

class Customer(Stamped):
    email = models.EmailField()
    team = models.ForeignKey('Team', on_delete=models.CASCADE)
    class Meta:
        unique_together = ('team', 'email')
"#,
        );
        assert_eq!(t.len(), 1, "{t:#?}");
        let c = &t[0];
        assert_eq!(c.name.name, "shop_customer");
        assert!(c.unique.contains(&vec!["team_id".into(), "email".into()]));
        assert!(c.indexes.contains(&vec!["slug".into()]));
        assert!(c.indexes.contains(&vec!["team_id".into()]));
        let t = run(
            "app/models.py",
            r#"
class HeroBase(SQLModel):
    email: str = Field(index=True)
class Hero(HeroBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key='team.id')
    team: Team = Relationship()
"#,
        );
        assert_eq!(t.len(), 1, "{t:#?}");
        let cols: Vec<&str> = t[0].columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(cols, ["id", "team_id", "email"]);
        assert_eq!(t[0].foreign_keys[0].detail, "team");
    }

    #[test]
    fn alembic_operations() {
        let t = run(
            "migrations/versions/1.py",
            r#"
def upgrade():
    op.create_index(op.f('ix_users_email'), 'users', ['email'], unique=True)
    with op.batch_alter_table('accounts') as b:
        b.create_unique_constraint('uq', ['handle'])
    op.execute("CREATE UNIQUE INDEX x ON members (lower(login))")

def downgrade():
    op.create_index('ix_old', 'users', ['username'], unique=True)
"#,
        );
        let got: Vec<(&str, &Vec<Vec<String>>)> = t
            .iter()
            .map(|d| (d.name.name.as_str(), &d.unique))
            .collect();
        assert_eq!(
            got,
            [
                ("users", &vec![vec!["email".to_string()]]),
                ("accounts", &vec![vec!["handle".to_string()]]),
                ("members", &vec![vec!["login".to_string()]]),
            ]
        );
    }
}
