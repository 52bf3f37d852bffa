//! ERR002 without a parse: bare `except:` clauses found by a line scanner that knows
//! Python's strings and comments. The rule fires in hundreds of files of any large
//! codebase (the CPython standard library has 250), and a full parse of each of them
//! cost more than every other Python rule together.

use crate::checks::Hit;
use crate::source::comments::python_scan;
use crate::source::SourceFile;

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
        if !reraises {
            out.push(Hit::new(off + indent(line), head_end));
        }
    }
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
