//! SEC001: `datetime.utcnow()` / `datetime.utcfromtimestamp()` (and `default=datetime.utcnow`).
//!
//! Many code bases store naive UTC on purpose and compare it with naive UTC: there the call
//! is only deprecated, so it is reported with low confidence. The evidence that it is a
//! real bug raises the confidence:
//! - the naive value is turned into an epoch with `.timestamp()` or `time.mktime(..)`, which
//!   read it as local time (high);
//! - it is compared with or subtracted from an aware datetime in the same function, which
//!   raises `TypeError` (high);
//! - it is the default of, or is stored into, a timezone-aware column of this file
//!   (`DateTime(timezone=True)`, `DateTime(True)`, `TIMESTAMP(timezone=True)`): the
//!   database reads it in the session time zone (medium).
//!
//! Index vet: an epoch made with `.timestamp()` of a naive UTC value and stored under a
//! keyword (`issued_at=int(datetime.utcnow().timestamp())`) that some file of the project
//! reads back with `datetime.fromtimestamp(x.issued_at)`, which reads it as local time
//! again: the offset cancels out, so the finding is demoted to low.

use crate::checks::py::{facts, visit};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::python::{text, PyFacts};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;
use tree_sitter::Node;

const NAIVE: &[&str] = &[
    "datetime.datetime.utcnow",
    "datetime.datetime.utcfromtimestamp",
];

/// Column declarations with a timezone-aware type: `name = Column(DateTime(True))`,
/// `name: Mapped[datetime] = mapped_column(TIMESTAMP(timezone=True))`.
static AWARE_COLUMN: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?m)^[ \t]*(\w+)[ \t]*(?::[^=\n]*)?=[ \t]*(?:\w+\.)*(?:Column|mapped_column|Field)\((?:[^()]|\([^()]*\))*?(?:timezone[ \t]*=[ \t]*True|(?:DateTime|TIMESTAMP)\([ \t]*True)")
        .expect("static regex")
});

/// Text of an aware datetime.
static AWARE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"timezone\.utc|\btz=|\btzinfo\b|\bUTC\b|\butc_now\(|\baware\w*\(|astimezone\(|timezone\.now\(\)|ZoneInfo\(|pytz\.")
        .expect("static regex")
});

fn resolves_naive(facts: &PyFacts, callee: &str) -> bool {
    facts
        .resolve(callee)
        .is_some_and(|q| NAIVE.contains(&q.as_str()))
}

pub fn naive_utc_datetime(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let Some(facts) = facts(ctx) else {
        return;
    };
    let src = ctx.file.text.as_str();
    let aware_columns: HashSet<&str> = AWARE_COLUMN
        .captures_iter(src)
        .filter_map(|c| c.get(1))
        .map(|m| m.as_str())
        .collect();
    visit(ctx.tree.root_node(), |n| {
        match n.kind() {
            "call" => {
                let Some(func) = n.child_by_field_name("function") else {
                    return true;
                };
                let method = func.child_by_field_name("attribute").map(|a| text(a, src));
                if func.kind() != "attribute"
                    || !matches!(method, Some("utcnow" | "utcfromtimestamp"))
                    || !resolves_naive(facts, text(func, src))
                {
                    return true;
                }
                let callee = text(func, src);
                let confidence = call_evidence(n, src, facts, &aware_columns);
                out.push(
                    Hit::new(n.start_byte(), n.end_byte())
                        .var("callee", callee)
                        .confidence(confidence.unwrap_or(Confidence::Low)),
                );
            }
            "keyword_argument" => {
                let Some(value) = n.child_by_field_name("value") else {
                    return true;
                };
                let method = value.child_by_field_name("attribute").map(|a| text(a, src));
                if value.kind() != "attribute"
                    || method != Some("utcnow")
                    || !resolves_naive(facts, text(value, src))
                {
                    return true;
                }
                // `mapped_column(TIMESTAMP(timezone=True), default=datetime.utcnow)`.
                let aware_column = n
                    .parent()
                    .is_some_and(|args| AWARE_COLUMN_ARGS.is_match(text(args, src)));
                out.push(
                    Hit::new(value.start_byte(), value.end_byte())
                        .var("callee", text(value, src))
                        .confidence(if aware_column {
                            Confidence::Medium
                        } else {
                            Confidence::Low
                        }),
                );
            }
            _ => {}
        }
        true
    });
}

/// The argument list of a timezone-aware column type.
static AWARE_COLUMN_ARGS: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"timezone[ \t]*=[ \t]*True|(?:DateTime|TIMESTAMP)\([ \t]*True").expect("static regex")
});

/// Evidence that this naive value is misread, with the confidence it earns.
fn call_evidence(
    call: Node<'_>,
    src: &str,
    facts: &PyFacts,
    aware_columns: &HashSet<&str>,
) -> Option<Confidence> {
    // Inline: `datetime.utcnow().timestamp()`, `(utcnow() + delta).timestamp()`,
    // `utcnow() < aware`, `aware - utcnow()`, `Model(created_at=utcnow())`.
    let mut cur = call;
    for _ in 0..6 {
        let Some(p) = cur.parent() else { break };
        match p.kind() {
            "parenthesized_expression" => cur = p,
            "binary_operator" => {
                if other_operand_aware(p, cur, src) {
                    return Some(Confidence::High);
                }
                cur = p;
            }
            "comparison_operator" => {
                if other_operand_aware(p, cur, src) {
                    return Some(Confidence::High);
                }
                break;
            }
            "attribute" => {
                let attr = p.child_by_field_name("attribute").map(|a| text(a, src));
                if attr == Some("timestamp") {
                    return Some(Confidence::High);
                }
                // `time.mktime(datetime.utcnow().timetuple())`
                let args = p.parent().and_then(|c| c.parent());
                if attr == Some("timetuple")
                    && args.is_some_and(|a| a.kind() == "argument_list" && mktime_call(a, src))
                {
                    return Some(Confidence::High);
                }
                break;
            }
            "keyword_argument" => {
                let key = p.child_by_field_name("name").map(|k| text(k, src));
                if key.is_some_and(|k| aware_columns.contains(k)) {
                    return Some(Confidence::Medium);
                }
                break;
            }
            _ => break,
        }
    }
    // Through a local name: `now = datetime.utcnow()` then `now.timestamp()`.
    let assignment = cur.parent().filter(|p| p.kind() == "assignment")?;
    let left = assignment
        .child_by_field_name("left")
        .filter(|l| l.kind() == "identifier")?;
    let name = text(left, src);
    let f = facts.function_at(call.start_byte())?;
    let rest = src.get(assignment.end_byte()..f.end)?;
    let mut best: Option<Confidence> = None;
    for line in rest.lines() {
        if !re::has_word(line, name) {
            continue;
        }
        if line.contains(".timestamp()") || line.contains("mktime(") {
            return Some(Confidence::High);
        }
        if AWARE.is_match(line) && COMPARES.is_match(line) && !line.contains("replace(tzinfo") {
            return Some(Confidence::High);
        }
        if aware_columns.iter().any(|c| {
            line.contains(&format!("{c}={name}")) || line.contains(&format!(".{c} = {name}"))
        }) {
            best = Some(Confidence::Medium);
        }
        // Re-assigned: the rest is about another value.
        if re::new(&format!(r"^\s*{}\s+=\s", regex::escape(name))).is_ok_and(|re| re.is_match(line))
        {
            break;
        }
    }
    best
}

static COMPARES: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"[<>]=?|[^=!<>]==[^=]|!=|\s-\s").expect("static regex"));

fn other_operand_aware(op: Node<'_>, this: Node<'_>, src: &str) -> bool {
    let mut c = op.walk();
    let aware = op
        .named_children(&mut c)
        .filter(|x| *x != this)
        .any(|x| AWARE.is_match(text(x, src)));
    let operator = op
        .child_by_field_name("operator")
        .map(|o| text(o, src))
        .unwrap_or("");
    aware && (op.kind() == "comparison_operator" || operator == "-")
}

/// `time.mktime(<this>.timetuple())`: reads the naive value as local time.
fn mktime_call(args: Node<'_>, src: &str) -> bool {
    let Some(call) = args.parent() else {
        return false;
    };
    let callee = call
        .child_by_field_name("function")
        .map_or("", |f| text(f, src));
    callee.ends_with("mktime")
}

/// `datetime.fromtimestamp(token.issued_at)` (no `tz`): the attributes a file reads back as
/// naive local time.
pub fn naive_epoch_reads(text: &str) -> Vec<String> {
    static READ: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\bfromtimestamp\(\s*[\w.\[\]]*\.(\w+)\s*\)").expect("static regex")
    });
    let mut out: Vec<String> = READ.captures_iter(text).map(|c| c[1].to_string()).collect();
    out.sort();
    out.dedup();
    out
}

/// SEC001's index vet: `issued_at=int(datetime.utcnow().timestamp())` where a file of the
/// project reads `issued_at` back with a naive `datetime.fromtimestamp`: demoted to low.
pub fn epoch_read_back_naive(
    ix: &crate::model::pyindex::ProjectIndex<'_>,
    _path: &str,
    text: &str,
    at: usize,
) -> crate::checks::Vet {
    static STORED: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(\w+)\s*=\s*(?:int\(\s*)?$").expect("static regex"));
    static EPOCH: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"^(?:\w+\.)*utcnow\(\)\.timestamp\(\)").expect("static regex"));
    let keep = crate::checks::Vet::Keep;
    let Some(rest) = text.get(at..) else {
        return keep;
    };
    if !EPOCH.is_match(rest) {
        return keep;
    }
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let Some(c) = STORED.captures(&text[line_start..at]) else {
        return keep;
    };
    let key = &c[1];
    if ix
        .files
        .iter()
        .any(|f| f.part.naive_epoch_reads.iter().any(|k| k == key))
    {
        crate::checks::Vet::Demote(Confidence::Low)
    } else {
        keep
    }
}
