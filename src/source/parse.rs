//! One tree-sitter parser per language and thread, reused for every file.

use crate::source::lang::Lang;
use std::cell::RefCell;
use std::collections::HashMap;
use tree_sitter::{Parser, Tree};

thread_local! {
    static PARSERS: RefCell<HashMap<Lang, Parser>> = RefCell::new(HashMap::new());
}

/// Parses `text` (or only `ranges` of it) with a per-thread parser for `lang`.
pub fn parse(lang: Lang, text: &str, ranges: Option<&[tree_sitter::Range]>) -> Option<Tree> {
    let grammar = lang.ts_language()?;
    PARSERS.with(|cell| {
        let mut parsers = cell.borrow_mut();
        let parser = match parsers.entry(lang) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let mut p = Parser::new();
                p.set_language(&grammar).ok()?;
                e.insert(p)
            }
        };
        match ranges {
            Some(r) => parser.set_included_ranges(r).ok()?,
            None => parser.set_included_ranges(&[]).ok()?,
        }
        parser.parse(text, None)
    })
}

/// Parses a Python file so that one broken top-level statement cannot take the rest of the
/// file with it. tree-sitter recovers from most syntax errors locally, but some (an unclosed
/// bracket after a stray operator at the end of a file, for one) make it wrap the whole
/// module in a single `ERROR` node, and every function before the error disappears from the
/// tree. When the tree has an `ERROR` directly under the module that holds a top-level
/// statement which parses cleanly on its own, the file is parsed again without the
/// statements that do not parse on their own (positions stay file-absolute); the second
/// value is then where the first statement left out starts.
pub fn parse_python(text: &str) -> Option<(Tree, Option<usize>)> {
    let tree = parse(Lang::Python, text, None)?;
    let root = tree.root_node();
    if !root.has_error() {
        return Some((tree, None));
    }
    let chunks = python_top_level_chunks(text);
    if chunks.len() < 2 {
        return Some((tree, None));
    }
    let errors: Vec<(usize, usize)> = {
        let mut c = root.walk();
        root.children(&mut c)
            .filter(|n| n.is_error())
            .map(|n| (n.start_byte(), n.end_byte()))
            .collect()
    };
    let clean: Vec<bool> = chunks
        .iter()
        .map(|&(s, e)| {
            parse(Lang::Python, text, Some(&[range(text, s, e)]))
                .is_some_and(|t| !t.root_node().has_error())
        })
        .collect();
    let swallowed = chunks.iter().zip(&clean).any(|(&(s, e), &ok)| {
        let e = s + text[s..e].trim_end().len();
        ok && e > s && errors.iter().any(|&(es, ee)| es <= s && e <= ee)
    });
    let Some(first_bad) = chunks.iter().zip(&clean).find(|(_, &ok)| !ok) else {
        return Some((tree, None));
    };
    if !swallowed {
        return Some((tree, None));
    }
    // The clean statements, adjacent ones merged into one range.
    let mut kept: Vec<(usize, usize)> = Vec::new();
    for (&(s, e), &ok) in chunks.iter().zip(&clean) {
        if !ok {
            continue;
        }
        match kept.last_mut() {
            Some(last) if last.1 == s => last.1 = e,
            _ => kept.push((s, e)),
        }
    }
    let ranges: Vec<tree_sitter::Range> = kept.iter().map(|&(s, e)| range(text, s, e)).collect();
    match parse(Lang::Python, text, Some(&ranges)) {
        Some(t) => Some((t, Some(first_bad.0 .0))),
        None => Some((tree, None)),
    }
}

fn range(text: &str, start: usize, end: usize) -> tree_sitter::Range {
    let point = |at: usize| {
        let before = &text.as_bytes()[..at];
        let row = before.iter().filter(|&&b| b == b'\n').count();
        let col = at
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
        tree_sitter::Point::new(row, col)
    };
    tree_sitter::Range {
        start_byte: start,
        end_byte: end,
        start_point: point(start),
        end_point: point(end),
    }
}

/// The byte spans of a Python file's top-level statements, read from the text alone (the
/// tree is what is in doubt): a statement starts on a line that begins in column 0 outside
/// brackets, strings and line continuations, and is not a decorator's `def`/`class`, nor an
/// `else`/`elif`/`except`/`finally` of the statement before. A line in column 0 that starts
/// a `def`, `class`, decorator or import also ends any bracket left open before it.
pub fn python_top_level_chunks(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut starts: Vec<usize> = Vec::new();
    let mut depth: usize = 0;
    let mut string: Option<(u8, bool)> = None; // (quote, triple)
    let mut continued = false;
    let mut after_decorator = false;
    let mut at = 0;
    while at < b.len() {
        let line_end = b[at..]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(b.len(), |p| at + p + 1);
        let line = &text[at..line_end];
        let first = b[at];
        if string.is_none() && !continued && !matches!(first, b' ' | b'\t' | b'\r' | b'\n' | b'#') {
            let opener = ["def ", "class ", "@", "async def ", "import ", "from "]
                .iter()
                .any(|k| line.starts_with(k));
            if depth > 0 && opener {
                depth = 0;
            }
            let clause = ["else", "elif", "except", "finally"].iter().any(|k| {
                line.starts_with(k)
                    && !line.as_bytes()[k.len()..]
                        .first()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            });
            if depth == 0 && !after_decorator && !clause {
                starts.push(at);
            }
            if depth == 0 {
                after_decorator = first == b'@';
            }
        }
        // Lex the line: strings, comments, brackets, a trailing backslash.
        let mut i = at;
        continued = false;
        while i < line_end {
            let c = b[i];
            match string {
                Some((q, triple)) => {
                    if c == b'\\' {
                        i += 1;
                    } else if c == q {
                        if !triple {
                            string = None;
                        } else if b.get(i + 1) == Some(&q) && b.get(i + 2) == Some(&q) {
                            string = None;
                            i += 2;
                        }
                    } else if c == b'\n' && !triple {
                        string = None;
                    }
                }
                None => match c {
                    b'#' => break,
                    b'\'' | b'"' => {
                        let triple = b.get(i + 1) == Some(&c) && b.get(i + 2) == Some(&c);
                        string = Some((c, triple));
                        if triple {
                            i += 2;
                        }
                    }
                    b'(' | b'[' | b'{' => depth += 1,
                    b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                    b'\\' if matches!(b.get(i + 1), Some(b'\n' | b'\r')) => continued = true,
                    _ => {}
                },
            }
            i += 1;
        }
        at = line_end;
    }
    if starts.first() != Some(&0) {
        starts.insert(0, 0);
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, &s)| (s, starts.get(k + 1).copied().unwrap_or(b.len())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_chunks_follow_statements_not_lines() {
        let src = "import os\n\n@app.get('/')\ndef f(\n    a,\n):\n    s = '''\nx\n'''\n    return 1\n\
                   try:\n    pass\nexcept E:\n    pass\nx = (1 +\n2)\ny = \\\n  3\n# c\nz = 'a(' # (\n";
        let starts: Vec<&str> = python_top_level_chunks(src)
            .iter()
            .map(|&(s, e)| src[s..e].lines().next().unwrap_or(""))
            .collect();
        assert_eq!(
            starts,
            [
                "import os",
                "@app.get('/')",
                "try:",
                "x = (1 +",
                "y = \\",
                "z = 'a(' # ("
            ]
        );
    }

    #[test]
    fn an_open_bracket_ends_at_the_next_def() {
        let src = "x = f(\ndef g():\n    pass\n";
        assert_eq!(python_top_level_chunks(src), [(0, 7), (7, src.len())]);
    }

    #[test]
    fn a_broken_tail_does_not_swallow_the_functions_before_it() {
        let src = "def handler():\n    return requests.get(url)\n\nx = 0\n %?-(\n";
        let whole = parse(Lang::Python, src, None).unwrap();
        let (tree, left_out) = parse_python(src).unwrap();
        let kinds = |t: &Tree| {
            let root = t.root_node();
            let mut c = root.walk();
            root.children(&mut c)
                .map(|n| n.kind().to_string())
                .collect::<Vec<_>>()
        };
        // tree-sitter alone wraps the module in one ERROR; the isolated parse keeps the
        // function and leaves out the broken statement (the indented line belongs to the
        // statement before it), whose start is reported.
        assert!(!kinds(&whole).contains(&"function_definition".to_string()));
        assert_eq!(kinds(&tree), ["function_definition"]);
        assert_eq!(left_out, src.find("x = 0"));
    }

    #[test]
    fn a_local_error_keeps_the_original_tree() {
        let src = "def f():\n    x = = 1\n\ndef g():\n    return 2\n";
        let (tree, left_out) = parse_python(src).unwrap();
        assert!(tree.root_node().has_error());
        assert_eq!(left_out, None);
    }
}
