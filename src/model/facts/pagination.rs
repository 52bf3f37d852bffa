//! Pagination parameters: which names choose a page size or an offset, and the bounds their
//! declarations give them (`Query(ge=1, le=100)`, `conint(le=...)`, `PositiveInt`).

use crate::model::facts::python::Param;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;

/// What a pagination parameter controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageParam {
    /// How many rows one request returns: needs an upper and a lower bound.
    Size,
    /// Where the page starts: needs a lower bound.
    Offset,
}

pub fn classify(name: &str) -> Option<PageParam> {
    let snake = name.to_ascii_lowercase();
    let flat = snake.replace('_', "");
    match flat.as_str() {
        "limit" | "pagesize" | "perpage" | "size" | "take" | "maxresults" | "maxitems"
        | "itemsperpage" | "resultsperpage" | "top" => return Some(PageParam::Size),
        "offset" | "skip" | "page" | "pagenumber" | "pagenum" | "pageno" => {
            return Some(PageParam::Offset)
        }
        _ => {}
    }
    if snake.ends_with("_per_page") || snake.ends_with("_page_size") {
        return Some(PageParam::Size);
    }
    if let Some(head) = snake.strip_suffix("_limit") {
        // `rate_limit`, `time_limit`, ... are not page sizes.
        const NOT_PAGE: &[&str] = &[
            "rate",
            "time",
            "timeout",
            "retry",
            "char",
            "length",
            "memory",
            "size",
            "file_size",
            "upload",
            "depth",
            "recursion",
            "credit",
            "spend",
            "quota",
        ];
        if !NOT_PAGE.contains(&head) && !head.is_empty() {
            return Some(PageParam::Size);
        }
    }
    if snake.ends_with("_offset") {
        return Some(PageParam::Offset);
    }
    None
}

pub static LOWER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\b(?:ge|gt)\s*=\s*([-+]?\d[\d_]*)?|\b(?:Ge|Gt)\(\s*([-+]?\d[\d_]*)?|\b(?:PositiveInt|NonNegativeInt)\b")
        .expect("static regex")
});

pub static UPPER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\b(?:le|lt)\s*=\s*([-+]?\d[\d_]*)?|\b(?:Le|Lt)\(\s*([-+]?\d[\d_]*)?")
        .expect("static regex")
});

/// Whether a bound is declared, and the inclusive value it allows if it is a number
/// (`gt=0` allows 1 and up, `lt=101` up to 100).
pub fn bound(re: &Regex, decl: &str) -> Option<Option<i64>> {
    let caps = re.captures(decl)?;
    let op = caps.get(0).map_or("", |m| m.as_str()).to_ascii_lowercase();
    let value = caps
        .get(1)
        .or_else(|| caps.get(2))
        .and_then(|m| m.as_str().replace('_', "").parse::<i64>().ok())
        .map(|v| {
            if op.starts_with("gt") {
                v.saturating_add(1)
            } else if op.starts_with("lt") {
                v.saturating_sub(1)
            } else {
                v
            }
        });
    Some(value)
}

/// For the route inventory: if `p` is a pagination parameter, its declared bounds
/// (`(ge, le)`, inclusive; `None` when not declared or not a literal).
pub fn pagination_bounds(p: &Param) -> Option<(Option<i64>, Option<i64>)> {
    classify(&p.name)?;
    let decl = format!(
        "{} {}",
        p.annotation.as_deref().unwrap_or(""),
        p.default.as_deref().unwrap_or("")
    );
    Some((
        bound(&LOWER, &decl).flatten(),
        bound(&UPPER, &decl).flatten(),
    ))
}
