use clap::Parser;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use strata::cli::{Cli, Command, FailOn, ListFormat, ScanArgs, SeverityArg};
use strata::rules::{Layer, Registry, RuleError, RuleSet, Severity};
use strata::scan::{self, ScanOptions};
use strata::walk::WalkOptions;
use strata::{filter, report};

const EXIT_CLEAN: u8 = 0;
const EXIT_FINDINGS: u8 = 1;
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Scan(args) => run_scan(args),
        Command::Rules(args) => load_rules(&args.rules_dirs).and_then(|reg| {
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
        Command::Explain { id, rules_dirs } => load_rules(&rules_dirs).and_then(|reg| {
            let rule = reg
                .get(&id)
                .ok_or_else(|| format!("unknown rule id `{id}` (see `strata rules`)"))?;
            print_out(&report::rules::explain(
                rule,
                std::io::stdout().is_terminal(),
            ))
            .map(|_| EXIT_CLEAN)
        }),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(msg) => {
            eprintln!("strata: error: {msg}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn print_out(s: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        // A closed pipe (`strata rules | head`) is not an error worth reporting.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| format!("cannot write output: {e}")),
    }
}

fn load_rules(dirs: &[std::path::PathBuf]) -> Result<Registry, String> {
    let mut reg = Registry::builtin().map_err(rule_error)?;
    for d in dirs {
        reg.load_dir(d).map_err(rule_error)?;
    }
    Ok(reg)
}

/// One line with file:line:col, then the code frame when there is one.
fn rule_error(err: Box<RuleError>) -> String {
    let line = err.one_line();
    if err.span.is_some() {
        let mut frame = String::new();
        let handler =
            miette::GraphicalReportHandler::new_themed(if std::io::stderr().is_terminal() {
                miette::GraphicalTheme::unicode()
            } else {
                miette::GraphicalTheme::unicode_nocolor()
            });
        if handler.render_report(&mut frame, err.as_ref()).is_ok() {
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

fn run_scan(args: ScanArgs) -> Result<u8, String> {
    let registry = load_rules(&args.rules_dirs)?;
    let selected = filter::select_rules(&registry, &args.select, &args.ignore)?;
    let set = RuleSet::new(selected)?;
    if let Some(jobs) = args.jobs {
        rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build_global()
            .map_err(|e| format!("cannot start {jobs} worker threads: {e}"))?;
    }
    let opts = ScanOptions {
        paths: args.paths.clone(),
        walk: WalkOptions {
            excludes: args.exclude.clone(),
            no_ignore: args.no_ignore,
        },
        max_file_size: args.max_file_size,
    };
    let mut result = scan::run(&opts, &set)?;
    filter::min_severity(&mut result.findings, args.min_severity.map(severity));
    let duration = result.summary.duration_ms;
    result.summary = scan::summarise(
        &result.findings,
        result.summary.files_scanned,
        result.summary.files_skipped,
        result.summary.files_by_language.clone(),
        set.rules.len(),
    );
    result.summary.duration_ms = if args.no_timing { None } else { duration };

    let color = args.output.is_none()
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none();
    let rendered = report::render(args.format, &result, &set, color);
    match &args.output {
        Some(path) => std::fs::write(path, rendered)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
        None => print_out(&rendered)?,
    }
    if !args.quiet && args.format != strata::cli::Format::Human && std::io::stderr().is_terminal() {
        eprintln!("{}", report::human::summary_line(&result));
    }
    let threshold = match args.fail_on {
        FailOn::Never => None,
        FailOn::Low => Some(Severity::Low),
        FailOn::Medium => Some(Severity::Medium),
        FailOn::High => Some(Severity::High),
        FailOn::Critical => Some(Severity::Critical),
    };
    let failing = threshold.is_some_and(|t| result.findings.iter().any(|f| f.severity >= t));
    Ok(if failing { EXIT_FINDINGS } else { EXIT_CLEAN })
}
