//! One tree-sitter parser per language and thread, reused for every file.

use crate::source::lang::Lang;
use std::cell::RefCell;
use std::collections::HashMap;
use tree_sitter::{Parser, Tree};

thread_local! {
    static PARSERS: RefCell<HashMap<Lang, Parser>> = RefCell::new(HashMap::new());
}

/// Parses `text` (or only `ranges` of it) with a per-thread parser for `lang`.
pub fn parse(lang: Lang, text: &str, ranges: Option<&[tree_sitter::Range]>) -> Option<Tree> {
    let grammar = lang.ts_language()?;
    PARSERS.with(|cell| {
        let mut parsers = cell.borrow_mut();
        let parser = match parsers.entry(lang) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let mut p = Parser::new();
                p.set_language(&grammar).ok()?;
                e.insert(p)
            }
        };
        match ranges {
            Some(r) => parser.set_included_ranges(r).ok()?,
            None => parser.set_included_ranges(&[]).ok()?,
        }
        parser.parse(text, None)
    })
}
