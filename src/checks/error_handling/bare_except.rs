//! ERR002 without a parse: bare `except:` clauses found by a line scanner that knows
//! Python's strings and comments. The rule fires in hundreds of files of any large
//! codebase (the CPython standard library has 250), and a full parse of each of them
//! cost more than every other Python rule together.
//!
//! ERR003 (broad `except Exception:` that does nothing) needs the tree and lives here too.

use crate::checks::{Confidence, FileContext, Hit};
use crate::source::comments::python_scan;
use crate::source::names::Names as _;
use crate::source::re;
use crate::source::SourceFile;
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// `except:` with nothing caught, unless the handler's last statement re-raises.
pub fn bare_except(file: &SourceFile, out: &mut Vec<Hit>) {
    let text = file.text.as_str();
    // (byte offset, line) of every physical line.
    let mut lines: Vec<(usize, &str)> = Vec::new();
    let mut at = 0;
    for l in text.split_inclusive('\n') {
        lines.push((at, l.trim_end_matches(['\n', '\r'])));
        at += l.len();
    }
    let mut triple = None;
    let mut starts_in_code = Vec::with_capacity(lines.len());
    for (_, l) in &lines {
        starts_in_code.push(triple.is_none());
        triple = python_scan(l.as_bytes(), triple).1;
    }
    for (n, (off, line)) in lines.iter().enumerate() {
        if !starts_in_code[n] {
            continue;
        }
        let t = line.trim_start_matches([' ', '\t']);
        let Some(rest) = t.strip_prefix("except") else {
            continue;
        };
        let rest = rest.trim_start_matches([' ', '\t']);
        let Some(after) = rest.strip_prefix(':') else {
            continue;
        };
        let head_end = off + line.len() - after.len();
        let own = after.split('#').next().unwrap_or("").trim();
        let reraises = if !own.is_empty() {
            // `except: raise` on one line (or `except: x; raise`).
            own.rsplit(';').next().map(str::trim) == Some("raise")
        } else {
            let base = indent(line);
            let mut last: Option<&str> = None;
            let mut body_indent = None;
            for (k, (_, l)) in lines.iter().enumerate().skip(n + 1) {
                if !starts_in_code[k] || is_blank_or_comment(l) {
                    continue;
                }
                let ind = indent(l);
                if ind <= base {
                    break;
                }
                let bi = *body_indent.get_or_insert(ind);
                if ind == bi {
                    last = Some(l.trim());
                }
            }
            last.map(|l| l.split('#').next().unwrap_or("").trim()) == Some("raise")
        };
        if reraises
            || cleanup_only(&lines, &starts_in_code, n)
            || saved_for_later_raise(&lines, &starts_in_code, n)
        {
            continue;
        }
        let earlier = earlier_handlers(&lines, &starts_in_code, n);
        if interrupts_reraised(&earlier) && hands_exception_on(&lines, &starts_in_code, n) {
            continue;
        }
        let clause = clause_at(&lines, &starts_in_code, n);
        if clause
            .as_ref()
            .is_some_and(|c| lookups_only(c) || parse_to_validation_error(c) || guards_logging(c))
        {
            continue;
        }
        // After `except Exception:` a bare `except:` only catches what that one lets
        // through: KeyboardInterrupt, SystemExit, GeneratorExit. Nothing softens that.
        let after_broad = earlier.iter().any(|h| catches_broad(h.0));
        let mut hit = Hit::new(off + indent(line), head_end);
        let softened = low_stakes(&lines, &starts_in_code, n)
            || clause.as_ref().is_some_and(|c| {
                record_or_default(c)
                    || logs_failure(c)
                    || raises_other_error(c)
                    || denies_on_failure(c)
                    || (command_module(file) && reports_to_operator(c))
                    || none_as_elsewhere(&lines, &starts_in_code, n, c)
                    || usage_tally(c)
                    || conversions_only(c)
                    || rendering_fallback(text, c)
                    || local_defaults(c)
                    || cache_file_io(c)
                    || import_probe(c)
                    || parses_each_item(&lines, &starts_in_code, n, c)
                    || none_checked_after(&lines, &starts_in_code, n, c)
            })
            || whole_loop_body(&lines, &starts_in_code, n)
            || data_migration(file)
            || import_code(&file.rel);
        if softened && !after_broad {
            hit = hit.confidence(Confidence::Low);
        }
        out.push(hit);
    }
}

/// A bare `except:` whose breadth is the only fault left, pattern only: at module level
/// (an import-time fallback, run once before anything is served), a handler that logs the
/// traceback, reports the exception to Sentry (`capture_exception()`) or renders it
/// (Mako's `exceptions.html_error_template().render()`): nothing is hidden; a `try` inside an `except`/`finally` block (a second
/// failure while the first is handled), or a `try` that only switches a session setting
/// back off (`cursor.execute("SET SHOWPLAN_ALL OFF")`) with a handler that passes.
fn low_stakes(lines: &[(usize, &str)], in_code: &[bool], n: usize) -> bool {
    static TRACEBACK: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"traceback\.(format_exc|print_exc)\(|\.exception\(|exc_info\s*=\s*(True|1|e\b)|\bcapture_exception\(|\bhtml_error_template\(\)")
            .expect("static regex")
    });
    static RESET: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?i)^[A-Za-z_][\w.]*\.execute\(\s*["'](SET\s+\w+\s+OFF|RESET\s+\w+)\s*;?\s*["']\s*\)$"#)
            .expect("static regex")
    });
    let base = indent(lines[n].1);
    if base == 0 {
        return true;
    }
    let code = |k: usize| in_code[k] && !is_blank_or_comment(lines[k].1);
    let stmt = |k: usize| lines[k].1.split('#').next().unwrap_or("").trim();
    let handler: Vec<usize> = (n + 1..lines.len())
        .filter(|&k| code(k))
        .take_while(|&k| indent(lines[k].1) > base)
        .collect();
    if handler.iter().any(|&k| TRACEBACK.is_match(stmt(k))) {
        return true;
    }
    // The `try:` this clause belongs to, skipping earlier handlers and their bodies.
    let mut try_line = None;
    for k in (0..n).rev().filter(|&k| code(k)) {
        let ind = indent(lines[k].1);
        if ind < base {
            break;
        }
        if ind == base {
            if stmt(k) == "try:" {
                try_line = Some(k);
                break;
            }
            if !stmt(k).starts_with("except") {
                break;
            }
        }
    }
    let Some(t) = try_line else {
        return false;
    };
    let enclosing = (0..t)
        .rev()
        .filter(|&k| code(k))
        .find(|&k| indent(lines[k].1) < base);
    if enclosing.is_some_and(|k| stmt(k) == "finally:" || stmt(k).starts_with("except")) {
        return true;
    }
    let body: Vec<usize> = (t + 1..n).filter(|&k| code(k)).collect();
    matches!(body.as_slice(), [b] if RESET.is_match(stmt(*b)))
        && matches!(handler.as_slice(), [h] if stmt(*h) == "pass")
}

/// The statements of a `try` body and of its bare `except:` handler: (indent, code without
/// a trailing comment) of each code line, continuation lines included.
struct Clause<'a> {
    body: Vec<(usize, &'a str)>,
    handler: Vec<(usize, &'a str)>,
}

impl<'a> Clause<'a> {
    /// The lines of `block` that start a statement (at the block's own indent), or `None`
    /// when the block nests another one (`if`, `for`, `with`).
    fn statements<'s>(block: &[(usize, &'s str)]) -> Option<Vec<&'s str>> {
        let first = block.first()?.0;
        let starts: Vec<&str> = block
            .iter()
            // A closing bracket at the block's indent ends a statement split over lines.
            .filter(|(i, t)| *i == first && !t.starts_with([')', ']', '}']))
            .map(|(_, t)| *t)
            .collect();
        (!starts.iter().any(|t| t.ends_with(':'))).then_some(starts)
    }

    /// The statements of the body and of the handler, when neither nests a block.
    fn both(&self) -> Option<(Vec<&'a str>, Vec<&'a str>)> {
        Some((
            Self::statements(&self.body)?,
            Self::statements(&self.handler)?,
        ))
    }
}

/// The `try` body and handler of the bare `except:` on line `n`, when it is the first
/// handler right after the body.
fn clause_at<'a>(lines: &[(usize, &'a str)], in_code: &[bool], n: usize) -> Option<Clause<'a>> {
    let code = |k: usize| in_code[k] && !is_blank_or_comment(lines[k].1);
    let stmt = |k: usize| lines[k].1.split('#').next().unwrap_or("").trim();
    let base = indent(lines[n].1);
    let block = |from: usize| -> Vec<(usize, &'a str)> {
        (from..lines.len())
            .filter(|&k| code(k))
            .take_while(|&k| indent(lines[k].1) > base)
            .map(|k| {
                (
                    indent(lines[k].1),
                    lines[k].1.split('#').next().unwrap_or("").trim(),
                )
            })
            .collect()
    };
    let t = (0..n)
        .rev()
        .filter(|&k| code(k))
        .find(|&k| indent(lines[k].1) <= base)?;
    if indent(lines[t].1) != base || stmt(t) != "try:" {
        return None;
    }
    let own = lines[n]
        .1
        .split_once(':')?
        .1
        .split('#')
        .next()
        .unwrap_or("")
        .trim();
    let handler = if own.is_empty() {
        block(n + 1)
    } else {
        vec![(base + 1, own)]
    };
    Some(Clause {
        body: block(t + 1),
        handler,
    })
}

/// A `try` body of one to three statements that only index into values already at hand
/// (`proto = request.META["HTTP_X_FORWARDED_PROTO"]`, `return parts[1]`): no call runs in
/// it, so the only error it can raise is the `KeyError`/`IndexError` the handler falls
/// back from, and there is nothing else for the bare `except:` to hide.
fn lookups_only(c: &Clause<'_>) -> bool {
    static LOOKUP: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(return\s+|[A-Za-z_]\w*\s*=\s*)[^()=]*\[[^()=]+\][^()=]*$")
            .expect("static regex")
    });
    c.body.len() <= 3 && c.body.iter().all(|(_, t)| LOOKUP.is_match(t))
}

/// A short `try` body (at most four lines, nested `if`s included) whose only calls are
/// conversions and parses of values at hand (`int(request.GET["page"])`, `dict(o)`,
/// `dict(parse_qsl(body))[b"token"].decode()`, `json.loads(raw)`), or that makes no call at
/// all: it can only fail on the value (`ValueError`, `TypeError`, `KeyError`), it does no
/// I/O that Ctrl-C or a shutdown would interrupt, and whatever the handler does (fall back,
/// raise a 400) answers that failure. The breadth is the only fault left, unless the body
/// has a bug of its own (a misspelt name) the catch hides: low confidence.
fn conversions_only(c: &Clause<'_>) -> bool {
    static CALL: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"([A-Za-z_][\w.]*)\s*\(").expect("static regex"));
    let code: Vec<&str> = c
        .body
        .iter()
        .map(|(_, t)| *t)
        .filter(|t| !t.is_empty())
        .collect();
    !code.is_empty()
        && code.len() <= 4
        && !code
            .iter()
            .any(|t| t.starts_with("with ") || t.starts_with("for ") || t.starts_with("while "))
        && code.iter().all(|t| {
            // String literals may hold anything that looks like a call.
            let bare = strip_strings(t);
            CALL.captures_iter(&bare).all(|m| {
                let name = &m[1];
                PURE.contains(&name.rsplit('.').next().unwrap_or(name))
            })
        })
}

/// Calls that only convert or parse values at hand.
const PURE: &[&str] = &[
    "int",
    "float",
    "str",
    "bool",
    "bytes",
    "dict",
    "list",
    "tuple",
    "set",
    "frozenset",
    "Decimal",
    "UUID",
    "loads",
    "parse_qs",
    "parse_qsl",
    "urlparse",
    "urlsplit",
    "unquote",
    "fromisoformat",
    "strptime",
    "decode",
    "encode",
    "strip",
    "lstrip",
    "rstrip",
    "split",
    "rsplit",
    "lower",
    "upper",
    "len",
    "abs",
    "round",
    "b64decode",
    "unhexlify",
    "literal_eval",
    "ip_address",
    "ip_network",
    "isinstance",
];

/// `line` with the contents of its string literals blanked out.
fn strip_strings(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for ch in line.chars() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if ch == '\\' {
                    escaped = true;
                } else if ch == q {
                    quote = None;
                    out.push(ch);
                }
            }
            None => {
                if ch == '"' || ch == '\'' {
                    quote = Some(ch);
                }
                out.push(ch);
            }
        }
    }
    out
}

/// A form's `clean_*` step: the `try` body is one parse of the field's value
/// (`json.loads(raw)`, `int(raw)`, `Decimal(raw)`) and the handler turns its failure into a
/// `ValidationError` shown to the user. The parse can only fail on the value, and the
/// failure is not swallowed.
fn parse_to_validation_error(c: &Clause<'_>) -> bool {
    static PARSE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^([A-Za-z_]\w*\s*=\s*)?(json\.loads|int|float|Decimal|uuid\.UUID|UUID|date\.fromisoformat|datetime\.fromisoformat)\(\s*[\w.]+\s*\)$")
            .expect("static regex")
    });
    static RAISE: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"^raise\s+([\w.]+\.)?ValidationError\(").expect("static regex"));
    matches!(c.body.as_slice(), [(_, b)] if PARSE.is_match(b))
        && Clause::statements(&c.handler)
            .and_then(|h| h.last().copied())
            .is_some_and(|l| RAISE.is_match(l))
}

/// A record looked up by what the code already holds, with a default when it is missing:
/// the `try` body only assigns or returns, one of its statements fetches one row or the
/// edge of a queryset (`Check_List.objects.get(engagement=eng)`, `qs.earliest("date")`,
/// `obj.keys_set.all()[0]`), no request or form value is in it, and the handler only assigns
/// defaults, logs, or returns a plain value. The miss the handler is written for is
/// `DoesNotExist`/`IndexError`; the bare `except:` also covers a database error, which the
/// next query surfaces anyway. The breadth is the only fault left (low confidence).
fn record_or_default(c: &Clause<'_>) -> bool {
    static FETCH: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\.objects\.get\(|\.(earliest|latest)\(|\.all\(\)\[0\]").expect("static regex")
    });
    static INPUT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\b(request|form|POST|GET|cleaned_data|data|params|query_params)\b")
            .expect("static regex")
    });
    static BODY: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"^(return\b|[A-Za-z_]\w*\s*=[^=])").expect("static regex"));
    static HANDLER: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(pass$|return(\s+[\w.\x22']+)?$|([A-Za-z_]\w*\s*=\s*)+[^=]|(logger|log|logging)\.(debug|info|warning|warn|error)\()")
            .expect("static regex")
    });
    let Some((body, handler)) = c.both() else {
        return false;
    };
    body.iter().all(|t| BODY.is_match(t))
        && body.iter().any(|t| FETCH.is_match(t))
        && !c.body.iter().any(|(_, t)| INPUT.is_match(t))
        && handler.iter().all(|t| HANDLER.is_match(t))
}

/// A cosmetic fallback while drawing an image: the module draws with Pillow, the `try`
/// body stores, deletes or fetches nothing (no ORM write, no HTTP call, no file opened for
/// writing), and the handler only passes or assigns defaults (`font` left as it was, a
/// default cover and colour drawn instead). A picture that cannot be opened or a font
/// without variations changes how an image looks, nothing else; only the breadth of the
/// catch is left (low confidence).
fn rendering_fallback(text: &str, c: &Clause<'_>) -> bool {
    static PILLOW: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?m)^[ \t]*(?:from[ \t]+PIL(?:\.\w+)*[ \t]+import|import[ \t]+PIL)\b")
            .expect("static regex")
    });
    static EFFECT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"\.objects\b|\.(?:save|delete|create|update|commit|execute|send|post|put)\(|\b(?:requests|httpx|urlopen|urllib|session)\b|open\([^)]*["'][wax]"#)
            .expect("static regex")
    });
    static HANDLER: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(pass$|[A-Za-z_]\w*(\s*,\s*[A-Za-z_]\w*)*\s*=[^=])").expect("static regex")
    });
    let Some(handler) = Clause::statements(&c.handler) else {
        return false;
    };
    !handler.is_empty()
        && handler.iter().all(|t| HANDLER.is_match(t))
        && !c.body.iter().any(|(_, t)| EFFECT.is_match(t))
        && PILLOW.is_match(text)
}

/// The handler logs that the step failed (`logger.info("labels cannot be created")`), at
/// info level or above, and then at most sets plain values (`cherrypy.response.status =
/// 500`) and answers (`return False`, `return serve_template(.., data=None)`): the failure is
/// on record and the caller gets the failure answer. What is left is the breadth and the
/// missing exception object (the message says what failed, not why). Not when the answer
/// is `return True` (a check that fails open), nor when the log call itself raises (a
/// broken `%` format), which loses the failure it was meant to record.
fn logs_failure(c: &Clause<'_>) -> bool {
    static LOG: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(self\.)?(logger|log|logging|_logger|LOGGER|LOG)\.(info|warning|warn|error|critical)\(")
            .expect("static regex")
    });
    static PLAIN: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"^[A-Za-z_][\w.]*\s*=\s*(None|True|False|-?\d+|"[^"]*"|'[^']*'|\[\]|\{\}|\(\))$"#)
            .expect("static regex")
    });
    let Some(handler) = Clause::statements(&c.handler) else {
        return false;
    };
    let Some((first, rest)) = handler.split_first() else {
        return false;
    };
    let (middle, last) = match rest.split_last() {
        Some((l, m)) if l.starts_with("return") => (m, Some(*l)),
        _ => (rest, None),
    };
    LOG.is_match(first)
        && !broken_format(first)
        && middle.iter().all(|t| PLAIN.is_match(t))
        && last.is_none_or(|l| l != "return True")
}

/// A `"..." % args` whose format string holds a conversion Python rejects (`'%'.`, a lone
/// `%` before a quote or space): the expression raises `ValueError` when it runs.
fn broken_format(stmt: &str) -> bool {
    static FORMATTED: LazyLock<Regex> =
        LazyLock::new(|| re::new(r#""([^"\\]*)"\s*%|'([^'\\]*)'\s*%"#).expect("static regex"));
    static SPEC: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^%(\([^)]*\))?[-#0 +]*(\*|\d+)?(\.(\*|\d+))?[hlL]?[diouxXeEfFgGcrsa%]")
            .expect("static regex")
    });
    FORMATTED.captures_iter(stmt).any(|m| {
        let fmt = m.get(1).or(m.get(2)).map_or("", |g| g.as_str());
        let mut at = 0;
        while let Some(i) = fmt[at..].find('%') {
            let spec = &fmt[at + i..];
            let Some(ok) = SPEC.find(spec) else {
                return true;
            };
            at += i + ok.end();
        }
        false
    })
}

/// The handler ends by raising an error of its own (`raise ValidationError("Not a valid
/// value.")`, `raise CommandError(msg)`), not a bare `raise`: the failure is not swallowed,
/// it reaches the caller as another error (a 400, a failed command). What is left is the
/// breadth (an interrupt or a bug in the `try` body turned into that error): low confidence.
fn raises_other_error(c: &Clause<'_>) -> bool {
    static RAISE: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"^raise\s+[A-Za-z_][\w.]*").expect("static regex"));
    Clause::statements(&c.handler)
        .and_then(|h| h.last().copied())
        .is_some_and(|l| RAISE.is_match(l))
}

/// A permission check that raises to deny (`check_start_thread_permission(perms, category)`
/// alone in the `try`) with a handler that only answers the denial (`return None`, `return
/// False`): any failure of the check fails closed, as a denial would. What is left is the
/// breadth (a bug in the check is read as "not allowed"): low confidence.
fn denies_on_failure(c: &Clause<'_>) -> bool {
    static CHECK: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(await\s+)?([A-Za-z_][\w.]*\.)?_?(check|assert|ensure|require|verify)_\w*(permission|perm|access|allowed)s?\w*\(")
            .expect("static regex")
    });
    matches!(Clause::statements(&c.body).as_deref(), Some([b]) if CHECK.is_match(b))
        && matches!(
            Clause::statements(&c.handler).as_deref(),
            Some(["return None" | "return False"])
        )
}

/// A Django management command (`management/commands/*.py`): an operator runs it and reads
/// what it prints.
fn command_module(file: &SourceFile) -> bool {
    file.rel.contains("management/commands/")
}

/// The handler's only statement tells the operator running a command that the step failed
/// (`self.stdout.write(f'User "{name}" could not be cleared.')`): the failure is shown, only
/// the breadth of the catch (and maybe the wording) is left.
fn reports_to_operator(c: &Clause<'_>) -> bool {
    static WRITE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(self\.(stdout|stderr)\.write|print)\(").expect("static regex")
    });
    matches!(Clause::statements(&c.handler).as_deref(), Some([l]) if WRITE.is_match(l))
}

/// The handler answers `return None` (or a bare `return`, an empty literal, or a name holding
/// the function's default such as `return tokens`), and the same function answers that on
/// another path too, for a missing input or result (`if not value: return None` before the
/// `try`, `if not content: return None` after it, `return tokens` when no id is given), or
/// the `try` body returns a query's `.first()` (or `.one_or_none()`, `.scalar()`), which is
/// `None` when nothing matches: "no result" is an outcome the function already has and its
/// callers handle, and the failure lands on it. What is left is the breadth (a bug in the
/// call read as "no result"): low confidence.
fn none_as_elsewhere(lines: &[(usize, &str)], in_code: &[bool], n: usize, c: &Clause<'_>) -> bool {
    static DEFAULT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"^return(\s+(None|\[\]|\{\}|\(\)|""|''|[A-Za-z_]\w*))?$"#).expect("static regex")
    });
    static MAYBE_ROW: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\.(first|one_or_none|scalar|scalar_one_or_none)\(\)[\s)]*$")
            .expect("static regex")
    });
    let Some(h) = Clause::statements(&c.handler).and_then(|h| match h.as_slice() {
        [h] if DEFAULT.is_match(h) && !matches!(*h, "return True" | "return False") => Some(*h),
        _ => None,
    }) else {
        return false;
    };
    let none = |t: &str| t == "return None" || t == "return";
    if none(h)
        && matches!(Clause::statements(&c.body).as_deref(), Some([b]) if b.starts_with("return"))
        && MAYBE_ROW.is_match(&c.body.iter().map(|(_, t)| *t).collect::<String>())
    {
        return true;
    }
    let same = |t: &str| {
        if none(h) {
            none(t) || t.ends_with(": return None") || t.ends_with(": return")
        } else {
            t == h || t.strip_suffix(h).is_some_and(|head| head.ends_with(": "))
        }
    };
    let code = |k: usize| in_code[k] && !is_blank_or_comment(lines[k].1);
    let stmt = |k: usize| lines[k].1.split('#').next().unwrap_or("").trim();
    let base = indent(lines[n].1);
    // The enclosing `def` and the lines of its body.
    let Some(def) = (0..n).rev().filter(|&k| code(k)).find(|&k| {
        indent(lines[k].1) < base && {
            let t = stmt(k);
            t.starts_with("def ") || t.starts_with("async def ")
        }
    }) else {
        return false;
    };
    let def_indent = indent(lines[def].1);
    let end = (def + 1..lines.len())
        .filter(|&k| code(k))
        .find(|&k| indent(lines[k].1) <= def_indent)
        .unwrap_or(lines.len());
    let handler_end = (n + 1..end)
        .filter(|&k| code(k))
        .find(|&k| indent(lines[k].1) <= base)
        .unwrap_or(end);
    (def + 1..end)
        .filter(|&k| code(k) && !(n..handler_end).contains(&k))
        .any(|k| same(stmt(k)))
}

/// The code of line `l` without a trailing comment.
fn code_of(l: &str) -> &str {
    l.split('#').next().unwrap_or("").trim()
}

/// The handlers of the same `try` before the bare `except:` on line `n`, nearest first:
/// (header, code lines of its body).
fn earlier_handlers<'a>(
    lines: &[(usize, &'a str)],
    in_code: &[bool],
    n: usize,
) -> Vec<(&'a str, Vec<&'a str>)> {
    let base = indent(lines[n].1);
    let mut out = Vec::new();
    let mut body: Vec<&str> = Vec::new();
    for k in (0..n).rev() {
        if !in_code[k] || is_blank_or_comment(lines[k].1) {
            continue;
        }
        let ind = indent(lines[k].1);
        let t = code_of(lines[k].1);
        if ind > base {
            body.push(t);
            continue;
        }
        if ind < base || !t.starts_with("except") {
            break;
        }
        let mut b = std::mem::take(&mut body);
        b.reverse();
        // A one-line handler: `except (KeyboardInterrupt, SystemExit): raise`.
        let own = t.split_once(':').map_or("", |(_, o)| o.trim());
        if !own.is_empty() {
            b.insert(0, own);
        }
        out.push((t, b));
    }
    out
}

/// An `except` header naming `Exception` or `BaseException`.
fn catches_broad(header: &str) -> bool {
    static BROAD: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^except\*?\s*\(?[^:]*\b(Base)?Exception\b").expect("static regex")
    });
    BROAD.is_match(header)
}

/// An earlier handler of the same `try` re-raises `KeyboardInterrupt` and `SystemExit`
/// (`except (KeyboardInterrupt, SystemExit): raise`): the bare `except:` after it no longer
/// catches an interrupt or an exit.
fn interrupts_reraised(earlier: &[(&str, Vec<&str>)]) -> bool {
    earlier.iter().any(|(h, body)| {
        h.contains("KeyboardInterrupt") && h.contains("SystemExit") && body.last() == Some(&"raise")
    })
}

/// The handler of the bare `except:` on line `n` hands the exception on: to the exception
/// hook (`excepthook(*sys.exc_info())`), or to a log with its traceback.
fn hands_exception_on(lines: &[(usize, &str)], in_code: &[bool], n: usize) -> bool {
    static ON: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\(\s*\*\s*sys\.exc_info\(\)\s*\)|traceback\.(format_exc|print_exc)\(|\.exception\(|exc_info\s*=\s*(True|1)\b")
            .expect("static regex")
    });
    let base = indent(lines[n].1);
    let own = lines[n].1.split_once(':').map_or("", |(_, o)| code_of(o));
    ON.is_match(own)
        || (n + 1..lines.len())
            .filter(|&k| in_code[k] && !is_blank_or_comment(lines[k].1))
            .take_while(|&k| indent(lines[k].1) > base)
            .any(|k| ON.is_match(code_of(lines[k].1)))
}

/// The `try` body only writes a log record (and formats its message from the traceback),
/// and the handler only passes: a logger's guard against failing while it reports a failure
/// (an exception hook that must not loop). There is nowhere left to report that failure to.
fn guards_logging(c: &Clause<'_>) -> bool {
    static LOG: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(self\.)?(logger|log|logging|_logger|LOGGER|LOG)\.(debug|info|warning|warn|error|critical|exception|log)\(")
            .expect("static regex")
    });
    static MESSAGE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^[A-Za-z_]\w*\s*=[^=].*\btraceback\.format_\w+\(").expect("static regex")
    });
    let Some((body, handler)) = c.both() else {
        return false;
    };
    handler == ["pass"]
        && body.iter().any(|t| LOG.is_match(t))
        && body.iter().all(|t| LOG.is_match(t) || MESSAGE.is_match(t))
}

/// The `try` body only assigns local names (`device_username = users.get(uid)["username"]`)
/// from no request or form value, and the handler only gives the same names a text default
/// (`device_username = ''`): a cosmetic fallback, the name shows blank. The miss written
/// for is the missing entry; only the breadth is left (low confidence). A field of an
/// object (`invoice.reviewer = None`, saved next) or a `None` handed on (`cover = None`,
/// then stored) keeps the rule's level.
fn local_defaults(c: &Clause<'_>) -> bool {
    static TARGET: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"^([A-Za-z_]\w*)\s*=[^=]").expect("static regex"));
    static DEFAULT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"^(([A-Za-z_]\w*)\s*=\s*)+("[^"]*"|'[^']*')$"#).expect("static regex")
    });
    static INPUT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\b(request|form|POST|GET|cleaned_data|data|params|query_params|kwargs)\b")
            .expect("static regex")
    });
    let Some((body, handler)) = c.both() else {
        return false;
    };
    let assigned: Vec<&str> = body
        .iter()
        .filter_map(|t| {
            TARGET
                .captures(t)
                .and_then(|m| m.get(1))
                .map(|m| m.as_str())
        })
        .collect();
    assigned.len() == body.len()
        && !c.body.iter().any(|(_, t)| INPUT.is_match(t))
        && !handler.is_empty()
        && handler.iter().all(|t| {
            DEFAULT.is_match(t)
                && t.split('=')
                    .rev()
                    .skip(1)
                    .all(|name| assigned.contains(&name.trim()))
        })
}

/// A best-effort cache file: the `try` opens files named for a cache only (`with
/// open(cache_filepath, "w") as f: json.dump(data, f)`) and the handler only passes. A
/// write that fails leaves the next read to miss; a read that fails falls back to fetching
/// the data again. Only the breadth is left (low confidence).
fn cache_file_io(c: &Clause<'_>) -> bool {
    static OPEN: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"\bopen\(\s*([\w.]*)").expect("static regex"));
    let opened: Vec<String> = c
        .body
        .iter()
        .flat_map(|(_, t)| OPEN.captures_iter(t).map(|m| m[1].to_ascii_lowercase()))
        .collect();
    c.body
        .first()
        .is_some_and(|(_, t)| t.starts_with("with open("))
        && opened.iter().all(|p| p.contains("cache"))
        && Clause::statements(&c.handler).as_deref() == Some(&["pass"][..])
}

/// An optional import probe: the `try` body only imports modules named in the code
/// (`import objc`, `self.AppKit = __import__("AppKit")`, then maybe `return True`) and the
/// handler only passes, answers `False`/`None` or sets `None`. It is written for
/// `ImportError` on a platform without the package; the breadth is the only fault left.
fn import_probe(c: &Clause<'_>) -> bool {
    static IMPORT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"^(import\s+[\w.]+(\s+as\s+\w+)?|from\s+[\w.]+\s+import\s+[\w, ]+|[\w.]+\s*=\s*(__import__|importlib\.import_module)\(\s*["'][\w.]+["']\s*\))$"#)
            .expect("static regex")
    });
    static ANSWER: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(pass|return(\s+(None|False))?|[\w.]+\s*=\s*None)$").expect("static regex")
    });
    let Some((body, handler)) = c.both() else {
        return false;
    };
    let imports = body.strip_suffix(&["return True"]).unwrap_or(&body);
    !imports.is_empty()
        && imports.iter().all(|t| IMPORT.is_match(t))
        && !handler.is_empty()
        && handler.iter().all(|t| ANSWER.is_match(t))
}

/// The `for` loop header right above the `try` of the bare `except:` on line `n`, when the
/// `try` is directly in the loop's body.
fn in_for_loop(lines: &[(usize, &str)], in_code: &[bool], n: usize) -> bool {
    let code = |k: usize| in_code[k] && !is_blank_or_comment(lines[k].1);
    let base = indent(lines[n].1);
    (0..n)
        .rev()
        .filter(|&k| code(k))
        .find(|&k| indent(lines[k].1) < base)
        .is_some_and(|k| {
            let t = code_of(lines[k].1);
            t.starts_with("for ") && t.ends_with(':')
        })
}

/// Each item of a loop parsed with a fallback: the `try` sits right in a `for` loop, its
/// body only splits, indexes and converts values at hand (`line.split("] ", 1)[1]`,
/// `int(..)`) and adds the result to a local list, and the handler only sets plain values
/// and adds a placeholder (`rows.append(["", "", "unparsed line"])`). Free-form text that
/// does not fit is shown as such; nothing but the value can fail (low confidence).
fn parses_each_item(lines: &[(usize, &str)], in_code: &[bool], n: usize, c: &Clause<'_>) -> bool {
    static CALL: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"([A-Za-z_][\w.]*)\s*\(").expect("static regex"));
    static ADD: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"^[A-Za-z_]\w*\.(append|extend)\(").expect("static regex"));
    static ASSIGN: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"^[A-Za-z_]\w*\s*=[^=]").expect("static regex"));
    let Some((body, handler)) = c.both() else {
        return false;
    };
    let calls_only = |t: &str, allowed: &[&str]| {
        CALL.captures_iter(&strip_strings(t)).all(|m| {
            let name = m[1].rsplit('.').next().unwrap_or(&m[1]).to_string();
            allowed.contains(&name.as_str())
        })
    };
    let adds = [&["append", "extend"][..], PURE].concat();
    in_for_loop(lines, in_code, n)
        && body.iter().any(|t| ADD.is_match(t))
        && body
            .iter()
            .all(|t| (ADD.is_match(t) || ASSIGN.is_match(t)) && calls_only(t, &adds))
        && handler.iter().all(|t| {
            (ADD.is_match(t) || ASSIGN.is_match(t)) && calls_only(t, &["append", "extend"])
        })
}

/// The handler only sets names to `None`, and the statement right after the `try` tests
/// for that (`if file is None: continue`, `if not file:`): the code's own path for a missing
/// value takes the failure (the item is skipped, a default used). Only the breadth is left
/// (low confidence).
fn none_checked_after(lines: &[(usize, &str)], in_code: &[bool], n: usize, c: &Clause<'_>) -> bool {
    static NONE: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"^([A-Za-z_]\w*)\s*=\s*None$").expect("static regex"));
    static TEST: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^if\s+(not\s+([A-Za-z_]\w*)|([A-Za-z_]\w*)\s+is\s+None)\s*:")
            .expect("static regex")
    });
    let Some(handler) = Clause::statements(&c.handler) else {
        return false;
    };
    let names: Vec<&str> = handler
        .iter()
        .filter_map(|t| NONE.captures(t).and_then(|m| m.get(1)).map(|m| m.as_str()))
        .collect();
    if names.is_empty() || names.len() != handler.len() {
        return false;
    }
    let code = |k: usize| in_code[k] && !is_blank_or_comment(lines[k].1);
    let base = indent(lines[n].1);
    let Some(next) = (n + 1..lines.len())
        .filter(|&k| code(k))
        .find(|&k| indent(lines[k].1) <= base)
    else {
        return false;
    };
    // The test runs next when every block the `try` ends is a branch (`if`/`else`/`with`),
    // not a loop that goes round again first.
    let to = indent(lines[next].1);
    let mut current = base;
    for k in (0..n).rev().filter(|&k| code(k)) {
        let ind = indent(lines[k].1);
        if current <= to {
            break;
        }
        if ind < current {
            let t = code_of(lines[k].1);
            if !["if ", "elif ", "else:", "with ", "try:"]
                .iter()
                .any(|h| t.starts_with(h))
            {
                return false;
            }
            current = ind;
        }
    }
    TEST.captures(code_of(lines[next].1))
        .and_then(|m| m.get(2).or(m.get(3)))
        .is_some_and(|tested| names.contains(&tested.as_str()))
}

/// A best-effort usage tally: every call the `try` body makes for its effect bumps a
/// counter (`pipe.incr(..)`, `pipe.zincrby(..)`, `stats.hincrby(..)`) or sends the batch
/// (`pipe.execute()`), the rest only computes the keys, and the handler only passes. A
/// failure loses one increment; failing the request over it would be worse.
fn usage_tally(c: &Clause<'_>) -> bool {
    static BUMP: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^[A-Za-z_]\w*\.(incr|incrby|incrbyfloat|zincrby|hincrby|hincrbyfloat|execute)\(")
            .expect("static regex")
    });
    static ASSIGN: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"^[A-Za-z_]\w*\s*=[^=]").expect("static regex"));
    let Some((body, handler)) = c.both() else {
        return false;
    };
    handler == ["pass"]
        && body.iter().any(|t| t.contains("incr"))
        && body.iter().all(|t| BUMP.is_match(t) || ASSIGN.is_match(t))
}

/// The `try` is the whole body of a `for` loop, a comment right above it or above the loop
/// says what the loop is for, and the handler only passes: like `continue`, a failure skips
/// this item on purpose and the loop goes on with the next one.
fn whole_loop_body(lines: &[(usize, &str)], in_code: &[bool], n: usize) -> bool {
    let code = |k: usize| in_code[k] && !is_blank_or_comment(lines[k].1);
    let stmt = |k: usize| lines[k].1.split('#').next().unwrap_or("").trim();
    let Some(c) = clause_at(lines, in_code, n) else {
        return false;
    };
    let base = indent(lines[n].1);
    let Some(t) = (0..n)
        .rev()
        .filter(|&k| code(k))
        .find(|&k| indent(lines[k].1) <= base)
    else {
        return false;
    };
    let head = (0..t).rev().find(|&k| code(k));
    let after = (n + 1..lines.len())
        .filter(|&k| code(k))
        .find(|&k| indent(lines[k].1) <= base);
    // A note right above the `try` or its loop (`# skip rows that do not decrypt`).
    let noted = |k: usize| {
        (0..k)
            .rev()
            .find(|&j| !lines[j].1.trim().is_empty())
            .is_some_and(|j| {
                let t = lines[j].1.trim();
                t.starts_with('#')
                    && !["# noqa", "# type:", "# pragma"]
                        .iter()
                        .any(|p| t.starts_with(p))
            })
    };
    Clause::statements(&c.handler).as_deref() == Some(&["pass"][..])
        && head.is_some_and(|h| {
            indent(lines[h].1) < base
                && stmt(h).starts_with("for ")
                && stmt(h).ends_with(':')
                && (noted(t) || noted(h))
        })
        && after.is_none_or(|a| indent(lines[a].1) < base)
}

/// A one-time data migration (`RunPython` in a migrations directory): it runs once per
/// database, while an operator watches the deploy, over the rows that exist at that moment.
/// An error it swallows is a one-off, not a failure that repeats on every request or job.
pub(crate) fn data_migration(file: &SourceFile) -> bool {
    let mut dirs = file.rel.rsplit('/').skip(1);
    dirs.any(|d| {
        let d = d.to_ascii_lowercase();
        matches!(d.as_str(), "migrations" | "migration") || d.ends_with("_migrations")
    }) && file.text.contains("RunPython")
}

/// One cleanup call, the only statement of a `try` whose handler only passes: closing a
/// cursor, rolling back after a failure, removing a temporary file, flushing a log handler
/// (`log.flush()`, not a session's flush, which writes). Nothing is lost when that fails,
/// and the code cannot do anything better than go on.
static CLEANUP: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"^[A-Za-z_][\w.]*\.(close|rollback|disconnect|dispose|shutdown|terminate|kill|unlink|remove|rmtree|cleanup|stop|quit|release|cancel)\(\)$|^(os\.(unlink|remove)|shutil\.rmtree)\([\w.]+\)$|^([\w.]*\.)?(log|logger|_logger|handler|stdout|stderr)\.flush\(\)$",
    )
    .expect("static regex")
});

/// The bare `except:` on line `n` ends a `try:` whose body is one cleanup call and
/// only passes itself.
fn cleanup_only(lines: &[(usize, &str)], in_code: &[bool], n: usize) -> bool {
    let code = |k: usize| in_code[k] && !is_blank_or_comment(lines[k].1);
    let base = indent(lines[n].1);
    let mut above = (0..n).rev().filter(|&k| code(k));
    let (Some(body), Some(head)) = (above.next(), above.next()) else {
        return false;
    };
    let stmt = |k: usize| lines[k].1.split('#').next().unwrap_or("").trim();
    if stmt(head) != "try:" || indent(lines[head].1) != base || indent(lines[body].1) <= base {
        return false;
    }
    let mut below = (n + 1..lines.len()).filter(|&k| code(k));
    let handler = below.next();
    let after = below.next();
    CLEANUP.is_match(stmt(body))
        && handler.is_some_and(|h| indent(lines[h].1) > base && stmt(h) == "pass")
        && after.is_none_or(|a| indent(lines[a].1) <= base)
}

/// The handler keeps the exception (`details = sys.exc_info()`, `err = sys.exception()`,
/// perhaps through another name) and the same function raises one of the names it set
/// later on (`raise details[1]`): callbacks run to the end and the first failure is raised
/// after them, as `ExitStack.__exit__` does. Nothing is swallowed, so nothing is reported.
fn saved_for_later_raise(lines: &[(usize, &str)], in_code: &[bool], n: usize) -> bool {
    static KEEPS: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"\bsys\.(exc_info|exception)\(\)").expect("static regex"));
    static ASSIGN: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"^([A-Za-z_]\w*)\s*=[^=]").expect("static regex"));
    static RAISE: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"^raise\s+([A-Za-z_]\w*)").expect("static regex"));
    let code = |k: usize| in_code[k] && !is_blank_or_comment(lines[k].1);
    let base = indent(lines[n].1);
    let handler: Vec<usize> = (n + 1..lines.len())
        .filter(|&k| code(k))
        .take_while(|&k| indent(lines[k].1) > base)
        .collect();
    if !handler.iter().any(|&k| KEEPS.is_match(code_of(lines[k].1))) {
        return false;
    }
    let names: Vec<&str> = handler
        .iter()
        .filter_map(|&k| ASSIGN.captures(code_of(lines[k].1)))
        .filter_map(|c| c.get(1).map(|m| m.as_str()))
        .collect();
    // The enclosing function: the first `def` above that opens a block holding line `n`
    // (a nested helper defined earlier at a smaller indent does not).
    let mut open = base;
    let mut def_indent = None;
    for k in (0..n).rev().filter(|&k| code(k)) {
        let ind = indent(lines[k].1);
        if ind >= open {
            continue;
        }
        open = ind;
        let t = code_of(lines[k].1);
        if t.starts_with("def ") || t.starts_with("async def ") {
            def_indent = Some(ind);
            break;
        }
    }
    let Some(def_indent) = def_indent else {
        return false;
    };
    let after = handler.last().map_or(n + 1, |&k| k + 1);
    (after..lines.len())
        .filter(|&k| code(k))
        .take_while(|&k| indent(lines[k].1) > def_indent)
        .filter_map(|k| RAISE.captures(code_of(lines[k].1)))
        .any(|c| c.get(1).is_some_and(|m| names.contains(&m.as_str())))
}

/// ERR003: `except Exception:` (or `BaseException`, alone, in a tuple, `as e`, `except*`)
/// whose body only holds `pass`, `...`, `continue` or a docstring. Left alone: `__del__`,
/// handlers that say why in a comment (inside the handler, or an intent comment right above
/// the `try`), a `try` that only re-assigns names already holding a default the handler
/// keeps, and a `try` followed right away by a `return` of what the function had before.
/// Lower confidence where the code shows the choice (see the comment at the end).
pub fn blind_except(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let src = ctx.file.text.as_str();
    let facts = crate::checks::py::facts(ctx);
    crate::model::facts::visit(ctx.tree.root_node(), |n| {
        if n.kind() != "except_clause" && n.kind() != "except_group_clause" {
            return true;
        }
        let Some(ty) = caught_broad(n, src) else {
            return true;
        };
        let mut c = n.walk();
        let Some(body) = n.named_children(&mut c).find(|k| k.kind() == "block") else {
            return true;
        };
        if !does_nothing(body) {
            return true;
        }
        let func = facts.and_then(|f| f.function_at(n.start_byte()));
        if func.is_some_and(|f| f.name == "__del__") {
            return true;
        }
        let Some(try_stmt) = n.parent().filter(|p| p.kind() == "try_statement") else {
            return true;
        };
        if explains_itself(n, try_stmt, src)
            || optional_import_block(try_stmt)
            || optional_patch(try_stmt, src)
            || keeps_default(try_stmt, func, src)
            || returns_right_after(try_stmt)
            || first_attempt(try_stmt, body)
            || checked_right_after(try_stmt, body, src)
            // Cleanup may ignore its `Exception`s; `BaseException` also eats Ctrl-C and
            // task cancellation.
            || ty == "Exception"
                && try_stmt
                    .child_by_field_name("body")
                    .is_some_and(|b| cleanup_calls_only(b, src))
        {
            return true;
        }
        let end = body.start_byte().max(n.start_byte());
        let head = src[n.start_byte()..end].trim_end();
        let mut hit = Hit::new(n.start_byte(), n.start_byte() + head.len()).var("type", ty);
        // Pattern only, a choice the author made where the code shows it: skipping one
        // item of a loop (`continue`, or a `try` ending the loop body), a second failure
        // while handling the first (a `try` in an `except` or `finally` block), a step of a
        // teardown function that must go on to the next one, a one-time data migration,
        // an optional piece of an imported record, or an insert of a row that may exist.
        if skips_item(body)
            || ends_loop_body(try_stmt, body) && builds_local_result(try_stmt, func, src)
            || in_error_path(try_stmt)
            || func.is_some_and(|f| {
                TEARDOWN.is_match(&f.name) || teardown_helper(ctx.tree.root_node(), &f.name, src)
            })
            || data_migration(ctx.file)
            || import_code(&ctx.file.rel)
            || inserts_one_row(try_stmt, src)
            || reads_optional_attribute(try_stmt, n, src)
            || reports_usage(try_stmt, &ctx.file.rel, src)
        {
            hit = hit.confidence(Confidence::Low);
        }
        out.push(hit);
        true
    });
}

/// The `try` body sends usage telemetry or analytics (`tel = get_telemetry()`,
/// `posthog.capture(..)`), or the file is the project's telemetry module: instrumentation
/// that must never break the command it measures, dropped silently on purpose.
fn reports_usage(try_stmt: Node<'_>, rel: &str, src: &str) -> bool {
    static USAGE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(
            r"(?i)\b(?:get_)?\w*telemetry\w*\b|\b(?:analytics|posthog|mixpanel|amplitude)\.\w+\(",
        )
        .expect("static regex")
    });
    static MODULE: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?i)(?:^|/)\w*telemetry\w*\.py$").expect("static regex"));
    MODULE.is_match(rel)
        || try_stmt
            .child_by_field_name("body")
            .is_some_and(|b| USAGE.is_match(&src[b.byte_range()]))
}

/// The `try` body is cleanup calls only: one (`cursor.close()`), or several that end one
/// resource (`pool.terminate()` then `pool.join()`: a wait for what was just stopped).
fn cleanup_calls_only(body: Node<'_>, src: &str) -> bool {
    static JOIN: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"^[A-Za-z_][\w.]*\.join\(\)$").expect("static regex"));
    let mut c = body.walk();
    let stmts: Vec<&str> = body
        .named_children(&mut c)
        .filter(|k| k.kind() != "comment")
        .map(|k| src[k.byte_range()].trim())
        .collect();
    stmts.iter().any(|s| CLEANUP.is_match(s))
        && stmts
            .iter()
            .all(|s| CLEANUP.is_match(s) || JOIN.is_match(s))
}

/// Every call of function `name` in the file (`self._deregister()`, `await
/// _deregister()`), at least one, sits in a `finally` block or in a teardown function:
/// the helper is a step of shutting down (a "stopped" notice to a collector), best
/// effort because the process goes away either way.
fn teardown_helper(root: Node<'_>, name: &str, src: &str) -> bool {
    let mut calls = 0usize;
    let mut all = true;
    crate::model::facts::visit(root, |n| {
        if !all {
            return false;
        }
        if n.kind() != "call" {
            return true;
        }
        let callee = n
            .child_by_field_name("function")
            .map_or("", |f| &src[f.byte_range()]);
        if callee.rsplit('.').next() != Some(name) {
            return true;
        }
        calls += 1;
        let mut cur = n.parent();
        let mut inside = false;
        while let Some(p) = cur {
            match p.kind() {
                "finally_clause" => {
                    inside = true;
                    break;
                }
                "function_definition" => {
                    inside = p
                        .child_by_field_name("name")
                        .is_some_and(|f| TEARDOWN.is_match(&src[f.byte_range()]));
                    break;
                }
                _ => cur = p.parent(),
            }
        }
        all &= inside;
        true
    });
    all && calls > 0
}

/// Functions that tear down: each step is best effort so that the next one still runs.
static TEARDOWN: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(__exit__|__aexit__|a?close|shutdown|teardown|dispose|cleanup|stop)$|_(shutdown|teardown|cleanup)$")
        .expect("static regex")
});

/// The handler's only statement is `continue`: the loop skips this item on purpose.
fn skips_item(handler: Node<'_>) -> bool {
    let mut c = handler.walk();
    let stmts: Vec<Node<'_>> = handler
        .named_children(&mut c)
        .filter(|k| k.kind() != "comment")
        .collect();
    matches!(stmts.as_slice(), [s] if s.kind() == "continue_statement")
}

/// The `try` is the last statement of a `for` loop's body and the handler only passes:
/// like `continue`, a failure skips this item and the loop goes on with the next one.
fn ends_loop_body(try_stmt: Node<'_>, handler: Node<'_>) -> bool {
    let mut c = handler.walk();
    let passes = handler
        .named_children(&mut c)
        .all(|k| matches!(k.kind(), "pass_statement" | "comment"));
    let mut next = try_stmt.next_named_sibling();
    while next.is_some_and(|n| n.kind() == "comment") {
        next = next.and_then(|n| n.next_named_sibling());
    }
    passes
        && next.is_none()
        && try_stmt
            .parent()
            .filter(|b| b.kind() == "block")
            .and_then(|b| b.parent())
            .is_some_and(|l| l.kind() == "for_statement")
}

/// The `try` body is one ORM insert (`Membership.objects.create(user=u, group=g)`): the
/// failure it is written for is the unique constraint of a row that already exists, and
/// then what the insert was for holds anyway. The catch is broader than `IntegrityError`;
/// that breadth is the only fault left.
fn inserts_one_row(try_stmt: Node<'_>, src: &str) -> bool {
    static INSERT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^([\w, ]+=\s*)?[A-Za-z_][\w.]*\.objects\.(create|get_or_create)\(")
            .expect("static regex")
    });
    one_statement_matching(try_stmt, &INSERT, src)
}

/// The `try` body is a single expression statement whose text matches `re`.
fn one_statement_matching(try_stmt: Node<'_>, re: &Regex, src: &str) -> bool {
    try_stmt.child_by_field_name("body").is_some_and(|b| {
        let mut c = b.walk();
        let stmts: Vec<Node<'_>> = b
            .named_children(&mut c)
            .filter(|k| k.kind() != "comment")
            .collect();
        matches!(stmts.as_slice(), [s] if s.kind() == "expression_statement"
            && re.is_match(src[s.byte_range()].trim()))
    })
}

/// The `try` body is one assignment of an attribute of an optional lookup
/// (`self.provider_id = kwargs.get("provider").id`) and the handler names `AttributeError`:
/// the failure written for is the missing value (`None.id`), and then the attribute keeps
/// its default. The catch is broader than that; that breadth is the only fault left.
fn reads_optional_attribute(try_stmt: Node<'_>, handler: Node<'_>, src: &str) -> bool {
    static OPTIONAL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^[\w.]+\s*=\s*[\w.]+\.get\([^()]*\)\.\w+$").expect("static regex")
    });
    let head = handler
        .named_children(&mut handler.walk())
        .find(|k| k.kind() != "block" && k.kind() != "comment")
        .map_or("", |k| &src[k.byte_range()]);
    head.contains("AttributeError") && one_statement_matching(try_stmt, &OPTIONAL, src)
}

/// The `try` adds to a result the function builds in a local it assigned before
/// (`found.append(x)`, `extras.add(x)`, `total += x`, `by_key[k] = x`): a failing item only
/// leaves its share out. A loop run for its effects (`hook(event)`) keeps the rule's level.
fn builds_local_result(
    try_stmt: Node<'_>,
    func: Option<&crate::model::facts::python::PyFunction>,
    src: &str,
) -> bool {
    static ADDS: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?m)(?:^|[^\w.])([A-Za-z_]\w*)(?:\.(?:append|extend|add|update|insert)\(|\s*\+=|\[[^\]\n]+\]\s*=[^=])")
            .expect("static regex")
    });
    let Some(body) = try_stmt.child_by_field_name("body") else {
        return false;
    };
    let scope_start = func.map_or(0, |f| f.body.0);
    let before = &src[scope_start.min(try_stmt.start_byte())..try_stmt.start_byte()];
    ADDS.captures_iter(&src[body.byte_range()]).any(|c| {
        re::new(&format!(r"(?m)^[ \t]*{}[ \t]*=[^=]", regex::escape(&c[1])))
            .is_ok_and(|r| r.is_match(before))
    })
}

/// A module-level `try` whose body starts by importing (`try: import cairosvg ... except
/// Exception: pass`): an optional dependency and the feature it registers, skipped when the
/// package is missing or broken; nothing a request relies on fails silently later.
fn optional_import_block(try_stmt: Node<'_>) -> bool {
    // Text the parser cannot read further down the file may wrap top-level statements in
    // an ERROR node (the root itself, in place of the module): they are still at module
    // level.
    let mut parent = try_stmt.parent();
    while let Some(p) = parent.filter(|p| p.kind() == "ERROR") {
        if p.parent().is_none() {
            break;
        }
        parent = p.parent();
    }
    parent.is_some_and(|p| p.kind() == "module" || (p.kind() == "ERROR" && p.parent().is_none()))
        && try_stmt
            .child_by_field_name("body")
            .and_then(|b| b.named_child(0))
            .is_some_and(|s| matches!(s.kind(), "import_statement" | "import_from_statement"))
}

/// A `try` that imports a library and patches it (`from cheroot import makefile`, a
/// replacement function, `makefile.BufferedWriter._flush_unlocked = patched`): the body
/// only imports, defines functions or classes and assigns attributes of the modules it
/// imported. An optional fix-up of another package's internals, skipped when the package or
/// those internals differ; nothing else depends on it.
fn optional_patch(try_stmt: Node<'_>, src: &str) -> bool {
    let Some(body) = try_stmt.child_by_field_name("body") else {
        return false;
    };
    let mut c = body.walk();
    let stmts: Vec<Node<'_>> = body
        .named_children(&mut c)
        .filter(|k| k.kind() != "comment")
        .collect();
    if !stmts
        .first()
        .is_some_and(|s| matches!(s.kind(), "import_statement" | "import_from_statement"))
    {
        return false;
    }
    let mut bound: Vec<&str> = Vec::new();
    let mut patched = false;
    for s in stmts {
        match s.kind() {
            "import_statement" | "import_from_statement" => match imported_names(s, src) {
                Some(names) => bound.extend(names),
                None => return false,
            },
            "function_definition" | "class_definition" | "decorated_definition" => {}
            "expression_statement" => {
                let Some(left) = s
                    .named_child(0)
                    .filter(|e| e.kind() == "assignment")
                    .and_then(|e| e.child_by_field_name("left"))
                    .filter(|l| l.kind() == "attribute")
                else {
                    return false;
                };
                let mut root = left;
                while root.kind() == "attribute" {
                    match root.child_by_field_name("object") {
                        Some(o) => root = o,
                        None => return false,
                    }
                }
                if root.kind() != "identifier" || !bound.contains(&&src[root.byte_range()]) {
                    return false;
                }
                patched = true;
            }
            _ => return false,
        }
    }
    patched
}

/// The names an import statement binds (`import a.b` binds `a`, `import x as y` binds `y`).
fn imported_names<'s>(stmt: Node<'_>, src: &'s str) -> Option<Vec<&'s str>> {
    let mut a = stmt.walk();
    stmt.children_by_field_name("name", &mut a)
        .map(|name| {
            let bound = match name.kind() {
                "aliased_import" => name.child_by_field_name("alias"),
                _ => name.named_child(0),
            };
            bound.map(|b| &src[b.byte_range()])
        })
        .collect()
}

/// Code that imports records from another application's export, database or a scraped
/// page (`integration/`, `importers/`, `recipe_url_import.py`, `plexwatch_import.py`): the
/// input is irregular by nature, an operator starts the import once and watches it, and a
/// piece that fails to import (an image, a keyword, a nutrition block) is skipped so that
/// the rest of the record still comes in.
fn import_code(rel: &str) -> bool {
    let lower = rel.to_ascii_lowercase();
    let mut parts = lower.rsplit('/');
    let stem = parts
        .next()
        .unwrap_or("")
        .trim_end_matches(".py")
        .to_string();
    stem.ends_with("_import")
        || stem.ends_with("importer")
        || parts.any(|d| {
            matches!(
                d,
                "integration" | "integrations" | "importers" | "importer" | "imports"
            )
        })
}

/// The `try` sits in an `except` or `finally` block of an enclosing `try` (in the same
/// function): it runs while another failure is being handled or cleaned up after.
fn in_error_path(try_stmt: Node<'_>) -> bool {
    let mut cur = try_stmt.parent();
    while let Some(n) = cur {
        match n.kind() {
            "except_clause" | "except_group_clause" | "finally_clause" => return true,
            "function_definition" | "class_definition" | "lambda" => return false,
            _ => cur = n.parent(),
        }
    }
    false
}

/// `Exception`/`BaseException` among the caught types.
fn caught_broad(clause: Node<'_>, src: &str) -> Option<String> {
    let mut c = clause.walk();
    let value = clause
        .named_children(&mut c)
        .find(|k| k.kind() != "block")?;
    let value = if value.kind() == "as_pattern" {
        value.named_child(0)?
    } else {
        value
    };
    let names: Vec<Node<'_>> = match value.kind() {
        "identifier" => vec![value],
        "tuple" | "parenthesized_expression" => {
            let mut c = value.walk();
            value.named_children(&mut c).collect()
        }
        _ => return None,
    };
    names.iter().find_map(|k| {
        let t = &src[k.byte_range()];
        matches!(t, "Exception" | "BaseException").then(|| t.to_string())
    })
}

/// The block only holds `pass`, `...`, `continue` or strings (comments ignored).
fn does_nothing(block: Node<'_>) -> bool {
    let mut c = block.walk();
    let mut any = false;
    for s in block.named_children(&mut c) {
        match s.kind() {
            "comment" => continue,
            "pass_statement" | "continue_statement" => {}
            "expression_statement" => {
                let ok = s.named_child_count() == 1
                    && s.named_child(0)
                        .is_some_and(|e| matches!(e.kind(), "ellipsis" | "string"));
                if !ok {
                    return false;
                }
            }
            _ => return false,
        }
        any = true;
    }
    any
}

/// A comment in the handler that reads as a reason (two words; `# pragma: no cover`,
/// `# noqa: ..`, `# type: ..` are not reasons), or a comment right above the `try` that
/// says failing is acceptable.
fn explains_itself(clause: Node<'_>, try_stmt: Node<'_>, src: &str) -> bool {
    static REASON: LazyLock<Regex> = LazyLock::new(|| {
        // A lint directive may come first: `# noqa: BLE001 - never let telemetry break the app`.
        re::new(r"#[ \t]*(?:(?:noqa|type)\b[: \t]*(?:[A-Za-z]*[0-9][A-Za-z0-9]*[, \t]*)*[^A-Za-z#]*)?[A-Za-z][A-Za-z'-]+[ \t]+[A-Za-z]")
            .expect("static regex")
    });
    static INTENT: LazyLock<Regex> = LazyLock::new(|| {
        re::new(
            r"(?i)\b(ok|okay|fine|best[- ]effort|ignore[ds]?|optional(ly)?|fall ?back|not (critical|fatal|important|required)|harmless|doesn't matter|does not matter|can't|cannot|silently)\b",
        )
        .expect("static regex")
    });
    // The handler's lines (a trailing comment after `pass` may sit outside the node).
    let start = src[..clause.start_byte()].rfind('\n').map_or(0, |i| i + 1);
    let end = src[clause.end_byte()..]
        .find('\n')
        .map_or(src.len(), |i| clause.end_byte() + i);
    let handler = &src[start..end];
    // A lint or type directive is no reason (`# type: ignore`), but what follows it may be.
    static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)type:\s*ignore(?:\[[^\]]*\])?|noqa(?::\s*[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)?|pragma:\s*no\s*cover")
            .expect("static regex")
    });
    // A reason of two words, or one word of intent (`pass  # Best-effort`).
    if handler.lines().any(|l| {
        let t = l.trim_start();
        !t.starts_with(['"', '\''])
            && l.find('#').is_some_and(|i| {
                REASON.is_match(&l[i..]) || INTENT.is_match(&DIRECTIVE.replace_all(&l[i..], ""))
            })
    }) {
        return true;
    }
    // Comment lines directly above the `try`.
    let line_start = src[..try_stmt.start_byte()]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let above = &src[..line_start];
    let mut lines = above.lines().rev();
    let mut comment = String::new();
    for l in lines.by_ref() {
        let t = l.trim();
        if !t.starts_with('#') {
            break;
        }
        comment.push_str(t);
        comment.push(' ');
    }
    !comment.is_empty() && INTENT.is_match(&comment)
}

/// The `try` body only changes values that already hold a default: it re-assigns names that
/// hold one (a parameter or an earlier assignment in the function, also `tags += more`), fills
/// an entry of a local container or a field of a local object (`urls[slug] = url`,
/// `args.pop("url", None)`, `item.weight = parse(raw)`), in every branch of its `if`s and in
/// the body of its `for` loops over local values, and
/// may compute temporaries and import modules it uses right there. When it fails, the earlier value is kept on purpose (`lang = "en"; try:
/// lang = detect(text) except Exception: pass`).
fn keeps_default(
    try_stmt: Node<'_>,
    func: Option<&crate::model::facts::python::PyFunction>,
    src: &str,
) -> bool {
    let Some(body) = try_stmt.child_by_field_name("body") else {
        return false;
    };
    // (name, where it is assigned in the try) of re-assigned names, and local containers
    // changed in place.
    let mut targets: Vec<(&str, usize)> = Vec::new();
    let mut containers: Vec<&str> = Vec::new();
    let mut stack = vec![body];
    while let Some(b) = stack.pop() {
        let mut c = b.walk();
        for s in b.named_children(&mut c) {
            match s.kind() {
                "comment" => {}
                "expression_statement" => {
                    let Some(e) = s.named_child(0) else {
                        return false;
                    };
                    match e.kind() {
                        "assignment" | "augmented_assignment" => {
                            let Some(l) = e.child_by_field_name("left") else {
                                return false;
                            };
                            match l.kind() {
                                "identifier" => targets.push((&src[l.byte_range()], s.end_byte())),
                                // An entry of a local container, a field of a local object.
                                "subscript" | "attribute" => {
                                    let field = if l.kind() == "subscript" {
                                        "value"
                                    } else {
                                        "object"
                                    };
                                    match l.child_by_field_name(field) {
                                        Some(v) if v.kind() == "identifier" => {
                                            containers.push(&src[v.byte_range()]);
                                        }
                                        _ => return false,
                                    }
                                }
                                _ => return false,
                            }
                        }
                        "call" => match container_mutation(e, src) {
                            Some(name) => containers.push(name),
                            None => return false,
                        },
                        _ => return false,
                    }
                }
                // Every branch is held to the same test.
                "if_statement" => {
                    match s.child_by_field_name("consequence") {
                        Some(cons) => stack.push(cons),
                        None => return false,
                    }
                    let mut a = s.walk();
                    for alt in s.children_by_field_name("alternative", &mut a) {
                        let block = alt
                            .child_by_field_name("consequence")
                            .or_else(|| alt.child_by_field_name("body"));
                        match block {
                            Some(b) => stack.push(b),
                            None => return false,
                        }
                    }
                }
                // A loop over local values: its variable is a temporary, its body is held
                // to the same test.
                "for_statement" => {
                    match (s.child_by_field_name("left"), s.child_by_field_name("body")) {
                        (Some(l), Some(b)) if l.kind() == "identifier" => {
                            targets.push((&src[l.byte_range()], l.end_byte()));
                            stack.push(b);
                        }
                        _ => return false,
                    }
                }
                // A module imported for the statements after it, like a temporary.
                "import_statement" | "import_from_statement" => match imported_names(s, src) {
                    Some(names) => targets.extend(names.into_iter().map(|b| (b, s.end_byte()))),
                    None => return false,
                },
                _ => return false,
            }
        }
    }
    if targets.is_empty() && containers.is_empty() {
        return false;
    }
    let scope_start = func.map_or(0, |f| f.body.0);
    let before = &src[scope_start.min(try_stmt.start_byte())..try_stmt.start_byte()];
    let assigned_before = |t: &str| {
        re::new(&format!(
            r"(?m)^[ \t]*{}[ \t]*(:[^=\n]+)?=[^=]",
            regex::escape(t)
        ))
        .is_ok_and(|r| r.is_match(before))
    };
    let is_param = |t: &str| func.is_some_and(|f| f.params.iter().any(|p| p.name == t));
    // A temporary: a new name the rest of the `try` body uses (`slug = slugify(title)`
    // then `urls[slug] = url`).
    let used_after = |t: &str, at: usize| {
        let rest = src.get(at..body.end_byte()).unwrap_or("");
        re::has_word(rest, t)
    };
    // A container the function made itself: the caller's objects are not changed.
    containers
        .iter()
        .all(|c| !is_param(c) && assigned_before(c))
        && targets
            .iter()
            .all(|(t, at)| is_param(t) || assigned_before(t) || used_after(t, *at))
        && (!containers.is_empty()
            || targets
                .iter()
                .any(|(t, _)| is_param(t) || assigned_before(t)))
}

/// `name.pop(..)`, `name.append(..)` and the like: the local container `name` changed in place.
fn container_mutation<'s>(call: Node<'_>, src: &'s str) -> Option<&'s str> {
    let f = call.child_by_field_name("function")?;
    if f.kind() != "attribute" {
        return None;
    }
    let obj = f.child_by_field_name("object")?;
    let attr = f.child_by_field_name("attribute")?;
    if obj.kind() != "identifier" {
        return None;
    }
    matches!(
        &src[attr.byte_range()],
        "pop"
            | "append"
            | "extend"
            | "update"
            | "setdefault"
            | "add"
            | "insert"
            | "remove"
            | "discard"
    )
    .then(|| &src[obj.byte_range()])
}

/// A first attempt with a fallback after it: the `try` body returns its result when it
/// works (`result = json.loads(s); if isinstance(result, dict): return result`), the handler
/// only passes, and the statements after the `try` are the next way to get the result.
fn first_attempt(try_stmt: Node<'_>, handler: Node<'_>) -> bool {
    let Some(body) = try_stmt.child_by_field_name("body") else {
        return false;
    };
    let mut returns = false;
    crate::model::facts::visit_same_scope(body, |m| returns |= m.kind() == "return_statement");
    let mut c = handler.walk();
    let passes = handler
        .named_children(&mut c)
        .all(|k| matches!(k.kind(), "pass_statement" | "comment"));
    returns && passes && next_statement(try_stmt).is_some()
}

/// An attempt whose result is checked right away: the handler only passes and the next
/// statement is an `if` that tests for the missing result (`if not item.photo:`, `if x is
/// None:`, `if len(rows) == 0:`) of a value the `try` body writes or hands to a call, so the
/// `if` is the fallback for the failure.
fn checked_right_after(try_stmt: Node<'_>, handler: Node<'_>, src: &str) -> bool {
    static MISSING: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"^(?:not\s+(?:len\(\s*)?(?P<a>[\w.\[\]'\x22]+)\s*\)?|(?P<b>[\w.\[\]'\x22]+)\s+is\s+None|len\(\s*(?P<c>[\w.\[\]'\x22]+)\s*\)\s*==\s*0)$")
            .expect("static regex")
    });
    let Some(body) = try_stmt.child_by_field_name("body") else {
        return false;
    };
    let mut c = handler.walk();
    if !handler
        .named_children(&mut c)
        .all(|k| matches!(k.kind(), "pass_statement" | "comment"))
    {
        return false;
    }
    let Some(next) = next_statement(try_stmt).filter(|n| n.kind() == "if_statement") else {
        return false;
    };
    let Some(cond) = next.child_by_field_name("condition") else {
        return false;
    };
    let Some(caps) = MISSING.captures(src[cond.byte_range()].trim()) else {
        return false;
    };
    let Some(tested) = caps.name("a").or(caps.name("b")).or(caps.name("c")) else {
        return false;
    };
    let tested = tested.as_str();
    let root = tested.split(['.', '[']).next().unwrap_or(tested);
    let tried = &src[body.byte_range()];
    // The tested value is written in the `try`, or its object is handed to a call there.
    let written = re::new(&format!(
        r"{}\s*(?:[-+|]?=[^=]|\.(?:append|extend|add|update|insert)\()",
        regex::escape(tested)
    ))
    .is_ok_and(|r| r.is_match(tried));
    let handed =
        re::new(&format!(r"\(\s*{}\s*[,)]", regex::escape(root))).is_ok_and(|r| r.is_match(tried));
    written || handed
}

/// The statement that runs after `stmt` when it completes, climbing out of the
/// `if`/`elif`/`else`/`with`/`try` blocks it ends (not out of loops or functions).
fn next_statement(stmt: Node<'_>) -> Option<Node<'_>> {
    let mut cur = stmt;
    for _ in 0..16 {
        let mut next = cur.next_named_sibling();
        while next.is_some_and(|n| n.kind() == "comment") {
            next = next.and_then(|n| n.next_named_sibling());
        }
        if next.is_some() {
            return next;
        }
        let block = cur.parent().filter(|p| p.kind() == "block")?;
        let mut owner = block.parent()?;
        if matches!(owner.kind(), "else_clause" | "elif_clause") {
            owner = owner.parent()?;
        }
        if !matches!(
            owner.kind(),
            "if_statement" | "with_statement" | "try_statement"
        ) {
            return None;
        }
        cur = owner;
    }
    None
}

/// The statement that runs right after the `try` (climbing out of `if`/`with`/`try` blocks
/// it ends) is a `return`: the function falls back to its default result or the error it
/// already had.
fn returns_right_after(try_stmt: Node<'_>) -> bool {
    next_statement(try_stmt).is_some_and(|n| n.kind() == "return_statement")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::lang::Lang;

    fn lines_of(src: &str) -> Vec<usize> {
        let f = SourceFile::new("a.py".into(), Lang::Python, src.into());
        let mut hits = Vec::new();
        bare_except(&f, &mut hits);
        hits.iter().map(|h| f.line_col(h.start).0).collect()
    }

    #[test]
    fn strings_comments_and_reraise() {
        let src = "try:\n    x()\nexcept:\n    pass\n\
                   doc = \"\"\"\nexcept:\n\"\"\"\n\
                   s = 'except:'\n\
                   try:\n    y()\nexcept :  # note\n    log()\n    raise\n\
                   try:\n    z()\nexcept: raise\n\
                   try:\n    w()\nexcept:\n    if a:\n        raise\n    cleanup()\n";
        assert_eq!(lines_of(src), [3, 19]);
    }
}
