//! SEC032: MD5/SHA-1 (and MD4) digests used for a password, a signature or a credential.
//! SEC033: broken ciphers (DES, 3DES, RC4, RC2, Blowfish, IDEA, CAST5, SEED), ECB mode,
//! RSA/DSA keys under 2048 bits and elliptic curves under 224 bits.
//! SEC034: the `random` module producing a token, password, code, salt or nonce.

use super::baseline::{destination_names, keyword_is, run, Call, Rule, Scan};
use crate::checks::py::{keyword_arg, positional_arg, snippet};
use crate::checks::{Confidence, FileContext, Hit};
use crate::model::facts::python::{string_value, text};
use crate::source::re;
use regex::Regex;
use std::sync::LazyLock;

/// Words that make a digest a security one.
static SECURITY_USE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)passw|passwd|(?:^|[^a-z])pwd|passphrase|credential|signature|signing|(?:^|_)sign(?:_|$|ed)|(?:^|_)(?:hmac|mac)(?:_|$)|api_?key|secret")
        .expect("re")
});

/// Functions whose job is a password hash or a signature (`hash_password`, `sign_request`).
static SECURITY_FUNCTION: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(?:hash|encode|make|check|verify|set|encrypt|store|digest)_?(?:password|passwd|pwd|passphrase)|(?:^|_)sign(?:_|$|ature|ed|ing)")
        .expect("re")
});

/// Functions that make a cache validator or key (`build_etag`, `cache_key`).
static CACHE_VALIDATOR: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"(?i)etag|cache_?key").expect("re"));

const WEAK_HASH_NAMES: &[&str] = &["md5", "sha1", "md4", "md5-sha1", "ripemd160", "sha"];

/// SEC032
pub fn weak_hash(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    run(ctx, Rule::WeakHash, out);
}

/// SEC032, one call.
pub fn weak_hash_call(s: &Scan<'_, '_>, c: &Call<'_, '_>, out: &mut Vec<Hit>) {
    let (facts, src) = (s.facts, s.src);
    let n = c.name.as_str();
    let algo = match n {
        "hashlib.md5" | "hashlib.sha1" => n.trim_start_matches("hashlib.").to_string(),
        "hashlib.new" => {
            let Some(v) = positional_arg(c.args, 0)
                .or_else(|| keyword_arg(c.args, "name", src))
                .and_then(|a| string_value(a, src))
            else {
                return;
            };
            let v = v.to_ascii_lowercase();
            if !WEAK_HASH_NAMES.contains(&v.as_str()) {
                return;
            }
            v
        }
        _ if (n.starts_with("cryptography.")
            && (n.ends_with("hashes.MD5") || n.ends_with("hashes.SHA1")))
            || ((n.starts_with("Crypto.Hash.") || n.starts_with("Cryptodome.Hash."))
                && (n.ends_with("MD5.new")
                    || n.ends_with("SHA.new")
                    || n.ends_with("SHA1.new")
                    || n.ends_with("MD4.new"))) =>
        {
            c.last().to_string()
        }
        _ => return,
    };
    if keyword_is(c.args, "usedforsecurity", "False", src) {
        return;
    }
    // The security use: what is hashed, where the digest goes, the function around it.
    let mut evidence = vec![text(c.args, src).to_string()];
    evidence.extend(destination_names(c.node, src, facts));
    let security = evidence.iter().any(|e| SECURITY_USE.is_match(e))
        || facts
            .function_at(c.node.start_byte())
            .is_some_and(|f| SECURITY_FUNCTION.is_match(&f.name));
    // `build_etag()`: the digest is a cache validator, where MD5's collisions break
    // nothing (a secret mixed into it is another problem than the algorithm).
    let validator = facts
        .function_at(c.node.start_byte())
        .is_some_and(|f| CACHE_VALIDATOR.is_match(&f.name));
    let conf = if security && !validator {
        Confidence::Medium
    } else {
        Confidence::Low
    };
    out.push(
        c.hit()
            .var("what", format!("{algo} digest"))
            .confidence(conf),
    );
}

const WEAK_CIPHERS: &[&str] = &[
    "ARC4",
    "TripleDES",
    "Blowfish",
    "IDEA",
    "CAST5",
    "SEED",
    "DES",
    "DES3",
    "ARC2",
    "XOR",
    "CAST",
];

static SMALL_CURVE: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"^(?:SECP192R1|SECT163K1|SECT163R2|SECP160R1|SECP112R1|SECP128R1|NIST192p)$")
        .expect("re")
});

/// SEC033
pub fn weak_cipher(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    run(ctx, Rule::WeakCipher, out);
}

/// SEC033, one call.
pub fn weak_cipher_call(s: &Scan<'_, '_>, c: &Call<'_, '_>, out: &mut Vec<Hit>) {
    let src = s.src;
    let n = c.name.as_str();
    let crypto = n.starts_with("cryptography.")
        || n.starts_with("Crypto.")
        || n.starts_with("Cryptodome.")
        || n.starts_with("pyDes.")
        || n.starts_with("ecdsa.");
    if !crypto {
        return;
    }
    let parts: Vec<&str> = n.split('.').collect();
    let last = parts.last().copied().unwrap_or("");
    let prev = parts.len().checked_sub(2).map_or("", |i| parts[i]);
    let what: Option<String> =
        if n.starts_with("cryptography.") && prev == "algorithms" && WEAK_CIPHERS.contains(&last) {
            Some(format!("the {last} cipher"))
        } else if n.starts_with("cryptography.") && prev == "modes" && last == "ECB" {
            Some("ECB mode".to_string())
        } else if (n.starts_with("Crypto.Cipher.") || n.starts_with("Cryptodome.Cipher."))
            && last == "new"
        {
            if WEAK_CIPHERS.contains(&prev) {
                Some(format!("the {prev} cipher"))
            } else if text(c.args, src).contains("MODE_ECB") {
                Some("ECB mode".to_string())
            } else if positional_arg(c.args, 1).is_none()
                && keyword_arg(c.args, "mode", src).is_none()
                && prev == "AES"
            {
                // PyCryptodome requires a mode; PyCrypto defaulted to ECB.
                Some("ECB mode (the PyCrypto default)".to_string())
            } else {
                None
            }
        } else if n.starts_with("pyDes.") && matches!(last, "des" | "triple_des") {
            Some("the DES cipher".to_string())
        } else if matches!(last, "generate_private_key" | "generate")
            && matches!(prev, "rsa" | "dsa" | "RSA" | "DSA")
        {
            let size = keyword_arg(c.args, "key_size", src)
                .or_else(|| keyword_arg(c.args, "bits", src))
                .or_else(|| positional_arg(c.args, usize::from(prev == "rsa")))
                .and_then(|v| text(v, src).replace('_', "").parse::<u32>().ok());
            size.filter(|s| *s < 2048)
                .map(|s| format!("a {s}-bit {} key", prev.to_ascii_uppercase()))
        } else if SMALL_CURVE.is_match(last) && !read_for_name(c.node, src) {
            Some(format!("the {last} curve"))
        } else {
            None
        };
    let Some(what) = what else { return };
    out.push(c.at().var("callee", snippet(c.written)).var("what", what));
}

/// `ec.SECP192R1().name` / `.key_size`: the curve object is made only to read what it is
/// called (a table naming the curve of an existing key); no key is made on it.
fn read_for_name(call: tree_sitter::Node<'_>, src: &str) -> bool {
    call.parent().is_some_and(|p| {
        p.kind() == "attribute"
            && p.child_by_field_name("object") == Some(call)
            && p.child_by_field_name("attribute")
                .is_some_and(|a| matches!(text(a, src), "name" | "key_size"))
    })
}

static SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)(?:^|[_.])(?:token|tokens|password|passwd|pwd|passphrase|secret|otp|totp|nonce|salt|csrf|xsrf|pin|passcode|api_?key|apikey|session_?id|sessionid|session_key|reset_code|verification_code|verify_code|auth_code|confirm_code|confirmation_code|invite_code|activation_code|one_time_code|access_key|secret_key|private_key|signing_key)(?:_|$)|^(?:gen|generate|make|create|new|random)_(?:token|password|secret|otp|code|nonce|salt|pin|api_key)s?$")
        .expect("re")
});

static NOT_SECRET_FUNCTION: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(?i)boundary|jitter|backoff|delay|sample|shuffle|colou?r|demo|fake|dummy|seed|fixture|mock")
        .expect("re")
});

const RANDOM_FNS: &[&str] = &[
    "random.random",
    "random.randint",
    "random.randrange",
    "random.choice",
    "random.choices",
    "random.sample",
    "random.getrandbits",
    "random.shuffle",
    "random.randbytes",
    "random.uniform",
];

/// SEC034
pub fn insecure_random(ctx: &FileContext<'_>, out: &mut Vec<Hit>) {
    run(ctx, Rule::InsecureRandom, out);
}

/// SEC034, one call.
pub fn insecure_random_call(s: &Scan<'_, '_>, c: &Call<'_, '_>, out: &mut Vec<Hit>) {
    let (facts, src) = (s.facts, s.src);
    if !RANDOM_FNS.contains(&c.name.as_str()) {
        return;
    }
    let names = destination_names(c.node, src, facts);
    let mut hit = names.iter().find(|n| SECRET_NAME.is_match(n)).cloned();
    if hit.is_none() {
        // A function whose whole job is to make a secret.
        if let Some(f) = facts.function_at(c.node.start_byte()) {
            if SECRET_NAME.is_match(&f.name) && !f.name.contains("test") {
                hit = Some(f.name.clone());
            }
        }
    }
    let Some(name) = hit else { return };
    // A MIME boundary, a jitter or a sample named `token`.
    if facts
        .function_at(c.node.start_byte())
        .is_some_and(|f| NOT_SECRET_FUNCTION.is_match(&f.name))
    {
        return;
    }
    // `random.shuffle(chars)` of characters drawn with `secrets.choice`: only their order is
    // predictable (where the required character classes sit), not the characters.
    let secure_items = c.name == "random.shuffle"
        && facts.function_at(c.node.start_byte()).is_some_and(|f| {
            let body = &src[f.start..f.end];
            body.contains("secrets.") || body.contains("SystemRandom")
        });
    let confidence = if secure_items {
        Confidence::Low
    } else {
        Confidence::Medium
    };
    out.push(c.hit().var("name", name).confidence(confidence));
}
