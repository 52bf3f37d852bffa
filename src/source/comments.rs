//! Where real comments are: a lexer for each language's strings and comments, so that text
//! that only looks like a comment (`"# strata: ignore[...]"` in a string or a docstring) is
//! not taken for one. Used by suppressions, which must never be switched on by data.

use crate::source::lang::Lang;

/// Physical lines of `text` with the byte offset where each starts; a line ends at `\n`,
/// `\r\n` or a lone `\r` (as `SourceFile` counts them). The line text has no line ending.
pub fn lines(text: &str) -> Vec<(usize, &str)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\n' => {
                out.push((start, &text[start..i]));
                start = i + 1;
            }
            b'\r' => {
                out.push((start, &text[start..i]));
                if b.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < b.len() {
        out.push((start, &text[start..]));
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    /// Python triple-quoted string with this quote.
    Triple(u8),
    /// Rust/SQL block comment, nesting depth (Rust nests, SQL does not: depth stays 1).
    Block(u32),
    /// Rust string (normal, or raw with this many `#`).
    RustStr(Option<usize>),
    /// SQL quoted literal or identifier spanning lines.
    SqlQuote(u8),
}

/// For each physical line of `text` (see [`lines`]), the byte offset within the line where a
/// line comment starts, or the start of a block comment that begins on it; `None` when the
/// line has no comment.
pub fn comment_columns(text: &str, lang: Lang) -> Vec<Option<usize>> {
    let mut state = State::Code;
    lines(text)
        .into_iter()
        .map(|(_, line)| {
            let (col, next) = match lang {
                Lang::Python => python_line(line.as_bytes(), state),
                Lang::Rust => rust_line(line.as_bytes(), state),
                Lang::Sql => sql_line(line.as_bytes(), state),
                Lang::Workflow | Lang::Dotenv | Lang::Manifest => {
                    (hash_line(line.as_bytes()), State::Code)
                }
            };
            state = next;
            col
        })
        .collect()
}

/// Python, one physical line: where its comment starts, and whether the line ends inside a
/// triple-quoted string (with that quote) given whether it started in one.
pub fn python_scan(line: &[u8], triple: Option<u8>) -> (Option<usize>, Option<u8>) {
    let state = triple.map_or(State::Code, State::Triple);
    let (col, next) = python_line(line, state);
    let triple = match next {
        State::Triple(q) => Some(q),
        _ => None,
    };
    (col, triple)
}

fn python_line(line: &[u8], mut state: State) -> (Option<usize>, State) {
    let mut i = 0;
    while i < line.len() {
        match state {
            State::Triple(q) => {
                if line[i] == b'\\' {
                    i += 2;
                    continue;
                }
                if line[i] == q && line.get(i + 1) == Some(&q) && line.get(i + 2) == Some(&q) {
                    state = State::Code;
                    i += 3;
                    continue;
                }
                i += 1;
            }
            _ => match line[i] {
                b'#' => return (Some(i), State::Code),
                q @ (b'"' | b'\'') => {
                    if line.get(i + 1) == Some(&q) && line.get(i + 2) == Some(&q) {
                        state = State::Triple(q);
                        i += 3;
                        continue;
                    }
                    i += 1;
                    while i < line.len() && line[i] != q {
                        i += if line[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 1;
                }
                _ => i += 1,
            },
        }
    }
    (None, state)
}

fn rust_line(line: &[u8], mut state: State) -> (Option<usize>, State) {
    let mut i = 0;
    let mut first: Option<usize> = None;
    while i < line.len() {
        match state {
            State::Block(depth) => {
                if line[i] == b'*' && line.get(i + 1) == Some(&b'/') {
                    state = if depth <= 1 {
                        State::Code
                    } else {
                        State::Block(depth - 1)
                    };
                    i += 2;
                } else if line[i] == b'/' && line.get(i + 1) == Some(&b'*') {
                    state = State::Block(depth + 1);
                    i += 2;
                } else {
                    i += 1;
                }
            }
            State::RustStr(hashes) => match hashes {
                None => {
                    if line[i] == b'\\' {
                        i += 2;
                    } else if line[i] == b'"' {
                        state = State::Code;
                        i += 1;
                    } else {
                        i += 1;
                    }
                }
                Some(n) => {
                    if line[i] == b'"'
                        && line[i + 1..].iter().take(n).filter(|&&c| c == b'#').count() == n
                    {
                        state = State::Code;
                        i += 1 + n;
                    } else {
                        i += 1;
                    }
                }
            },
            _ => match line[i] {
                b'/' if line.get(i + 1) == Some(&b'/') => return (first.or(Some(i)), State::Code),
                b'/' if line.get(i + 1) == Some(&b'*') => {
                    first.get_or_insert(i);
                    state = State::Block(1);
                    i += 2;
                }
                b'"' => {
                    state = State::RustStr(None);
                    i += 1;
                }
                b'r' if matches!(line.get(i + 1), Some(b'"' | b'#'))
                    && (i == 0
                        || !(line[i - 1].is_ascii_alphanumeric() || line[i - 1] == b'_')) =>
                {
                    let n = line[i + 1..].iter().take_while(|&&c| c == b'#').count();
                    if line.get(i + 1 + n) == Some(&b'"') {
                        state = State::RustStr(Some(n));
                        i += 2 + n;
                    } else {
                        i += 1;
                    }
                }
                // A char literal ('"', '\'', '\u{..}'); a lifetime ('a) is left alone.
                b'\'' => {
                    if line.get(i + 1) == Some(&b'\\') {
                        let close = line[i + 2..].iter().position(|&c| c == b'\'');
                        i += close.map_or(1, |c| c + 3);
                    } else if line.get(i + 2) == Some(&b'\'') {
                        i += 3;
                    } else {
                        i += 1;
                    }
                }
                _ => i += 1,
            },
        }
    }
    (first, state)
}

fn sql_line(line: &[u8], mut state: State) -> (Option<usize>, State) {
    let mut i = 0;
    let mut first: Option<usize> = None;
    while i < line.len() {
        match state {
            State::Block(_) => {
                if line[i] == b'*' && line.get(i + 1) == Some(&b'/') {
                    state = State::Code;
                    i += 2;
                } else {
                    i += 1;
                }
            }
            State::SqlQuote(q) => {
                if line[i] == q {
                    if line.get(i + 1) == Some(&q) {
                        i += 2;
                        continue;
                    }
                    state = State::Code;
                }
                i += 1;
            }
            _ => match line[i] {
                b'-' if line.get(i + 1) == Some(&b'-') => return (first.or(Some(i)), State::Code),
                b'/' if line.get(i + 1) == Some(&b'*') => {
                    first.get_or_insert(i);
                    state = State::Block(1);
                    i += 2;
                }
                q @ (b'\'' | b'"') => {
                    state = State::SqlQuote(q);
                    i += 1;
                }
                _ => i += 1,
            },
        }
    }
    (first, state)
}

/// YAML, `.env` and requirements files: `#` at the start of a line or after white space,
/// outside quotes.
fn hash_line(line: &[u8]) -> Option<usize> {
    let mut quote: Option<u8> = None;
    for (i, &c) in line.iter().enumerate() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                b'"' | b'\'' => quote = Some(c),
                b'#' if i == 0 || line[i - 1] == b' ' || line[i - 1] == b'\t' => return Some(i),
                _ => {}
            },
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_strings_and_docstrings_are_not_comments() {
        let src = "x = \"# not\"  # yes\n\"\"\"\n# inside a docstring\n\"\"\"\ny = '#' # c\n";
        assert_eq!(
            comment_columns(src, Lang::Python),
            [Some(13), None, None, None, Some(8)]
        );
    }

    #[test]
    fn rust_strings_raw_strings_and_blocks() {
        let src = "let s = \"// no\"; // yes\nlet r = r#\"// \"no\"#; /* c\nstill */ x\nlet c = '\"'; // d\n";
        assert_eq!(
            comment_columns(src, Lang::Rust),
            [Some(17), Some(21), None, Some(13)]
        );
    }

    #[test]
    fn sql_and_yaml() {
        assert_eq!(
            comment_columns("SELECT '--x' -- c\n", Lang::Sql),
            [Some(13)]
        );
        assert_eq!(
            comment_columns("run: echo \"a # b\" # c\nurl: x#y\n", Lang::Workflow),
            [Some(18), None]
        );
    }

    #[test]
    fn line_endings() {
        let l: Vec<usize> = lines("a\r\nb\rc\nd").iter().map(|(s, _)| *s).collect();
        assert_eq!(l, [0, 3, 5, 7]);
    }
}
