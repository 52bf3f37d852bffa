//! A file that was read and decoded, with the line index every finding needs.

pub mod comments;
pub mod context;
pub mod flat;
pub mod kinds;
pub mod lang;
pub mod names;
pub mod parse;
pub mod re;
pub mod statement;

use crate::source::lang::Lang;

#[derive(Debug)]
pub struct SourceFile {
    /// Path relative to the scan root, with `/` separators.
    pub rel: String,
    pub lang: Lang,
    pub text: String,
    line_starts: Vec<usize>,
}

/// Why a file was not analysed.
#[derive(Debug)]
pub enum ReadOutcome {
    Ok(SourceFile),
    Skipped(String),
}

const BINARY_SNIFF: usize = 8192;

impl SourceFile {
    /// A file of `text`. A UTF-8 byte order mark is dropped (parsers would read it as a
    /// stray character before the first statement; editors do not count it as a column).
    /// Lines end at `\n`, `\r\n` or a lone `\r`, as Python reads them (a lone `\r` is
    /// read as `\n`).
    pub fn new(rel: String, lang: Lang, mut text: String) -> SourceFile {
        if text.starts_with('\u{feff}') {
            text.drain(..'\u{feff}'.len_utf8());
        }
        // A lone `\r` ends a line for Python but not for the parsers: it becomes `\n`
        // (same length, so every byte offset stays where it was).
        if text.contains('\r') {
            let mut b = std::mem::take(&mut text).into_bytes();
            for i in 0..b.len() {
                if b[i] == b'\r' && b.get(i + 1) != Some(&b'\n') {
                    b[i] = b'\n';
                }
            }
            text = String::from_utf8(b).expect("replacing an ASCII byte keeps UTF-8 valid");
        }
        let mut line_starts = vec![0];
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        SourceFile {
            rel,
            lang,
            text,
            line_starts,
        }
    }

    /// Decodes raw bytes. Binary files are skipped; invalid UTF-8 is skipped unless the file
    /// declares another encoding (PEP 263), in which case it is decoded lossily so that the
    /// rest of the file is still analysed.
    pub fn decode(rel: String, lang: Lang, bytes: Vec<u8>) -> ReadOutcome {
        let sniff = &bytes[..bytes.len().min(BINARY_SNIFF)];
        if sniff.contains(&0) {
            return ReadOutcome::Skipped("binary file (contains NUL bytes)".into());
        }
        match String::from_utf8(bytes) {
            Ok(text) => ReadOutcome::Ok(SourceFile::new(rel, lang, text)),
            Err(err) => {
                let valid_up_to = err.utf8_error().valid_up_to();
                let bytes = err.into_bytes();
                if lang == Lang::Python && has_coding_cookie(&bytes) {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    ReadOutcome::Ok(SourceFile::new(rel, lang, text))
                } else {
                    let line = bytes[..valid_up_to].iter().filter(|&&b| b == b'\n').count() + 1;
                    ReadOutcome::Skipped(format!(
                        "invalid UTF-8 at byte {valid_up_to} (line {line})"
                    ))
                }
            }
        }
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Number of lines as `str::lines` counts them (a final newline ends the last line
    /// rather than starting an empty one).
    pub fn lines(&self) -> usize {
        let open_end = !self.text.is_empty() && !self.text.ends_with('\n');
        self.line_starts.len() - 1 + usize::from(open_end)
    }

    /// 1-based line and 1-based character column of a byte offset.
    pub fn line_col(&self, byte: usize) -> (usize, usize) {
        let byte = byte.min(self.text.len());
        let line_idx = match self.line_starts.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line_idx];
        let col = self
            .text
            .get(start..byte)
            .map(|s| s.chars().count())
            .unwrap_or(byte - start);
        (line_idx + 1, col + 1)
    }

    /// Text of a 1-based line, without its newline.
    pub fn line(&self, line: usize) -> &str {
        if line == 0 || line > self.line_starts.len() {
            return "";
        }
        let start = self.line_starts[line - 1];
        let end = self
            .line_starts
            .get(line)
            .map(|&e| e - 1)
            .unwrap_or(self.text.len());
        self.text[start..end.max(start)].trim_end_matches('\r')
    }

    /// Byte offset where a 1-based line starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len())
    }
}

/// PEP 263: `# -*- coding: latin-1 -*-` on line 1 or 2.
fn has_coding_cookie(bytes: &[u8]) -> bool {
    bytes.split(|&b| b == b'\n').take(2).any(|line| {
        let line = String::from_utf8_lossy(line);
        line.trim_start().starts_with('#') && line.contains("coding")
    })
}

/// 64-bit FNV-1a of the bytes, hex.
pub fn content_hash(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}-{}", bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let f = SourceFile::new("a.py".into(), Lang::Python, "ab\ncé d\n".into());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(f.line_col(7), (2, 4));
        assert_eq!(f.line(2), "cé d");
        assert_eq!(f.line(9), "");
    }

    #[test]
    fn binary_and_invalid_utf8_are_skipped() {
        let bin = SourceFile::decode("a.py".into(), Lang::Python, b"ab\0cd".to_vec());
        assert!(matches!(bin, ReadOutcome::Skipped(r) if r.contains("binary")));
        let bad = SourceFile::decode("a.rs".into(), Lang::Rust, b"fn a() {}\n\xff".to_vec());
        assert!(matches!(bad, ReadOutcome::Skipped(r) if r.contains("line 2")));
        let latin = SourceFile::decode(
            "a.py".into(),
            Lang::Python,
            b"# -*- coding: latin-1 -*-\nx = '\xe9'\n".to_vec(),
        );
        assert!(matches!(latin, ReadOutcome::Ok(_)));
    }
}
