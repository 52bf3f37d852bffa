//! Waiting for a strata process with a hang detector, shared by the tests that feed it
//! hostile input. The bound is a hang detector, not a performance assertion.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

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
