//! ERR005 through helpers: an `async fn` calls, on the executor's thread (not in a closure
//! handed to `spawn_blocking`/`block_in_place`), a synchronous function of the crate that
//! blocks the thread (file system, `std::thread::sleep`, `std::net`, a synchronous database
//! client, `reqwest::blocking`, password hashing), in the same module or another, directly
//! or further down. The finding is the call in the `async fn`; its trace walks the chain
//! down to the blocking call. Blocking calls made in the `async fn` itself stay with the
//! per-file rule.

use crate::checks::{ChainHit, Confidence};
use crate::model::pyindex::ProjectIndex;
use std::collections::HashSet;

/// ERR005 across functions and files.
pub fn blocking_via_helpers(ix: &ProjectIndex<'_>, out: &mut Vec<ChainHit>) {
    let rx = &ix.rust;
    for g in 0..rx.fns.len() {
        let f = rx.function(g);
        // `#[tokio::main] async fn main` blocks once at start-up, before anything is served.
        if !f.is_async || f.in_test || f.name == "main" {
            continue;
        }
        let mut seen = HashSet::new();
        for (c, t) in rx.targets[g].iter().enumerate() {
            let Some(h) = *t else { continue };
            if h == g || rx.function(h).is_async || rx.blocks[h].is_none() || !seen.insert(h) {
                continue;
            }
            let chain = rx.chain(g, c);
            let leaf = chain
                .last()
                .and_then(|s| s.label.split('`').nth(1))
                .unwrap_or("")
                .to_string();
            let mut names: Vec<String> = vec![format!("{}(..)", rx.display_name(h))];
            let mut at = h;
            while let Some(crate::model::rsindex::Why::Via(_, next)) = rx.blocks[at] {
                if names.len() > 8 {
                    break;
                }
                names.push(rx.display_name(next));
                at = next;
            }
            names.push(leaf.clone());
            // File access through a helper is usually a small local read (a version file,
            // a key at start-up): shown on request, as for Python (ERR013).
            let confidence = if rx.client(g) || rx.startup[g] || leaf.starts_with("std::fs::") {
                Some(Confidence::Low)
            } else if rx.on_request[g] {
                None
            } else {
                Some(Confidence::Medium)
            };
            let site = &f.calls[c];
            out.push(ChainHit {
                path: rx.path_of(g).to_string(),
                start: site.start,
                end: site.end,
                vars: vec![("callee", names.join("` → `"))],
                confidence,
                trace: chain
                    .into_iter()
                    .map(|s| (s.path, s.start, s.end, s.label))
                    .collect(),
            });
        }
    }
}
