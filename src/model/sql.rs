//! SQL helpers: statement splitting (quotes, dollar quotes and comments respected) so each
//! statement is parsed on its own, and small structural questions rules ask of a statement.

use crate::source::SourceFile;

/// Byte ranges of the statements of a SQL text, each including its `;`. Statements that
/// hold only whitespace and comments are dropped.
pub fn split_statements(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut has_code = false;
    while i < b.len() {
        match b[i] {
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(b.len());
                continue;
            }
            q @ (b'\'' | b'"' | b'`') => {
                has_code = true;
                i += 1;
                while i < b.len() {
                    if b[i] == q {
                        // A doubled quote is an escaped quote.
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                continue;
            }
            b'$' => {
                has_code = true;
                if let Some(tag_len) = dollar_tag(&b[i..]) {
                    let tag = &b[i..i + tag_len];
                    let body = i + tag_len;
                    match find(&b[body..], tag) {
                        Some(p) => i = body + p + tag_len,
                        None => i = b.len(),
                    }
                    continue;
                }
            }
            b';' => {
                if has_code {
                    out.push((start, i + 1));
                }
                start = i + 1;
                has_code = false;
            }
            c if !c.is_ascii_whitespace() => has_code = true,
            _ => {}
        }
        i += 1;
    }
    if has_code {
        out.push((start, b.len()));
    }
    // Trim leading whitespace so statement ranges start at their first token or comment.
    out.into_iter()
        .map(|(s, e)| {
            let lead = text[s..e].len() - text[s..e].trim_start().len();
            (s + lead, e)
        })
        .collect()
}

/// Length of a dollar-quote tag (`$$` or `$body$`) at the start of `b`.
fn dollar_tag(b: &[u8]) -> Option<usize> {
    let mut j = 1;
    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
        j += 1;
    }
    (b.get(j) == Some(&b'$') && !b[1..j].first().is_some_and(u8::is_ascii_digit)).then_some(j + 1)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Statement ranges of a SQL file as tree-sitter ranges (absolute positions).
pub fn statement_ranges(file: &SourceFile) -> Vec<tree_sitter::Range> {
    split_statements(&file.text)
        .into_iter()
        .map(|(s, e)| tree_sitter::Range {
            start_byte: s,
            end_byte: e,
            start_point: point(file, s),
            end_point: point(file, e),
        })
        .collect()
}

/// The byte span of the statement a SQL tree was parsed from (the engine parses one statement
/// at a time, as an included range): the root node starts at the beginning of the line, so
/// a statement after another on the same line needs the range's own start.
pub fn unit_span(tree: &tree_sitter::Tree) -> (usize, usize) {
    let root = tree.root_node();
    let start = tree
        .included_ranges()
        .first()
        .map_or(root.start_byte(), |r| r.start_byte.max(root.start_byte()));
    (start, root.end_byte().max(start))
}

fn point(file: &SourceFile, byte: usize) -> tree_sitter::Point {
    let (line, _) = file.line_col(byte);
    tree_sitter::Point {
        row: line - 1,
        column: byte - file.line_start(line),
    }
}

/// A token of a statement: a word, a quoted name, or one punctuation character.
#[derive(Debug, Clone)]
pub struct Tok<'a> {
    pub text: &'a str,
    pub start: usize,
    /// Parenthesis depth before the token.
    pub depth: usize,
    /// A quoted name (`"x"`, `` `x` ``, `[x]`), given without its quotes.
    pub quoted: bool,
}

/// Tokens of SQL text outside comments: words, string literals (with their quotes), quoted
/// names and single punctuation characters, each with its parenthesis depth.
pub fn tokens(stmt: &str) -> Vec<Tok<'_>> {
    let b = stmt.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut depth = 0usize;
    while i < b.len() {
        let c = b[i];
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i = (i + 2).min(b.len());
        } else if c == b'\'' {
            let s = i;
            i += 1;
            while i < b.len() && b[i] != b'\'' {
                i += 1;
            }
            i = (i + 1).min(b.len());
            out.push(Tok {
                text: &stmt[s..i],
                start: s,
                depth,
                quoted: false,
            });
        } else if c == b'"' || c == b'`' || c == b'[' {
            let close = if c == b'[' { b']' } else { c };
            let s = i;
            i += 1;
            while i < b.len() && b[i] != close {
                i += 1;
            }
            let inner_end = i.min(b.len());
            i = (i + 1).min(b.len());
            out.push(Tok {
                text: &stmt[s + 1..inner_end],
                start: s,
                depth,
                quoted: true,
            });
        } else if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80) {
                i += 1;
            }
            // Keep on a char boundary.
            while i < b.len() && !stmt.is_char_boundary(i) {
                i += 1;
            }
            out.push(Tok {
                text: &stmt[s..i],
                start: s,
                depth,
                quoted: false,
            });
        } else {
            if c == b')' {
                depth = depth.saturating_sub(1);
            }
            if !c.is_ascii_whitespace() {
                out.push(Tok {
                    text: &stmt[i..i + 1],
                    start: i,
                    depth,
                    quoted: false,
                });
            }
            if c == b'(' {
                depth += 1;
            }
            i += 1;
        }
    }
    out
}

/// Upper-cased words of a statement outside strings and comments, for keyword questions
/// that hold whatever the dialect (`INSERT ... ON CONFLICT`, `UPDATE ... WHERE`).
pub fn keywords(sql: &str) -> Vec<String> {
    tokens(sql)
        .into_iter()
        .filter(|t| {
            !t.quoted
                && t.text
                    .starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        })
        .map(|t| t.text.to_ascii_uppercase())
        .collect()
}

/// `UPDATE`/`DELETE` statement (possibly after a `WITH`) with no `WHERE` anywhere in it.
/// Returns the verb when the statement is such a write.
pub fn write_without_where(words: &[String]) -> Option<&'static str> {
    let verb = match words.first().map(String::as_str) {
        Some("UPDATE") => "UPDATE",
        Some("DELETE") => "DELETE",
        Some("WITH") => words.iter().find_map(|w| match w.as_str() {
            "UPDATE" => Some("UPDATE"),
            "DELETE" => Some("DELETE"),
            _ => None,
        })?,
        _ => return None,
    };
    // Only WHERE bounds the write (`TRUNCATE` is explicit intent and not reported).
    (!words.iter().any(|w| w == "WHERE")).then_some(verb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_respecting_quotes_comments_and_dollar_quotes() {
        let sql = "CREATE TABLE a (x text default ';');\n-- c; d\nDELETE FROM b;\n\
                   CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;\n  ;";
        let parts: Vec<&str> = split_statements(sql)
            .iter()
            .map(|&(s, e)| &sql[s..e])
            .collect();
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert!(parts[0].starts_with("CREATE TABLE a"));
        assert!(parts[1].starts_with("-- c; d\nDELETE FROM b;"));
        assert!(parts[2].ends_with("LANGUAGE sql;"));
    }

    #[test]
    fn write_without_where_is_found() {
        let w = |s: &str| write_without_where(&keywords(s));
        assert_eq!(w("DELETE FROM sessions"), Some("DELETE"));
        assert_eq!(w("update users set name = 'where'"), Some("UPDATE"));
        assert_eq!(w("UPDATE users SET a = 1 WHERE id = 2"), None);
        assert_eq!(w("WITH x AS (SELECT 1) DELETE FROM t"), Some("DELETE"));
        assert_eq!(w("SELECT * FROM t"), None);
        assert_eq!(w("CREATE TRIGGER t AFTER UPDATE ON x"), None);
        assert_eq!(
            w("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET a = 1"),
            None
        );
    }
}
