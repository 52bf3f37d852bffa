//! `--diff REV`: only findings on lines added or changed since a git revision; `--context
//! DIR PATH...`: only findings in the PATHs (files, or everything below directories).
//!
//! Asks git for `git diff --unified=0 REV` (working tree against REV, so staged and
//! unstaged edits count) and reads the `+` side of each hunk. Files git does not track yet
//! count as entirely new. Paths are matched as absolute paths, so it does not matter
//! whether strata runs from the repository root or below it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Added or changed line ranges (inclusive) per file.
#[derive(Debug, Default)]
pub struct ChangedLines {
    files: HashMap<PathBuf, Vec<(usize, usize)>>,
    /// Untracked files: every line is new.
    whole: std::collections::HashSet<PathBuf>,
    cwd: PathBuf,
}

fn git(dir: &Path, args: &[&str]) -> Result<std::process::Output, String> {
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "core.quotePath=false"])
        .args(args)
        .output()
        .map_err(|e| format!("--diff needs git on PATH: {e}"))
}

fn first_line(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

impl ChangedLines {
    /// Changed lines since `rev` in the repository that contains `dir`.
    pub fn since(rev: &str, dir: &Path) -> Result<ChangedLines, String> {
        let cwd = std::env::current_dir()
            .map_err(|e| format!("cannot read the working directory: {e}"))?;
        let dir = if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            cwd.join(dir)
        };
        // The nearest existing directory: a scanned file's, or a stdin name's that may not
        // exist on disk.
        let dir = dir
            .ancestors()
            .find(|d| d.is_dir())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| cwd.clone());
        let top = git(&dir, &["rev-parse", "--show-toplevel"])?;
        if !top.status.success() {
            return Err(format!(
                "--diff needs a git repository, and {} is not inside one ({})",
                dir.display(),
                first_line(&top.stderr)
            ));
        }
        let top = PathBuf::from(String::from_utf8_lossy(&top.stdout).trim());
        let top = top.canonicalize().unwrap_or(top);
        if rev.starts_with('-') {
            return Err(format!("--diff: `{rev}` is not a revision"));
        }
        let verify = git(
            &top,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ],
        )?;
        if !verify.status.success() {
            return Err(format!(
                "--diff: unknown revision `{rev}` (git cannot resolve it to a commit{})",
                if rev.contains('/') {
                    "; in CI, fetch it first, e.g. `git fetch origin main`"
                } else {
                    ""
                }
            ));
        }
        let out = git(
            &top,
            &[
                "diff",
                "--no-color",
                "--no-ext-diff",
                "--unified=0",
                "--src-prefix=a/",
                "--dst-prefix=b/",
                rev,
                "--",
            ],
        )?;
        if !out.status.success() {
            return Err(format!(
                "git diff {rev} failed: {}",
                first_line(&out.stderr)
            ));
        }
        let mut changed = ChangedLines {
            cwd: cwd.canonicalize().unwrap_or(cwd),
            ..ChangedLines::default()
        };
        for (path, ranges) in parse_diff(&String::from_utf8_lossy(&out.stdout)) {
            changed
                .files
                .entry(top.join(path))
                .or_default()
                .extend(ranges);
        }
        let untracked = git(&top, &["ls-files", "--others", "--exclude-standard", "-z"])?;
        if untracked.status.success() {
            for p in untracked
                .stdout
                .split(|&b| b == 0)
                .filter(|p| !p.is_empty())
            {
                changed
                    .whole
                    .insert(top.join(String::from_utf8_lossy(p).as_ref()));
            }
        }
        Ok(changed)
    }

    /// `--context DIR PATH...`: every line of these files, or of every file below these
    /// directories, and nothing else (DIR is still scanned whole, as context).
    pub fn whole_files(paths: &[PathBuf]) -> Result<ChangedLines, String> {
        let cwd = std::env::current_dir()
            .map_err(|e| format!("cannot read the working directory: {e}"))?;
        let cwd = cwd.canonicalize().unwrap_or(cwd);
        let mut changed = ChangedLines {
            cwd,
            ..ChangedLines::default()
        };
        for p in paths {
            let abs = changed
                .cwd
                .join(p)
                .canonicalize()
                .map_err(|e| format!("{}: {e}", p.display()))?;
            changed.whole.insert(abs);
        }
        Ok(changed)
    }

    /// True when any line of `first..=last` in `path` (as shown in findings) changed.
    pub fn touches(&self, path: &str, first: usize, last: usize) -> bool {
        let p = Path::new(path);
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.cwd.join(p)
        };
        let Ok(abs) = abs.canonicalize() else {
            // Not on disk (a `--stdin-filename` for an unsaved file): all of it is new.
            return true;
        };
        // The file, or a directory above it, is new as a whole.
        if abs.ancestors().any(|a| self.whole.contains(a)) {
            return true;
        }
        self.files
            .get(&abs)
            .is_some_and(|ranges| ranges.iter().any(|&(s, e)| s <= last && first <= e))
    }
}

/// (new path, added line ranges) for each file of a `--unified=0` diff.
pub fn parse_diff(text: &str) -> Vec<(String, Vec<(usize, usize)>)> {
    let mut out: Vec<(String, Vec<(usize, usize)>)> = Vec::new();
    let mut current: Option<usize> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("+++ ") {
            current = None;
            let rest = rest.trim_end_matches('\t');
            if rest == "/dev/null" {
                continue;
            }
            let path = unquote(rest);
            if let Some(p) = path.strip_prefix("b/") {
                out.push((p.to_string(), Vec::new()));
                current = Some(out.len() - 1);
            }
        } else if line.starts_with("diff --git ") {
            current = None;
        } else if let Some(rest) = line.strip_prefix("@@ ") {
            let (Some(i), Some(plus)) = (current, rest.split(' ').find(|s| s.starts_with('+')))
            else {
                continue;
            };
            let mut parts = plus[1..].splitn(2, ',');
            let start: usize = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let count: usize = parts
                .next()
                .map_or(Some(1), |s| s.parse().ok())
                .unwrap_or(0);
            if count > 0 && start > 0 {
                out[i].1.push((start, start + count - 1));
            }
        }
    }
    out
}

/// Git quotes paths with unusual characters: `"b/a\tb.py"`, with C escapes and octal bytes.
fn unquote(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return s.to_string();
    };
    let mut bytes = Vec::new();
    let mut it = inner.bytes().peekable();
    while let Some(b) = it.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match it.next() {
            Some(b'n') => bytes.push(b'\n'),
            Some(b't') => bytes.push(b'\t'),
            Some(b'r') => bytes.push(b'\r'),
            Some(d @ b'0'..=b'7') => {
                let mut v = u32::from(d - b'0');
                for _ in 0..2 {
                    match it.peek() {
                        Some(&n @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(n - b'0');
                            it.next();
                        }
                        _ => break,
                    }
                }
                bytes.push(v as u8);
            }
            Some(other) => bytes.push(other),
            None => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_give_added_lines() {
        let diff = "diff --git a/m/a.sql b/m/a.sql\nindex 1..2 100644\n--- a/m/a.sql\n+++ b/m/a.sql\n@@ -3,0 +4,2 @@ x\n+a\n+b\n@@ -10 +12 @@\n-c\n+d\n@@ -20,2 +21,0 @@\n-e\n-f\ndiff --git a/gone.py b/gone.py\ndeleted file mode 100644\n--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\ndiff --git a/n.py b/n.py\n--- /dev/null\n+++ \"b/sp\\303\\251 c.py\"\n@@ -0,0 +1 @@\n+y\n";
        let got = parse_diff(diff);
        assert_eq!(
            got,
            vec![
                ("m/a.sql".to_string(), vec![(4, 5), (12, 12)]),
                ("spé c.py".to_string(), vec![(1, 1)]),
            ]
        );
    }
}
