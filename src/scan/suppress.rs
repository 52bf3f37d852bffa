//! Inline suppressions: `strata: ignore[ID, ...] reason` in a comment (`#` in Python and
//! YAML, `//` in Rust, `--` in SQL) and the file-wide `strata: ignore-file[ID, ...]`.
//!
//! Lessons from Bandit and Semgrep: a suppression names the rules it silences, so a bare
//! `strata: ignore` (or one naming only unknown ids) suppresses nothing and is reported;
//! and the comment may sit on any line of a multi-line statement, not only on the line
//! where the finding starts.
//!
//! Comments are found by text, cheaply, while each file is read (`directives`); they are
//! applied to findings in the filter stage (`apply`).

use crate::rules::finding::{Finding, Suppressed};
use crate::source::comments;
use crate::source::lang::Lang;
use crate::source::re;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

/// The text every suppression contains; files without it are not looked at further.
const NEEDLE: &str = "strata:";

static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?:#+|//[/!]?|--+)\s*strata:\s*(ignore-file|ignore)\b(.*)$").expect("static regex")
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Covers the statement it sits in, or the next code line when alone on its line.
    Line,
    /// Covers the whole file.
    File,
}

/// One suppression comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// Line of the comment (1-based).
    pub line: usize,
    /// Line of code it applies to: its own line for a trailing comment, the next code
    /// line for a comment alone on its line.
    pub target: usize,
    pub scope: Scope,
    /// Rule ids as written, upper-cased.
    pub ids: Vec<String>,
    pub reason: Option<String>,
    /// Why the comment is malformed (no ids, unclosed bracket), if it is.
    pub problem: Option<String>,
}

/// Every suppression comment of a file. Cheap when there is none: one substring search.
pub fn directives(text: &str, lang: Lang) -> Vec<Directive> {
    if !text.contains(NEEDLE) {
        return Vec::new();
    }
    let marker = lang.comment_prefix();
    let lines: Vec<&str> = comments::lines(text).into_iter().map(|(_, l)| l).collect();
    // Only a real comment suppresses: a directive inside a string or docstring is data.
    let comment_at = comments::comment_columns(text, lang);
    let comment_only = |j: usize| {
        let t = lines[j].trim_start();
        t.is_empty() || comment_at[j] == Some(lines[j].len() - t.len())
    };
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !line.contains(NEEDLE) {
            continue;
        }
        let Some(caps) = DIRECTIVE.captures(line) else {
            continue;
        };
        let whole = caps.get(0).expect("match");
        // The comment marker must be this language's (`#` in SQL is not a comment), and the
        // directive must sit in the line's comment.
        if !whole.as_str().starts_with(marker) || comment_at[i].is_none_or(|c| whole.start() < c) {
            continue;
        }
        let scope = if &caps[1] == "ignore-file" {
            Scope::File
        } else {
            Scope::Line
        };
        let alone = line[..whole.start()].trim().is_empty();
        let target = if alone {
            (i + 1..lines.len())
                .find(|&j| !comment_only(j))
                .map_or(i + 1, |j| j + 1)
        } else {
            i + 1
        };
        let (ids, reason, problem) = parse_rest(&caps[2], &caps[1]);
        out.push(Directive {
            line: i + 1,
            target,
            scope,
            ids,
            reason,
            problem,
        });
    }
    out
}

/// `[ID, ID2] reason` -> ids, reason, problem.
fn parse_rest(rest: &str, kind: &str) -> (Vec<String>, Option<String>, Option<String>) {
    let rest = rest.trim_start();
    let Some(inner) = rest.strip_prefix('[') else {
        let reason = clean_reason(rest);
        return (
            Vec::new(),
            reason,
            Some(format!(
                "`strata: {kind}` names no rule ids and suppresses nothing; write `strata: {kind}[ID] reason`"
            )),
        );
    };
    let Some(close) = inner.find(']') else {
        return (
            Vec::new(),
            None,
            Some(format!(
                "`strata: {kind}[` has no closing `]` and suppresses nothing"
            )),
        );
    };
    let ids: Vec<String> = inner[..close]
        .split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let reason = clean_reason(&inner[close + 1..]);
    let problem = ids
        .is_empty()
        .then(|| format!("`strata: {kind}[]` names no rule ids and suppresses nothing"));
    (ids, reason, problem)
}

fn clean_reason(s: &str) -> Option<String> {
    let s = s
        .trim()
        .trim_start_matches([':', '-', '—', '–'])
        .trim()
        .trim_end_matches("*/")
        .trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// A suppression comment that needs the user's attention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub line: usize,
    pub message: String,
    /// `true` for a valid comment that suppressed nothing (reported only when asked).
    pub unused: bool,
}

/// What applying suppressions found.
#[derive(Debug, Default)]
pub struct Applied {
    pub problems: Vec<Problem>,
}

/// Marks every finding a directive covers as suppressed and reports directives that are
/// malformed, name unknown rules, or (for rules that ran) suppress nothing.
///
/// `known` tells whether an id is a rule at all; `ran` whether that rule ran in this scan
/// (a suppression for a rule that did not run cannot be judged unused).
pub fn apply(
    findings: &mut [Finding],
    directives: &BTreeMap<String, Vec<Directive>>,
    known: impl Fn(&str) -> bool,
    ran: impl Fn(&str) -> bool,
) -> Applied {
    // (path, directive index, id) that suppressed at least one finding.
    let mut used: BTreeSet<(&str, usize, &str)> = BTreeSet::new();
    for f in findings.iter_mut() {
        let Some(ds) = directives.get(&f.path) else {
            continue;
        };
        let (first, last) = (f.statement.0.min(f.line), f.statement.1.max(f.end_line));
        for (i, d) in ds.iter().enumerate() {
            let Some(id) = d.ids.iter().find(|id| id.eq_ignore_ascii_case(&f.rule)) else {
                continue;
            };
            let covers = match d.scope {
                Scope::File => true,
                Scope::Line => {
                    (first..=last).contains(&d.target) || (first..=last).contains(&d.line)
                }
            };
            if !covers {
                continue;
            }
            used.insert((f.path.as_str(), i, id.as_str()));
            if f.suppressed.is_none() {
                f.suppressed = Some(Suppressed {
                    kind: match d.scope {
                        Scope::Line => "inline",
                        Scope::File => "file",
                    },
                    reason: d.reason.clone(),
                    line: Some(d.line),
                });
            }
        }
    }
    let mut problems = Vec::new();
    for (path, ds) in directives {
        for (i, d) in ds.iter().enumerate() {
            let problem = |message: String, unused: bool| Problem {
                path: path.clone(),
                line: d.line,
                message,
                unused,
            };
            if let Some(p) = &d.problem {
                problems.push(problem(p.clone(), false));
                continue;
            }
            let unknown: Vec<&str> = d
                .ids
                .iter()
                .filter(|id| !known(id))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                problems.push(problem(
                    format!(
                        "unknown rule id{} {} in suppression (see `strata rules`); {}",
                        if unknown.len() == 1 { "" } else { "s" },
                        unknown.join(", "),
                        if unknown.len() == d.ids.len() {
                            "it suppresses nothing"
                        } else {
                            "the other ids still apply"
                        }
                    ),
                    false,
                ));
            }
            let unused: Vec<&str> = d
                .ids
                .iter()
                .filter(|id| known(id) && ran(id))
                .filter(|id| !used.contains(&(path.as_str(), i, id.as_str())))
                .map(String::as_str)
                .collect();
            if !unused.is_empty() {
                problems.push(problem(
                    format!(
                        "unused suppression: {} reported nothing {}",
                        unused.join(", "),
                        match d.scope {
                            Scope::Line => "on this statement",
                            Scope::File => "in this file",
                        }
                    ),
                    true,
                ));
            }
        }
    }
    Applied { problems }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_reason_and_target() {
        let src = "x = 1\n# strata: ignore[ERR001, sec003] vendored client, reviewed\n\n# other\nrequests.get(u)  # strata: ignore[ERR001]\n";
        let ds = directives(src, Lang::Python);
        assert_eq!(ds.len(), 2);
        assert_eq!(ds[0].ids, ["ERR001", "SEC003"]);
        assert_eq!(ds[0].reason.as_deref(), Some("vendored client, reviewed"));
        assert_eq!((ds[0].line, ds[0].target), (2, 5));
        assert_eq!((ds[1].line, ds[1].target), (5, 5));
        assert_eq!(ds[1].reason, None);
        assert!(ds
            .iter()
            .all(|d| d.problem.is_none() && d.scope == Scope::Line));
    }

    #[test]
    fn bare_and_empty_suppressions_are_problems() {
        for src in [
            "a() # strata: ignore\n",
            "a() # strata: ignore[]\n",
            "a() # strata: ignore[ERR1\n",
            "a() # strata: ignore because\n",
        ] {
            let ds = directives(src, Lang::Python);
            assert_eq!(ds.len(), 1, "{src}");
            assert!(ds[0].ids.is_empty() && ds[0].problem.is_some(), "{src}");
        }
        // Not a suppression at all.
        assert!(directives("a() # strata: ignored here\n", Lang::Python).is_empty());
        assert!(directives("a() # see strata: ignore[X1]\n", Lang::Python).is_empty());
    }

    #[test]
    fn comment_markers_follow_the_language() {
        assert_eq!(
            directives("DELETE FROM t; -- strata: ignore[DATA002]\n", Lang::Sql).len(),
            1
        );
        assert!(directives("DELETE FROM t; # strata: ignore[DATA002]\n", Lang::Sql).is_empty());
        let rs = directives(
            "//! strata: ignore-file[ERR005] generated\nfn a() {}\n",
            Lang::Rust,
        );
        assert_eq!(rs[0].scope, Scope::File);
        assert_eq!(rs[0].reason.as_deref(), Some("generated"));
        assert_eq!(
            directives("run: x # strata: ignore[SEC005]\n", Lang::Workflow).len(),
            1
        );
    }
}
