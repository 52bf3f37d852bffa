//! JUnit XML, for CI systems that show test reports (GitLab, Jenkins, Azure...). One
//! `<testsuite>` per rule that ran, one failing `<testcase>` per finding (named
//! `path:line:column`); a rule without findings has one passing test case, so the report
//! shows what was checked. Scan errors form a last suite, `strata`.

use crate::rules::finding::Finding;
use crate::rules::RuleSet;
use crate::scan::ScanResult;
use std::fmt::Write;

/// Escapes text for XML attributes and content, dropping characters XML 1.0 forbids.
pub fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

fn testcase(out: &mut String, f: &Finding, classname: &str) {
    let _ = writeln!(
        out,
        "    <testcase name=\"{}:{}:{}\" classname=\"{}\" file=\"{}\" line=\"{}\">",
        xml(&f.path),
        f.line,
        f.column,
        xml(classname),
        xml(&f.path),
        f.line
    );
    let _ = writeln!(
        out,
        "      <failure message=\"{}\" type=\"{}\">{}:{}:{}: {} [{} {}, {} confidence]\n{}\nfingerprint {}</failure>",
        xml(&f.message),
        xml(&f.rule),
        xml(&f.path),
        f.line,
        f.column,
        xml(&f.message),
        f.severity,
        f.layer,
        f.confidence.name(),
        xml(&f.snippet),
        f.fingerprint
    );
    let _ = writeln!(out, "    </testcase>");
}

pub fn render(result: &ScanResult, rules: &RuleSet<'_>) -> String {
    let findings: Vec<&Finding> = result
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .collect();
    let mut suites = String::new();
    let mut tests = 0;
    for rule in &rules.rules {
        let mine: Vec<&&Finding> = findings.iter().filter(|f| f.rule == rule.id).collect();
        let name = format!("{} {}", rule.id, rule.name);
        let classname = format!("{}.{}", rule.layer, rule.id);
        let n = mine.len().max(1);
        tests += n;
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{n}\" failures=\"{}\" errors=\"0\" skipped=\"0\">",
            xml(&name),
            mine.len()
        );
        if mine.is_empty() {
            let _ = writeln!(
                suites,
                "    <testcase name=\"no findings\" classname=\"{}\"/>",
                xml(&classname)
            );
        }
        for f in mine {
            testcase(&mut suites, f, &classname);
        }
        let _ = writeln!(suites, "  </testsuite>");
    }
    let errors = &result.errors;
    if !errors.is_empty() {
        let failing = errors
            .iter()
            .filter(|e| matches!(e.kind.as_str(), "io" | "suppression" | "internal"))
            .count();
        tests += errors.len();
        let _ = writeln!(
            suites,
            "  <testsuite name=\"strata\" tests=\"{}\" failures=\"0\" errors=\"{failing}\" skipped=\"{}\">",
            errors.len(),
            errors.len() - failing
        );
        for e in errors {
            let at = e.line.map(|l| format!(":{l}")).unwrap_or_default();
            let _ = writeln!(
                suites,
                "    <testcase name=\"{}{at}\" classname=\"strata.{}\" file=\"{}\">",
                xml(&e.path),
                xml(&e.kind),
                xml(&e.path)
            );
            let tag = if matches!(e.kind.as_str(), "io" | "suppression" | "internal") {
                "error"
            } else {
                "skipped"
            };
            let _ = writeln!(suites, "      <{tag} message=\"{}\"/>", xml(&e.message));
            let _ = writeln!(suites, "    </testcase>");
        }
        let _ = writeln!(suites, "  </testsuite>");
    }
    let failures = findings.len();
    let time = result
        .summary
        .duration_ms
        .map(|ms| format!(" time=\"{:.3}\"", ms as f64 / 1000.0))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"strata\" tests=\"{tests}\" failures=\"{failures}\"{time}>\n{suites}</testsuites>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::xml;

    #[test]
    fn escapes_and_drops_invalid_characters() {
        assert_eq!(xml("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
    }
}
