//! Running the strata binary from tests: waiting with a hang detector (the bound is a hang
//! detector, not a performance assertion) and reading the JSON of a scan.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a test scan may run before it counts as a hang.
pub const HANG: Duration = Duration::from_secs(180);

/// Waits for `child` (stdout and stderr piped), reading both pipes meanwhile; panics with
/// `what` if it is still running after `bound`. Returns the status, stdout and stderr.
pub fn wait_bounded(mut child: Child, bound: Duration, what: &str) -> (ExitStatus, String, String) {
    let out_pipe = child.stdout.take().expect("stdout piped");
    let err_pipe = child.stderr.take().expect("stderr piped");
    let out_t = std::thread::spawn(move || std::io::read_to_string(out_pipe).unwrap_or_default());
    let err_t = std::thread::spawn(move || std::io::read_to_string(err_pipe).unwrap_or_default());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("process status") {
            break s;
        }
        if start.elapsed() > bound {
            child.kill().ok();
            panic!("strata {what} hung (still running after {bound:?})");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    (status, out_t.join().unwrap(), err_t.join().unwrap())
}

/// Runs `strata ARGS` in `dir` (the test's own directory when `None`), feeding `stdin` when
/// given; panics on a hang or a panic of strata. Returns the exit code, stdout and stderr.
pub fn run(dir: Option<&Path>, args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let mut child = cmd
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("strata starts");
    if let Some(input) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let (status, stdout, stderr) = wait_bounded(child, HANG, &format!("{args:?}"));
    let code = status.code().expect("exit code");
    assert_ne!(code, 101, "strata panicked: {stderr}");
    (code, stdout, stderr)
}

/// The JSON document of `strata scan --format json --no-cache -q --fail-on never ARGS` run in
/// `dir`; panics unless strata exits 0 with a JSON document.
pub fn scan_json(dir: Option<&Path>, args: &[&str]) -> serde_json::Value {
    let mut all = vec![
        "scan",
        "--format",
        "json",
        "--no-cache",
        "-q",
        "--fail-on",
        "never",
    ];
    all.extend_from_slice(args);
    let (code, stdout, stderr) = run(dir, &all, None);
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(&stdout).expect("json output")
}
