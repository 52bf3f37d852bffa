//! Coroutines that run only on a private event loop: every path of callers up from the
//! coroutine ends in a synchronous function that drives it with `asyncio.run(..)` or
//! `loop.run_until_complete(..)` (a command, a batch step, a daemon's notify thread), in
//! modules that import no web or server framework, and none passes a route handler, a
//! framework dependency or a hand-off to another loop (`run_coroutine_threadsafe`, a task
//! scheduled from synchronous code). Nothing else shares that loop, so a call that blocks it
//! delays only the job itself. Overriding methods count as called by the callers of the
//! base method they override (a base class's `self.forward()`).
//!
//! A coroutine no project code calls (a module's public sender, dead code) borrows the
//! verdict of its module: private when the module's coroutines that are called all run on
//! private loops, at least one does, and the module imports no server framework.

use crate::model::pyindex::{CallKind, ProjectIndex, Target};
use std::cell::OnceCell;
use std::collections::HashMap;

/// Packages whose presence says the loop serves others: web frameworks, ASGI servers,
/// websocket, RPC and chat-bot frameworks whose handlers the framework calls.
const SERVERS: &[&str] = &[
    "uvicorn",
    "hypercorn",
    "websockets",
    "grpc",
    "socketio",
    "discord",
    "telegram",
    "aiogram",
    "slack_bolt",
    "nats",
    "aio_pika",
    "aiokafka",
];

/// How far up the callers are followed before giving up (as shared).
const MAX_SEEN: usize = 96;

/// Where a path of callers ends.
enum Root {
    /// A synchronous caller runs it under `asyncio.run` / `run_until_complete`.
    Private,
    /// A coroutine no project code calls.
    Uncalled(usize),
}

pub struct PrivateLoops<'i, 'a> {
    ix: &'i ProjectIndex<'a>,
    /// Callers of each function: (caller, index of the call in the caller).
    rev: OnceCell<Vec<Vec<(usize, usize)>>>,
    /// Per file: its called coroutines all run on private loops, at least one does.
    files: std::cell::RefCell<HashMap<usize, bool>>,
}

impl<'i, 'a> PrivateLoops<'i, 'a> {
    pub fn new(ix: &'i ProjectIndex<'a>) -> Self {
        PrivateLoops {
            ix,
            rev: OnceCell::new(),
            files: std::cell::RefCell::new(HashMap::new()),
        }
    }

    fn rev(&self) -> &Vec<Vec<(usize, usize)>> {
        self.rev.get_or_init(|| {
            let mut rev = vec![Vec::new(); self.ix.fns.len()];
            for (y, ts) in self.ix.targets.iter().enumerate() {
                for (i, t) in ts.iter().enumerate() {
                    if let Target::Project(x) = t {
                        rev[*x].push((y, i));
                    }
                }
            }
            rev
        })
    }

    /// Whether coroutine `g` runs only on private event loops.
    pub fn only(&self, g: usize) -> bool {
        let Some(roots) = self.roots(g) else {
            return false;
        };
        !roots.is_empty()
            && roots.iter().all(|r| match r {
                Root::Private => true,
                Root::Uncalled(x) => self.module_private(*x),
            })
    }

    /// The ends of every path of callers up from coroutine `g`; `None` when one passes a
    /// route handler, a dependency, a hand-off to another loop, or goes too far.
    fn roots(&self, g: usize) -> Option<Vec<Root>> {
        let ix = self.ix;
        let rev = self.rev();
        let mut seen = vec![g];
        let mut stack = vec![g];
        let mut roots = Vec::new();
        while let Some(x) = stack.pop() {
            let f = ix.function(x);
            if !f.is_async || f.data.route.is_some() || self.serves(x) {
                return None;
            }
            let mut callers: Vec<(usize, usize)> = rev[x].clone();
            for o in ix.overridden(x) {
                callers.extend(rev[o].iter().copied());
            }
            if callers.is_empty() {
                roots.push(Root::Uncalled(x));
                continue;
            }
            for (y, i) in callers {
                let caller = ix.function(y);
                if caller.calls[i].kind != CallKind::Direct {
                    return None;
                }
                if caller.is_async {
                    if !seen.contains(&y) {
                        if seen.len() >= MAX_SEEN {
                            return None;
                        }
                        seen.push(y);
                        stack.push(y);
                    }
                } else if self.drives(y, i) && !self.serves(y) {
                    roots.push(Root::Private);
                } else {
                    return None;
                }
            }
        }
        Some(roots)
    }

    /// Call `i` of synchronous function `y` sits inside an `asyncio.run(..)` or
    /// `loop.run_until_complete(..)` of the same function: the coroutine gets a loop of
    /// its own (or one the function keeps for itself) and runs to completion.
    fn drives(&self, y: usize, i: usize) -> bool {
        let f = self.ix.function(y);
        let c = &f.calls[i];
        f.calls.iter().zip(&self.ix.targets[y]).any(|(r, t)| {
            let name = r.callee.as_str();
            let runs = name == "asyncio.run"
                || name.ends_with(".run_until_complete")
                || matches!(t, Target::External(q) if &**q == "asyncio.run");
            runs && r.start <= c.start && c.end <= r.end && (r.start, r.end) != (c.start, c.end)
        })
    }

    /// The function's module imports a web or server framework.
    fn serves(&self, g: usize) -> bool {
        self.ix.file_of(g).part.imports.iter().any(|(_, q)| {
            let top = q.as_str().split('.').next().unwrap_or("");
            crate::checks::py::WEB_FRAMEWORKS.contains(&top) || SERVERS.contains(&top)
        })
    }

    /// The module of uncalled coroutine `x`: its coroutines that project code calls all
    /// run on private loops, and at least one is called.
    fn module_private(&self, x: usize) -> bool {
        let file = self.ix.fns[x].file;
        if let Some(&v) = self.files.borrow().get(&file) {
            return v;
        }
        let mut any = false;
        let mut all = !self.serves(x);
        for g in (0..self.ix.fns.len()).filter(|&g| self.ix.fns[g].file == file) {
            if !all {
                break;
            }
            if !self.ix.function(g).is_async {
                continue;
            }
            match self.roots(g) {
                None => all = false,
                Some(rs) => any |= rs.iter().any(|r| matches!(r, Root::Private)),
            }
        }
        let v = all && any;
        self.files.borrow_mut().insert(file, v);
        v
    }
}
