//! Confidence of SEC010 inside heredocs: the fixture annotations see every level, so the
//! levels themselves are pinned here.

#[path = "support/confidence.rs"]
mod confidence;
use confidence::{confidences, level};

#[test]
fn one_line_values_in_quoted_heredocs_are_low() {
    let found = confidences(&["fixtures/workflows/.github/workflows/issue-autofix.yml"]);
    // A title in a quoted heredoc; a body there; a title in an unquoted heredoc.
    assert_eq!(level(&found, "SEC010", "issue-autofix.yml", 19), "low");
    assert_eq!(level(&found, "SEC010", "issue-autofix.yml", 22), "high");
    assert_eq!(level(&found, "SEC010", "issue-autofix.yml", 29), "high");
}
