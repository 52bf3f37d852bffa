//! GitHub Actions workflow checks over the YAML tree.

use super::{FileContext, Hit};
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

fn text<'a>(node: Node<'_>, src: &'a str) -> &'a str {
    node.utf8_text(src.as_bytes()).unwrap_or("")
}

/// The mapping inside a `block_node`/`flow_node`, if the value is one.
fn mapping(value: Node<'_>) -> Option<Node<'_>> {
    let inner = if matches!(value.kind(), "block_node" | "flow_node") {
        value.named_child(0)?
    } else {
        value
    };
    matches!(inner.kind(), "block_mapping" | "flow_mapping").then_some(inner)
}

/// `(key, pair node, value node)` of a mapping.
fn pairs<'t>(map: Node<'t>, src: &str) -> Vec<(String, Node<'t>, Option<Node<'t>>)> {
    let mut out = Vec::new();
    let mut c = map.walk();
    for pair in map.named_children(&mut c) {
        if !matches!(pair.kind(), "block_mapping_pair" | "flow_pair") {
            continue;
        }
        let key = pair
            .child_by_field_name("key")
            .map(|k| unquote(text(k, src)).to_string())
            .unwrap_or_default();
        out.push((key, pair, pair.child_by_field_name("value")));
    }
    out
}

fn unquote(s: &str) -> &str {
    s.trim().trim_matches(['"', '\''])
}

/// Scalar value text and the byte offset where it starts in the file. Block scalars
/// (`run: |`) lose their indicator line.
fn scalar(value: Node<'_>, src: &str) -> (String, usize) {
    let raw = text(value, src);
    let start = value.start_byte();
    if raw.starts_with(['|', '>']) {
        let body = raw.find('\n').map_or(raw.len(), |i| i + 1);
        return (raw[body..].to_string(), start + body);
    }
    (
        unquote(raw).to_string(),
        start + (raw.len() - raw.trim_start_matches(['"', '\'']).len()),
    )
}

fn is_true(value: Option<Node<'_>>, src: &str) -> bool {
    value.is_some_and(|v| unquote(text(v, src)) == "true")
}

/// Every step mapping in the workflow, with the job mapping that holds it.
fn steps<'t>(root: Node<'t>, src: &str) -> Vec<(Node<'t>, Node<'t>)> {
    let mut out = Vec::new();
    let mut cursor = root.walk();
    loop {
        let node = cursor.node();
        if node.kind() == "block_mapping_pair"
            && node
                .child_by_field_name("key")
                .is_some_and(|k| unquote(text(k, src)) == "steps")
        {
            if let (Some(job), Some(seq)) = (
                node.parent(),
                node.child_by_field_name("value")
                    .and_then(|v| v.named_child(0))
                    .filter(|s| s.kind() == "block_sequence"),
            ) {
                let mut c = seq.walk();
                for item in seq.named_children(&mut c) {
                    if let Some(step) = item.named_child(0).and_then(mapping) {
                        out.push((job, step));
                    }
                }
            }
        }
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return out;
            }
        }
    }
}

static TOOL_RUN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(pip-audit|safety\s+(check|scan)|bandit|cargo[\s-](audit|deny)|npm\s+audit|yarn\s+(npm\s+)?audit|pnpm\s+audit|trivy|gitleaks|semgrep|strata|snyk|grype|osv-scanner|zizmor|checkov|tfsec|detect-secrets|trufflehog|gosec|brakeman|ruff\s+check)\b",
    )
    .expect("static regex")
});
static TOOL_USES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(trivy-action|gitleaks-action|semgrep|snyk/actions|gh-action-pip-audit|codeql-action/analyze|audit-check|dependency-review-action|trufflehog|zizmor|osv-scanner|bandit|strata)")
        .expect("static regex")
});
/// Shell idioms that turn a failing command into success.
static MASKED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\|\|\s*(true|:|exit\s+0|echo\b)|;\s*exit\s+0\b|--exit-zero\b|--exit-code[\s=]+0\b|\|\s*tee\b)")
        .expect("static regex")
});

/// SEC005: a security tool's step that cannot fail the build.
pub fn security_step_cannot_fail(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let src = ctx.file.text.as_str();
    for (job, step) in steps(ctx.tree.root_node(), src) {
        let step_pairs = pairs(step, src);
        let get = |k: &str| step_pairs.iter().find(|(key, _, _)| key == k);
        let tool_in_uses = get("uses")
            .and_then(|(_, _, v)| *v)
            .map(|v| text(v, src))
            .and_then(|u| TOOL_USES.find(u).map(|m| m.as_str().to_string()));
        let run = get("run").and_then(|(_, _, v)| *v).map(|v| scalar(v, src));
        let tool_in_run = run
            .as_ref()
            .and_then(|(r, _)| TOOL_RUN.find(r).map(|m| m.as_str().to_string()));
        let Some(tool) = tool_in_uses.or(tool_in_run) else {
            continue;
        };
        // 1. A command line that masks its own exit status.
        if let Some((script, offset)) = &run {
            let mut line_start = 0;
            let mut errexit_off = false;
            for line in script.split_inclusive('\n') {
                let trimmed = line.trim();
                if trimmed.starts_with("set +e") {
                    errexit_off = true;
                }
                if let Some(m) = TOOL_RUN.find(line) {
                    let masked = MASKED
                        .find(&line[m.end()..])
                        .filter(|mm| !(mm.as_str().contains("tee") && script.contains("pipefail")));
                    let why = match masked {
                        Some(mm) => Some(format!("`{}` hides its exit status", mm.as_str().trim())),
                        None if errexit_off => Some("`set +e` ignores its exit status".to_string()),
                        None => None,
                    };
                    if let Some(why) = why {
                        let lead = line.len() - line.trim_start().len();
                        let start = offset + line_start + lead;
                        let end = offset + line_start + line.trim_end().len();
                        out.push(Hit::new(start, end).var("tool", m.as_str()).var("why", why));
                    }
                }
                line_start += line.len();
            }
        }
        // 2. The step, or 3. the whole job, continues on error.
        if let Some((_, pair, v)) = get("continue-on-error") {
            if is_true(*v, src) {
                out.push(
                    Hit::new(pair.start_byte(), pair.end_byte())
                        .var("tool", tool.clone())
                        .var("why", "the step has `continue-on-error: true`"),
                );
            }
        }
        if let Some((_, pair, _)) = pairs(job, src)
            .into_iter()
            .find(|(k, _, v)| k == "continue-on-error" && is_true(*v, src))
        {
            out.push(
                Hit::new(pair.start_byte(), pair.end_byte())
                    .var("tool", tool)
                    .var("why", "its job has `continue-on-error: true`"),
            );
        }
    }
}
