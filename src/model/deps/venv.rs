//! A project's virtual environment, when one sits next to its manifest (`.venv/` or
//! `venv/`): which installed distribution provides which top-level import, read the way
//! installers record it (`*.dist-info/top_level.txt`, else the files listed in `RECORD`).

use super::normalise;
use std::collections::HashMap;
use std::path::Path;

/// Top-level import name → normalised distributions providing it, from the virtual
/// environment under `project_dir` (empty when there is none).
pub fn top_level_map(project_dir: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    let base = if project_dir.is_empty() {
        Path::new(".")
    } else {
        Path::new(project_dir)
    };
    for env in [".venv", "venv"] {
        let lib = base.join(env).join("lib");
        let Ok(pythons) = std::fs::read_dir(&lib) else {
            continue;
        };
        for py in pythons.flatten().take(8) {
            let site = py.path().join("site-packages");
            let Ok(entries) = std::fs::read_dir(&site) else {
                continue;
            };
            for e in entries.flatten().take(20_000) {
                let name = e.file_name().to_string_lossy().to_string();
                let Some(stem) = name.strip_suffix(".dist-info") else {
                    continue;
                };
                let dist = normalise(stem.split('-').next().unwrap_or(stem));
                for top in dist_info_tops(&e.path()) {
                    let dists = out.entry(top).or_default();
                    if !dists.contains(&dist) {
                        dists.push(dist.clone());
                    }
                }
            }
        }
    }
    out
}

/// The top-level names one `*.dist-info` directory installs.
fn dist_info_tops(dir: &Path) -> Vec<String> {
    if let Ok(text) = std::fs::read_to_string(dir.join("top_level.txt")) {
        let tops: Vec<String> = text
            .lines()
            .map(|l| l.trim().replace('/', "."))
            .filter(|l| !l.is_empty())
            .collect();
        if !tops.is_empty() {
            return tops;
        }
    }
    let Ok(record) = std::fs::read_to_string(dir.join("RECORD")) else {
        return Vec::new();
    };
    let mut tops: Vec<String> = Vec::new();
    for line in record.lines() {
        let path = line.split(',').next().unwrap_or("");
        let first = path.split('/').next().unwrap_or("");
        if first.is_empty()
            || first == ".."
            || first == "__pycache__"
            || first.ends_with(".dist-info")
            || first.ends_with(".data")
            || first.ends_with(".pth")
        {
            continue;
        }
        let top = if path.contains('/') {
            first
        } else {
            // A single-module distribution: `six.py`, `_cffi_backend.cpython-312-x86_64.so`.
            match first.split_once('.') {
                Some((stem, ext)) if ext == "py" || ext.ends_with("so") || ext.ends_with("pyd") => {
                    stem
                }
                _ => continue,
            }
        };
        if !tops.iter().any(|t| t == top) {
            tops.push(top.to_string());
        }
    }
    tops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_and_top_level_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join(".venv/lib/python3.12/site-packages");
        let a = site.join("django_guardian-2.4.0.dist-info");
        std::fs::create_dir_all(&a).unwrap();
        std::fs::write(a.join("top_level.txt"), "guardian\n").unwrap();
        let b = site.join("fpdf2-2.8.1.dist-info");
        std::fs::create_dir_all(&b).unwrap();
        std::fs::write(
            b.join("RECORD"),
            "fpdf/__init__.py,sha256=x,10\nfpdf2-2.8.1.dist-info/METADATA,,\nsix.py,,\n",
        )
        .unwrap();
        let map = top_level_map(dir.path().to_str().unwrap());
        assert_eq!(map["guardian"], ["django-guardian"]);
        assert_eq!(map["fpdf"], ["fpdf2"]);
        assert_eq!(map["six"], ["fpdf2"]);
    }
}
