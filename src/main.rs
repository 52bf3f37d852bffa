use clap::Parser;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use strata::cli::format as report;
use strata::cli::{
    BaselineArgs, Cli, Command, ConfidenceArg, FailOn, Format, ListFormat, ScanArgs, SelectionArgs,
    SeverityArg,
};
use strata::rules::{Confidence, Layer, Registry, RuleError, RuleSet, Severity};
use strata::scan::baseline::Baseline;
use strata::scan::config::{self, Config};
use strata::scan::diff::ChangedLines;
use strata::scan::scope::{self, NotReported, Scope};
use strata::scan::walk::WalkOptions;
use strata::scan::{self, ScanError, ScanOptions, ScanResult};
use strata::scan::{filter, suppress};
use strata::source::lang::Lang;

const EXIT_CLEAN: u8 = 0;
const EXIT_FINDINGS: u8 = 1;
const EXIT_ERROR: u8 = 2;
/// More worker threads than this only costs memory and start-up time.
const MAX_JOBS: usize = 256;

// The scan allocates many small, short-lived objects from several threads (syntax trees,
// facts, strings): mimalloc serves them with less work than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// tree-sitter's `calloc`: mimalloc's `malloc`, zeroed (the `-sys` crate's `calloc` needs
/// an extra feature).
unsafe extern "C" fn ts_calloc(count: usize, size: usize) -> *mut std::ffi::c_void {
    let Some(bytes) = count.checked_mul(size) else {
        return std::ptr::null_mut();
    };
    // SAFETY: a fresh block of `bytes` bytes (or null), zeroed before use.
    unsafe {
        let p = libmimalloc_sys::mi_malloc(bytes);
        if !p.is_null() {
            std::ptr::write_bytes(p.cast::<u8>(), 0, bytes);
        }
        p
    }
}

// mimalloc's option table (`mi_option_purge_delay` is option 15 in its v2 and v3 headers).
extern "C" {
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

fn main() -> ExitCode {
    // A scan frees and allocates again all along (one syntax tree per file): returning freed
    // pages to the OS after mimalloc's default 10 ms only makes the next file fault them
    // back in, zeroed (a tenth of a cold scan's time went to page faults). Keep them; the
    // `MIMALLOC_PURGE_DELAY` environment variable still decides when it is set.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a process-wide allocator option; mimalloc reads it when it purges.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
    // Syntax trees are tree-sitter's allocations: the same allocator for them. Set before
    // any parser, tree or query exists, so nothing allocated by one is freed by the other.
    // SAFETY: called once, first thing, on the main thread.
    unsafe {
        tree_sitter::set_allocator(Some(tree_sitter::Allocator {
            malloc: libmimalloc_sys::mi_malloc,
            calloc: ts_calloc,
            realloc: libmimalloc_sys::mi_realloc,
            free: libmimalloc_sys::mi_free,
        }));
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => run_scan(args),
        Command::Baseline(args) => run_baseline(args),
        Command::Init { path } => run_init(&path),
        Command::Routes(args) => run_routes(args),
        Command::Report(args) => run_report(args),
        Command::Rules(args) => load_rules_with_config(&args.rules_dirs).and_then(|reg| {
            let layer = match args.layer.as_deref() {
                Some(l) => Some(Layer::from_id(l).ok_or_else(|| {
                    format!(
                        "unknown layer `{l}` (expected one of {})",
                        Layer::ALL.map(|l| l.id()).join(", ")
                    )
                })?),
                None => None,
            };
            let out = report::rules::list(&reg, layer, args.format == ListFormat::Json);
            print_out(&out).map(|_| EXIT_CLEAN)
        }),
        Command::Explain { id, rules_dirs } => {
            load_rules_with_config(&rules_dirs).and_then(|reg| {
                let rule = reg
                    .get(&id)
                    .ok_or_else(|| format!("unknown rule id `{id}` (see `strata rules`)"))?;
                print_out(&report::rules::explain(
                    rule,
                    std::io::stdout().is_terminal(),
                ))
                .map(|_| EXIT_CLEAN)
            })
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(msg) => {
            eprintln!("strata: error: {msg}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run_routes(args: strata::cli::RoutesArgs) -> Result<u8, String> {
    let opts = WalkOptions {
        excludes: args.exclude,
        no_ignore: args.no_ignore,
        ..WalkOptions::default()
    };
    let rows = strata::scan::inventory::collect(&args.paths, &opts, scan::DEFAULT_MAX_FILE_SIZE)?;
    let out = match args.format {
        strata::cli::RoutesFormat::Human => report::routes::render_human(&rows),
        strata::cli::RoutesFormat::Json => report::routes::render_json(&rows),
        strata::cli::RoutesFormat::Markdown => report::routes::render_markdown(&rows),
    };
    print_out(&out).map(|_| EXIT_CLEAN)
}

fn print_out(s: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        // A closed pipe (`strata rules | head`) is not an error worth reporting.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| format!("cannot write output: {e}")),
    }
}

fn load_rules(dirs: &[PathBuf]) -> Result<Registry, String> {
    let mut reg = Registry::builtin().map_err(rule_error)?;
    // The same directory named twice (`--rules x` and `rules = ["x"]`) is loaded once.
    let mut seen = std::collections::HashSet::new();
    for d in dirs {
        if seen.insert(d.canonicalize().unwrap_or_else(|_| d.clone())) {
            reg.load_dir(d).map_err(rule_error)?;
        }
    }
    Ok(reg)
}

/// For `rules` and `explain`: the builtin rules, the configuration's rule directories
/// (found from the working directory) and `--rules`.
fn load_rules_with_config(extra: &[PathBuf]) -> Result<Registry, String> {
    let config = Config::discover(Path::new("."), None).map_err(config_error)?;
    let mut dirs: Vec<PathBuf> = config
        .rule_dirs()
        .into_iter()
        .filter(|d| d.is_dir())
        .collect();
    dirs.extend(extra.iter().cloned());
    load_rules(&dirs)
}

fn rule_error(err: Box<RuleError>) -> String {
    let has_span = err.span.is_some();
    with_frame(err.one_line(), err.as_ref(), has_span)
}

fn config_error(err: Box<config::ConfigError>) -> String {
    let has_span = err.span.is_some();
    with_frame(err.one_line(), err.as_ref(), has_span)
}

/// One line with file:line:col, then the code frame when there is one.
fn with_frame(line: String, diag: &dyn miette::Diagnostic, has_span: bool) -> String {
    if has_span {
        let mut frame = String::new();
        let handler =
            miette::GraphicalReportHandler::new_themed(if std::io::stderr().is_terminal() {
                miette::GraphicalTheme::unicode()
            } else {
                miette::GraphicalTheme::unicode_nocolor()
            });
        if handler.render_report(&mut frame, diag).is_ok() {
            return format!("{line}\n{frame}");
        }
    }
    line
}

fn severity(s: SeverityArg) -> Severity {
    match s {
        SeverityArg::Low => Severity::Low,
        SeverityArg::Medium => Severity::Medium,
        SeverityArg::High => Severity::High,
        SeverityArg::Critical => Severity::Critical,
    }
}

/// The configuration and the rules with it applied (extra rule directories, severity
/// overrides), checked against each other.
fn prepare(sel: &SelectionArgs, start: &Path) -> Result<(Config, Registry), String> {
    let config = if sel.no_config {
        Config::none()
    } else {
        Config::discover(start, sel.config.as_deref()).map_err(config_error)?
    };
    let mut dirs = Vec::new();
    for dir in config.rule_dirs() {
        // A missing directory is reported with its position by `validate` below.
        if dir.is_dir() {
            dirs.push(dir);
        }
    }
    dirs.extend(sel.rules_dirs.iter().cloned());
    let mut registry = load_rules(&dirs)?;
    config.validate(&registry).map_err(config_error)?;
    for (id, sev) in config.severity_overrides() {
        if let Some(rule) = registry
            .rules
            .iter_mut()
            .find(|r| r.id.eq_ignore_ascii_case(&id))
        {
            rule.severity = sev;
        }
    }
    Ok((config, registry))
}

fn selected_rules<'r>(
    sel: &SelectionArgs,
    config: &Config,
    registry: &'r Registry,
) -> Result<RuleSet<'r>, String> {
    let select = if sel.select.is_empty() {
        config.select()
    } else {
        sel.select.clone()
    };
    let mut ignore = config.ignore();
    ignore.extend(sel.ignore.iter().cloned());
    let rules = filter::select_rules_in(registry, &select, &ignore, &config.layers())?;
    let mut set = RuleSet::new(rules)?;
    set.taint = config.file.taint.clone();
    let scope = scope_of(sel, config);
    set.include_tests = scope.include_tests;
    set.include_scripts = scope.include_scripts;
    set.kind_roots = strata::scan::walk::root_prefixes(&sel.paths);
    if sel.no_index {
        set.index.clear();
        set.rust_index = false;
    }
    Ok(set)
}

/// Where configuration discovery and `--diff` start: the stdin name's place, or the first
/// path.
fn start_path(sel: &SelectionArgs, stdin_name: Option<&str>) -> PathBuf {
    match stdin_name {
        Some(n) => PathBuf::from(n),
        None => sel
            .paths
            .first()
            .cloned()
            .unwrap_or_else(|| PathBuf::from(".")),
    }
}

/// Walks and analyses (or reads stdin), before any filtering.
fn collect(
    sel: &SelectionArgs,
    config: &Config,
    set: &RuleSet<'_>,
    stdin_name: Option<&str>,
) -> Result<ScanResult, String> {
    if let Some(jobs) = sel.jobs {
        if jobs > MAX_JOBS {
            return Err(format!(
                "--jobs {jobs}: at most {MAX_JOBS} worker threads (one per core is the default)"
            ));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build_global()
            .map_err(|e| format!("cannot start {jobs} worker threads: {e}"))?;
    }
    let excludes = sel.exclude.clone();
    let config_exclude = config.exclude_matcher();
    let cwd = std::env::current_dir()
        .map(|c| c.canonicalize().unwrap_or(c))
        .map_err(|e| format!("cannot read the working directory: {e}"))?;
    let config_excludes = |p: &Path| {
        config_exclude
            .as_ref()
            .is_some_and(|x| x.is_excluded(p, &cwd))
    };
    let max_file_size = sel
        .max_file_size
        .or(config.file.max_file_size)
        .unwrap_or(scan::DEFAULT_MAX_FILE_SIZE);
    if let Some(name) = stdin_name {
        let lang = Lang::from_path(Path::new(name)).ok_or_else(|| {
            format!(
                "--stdin-filename {name}: cannot tell the language from the name \
                 (expected .py, .pyi, .rs, .sql, .github/workflows/*.yml, .env or a dependency \
                 manifest such as requirements.txt)"
            )
        })?;
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        if excluded(name, &excludes)? || config_excludes(Path::new(name)) {
            bytes.clear();
        }
        if bytes.len() as u64 > max_file_size {
            let mut r = scan::run_text(name, lang, Vec::new(), set);
            r.errors.push(ScanError {
                path: name.to_string(),
                kind: "skipped".into(),
                line: None,
                message: format!(
                    "input is {} bytes, over the {max_file_size} byte limit (--max-file-size)",
                    bytes.len()
                ),
            });
            return Ok(r);
        }
        return Ok(scan::run_text(name, lang, bytes, set));
    }
    let opts = ScanOptions {
        paths: sel.paths.clone(),
        walk: WalkOptions {
            excludes,
            no_ignore: sel.no_ignore,
            include_vendored: sel.include_vendored || config.file.include_vendored,
        },
        max_file_size,
        cache_dir: (!sel.no_cache).then(|| std::path::PathBuf::from(".strata-cache")),
    };
    scan::run_with(&opts, set, |c| !config_excludes(&c.abs))
}

/// `--exclude` for a stdin name, with the walker's gitignore-like globs.
fn excluded(name: &str, globs: &[String]) -> Result<bool, String> {
    let mut b = ignore::overrides::OverrideBuilder::new(".");
    for g in globs {
        b.add(&format!("!{g}"))
            .map_err(|e| format!("invalid --exclude glob `{g}`: {e}"))?;
    }
    let o = b
        .build()
        .map_err(|e| format!("invalid --exclude glob: {e}"))?;
    Ok(o.matched(name, false).is_ignore())
}

/// Per-file ignores and inline suppressions. Returns how many suppression problems were
/// found that `--report-unused-suppressions` fails on; they are added to `errors`.
fn apply_suppressions(
    result: &mut ScanResult,
    config: &Config,
    registry: &Registry,
    set: &RuleSet<'_>,
    report_unused: bool,
) -> usize {
    filter::per_file_ignores(
        &mut result.findings,
        &config.per_file_ignores(),
        &config.dir,
        &config.source_name(),
    );
    let applied = suppress::apply(
        &mut result.findings,
        &result.directives,
        |id| registry.get(id).is_some(),
        |id| set.rules.iter().any(|r| r.id.eq_ignore_ascii_case(id)),
    );
    let mut counted = 0;
    for p in applied.problems {
        if p.unused && !report_unused {
            continue;
        }
        counted += 1;
        result.errors.push(ScanError {
            path: p.path,
            kind: "suppression".into(),
            line: Some(p.line),
            message: p.message,
        });
    }
    result.errors.sort();
    counted
}

/// What the report includes besides production code (`scan::scope`): flags first, then the
/// configuration.
fn scope_of(sel: &SelectionArgs, config: &Config) -> Scope {
    let c = &config.file;
    Scope {
        include_tests: sel.include_tests || c.include_tests,
        include_scripts: sel.include_scripts || c.include_scripts,
        all_migrations: sel.all_migrations || c.all_migrations,
        min_confidence: sel
            .min_confidence
            .map(|c| match c {
                ConfidenceArg::Low => Confidence::Low,
                ConfidenceArg::Medium => Confidence::Medium,
                ConfidenceArg::High => Confidence::High,
            })
            .or(c.min_confidence)
            .unwrap_or(Confidence::Medium),
    }
}

fn apply_scope(
    result: &mut ScanResult,
    set: &RuleSet<'_>,
    scope: &Scope,
) -> Result<NotReported, String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    Ok(scope::apply(&mut result.findings, set, scope, &cwd))
}

fn run_scan(mut args: ScanArgs) -> Result<u8, String> {
    // `--context DIR`: the tree scanned is DIR, the paths given are what is reported.
    let only = match args.context.take() {
        Some(dir) => {
            let only = ChangedLines::whole_files(&args.selection.paths)?;
            args.selection.paths = vec![dir];
            Some(only)
        }
        None => None,
    };
    let sel = &args.selection;
    let stdin_name = args.stdin_filename.as_deref();
    let start = start_path(sel, stdin_name);
    let (config, registry) = prepare(sel, &start)?;
    let set = selected_rules(sel, &config, &registry)?;
    // Resolve git and the baseline before the scan: a typo there should not cost a scan.
    let changed = match &args.diff {
        Some(rev) => Some(ChangedLines::since(rev, &start)?),
        None => None,
    };
    let baseline = match &args.baseline {
        Some(path) => Some(Baseline::read(path)?),
        None => None,
    };

    let mut result = collect(sel, &config, &set, stdin_name)?;
    let problems = apply_suppressions(
        &mut result,
        &config,
        &registry,
        &set,
        args.report_unused_suppressions,
    );
    let scope = scope_of(sel, &config);
    let mut not_reported = apply_scope(&mut result, &set, &scope)?;
    not_reported.test_files = result.summary.not_reported.test_files;
    not_reported.script_files = result.summary.not_reported.script_files;
    not_reported.vendored_files = result.summary.not_reported.vendored_files;
    not_reported
        .vendored_dirs
        .clone_from(&result.summary.not_reported.vendored_dirs);
    let suppressed = result
        .findings
        .iter()
        .filter(|f| f.suppressed.is_some())
        .count();
    if !args.show_suppressed {
        result.findings.retain(|f| f.suppressed.is_none());
    }
    let in_baseline = baseline.as_ref().map(|b| b.filter(&mut result.findings));
    let outside_diff = changed.as_ref().map(|c| {
        let before = result.findings.len();
        result
            .findings
            .retain(|f| c.touches(&f.path, f.line, f.end_line.max(f.line)));
        before - result.findings.len()
    });
    if let Some(only) = &only {
        result
            .findings
            .retain(|f| only.touches(&f.path, f.line, f.line));
    }
    let min = args.min_severity.map(severity).or(config.file.min_severity);
    filter::min_severity(&mut result.findings, min);

    let reported: Vec<_> = result
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .cloned()
        .collect();
    let duration = result.summary.duration_ms;
    let (call_graph, rust_call_graph) = (result.summary.call_graph, result.summary.rust_call_graph);
    result.summary = scan::summarise(
        &reported,
        result.summary.files_scanned,
        result.summary.files_skipped,
        result.summary.files_by_language.clone(),
        set.rules.len(),
    );
    result.summary.suppressed = suppressed;
    result.summary.not_reported = not_reported;
    result.summary.in_baseline = in_baseline;
    result.summary.outside_diff = outside_diff;
    result.summary.call_graph = call_graph;
    result.summary.rust_call_graph = rust_call_graph;
    result.summary.duration_ms = if args.no_timing { None } else { duration };

    let opts = report::RenderOptions {
        color: args.output.is_none()
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none(),
        link_base: args.link_base.clone(),
    };
    let rendered = report::render(args.format, &result, &set, &opts);
    match &args.output {
        Some(path) => std::fs::write(path, rendered)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => print_out(&rendered)?,
    }
    if !args.quiet && args.format != Format::Human && std::io::stderr().is_terminal() {
        eprintln!("{}", report::human::summary_line(&result));
    }
    let threshold = match args.fail_on.or(config.file.fail_on).unwrap_or(FailOn::Low) {
        FailOn::Never => None,
        FailOn::Low => Some(Severity::Low),
        FailOn::Medium => Some(Severity::Medium),
        FailOn::High => Some(Severity::High),
        FailOn::Critical => Some(Severity::Critical),
    };
    let failing = threshold.is_some_and(|t| {
        reported.iter().any(|f| f.severity >= t)
            || (args.report_unused_suppressions && problems > 0)
    });
    Ok(if failing { EXIT_FINDINGS } else { EXIT_CLEAN })
}

fn run_report(args: strata::cli::ReportArgs) -> Result<u8, String> {
    use strata::scan::report;
    let sel = &args.selection;
    let start = start_path(sel, None);
    let (config, registry) = prepare(sel, &start)?;
    let set = selected_rules(sel, &config, &registry)?;
    // Read the previous report before the scan: a wrong path should not cost a scan.
    let previous = match &args.previous {
        Some(p) => Some(report::read_previous(p)?),
        None => None,
    };
    let mut result = collect(sel, &config, &set, None)?;
    apply_suppressions(&mut result, &config, &registry, &set, false);
    let scope = scope_of(sel, &config);
    let not_reported = apply_scope(&mut result, &set, &scope)?;
    let suppressed = result
        .findings
        .iter()
        .filter(|f| f.suppressed.is_some())
        .count();
    result.findings.retain(|f| f.suppressed.is_none());

    let mut exclusions = Vec::new();
    let globs: Vec<String> = config
        .file
        .exclude
        .iter()
        .map(|g| g.get_ref().clone())
        .chain(sel.exclude.iter().cloned())
        .collect();
    if !globs.is_empty() {
        exclusions.push(format!("paths matching {}", globs.join(", ")));
    }
    if !sel.no_ignore {
        exclusions.push("files ignored by .gitignore".to_string());
    }
    let s = &result.summary.not_reported;
    let counted = [
        (s.test_files, "test files (only secrets rules ran there)"),
        (
            s.script_files,
            "script, example and docs files (only secrets rules ran there)",
        ),
        (not_reported.test_code, "findings in test code"),
        (not_reported.scripts, "findings in scripts"),
        (
            not_reported.historical_migrations,
            "findings in migrations that already ran",
        ),
        (
            not_reported.rollback_migrations,
            "findings in rollback migrations",
        ),
        (not_reported.low_confidence, "low-confidence findings"),
        (suppressed, "suppressed findings"),
        (
            result.summary.files_skipped,
            "files skipped (binary, too large or unreadable)",
        ),
    ];
    for (n, what) in counted {
        if n > 0 {
            exclusions.push(format!("{n} {what}"));
        }
    }
    let model = report::build(
        &result,
        &set,
        report::Inputs {
            paths: &sel.paths,
            thresholds: report::Thresholds::from_config(&config.file.report),
            project: config.file.report.project.clone(),
            exclusions,
            include_tests: scope.include_tests,
            include_scripts: scope.include_scripts,
            previous,
        },
    );
    let rendered = match args.format {
        strata::cli::ReportFormat::Markdown => strata::cli::format::report::render_markdown(&model),
        strata::cli::ReportFormat::Html => strata::cli::format::report::render_html(&model),
        strata::cli::ReportFormat::Json => strata::cli::format::report::render_json(&model),
    };
    match &args.output {
        Some(path) => std::fs::write(path, rendered)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => print_out(&rendered)?,
    }
    Ok(EXIT_CLEAN)
}

fn run_baseline(args: BaselineArgs) -> Result<u8, String> {
    let sel = &args.selection;
    let start = start_path(sel, None);
    let (config, registry) = prepare(sel, &start)?;
    let set = selected_rules(sel, &config, &registry)?;
    let mut result = collect(sel, &config, &set, None)?;
    apply_suppressions(&mut result, &config, &registry, &set, false);
    apply_scope(&mut result, &set, &scope_of(sel, &config))?;
    for e in result.errors.iter().filter(|e| e.kind == "suppression") {
        eprintln!(
            "strata: warning: {}:{}: {}",
            e.path,
            e.line.unwrap_or(0),
            e.message
        );
    }
    result.findings.retain(|f| f.suppressed.is_none());
    let baseline = Baseline::from_findings(&result.findings);
    std::fs::write(&args.output, baseline.to_json())
        .map_err(|e| format!("cannot write {}: {e}", args.output.display()))?;
    eprintln!(
        "strata: recorded {} finding{} in {}",
        result.findings.len(),
        if result.findings.len() == 1 { "" } else { "s" },
        args.output.display()
    );
    Ok(EXIT_CLEAN)
}

fn run_init(path: &Path) -> Result<u8, String> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                format!("{} already exists; not overwriting it", path.display())
            } else {
                format!("cannot create {}: {e}", path.display())
            }
        })?;
    file.write_all(config::STARTER.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    eprintln!(
        "strata: wrote {} (every key commented out; see docs/ci.md)",
        path.display()
    );
    Ok(EXIT_CLEAN)
}
