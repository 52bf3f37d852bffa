//! Regular expressions over source text, compiled with ASCII word classes.
//!
//! The patterns of the checks describe code: identifiers, keywords, punctuation. With
//! Unicode classes, every `\w` compiles to an automaton over all of Unicode's word
//! characters and every `\b` to a Unicode word boundary that the fast (DFA) engines give up
//! on as soon as a haystack holds one non-ASCII byte. Compiling the checks' hundreds of
//! patterns that way cost more than a tenth of a second of every scan. [`new`] compiles a
//! pattern with `\w`, `\W` and `\d` read as ASCII classes and `\b` as an ASCII word
//! boundary: the same matches on ASCII code, a small fraction of the compile time.
//! Non-ASCII letters are not word characters for these patterns (an identifier such as
//! `naïve_id` is two words to them).

use regex::Regex;

/// `pattern` compiled with ASCII `\w`, `\W`, `\d` and `\b` (see the module docs).
pub fn new(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&ascii(pattern))
}

/// `pattern` with `\w`, `\W`, `\d` and `\b` spelled as their ASCII forms. Escaped
/// backslashes (`\\w` is a backslash then `w`) and `\b{start}`-style assertions are kept.
pub fn ascii(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('w') => out.push_str("[0-9A-Za-z_]"),
            Some('W') => out.push_str("[^0-9A-Za-z_]"),
            Some('d') => out.push_str("[0-9]"),
            Some('b') if chars.peek() != Some(&'{') => out.push_str("(?-u:\\b)"),
            Some(n) => {
                out.push('\\');
                out.push(n);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Where `word` stands in `text` as a whole word: the start of each occurrence with a word
/// boundary before and after it, as `\b{word}\b` (escaped, ASCII word classes, like every
/// pattern [`new`] compiles) finds them, leftmost first, without compiling a pattern per
/// name. An empty `word` matches nowhere.
pub fn word_starts<'a>(text: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
    fn is_word(b: Option<&u8>) -> bool {
        b.is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
    }
    let bytes = text.as_bytes();
    let w = word.as_bytes();
    let mut from = 0;
    std::iter::from_fn(move || {
        if w.is_empty() {
            return None;
        }
        while let Some(i) = text
            .get(from..)
            .and_then(|t| t.find(word))
            .map(|i| i + from)
        {
            let end = i + w.len();
            let before = i.checked_sub(1).and_then(|k| bytes.get(k));
            if is_word(before) != is_word(w.first()) && is_word(bytes.get(end)) != is_word(w.last())
            {
                from = end;
                return Some(i);
            }
            // The next match may start inside this one (as the regex search would).
            from = i + text[i..].chars().next().map_or(1, char::len_utf8);
        }
        None
    })
}

/// `word` stands in `text` as a whole word (see [`word_starts`]).
pub fn has_word(text: &str, word: &str) -> bool {
    word_starts(text, word).next().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spells_the_classes_in_ascii() {
        assert_eq!(
            ascii(r"\bfoo\w+\d\W"),
            r"(?-u:\b)foo[0-9A-Za-z_]+[0-9][^0-9A-Za-z_]"
        );
        // An escaped backslash stays one; `\b{start}` and other escapes are kept.
        assert_eq!(ascii(r"\\w\b{start}x\s\.\("), r"\\w\b{start}x\s\.\(");
        // Inside a class the ASCII class nests.
        assert_eq!(ascii(r"[\w.]+"), r"[[0-9A-Za-z_].]+");
    }

    #[test]
    fn matches_like_the_unicode_pattern_on_ascii_code() {
        let patterns = [
            r"\b(?:user_id|owner)\s*==\s*[\w.]+\b",
            r"(?m)^\s*(\w+)\s*=\s*[^=\n]+$",
            r"[^\w\s]{2,}\d+",
            r"(?i)\bselect\s[^;]*?\bfrom\s+(\w+)",
        ];
        let hay = "if obj.owner == request.user.id:\n    x = 1\nrows = db.execute('SELECT a FROM t_1 WHERE id=%s')\n**12 $$7\n";
        for p in patterns {
            let uni = Regex::new(p).expect("unicode");
            let asc = new(p).expect("ascii");
            let a: Vec<_> = uni.find_iter(hay).map(|m| m.range()).collect();
            let b: Vec<_> = asc.find_iter(hay).map(|m| m.range()).collect();
            assert_eq!(a, b, "{p}");
            assert!(!a.is_empty(), "{p} should match the sample");
        }
    }

    #[test]
    fn non_ascii_letters_are_not_word_characters() {
        let re = new(r"\b\w+_id\b").expect("compiles");
        assert_eq!(re.find("naïve_id").map(|m| m.as_str()), Some("ve_id"));
        assert!(new(r"[\w").is_err());
    }

    #[test]
    fn whole_words_as_the_boundary_pattern_finds_them() {
        let hay = "user_id = uid; id(x) + ids[id] id_ naïveid é id\nid.x a.b ab a.bc";
        for w in ["id", "user_id", "x", "a.b", "b", "é", "naïveid", "ve"] {
            let re = new(&format!(r"\b{}\b", regex::escape(w))).expect("compiles");
            let want: Vec<usize> = re.find_iter(hay).map(|m| m.start()).collect();
            let got: Vec<usize> = word_starts(hay, w).collect();
            assert_eq!(got, want, "{w}");
            assert_eq!(has_word(hay, w), !want.is_empty(), "{w}");
        }
        assert!(!has_word("x", ""));
    }
}
