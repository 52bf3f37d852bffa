//! Confidence of the integrity findings whose near misses are still reported (bounded N+1
//! loops, check-then-insert races in start-up code): the fixture annotations see every
//! level, so the levels themselves are pinned here.

#[path = "support/confidence.rs"]
mod confidence;
use confidence::{confidences, level};

#[test]
fn bounded_per_row_reads_are_low() {
    let found = confidences(&["fixtures/python/integrity/bounded_loops"]);
    // A top-N ranking (grouped, ordered, limited); a `[:5]` slice; a job committing every
    // row.
    assert_eq!(level(&found, "DATA003", "stats.py", 18), "low");
    assert_eq!(level(&found, "DATA003", "stats.py", 25), "low");
    assert_eq!(level(&found, "DATA003", "stats.py", 34), "low");
    // Every row of the table; a page whose size the caller picks.
    assert_eq!(level(&found, "DATA003", "stats.py", 46), "medium");
    assert_eq!(level(&found, "DATA003", "stats.py", 57), "medium");
}

#[test]
fn check_then_insert_in_startup_code_is_low() {
    let found = confidences(&["fixtures/python/integrity/startup_seed"]);
    // Only the lifespan calls these two; a route handler calls the third as well.
    assert_eq!(level(&found, "DATA008", "users.py", 13), "low");
    assert_eq!(level(&found, "DATA008", "users.py", 21), "low");
    assert_eq!(level(&found, "DATA008", "users.py", 30), "medium");
}
