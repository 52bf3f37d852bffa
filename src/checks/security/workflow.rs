//! GitHub Actions workflow checks over the YAML tree.

use crate::checks::{Confidence, FileContext, Hit};
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

fn text<'a>(node: Node<'_>, src: &'a str) -> &'a str {
    node.utf8_text(src.as_bytes()).unwrap_or("")
}

/// The mapping inside a `block_node`/`flow_node`, if the value is one; an anchor or tag
/// before it (`- &setup`, `!!map`) is skipped.
fn mapping(value: Node<'_>) -> Option<Node<'_>> {
    let inner = if matches!(value.kind(), "block_node" | "flow_node") {
        let mut c = value.walk();
        let found = value
            .named_children(&mut c)
            .find(|n| !matches!(n.kind(), "anchor" | "tag"));
        found?
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

/// Folders whose `.github/workflows` belong to a copy of another project kept in this
/// repository (a vendored crate, a theme, a package). GitHub runs only the workflows of the
/// repository root, so these never run here.
const VENDORED_DIRS: &[&str] = &[
    "vendor",
    "vendored",
    "third_party",
    "third-party",
    "thirdparty",
    "external",
    "node_modules",
    "themes",
    "theme",
    "plugins",
    "submodules",
];

/// A workflow file under a vendored copy of another project (`vendor/x/.github/workflows`,
/// `themes/y/.github/workflows`): GitHub never runs it.
pub(crate) fn vendored_workflow(rel: &str) -> bool {
    let Some(i) = rel.find(".github/workflows/") else {
        return false;
    };
    rel[..i]
        .split('/')
        .any(|seg| VENDORED_DIRS.contains(&seg.to_ascii_lowercase().as_str()))
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
    for node in all_pairs(root) {
        if node.kind() != "block_mapping_pair" || key_of(node, src) != "steps" {
            continue;
        }
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
    out
}

static TOOL_RUN: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"\b(pip-audit|safety\s+(check|scan)|bandit|cargo[\s-](audit|deny)|npm\s+audit|yarn\s+(npm\s+)?audit|pnpm\s+audit|trivy|gitleaks|semgrep|strata|snyk|grype|osv-scanner|zizmor|checkov|tfsec|detect-secrets|trufflehog|gosec|brakeman|ruff\s+check)\b",
    )
    .expect("static regex")
});
static TOOL_USES: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(trivy-action|gitleaks-action|semgrep|snyk/actions|gh-action-pip-audit|codeql-action/analyze|audit-check|dependency-review-action|trufflehog|zizmor|osv-scanner|bandit|strata)")
        .expect("static regex")
});
/// Lint, format, spelling, type-check, test and generated-code checks: gates that are not
/// security tools but whose muted failure lets broken code merge all the same.
static CHECK_RUN: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"\b(flake8|pylint|ruff\s+(check|format\s+--check)|black\b[^|;&\n]*--(check|diff)|isort\b[^|;&\n]*--(check|check-only|diff)|mypy|pyright|pytype|codespell|pydocstyle|pycodestyle|pyflakes|vulture|interrogate|pyupgrade|eslint|prettier\b[^|;&\n]*--check|tsc|stylelint|shellcheck|hadolint|yamllint|markdownlint|actionlint|golangci-lint|go\s+(vet|test)|cargo\s+(clippy|test|nextest|fmt\b[^|;&\n]*--check)|pre-commit\s+run|pytest|python3?\s+-m\s+(pytest|unittest|mypy|flake8|pylint)|tox|nox|jest|vitest|mocha|playwright\s+test|(npm|yarn|pnpm)\s+(run\s+)?(test|lint|typecheck|type-check|check)\b|make\s+(test|lint|check|typecheck)|git\s+diff\b[^|;&\n]*--(exit-code|quiet)|makemigrations\b[^|;&\n]*--check|alembic\s+check|sqlfluff\s+lint|djlint)\b",
    )
    .expect("static regex")
});
static CHECK_USES: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(pre-commit/action|super-linter|golangci-lint-action|ruff-action|chartboost/ruff|psf/black|codespell-project|typos|eslint|reviewdog|mypy|pyright)")
        .expect("static regex")
});
/// Shell idioms that turn a failing command into success.
static MASKED: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(\|\|\s*(true|:|exit\s+0|echo\b)|;\s*exit\s+0\b|--exit-zero\b|--exit-code[\s=]+0\b|\|\s*tee\b)")
        .expect("static regex")
});
/// `|| echo ...; exit 1`: the line fails after all.
static STILL_FAILS: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"\bexit\s+[1-9]|\bfalse\b").expect("static regex"));
/// A step that reports rather than gates, by its name.
static ALLOWED_TO_FAIL_STEP: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(bench|perf|flaky|experimental|optional|nightly|report[- ]only|informational)")
        .expect("static regex")
});
/// A comment saying a check is not meant to gate the build.
static NON_GATE_COMMENT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(non-?blocking|not (?:to )?(?:gate|block)|allowed to fail|informational|report[- ]only|advisory)")
        .expect("static regex")
});

/// Comments inside the step (not those trailing it, which belong to the next step).
fn documented_non_gate(step: &str) -> bool {
    let lines: Vec<&str> = step.lines().collect();
    let last_code = lines
        .iter()
        .rposition(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .unwrap_or(0);
    lines[..last_code]
        .iter()
        .filter_map(|l| l.trim_start().strip_prefix('#'))
        .any(|c| NON_GATE_COMMENT.is_match(c))
}

/// An allowed-to-fail job by intent: a nightly or experimental matrix leg.
static EXPERIMENTAL_JOB: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(nightly|experimental|canary|upstream|pre-?release|allow[-_]fail|optional|unstable|-dev\b|\bdev\b|beta)")
        .expect("static regex")
});

/// Whether a match at `start` of `line` is a command being run, not an argument of
/// another (`pip install flake8`, `echo "run pytest"`).
fn at_command(line: &str, start: usize) -> bool {
    let before = &line[..start];
    if before.ends_with('/') {
        return true;
    }
    let prev = before.split_whitespace().last().unwrap_or("");
    prev.contains('=')
        || matches!(
            prev,
            "" | "-"
                | "&&"
                | "||"
                | ";"
                | "|"
                | "("
                | "{"
                | "!"
                | "run"
                | "exec"
                | "npx"
                | "uvx"
                | "time"
                | "then"
                | "do"
                | "sudo"
                | "-m"
                | "xvfb-run"
                | "env"
                | "run:"
        )
}

/// The first command in `line` that `tools` names.
fn find_command<'l>(line: &'l str, tools: &Regex) -> Option<regex::Match<'l>> {
    tools.find_iter(line).find(|m| at_command(line, m.start()))
}

/// The first check in `line` whose exit status a shell idiom after it hides.
fn masked_check<'l>(
    line: &'l str,
    script: &str,
    tools: &Regex,
) -> Option<(regex::Match<'l>, String)> {
    let m = find_command(line, tools)?;
    let rest = &line[m.end()..];
    let mm = MASKED.find(rest)?;
    let idiom = mm.as_str().trim();
    if idiom.contains("tee") && script.contains("pipefail") {
        return None;
    }
    let after = &rest[mm.end()..];
    if idiom.contains("echo") {
        // `|| echo "changed=true" >> "$GITHUB_OUTPUT"` records a result; `|| echo ...; exit 1`
        // still fails.
        if after.contains('>') || after.contains("::set-output") || STILL_FAILS.is_match(after) {
            return None;
        }
    }
    Some((m, format!("`{idiom}` hides its exit status")))
}

/// Every `run:` script of a job's steps.
fn job_scripts(job: Node<'_>, src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (_, v) in pairs(job, src)
        .into_iter()
        .filter(|(k, _, _)| k == "steps")
        .filter_map(|(_, _, v)| v.map(|v| ((), v)))
    {
        let Some(seq) = v.named_child(0).filter(|s| s.kind() == "block_sequence") else {
            continue;
        };
        let mut c = seq.walk();
        for item in seq.named_children(&mut c) {
            if let Some(step) = item.named_child(0).and_then(mapping) {
                if let Some((_, _, Some(r))) =
                    pairs(step, src).into_iter().find(|(k, _, _)| k == "run")
                {
                    out.push(scalar(r, src).0);
                }
            }
        }
    }
    out
}

/// The command a check line runs, from the check's name up to a masking idiom or the end
/// of the line, whitespace-normalised (`pre-commit run --all-files` of
/// `uv run pre-commit run --all-files || true`).
fn command_text(line: &str, m: &regex::Match<'_>) -> String {
    let rest = &line[m.start()..];
    let cut = MASKED
        .find(&line[m.end()..])
        .map_or(rest.len(), |x| m.end() - m.start() + x.start());
    rest[..cut]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .trim_end_matches(';')
        .trim_end()
        .to_string()
}

/// The name a check command goes by (`flake8` of `flake8 . --exit-zero`).
fn tool_word(m: &str) -> &str {
    m.split_whitespace().next().unwrap_or(m)
}

/// SEC005: a CI check (security tool, tests, lint, type check, format, spelling,
/// generated code) whose failure cannot fail the build. Non-security checks are reported
/// with medium confidence; one that the same job also runs unmuted (flake8's report-only
/// `--exit-zero` second pass, or an auto-fix `pre-commit run || true` whose fixes are
/// committed before the same command runs again as the gate) is not reported.
pub fn security_step_cannot_fail(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let src = ctx.file.text.as_str();
    if vendored_workflow(&ctx.file.rel) {
        return;
    }
    let mut jobs_reported: Vec<usize> = Vec::new();
    for (job, step) in steps(ctx.tree.root_node(), src) {
        let step_pairs = pairs(step, src);
        let get = |k: &str| step_pairs.iter().find(|(key, _, _)| key == k);
        let uses = get("uses").and_then(|(_, _, v)| *v).map(|v| text(v, src));
        let run = get("run").and_then(|(_, _, v)| *v).map(|v| scalar(v, src));
        let security = uses
            .and_then(|u| TOOL_USES.find(u).map(|m| m.as_str().to_string()))
            .or_else(|| {
                run.as_ref()
                    .and_then(|(r, _)| TOOL_RUN.find(r).map(|m| m.as_str().to_string()))
            });
        let check = uses
            .and_then(|u| CHECK_USES.find(u).map(|m| m.as_str().to_string()))
            .or_else(|| {
                run.as_ref().and_then(|(r, _)| {
                    r.lines()
                        .find_map(|l| find_command(l, &CHECK_RUN))
                        .map(|m| m.as_str().split_whitespace().collect::<Vec<_>>().join(" "))
                })
            });
        let step_name = get("name")
            .and_then(|(_, _, v)| *v)
            .map_or("", |v| text(v, src));
        let (tool, confidence) = match (security, check) {
            (Some(t), _) => (t, None),
            // Benchmarks and flaky or experimental suites report; they are not gates.
            (None, Some(_)) if ALLOWED_TO_FAIL_STEP.is_match(step_name) => continue,
            // A comment in the step saying it is not a gate on purpose ("Non-blocking for
            // now: flip once it has a clean record") is a decision, not a slip.
            (None, Some(_)) if documented_non_gate(text(step, src)) => continue,
            (None, Some(t)) => (t, Some(Confidence::Medium)),
            (None, None) => continue,
        };
        let with_conf = |h: Hit, c: Option<Confidence>| match c {
            Some(c) => h.confidence(c),
            None => h,
        };
        // 1. A command line that masks its own exit status.
        if let Some((script, offset)) = &run {
            let mut line_start = 0;
            let mut errexit_off = false;
            let mut others: Option<Vec<String>> = None;
            for line in script.split_inclusive('\n') {
                let trimmed = line.trim();
                if trimmed.starts_with("set +e") {
                    errexit_off = true;
                }
                if trimmed.starts_with("set -e") || trimmed.starts_with("set -o errexit") {
                    errexit_off = false;
                }
                let found = masked_check(line, script, &TOOL_RUN)
                    .map(|(m, why)| (m, why, None))
                    .or_else(|| {
                        masked_check(line, script, &CHECK_RUN)
                            .map(|(m, why)| (m, why, Some(Confidence::Medium)))
                    })
                    .or_else(|| {
                        let later = &script[(line_start + line.len()).min(script.len())..];
                        let checked = later.contains("$?") || later.contains("PIPESTATUS");
                        (errexit_off && !checked)
                            .then(|| {
                                find_command(line, &TOOL_RUN)
                                    .map(|m| (m, None))
                                    .or_else(|| {
                                        find_command(line, &CHECK_RUN)
                                            .map(|m| (m, Some(Confidence::Medium)))
                                    })
                            })
                            .flatten()
                            .map(|(m, c)| (m, "`set +e` ignores its exit status".to_string(), c))
                    });
                if let Some((m, why, c)) = found {
                    // A report-only pass of a check the job also runs for real.
                    let word = tool_word(m.as_str());
                    let report_only = why.contains("--exit-zero") || why.contains("--exit-code");
                    let all = others.get_or_insert_with(|| job_scripts(job, src));
                    let real_run_elsewhere = if report_only {
                        c.is_some()
                            && all.iter().flat_map(|s| s.lines()).any(|l| {
                                find_command(l, &CHECK_RUN)
                                    .is_some_and(|o| tool_word(o.as_str()) == word)
                                    && masked_check(l, script, &CHECK_RUN).is_none()
                                    && !l.trim_start().starts_with('#')
                            })
                    } else {
                        // An auto-fix pass (`pre-commit run --all-files || true`, then the
                        // fixes are committed) followed by the same command unmuted: the
                        // second run is the gate.
                        let tools: &Regex = if c.is_some() { &CHECK_RUN } else { &TOOL_RUN };
                        let this = command_text(line, &m);
                        all.iter().any(|s| {
                            s.lines().any(|l| {
                                !l.trim_start().starts_with('#')
                                    && find_command(l, tools)
                                        .is_some_and(|o| command_text(l, &o) == this)
                                    && masked_check(l, s, tools).is_none()
                                    && !s.contains("set +e")
                            })
                        })
                    };
                    if !real_run_elsewhere {
                        let lead = line.len() - line.trim_start().len();
                        let start = offset + line_start + lead;
                        let end = offset + line_start + line.trim_end().len();
                        let shown = m.as_str().split_whitespace().collect::<Vec<_>>().join(" ");
                        out.push(with_conf(
                            Hit::new(start, end).var("tool", shown).var("why", why),
                            c,
                        ));
                    }
                }
                line_start += line.len();
            }
        }
        // 2. The step, or 3. the whole job, continues on error. A later step that reads
        // the step's outcome (`if: steps.e2e.outcome == 'failure'` ... `exit 1`) handles it.
        let outcome_read = get("id").and_then(|(_, _, v)| *v).is_some_and(|v| {
            let id = unquote(text(v, src));
            let job_text = text(job, src);
            job_text.contains(&format!("steps.{id}.outcome"))
                || job_text.contains(&format!("steps.{id}.conclusion"))
        });
        // A report-only scan that writes SARIF which the job uploads to code scanning: its
        // findings become tracked alerts there (the rule's own advice for a report-only rollout).
        let to_code_scanning = text(step, src).to_ascii_lowercase().contains("sarif")
            && text(job, src).contains("codeql-action/upload-sarif");
        if let Some((_, pair, v)) =
            get("continue-on-error").filter(|_| !outcome_read && !to_code_scanning)
        {
            if is_true(*v, src) {
                out.push(with_conf(
                    Hit::new(pair.start_byte(), pair.end_byte())
                        .var("tool", tool.clone())
                        .var("why", "the step has `continue-on-error: true`"),
                    confidence,
                ));
            }
        }
        if jobs_reported.contains(&job.start_byte()) {
            continue;
        }
        if let Some((_, pair, _)) = pairs(job, src)
            .into_iter()
            .find(|(k, _, v)| k == "continue-on-error" && is_true(*v, src))
        {
            // A nightly or experimental job of tests is allowed to fail by design.
            let job_head = job
                .parent()
                .and_then(|p| p.parent())
                .map_or("", |p| text(p, src).lines().next().unwrap_or(""));
            let named = pairs(job, src)
                .into_iter()
                .find(|(k, _, _)| k == "name")
                .and_then(|(_, _, v)| v)
                .map_or("", |v| text(v, src));
            if confidence.is_some()
                && (EXPERIMENTAL_JOB.is_match(job_head) || EXPERIMENTAL_JOB.is_match(named))
            {
                continue;
            }
            jobs_reported.push(job.start_byte());
            out.push(with_conf(
                Hit::new(pair.start_byte(), pair.end_byte())
                    .var("tool", tool)
                    .var("why", "its job has `continue-on-error: true`"),
                confidence,
            ));
        }
    }
}

/// The workflow's top-level mapping.
fn top_mapping(root: Node<'_>) -> Option<Node<'_>> {
    let mut node = root;
    for _ in 0..6 {
        if node.kind() == "block_mapping" || node.kind() == "flow_mapping" {
            return Some(node);
        }
        let mut c = node.walk();
        node = node
            .named_children(&mut c)
            .find(|n| n.kind() != "comment")?;
    }
    None
}

/// Every `block_mapping_pair`/`flow_pair` in the tree, in document order.
fn all_pairs(root: Node<'_>) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    crate::model::facts::visit(root, |node| {
        if matches!(node.kind(), "block_mapping_pair" | "flow_pair") {
            out.push(node);
        }
        true
    });
    out
}

fn key_of(pair: Node<'_>, src: &str) -> String {
    pair.child_by_field_name("key")
        .map(|k| unquote(text(k, src)).to_string())
        .unwrap_or_default()
}

/// The events that trigger the workflow (`on:` as a scalar, a list or a mapping).
fn triggers(top: Node<'_>, src: &str) -> String {
    pairs(top, src)
        .into_iter()
        .find(|(k, _, _)| k == "on" || k == "true")
        .and_then(|(_, _, v)| v)
        .map(|v| match mapping(v) {
            Some(m) => pairs(m, src)
                .into_iter()
                .map(|(k, _, _)| k)
                .collect::<Vec<_>>()
                .join(" "),
            None => text(v, src).to_string(),
        })
        .unwrap_or_default()
}

fn value_text(map: Node<'_>, key: &str, src: &str) -> Option<String> {
    pairs(map, src)
        .into_iter()
        .find(|(k, _, _)| k == key)
        .and_then(|(_, _, v)| v)
        .map(|v| text(v, src).to_string())
}

/// Expressions that name the pull request's own code (its head commit or branch).
static PR_HEAD_REF: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"\$\{\{[^}]*\b(github\.event\.pull_request\.head\.(sha|ref)|github\.head_ref|github\.event\.workflow_run\.head_(sha|branch)|github\.event\.pull_request\.merge_commit_sha|github\.event\.number|github\.event\.pull_request\.number)\b[^}]*\}\}",
    )
    .expect("static regex")
});
/// `gh pr checkout`, or a fetch of the pull request's refs in a script.
static PR_CHECKOUT_RUN: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\bgh\s+pr\s+checkout\b|\bgit\s+(fetch|checkout|pull)\b[^\n]*(refs/pull/|pull/\$|\$\{\{[^}]*(head\.(sha|ref)|head_ref|head_sha|head_branch))")
        .expect("static regex")
});
/// A job condition limiting it to pull requests from the repository itself.
static SAME_REPO_GUARD: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"head\.repo\.full_name\s*==\s*github\.repository|github\.repository\s*==\s*github\.event\.pull_request\.head\.repo\.full_name|head\.repo\.fork\s*==\s*false|!\s*github\.event\.pull_request\.head\.repo\.fork")
        .expect("static regex")
});

/// SEC006: a `pull_request_target` (or `workflow_run`) workflow that checks out the pull
/// request's code, which then runs with the base repository's secrets and write token.
pub fn privileged_checkout_of_pr_code(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let src = ctx.file.text.as_str();
    if vendored_workflow(&ctx.file.rel) {
        return;
    }
    let Some(top) = top_mapping(ctx.tree.root_node()) else {
        return;
    };
    let on = triggers(top, src);
    let event = if on.contains("pull_request_target") {
        "pull_request_target"
    } else if on.contains("workflow_run") {
        "workflow_run"
    } else {
        return;
    };
    for (job, step) in steps(ctx.tree.root_node(), src) {
        if value_text(job, "if", src).is_some_and(|c| SAME_REPO_GUARD.is_match(&c)) {
            continue;
        }
        let step_pairs = pairs(step, src);
        let get = |k: &str| step_pairs.iter().find(|(key, _, _)| key == k);
        let uses = get("uses")
            .and_then(|(_, _, v)| *v)
            .map(|v| unquote(text(v, src)).to_string())
            .unwrap_or_default();
        if uses.starts_with("actions/checkout@") {
            let Some(with) = get("with").and_then(|(_, _, v)| *v).and_then(mapping) else {
                continue;
            };
            let with_pairs = pairs(with, src);
            // The folder the pull request lands in when it is not the workspace root.
            let folder = with_pairs
                .iter()
                .find(|(k, _, _)| k == "path")
                .and_then(|(_, _, v)| *v)
                .map(|v| {
                    unquote(text(v, src))
                        .trim_start_matches("./")
                        .trim_end_matches('/')
                })
                .filter(|p| !p.is_empty() && *p != "." && !p.contains("${{"));
            if folder.is_some_and(|p| never_run_from(job, step, p, src)) {
                continue;
            }
            for (k, pair, v) in with_pairs {
                let Some(v) = v else { continue };
                if matches!(k.as_str(), "ref" | "repository")
                    && (PR_HEAD_REF.is_match(text(v, src))
                        || text(v, src).contains("head.repo.full_name"))
                {
                    out.push(
                        Hit::new(pair.start_byte(), pair.end_byte())
                            .var("event", event)
                            .var(
                                "what",
                                format!("`actions/checkout` with `{}`", text(pair, src).trim()),
                            ),
                    );
                    break;
                }
            }
        } else if let Some((script, offset)) =
            get("run").and_then(|(_, _, v)| *v).map(|v| scalar(v, src))
        {
            if let Some(m) = PR_CHECKOUT_RUN.find(&script) {
                out.push(
                    Hit::new(offset + m.start(), offset + m.end())
                        .var("event", event)
                        .var("what", format!("`{}`", m.as_str().trim())),
                );
            }
        }
    }
}

/// Commands that only read, compare or copy files, or record them with git: given a path in
/// the pull request's checkout they run nothing from it.
static DATA_COMMAND: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:sudo\s+)?(?:rsync|cp|diff|cmp|cat|ls|wc|grep|find|jq|yq|head|tail|sha256sum|sha1sum|md5sum|test|\[|echo|git|mkdir|touch)\b")
        .expect("static regex")
});
/// A copied path that holds data rather than code: translations, documentation, images.
static DATA_PATH: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)/(?:locale|locales|translations|i18n|l10n|docs?|assets|images|img|static|content|data)(?:/|$)|\.(?:po|pot|mo|md|rst|txt|csv|png|jpe?g|svg|gif|xliff|xlf)$")
        .expect("static regex")
});
static COPY: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"^(?:sudo\s+)?(?:rsync|cp)\b").expect("static regex"));
/// Commands that find and run code below the working directory (tests, task files), so a
/// checkout in a subfolder of it is run all the same.
static RECURSIVE_RUN: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\b(?:pytest|unittest|nox|tox|go\s+(?:test|run|build|generate)\s+\./\.\.\.|xargs)\b|\s-exec(?:dir)?\b")
        .expect("static regex")
});
/// Actions that only commit, push, upload or comment what a folder holds.
static RECORDING_ACTION: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(?:git-auto-commit|add-and-commit|github-push-action|create-pull-request|upload-artifact|comment)")
        .expect("static regex")
});

/// The pull request checked out into `folder` is never run by the steps of `job` after
/// `checkout`: no step works in it (`working-directory`, `cd`), uses an action from it, hands
/// it to an action other than one that commits or uploads it, or names it in a command other
/// than one that reads or copies data files (`rsync -a pr/locale/ base/locale/`), and no step
/// runs a command that finds code to run below the workspace (`pytest`).
fn never_run_from(job: Node<'_>, checkout: Node<'_>, folder: &str, src: &str) -> bool {
    let word = re::new(&format!(
        r#"(?:^|[\s'"=:(])(?:\./|\$GITHUB_WORKSPACE/|\$\{{\{{\s*github\.workspace\s*\}}\}}/)?{}(?:/[^\s'";|&)]*)?(?:$|[\s'";|&)])"#,
        regex::escape(folder)
    ));
    let Ok(word) = word else { return false };
    // `defaults: run: working-directory:` of the job puts every script in the folder.
    if value_text(job, "defaults", src).is_some_and(|d| word.is_match(&d)) {
        return false;
    }
    for (j, step) in steps(job, src) {
        if j != job || step.start_byte() <= checkout.end_byte() {
            continue;
        }
        let step_pairs = pairs(step, src);
        let get = |k: &str| {
            step_pairs
                .iter()
                .find(|(key, _, _)| key == k)
                .and_then(|(_, _, v)| *v)
                .map(|v| text(v, src))
        };
        let workdir = get("working-directory").map(unquote);
        if workdir.is_some_and(|w| word.is_match(w)) {
            return false;
        }
        let uses = get("uses").map(unquote).unwrap_or_default();
        if uses.starts_with("./") && word.is_match(uses) {
            return false;
        }
        if let Some(with) = get("with") {
            if word.is_match(with) && !RECORDING_ACTION.is_match(uses) {
                return false;
            }
        }
        let Some(script) = step_pairs
            .iter()
            .find(|(key, _, _)| key == "run")
            .and_then(|(_, _, v)| *v)
            .map(|v| scalar(v, src).0)
        else {
            continue;
        };
        if workdir.is_none() && RECURSIVE_RUN.is_match(&script) {
            return false;
        }
        for line in script.lines().map(str::trim) {
            if !word.is_match(line) {
                continue;
            }
            // One plain command: no second command, pipe or substitution that could run
            // what it reads, nothing written into the job's environment.
            if !DATA_COMMAND.is_match(line)
                || line.contains(['&', ';', '|', '`'])
                || line.contains("$(")
                || line.contains("GITHUB_ENV")
                || line.contains("GITHUB_PATH")
                || line.contains("GITHUB_OUTPUT")
                || RECURSIVE_RUN.is_match(line)
            {
                return false;
            }
            // A copy out of the checkout carries data files only; a copy into it is fine.
            if COPY.is_match(line) {
                let args: Vec<&str> = line
                    .split_whitespace()
                    .skip(1)
                    .filter(|a| !a.starts_with('-'))
                    .collect();
                let sources = &args[..args.len().saturating_sub(1)];
                if sources
                    .iter()
                    .any(|a| word.is_match(a) && !DATA_PATH.is_match(a.trim_end_matches('/')))
                {
                    return false;
                }
            }
        }
    }
    true
}

static FULL_SHA: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"^[0-9a-f]{40}$").expect("static regex"));

/// Owners whose actions are first-party for this workflow: the owner of the repository's
/// `origin` remote (`.git/config` next to the `.github` folder, when there is one) and owners
/// the workflow itself names as its repository (`github.repository == 'acme/app'`,
/// `github.repository_owner == 'acme'`).
fn first_party_owners(rel: &str, src: &str) -> Vec<String> {
    static REPO_EXPR: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"github\.repository(?:_owner)?\s*==\s*['"]([A-Za-z0-9_.-]+)"#)
            .expect("static regex")
    });
    let mut owners: Vec<String> = REPO_EXPR
        .captures_iter(src)
        .map(|c| c[1].to_ascii_lowercase())
        .collect();
    if let Some(i) = rel.find(".github/workflows/") {
        owners.extend(remote_owner(&rel[..i]));
    }
    owners
}

/// The GitHub owner of the `origin` remote of the repository rooted at `root` (relative to
/// the working directory, as scanned paths are), read once per root.
fn remote_owner(root: &str) -> Option<String> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static CACHE: LazyLock<Mutex<HashMap<String, Option<String>>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));
    static URL: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?m)^\s*url\s*=\s*\S*github\.com[:/]([A-Za-z0-9_.-]+)/").expect("static regex")
    });
    let mut cache = CACHE.lock().ok()?;
    cache
        .entry(root.to_string())
        .or_insert_with(|| {
            let config = std::path::Path::new(root).join(".git").join("config");
            let text = std::fs::read_to_string(config).ok()?;
            // The `origin` section when there is one, otherwise the first remote.
            let section = text
                .find("[remote \"origin\"]")
                .map_or(text.as_str(), |i| &text[i..]);
            URL.captures(section).map(|c| c[1].to_ascii_lowercase())
        })
        .clone()
}

/// Whether a job holds something worth stealing or can change what ships: a secret or
/// the token handed to a step (`secrets.X`, `github.token`, `secrets: inherit`), write
/// permissions (on the job or the workflow), or a privileged trigger
/// (`pull_request_target`, `workflow_run`).
fn job_privileged(job: Option<Node<'_>>, top: Node<'_>, src: &str) -> bool {
    static PRIVILEGE: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"secrets\.|github\.token|secrets:\s*inherit|write-all").expect("static regex")
    });
    // `scope: write` grants; the scopes that only comment on or label pull requests and
    // issues, or post check results, reach no code, package, deployment or cloud trust.
    static WRITE: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"([A-Za-z-]+)\s*:\s*write\b").expect("static regex"));
    const COMMENT_SCOPES: &[&str] = &[
        "pull-requests",
        "issues",
        "checks",
        "statuses",
        "discussions",
    ];
    static COMMENT: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?m)(?:^|[ \t])#.*$").expect("static regex"));
    let Some(job) = job else { return true };
    let on = triggers(top, src);
    if on.contains("pull_request_target") || on.contains("workflow_run") {
        return true;
    }
    // The job's own token (`secrets.GITHUB_TOKEN`, `github.token`) can do what the declared
    // `permissions:` grant, which the write scopes below judge; only a token whose scopes
    // are not declared (the repository's default, possibly write) is a secret of its own.
    static OWN_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"secrets\.GITHUB_TOKEN\b|github\.token\b").expect("static regex")
    });
    let job_keys = job
        .child_by_field_name("value")
        .and_then(mapping)
        .map(|m| pairs(m, src))
        .unwrap_or_default();
    let declared = job_keys.iter().any(|(k, _, _)| k == "permissions")
        || pairs(top, src).iter().any(|(k, _, _)| k == "permissions");
    // Commented-out lines (`# TOKEN: ${{ secrets.X }}`) hand the job nothing.
    let privileged = |t: &str| {
        let t = COMMENT.replace_all(t, "");
        let t = if declared {
            OWN_TOKEN.replace_all(&t, "")
        } else {
            t
        };
        PRIVILEGE.is_match(&t)
            || WRITE
                .captures_iter(&t)
                .any(|c| !COMMENT_SCOPES.contains(&&c[1]))
    };
    // A job's own `permissions:` replaces the workflow's, unless the job hands `outputs:` to
    // the other jobs, which hold the workflow's permissions and act on what it says.
    let own_permissions = job_keys.iter().any(|(k, _, _)| k == "permissions")
        && !job_keys.iter().any(|(k, _, _)| k == "outputs");
    privileged(text(job, src))
        || pairs(top, src)
            .iter()
            .filter(|(k, _, _)| !matches!(k.as_str(), "jobs" | "on" | "true"))
            .filter(|(k, _, _)| !(own_permissions && k == "permissions"))
            .any(|(_, pair, _)| privileged(text(*pair, src)))
}

/// SEC007: a third-party action (or reusable workflow) referenced by a movable tag or
/// branch instead of a full commit SHA. GitHub's own `actions/*` and `github/*` may use
/// tags; local actions (`./`), first-party actions (the repository's own owner) and docker
/// images pinned by digest are fine. A version tag in a job that holds no secret, no
/// write permission and no privileged trigger is reported with low confidence: a moved
/// tag there can only tamper with that job's results.
pub fn unpinned_action(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let src = ctx.file.text.as_str();
    if vendored_workflow(&ctx.file.rel) {
        return;
    }
    let top = top_mapping(ctx.tree.root_node());
    let jobs: Vec<Node<'_>> = top
        .and_then(|t| {
            pairs(t, src)
                .into_iter()
                .find(|(k, _, _)| k == "jobs")
                .and_then(|(_, _, v)| v)
                .and_then(mapping)
        })
        .map(|m| pairs(m, src).into_iter().map(|(_, p, _)| p).collect())
        .unwrap_or_default();
    let mut owners: Option<Vec<String>> = None;
    for pair in all_pairs(ctx.tree.root_node()) {
        if key_of(pair, src) != "uses" {
            continue;
        }
        let Some(v) = pair.child_by_field_name("value") else {
            continue;
        };
        let raw = text(v, src);
        let uses = unquote(raw.split(" #").next().unwrap_or(raw));
        if uses.starts_with("./") || uses.starts_with("../") || uses.contains("${{") {
            continue;
        }
        let job = jobs
            .iter()
            .find(|j| j.start_byte() <= pair.start_byte() && pair.end_byte() <= j.end_byte())
            .copied();
        let privileged = || top.is_none_or(|t| job_privileged(job, t, src));
        if let Some(image) = uses.strip_prefix("docker://") {
            ctx.examined(image.contains("@sha256:"));
            if !image.contains("@sha256:") {
                let mut hit = Hit::new(v.start_byte(), v.end_byte())
                    .var("action", uses)
                    .var("ref", "tag instead of an `@sha256:` digest");
                if !privileged() {
                    hit = hit.confidence(Confidence::Low);
                }
                out.push(hit);
            }
            continue;
        }
        let (action, reference) = match uses.rsplit_once('@') {
            Some((a, r)) => (a, r),
            None => (uses, ""),
        };
        let owner = action.split('/').next().unwrap_or("").to_ascii_lowercase();
        // GitHub's own actions are exempt; a third-party action is examined.
        if owner == "actions" || owner == "github" {
            continue;
        }
        if FULL_SHA.is_match(reference) {
            ctx.examined(true);
            continue;
        }
        if owners
            .get_or_insert_with(|| first_party_owners(&ctx.file.rel, src))
            .contains(&owner)
        {
            continue;
        }
        ctx.examined(false);
        let shown = if reference.is_empty() {
            "no ref".to_string()
        } else {
            format!("`{reference}`")
        };
        // A branch (`@main`, `@stable`: no digit) moves on every push to it.
        let version_tag = reference.chars().any(|c| c.is_ascii_digit());
        let mut hit = Hit::new(v.start_byte(), v.end_byte())
            .var("action", action)
            .var("ref", shown);
        if version_tag && !privileged() {
            hit = hit.confidence(Confidence::Low);
        }
        out.push(hit);
    }
}

/// `NAME: ${{ secrets.X }}` entries of an `env:` mapping.
fn secret_env(map: Node<'_>, src: &str, names: &mut Vec<String>) {
    if let Some(env) = pairs(map, src)
        .into_iter()
        .find(|(k, _, _)| k == "env")
        .and_then(|(_, _, v)| v)
        .and_then(mapping)
    {
        for (k, _, v) in pairs(env, src) {
            if v.is_some_and(|v| SECRET_EXPR.is_match(text(v, src))) {
                names.push(k);
            }
        }
    }
}

static SECRET_EXPR: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"\$\{\{\s*secrets\.[A-Za-z0-9_]+\s*\}\}").expect("static regex"));
static ECHO: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"^\s*(echo|printf)\b").expect("static regex"));
static SHELL_VAR: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?").expect("static regex"));

/// SEC008: a secret printed to the job log by `echo`/`printf`.
pub fn secret_echoed(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let src = ctx.file.text.as_str();
    if vendored_workflow(&ctx.file.rel) {
        return;
    }
    let Some(top) = top_mapping(ctx.tree.root_node()) else {
        return;
    };
    let mut workflow_env = Vec::new();
    secret_env(top, src, &mut workflow_env);
    for (job, step) in steps(ctx.tree.root_node(), src) {
        let mut env = workflow_env.clone();
        secret_env(job, src, &mut env);
        secret_env(step, src, &mut env);
        let Some((script, offset)) = pairs(step, src)
            .into_iter()
            .find(|(k, _, _)| k == "run")
            .and_then(|(_, _, v)| v)
            .map(|v| scalar(v, src))
        else {
            continue;
        };
        let redirected = redirected_group_lines(&script);
        let mut line_start = 0;
        for (i, line) in script.split_inclusive('\n').enumerate() {
            let here = line_start;
            line_start += line.len();
            if !ECHO.is_match(line) || line.contains("::add-mask::") || redirected.contains(&i) {
                continue;
            }
            // Piped into a command or redirected into a file: not the log.
            let unquoted_rest = strip_quoted_expr(line);
            if unquoted_rest.contains('|') || unquoted_rest.contains('>') {
                continue;
            }
            let secret = SECRET_EXPR
                .find(line)
                .map(|m| m.as_str().to_string())
                .or_else(|| {
                    SHELL_VAR
                        .captures_iter(line)
                        .filter_map(|c| c.get(1))
                        .find(|n| env.iter().any(|e| e == n.as_str()))
                        .map(|n| format!("${}", n.as_str()))
                });
            if let Some(secret) = secret {
                let lead = line.len() - line.trim_start().len();
                out.push(
                    Hit::new(offset + here + lead, offset + here + line.trim_end().len())
                        .var("secret", secret),
                );
            }
        }
    }
}

/// Lines of a script inside a `{ ...; }` group or `( ... )` subshell whose output is
/// redirected into a file (`} >> ~/.gradle/gradle.properties`): what they print never
/// reaches the log. A redirect to standard error (`>&2`, `/dev/stderr`) or through `tee`
/// still prints.
fn redirected_group_lines(script: &str) -> std::collections::HashSet<usize> {
    static CLOSE: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"^\s*[})]\s*(\d?>>?)\s*(\S+)").expect("static regex"));
    let mut out = std::collections::HashSet::new();
    let mut open: Vec<usize> = Vec::new();
    for (i, line) in script.lines().enumerate() {
        let t = line.trim();
        if t == "{" || t == "(" {
            open.push(i);
            continue;
        }
        if !(t.starts_with('}') || t.starts_with(')')) {
            continue;
        }
        let Some(start) = open.pop() else { continue };
        let to_file = CLOSE.captures(line).is_some_and(|c| {
            let target = &c[2];
            c[1].trim_end_matches('>') != "2"
                && !target.starts_with('&')
                && !target.starts_with("/dev/std")
                && !line.contains("| tee")
        });
        if to_file {
            out.extend(start + 1..i);
        }
    }
    out
}

/// The line with `${{ ... }}` expressions blanked (their `|`/`>` are not shell syntax).
fn strip_quoted_expr(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        match rest[i..].find("}}") {
            Some(j) => rest = &rest[i + j + 2..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// SEC009: `permissions: write-all` on the workflow or a job.
pub fn permissions_write_all(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let src = ctx.file.text.as_str();
    if vendored_workflow(&ctx.file.rel) {
        return;
    }
    for pair in all_pairs(ctx.tree.root_node()) {
        if key_of(pair, src) != "permissions" {
            continue;
        }
        let Some(v) = pair.child_by_field_name("value") else {
            continue;
        };
        if unquote(text(v, src)) == "write-all" {
            let scope = match pair
                .parent()
                .and_then(|m| m.parent())
                .and_then(|n| n.parent())
            {
                Some(p) if p.kind() == "block_mapping_pair" => {
                    format!("job `{}`", key_of(p, src))
                }
                _ => "the workflow".to_string(),
            };
            out.push(Hit::new(pair.start_byte(), pair.end_byte()).var("scope", scope));
        }
    }
}

/// Contexts an outside contributor controls (issue, comment and pull request text, branch
/// names, commit messages, author names).
static UNTRUSTED_EXPR: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"\$\{\{[^}]*?\b(github\.event\.(issue\.(title|body)|pull_request\.(title|body|head\.ref|head\.label|head\.repo\.default_branch)|comment\.body|review\.body|review_comment\.body|discussion\.(title|body)|pages\.[^}\s]*\.page_name|commits\.[^}\s]*\.(message|author\.(email|name))|head_commit\.(message|author\.(email|name))|workflow_run\.(head_branch|head_commit\.(message|author\.(email|name))|display_title|pull_requests[^}\s]*\.head\.ref))|github\.head_ref)\b[^}]*\}\}",
    )
    .expect("static regex")
});

/// Contexts that hold one line: titles, branch and ref names, author names and emails.
/// Multi-line ones are bodies, comments and commit messages.
fn single_line_context(name: &str) -> bool {
    !(name.ends_with("body") || name.ends_with("message"))
}

/// The byte ranges of the bodies of quoted heredocs (`<<'EOF'`, `<<"EOF"`, `<<\EOF`) in a
/// shell script: the shell expands nothing there, and only a line equal to the delimiter
/// ends one.
fn quoted_heredoc_bodies(script: &str) -> Vec<(usize, usize)> {
    static OPEN: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?:^|[^<])<<-?\s*(?:'(\w+)'|"(\w+)"|\\(\w+)|(\w+))"#).expect("static regex")
    });
    let mut out = Vec::new();
    // (delimiter, quoted, body start)
    let mut open: Option<(String, bool, usize)> = None;
    let mut at = 0;
    for line in script.split_inclusive('\n') {
        let start = at;
        at += line.len();
        if let Some((delim, quoted, body)) = &open {
            if line.trim() == delim {
                if *quoted {
                    out.push((*body, start));
                }
                open = None;
            }
            continue;
        }
        if let Some(c) = OPEN.captures(line) {
            let quoted = c.get(4).is_none();
            let delim = (1..=4).find_map(|i| c.get(i)).map_or("", |m| m.as_str());
            open = Some((delim.to_string(), quoted, at));
        }
    }
    if let Some((_, true, body)) = open {
        out.push((body, script.len()));
    }
    out
}

/// SEC010: an attacker-controlled expression expanded into a `run:` script (or a
/// `github-script` body) before the shell or node sees it.
pub fn script_injection(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    let src = ctx.file.text.as_str();
    if vendored_workflow(&ctx.file.rel) {
        return;
    }
    // Run by hand or on a timer, the event carries no issue, pull request, comment or push:
    // every context below is empty. Called from another workflow, it carries the caller's
    // event, which this file cannot see.
    let on = top_mapping(ctx.tree.root_node())
        .map(|t| triggers(t, src))
        .unwrap_or_default();
    let events: Vec<&str> = on
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|e| !e.is_empty())
        .collect();
    let no_event_payload = !events.is_empty()
        && events
            .iter()
            .all(|e| matches!(*e, "workflow_dispatch" | "schedule" | "workflow_call"));
    if no_event_payload && !events.contains(&"workflow_call") {
        return;
    }
    // Run for a pull request only, the workflow comes from the pull request's own merge
    // commit: whoever chose the branch name or title could as well edit the script, and a
    // fork's run gets a read-only token and no secrets. Bad practice, not a new capability.
    let own_pull_request = events.contains(&"pull_request")
        && events
            .iter()
            .all(|e| matches!(*e, "pull_request" | "workflow_dispatch" | "schedule"));
    for (_, step) in steps(ctx.tree.root_node(), src) {
        let step_pairs = pairs(step, src);
        let mut scripts = Vec::new();
        if let Some(v) = step_pairs
            .iter()
            .find(|(k, _, _)| k == "run")
            .and_then(|(_, _, v)| *v)
        {
            scripts.push(("run", scalar(v, src)));
        }
        let uses = step_pairs
            .iter()
            .find(|(k, _, _)| k == "uses")
            .and_then(|(_, _, v)| *v)
            .map(|v| text(v, src))
            .unwrap_or("");
        if uses.contains("actions/github-script") {
            if let Some(v) = step_pairs
                .iter()
                .find(|(k, _, _)| k == "with")
                .and_then(|(_, _, v)| *v)
                .and_then(mapping)
                .and_then(|m| pairs(m, src).into_iter().find(|(k, _, _)| k == "script"))
                .and_then(|(_, _, v)| v)
            {
                scripts.push(("github-script", scalar(v, src)));
            }
        }
        for (kind, (script, offset)) in scripts {
            let heredocs = if kind == "run" {
                quoted_heredoc_bodies(&script)
            } else {
                Vec::new()
            };
            for m in UNTRUSTED_EXPR.captures_iter(&script) {
                let (Some(whole), Some(ctx_name)) = (m.get(0), m.get(1)) else {
                    continue;
                };
                let mut hit = Hit::new(offset + whole.start(), offset + whole.end())
                    .var("context", ctx_name.as_str())
                    .var("kind", kind);
                // A one-line value inside a quoted heredoc is data: it cannot end the
                // heredoc, and nothing in it is expanded.
                let in_quoted_heredoc = single_line_context(ctx_name.as_str())
                    && heredocs
                        .iter()
                        .any(|&(s, e)| s <= whole.start() && whole.end() <= e);
                if no_event_payload || own_pull_request || in_quoted_heredoc {
                    hit = hit.confidence(Confidence::Low);
                }
                out.push(hit);
            }
        }
    }
}
