//! Library calls that are unsafe with untrusted input or in production, narrowed to the
//! uses that matter:
//! SEC035 XML parsers fed request data or told to resolve external entities;
//! SEC036 `tempfile.mktemp` and world-writable `chmod` modes;
//! SEC037 tar extraction without a filter or member list;
//! SEC038 Flask/Werkzeug debugger and Django `DEBUG`/`ALLOWED_HOSTS = ["*"]` in settings;
//! SEC039 SSL/TLS protocol versions below TLS 1.2;
//! SEC040 paramiko accepting unknown SSH host keys;
//! SEC041 loaders beyond SEC002 (`torch.load`, `numpy.load(allow_pickle=True)`, `marshal`,
//! `shelve`); SEC042 HTML marked safe or templates without escaping.

use super::baseline::{in_handler, in_main_guard, keyword_is, run, shape, Call, Rule, Scan, Shape};
use crate::checks::py::in_main_only_function;
use crate::checks::py::{keyword_arg, module_assignments, positional_arg, snippet, unparen};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::python::{string_value, text};
use crate::model::html_clean::is_cleaner_call;
use crate::source::names::Names as _;
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;
use tree_sitter::Node;

const XML_PARSE: &[&str] = &[
    "parse",
    "fromstring",
    "XML",
    "iterparse",
    "parseString",
    "fromstringlist",
    "XMLID",
];

/// SEC035
pub fn xml_untrusted(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    run(ctx, Rule::XmlUntrusted, out);
}

/// SEC035, one call.
pub fn xml_untrusted_call(s: &Scan<'_, '_>, c: &Call<'_, '_>, out: &mut Vec<Hit>) {
    let (facts, src) = (s.facts, s.src);
    let n = c.name.as_str();
    let last = n.rsplit('.').next().unwrap_or("");
    let stdlib = n.starts_with("xml.etree.")
        || n.starts_with("xml.dom.")
        || n.starts_with("xml.sax.")
        || n.starts_with("xml.parsers.");
    let lxml = n.starts_with("lxml.etree.") || n.starts_with("lxml.objectify.");
    if lxml && last == "XMLParser" {
        let unsafe_flag = keyword_is(c.args, "resolve_entities", "True", src)
            || keyword_is(c.args, "no_network", "False", src)
            || keyword_is(c.args, "huge_tree", "True", src);
        if unsafe_flag {
            out.push(
                c.hit()
                    .var("what", "a parser that resolves external entities")
                    .confidence(Confidence::Medium),
            );
        }
        return;
    }
    if !(stdlib || lxml) || !XML_PARSE.contains(&last) {
        return;
    }
    let Some(arg) = positional_arg(c.args, 0) else {
        return;
    };
    if shape(arg, src) == Shape::Constant {
        return;
    }
    let conf = if in_handler(facts, c.node.start_byte()) {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    out.push(
        c.hit()
            .var("what", snippet(text(arg, src)))
            .confidence(conf),
    );
}

/// An integer mode literal (`0o777`, `0777`, `511`) or flags naming other-write.
fn world_writable(mode: Node<'_>, src: &str) -> bool {
    let raw = text(mode, src);
    if raw.contains("S_IWOTH") || raw.contains("S_IRWXO") {
        return true;
    }
    let t = raw.replace('_', "");
    let v = if let Some(o) = t.strip_prefix("0o").or_else(|| t.strip_prefix("0O")) {
        u32::from_str_radix(o, 8).ok()
    } else if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else {
        t.parse::<u32>().ok()
    };
    v.is_some_and(|v| v & 0o002 != 0)
}

/// SEC036
pub fn insecure_file_permissions(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    run(ctx, Rule::FilePermissions, out);
}

/// SEC036, one call.
pub fn file_permissions_call(s: &Scan<'_, '_>, c: &Call<'_, '_>, out: &mut Vec<Hit>) {
    let (facts, src) = (s.facts, s.src);
    let what = match c.name.as_str() {
        "tempfile.mktemp" => {
            Some("a temporary file name another process can claim first".to_string())
        }
        "os.chmod" | "os.lchmod" | "os.fchmod" => keyword_arg(c.args, "mode", src)
            .or_else(|| positional_arg(c.args, 1))
            .filter(|m| world_writable(*m, src))
            .map(|m| format!("mode {}", text(m, src))),
        _ if c.last() == "chmod" && c.written.contains('.') => keyword_arg(c.args, "mode", src)
            .or_else(|| positional_arg(c.args, 0))
            .filter(|m| world_writable(*m, src))
            .map(|m| format!("mode {}", text(m, src))),
        _ => None,
    };
    let Some(what) = what else { return };
    // A name used as an address (a pipe, a socket) rather than a file the function
    // then opens: low.
    let opened = facts
        .function_at(c.node.start_byte())
        .map_or(src, |f| &src[f.start..f.end])
        .contains("open(");
    let conf = if c.name == "tempfile.mktemp" && !opened {
        Confidence::Low
    } else {
        Confidence::Medium
    };
    out.push(c.hit().var("what", what).confidence(conf));
}

static MEMBER_CHECK: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"commonpath|is_relative_to|realpath|abspath|\.resolve\(|is_within|\.\.|startswith|issym|islnk|isdev|data_filter|tar_filter")
        .expect("re")
});

/// SEC037
pub fn tar_extraction(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    run(ctx, Rule::TarExtraction, out);
}

/// SEC037, one call.
pub fn tar_extraction_call(s: &Scan<'_, '_>, c: &Call<'_, '_>, out: &mut Vec<Hit>) {
    let (facts, src) = (s.facts, s.src);
    if !s.tarfile && !s.shutil {
        return;
    }
    let unpack = c.name == "shutil.unpack_archive";
    let tar_method =
        matches!(c.last(), "extractall" | "extract") && c.written.contains('.') && s.tarfile;
    if !(unpack || tar_method) {
        return;
    }
    if keyword_arg(c.args, "filter", src).is_some() || keyword_arg(c.args, "members", src).is_some()
    {
        return;
    }
    let func_text = facts
        .function_at(c.node.start_byte())
        .map_or(src, |f| &src[f.start..f.end]);
    if tar_method {
        // A zip archive (zipfile strips `..` and absolute paths itself), or a tar whose
        // members the function checks.
        let tarish = func_text.contains("tarfile") || func_text.contains("TarFile") || {
            let recv = c.written.rsplit_once('.').map_or("", |(r, _)| r);
            recv.to_ascii_lowercase().contains("tar")
        };
        if !tarish || func_text.contains("zipfile") || MEMBER_CHECK.is_match(func_text) {
            return;
        }
    }
    let self_update = facts
        .function_at(c.node.start_byte())
        .is_some_and(|f| SELF_UPDATE_FN.is_match(&f.name))
        && RELEASE_ARCHIVE.is_match(func_text)
        && MOVED_INTO_PLACE.is_match(func_text);
    let conf = if unpack || self_update {
        Confidence::Low
    } else {
        Confidence::Medium
    };
    out.push(c.hit().confidence(conf));
}

/// A self-update: a function named for updating (`update`, `upgrade_from_source`) that
/// downloads a release archive of a repository (`https://github.com/{}/{}/tarball/{}`) and
/// moves the extracted files into place. The archive is the code about to be installed:
/// whoever can craft its member paths can as well ship code that runs, so path traversal
/// adds little (its integrity is the real question). Low.
static SELF_UPDATE_FN: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"(?i)update|upgrade").expect("re"));
static RELEASE_ARCHIVE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)github\.com/[^\s'\x22]*/(tarball|zipball|archive|releases/download)\b|codeload\.github\.com/|gitlab\.com/[^\s'\x22]*/-/archive/")
        .expect("re")
});
static MOVED_INTO_PLACE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\b(os\.renames?|os\.replace|shutil\.move|shutil\.copytree)\(").expect("re")
});

static DEV_SETTINGS: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(?:^|/|_)(?:dev|devel|development|local|test|tests|testing|ci|debug|example|sample|e2e)(?:[_./]|$)").expect("re")
});

static SHARED_BASE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?:^|/)settings/(?:base|common|defaults?|shared|core)\.py$").expect("re")
});

/// SEC038
pub fn debug_enabled(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    run(ctx, Rule::DebugEnabled, out);
}

/// SEC038, one call.
pub fn debug_enabled_call(s: &Scan<'_, '_>, c: &Call<'_, '_>, out: &mut Vec<Hit>) {
    let src = s.src;
    let on = if s.flask && c.last() == "run" && c.written.contains('.') {
        keyword_is(c.args, "debug", "True", src)
    } else if c.name.ends_with("run_simple") && s.werkzeug {
        keyword_is(c.args, "use_debugger", "True", src)
    } else {
        false
    };
    if !on {
        return;
    }
    let conf = if in_main_guard(c.node, src) || in_main_only_function(c.node, src) {
        Confidence::Low
    } else {
        Confidence::Medium
    };
    out.push(
        c.at()
            .var(
                "what",
                "the interactive debugger (run any code from the browser)",
            )
            .confidence(conf),
    );
}

/// SEC038 in Django settings modules.
pub fn django_debug_settings(s: &Scan<'_, '_>, out: &mut Vec<Hit>) {
    let (ctx, src) = (s.ctx, s.src);
    let rel = ctx.file.rel.as_str();
    let settings = rel.contains("settings") && !DEV_SETTINGS.is_match(rel);
    if !settings
        || !(src.contains("INSTALLED_APPS")
            || src.contains("MIDDLEWARE")
            || src.contains("ROOT_URLCONF"))
    {
        return;
    }
    // The shared base of a settings package (`settings/common.py`, `settings/base.py`):
    // the module a deployment runs imports it and may set `DEBUG` again, so the base's
    // value alone is a lead, not proof.
    let shared_base = SHARED_BASE.is_match(rel);
    for (stmt, name, value) in module_assignments(ctx.tree.root_node(), src) {
        let value = unparen(value);
        let what = match name {
            "DEBUG" if value.kind() == "true" => "`DEBUG = True` (stack traces, settings and SQL shown to every visitor)",
            "ALLOWED_HOSTS" if matches!(value.kind(), "list" | "tuple") && {
                let mut cur = value.walk();
                let any = value.named_children(&mut cur).any(|e| string_value(e, src).as_deref() == Some("*"));
                any
            } => "`ALLOWED_HOSTS` with `\"*\"` (any Host header: poisoned password-reset links and cache keys)",
            _ => continue,
        };
        let mut hit = Hit::new(stmt.start_byte(), stmt.end_byte()).var("what", what);
        if shared_base || (name == "ALLOWED_HOSTS" && own_host_middleware(stmt, rel, src)) {
            hit = hit.confidence(Confidence::Low);
        }
        out.push(hit);
    }
}

/// The wildcard `ALLOWED_HOSTS` is explained by a comment on it or just above it that names
/// a middleware (`# our own middleware checks the host against the event domains`), and the
/// settings' `MIDDLEWARE` lists a middleware of the project's own package
/// (`confhub.middleware.EventDomainMiddleware` for `confhub/settings.py`): a project that
/// serves custom domains checks the Host itself. Whether that middleware really turns
/// unknown hosts away is in another file, so the finding is only a lead.
fn own_host_middleware(stmt: Node<'_>, rel: &str, src: &str) -> bool {
    static MENTION: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?i)#[^\n]*middleware").expect("static regex"));
    static LIST: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?m)^MIDDLEWARE\s*=\s*(?:\[([^\]]*)\]|\(([^)]*)\))").expect("static regex")
    });
    let line_start = src[..stmt.start_byte()].rfind('\n').map_or(0, |i| i + 1);
    let line_end = src[stmt.end_byte()..]
        .find('\n')
        .map_or(src.len(), |i| stmt.end_byte() + i);
    let mut comments = src[line_start..line_end].to_string();
    for line in src[..line_start].lines().rev() {
        if !line.trim_start().starts_with('#') {
            break;
        }
        comments.push('\n');
        comments.push_str(line);
    }
    if !MENTION.is_match(&comments) {
        return false;
    }
    // The package the settings belong to: `confhub` for `src/confhub/settings.py` and for
    // `confhub/settings/production.py`.
    let dirs: Vec<&str> = rel.split('/').collect();
    let dirs = &dirs[..dirs.len().saturating_sub(1)];
    let package = match dirs.split_last() {
        Some((&"settings", rest)) => rest.last(),
        Some((last, _)) => Some(last),
        None => None,
    };
    let Some(package) = package.filter(|p| !p.is_empty()) else {
        return false;
    };
    LIST.captures(src)
        .and_then(|c| c.get(1).or_else(|| c.get(2)))
        .is_some_and(|m| {
            let list = m.as_str();
            list.contains(&format!("\"{package}.")) || list.contains(&format!("'{package}."))
        })
}

const OLD_TLS: &[&str] = &[
    "ssl.PROTOCOL_SSLv2",
    "ssl.PROTOCOL_SSLv3",
    "ssl.PROTOCOL_TLSv1",
    "ssl.PROTOCOL_TLSv1_1",
    "ssl.TLSVersion.SSLv3",
    "ssl.TLSVersion.TLSv1",
    "ssl.TLSVersion.TLSv1_1",
    "OpenSSL.SSL.SSLv2_METHOD",
    "OpenSSL.SSL.SSLv3_METHOD",
    "OpenSSL.SSL.TLSv1_METHOD",
    "OpenSSL.SSL.TLSv1_1_METHOD",
];

/// SEC039
pub fn old_tls(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    run(ctx, Rule::OldTls, out);
}

/// SEC039, one call: `ssl.wrap_socket` without a version.
pub fn old_tls_call(s: &Scan<'_, '_>, c: &Call<'_, '_>, out: &mut Vec<Hit>) {
    if c.name == "ssl.wrap_socket" && keyword_arg(c.args, "ssl_version", s.src).is_none() {
        out.push(
            c.at()
                .var(
                    "what",
                    "`ssl.wrap_socket` (deprecated, removed in Python 3.12)",
                )
                .confidence(Confidence::Low),
        );
    }
}

/// SEC039, one attribute or name: an old protocol constant used as a value (an argument,
/// a keyword value, the right side of an assignment).
pub fn old_tls_value(s: &Scan<'_, '_>, n: Node<'_>, out: &mut Vec<Hit>) {
    if s.already_judged(n.start_byte()) {
        return;
    }
    let used = n.parent().is_some_and(|p| match p.kind() {
        "argument_list" => true,
        "keyword_argument" => p.child_by_field_name("value") == Some(n),
        "assignment" => p.child_by_field_name("right") == Some(n),
        _ => false,
    });
    if !used {
        return;
    }
    s.judged_until(n.end_byte());
    let t = text(n, s.src);
    if let Some(q) = s.facts.resolve(t) {
        if OLD_TLS.contains(&q.as_str()) {
            out.push(
                Hit::new(n.start_byte(), n.end_byte())
                    .var("what", format!("`{t}`"))
                    .confidence(Confidence::Medium),
            );
        }
    }
}

/// SEC040
pub fn ssh_host_key(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    run(ctx, Rule::SshHostKey, out);
}

/// SEC040, one call.
pub fn ssh_host_key_call(s: &Scan<'_, '_>, c: &Call<'_, '_>, out: &mut Vec<Hit>) {
    let src = s.src;
    if c.last() != "set_missing_host_key_policy" {
        return;
    }
    let Some(arg) = positional_arg(c.args, 0) else {
        return;
    };
    let t = text(arg, src);
    if t.contains("AutoAddPolicy") || t.contains("WarningPolicy") {
        out.push(c.at().var("what", snippet(t)));
    }
}

/// SEC041
pub fn unsafe_loader(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    run(ctx, Rule::UnsafeLoader, out);
}

/// SEC041, one call.
pub fn unsafe_loader_call(s: &Scan<'_, '_>, c: &Call<'_, '_>, out: &mut Vec<Hit>) {
    let src = s.src;
    let (what, conf) = match c.name.as_str() {
        "torch.load" if !keyword_is(c.args, "weights_only", "True", src) => (
            "unpickles the checkpoint (no `weights_only=True`)",
            Confidence::Medium,
        ),
        "numpy.load" if keyword_is(c.args, "allow_pickle", "True", src) => (
            "unpickles object arrays (`allow_pickle=True`)",
            Confidence::Medium,
        ),
        "marshal.load" | "marshal.loads" => ("builds code objects from the bytes", Confidence::Low),
        "shelve.open" => ("unpickles every value it reads", Confidence::Low),
        _ => return,
    };
    if positional_arg(c.args, 0).is_some_and(|a| shape(a, src) == Shape::Constant)
        && conf == Confidence::Low
    {
        return;
    }
    out.push(c.hit().var("what", what).confidence(conf));
}

const SAFE_MARKERS: &[&str] = &[
    "django.utils.safestring.mark_safe",
    "django.utils.safestring.SafeString",
    "django.utils.safestring.SafeText",
    "django.utils.html.mark_safe",
    "markupsafe.Markup",
    "flask.Markup",
    "jinja2.Markup",
    "jinja2.utils.Markup",
];

static ESCAPER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?:^|\.)(?:escape|conditional_escape|escape_html|html_escape|format_html|format_html_join|force_escape|escapejs|json_script|quote|quote_plus|urlencode|int|len|render_to_string|render|linebreaks|strip_tags|escape_uri_path|static|reverse|url_for|count|sum|abs|round|float|isoformat|strftime|date_format|time_format|naturaltime|naturalday|(?:babel_)?format_(?:date|datetime|time|timedelta|decimal|number|percent|currency))$")
        .expect("re")
});

/// How lenient `pieces_escaped` is: strictly escaped or constant pieces only, or also the
/// object's own state (`self.message`), which is opaque like `mark_safe(self.x)`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Pieces {
    Escaped,
    EscapedOrState,
}

/// Calls the project index knows to return cleaned markup (a helper in another file that
/// runs bleach); a file on its own knows none.
pub(super) type Cleaned<'h> = &'h dyn Fn(Node<'_>) -> bool;

/// Translation calls (`_("Select all")`, `gettext_lazy`) and `str(..)`: their text is
/// escaped when their arguments are (a literal the project ships).
const PASS_THROUGH: &[&str] = &[
    "_",
    "_l",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ugettext",
    "ugettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "npgettext",
    "lazy_gettext",
    "str",
];

/// Where `pieces_escaped` looks: the file's text, the text of the function around the
/// value, how lenient it is, and the calls known to return cleaned markup.
#[derive(Clone, Copy)]
pub(super) struct Esc<'a> {
    pub src: &'a str,
    pub func: &'a str,
    pub mode: Pieces,
    pub cleaned: Cleaned<'a>,
}

/// Every non-constant piece of text built in place is escaped (`f"<b>{escape(x)}</b>"`),
/// or (with `Pieces::EscapedOrState`) an attribute of `self`/`cls`.
pub(super) fn pieces_escaped(n: Node<'_>, depth: usize, e: Esc<'_>) -> bool {
    if depth > 10 {
        return false;
    }
    let Esc {
        src,
        func,
        mode,
        cleaned,
    } = e;
    let n = unparen(n);
    let each = |k: Node<'_>| pieces_escaped(k, depth + 1, e);
    match n.kind() {
        "string" => {
            let mut c = n.walk();
            let kids: Vec<Node<'_>> = n.named_children(&mut c).collect();
            kids.into_iter()
                .filter(|k| k.kind() == "interpolation")
                .all(|k| {
                    k.child_by_field_name("expression")
                        .or_else(|| k.named_child(0))
                        .is_some_and(each)
                })
        }
        "concatenated_string" | "binary_operator" | "tuple" | "list" => {
            let mut c = n.walk();
            let kids: Vec<Node<'_>> = n.named_children(&mut c).collect();
            kids.into_iter().all(each)
        }
        // `"<hr>" if a else ""`: both branches (the condition is not shown).
        "conditional_expression" => {
            let mut c = n.walk();
            let kids: Vec<Node<'_>> = n.named_children(&mut c).collect();
            kids.len() == 3 && each(kids[0]) && each(kids[2])
        }
        // `conditional_escape(item) for item in items`: the value each round yields.
        "generator_expression" | "list_comprehension" => {
            n.child_by_field_name("body").is_some_and(each)
        }
        "call" => {
            let Some(f) = n.child_by_field_name("function") else {
                return false;
            };
            let callee = text(f, src);
            if ESCAPER.is_match(callee) || is_cleaner_call(n, src) || cleaned(n) {
                return true;
            }
            // Marking safe what is already escaped or constant.
            let last = callee.rsplit('.').next().unwrap_or(callee);
            if matches!(last, "mark_safe" | "Markup" | "SafeString") {
                return n
                    .child_by_field_name("arguments")
                    .and_then(|a| a.named_child(0))
                    .is_some_and(each);
            }
            if PASS_THROUGH.contains(&callee) {
                let Some(args) = n.child_by_field_name("arguments") else {
                    return false;
                };
                let mut c = args.walk();
                let kids: Vec<Node<'_>> = args.named_children(&mut c).collect();
                return !kids.is_empty() && kids.into_iter().all(each);
            }
            // `self.get_html()`: a method of this class whose every return is escaped.
            if let Some(method) = callee.strip_prefix("self.") {
                return method_returns_escaped(n, method, src, depth + 1);
            }
            // `_format_dt(entry.start)`: a module-level function of this file whose every
            // return is escaped (`return formats.date_format(..)`).
            if f.kind() == "identifier"
                && module_function_returns_escaped(n, callee, src, depth + 1)
            {
                return true;
            }
            // "...".format(a, b) / "".join(parts)
            if let (Some(obj), Some(args)) = (
                f.child_by_field_name("object"),
                n.child_by_field_name("arguments"),
            ) {
                if matches!(obj.kind(), "string" | "concatenated_string") && each(obj) {
                    // `"".join(escape(p) for p in parts)`: the generator is the argument list.
                    if args.kind() == "generator_expression" {
                        return each(args);
                    }
                    let mut c = args.walk();
                    let kids: Vec<Node<'_>> = args.named_children(&mut c).collect();
                    return kids.into_iter().all(|k| {
                        let v = if k.kind() == "keyword_argument" {
                            k.child_by_field_name("value").unwrap_or(k)
                        } else {
                            k
                        };
                        each(v)
                    });
                }
            }
            false
        }
        "identifier" => {
            let t = text(n, src);
            shape(n, src) == Shape::Constant
                || ESCAPED_NAME.is_match(t)
                || (mode == Pieces::EscapedOrState && assigned_row(t, func))
                || bound_escaped(n, depth + 1, e)
                || closed_set(t, func)
                || assigned_escaped(t, func)
                || list_of_escaped(t, func)
        }
        "attribute" => {
            let t = text(n, src);
            shape(n, src) == Shape::Constant
                || ESCAPED_NAME.is_match(t)
                || (mode == Pieces::EscapedOrState
                    && (t.starts_with("self.") || t.starts_with("cls."))
                    && !t[4..].contains('('))
        }
        _ => shape(n, src) == Shape::Constant,
    }
}

/// The local `name` at `use_` is bound in its function only to escaped or constant text:
/// every assignment (`total = qs.count()`, `text = _("deactivated")`, `items = ""`), every
/// `+=` (`items += self.render_item(..)`, `parts += [escape(p) for p in ps]`) and every
/// `append`/`extend` of it. A parameter, a loop variable or any other binding is unknown.
fn bound_escaped(use_: Node<'_>, depth: usize, e: Esc<'_>) -> bool {
    if depth > 10 {
        return false;
    }
    let src = e.src;
    let name = text(use_, src);
    let mut scope = use_;
    while scope.kind() != "function_definition" {
        let Some(p) = scope.parent() else { break };
        scope = p;
    }
    let mentions = |m: Node<'_>| {
        text(m, src)
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|w| w == name)
    };
    if scope
        .child_by_field_name("parameters")
        .is_some_and(&mentions)
    {
        return false;
    }
    let each = |k: Node<'_>| pieces_escaped(k, depth + 1, e);
    let (mut seen, mut all) = (0usize, true);
    crate::checks::py::visit_same_scope(scope, |m| {
        if !all {
            return;
        }
        match m.kind() {
            "assignment" | "augmented_assignment" => {
                let Some(left) = m.child_by_field_name("left") else {
                    return;
                };
                if text(left, src) != name {
                    all = !mentions(left);
                    return;
                }
                let op = m
                    .child_by_field_name("operator")
                    .map_or("=", |o| text(o, src));
                if m.kind() == "assignment" {
                    seen += 1;
                } else if op != "+=" {
                    all = false;
                    return;
                }
                // `x: str` alone binds nothing.
                all = m.child_by_field_name("right").is_none_or(each);
            }
            "for_statement"
            | "named_expression"
            | "as_pattern"
            | "global_statement"
            | "nonlocal_statement"
            | "import_from_statement"
            | "import_statement" => {
                let target = m
                    .child_by_field_name("left")
                    .or_else(|| m.child_by_field_name("name"))
                    .or_else(|| m.child_by_field_name("alias"));
                all = !target.map_or_else(|| mentions(m), mentions);
            }
            "call" => {
                let Some(f) = m.child_by_field_name("function") else {
                    return;
                };
                let callee = text(f, src);
                let Some((obj, method)) = callee.rsplit_once('.') else {
                    return;
                };
                if obj != name {
                    return;
                }
                let Some(args) = m.child_by_field_name("arguments") else {
                    return;
                };
                let mut c = args.walk();
                let kids: Vec<Node<'_>> = args.named_children(&mut c).collect();
                all = match method {
                    "append" | "extend" => kids.into_iter().all(each),
                    "insert" => kids.into_iter().skip(1).all(each),
                    _ => true,
                };
            }
            _ => {}
        }
    });
    all && seen > 0
}

/// `self.NAME(..)` at `call`: the method `NAME` of the enclosing class returns only escaped
/// or constant text (`return mark_safe('<div class="page-break"></div>')`).
fn method_returns_escaped(call: Node<'_>, name: &str, src: &str, depth: usize) -> bool {
    let mut class = call;
    while class.kind() != "class_definition" {
        let Some(p) = class.parent() else {
            return false;
        };
        class = p;
    }
    let Some(body) = class.child_by_field_name("body") else {
        return false;
    };
    let Some(method) = def_named(body, name, src) else {
        return false;
    };
    returns_escaped(method, src, depth)
}

/// The function `name` defined directly in `block` (a class body, a module).
fn def_named<'t>(block: Node<'t>, name: &str, src: &str) -> Option<Node<'t>> {
    let mut c = block.walk();
    let found = block.named_children(&mut c).find_map(|d| {
        let d = if d.kind() == "decorated_definition" {
            d.child_by_field_name("definition")?
        } else {
            d
        };
        (d.kind() == "function_definition"
            && d.child_by_field_name("name").map(|x| text(x, src)) == Some(name))
        .then_some(d)
    });
    found
}

/// Every return of the function `def` is escaped or constant text.
fn returns_escaped(def: Node<'_>, src: &str, depth: usize) -> bool {
    let dtext = text(def, src);
    let mut returns = 0usize;
    let mut all = true;
    crate::checks::py::visit(def, |r| {
        if !all {
            return false;
        }
        if r.kind() == "return_statement" {
            returns += 1;
            all = r.named_child(0).is_some_and(|v| {
                let e = Esc {
                    src,
                    func: dtext,
                    mode: Pieces::Escaped,
                    cleaned: &|_| false,
                };
                pieces_escaped(v, depth, e)
            });
            return false;
        }
        // Returns of nested functions are theirs.
        !matches!(r.kind(), "function_definition" | "lambda") || r == def
    });
    returns > 0 && all
}

/// `NAME(..)` at `call`: a function defined at the top of this file returns only escaped or
/// constant text.
fn module_function_returns_escaped(call: Node<'_>, name: &str, src: &str, depth: usize) -> bool {
    if depth > 10 {
        return false;
    }
    let mut root = call;
    while let Some(p) = root.parent() {
        root = p;
    }
    def_named(root, name, src).is_some_and(|def| returns_escaped(def, src, depth))
}

/// Every assignment to the local `name` fetches one stored row (`x = qs.filter(..).first()`,
/// `Entry.objects.get(pk=pk)`): its text is the model's `__str__`, as opaque as `self.x`.
fn assigned_row(name: &str, func: &str) -> bool {
    let Ok(any) = re::new(&format!(
        r"(?m)^\s*{}\s*(?::[^=\n]*)?=[^=](.*)$",
        regex::escape(name)
    )) else {
        return false;
    };
    static ROW: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"\.(?:first|last)\(\)\s*$|\.(?:earliest|latest)\([^\n]*\)\s*$|\.objects\.get\(|^get_object_or_404\(")
            .expect("re")
    });
    let mut seen = false;
    for cap in any.captures_iter(func) {
        let rhs = cap.get(1).map_or("", |m| m.as_str()).trim();
        if !ROW.is_match(rhs) {
            return false;
        }
        seen = true;
    }
    seen
}

/// A local list built from escaped pieces only: `parts = []` then `parts.append(html)`
/// where each appended value is escaped (a rendered widget, `escape(x)`) or constant.
fn list_of_escaped(name: &str, func: &str) -> bool {
    let n = regex::escape(name);
    let (Ok(bind), Ok(append), Ok(other)) = (
        re::new(&format!(r"(?m)^\s*{n}\s*(?::[^=\n]*)?=[^=](.*)$")),
        re::new(&format!(
            r"\b{n}\.append\(([^()\n]*(?:\([^()\n]*\))?[^()\n]*)\)"
        )),
        re::new(&format!(r"\b{n}\s*\+=|\b{n}\.(?:extend|insert)\(")),
    ) else {
        return false;
    };
    let binds: Vec<&str> = bind
        .captures_iter(func)
        .filter_map(|c| c.get(1).map(|m| m.as_str().trim()))
        .collect();
    if binds.is_empty()
        || binds.iter().any(|b| *b != "[]" && *b != "list()")
        || other.is_match(func)
    {
        return false;
    }
    let appended: Vec<&str> = append
        .captures_iter(func)
        .filter_map(|c| c.get(1).map(|m| m.as_str().trim()))
        .collect();
    !appended.is_empty()
        && appended.iter().all(|v| {
            let callee = v.split('(').next().unwrap_or("").trim();
            let ident = !v.is_empty() && v.chars().all(|c| c.is_alphanumeric() || c == '_');
            (v.contains('(') && ESCAPER.is_match(callee))
                || (ident && (ESCAPED_NAME.is_match(v) || assigned_escaped(v, func)))
                || (v.starts_with(['"', '\'']) && !v.starts_with("f"))
        })
}

/// The function lets `name` through only when it equals one of a few string literals: an
/// `if name == "a": .. elif name == "b": ..` chain whose `else` raises.
fn closed_set(name: &str, func: &str) -> bool {
    static BRANCH: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"^(?:el)?if[ \t]+(\w+)[ \t]*==[ \t]*(?:"[\w -]*"|'[\w -]*')[ \t]*:"#).expect("re")
    });
    static RAISES: LazyLock<Regex> =
        LazyLock::new(|| re::new(r"(?m)^[ \t]*else[ \t]*:[ \t]*\n[ \t]*raise\b").expect("re"));
    let mut tests = 0;
    for line in func.lines().map(str::trim_start) {
        if !(line.starts_with("if ") || line.starts_with("elif ")) {
            continue;
        }
        let mentions = line
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .any(|w| w == name);
        if !mentions {
            continue;
        }
        // Every test that names it compares it with a literal, and nothing else.
        match BRANCH.captures(line) {
            Some(c) if &c[1] == name => tests += 1,
            _ => return false,
        }
    }
    tests >= 2 && RAISES.is_match(func)
}

/// Every assignment to the local `name` in the function is an escaping call
/// (`email = escape(email_address)`).
fn assigned_escaped(name: &str, func: &str) -> bool {
    let Ok(any) = re::new(&format!(
        r"(?m)^\s*{}\s*(?::[^=\n]*)?=[^=](.*)$",
        regex::escape(name)
    )) else {
        return false;
    };
    if func.contains(&format!("{name} +=")) {
        return false;
    }
    let mut seen = false;
    for cap in any.captures_iter(func) {
        let rhs = cap.get(1).map_or("", |m| m.as_str()).trim();
        let callee = rhs.split('(').next().unwrap_or("").trim();
        if !rhs.contains('(') || !ESCAPER.is_match(callee) {
            return false;
        }
        seen = true;
    }
    seen
}

/// A name that says its value is already escaped or encoded (`urlencoded`, `body_html`).
static ESCAPED_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(?:escaped|encoded|quoted|sanitized|sanitised|_html|safe)$").expect("re")
});

/// SEC042
pub fn unescaped_html(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    run(ctx, Rule::UnescapedHtml, out);
}

/// SEC042, one call.
pub fn unescaped_html_call(s: &Scan<'_, '_>, c: &Call<'_, '_>, out: &mut Vec<Hit>) {
    let (facts, src) = (s.facts, s.src);
    let html = || {
        facts
            .function_at(c.node.start_byte())
            .map_or(src, |f| &src[f.start..f.end])
            .to_ascii_lowercase()
            .contains("html")
    };
    // HTML in the function that builds the environment (module level: the file).

    let n = c.name.as_str();
    if SAFE_MARKERS.contains(&n) {
        let Some(arg) = positional_arg(c.args, 0) else {
            return;
        };
        let func = s.function_text(c.node.start_byte());
        let strict = Esc {
            src,
            func,
            mode: Pieces::Escaped,
            cleaned: &|_| false,
        };
        let conf = match shape(arg, src) {
            Shape::Constant => return,
            Shape::Built if pieces_escaped(arg, 0, strict) => return,
            // Text joined from the object's own state: as opaque as `mark_safe(self.x)`.
            Shape::Built
                if pieces_escaped(
                    arg,
                    0,
                    Esc {
                        mode: Pieces::EscapedOrState,
                        ..strict
                    },
                ) =>
            {
                Confidence::Low
            }
            Shape::Built => Confidence::Medium,
            // `html = render_to_string(..)`, then `mark_safe(html)`: the template escaped it.
            Shape::Opaque
                if arg.kind() == "identifier"
                    && (bound_escaped(arg, 1, strict)
                        || assigned_escaped(text(arg, src), func)
                        || list_of_escaped(text(arg, src), func)) =>
            {
                return
            }
            Shape::Opaque => Confidence::Low,
        };
        out.push(
            c.at()
                .var(
                    "what",
                    format!(
                        "`{}` of `{}` (not escaped)",
                        c.written,
                        snippet(text(arg, src))
                    ),
                )
                .confidence(conf),
        );
    } else if matches!(
        n,
        "jinja2.Environment"
            | "jinja2.Template"
            | "jinja2.environment.Environment"
            | "jinja2.sandbox.SandboxedEnvironment"
    ) {
        let conf = match keyword_arg(c.args, "autoescape", src).map(|v| text(v, src)) {
            Some("False") if html() => Confidence::Medium,
            Some("False") => Confidence::Low,
            None => Confidence::Low,
            Some(_) => return,
        };
        out.push(
            c.at()
                .var("what", format!("`{}` without autoescaping", c.written))
                .confidence(conf),
        );
    } else if matches!(n, "mako.template.Template" | "mako.lookup.TemplateLookup") {
        if keyword_arg(c.args, "default_filters", src)
            .is_some_and(|v| text(v, src).contains("'h'") || text(v, src).contains("\"h\""))
        {
            return;
        }
        out.push(
            c.at()
                .var(
                    "what",
                    format!("`{}` (Mako does not escape by default)", c.written),
                )
                .confidence(Confidence::Low),
        );
    }
}
