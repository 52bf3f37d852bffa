//! ERR004 and ERR013 through helpers: a coroutine calls, on the event loop (not through
//! `asyncio.to_thread`, an executor or a `Depends`), a synchronous function of the project
//! that blocks the thread, in the same file or another, directly or further down. The
//! finding is the call in the coroutine; its trace walks the chain down to the blocking
//! call. Blocking calls made in the coroutine itself stay with the per-file rules.

use crate::checks::error_handling::private_loop::PrivateLoops;
use crate::checks::{ChainHit, Confidence};
use crate::model::pyindex::{BlockKind, CallKind, ProjectIndex, Step, Target};

/// ERR004: the chain ends in a blocking network, process or sleep call.
pub fn blocking_call_via_helpers(ix: &ProjectIndex<'_>, out: &mut Vec<ChainHit>) {
    let loops = PrivateLoops::new(ix);
    for g in coroutines(ix) {
        let found = reaching(ix, g, BlockKind::Call);
        let Some(&(call, callee)) = found.first() else {
            continue;
        };
        let chain = ix.chain(g, call, callee, BlockKind::Call as usize);
        // `fetch(...)` → `_get` → `requests.get`: rendered inside the rule's backticks.
        let leaf = chain
            .last()
            .map(|s| s.label.split('`').nth(1).unwrap_or("").to_string())
            .unwrap_or_default();
        let mut names: Vec<String> = chain
            .iter()
            .skip(1)
            .map(|s| ix.display_name(s.func))
            .collect();
        if let Some(first) = names.first_mut() {
            first.push_str("(...)");
        }
        names.push(leaf);
        let callee = names.join("` → `");
        out.push(hit(
            ix,
            g,
            &chain,
            confidence(ix, &loops, g, Confidence::Medium),
            vec![("callee", callee)],
        ));
    }
}

/// ERR013: the chain ends in a synchronous datastore client or file call. Coroutines
/// that make such a call themselves are left to the per-file rule (one finding each).
pub fn sync_client_via_helpers(ix: &ProjectIndex<'_>, out: &mut Vec<ChainHit>) {
    let loops = PrivateLoops::new(ix);
    for g in coroutines(ix) {
        if !ix.function(g).blocks.is_empty() {
            continue;
        }
        let (kind, found) = match reaching(ix, g, BlockKind::Store) {
            f if !f.is_empty() => (BlockKind::Store, f),
            _ => (BlockKind::File, reaching(ix, g, BlockKind::File)),
        };
        let Some(&(call, callee)) = found.first() else {
            continue;
        };
        // The same call also reaches a network or sleep call: ERR004 reports it.
        if ix.blocks[callee][BlockKind::Call as usize].is_some() {
            continue;
        }
        let chain = ix.chain(g, call, callee, kind as usize);
        let leaf = chain.last().map(|s| s.label.clone()).unwrap_or_default();
        let what = leaf.split('`').nth(1).unwrap_or("").to_string();
        let how = leaf.rsplit('`').next().unwrap_or("").trim().to_string();
        // File access through a helper is usually a small local read; shown on request.
        let confidence = if kind == BlockKind::File {
            Confidence::Low
        } else {
            confidence(ix, &loops, g, Confidence::Medium)
        };
        out.push(hit(
            ix,
            g,
            &chain,
            confidence,
            vec![
                ("call", format!("{}(...)", ix.display_name(callee))),
                (
                    "kind",
                    format!("{how} (`{what}`, through `{}`)", path_of(ix, &chain)),
                ),
                ("function", ix.function(g).name.clone()),
                ("more", more(found.len())),
            ],
        ));
    }
}

/// Start-up, shutdown and entry-point coroutines block nothing that is being served, and
/// neither do the coroutines of a command-line program (a `cli/` package, or a module that
/// parses its own arguments and imports no web framework): its loop serves the one user
/// who started it. Nor do coroutines that run only on private loops (`asyncio.run(..)`,
/// `run_until_complete(..)` of a batch job, a command or a notify thread, see
/// `private_loop`): nothing else waits on that loop. Low.
fn confidence(
    ix: &ProjectIndex<'_>,
    loops: &PrivateLoops<'_, '_>,
    g: usize,
    usual: Confidence,
) -> Confidence {
    if ix.function(g).startup || command_line(ix, g) || loops.only(g) {
        Confidence::Low
    } else {
        usual
    }
}

fn command_line(ix: &ProjectIndex<'_>, g: usize) -> bool {
    let file = ix.file_of(g);
    let mut dirs = file.path.split('/').rev().skip(1);
    if dirs.any(|d| d == "cli") {
        return true;
    }
    crate::checks::py::imports_command_line(file.part.imports.iter().map(|(_, q)| q.as_str()))
}

fn coroutines<'i>(ix: &'i ProjectIndex<'_>) -> impl Iterator<Item = usize> + 'i {
    (0..ix.fns.len()).filter(|&g| ix.function(g).is_async)
}

/// The calls of coroutine `g` made on the loop to a synchronous project function that
/// blocks in this way: (call index, callee), in source order.
fn reaching(ix: &ProjectIndex<'_>, g: usize, kind: BlockKind) -> Vec<(usize, usize)> {
    let f = ix.function(g);
    f.calls
        .iter()
        .zip(&ix.targets[g])
        .enumerate()
        .filter_map(|(i, (c, t))| match t {
            Target::Project(w)
                if c.kind == CallKind::Direct
                    && !c.awaited
                    && !ix.function(*w).is_async
                    && ix.blocks[*w][kind as usize].is_some() =>
            {
                Some((i, *w))
            }
            _ => None,
        })
        .collect()
}

/// `helper → Store.load`: the functions along the chain.
fn path_of(ix: &ProjectIndex<'_>, chain: &[Step]) -> String {
    chain
        .iter()
        .skip(1)
        .map(|s| ix.display_name(s.func))
        .collect::<Vec<_>>()
        .join(" → ")
}

fn more(found: usize) -> String {
    match found {
        0 | 1 => String::new(),
        2 => "; and 1 more such call in this function".to_string(),
        k => format!("; and {} more such calls in this function", k - 1),
    }
}

fn hit(
    ix: &ProjectIndex<'_>,
    g: usize,
    chain: &[Step],
    confidence: Confidence,
    vars: Vec<(&'static str, String)>,
) -> ChainHit {
    let first = &chain[0];
    ChainHit::at(
        ix,
        g,
        (first.start, first.end),
        chain,
        vars,
        Some(confidence),
    )
}
