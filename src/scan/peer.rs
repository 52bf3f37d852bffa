//! Peer acknowledgements: a Python statement that already carries Bandit's `# nosec B305`
//! or Ruff's `# noqa: S305` for the same weakness a strata rule reports was reviewed with
//! that tool, and the team recorded the decision on the line. strata keeps the finding
//! (a reviewer may still disagree) but at `low` confidence, with the acknowledgement in
//! its message, so it leaves the default output the way the peer's own report did.
//!
//! Only a suppression naming the matching test counts: a bare `# nosec` or `# noqa`
//! silences everything the peer reports on the line and says nothing about this weakness.

use crate::checks::Confidence;
use crate::rules::finding::Finding;
use crate::source::re;
use crate::source::SourceFile;
use regex::Regex;
use std::sync::LazyLock;

/// strata rule → the Bandit test ids and Ruff (flake8-bandit) codes for the same weakness.
const PEERS: &[(&str, &[&str])] = &[
    ("ERR001", &["B113", "S113"]),
    ("SEC002", &["B301", "B506", "S301", "S506"]),
    ("SEC003", &["B501", "B323", "S501", "S323"]),
    ("SEC016", &["B105", "B106", "B107", "S105", "S106", "S107"]),
    ("SEC020", &["B608", "S608"]),
    ("SEC027", &["B608", "S608"]),
    ("SEC030", &["B102", "B307", "S102", "S307"]),
    (
        "SEC031",
        &[
            "B602", "B604", "B605", "B609", "S602", "S604", "S605", "S609",
        ],
    ),
    ("SEC032", &["B303", "B324", "S303", "S324"]),
    ("SEC033", &["B304", "B305", "B505", "S304", "S305", "S505"]),
    ("SEC034", &["B311", "S311"]),
    ("SEC036", &["B103", "B306", "S103", "S306"]),
    ("SEC037", &["B202", "S202"]),
    ("SEC038", &["B201", "S201"]),
    ("SEC039", &["B502", "B503", "B504", "S502", "S503", "S504"]),
    ("SEC040", &["B507", "S507"]),
    (
        "SEC042",
        &["B308", "B701", "B703", "B704", "S308", "S701", "S704"],
    ),
];

/// `# nosec B305, B304` (Bandit) or `# noqa: S305,S304` (Ruff): the codes named.
static MARK: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"#\s*(?:nosec\b|noqa\s*:)\s*((?:[A-Z]+[0-9]+[\s,]*)+)").expect("static regex")
});

/// Lowers every Python finding whose statement carries a peer suppression naming the same
/// weakness. Cheap when there is none: one substring search per file with findings.
pub fn acknowledge(findings: &mut [Finding], file: &SourceFile) {
    if findings.is_empty() || !(file.text.contains("nosec") || file.text.contains("noqa")) {
        return;
    }
    for f in findings.iter_mut() {
        let Some((_, codes)) = PEERS.iter().find(|(id, _)| *id == f.rule) else {
            continue;
        };
        let (first, last) = (f.statement.0.min(f.line), f.statement.1.max(f.end_line));
        let named = (first..=last).find_map(|n| {
            let line = file.line(n);
            // Each marker of the line (`# noqa: E501  # nosec B608`), with its own tool.
            MARK.captures_iter(line).find_map(|caps| {
                let bandit = caps.get(0)?.as_str().contains("nosec");
                caps.get(1)?
                    .as_str()
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .find(|c| codes.contains(c))
                    .map(|c| (c.to_string(), bandit))
            })
        });
        if let Some((code, bandit)) = named {
            if f.confidence > Confidence::Low {
                f.confidence = Confidence::Low;
            }
            let tool = if bandit { "# nosec" } else { "# noqa:" };
            f.message = format!(
                "{} (acknowledged on this line with `{tool} {code}`: low confidence)",
                f.message.trim_end_matches('.')
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mark_reads_bandit_and_ruff_codes() {
        let c = |s: &str| MARK.captures(s).map(|c| c[1].trim().to_string());
        assert_eq!(c("x = 1  # nosec B305 # Yubikey").as_deref(), Some("B305"));
        assert_eq!(
            c("x = 1  # noqa: S311, S105").as_deref(),
            Some("S311, S105")
        );
        assert_eq!(c("x = 1  # nosec"), None);
        assert_eq!(c("x = 1  # noqa"), None);
    }
}
