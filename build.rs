// Build metadata for `strata --version`:
// - STRATA_GIT_COMMIT: the commit this source was checked out at, or "unknown" when built
//   outside a git checkout of strata itself (an sdist, crates.io, a tarball). A packager
//   may set STRATA_GIT_COMMIT in the environment to record it anyway.
// - STRATA_RULES_DIGEST: FNV-1a over the embedded rule files (path and text, in path
//   order; the `*.toml` files the registry loads), so two binaries with the same digest report with the same rules.
// Rule files are embedded with include_dir; cargo rebuilds when any of them changes.
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=rules");
    println!("cargo:rerun-if-env-changed=STRATA_GIT_COMMIT");
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let commit = std::env::var("STRATA_GIT_COMMIT")
        .ok()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        // A full SHA (`github.sha`) is shortened like `git rev-parse --short=12`.
        .map(|c| match c.get(..12) {
            Some(short) if c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit()) => {
                short.to_string()
            }
            _ => c,
        })
        .or_else(|| git_commit(&root))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=STRATA_GIT_COMMIT={commit}");
    println!(
        "cargo:rustc-env=STRATA_RULES_DIGEST={}",
        rules_digest(&root)
    );
}

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The short commit, only when `root` is the top of its own checkout (an sdist unpacked
/// inside some other repository must not report that repository's commit).
fn git_commit(root: &Path) -> Option<String> {
    let top = PathBuf::from(git(root, &["rev-parse", "--show-toplevel"])?);
    if top.canonicalize().ok()? != root.canonicalize().ok()? {
        return None;
    }
    // Rebuild when HEAD moves: HEAD itself, the branch it points to, packed refs.
    let git_dir = PathBuf::from(git(root, &["rev-parse", "--absolute-git-dir"])?);
    let common = git(root, &["rev-parse", "--git-common-dir"])
        .map(|d| {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                root.join(d)
            }
        })
        .unwrap_or_else(|| git_dir.clone());
    let mut watched = vec![git_dir.join("HEAD"), common.join("packed-refs")];
    if let Some(branch) = git(root, &["symbolic-ref", "-q", "HEAD"]) {
        watched.push(common.join(branch));
    }
    for p in watched.into_iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    git(root, &["rev-parse", "--short=12", "HEAD"]).filter(|c| !c.is_empty())
}

/// FNV-1a 64 over `path\0text\0` of every `*.toml` file below `rules/`, in path order, as 16 hex
/// digits. `tests/cli.rs` recomputes it from the rules directory.
fn rules_digest(root: &Path) -> String {
    let mut files = Vec::new();
    collect(&root.join("rules"), &root.join("rules"), &mut files);
    files.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (rel, path) in files {
        let text = std::fs::read(&path).expect("readable rule file");
        for &b in rel.as_bytes().iter().chain(&[0]).chain(&text).chain(&[0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

fn collect(base: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(base, &path, out);
        } else if path.extension().is_none_or(|e| e != "toml") {
            continue;
        } else if let Ok(rel) = path.strip_prefix(base) {
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, path));
        }
    }
}
