//! SEC027: SQL text built with an f-string, `%`, `.format` or `+` from values that are not
//! constants, and passed to a SQL call: `execute()`/`executemany`, `sqlalchemy.text()`, Django
//! `raw()`, pandas `read_sql`, asyncpg/aiopg `fetch*`, or a project's own query helper
//! (`select`, `query`, `run_query`, ...) when the text visibly starts with SELECT, INSERT,
//! UPDATE, DELETE or WITH. The SQL may be built over several statements (`where += "AND id =
//! %s" % x`, then `query = "SELECT ... %s" % where`): each fragment is followed back to the
//! value it splices in, and that value is reported. Literals, upper-case constants, numbers
//! (`int()`, arithmetic), placeholders, quoting helpers, parameters typed as numbers, names
//! that identify a table or column, and values checked against an allow-list (`if col not in
//! ALLOWED`, `COLUMNS[col]`, `isinstance(x, int)` over a list), attributes of schema objects
//! (`column.default.arg`, `index.name`), a database name spliced outside quotes in an
//! f-string (`FROM {backup_db_name}.t`: an identifier position) and a fragment's own
//! `.strip()` are fine, and so is a `%` template whose every conversion is numeric (`%d`,
//! `%5.2f`: a string there raises), items checked to be digits, a sum with a number on one
//! side, a slice of a fragment, and what a function of the same file returns when every
//! return value is safe given the call's arguments. Integer ids
//! by name (`workflow_id`, `obj.id`) and values whose quotes were escaped by hand
//! (`x.replace("'", "\\'")`) are near misses: reported with low confidence, and so are
//! values spliced where SQL wants an identifier or a clause (`SELECT %s FROM %s`, `WHERE %s
//! = 1`: no placeholder can go there) and `",".join(ids)` in an unquoted `IN (%s)`. Calls SEC020
//! (request input proven to reach the SQL) already reports are left to it.

use crate::checks::py::{facts, keyword_arg, node_at, positional_arg, snippet, visit_same_scope};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::python::{text, PyFacts};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;
use tree_sitter::Node;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sink {
    /// `sqlalchemy.text()`: whatever it wraps is SQL.
    Any,
    /// `execute()` and friends: the text must read like SQL.
    SqlWords,
    /// A project helper: the text must start with a SQL verb.
    SqlStart,
}

static SQL_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?is)\b(?:select\b.*\bfrom\b|insert\s+into\b|update\b.*\bset\b|delete\s+from\b|replace\s+into\b|(?:create|drop)\s+(?:table|index|view|database|schema|trigger)\b|alter\s+table\b|attach\s+database\b|pragma\b|truncate\b|where\b|order\s+by\b|group\s+by\b|values\s*\(|set\s+session\b|show\s+(?:tables|columns|databases|create)\b|returning\b)")
        .expect("static regex")
});

static SQL_START: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r#"(?is)^[rRbBfFuU]*(?:"""|'''|"|')[\s(]*(?:select|insert|update|delete|with)\b"#)
        .expect("static regex")
});

/// Project helpers whose name says they run SQL.
static HELPER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:select|select_one|select_all|select_single|query|run_query|raw_query|execute_query|execute_sql|exec_sql|run_sql|sql_query|query_db|db_query|fetch_all|fetch_one|fetch_val|fetch_rows|fetchall|fetchone|query_all|query_one)$")
        .expect("static regex")
});

/// Calls whose result is a number, a quoted identifier, a placeholder list or a date.
static SAFE_CALL: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)^(?:int|float|bool|len|abs|round|min|max|sum|ord|hex|uuid4?|UUID|Decimal|\w*int|\w*_?quote\w*|\w*escape\w*|\w*ident\w*|\w*placeholders?|\w*literal\w*|isoformat|strftime|timestamp|now|utcnow|today|date|datetime|time|mogrify|range)$")
        .expect("static regex")
});

/// Names that hold an identifier or a fragment the program builds (a table, a column list,
/// a placeholder list).
static IDENT_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)^_*(?:\w+_)?(?:table|tables|tablename|table_name|tbl|tbl_name|schema|schema_name|column|columns|column_name|column_names|col|cols|col_name|fields|field_names|placeholder|placeholders|qmarks|marks|binds|bind_params|model|db_table|index|indexes|index_name|constraint_name|view_name|sequence_name|seq|alias|quoted_\w+|__tablename__|db_table)$")
        .expect("static regex")
});

/// Names that hold a database name (`db_name`, `backup_dbname`): an identifier when spliced
/// outside quotes.
static DB_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)^_*(?:\w+_)?(?:db|db_name|dbname|database|database_name)$").expect("static regex")
});

/// Names of SQL fragments built elsewhere (`where`, `clause`, `order_by`): followed when built
/// in the same function, otherwise left alone (the fragment's own builder is where a value
/// would enter).
static FRAGMENT_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)^_*(?:\w+_)?(?:where|wheres|clause|clauses|conditions?|filters?_sql|filter_clause|joins?|join_sql|order|order_by|group_by|having|limit_sql|sql|query|subquery|fragment|stmt|statement|cte|ctes|sets|set_sql|values_sql|select_sql|columns_sql|expr|expression)$")
        .expect("static regex")
});

/// Upper-case constants (`TABLE`, `settings.SCHEMA`).
fn is_constant_name(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

pub fn sql_from_strings(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let root = ctx.tree.root_node();
    let taint_calls: HashSet<usize> = crate::checks::security::taint::sql_sink_calls(ctx);
    let mut reported = HashSet::new();
    crate::checks::py::visit(root, |call| {
        if call.kind() != "call" {
            return true;
        }
        let Some((callee, sink)) = sink_kind(facts, call, src) else {
            return true;
        };
        if taint_calls.contains(&call.start_byte()) {
            // SEC020 reports it: request input reaches this SQL.
            ctx.examined(false);
            return true;
        }
        let Some(args) = call.child_by_field_name("arguments") else {
            return true;
        };
        let mut candidates: Vec<Node<'_>> = Vec::new();
        for kw in ["sql", "query", "statement", "stmt", "sql_query"] {
            candidates.extend(keyword_arg(args, kw, src));
        }
        if sink == Sink::SqlStart {
            let mut i = 0;
            while let Some(a) = positional_arg(args, i) {
                candidates.push(a);
                i += 1;
            }
        } else {
            candidates.extend(positional_arg(args, 0));
        }
        let scope = scope_of(facts, root, call.start_byte());
        // A SQL execution is counted when its text reads like SQL (or `text()` wraps it);
        // it passes when nothing unsafe is spliced in.
        let mut is_sql = false;
        let mut built = false;
        for arg in candidates {
            let mut an = Analysis {
                facts,
                src,
                root,
                scope,
                seen: HashSet::new(),
                texts: Vec::new(),
                unsafe_nodes: Vec::new(),
                escaped: HashSet::new(),
                at: call.start_byte(),
                unquoted: false,
                safe_params: HashSet::new(),
                hole: Hole::Unknown,
                near_miss: HashSet::new(),
            };
            an.argument(arg, 0);
            let looks_sql = match sink {
                Sink::Any => true,
                Sink::SqlWords => an.texts.iter().any(|t| SQL_WORDS.is_match(t)),
                Sink::SqlStart => an.texts.first().is_some_and(|t| SQL_START.is_match(t)),
            };
            is_sql |= looks_sql;
            if an.unsafe_nodes.is_empty() || !looks_sql {
                continue;
            }
            built = true;
            for n in an.unsafe_nodes {
                if reported.insert(n.start_byte()) {
                    let mut hit = Hit::new(n.start_byte(), n.end_byte())
                        .var("value", snippet(text(n, src)))
                        .var("callee", snippet(&callee));
                    if an.escaped.contains(&n.start_byte())
                        || an.near_miss.contains(&n.start_byte())
                        || id_named(n, src)
                        || quoted_identifier_ddl(&an.texts)
                    {
                        hit = hit.confidence(Confidence::Low);
                    }
                    out.push(hit);
                }
            }
        }
        if is_sql {
            ctx.examined(!built);
        }
        true
    });
}

fn sink_kind(facts: &PyFacts, call: Node<'_>, src: &str) -> Option<(String, Sink)> {
    let func = call.child_by_field_name("function")?;
    let callee = text(func, src);
    let method = match func.kind() {
        "attribute" => text(func.child_by_field_name("attribute")?, src),
        "identifier" => callee,
        _ => return None,
    };
    let resolved = facts.resolve(callee).unwrap_or_default();
    if matches!(
        resolved.as_str(),
        "sqlalchemy.text" | "sqlalchemy.sql.text" | "sqlalchemy.sql.expression.text"
    ) {
        return Some((callee.to_string(), Sink::Any));
    }
    let attr = func.kind() == "attribute";
    let sink = match method {
        "execute" | "executemany" | "executescript" | "exec_driver_sql" | "read_sql"
        | "read_sql_query" | "fetch" | "fetchrow" | "fetchval" | "fetchmany" => Sink::SqlWords,
        "raw" if attr => Sink::SqlWords,
        m if HELPER.is_match(m) => Sink::SqlStart,
        _ => return None,
    };
    Some((callee.to_string(), sink))
}

/// An integer id by name (`workflow_id`, `obj.id`, `pk`): almost always a number, but only
/// the name says so.
fn id_named(n: Node<'_>, src: &str) -> bool {
    static ID: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?i)^(?:id|pk|\w+_id|\w+_pk)$").expect("static regex"));
    matches!(n.kind(), "identifier" | "attribute")
        && crate::checks::py::expr_name(n, src).is_some_and(|x| ID.is_match(&x))
}

/// `'CREATE VIEW "{alias}" AS SELECT * FROM "{main}"'`: DDL whose every placeholder is a
/// quoted identifier. An identifier cannot be bound, and the program's own names are the
/// usual case: a near miss.
fn quoted_identifier_ddl(texts: &[String]) -> bool {
    static DDL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?is)^[rRbBfFuU]*(?:"""|'''|"|')\s*(?:create|drop|alter)\s+(?:or\s+replace\s+)?(?:schema|database|table|index|view|materialized\s+view|role|user|sequence)\b"#)
            .expect("static regex")
    });
    static HOLE: LazyLock<Regex> =
        LazyLock::new(|| re::new(r#"\{[^{}]*\}|%s|%\(\w+\)s"#).expect("static regex"));
    let Some(first) = texts.first() else {
        return false;
    };
    let mut holes = 0;
    let mut quoted = 0;
    for t in texts {
        for m in HOLE.find_iter(t) {
            holes += 1;
            if t[..m.start()].ends_with('"') && t[m.end()..].starts_with('"') {
                quoted += 1;
            }
        }
    }
    DDL.is_match(first) && holes > 0 && holes == quoted
}

/// `x.replace("'", ...)`: quotes escaped by hand (`\'`), which a backslash in the value
/// undoes; a near miss rather than a plain splice.
fn quote_escape(n: Node<'_>, src: &str) -> bool {
    let n = unparen(n);
    n.kind() == "call"
        && n.child_by_field_name("function").is_some_and(|f| {
            f.kind() == "attribute"
                && f.child_by_field_name("attribute")
                    .is_some_and(|a| text(a, src) == "replace")
        })
        && n.child_by_field_name("arguments")
            .and_then(|a| a.named_child(0))
            .is_some_and(|a| matches!(text(a, src), "\"'\"" | "'\\''"))
}

/// The body of the function around `at`, or the module.
fn scope_of<'t>(facts: &PyFacts, root: Node<'t>, at: usize) -> Node<'t> {
    facts
        .function_at(at)
        .and_then(|f| node_at(root, f.body.0, f.body.1))
        .unwrap_or(root)
}

struct Analysis<'a, 't> {
    facts: &'a PyFacts,
    src: &'a str,
    root: Node<'t>,
    scope: Node<'t>,
    seen: HashSet<String>,
    /// Texts of the strings that make up the SQL, outermost first.
    texts: Vec<String>,
    /// Values spliced into the SQL that are not known to be safe.
    unsafe_nodes: Vec<Node<'t>>,
    /// Start bytes of unsafe values whose quotes were escaped by hand on the way.
    escaped: HashSet<usize>,
    /// Where the SQL call starts.
    at: usize,
    /// The value being followed sits in an f-string outside quotes: an identifier position.
    unquoted: bool,
    /// When a helper's return value is followed: its parameters that the call leaves at a
    /// literal default or passes a safe value.
    safe_params: HashSet<String>,
    /// Where in its template the value being followed is spliced.
    hole: Hole,
    /// Start bytes of unsafe values spliced where SQL wants an identifier or a clause, or
    /// joined unquoted into an `IN (...)` list: near misses.
    near_miss: HashSet<usize>,
}

/// Where a value sits in the SQL template it is spliced into.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hole {
    /// Not known (a `.format` template, a name followed from elsewhere).
    Unknown,
    /// A value: in quotes, after a comparison, `LIKE`, `LIMIT`, `VALUES (`, ...
    Value,
    /// An identifier or a clause: `SELECT %s FROM %s`, `GROUP BY %s`, `WHERE %s = 1`, a
    /// fragment after another fragment. A bound parameter cannot go there.
    Identifier,
    /// Unquoted inside `IN (...)`: a list of numbers (strings would need quotes).
    InList,
}

/// What SQL expects at a hole, from the template text before it (earlier holes written as
/// `\u{1}`).
fn hole_position(before: &str) -> Hole {
    static VALUE_WORD: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)(?:[=<>]|\blike|\bilike|\blimit|\boffset|\bthen|\belse|\bwhen|\bbetween|\bbetween\s+\S+\s+and|\bis|\binterval|\bescape|\bvalues\s*\(|,|\()$")
            .expect("static regex")
    });
    static IN_LIST: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?i)\bin\s*\($").expect("static regex"));
    static IDENT_WORD: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)(?:\b(?:select|distinct|from|join|update|into|table|by|where|and|or|on|having|as|union|all|set)|\x01|\)|\.)$")
            .expect("static regex")
    });
    if before.ends_with(['\'', '"', '`']) {
        return Hole::Value;
    }
    let b = before.trim_end();
    if IN_LIST.is_match(b) {
        Hole::InList
    } else if VALUE_WORD.is_match(b) {
        Hole::Value
    } else if IDENT_WORD.is_match(b) {
        Hole::Identifier
    } else {
        Hole::Value
    }
}

/// The text of a string literal (or implicit concatenation) without prefix and quotes,
/// each interpolation written as `\u{1}`; `stop` ends it at that interpolation.
fn string_content(n: Node<'_>, src: &str, stop: Option<usize>, out: &mut String) -> bool {
    let mut c = n.walk();
    for ch in n.named_children(&mut c).collect::<Vec<_>>() {
        match ch.kind() {
            "string" if string_content(ch, src, stop, out) => return true,
            "interpolation" => {
                if stop == Some(ch.start_byte()) {
                    return true;
                }
                out.push('\u{1}');
            }
            "string_content" | "escape_sequence" => out.push_str(text(ch, src)),
            _ => {}
        }
    }
    false
}

/// The holes of a `%` template, in order (`%%` left out); a named one (`%(x)s`) is Unknown.
fn percent_holes(template: &str) -> Vec<Hole> {
    static CONVERSION: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"%(\([^)]*\))?[#0 +\-]*(?:\*|[0-9]+)?(?:\.(?:\*|[0-9]+))?[hlL]?([a-zA-Z%])")
            .expect("static regex")
    });
    let mut holes = Vec::new();
    let mut marked = String::new();
    let mut last = 0;
    for c in CONVERSION.captures_iter(template) {
        let m = c.get(0).expect("whole match");
        marked.push_str(&template[last..m.start()]);
        last = m.end();
        if &c[2] == "%" {
            marked.push('%');
            continue;
        }
        holes.push(if c.get(1).is_some() {
            Hole::Unknown
        } else {
            hole_position(&marked)
        });
        marked.push('\u{1}');
    }
    holes
}

/// A parameter annotation that says the value is not free text: a number, a date, a UUID, an
/// enum, a model. Unannotated, `str`, `Any` and containers of those are free text.
fn typed_not_str(ann: Option<&str>) -> bool {
    let Some(ann) = ann.map(str::trim) else {
        return false;
    };
    static FREE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\b(?:str|Any|AnyStr|Text|bytes|object|dict|Dict|list|List|Sequence|Iterable|Mapping|tuple|Tuple|set|Set|Union)\b|^['\x22]")
            .expect("static regex")
    });
    !ann.is_empty() && !FREE.is_match(ann)
}

/// The values of a call's arguments (keyword values included, comments left out).
fn argument_values(args: Node<'_>) -> Vec<Node<'_>> {
    let mut c = args.walk();
    let items: Vec<Node<'_>> = args.named_children(&mut c).collect();
    items
        .into_iter()
        .filter(|x| x.kind() != "comment")
        .filter_map(|a| {
            if a.kind() == "keyword_argument" {
                a.child_by_field_name("value")
            } else {
                Some(a)
            }
        })
        .collect()
}

/// `",".join(ids)`.
fn is_join(n: Node<'_>, src: &str) -> bool {
    n.kind() == "call"
        && n.child_by_field_name("function").is_some_and(|f| {
            f.kind() == "attribute"
                && f.child_by_field_name("attribute")
                    .is_some_and(|a| text(a, src) == "join")
        })
}

fn unparen(mut n: Node<'_>) -> Node<'_> {
    for _ in 0..8 {
        if n.kind() == "parenthesized_expression" {
            match n.named_child(0) {
                Some(c) => n = c,
                None => break,
            }
        } else {
            break;
        }
    }
    n
}

/// A plain `%` template whose every conversion is numeric (`%d`, `%i`, `%5.2f`, `%x`, not
/// `%s`, `%r`, `%c`): formatting a string there raises `TypeError`, so only a number can
/// reach the SQL text.
fn numeric_conversions_only(n: Node<'_>, src: &str) -> bool {
    static CONVERSION: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"%(?:\([^)]*\))?[#0 +\-]*(?:\*|[0-9]+)?(?:\.(?:\*|[0-9]+))?[hlL]?(.)")
            .expect("static regex")
    });
    if n.kind() != "string" || has_interpolation(n) {
        return false;
    }
    let t = text(n, src);
    let mut any = false;
    for c in CONVERSION.captures_iter(t) {
        match c.get(1).map_or("", |m| m.as_str()) {
            "%" => {}
            "d" | "i" | "o" | "u" | "x" | "X" | "e" | "E" | "f" | "F" | "g" | "G" => any = true,
            _ => return false,
        }
    }
    any
}

fn is_string(n: Node<'_>) -> bool {
    matches!(n.kind(), "string" | "concatenated_string")
}

/// A string without interpolation, or a number.
fn is_literal(n: Node<'_>) -> bool {
    matches!(n.kind(), "integer" | "float") || is_string(n) && !has_interpolation(n)
}

fn has_interpolation(n: Node<'_>) -> bool {
    let mut found = false;
    crate::checks::py::visit(n, |c| {
        if c.kind() == "interpolation" {
            found = true;
        }
        !found
    });
    found
}

impl<'a, 't> Analysis<'a, 't> {
    /// Whether `n` builds a string at run time (and so splices values).
    fn is_built(&self, n: Node<'t>) -> bool {
        let n = unparen(n);
        match n.kind() {
            "string" | "concatenated_string" => has_interpolation(n),
            "binary_operator" => {
                let op = n.child_by_field_name("operator").map(|o| text(o, self.src));
                let left = n.child_by_field_name("left").map(unparen);
                match op {
                    Some("%") => left.is_some_and(|l| is_string(l) || self.is_built(l)),
                    Some("+") => self.plus_has_string(n),
                    _ => false,
                }
            }
            "call" => self.format_call(n).is_some(),
            _ => false,
        }
    }

    fn plus_has_string(&self, n: Node<'t>) -> bool {
        let mut todo = vec![n];
        let mut any = false;
        while let Some(x) = todo.pop() {
            let x = unparen(x);
            if x.kind() == "binary_operator"
                && x.child_by_field_name("operator").map(|o| text(o, self.src)) == Some("+")
            {
                todo.extend(x.child_by_field_name("left"));
                todo.extend(x.child_by_field_name("right"));
            } else if is_string(x) {
                any = true;
            }
        }
        any
    }

    /// `"...".format(..)`: the string and the argument list.
    fn format_call(&self, n: Node<'t>) -> Option<(Node<'t>, Node<'t>)> {
        let func = n.child_by_field_name("function")?;
        if func.kind() != "attribute" {
            return None;
        }
        if text(func.child_by_field_name("attribute")?, self.src) != "format" {
            return None;
        }
        let obj = unparen(func.child_by_field_name("object")?);
        if !is_string(obj) {
            return None;
        }
        Some((obj, n.child_by_field_name("arguments")?))
    }

    /// The argument of the sink: a built string, or a name assigned one.
    fn argument(&mut self, arg: Node<'t>, depth: usize) {
        let arg = unparen(arg);
        if depth > 4 {
            return;
        }
        if self.is_built(arg) {
            self.texts.push(text(arg, self.src).to_string());
            self.built(arg, depth);
            return;
        }
        if is_string(arg) {
            self.texts.push(text(arg, self.src).to_string());
            return;
        }
        if arg.kind() == "identifier" {
            let name = text(arg, self.src).to_string();
            if !self.seen.insert(name.clone()) {
                return;
            }
            for (value, _) in self.assignments(&name) {
                // Only what the name holds when the call runs: an assignment after it
                // (outside a loop around both) is a later use of the name.
                if value.start_byte() > self.at && !self.in_loop_with_call(value) {
                    continue;
                }
                self.argument(value, depth + 1);
            }
        }
    }

    /// Every value `built` splices into its text.
    fn built(&mut self, built: Node<'t>, depth: usize) {
        // Positions are known inside f-strings only (set per interpolation there).
        let outer = (self.unquoted, self.hole);
        self.unquoted = false;
        self.hole = Hole::Unknown;
        self.built_parts(built, depth);
        (self.unquoted, self.hole) = outer;
    }

    /// `v` is spliced in unsafe; a near miss where SQL wants an identifier or a clause (a
    /// bound parameter cannot go there, and the program's own names are the usual case), or
    /// where `",".join(ids)` fills an unquoted `IN (...)`.
    fn push_unsafe(&mut self, v: Node<'t>) {
        let near = match self.hole {
            Hole::Identifier => true,
            Hole::InList => is_join(v, self.src),
            Hole::Value | Hole::Unknown => false,
        };
        if near {
            self.near_miss.insert(v.start_byte());
        }
        self.unsafe_nodes.push(v);
    }

    fn built_parts(&mut self, built: Node<'t>, depth: usize) {
        let built = unparen(built);
        match built.kind() {
            "string" | "concatenated_string" => {
                let mut inter = Vec::new();
                crate::checks::py::visit(built, |c| {
                    if c.kind() == "interpolation" {
                        inter.push(c);
                        return false;
                    }
                    true
                });
                for i in inter {
                    if let Some(e) = i.child_by_field_name("expression").or(i.named_child(0)) {
                        // `from {db}.table` names a database; `owner='{db}'` is a value.
                        let before = self
                            .src
                            .get(..i.start_byte())
                            .and_then(|b| b.chars().next_back());
                        let outer = (self.unquoted, self.hole);
                        self.unquoted = !matches!(before, Some('\'' | '"'));
                        let mut pre = String::new();
                        string_content(built, self.src, Some(i.start_byte()), &mut pre);
                        self.hole = hole_position(&pre);
                        self.value(e, depth);
                        (self.unquoted, self.hole) = outer;
                    }
                }
            }
            "binary_operator" => {
                let op = built
                    .child_by_field_name("operator")
                    .map(|o| text(o, self.src));
                if op == Some("%") {
                    if let Some(l) = built.child_by_field_name("left") {
                        if self.is_built(l) {
                            self.built(l, depth);
                        } else if numeric_conversions_only(unparen(l), self.src) {
                            // `"rownum %% %d = 1" % n`: `%d` takes numbers only.
                            return;
                        }
                    }
                    let Some(r) = built.child_by_field_name("right").map(unparen) else {
                        return;
                    };
                    // Where each value goes: the holes of a plain template.
                    let holes = built
                        .child_by_field_name("left")
                        .map(unparen)
                        .filter(|l| is_string(*l) && !has_interpolation(*l))
                        .map(|l| {
                            let mut t = String::new();
                            string_content(l, self.src, None, &mut t);
                            percent_holes(&t)
                        })
                        .unwrap_or_default();
                    let outer = self.hole;
                    match r.kind() {
                        "tuple" => {
                            let mut c = r.walk();
                            let items: Vec<Node<'t>> = r
                                .named_children(&mut c)
                                .filter(|x| x.kind() != "comment")
                                .collect();
                            let known = holes.len() == items.len();
                            for (k, v) in items.into_iter().enumerate() {
                                if known {
                                    self.hole = holes[k];
                                }
                                self.value(v, depth);
                                self.hole = outer;
                            }
                        }
                        "dictionary" => {
                            let mut c = r.walk();
                            let pairs: Vec<Node<'t>> = r.named_children(&mut c).collect();
                            for p in pairs {
                                if let Some(v) = p.child_by_field_name("value") {
                                    self.value(v, depth);
                                }
                            }
                        }
                        _ => {
                            if let [one] = holes[..] {
                                self.hole = one;
                            }
                            self.value(r, depth);
                            self.hole = outer;
                        }
                    }
                } else {
                    let mut todo = vec![built];
                    while let Some(x) = todo.pop() {
                        let x = unparen(x);
                        if x.kind() == "binary_operator"
                            && x.child_by_field_name("operator").map(|o| text(o, self.src))
                                == Some("+")
                        {
                            todo.extend(x.child_by_field_name("right"));
                            todo.extend(x.child_by_field_name("left"));
                        } else if is_string(x) {
                            if has_interpolation(x) {
                                self.built(x, depth);
                            }
                        } else {
                            self.value(x, depth);
                        }
                    }
                }
            }
            "call" => {
                if let Some((s, args)) = self.format_call(built) {
                    if has_interpolation(s) {
                        self.built(s, depth);
                    }
                    for v in argument_values(args) {
                        self.value(v, depth);
                    }
                }
            }
            _ => {}
        }
    }

    /// A value spliced into SQL: safe, a fragment to follow, or reported.
    fn value(&mut self, v: Node<'t>, depth: usize) {
        let v = unparen(v);
        if depth > 6 {
            return;
        }
        if self.is_built(v) {
            self.built(v, depth + 1);
            return;
        }
        match v.kind() {
            "string"
            | "concatenated_string"
            | "integer"
            | "float"
            | "true"
            | "false"
            | "none"
            | "list_splat"
            | "dictionary_splat"
            | "comment" => {}
            "conditional_expression" => {
                let mut c = v.walk();
                let parts: Vec<Node<'t>> = v.named_children(&mut c).collect();
                // `a if cond else b`: the condition is the middle part.
                for (i, p) in parts.into_iter().enumerate() {
                    if i != 1 {
                        self.value(p, depth + 1);
                    }
                }
            }
            "binary_operator" => {
                let op = v
                    .child_by_field_name("operator")
                    .map_or("", |o| text(o, self.src));
                if op != "+" {
                    return; // arithmetic: a number
                }
                // `rows[0][0] + 3`, `day(x) + span * 86400` with `span = int(..)`: a number
                // plus anything is a number (a string there raises `TypeError`).
                if ["left", "right"].into_iter().any(|side| {
                    v.child_by_field_name(side)
                        .is_some_and(|n| self.numeric(n, depth + 1))
                }) {
                    return;
                }
                for side in ["left", "right"] {
                    if let Some(s) = v.child_by_field_name(side) {
                        self.value(s, depth + 1);
                    }
                }
            }
            "unary_operator" => {}
            "call" => {
                // `str(query_id)`: as safe as what it converts.
                let converted = (v
                    .child_by_field_name("function")
                    .is_some_and(|f| text(f, self.src) == "str"))
                .then(|| v.child_by_field_name("arguments"))
                .flatten()
                .filter(|a| a.named_child_count() == 1)
                .and_then(|a| a.named_child(0))
                .filter(|a| a.kind() != "keyword_argument");
                if let Some(inner) = converted.or_else(|| self.stripped_fragment(v)) {
                    self.value(inner, depth + 1);
                } else if self.safe_call(v) {
                    // Quotes doubled or removed, a number, an identifier.
                } else if let Some(inner) = self.literal_replace(v) {
                    self.value(inner, depth + 1);
                } else if !self.pure_program_call(v, depth) && !self.clean_helper(v, depth) {
                    self.push_unsafe(v);
                }
            }
            "identifier" => self.identifier(v, depth),
            // `where[4:]`: a slice of a fragment is as safe as the fragment.
            "subscript"
                if v.child_by_field_name("subscript")
                    .is_some_and(|i| i.kind() == "slice")
                    && v.child_by_field_name("value")
                        .is_some_and(|b| b.kind() == "identifier") =>
            {
                if let Some(b) = v.child_by_field_name("value") {
                    self.value(b, depth + 1);
                }
            }
            "attribute" | "subscript" => {
                if !self.safe_reference(v) {
                    self.push_unsafe(v);
                }
            }
            _ => self.push_unsafe(v),
        }
    }

    /// `n` is a number: a numeric literal, arithmetic that strings do not support (`-`,
    /// `/`, `//`, `**`), `+` with a number on one side, `*` of two numbers, a numeric
    /// conversion (`int()`, `cast_to_int()`, `len()`), or a local assigned only numbers.
    fn numeric(&self, n: Node<'t>, depth: usize) -> bool {
        static NUMERIC_CALL: LazyLock<Regex> = LazyLock::new(|| {
            re::new(r"(?i)^(?:int|float|len|abs|round|sum|ord|\w*_?int|\w*timestamp|time)$")
                .expect("static regex")
        });
        let n = unparen(n);
        if depth > 8 {
            return false;
        }
        match n.kind() {
            "integer" | "float" => true,
            "unary_operator" => n.named_child(0).is_some_and(|x| self.numeric(x, depth + 1)),
            "binary_operator" => {
                let op = n
                    .child_by_field_name("operator")
                    .map_or("", |o| text(o, self.src));
                let side = |s: &'static str| {
                    n.child_by_field_name(s)
                        .is_some_and(|x| self.numeric(x, depth + 1))
                };
                match op {
                    "-" | "/" | "//" | "**" => true,
                    "+" => side("left") || side("right"),
                    "*" => side("left") && side("right"),
                    _ => false,
                }
            }
            "call" => n.child_by_field_name("function").is_some_and(|f| {
                let callee = text(f, self.src);
                NUMERIC_CALL.is_match(callee.rsplit('.').next().unwrap_or(callee))
            }),
            "identifier" => {
                let name = text(n, self.src);
                let assigned = self.assignments(name);
                if assigned.is_empty() {
                    return self.facts.function_at(n.start_byte()).is_some_and(|f| {
                        f.params.iter().any(|p| {
                            p.name == name
                                && p.annotation
                                    .as_deref()
                                    .is_some_and(|a| matches!(a.trim(), "int" | "float"))
                        })
                    });
                }
                assigned.iter().all(|(v, is_loop)| {
                    if *is_loop {
                        text(*v, self.src).starts_with("range(")
                    } else {
                        // `x += 1` keeps a number a number.
                        self.numeric(*v, depth + 1)
                    }
                })
            }
            _ => false,
        }
    }

    /// `where.replace("session.", "s.")`: a fragment with one literal swapped for another,
    /// as safe as the fragment.
    fn literal_replace(&self, v: Node<'t>) -> Option<Node<'t>> {
        let func = v.child_by_field_name("function")?;
        if func.kind() != "attribute"
            || text(func.child_by_field_name("attribute")?, self.src) != "replace"
        {
            return None;
        }
        let args = argument_values(v.child_by_field_name("arguments")?);
        (args.len() == 2
            && args
                .iter()
                .all(|a| a.kind() == "string" && !has_interpolation(*a)))
        .then(|| func.child_by_field_name("object"))
        .flatten()
    }

    /// `",".join(ids)` where the scope checks every item is digits
    /// (`if all(i.isdigit() for i in ids):`).
    fn digit_checked_items(&self, n: Node<'t>) -> bool {
        if n.kind() != "identifier" {
            return false;
        }
        static DIGIT_CHECK: LazyLock<Regex> = LazyLock::new(|| {
            re::new(
                r"\ball\(\s*\w+\.(?:isdigit|isdecimal|isnumeric)\(\)\s+for\s+\w+\s+in\s+(\w+)\s*\)",
            )
            .expect("static regex")
        });
        let name = text(n, self.src);
        DIGIT_CHECK
            .captures_iter(text(self.scope, self.src))
            .any(|c| &c[1] == name)
    }

    /// `self._user_filter(user_id)`, `where_for(ids)`: a function of this file (a method of
    /// the same class through `self`/`cls`, or a module-level function) every return value
    /// of which is safe, given what the call passes it (`user_id` only reaches the text
    /// once its items are checked to be digits).
    fn clean_helper(&mut self, v: Node<'t>, depth: usize) -> bool {
        if depth > 4 {
            return false;
        }
        let Some(func) = v.child_by_field_name("function") else {
            return false;
        };
        let (name, method) = match func.kind() {
            "identifier" => (text(func, self.src), false),
            "attribute" => {
                let obj = func
                    .child_by_field_name("object")
                    .map(|o| text(o, self.src));
                if !matches!(obj, Some("self" | "cls")) {
                    return false;
                }
                let Some(a) = func.child_by_field_name("attribute") else {
                    return false;
                };
                (text(a, self.src), true)
            }
            _ => return false,
        };
        let facts: &'a PyFacts = self.facts;
        let class = facts
            .function_at(v.start_byte())
            .and_then(|f| f.class.clone());
        let Some(helper) = facts.functions.iter().find(|f| {
            f.name == name
                && if method {
                    f.class == class && class.is_some()
                } else {
                    f.class.is_none()
                }
        }) else {
            return false;
        };
        let Some(body) = node_at(self.root, helper.body.0, helper.body.1) else {
            return false;
        };
        if body.start_byte() <= v.start_byte() && v.start_byte() < body.end_byte() {
            return false; // recursion
        }
        // Which of the helper's parameters the call leaves safe.
        let params: Vec<&crate::model::facts::python::Param> =
            helper.params.iter().skip(usize::from(method)).collect();
        let Some(args) = v.child_by_field_name("arguments") else {
            return false;
        };
        let mut c = args.walk();
        let items: Vec<Node<'t>> = args
            .named_children(&mut c)
            .filter(|x| x.kind() != "comment")
            .collect();
        let mut safe_params = HashSet::new();
        for (i, p) in params.iter().enumerate() {
            let passed = items.iter().find_map(|a| {
                if a.kind() == "keyword_argument" {
                    let k = a.child_by_field_name("name")?;
                    (text(k, self.src) == p.name)
                        .then(|| a.child_by_field_name("value"))
                        .flatten()
                } else {
                    None
                }
            });
            let passed = passed.or_else(|| {
                items.get(i).copied().filter(|a| {
                    !matches!(
                        a.kind(),
                        "keyword_argument" | "list_splat" | "dictionary_splat"
                    )
                })
            });
            let safe = match passed {
                Some(a) => {
                    // Judged afresh: a name already followed for the SQL text is skipped
                    // as seen, which would read as safe here.
                    let seen = std::mem::take(&mut self.seen);
                    let before = self.unsafe_nodes.len();
                    self.value(a, depth + 1);
                    let clean = self.unsafe_nodes.len() == before;
                    self.unsafe_nodes.truncate(before);
                    self.seen = seen;
                    clean
                }
                // Left at its default: a literal is the helper's own text.
                None => p.default.as_deref().is_some_and(|d| {
                    let d = d.trim();
                    d.starts_with(['\'', '"']) || d.parse::<f64>().is_ok() || d == "None"
                }),
            };
            if safe {
                safe_params.insert(p.name.clone());
            }
        }
        let mut returns = Vec::new();
        visit_same_scope(body, |n| {
            if n.kind() == "return_statement" {
                returns.push(n);
            }
        });
        if returns.is_empty() {
            return false;
        }
        let mut sub = Analysis {
            facts: self.facts,
            src: self.src,
            root: self.root,
            scope: body,
            seen: HashSet::new(),
            texts: Vec::new(),
            unsafe_nodes: Vec::new(),
            escaped: HashSet::new(),
            at: body.end_byte(),
            unquoted: false,
            safe_params,
            hole: Hole::Unknown,
            near_miss: HashSet::new(),
        };
        for r in returns {
            if let Some(e) = r.named_child(0) {
                sub.value(e, depth + 2);
            }
        }
        sub.unsafe_nodes.is_empty()
    }

    /// `n` and the SQL call sit in the same loop, so `n` may run before the call.
    fn in_loop_with_call(&self, n: Node<'t>) -> bool {
        let mut cur = n.parent();
        while let Some(p) = cur {
            if p.start_byte() < self.scope.start_byte() {
                break;
            }
            if matches!(p.kind(), "for_statement" | "while_statement")
                && p.start_byte() <= self.at
                && self.at < p.end_byte()
            {
                return true;
            }
            cur = p.parent();
        }
        false
    }

    /// `sql.rstrip(";")`: a fragment trimmed, as safe as the fragment.
    fn stripped_fragment(&self, v: Node<'t>) -> Option<Node<'t>> {
        let func = v.child_by_field_name("function")?;
        if func.kind() != "attribute" {
            return None;
        }
        let method = text(func.child_by_field_name("attribute")?, self.src);
        let obj = unparen(func.child_by_field_name("object")?);
        (matches!(method, "strip" | "rstrip" | "lstrip")
            && obj.kind() == "identifier"
            && FRAGMENT_NAME.is_match(text(obj, self.src)))
        .then_some(obj)
    }

    /// `",".join(f"'{t[0]}'" for t in ids)` where the scope rejects `ids` unless every item
    /// is an int (`if [j for i in ids for j in i if not isinstance(j, int)]: return`).
    fn int_checked_iterable(&self, generator: Node<'t>) -> bool {
        if generator.kind() != "generator_expression" && generator.kind() != "list_comprehension" {
            return false;
        }
        let mut c = generator.walk();
        let iterable = generator
            .named_children(&mut c)
            .find(|x| x.kind() == "for_in_clause")
            .and_then(|f| f.child_by_field_name("right"))
            .map(unparen);
        let Some(it) = iterable.filter(|i| i.kind() == "identifier") else {
            return false;
        };
        let n = regex::escape(text(it, self.src));
        re::new(&format!(
            r"isinstance\(\s*\w+\s*,\s*(?:int|float)\s*\)[^:\n]*(?:\n[^:\n]*)?\bin\s+{n}\b"
        ))
        .is_ok_and(|re| re.is_match(text(self.scope, self.src)))
    }

    /// A list of placeholders built in the scope: `values = [":" + p for p in names]`.
    fn placeholder_list(&self, n: Node<'t>) -> bool {
        n.kind() == "identifier"
            && self.assignments(text(n, self.src)).iter().any(|(v, _)| {
                let v = unparen(*v);
                matches!(v.kind(), "list_comprehension" | "list")
                    && [r#"":""#, r#"':'"#, r#""?""#, r#"'?'"#, r#""%s""#, r#"'%s'"#]
                        .iter()
                        .any(|p| text(v, self.src).contains(p))
            })
    }

    fn safe_call(&self, v: Node<'t>) -> bool {
        let Some(func) = v.child_by_field_name("function") else {
            return false;
        };
        let callee = text(func, self.src);
        let last = callee.rsplit('.').next().unwrap_or(callee);
        if SAFE_CALL.is_match(last) {
            return true;
        }
        if func.kind() == "attribute" {
            let obj = func.child_by_field_name("object").map(unparen);
            // `", ".join(["%s"] * n)`, `",".join("?" for _ in ids)`.
            if last == "join" {
                let a = v
                    .child_by_field_name("arguments")
                    .map_or("", |a| text(a, self.src));
                return a.contains("?")
                    || a.contains("%s")
                    || a.contains(":")
                    || a.contains("re.sub(")
                    || a.contains("escape")
                    || a.contains("quote")
                    || a.contains("identifier(")
                    || {
                        // `",".join(x for x in xs)`: the generator is the argument list.
                        let inner = v.child_by_field_name("arguments").and_then(|a| {
                            if a.kind() == "generator_expression" {
                                Some(a)
                            } else {
                                a.named_child(0)
                            }
                        });
                        inner.is_some_and(|i| {
                            self.int_checked_iterable(i)
                                || self.digit_checked_items(i)
                                || self.placeholder_list(i)
                                || self.safe_reference(i)
                                || self.ident_named(i)
                                || crate::checks::py::expr_name(i, self.src)
                                    .is_some_and(|n| FRAGMENT_NAME.is_match(&n))
                        })
                    };
            }
            // `path.replace("'", "''")`: quotes doubled, the SQL way of escaping a literal
            // (or removed).
            if last == "replace" {
                let a = v
                    .child_by_field_name("arguments")
                    .map_or("", |a| text(a, self.src));
                let compact: String = a.chars().filter(|c| !c.is_whitespace()).collect();
                if matches!(compact.as_str(), r#"("'","''")"# | r#"("'","")"#) {
                    return true;
                }
            }
            // `COLUMNS.get(col, "id")`, `name.upper()`.
            if let Some(o) = obj {
                let on = crate::checks::py::expr_name(o, self.src).unwrap_or_default();
                if last == "get" && is_constant_name(&on) {
                    return true;
                }
                // `{"avg": "AVG(value)", ...}.get(agg, "AVG(value)")`: a literal table of SQL
                // fragments with a literal default is an allow-list; no caller text gets out.
                if last == "get" && self.literal_table(o) {
                    let default = v
                        .child_by_field_name("arguments")
                        .and_then(|a| positional_arg(a, 1));
                    if default.is_none_or(|d| is_literal(unparen(d))) {
                        return true;
                    }
                }
                // `kwargs.get("max_execution_time", 0)`: the default says it is a number.
                if last == "get"
                    && v.child_by_field_name("arguments")
                        .and_then(|a| positional_arg(a, 1))
                        .is_some_and(|d| matches!(d.kind(), "integer" | "float"))
                {
                    return true;
                }
                if matches!(last, "upper" | "lower" | "strip" | "value" | "name")
                    && (self.safe_reference(o) || self.ident_named(o))
                {
                    return true;
                }
            }
        }
        // `self.table_name()`, `get_columns()`: the name says identifier.
        IDENT_NAME.is_match(last.trim_start_matches("get_"))
    }

    /// `db.datetime_grouping(group)`: a function of the program's own objects whose arguments
    /// are all safe.
    fn pure_program_call(&mut self, v: Node<'t>, depth: usize) -> bool {
        let Some(func) = v.child_by_field_name("function") else {
            return false;
        };
        if func.kind() != "attribute"
            || !self.root_name(func).is_some_and(|r| self.program_state(r))
        {
            return false;
        }
        let Some(args) = v.child_by_field_name("arguments") else {
            return false;
        };
        // Judged afresh, as in `clean_helper`: a name already followed for the SQL text
        // would be skipped as seen and read as safe here.
        let seen = std::mem::take(&mut self.seen);
        let before = self.unsafe_nodes.len();
        for a in argument_values(args) {
            self.value(a, depth + 1);
        }
        let clean = self.unsafe_nodes.len() == before;
        self.unsafe_nodes.truncate(before);
        self.seen = seen;
        clean
    }

    fn ident_named(&self, n: Node<'t>) -> bool {
        crate::checks::py::expr_name(n, self.src)
            .is_some_and(|name| IDENT_NAME.is_match(&name) || is_constant_name(&name))
    }

    /// The identifier an attribute/subscript chain starts from.
    fn root_name(&self, v: Node<'t>) -> Option<Node<'t>> {
        let mut n = v;
        for _ in 0..32 {
            n = match n.kind() {
                "attribute" => n.child_by_field_name("object")?,
                "subscript" => n.child_by_field_name("value")?,
                "call" => n.child_by_field_name("function")?,
                "parenthesized_expression" => n.named_child(0)?,
                "identifier" => return Some(n),
                _ => return None,
            };
        }
        None
    }

    /// Program state rather than a caller's value: `self`/`cls`, an import, a module-level
    /// name, a class, or a parameter typed as something other than a string.
    fn program_state(&self, root: Node<'t>) -> bool {
        let name = text(root, self.src);
        if matches!(name, "self" | "cls") || self.facts.imports.contains_key(name) {
            return true;
        }
        if name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
            return true;
        }
        if let Some(f) = self.facts.function_at(root.start_byte()) {
            if let Some(p) = f.params.iter().find(|p| p.name == name) {
                return typed_not_str(p.annotation.as_deref());
            }
            let body = text(self.scope, self.src);
            let n = regex::escape(name);
            let local = re::new(&format!(r"(?m)^\s*(?:for\s+[\w\s,]*\b{n}\b[\w\s,]*\s+in\b|[\w\s,]*\b{n}\b[\w\s,]*=[^=]|with\b.*\bas\s+{n}\b)"))
                .is_ok_and(|re| re.is_match(body));
            if local {
                return false;
            }
        }
        crate::checks::py::module_assignments(self.root, self.src)
            .iter()
            .any(|(_, n, _)| *n == name)
    }

    /// `self.TABLE`, `settings.SCHEMA`, `self.table_name`, `COLUMNS[key]`, `Model._meta.db_table`.
    fn safe_reference(&self, v: Node<'t>) -> bool {
        if matches!(v.kind(), "attribute" | "subscript")
            && self.root_name(v).is_some_and(|r| self.program_state(r))
        {
            return true;
        }
        match v.kind() {
            "attribute" => {
                let name = v
                    .child_by_field_name("attribute")
                    .map_or("", |a| text(a, self.src));
                // `column.default.arg`, `index.name`: an attribute of a schema object.
                let schema_object = self
                    .root_name(v)
                    .is_some_and(|r| IDENT_NAME.is_match(text(r, self.src)));
                schema_object
                    || is_constant_name(name)
                    || IDENT_NAME.is_match(name)
                    || (matches!(name, "name" | "key")
                        && v.child_by_field_name("object")
                            .is_some_and(|o| self.ident_named(o)))
                    || matches!(name, "value" | "name") && {
                        // `SortOrder.ASC.value`, `Direction(x).value`: an enum member.
                        v.child_by_field_name("object").is_some_and(|o| {
                            let t = text(o, self.src);
                            t.split('.').any(is_constant_name)
                                || t.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                        })
                    }
            }
            "subscript" => {
                let Some(base) = v.child_by_field_name("value").map(unparen) else {
                    return false;
                };
                let bn = crate::checks::py::expr_name(base, self.src).unwrap_or_default();
                is_constant_name(&bn) || self.local_dict_literal(&bn)
            }
            "identifier" => {
                let name = text(v, self.src);
                is_constant_name(name) || IDENT_NAME.is_match(name)
            }
            _ => false,
        }
    }

    /// A dict literal whose every value is a literal, or a name of the scope only ever bound
    /// to one.
    fn literal_table(&self, n: Node<'t>) -> bool {
        let literal_dict = |d: Node<'t>| {
            let d = unparen(d);
            let mut c = d.walk();
            d.kind() == "dictionary"
                && d.named_children(&mut c).all(|p| {
                    p.kind() == "pair" && p.child_by_field_name("value").is_some_and(is_literal)
                })
        };
        match n.kind() {
            "dictionary" => literal_dict(n),
            "identifier" => {
                let assigned = self.assignments(text(n, self.src));
                !assigned.is_empty()
                    && assigned
                        .iter()
                        .all(|(v, is_loop)| !is_loop && literal_dict(*v))
            }
            _ => false,
        }
    }

    fn local_dict_literal(&self, name: &str) -> bool {
        !name.is_empty()
            && self
                .assignments(name)
                .iter()
                .any(|(v, _)| matches!(unparen(*v).kind(), "dictionary" | "list" | "tuple"))
    }

    fn identifier(&mut self, v: Node<'t>, depth: usize) {
        let name = text(v, self.src).to_string();
        if is_constant_name(&name) || IDENT_NAME.is_match(&name) {
            return;
        }
        // `from {backup_db_name}.{table}`: a database name in an identifier position, where
        // no placeholder can go; in quotes (`owner='{db_name}'`) it is a value and followed.
        if self.unquoted && DB_NAME.is_match(&name) {
            return;
        }
        if self.allow_listed(&name) {
            return;
        }
        // A parameter typed as a number, a date, a UUID, an enum or a model, or an
        // unannotated one whose default is a number (`offset=0`).
        if let Some(f) = self.facts.function_at(v.start_byte()) {
            if let Some(p) = f.params.iter().find(|p| p.name == name) {
                let numeric_default = p.annotation.is_none()
                    && p.default
                        .as_deref()
                        .is_some_and(|d| d.trim().parse::<f64>().is_ok());
                if numeric_default || typed_not_str(p.annotation.as_deref()) {
                    return;
                }
            }
        }
        let fragment = FRAGMENT_NAME.is_match(&name);
        if !self.seen.insert(name.clone()) {
            return;
        }
        let assigned = self.assignments(&name);
        if assigned.is_empty() {
            if !fragment && !self.safe_params.contains(&name) {
                self.push_unsafe(v);
            }
            return;
        }
        let first_unsafe = self.unsafe_nodes.len();
        let escaped = assigned
            .iter()
            .any(|(value, _)| quote_escape(*value, self.src));
        let mut alias_unsafe = false;
        // Every unknown the alias holds is a near miss where it was spliced.
        let mut alias_near_miss = true;
        for (value, is_loop) in assigned {
            if is_loop {
                // `for col in ("a", "b")`, `for col in COLUMNS`.
                let it = unparen(value);
                let literal = matches!(it.kind(), "list" | "tuple" | "set" | "dictionary")
                    && !has_interpolation(it);
                let safe = literal
                    || self.safe_reference(it)
                    || self.ident_named(it)
                    || (it.kind() == "call" && self.safe_call(it))
                    || text(it, self.src).starts_with("range(");
                if !safe {
                    alias_unsafe = true;
                    alias_near_miss = false;
                }
                continue;
            }
            let value = unparen(value);
            if self.is_built(value) {
                self.built(value, depth + 1);
                continue;
            }
            let before = self.unsafe_nodes.len();
            self.value(value, depth + 1);
            if self.unsafe_nodes.len() > before {
                // A plain alias of something unknown: report where it is spliced in.
                if self.unsafe_nodes[before..]
                    .iter()
                    .any(|n| !self.near_miss.contains(&n.start_byte()))
                {
                    alias_near_miss = false;
                }
                self.unsafe_nodes.truncate(before);
                alias_unsafe = true;
            }
        }
        if alias_unsafe && !fragment {
            self.push_unsafe(v);
            if alias_near_miss {
                self.near_miss.insert(v.start_byte());
            }
        }
        if escaped {
            for n in &self.unsafe_nodes[first_unsafe..] {
                self.escaped.insert(n.start_byte());
            }
        }
    }

    /// `if col not in ALLOWED`, `assert col in (...)`, `if col in COLUMNS:` in the scope.
    fn allow_listed(&self, name: &str) -> bool {
        let scope_text = text(self.scope, self.src);
        let n = regex::escape(name);
        re::new(&format!(
            r"\b{n}\s+(?:not\s+)?in\s+[\w.({{\[]|\b{n}\s*(?:==|!=)\s*[rbfu]*['\x22]|isinstance\(\s*{n}\s*,\s*(?:int|float)|re\.(?:full)?match\([^\n]*\b{n}\b|\b{n}\.(?:isalnum|isidentifier|isdigit|isdecimal)\("
        ))
        .is_ok_and(|re| re.is_match(scope_text))
    }

    /// Values assigned to `name` in the scope (or the module): `(value, from a for loop)`.
    fn assignments(&self, name: &str) -> Vec<(Node<'t>, bool)> {
        let mut out = Vec::new();
        let src = self.src;
        let mut collect = |n: Node<'t>| match n.kind() {
            "assignment" | "augmented_assignment" => {
                let (Some(l), Some(r)) = (
                    n.child_by_field_name("left"),
                    n.child_by_field_name("right"),
                ) else {
                    return;
                };
                if l.kind() == "identifier" && text(l, src) == name {
                    out.push((r, false));
                }
            }
            "for_statement" => {
                let (Some(l), Some(r)) = (
                    n.child_by_field_name("left"),
                    n.child_by_field_name("right"),
                ) else {
                    return;
                };
                let hit = match l.kind() {
                    "identifier" => text(l, src) == name,
                    _ => crate::checks::py::mentions(l, name, src),
                };
                if hit {
                    out.push((r, true));
                }
            }
            _ => {}
        };
        visit_same_scope(self.scope, &mut collect);
        if out.is_empty() && self.scope != self.root {
            // A module-level name.
            for (_, n, v) in crate::checks::py::module_assignments(self.root, src) {
                if n == name {
                    out.push((v, false));
                }
            }
        }
        out
    }
}
