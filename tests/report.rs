//! `strata report`: the audit report on the demo project (disposition, scorecard, positive
//! controls, queue order), `--previous`, HTML escaping, the `[report]` configuration, and
//! the examined/passed counts of every counting rule on its fixtures, and the HTML report in
//! a real headless browser.

#[path = "support/process.rs"]
mod process;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn strata(args: &[&str], cwd: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.args(args).env("SOURCE_DATE_EPOCH", "1700000000");
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    cmd.output().expect("strata runs")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

fn json_report(args: &[&str], cwd: Option<&Path>) -> Value {
    let mut all = vec!["report", "--format", "json", "--no-cache"];
    all.extend_from_slice(args);
    serde_json::from_str(&ok(&strata(&all, cwd))).expect("valid JSON")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn control<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("control {id} listed"))
}

fn level(r: &Value, dim: &str) -> u64 {
    r["scorecard"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["dimension"] == dim)
        .unwrap_or_else(|| panic!("dimension {dim} scored"))["level"]
        .as_u64()
        .unwrap()
}

#[test]
fn demo_report_judges_the_demo() {
    let r = json_report(&["fixtures/demo"], None);
    assert_eq!(r["schema"], "strata-report/1");
    assert_eq!(r["header"]["date"], "2023-11-14T22:13:20Z");
    assert_eq!(r["header"]["files"]["python"]["files"], 7);
    assert!(r["header"]["files"]["python"]["lines"].as_u64().unwrap() > 100);

    // A critical finding (AUTH003) and highs in unauthenticated handlers: do not ship.
    assert_eq!(r["disposition"]["verdict"], "do-not-ship");
    let reasons = r["disposition"]["reasons"].to_string();
    assert!(
        reasons.contains("at or above critical severity"),
        "{reasons}"
    );
    assert!(
        reasons.contains("unauthenticated route handlers"),
        "{reasons}"
    );

    // Levels follow the rubric: a critical finding is L1, high findings L2.
    assert_eq!(level(&r, "auth"), 1);
    assert_eq!(level(&r, "security"), 2);
    // 1 of 3 outbound HTTP calls has a timeout: too few sites to rate the rate on, so the
    // high findings decide (L2); a medium finding and one examined site give L3.
    assert_eq!(level(&r, "error-handling"), 2);
    assert_eq!(level(&r, "api-surface"), 3);
    let http = control(&r, "http-timeouts");
    assert_eq!(
        (http["examined"].as_u64(), http["passed"].as_u64()),
        (Some(3), Some(1))
    );
    assert_eq!(http["status"], "partial");

    // The positive control: every SQL execution of the demo is parameterised.
    let sql = control(&r, "sql-parameterised");
    assert_eq!(sql["status"], "holds");
    assert!(sql["examined"].as_u64().unwrap() >= 5);
    assert_eq!(sql["examined"], sql["passed"]);

    // Route inventory: the two unauthenticated write routes are listed.
    let writes: Vec<String> = r["routes"]["unauthenticated_writes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            format!(
                "{} {}",
                w["methods"][0].as_str().unwrap(),
                w["path"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        writes,
        ["POST /admin/reindex", "DELETE /orders/{order_id:int}"]
    );

    // Every finding carries evidence, why and fix; exposure from the routes.
    let findings = r["findings"].as_array().unwrap();
    assert_eq!(findings[0]["id"], "F-0001");
    for f in findings {
        assert!(!f["why"].as_str().unwrap().is_empty(), "{f}");
        assert!(!f["fix"].as_str().unwrap().is_empty(), "{f}");
        assert!(
            f["frame"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["hit"] == true),
            "{f}"
        );
    }
    let tls = findings.iter().find(|f| f["rule"] == "SEC003").unwrap();
    assert_eq!(tls["exposure"], "public-route");
    assert_eq!(tls["route"], "GET /admin/carrier-status");

    // Queue: P0 first (the critical JWT decode and the highs in public handlers), then by
    // priority and score; every item points at findings that exist.
    let queue = r["queue"].as_array().unwrap();
    assert_eq!(queue[0]["priority"], "P0");
    let p0: Vec<&str> = queue
        .iter()
        .filter(|q| q["priority"] == "P0")
        .map(|q| q["rule"].as_str().unwrap())
        .collect();
    for rule in ["AUTH003", "SEC003", "AUTH002", "AUTH001", "DATA002"] {
        assert!(p0.contains(&rule), "{rule} is P0: {p0:?}");
    }
    for w in queue.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let pa = a["priority"].as_str().unwrap();
        let pb = b["priority"].as_str().unwrap();
        assert!(pa <= pb, "{pa} before {pb}");
        if pa == pb {
            assert!(a["score"].as_u64() >= b["score"].as_u64(), "{a} before {b}");
        }
    }
    let ids: Vec<&str> = findings.iter().map(|f| f["id"].as_str().unwrap()).collect();
    for q in queue {
        for f in q["findings"].as_array().unwrap() {
            assert!(ids.contains(&f.as_str().unwrap()));
        }
    }
    let items: usize = queue
        .iter()
        .map(|q| q["findings"].as_array().unwrap().len())
        .sum();
    assert_eq!(items, findings.len(), "every finding is in one queue item");
}

#[test]
fn json_is_identical_at_any_thread_count() {
    let run = |jobs: &str| {
        ok(&strata(
            &[
                "report",
                "fixtures/demo",
                "--format",
                "json",
                "--no-cache",
                "--jobs",
                jobs,
            ],
            None,
        ))
    };
    assert_eq!(run("1"), run("4"));
}

#[test]
fn markdown_and_html_show_the_sections() {
    let md = ok(&strata(&["report", "fixtures/demo", "--no-cache"], None));
    for s in [
        "## Disposition: Do not ship",
        "## Scorecard",
        "| L5 governed |",
        "## Positive controls",
        "## Remediation queue",
        "<a id=\"f-0001\"></a>",
        "**Fix.**",
    ] {
        assert!(md.contains(s), "markdown lacks {s}");
    }
    let html = ok(&strata(
        &["report", "fixtures/demo", "--no-cache", "-f", "html"],
        None,
    ));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg"), "inline charts");
    assert!(
        html.contains("<a href=\"#f-0001\">F-0001</a>"),
        "queue links to findings"
    );
    assert!(html.contains("id=\"f-0001\""));
    // Self-contained: nothing is fetched.
    for s in ["<script", "<link", "src=", "url(", "@import"] {
        assert!(!html.contains(s), "HTML contains {s}");
    }
}

#[test]
fn html_escapes_finding_text() {
    let dir = tempfile::tempdir().unwrap();
    let proj = dir.path().join("demo");
    copy_dir(Path::new("fixtures/demo"), &proj);
    let orders = proj.join("app/routers/orders.py");
    let text = std::fs::read_to_string(&orders).unwrap();
    assert!(text.contains("\"SELECT sku, qty FROM order_lines"));
    std::fs::write(
        &orders,
        text.replace(
            "\"SELECT sku, qty FROM order_lines",
            "\"SELECT '<script>alert(1)</script>', qty FROM order_lines",
        ),
    )
    .unwrap();
    let r = json_report(&["demo"], Some(dir.path()));
    assert!(
        r["findings"].to_string().contains("<script>alert(1)"),
        "the message carries the markup"
    );
    let html = ok(&strata(
        &["report", "demo", "--no-cache", "-f", "html"],
        Some(dir.path()),
    ));
    assert!(!html.contains("<script"), "markup is escaped");
    assert!(html.contains("&lt;script&gt;alert(1)"));
    let md = ok(&strata(&["report", "demo", "--no-cache"], Some(dir.path())));
    // Outside code spans and blocks, Markdown neutralises it too.
    for line in md.lines().filter(|l| l.contains("<script>")) {
        assert!(
            line.contains("`")
                || line
                    .trim_start()
                    .starts_with(|c: char| c.is_ascii_digit() || c == '>'),
            "raw markup outside code: {line}"
        );
    }
}

#[test]
fn previous_report_gives_new_fixed_and_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let proj = dir.path().join("demo");
    copy_dir(Path::new("fixtures/demo"), &proj);
    let before = ok(&strata(
        &["report", "demo", "-f", "json", "--no-cache"],
        Some(dir.path()),
    ));
    std::fs::write(dir.path().join("before.json"), &before).unwrap();
    let before: Value = serde_json::from_str(&before).unwrap();

    // Fix the TLS override, add an unpinned deserialisation elsewhere.
    let admin = proj.join("app/routers/admin.py");
    let text = std::fs::read_to_string(&admin).unwrap();
    std::fs::write(&admin, text.replace("verify=False, ", "")).unwrap();
    let db = proj.join("app/db.py");
    let mut text = std::fs::read_to_string(&db).unwrap();
    text.push_str("\n\ndef load_again(blob):\n    return pickle.loads(blob)\n");
    std::fs::write(&db, text).unwrap();

    let r = json_report(&["demo", "--previous", "before.json"], Some(dir.path()));
    let t = &r["trend"];
    let fixed: Vec<&str> = t["fixed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(fixed.len(), 1, "{fixed:?}");
    assert!(
        fixed[0].starts_with("SEC003 demo/app/routers/admin.py:24"),
        "{fixed:?}"
    );
    let new: Vec<&str> = t["new"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(new.len(), 1, "{new:?}");
    let added = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == new[0])
        .unwrap();
    assert_eq!(added["rule"], "SEC002");
    assert_eq!(
        t["unchanged"].as_u64().unwrap() + 1,
        before["findings"].as_array().unwrap().len() as u64
    );
    assert_eq!(t["levels"]["auth"], serde_json::json!([1, 1]));

    let md = ok(&strata(
        &["report", "demo", "--previous", "before.json", "--no-cache"],
        Some(dir.path()),
    ));
    assert!(md.contains("## Since the previous report"));
    assert!(md.contains("1 new, 1 fixed"));
    let link = format!("New: [{0}](#{1})", new[0], new[0].to_ascii_lowercase());
    assert!(md.contains(&link), "{md}");
    assert!(md.contains("Scorecard: "), "{md}");
    let html = ok(&strata(
        &[
            "report",
            "demo",
            "--previous",
            "before.json",
            "--no-cache",
            "--format",
            "html",
        ],
        Some(dir.path()),
    ));
    assert!(
        html.contains("<h2 id=\"trend\">Since the previous report</h2><p>Previous report: commit "),
        "{html}"
    );
    assert!(html.contains("1 new, 1 fixed"), "{html}");
    assert!(html.contains("<p>Scorecard: "), "{html}");

    // Not a report: a clear error, before any scan.
    std::fs::write(dir.path().join("scan.json"), "{\"findings\": []}").unwrap();
    let out = strata(
        &["report", "demo", "--previous", "scan.json"],
        Some(dir.path()),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a strata report"));
}

#[test]
fn report_thresholds_come_from_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let proj = dir.path().join("demo");
    copy_dir(Path::new("fixtures/demo"), &proj);
    std::fs::write(
        proj.join("strata.toml"),
        "[report]\nblock-severity = \"high\"\ncondition-level = 3\n",
    )
    .unwrap();
    let r = json_report(&["demo"], Some(dir.path()));
    let t = &r["disposition"]["thresholds"];
    assert_eq!(t["block_severity"], "high");
    assert_eq!(t["condition_level"], 3);
    assert!(r["disposition"]["reasons"][0]
        .as_str()
        .unwrap()
        .contains("at or above high severity"));
    let md = ok(&strata(&["report", "demo", "--no-cache"], Some(dir.path())));
    assert!(md.contains("Do not ship: any finding at or above high severity."));

    std::fs::write(proj.join("strata.toml"), "[report]\nblock-level = 9\n").unwrap();
    let out = strata(&["report", "demo"], Some(dir.path()));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("strata.toml:2:15: maturity level 9 out of range"),
        "{err}"
    );

    std::fs::write(proj.join("strata.toml"), "[report]\nship-on = \"never\"\n").unwrap();
    let out = strata(&["report", "demo"], Some(dir.path()));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("strata.toml:2:1:"), "{err}");
}

/// Every rule that counts what it examined keeps counting, passing and failing sites
/// alike, on its fixtures.
#[test]
fn counting_rules_count_on_their_fixtures() {
    let cases = [
        ("fixtures/python/error-handling", "http-timeouts"),
        ("fixtures/rust", "http-timeouts"),
        ("fixtures/python/security", "sql-parameterised"),
        ("fixtures/sql", "concurrent-indexes"),
        ("fixtures/python/web", "insert-conflicts"),
        ("fixtures/workflows", "actions-pinned"),
        ("fixtures/rust", "write-routes-auth"),
        ("fixtures/rust", "ownership-checks"),
    ];
    for (dir, id) in cases {
        let r = json_report(&[dir, "--include-tests", "--include-scripts"], None);
        let c = control(&r, id);
        let (examined, passed) = (
            c["examined"].as_u64().unwrap(),
            c["passed"].as_u64().unwrap(),
        );
        assert!(
            examined > passed && passed > 0,
            "{id} on {dir}: {examined} examined, {passed} passed"
        );
    }
}

/// Debian's `chromium` (or another Chromium/Chrome on PATH, or `STRATA_BROWSER`).
fn browser() -> Option<PathBuf> {
    if let Some(b) = std::env::var_os("STRATA_BROWSER") {
        return Some(PathBuf::from(b));
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
    .find(|p| p.is_file())
}

/// Runs headless Chromium on `page` with `args`, offline: every host name resolves to
/// nothing, so a report that needed a script, font or image from the network would show
/// it. Returns stdout and stderr.
fn headless(browser: &Path, profile: &Path, page: &Path, args: &[String]) -> (String, String) {
    let child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the browser starts");
    let (status, out, err) = process::wait_bounded(
        child,
        Duration::from_secs(120),
        "report in a headless browser",
    );
    assert!(status.success(), "the browser failed: {err}");
    (out, err)
}

/// The HTML report is one self-contained file that a real browser lays out, paints and
/// prints offline: every section is in the DOM it builds, the queue links to findings that
/// exist, the page asks for nothing from the network and logs no error, a screenshot is
/// painted (not blank), and printing gives a multi-page PDF. Skipped when no browser is
/// installed (`apt-get install chromium` on Debian; `.ci/run` installs it where it can).
#[test]
fn html_report_renders_in_a_headless_browser() {
    let Some(browser) = browser() else {
        eprintln!("skipped: no Chromium on PATH (set STRATA_BROWSER to one)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    ok(&strata(
        &[
            "report",
            "fixtures/demo",
            "--no-cache",
            "--format",
            "html",
            "-o",
            page.to_str().unwrap(),
        ],
        None,
    ));
    let profile = dir.path().join("profile");

    let (dom, log) = headless(&browser, &profile, &page, &["--dump-dom".to_string()]);
    for id in [
        "disposition",
        "scorecard",
        "controls",
        "routes",
        "queue",
        "findings",
    ] {
        assert!(
            dom.contains(&format!("<h2 id=\"{id}\"")),
            "section {id} missing from the DOM"
        );
    }
    assert_eq!(dom.matches("<svg").count(), 2, "both charts are in the DOM");
    // Every link from the queue lands on a finding the page has.
    let links: Vec<&str> = dom
        .split("href=\"#")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .collect();
    assert!(!links.is_empty(), "the queue links to its findings");
    for l in &links {
        assert!(
            dom.contains(&format!("id=\"{l}\"")),
            "link #{l} has no target"
        );
    }
    for bad in [
        "Failed to load resource",
        "Uncaught",
        "ERR_NAME_NOT_RESOLVED",
    ] {
        assert!(!log.contains(bad), "the browser logged `{bad}`: {log}");
    }

    let png = dir.path().join("report.png");
    headless(
        &browser,
        &profile,
        &page,
        &[
            "--window-size=1280,2400".to_string(),
            format!("--screenshot={}", png.display()),
        ],
    );
    let bytes = std::fs::read(&png).expect("a screenshot");
    assert_eq!(&bytes[1..4], b"PNG");
    let (w, h) = (
        u32::from_be_bytes(bytes[16..20].try_into().unwrap()),
        u32::from_be_bytes(bytes[20..24].try_into().unwrap()),
    );
    assert_eq!((w, h), (1280, 2400));
    // A blank 1280x2400 page compresses to a few kilobytes; the painted report to hundreds.
    assert!(
        bytes.len() > 50_000,
        "screenshot looks blank: {} bytes",
        bytes.len()
    );

    let pdf = dir.path().join("report.pdf");
    headless(
        &browser,
        &profile,
        &page,
        &[
            "--no-pdf-header-footer".to_string(),
            format!("--print-to-pdf={}", pdf.display()),
        ],
    );
    let pdf = std::fs::read(&pdf).expect("a PDF");
    assert!(pdf.starts_with(b"%PDF"));
    // Page objects: `/Type /Page` not followed by `s` (that is the page tree).
    let pages = [&b"/Type /Page"[..], &b"/Type/Page"[..]]
        .iter()
        .map(|key| {
            pdf.windows(key.len() + 1)
                .filter(|w| w.starts_with(key) && w[key.len()] != b's')
                .count()
        })
        .sum::<usize>();
    assert!(pages >= 5, "the printed report has {pages} pages");
}
