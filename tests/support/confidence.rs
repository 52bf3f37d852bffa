//! The confidence level of each finding the binary reports on fixture paths, for the tests
//! that pin levels the fixture annotations cannot see.

#[path = "process.rs"]
mod process;

/// (rule, file name, line, confidence) of every finding under `paths`, from the binary's
/// JSON output.
pub fn confidences(paths: &[&str]) -> Vec<(String, String, usize, String)> {
    let mut args = vec!["--min-confidence", "low"];
    args.extend_from_slice(paths);
    let doc = process::scan_json(None, &args);
    let field = |f: &serde_json::Value, k: &str| f[k].as_str().unwrap_or("").to_string();
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let path = field(f, "path");
            (
                field(f, "rule"),
                path.rsplit('/').next().unwrap_or(&path).to_string(),
                f["line"].as_u64().unwrap_or(0) as usize,
                field(f, "confidence"),
            )
        })
        .collect()
}

pub fn level(
    found: &[(String, String, usize, String)],
    rule: &str,
    file: &str,
    line: usize,
) -> String {
    found
        .iter()
        .find(|(r, f, l, _)| r == rule && f == file && *l == line)
        .map(|(_, _, _, c)| c.clone())
        .unwrap_or_else(|| panic!("{rule} not reported at {file}:{line}"))
}
