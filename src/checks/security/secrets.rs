//! Secrets committed to the repository: private key blocks, provider tokens with a
//! recognisable shape, and high-entropy literals assigned to secret-sounding names.
//! Runs over raw text (no parse), so it also covers `.env` files. Messages never
//! contain the secret: only its first characters and its length.

use crate::checks::Hit;
use crate::source::lang::Lang;
use crate::source::re;
use crate::source::SourceFile;
use regex::Regex;
use std::sync::LazyLock;

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0usize; 256];
    let mut n = 0usize;
    for b in s.bytes() {
        counts[b as usize] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n as f64;
            -p * p.log2()
        })
        .sum()
}

/// `abcd…(40 chars)`: enough to find the value, not enough to use it.
pub fn mask(secret: &str) -> String {
    let head: String = secret.chars().take(4).collect();
    format!("{head}…({} chars)", secret.chars().count())
}

/// Words that mark a value as a placeholder, an example or test data.
static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r"(?i)(example|change[_-]?(?:me|this|it)\b|dummy|1234567890|0123456789|abcdefghij|placeholder|your[_-]?|xxxx|test|fake|mock|sample|redacted|censored|insecure|not[_-]?a[_-]?real|replace|todo|fixme|foobar|lorem|\*\*\*|\.\.\.|<[^>]*>|\$\{|\$\(|\{\{|%\(|^\$)",
    )
    .expect("static regex")
});

fn all_same(s: &str) -> bool {
    let mut it = s.chars();
    it.next().is_none_or(|first| it.all(|c| c == first))
}

/// Words joined by separators (`Access-Control-Allow-Credentials`, `secret key`): a name
/// or a header, not a credential.
static WORDS: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"^[A-Za-z]+(?:[-_ .][A-Za-z]+)+$").expect("static regex"));

/// True when a value cannot be a real secret: a placeholder, one repeated character, a
/// sequence of plain words, or a template with `{...}` interpolation.
fn is_placeholder(value: &str) -> bool {
    PLACEHOLDER.is_match(value)
        || all_same(value)
        || WORDS.is_match(value)
        || (value.contains('{') && value.contains('}'))
        || ["%s", "%d", "%r"].iter().any(|f| value.contains(f))
}

static PRIVATE_KEY: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"-----BEGIN ((?:RSA|EC|OPENSSH|DSA|PGP|ENCRYPTED) )?PRIVATE KEY(?: BLOCK)?-----")
        .expect("static regex")
});
static KEY_BODY: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"[A-Za-z0-9+/=]{40,}").expect("static regex"));

/// SEC014: a private key block (with a real body, not a documentation stub).
pub fn private_key(file: &SourceFile, out: &mut Vec<Hit>) {
    for m in PRIVATE_KEY.captures_iter(&file.text) {
        let Some(whole) = m.get(0) else { continue };
        let after = &file.text[whole.end()..];
        let body_end = after.find("-----END").unwrap_or(after.len().min(4096));
        let body = &after[..body_end];
        // Strip the string-literal noise of keys embedded in code (`\n`, quotes).
        let cleaned: String = body
            .replace("\\n", "\n")
            .chars()
            .filter(|c| !matches!(c, '"' | '\'' | '\\' | ' ' | '\t'))
            .collect();
        if !KEY_BODY.is_match(&cleaned) || is_placeholder(body) {
            continue;
        }
        let kind = m.get(1).map_or("", |k| k.as_str()).trim();
        let kind = if kind.is_empty() { "PKCS#8" } else { kind };
        out.push(Hit::new(whole.start(), whole.end()).var("kind", kind));
    }
}

/// Provider tokens: (description, regex with the token as group 1).
static TOKENS: LazyLock<Vec<(&'static str, Regex)>> = LazyLock::new(|| {
    [
        ("AWS access key id", r"\b((?:AKIA|ASIA)[0-9A-Z]{16})\b"),
        (
            "AWS secret access key",
            r#"(?i)aws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
        ),
        ("GitHub token", r"\b(gh[pousr]_[A-Za-z0-9]{36,251})\b"),
        ("GitHub fine-grained token", r"\b(github_pat_[A-Za-z0-9_]{50,})\b"),
        ("Slack token", r"\b(xox[baprs]-[0-9A-Za-z-]{10,})"),
        ("Stripe live key", r"\b([sr]k_live_[0-9A-Za-z]{20,})\b"),
        ("Google API key", r"\b(AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)"),
    ]
    .into_iter()
    .map(|(k, r)| (k, re::new(r).expect("static regex")))
    .collect()
});

/// SEC015: a token with a provider's recognisable shape.
pub fn api_token(file: &SourceFile, out: &mut Vec<Hit>) {
    for (kind, re) in TOKENS.iter() {
        for c in re.captures_iter(&file.text) {
            let Some(tok) = c.get(1) else { continue };
            let value = tok.as_str();
            // The part after the provider prefix must look random.
            let body = value.rsplit(['_', '-']).next().unwrap_or(value);
            let body = if body.len() < 16 { value } else { body };
            if is_placeholder(value)
                || documented_example(value)
                || entropy(body) < 3.0
                || in_detector_table(&file.text, tok.start(), tok.end())
            {
                continue;
            }
            out.push(
                Hit::new(tok.start(), tok.end())
                    .var("kind", *kind)
                    .var("masked", mask(value)),
            );
        }
    }
}

/// Tokens printed in a provider's own API documentation, which tests and examples copy:
/// GitHub's sample token body (`ghs_16C7e42F292c6912E7710c838347Ae178B4a`, also shown with
/// the `gho_`, `ghu_` and `ghp_` prefixes). Public, never issued; any other body is reported.
fn documented_example(value: &str) -> bool {
    const GITHUB_DOCS_BODY: &str = "16C7e42F292c6912E7710c838347Ae178B4a";
    value
        .split_once('_')
        .is_some_and(|(prefix, body)| prefix.starts_with("gh") && body == GITHUB_DOCS_BODY)
}

/// A regex literal for tokens: a character class with a quantifier (`[A-Za-z0-9]{36}`).
static REGEX_LITERAL: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"\[[^\]\n]*(?:a-z|A-Z|0-9)[^\]\n]*\](?:\{\d+(?:,\d*)?\}|[+*])").expect("static regex")
});
/// A comment that disowns the value on its line.
static DISOWNED: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(?://|#).*(?:not a real|fake|example|expired|revoked|dummy|placeholder|sample|invalid)")
        .expect("static regex")
});

/// The token at `start..end` is a sample in a secret detector's pattern table (a regex
/// literal within a few lines of it), or a comment on its line says it is not live.
fn in_detector_table(text: &str, start: usize, end: usize) -> bool {
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i);
    if DISOWNED.is_match(&text[end..line_end]) {
        return true;
    }
    let mut from = start;
    for _ in 0..6 {
        match text[..from].rfind('\n') {
            Some(i) => from = i,
            None => {
                from = 0;
                break;
            }
        }
    }
    let mut to = line_end;
    for _ in 0..5 {
        match text[(to + 1).min(text.len())..].find('\n') {
            Some(i) => to = to + 1 + i,
            None => {
                to = text.len();
                break;
            }
        }
    }
    REGEX_LITERAL.is_match(&text[from..start]) || REGEX_LITERAL.is_match(&text[end..to])
}

/// `NAME = "value"`, `NAME: value`, `NAME=value`, `"name": "value"`, `const NAME: &str = "value"`.
static ASSIGNMENT: LazyLock<Regex> = LazyLock::new(|| {
    re::new(
        r#"(?m)(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)["']?\]?[ \t]*(?::[ \t]*&?(?:'static[ \t]+)?(?:str|String)[ \t]*=|:=|=|:)[ \t]*(?P<q>["']?)(?P<value>[^"'\s`,;)]{8,256})"#,
    )
    .expect("static regex")
});
static SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(secret|token|passw(or)?d|pwd|api[_-]?key|apikey|access[_-]?key|private[_-]?key|signing[_-]?key|auth[_-]?key|credential)")
        .expect("static regex")
});
/// Names that mention a secret but hold something else (`password_detail_key`: the
/// name of the field a password is stored under).
static NOT_SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)((?:detail|field|attr|column|session|cache|lookup|cookie|form|dict|map|param)_?key$|url|uri|file|path|dir|name|env|var|header|field|type|len|length|expir|ttl|endpoint|_ids?$|^id$|key_?id|prefix|suffix|policy|min|max|count|algorithm|alg$|format|param|query|label|regex|pattern|usage|limit|timeout|scope|kind|mode|class|placeholder|hint|help|prompt|message|msg|error|required|enabled|hash|reset|forgot|_at$|date|time|store|provider|manager|cache|endpoint|location|source|generator|validator|serializer|type|count|size|strength|policy)")
        .expect("static regex")
});
static IDENT_LIKE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^([A-Z][A-Z0-9_]*|[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)+|[a-z]+(_[a-z]+)+|[a-z]+(-[a-z]+)+)$")
        .expect("static regex")
});

/// Values that describe themselves as a secret are examples (`secret123`, `IAmSensitive`).
static SELF_DESCRIBING: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(secret|passw|sensitive|hunter2|token|apikey|api_key|letmein|qwerty|12345678)")
        .expect("static regex")
});

/// Passwords that are the default of the software they configure, not a secret.
const DEFAULT_PASSWORDS: &[&str] = &[
    "postgres", "password", "admin", "root", "guest", "secret", "mysql", "redis", "rabbitmq",
    "default", "changeit", "letmein",
];

/// A default password with digits after it (`admin123`, `password1`): the well-known
/// first-login value of the software, not a secret anyone generated.
fn default_with_digits(v: &str) -> bool {
    let base = v
        .trim_end_matches(|c: char| c.is_ascii_digit() || c == '!')
        .to_ascii_lowercase();
    base.len() < v.len() && DEFAULT_PASSWORDS.contains(&base.as_str())
}

/// The signing key of the application a CI workflow tests (`SECRET_KEY`, `JWT_SECRET`): a
/// throwaway the workflow invents for its own run. A service's token (`PERCY_TOKEN`) is a
/// credential for that service and stays reported.
fn workflow_app_key(lang: Lang, name: &str) -> bool {
    static APP_KEY: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)^(?:(?:django|flask|app|jwt|session|signing)_)?secret(?:_key)?$|^(?:jwt|session)_(?:signing_)?(?:key|secret)$")
            .expect("static regex")
    });
    lang == Lang::Workflow && APP_KEY.is_match(name)
}

/// A readable slug (`acme_cl_e2e_seed_checkout_link`): at least three lowercase segments,
/// nearly all of them words. An identifier someone chose, not a generated secret.
fn readable_slug(v: &str) -> bool {
    // `target=app-watch_files`: a `key=value` label reads the same way.
    let parts: Vec<&str> = v.split(['_', '-', '=']).collect();
    if parts.len() < 3 || v.chars().any(|c| c.is_ascii_uppercase()) {
        return false;
    }
    let words = parts
        .iter()
        .filter(|p| p.len() >= 2 && p.chars().all(|c| c.is_ascii_lowercase()))
        .count();
    words * 4 >= parts.len() * 3
}

/// A rate-limit spec (`5/m/ip`, `1/m/ip,1/m/key`, `100/hour`): django-allauth,
/// django-ratelimit and DRF throttles key them by action names like `change_password`.
fn rate_limit_spec(v: &str) -> bool {
    static SPEC: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r"(?i)^\d+/\d*[a-z]+(?:/[a-z_]+)?(?:,\d+/\d*[a-z]+(?:/[a-z_]+)?)*$")
            .expect("static regex")
    });
    SPEC.is_match(v)
}

/// The name ends a phrase inside a quoted key (`"Change password": ...`): a translation
/// table or a label, not a setting.
fn phrase_key(text: &str, name_start: usize) -> bool {
    let line_start = text[..name_start].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[line_start..name_start];
    before.ends_with(' ')
        && before.trim_end().ends_with(|c: char| c.is_alphabetic())
        && before.contains(['"', '\''])
}

/// A password that repeats the user or database name set a few lines away
/// (`"USER": "shop", "PASSWORD": "shop"`): the default of a bundled setup, not a secret
/// anyone generated.
fn echoes_neighbour(text: &str, start: usize, end: usize, v: &str) -> bool {
    let from = text[..start]
        .rmatch_indices('\n')
        .nth(5)
        .map_or(0, |(i, _)| i + 1);
    let to = text[end..]
        .match_indices('\n')
        .nth(5)
        .map_or(text.len(), |(i, _)| end + i);
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    // The same value as a whole word elsewhere (`-e DB_USER=shop`, `"USER": "shop"`,
    // `psql -U shop`): quoted or not, workflows and compose files pass it bare.
    text[from..to].match_indices(v).any(|(i, _)| {
        let at = from + i;
        at != start
            && !word(text[..at].chars().next_back())
            && !word(text[at + v.len()..].chars().next())
    })
}

/// The `if __name__ == "__main__":` blocks of a Python module: a self-test or demo run by
/// hand, whose sample passwords (`p.encrypt_pin("topSekr3t")`) no deployment reads.
fn main_blocks(text: &str) -> Vec<(usize, usize)> {
    static MAIN: LazyLock<Regex> = LazyLock::new(|| {
        re::new(r#"(?m)^if\s+__name__\s*==\s*['"]__main__['"]\s*:"#).expect("static regex")
    });
    MAIN.find_iter(text)
        .map(|m| {
            let mut end = text.len();
            let mut at = m.end();
            while let Some(nl) = text[at..].find('\n') {
                let line = at + nl + 1;
                let first = text[line..].chars().next();
                if first.is_some_and(|c| !c.is_whitespace() && c != '#') {
                    end = line;
                    break;
                }
                at = line;
            }
            (m.start(), end)
        })
        .collect()
}

/// Undoes leetspeak (`Str0ngp4ssw0rd!` reads `strongpassword!`).
fn unleet(v: &str) -> String {
    v.chars()
        .map(|c| match c {
            '0' => 'o',
            '1' => 'i',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Byte ranges of the `services:` blocks of a workflow: throwaway containers (a CI
/// database's `POSTGRES_PASSWORD`) whose credentials guard nothing.
fn workflow_services(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut open: Option<(usize, usize)> = None; // (start, indent)
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start().len();
        let body = line.trim();
        if let Some((start, ind)) = open {
            if !body.is_empty() && !body.starts_with('#') && indent <= ind {
                out.push((start, at));
                open = None;
            }
        }
        if open.is_none() && body == "services:" {
            open = Some((at, indent));
        }
        at += line.len();
    }
    if let Some((start, _)) = open {
        out.push((start, text.len()));
    }
    out
}

/// Byte ranges of Python triple-quoted strings (docstrings hold examples, not config).
/// Assignments of keys in triple strings are SEC014's business.
fn docstring_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(rel) = text[i..].find(['"', '\'']) {
        let at = i + rel;
        let q = if text[at..].starts_with("\"\"\"") {
            "\"\"\""
        } else if text[at..].starts_with("'''") {
            "'''"
        } else {
            i = at + 1;
            continue;
        };
        let body = at + 3;
        match text[body..].find(q) {
            Some(end) => {
                out.push((at, body + end + 3));
                i = body + end + 3;
            }
            None => {
                out.push((at, text.len()));
                break;
            }
        }
    }
    out
}

/// Whether the line holding `at` is a comment up to `at`.
fn in_comment(text: &str, at: usize) -> bool {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let before = text[line_start..at].trim_start();
    before.starts_with('#') || before.starts_with("//") || before.starts_with(">>>")
}

/// `DEFAULT_API_KEY = "..."` handed to a settings lookup as its fallback
/// (`get_from_config("yubico.secret", DEFAULT_API_KEY)`): a shipped default every install
/// is meant to override, a default-credential concern rather than a leaked secret.
fn overridable_default(text: &str, name: &str) -> bool {
    if !name.to_ascii_lowercase().starts_with("default_") {
        return false;
    }
    re::new(&format!(
        r"\b\w*(?:get|config|setting|env)\w*\([^()\n]*,\s*{}\s*\)",
        regex::escape(name)
    ))
    .is_ok_and(|re| re.is_match(text))
}

/// `api_secret="..."` next to a `measurement_id=` (the GA4 measurement protocol): an
/// analytics stream's ingestion secret shipped in every copy of a client; it only lets
/// others post events to the stream.
fn analytics_ingest_secret(text: &str, name: &str, at: usize) -> bool {
    if !name.eq_ignore_ascii_case("api_secret") {
        return false;
    }
    // The same call: three lines either side.
    let from = text[..at].rmatch_indices('\n').nth(3).map_or(0, |(i, _)| i);
    let to = text[at..]
        .match_indices('\n')
        .nth(3)
        .map_or(text.len(), |(i, _)| at + i);
    text[from..to].contains("measurement_id")
}

/// SEC016: a high-entropy literal assigned to a secret-sounding name.
pub fn secret_assignment(file: &SourceFile, out: &mut Vec<Hit>) {
    let name_of_file = file.rel.rsplit('/').next().unwrap_or(&file.rel);
    if file.lang == Lang::Dotenv
        && [
            ".example",
            ".sample",
            ".template",
            ".dist",
            ".tmpl",
            ".defaults",
        ]
        .iter()
        .any(|s| name_of_file.ends_with(s))
    {
        return;
    }
    let needs_quotes = matches!(file.lang, Lang::Python | Lang::Rust);
    let mains = if file.lang == Lang::Python {
        main_blocks(&file.text)
    } else {
        Vec::new()
    };
    let docs = match file.lang {
        Lang::Python => docstring_ranges(&file.text),
        Lang::Workflow => workflow_services(&file.text),
        _ => Vec::new(),
    };
    for c in ASSIGNMENT.captures_iter(&file.text) {
        let (Some(name), Some(q), Some(value)) = (c.name("name"), c.name("q"), c.name("value"))
        else {
            continue;
        };
        let name_text = name.as_str().rsplit('.').next().unwrap_or(name.as_str());
        if !SECRET_NAME.is_match(name_text) || NOT_SECRET_NAME.is_match(name_text) {
            continue;
        }
        let quote = q.as_str();
        let v = value.as_str();
        if quote.is_empty() {
            if needs_quotes {
                continue;
            }
        } else if !file.text[value.end()..].starts_with(quote) {
            // Not the whole literal (a space, a comma, an interpolation inside).
            continue;
        }
        let password = name_text.to_ascii_lowercase().contains("pass")
            || name_text.to_ascii_lowercase().contains("pwd");
        let (min_len, min_entropy) = if password { (8, 2.5) } else { (16, 3.5) };
        if v.chars().count() < min_len
            || entropy(v) < min_entropy
            || is_placeholder(v)
            || IDENT_LIKE.is_match(v)
            || v.contains("://")
            || v.starts_with('/')
            || v.starts_with("secrets.")
            || v.starts_with("env.")
            || v.starts_with('$')
            || TOKENS
                .iter()
                .any(|(_, re)| re.is_match(v) || re.is_match(&c[0]))
            || SELF_DESCRIBING.is_match(v)
            || SELF_DESCRIBING.is_match(&unleet(v))
            || (password && DEFAULT_PASSWORDS.contains(&v.to_ascii_lowercase().as_str()))
            || (password && default_with_digits(v))
            || (password && echoes_neighbour(&file.text, value.start(), value.end(), v))
            || workflow_app_key(file.lang, name_text)
            || readable_slug(v)
            || rate_limit_spec(v)
            // Words of a human language (a translation): generated secrets are ASCII.
            || !v.is_ascii()
            || phrase_key(&file.text, name.start())
            || docs
                .iter()
                .any(|&(a, b)| a <= value.start() && value.start() < b)
            || in_comment(&file.text, name.start())
            || v.ends_with(['(', '[', '{'])
            || [".pem", ".key", ".json", ".txt", ".crt"]
                .iter()
                .any(|e| v.ends_with(e))
        {
            continue;
        }
        let mut hit = Hit::new(value.start(), value.end())
            .var("name", name.as_str())
            .var("masked", mask(v));
        if mains
            .iter()
            .any(|&(a, b)| a <= value.start() && value.start() < b)
            || overridable_default(&file.text, name_text)
            || analytics_ingest_secret(&file.text, name_text, value.start())
        {
            hit = hit.confidence(crate::checks::Confidence::Low);
        }
        out.push(hit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_separates_random_from_words() {
        assert!(entropy("aaaaaaaa") < 0.1);
        assert!(entropy("wJalrXUtnFEMIK7MDENGbPxRfiCY8f3kQ2") > 4.0);
        assert!(entropy("password") < 3.0);
    }

    #[test]
    fn masks_keep_only_a_prefix() {
        assert_eq!(mask("ghp_abcdefgh"), "ghp_…(12 chars)");
    }

    #[test]
    fn readable_values_are_not_secrets() {
        assert!(readable_slug("shop_cl_e2e_demo_checkout_link"));
        assert!(readable_slug("target=shop-watch_files"));
        assert!(default_with_digits("admin123"));
        assert!(!default_with_digits("q7Tz!mR2vX9k"));
        assert!(!readable_slug("sk_live_4eC39HqLyjWDarjtT1zdp7dc"));
        assert_eq!(unleet("Tr0ub4dor"), "troubador");
        assert!(is_placeholder("changethis"));
    }

    #[test]
    fn services_blocks_of_workflows() {
        let wf = "jobs:\n  t:\n    services:\n      db:\n        env:\n          PW: x\n    steps:\n      - run: y\n";
        let r = workflow_services(wf);
        assert_eq!(r.len(), 1);
        let (a, b) = r[0];
        assert!(wf[a..b].contains("PW: x") && !wf[a..b].contains("steps"));
    }
}
