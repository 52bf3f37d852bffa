//! Python dependency manifests: what a project declares (`requirements*.txt`,
//! `pyproject.toml` for PEP 621, Poetry, PDM, uv and PEP 735 groups, `Pipfile`,
//! `setup.cfg`, literal `install_requires` in `setup.py`), and the tables that map an
//! import name to the distributions that provide it: a table of known mismatches, name
//! heuristics (`django-guardian` provides `guardian`, `fpdf2` provides `fpdf`), and, when the
//! project has a virtual environment, the `top_level.txt`/`RECORD` of what is installed.

pub mod lock;
pub mod stdlib;
pub mod venv;

use crate::model::summary::Located;
use crate::source::re;
use crate::source::SourceFile;
use regex::Regex;
use std::sync::LazyLock;

/// PEP 503 normalised distribution name: lower case, runs of `-_.` as one `-`.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

pub fn is_stdlib(top: &str) -> bool {
    stdlib::STDLIB.binary_search(&top).is_ok()
}

/// Import names whose distribution is called something else. The key is a dotted import
/// prefix; the longest matching prefix wins.
const IMPORT_TO_DIST: &[(&str, &[&str])] = &[
    ("yaml", &["pyyaml", "ruamel-yaml"]),
    ("jwt", &["pyjwt"]),
    ("bson", &["pymongo", "bson"]),
    ("mirage", &["django-mirage-field"]),
    ("jose", &["python-jose"]),
    ("PIL", &["pillow"]),
    (
        "cv2",
        &[
            "opencv-python",
            "opencv-python-headless",
            "opencv-contrib-python",
        ],
    ),
    ("sklearn", &["scikit-learn"]),
    ("skimage", &["scikit-image"]),
    ("bs4", &["beautifulsoup4"]),
    ("dateutil", &["python-dateutil"]),
    ("dotenv", &["python-dotenv"]),
    ("multipart", &["python-multipart"]),
    ("magic", &["python-magic"]),
    ("docx", &["python-docx"]),
    ("pptx", &["python-pptx"]),
    (
        "slugify",
        &["python-slugify", "unicode-slugify", "awesome-slugify"],
    ),
    ("telegram", &["python-telegram-bot"]),
    ("socketio", &["python-socketio"]),
    ("engineio", &["python-engineio"]),
    ("json_logging", &["json-logging"]),
    ("pythonjsonlogger", &["python-json-logger"]),
    ("google.protobuf", &["protobuf"]),
    ("google.cloud", &["google-cloud-*"]),
    ("google.api_core", &["google-api-core"]),
    ("google.auth", &["google-auth"]),
    ("google.oauth2", &["google-auth"]),
    ("googleapiclient", &["google-api-python-client"]),
    ("google.generativeai", &["google-generativeai"]),
    ("google.genai", &["google-genai"]),
    ("grpc", &["grpcio"]),
    ("grpc_tools", &["grpcio-tools"]),
    ("attr", &["attrs"]),
    ("OpenSSL", &["pyopenssl"]),
    ("Crypto", &["pycryptodome", "pycrypto"]),
    ("Cryptodome", &["pycryptodomex"]),
    ("nacl", &["pynacl"]),
    ("psycopg2", &["psycopg2", "psycopg2-binary"]),
    ("psycopg", &["psycopg", "psycopg-binary"]),
    ("MySQLdb", &["mysqlclient"]),
    ("pymysql", &["pymysql"]),
    (
        "sqlalchemy",
        &["sqlalchemy", "flask-sqlalchemy", "sqlmodel"],
    ),
    ("flask_sqlalchemy", &["flask-sqlalchemy"]),
    ("flask_cors", &["flask-cors"]),
    ("flask_login", &["flask-login"]),
    ("flask_wtf", &["flask-wtf"]),
    ("flask_migrate", &["flask-migrate"]),
    ("rest_framework", &["djangorestframework"]),
    ("corsheaders", &["django-cors-headers"]),
    ("environ", &["django-environ"]),
    ("debug_toolbar", &["django-debug-toolbar"]),
    ("django_filters", &["django-filter"]),
    ("storages", &["django-storages"]),
    ("generic_relations", &["rest-framework-generic-relations"]),
    ("vanilla", &["django-vanilla-views"]),
    ("serial", &["pyserial"]),
    ("usb", &["pyusb"]),
    ("zmq", &["pyzmq"]),
    ("git", &["gitpython"]),
    ("github", &["pygithub"]),
    ("gitlab", &["python-gitlab"]),
    ("ldap", &["python-ldap"]),
    ("Levenshtein", &["python-levenshtein", "levenshtein"]),
    ("lxml", &["lxml"]),
    ("markdown", &["markdown"]),
    ("mpl_toolkits", &["matplotlib"]),
    ("pkg_resources", &["setuptools"]),
    ("setuptools", &["setuptools"]),
    ("_pytest", &["pytest"]),
    ("pytest_asyncio", &["pytest-asyncio"]),
    ("pytest_mock", &["pytest-mock"]),
    ("xdist", &["pytest-xdist"]),
    ("tomli_w", &["tomli-w"]),
    ("typing_extensions", &["typing-extensions"]),
    ("win32api", &["pywin32"]),
    ("win32con", &["pywin32"]),
    ("pywintypes", &["pywin32"]),
    ("fitz", &["pymupdf"]),
    ("Bio", &["biopython"]),
    ("sentry_sdk", &["sentry-sdk"]),
    ("kafka", &["kafka-python", "kafka-python-ng"]),
    ("confluent_kafka", &["confluent-kafka"]),
    ("redis", &["redis", "redis-py-cluster"]),
    ("websocket", &["websocket-client"]),
    ("jinja2", &["jinja2"]),
    ("markupsafe", &["markupsafe"]),
    ("dns", &["dnspython"]),
    ("pkg_about", &["pkg-about"]),
    ("memcache", &["python-memcached"]),
    ("snappy", &["python-snappy"]),
    ("Xlib", &["python-xlib"]),
    ("igraph", &["python-igraph", "igraph"]),
    ("faiss", &["faiss-cpu", "faiss-gpu"]),
    ("torch", &["torch"]),
    (
        "tensorflow",
        &["tensorflow", "tensorflow-cpu", "tensorflow-gpu"],
    ),
    ("huggingface_hub", &["huggingface-hub"]),
    ("azure", &["azure-*"]),
    ("opentelemetry", &["opentelemetry-*"]),
    ("zope", &["zope-*"]),
    ("jaraco", &["jaraco-*"]),
    ("sphinxcontrib", &["sphinxcontrib-*"]),
    ("backports", &["backports-*"]),
    ("uvicorn", &["uvicorn"]),
    ("email_validator", &["email-validator"]),
    ("pydantic_settings", &["pydantic-settings"]),
    ("oauth2_provider", &["django-oauth-toolkit"]),
    ("rest_framework_nested", &["drf-nested-routers"]),
    ("simple_history", &["django-simple-history"]),
    ("actstream", &["django-activity-stream"]),
    ("vcr_unittest", &["vcrpy-unittest"]),
    ("crispy_forms", &["django-crispy-forms"]),
    ("pgtrigger", &["django-pgtrigger"]),
    ("onelogin", &["python3-saml"]),
    ("webdav3", &["webdavclient3"]),
    ("factory", &["factory-boy"]),
    ("saml2", &["pysaml2"]),
    ("llama_index", &["llama-index", "llama-index-*"]),
    ("pydantic_ai", &["pydantic-ai", "pydantic-ai-slim"]),
    ("fpdf", &["fpdf2", "fpdf"]),
    ("markdown_it", &["markdown-it-py"]),
    ("re2", &["google-re2", "pyre2"]),
    ("atlassian", &["atlassian-python-api"]),
    ("humps", &["pyhumps"]),
    ("geolite2", &["maxminddb-geolite2"]),
    ("stdnum", &["python-stdnum"]),
    ("gnupg", &["python-gnupg"]),
    ("openfeature_flagsmith", &["openfeature-provider-flagsmith"]),
    ("apiclient", &["google-api-python-client"]),
    ("social_django", &["social-auth-app-django"]),
    ("social_core", &["social-auth-core"]),
    ("argon2", &["argon2-cffi"]),
    ("gi", &["pygobject"]),
    ("wx", &["wxpython"]),
    ("_cffi_backend", &["cffi"]),
    ("pytest_lazyfixture", &["pytest-lazy-fixture"]),
    ("freezegun", &["freezegun", "pytest-freezegun"]),
    ("magic", &["python-magic", "file-magic"]),
    ("ldap3", &["ldap3"]),
    ("bidi", &["python-bidi"]),
    ("jenkins", &["python-jenkins"]),
    ("keycloak", &["python-keycloak"]),
    ("decouple", &["python-decouple"]),
    ("crontab", &["python-crontab", "crontab"]),
    ("editor", &["python-editor"]),
    ("Levenshtein", &["levenshtein", "python-levenshtein"]),
    ("django_comments", &["django-contrib-comments"]),
    ("redminelib", &["python-redmine"]),
    (
        "captcha",
        &["captcha", "django-simple-captcha", "django-recaptcha"],
    ),
    ("opengraph", &["opengraph", "topicaxis-opengraph"]),
    ("sass", &["libsass"]),
    ("rudder_analytics", &["rudder-sdk-python"]),
    ("python_http_client", &["python-http-client"]),
];

/// Distribution name prefixes that the import name drops or rewrites
/// (`django-guardian` provides `guardian`, `djangorestframework-simplejwt`
/// `rest_framework_simplejwt`).
const DIST_PREFIXES: &[(&str, &str)] = &[
    ("django-", ""),
    ("djangorestframework-", "rest-framework-"),
    ("drf-", "rest-framework-"),
    ("drf-", ""),
    ("drf-", "rest-"),
    ("python-", ""),
    ("py-", ""),
    ("asgi-", ""),
    ("google-", ""),
];
/// Distribution name suffixes that the import name drops (`markdown-it-py`, `pydantic-ai-slim`,
/// `llama-index-core`, `atlassian-python-api`, `openfeature-sdk`).
const DIST_SUFFIXES: &[&str] = &[
    "-py", "-python", "-slim", "-core", "-api", "-sdk", "-binary",
];

/// A name compacted for comparison: lower case, without `-`, `_` and `.`.
pub fn compact(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '-' | '_' | '.'))
        .flat_map(|c| c.to_lowercase())
        .collect()
}

/// The import names (compacted: lower case, no separators) a distribution plausibly
/// provides, by the usual naming conventions.
pub fn name_variants(dist: &str) -> Vec<String> {
    let dist = normalise(dist);
    let mut names = vec![dist.clone()];
    for (prefix, with) in DIST_PREFIXES {
        if let Some(rest) = dist.strip_prefix(prefix) {
            names.push(format!("{with}{rest}"));
        }
    }
    // A fork published under a short prefix keeps the original's import name:
    // `bw-file-resubmit` provides `file_resubmit` (two words or more are left, so a
    // one-word remainder such as `flask-cors` → `cors` is not taken).
    if let Some((head, rest)) = dist.split_once('-') {
        if head.len() <= 3 && rest.contains('-') {
            names.push(rest.to_string());
        }
    }
    if let Some(rest) = dist.strip_prefix("py") {
        if rest.len() >= 3 && !rest.starts_with('-') {
            names.push(rest.to_string());
        }
    }
    for _ in 0..2 {
        let more: Vec<String> = names
            .iter()
            .flat_map(|n| DIST_SUFFIXES.iter().filter_map(|s| n.strip_suffix(s)))
            .map(str::to_string)
            .collect();
        names.extend(more);
    }
    // `fpdf2` provides `fpdf` (the whole name only: `pysaml2` provides `saml2`, not `saml`).
    if let Some(n) = dist.strip_suffix(|c: char| c.is_ascii_digit()) {
        if n.len() >= 3 && !n.ends_with(|c: char| c == '-' || c.is_ascii_digit()) {
            names.push(n.to_string());
        }
    }
    let mut out: Vec<String> = names.iter().map(|n| compact(n)).collect();
    out.sort();
    out.dedup();
    out
}

/// Import prefixes of `dotted`, compacted: `a.b.c` gives `abc`, `ab`, `a` (namespace
/// packages such as `pyln.client` are distributions of their own).
fn import_forms(dotted: &str) -> Vec<String> {
    let parts: Vec<&str> = dotted.split('.').collect();
    (1..=parts.len().min(3))
        .rev()
        .map(|n| compact(&parts[..n].join(".")))
        .collect()
}

/// Does distribution `dist` provide the import `dotted` by naming convention?
pub fn provides_by_name(dist: &str, dotted: &str) -> bool {
    let variants = name_variants(dist);
    import_forms(dotted).iter().any(|f| variants.contains(f))
}

/// A looser reading for distributions known to be installed (in a lock file): the import
/// name is a run of the distribution name's words (`maxminddb-geolite2` provides
/// `geolite2`, `flagsmith-flag-engine` `flag_engine`).
pub fn provides_loosely(dist: &str, dotted: &str) -> bool {
    if provides_by_name(dist, dotted) {
        return true;
    }
    let top = normalise(dotted.split('.').next().unwrap_or(dotted));
    if top.len() < 3 {
        return false;
    }
    let dist_n = normalise(dist);
    let segs: Vec<&str> = dist_n.split('-').collect();
    let n = top.split('-').count();
    segs.windows(n).any(|w| w.join("-") == top)
}

/// Distributions that bring another one with them: `(distribution, [requirers])`.
/// Used to say *why* an undeclared import happens to work today.
const TRANSITIVE: &[(&str, &[&str])] = &[
    ("pydantic", &["fastapi", "sqlmodel", "pydantic-settings"]),
    ("pydantic-core", &["pydantic"]),
    ("starlette", &["fastapi"]),
    ("anyio", &["httpx", "starlette", "fastapi"]),
    ("sniffio", &["anyio", "httpx"]),
    ("httpcore", &["httpx"]),
    ("h11", &["httpcore", "uvicorn"]),
    ("werkzeug", &["flask"]),
    ("jinja2", &["flask"]),
    ("itsdangerous", &["flask"]),
    ("click", &["flask", "typer", "uvicorn", "black"]),
    ("markupsafe", &["jinja2", "flask", "werkzeug"]),
    ("blinker", &["flask"]),
    ("urllib3", &["requests", "botocore"]),
    (
        "requests",
        &[
            "pygithub",
            "jira",
            "python-gitlab",
            "python-redmine",
            "requests-oauthlib",
            "requests-toolbelt",
            "docker",
            "kubernetes",
            "twilio",
            "msal",
            "hvac",
            "tldextract",
            "social-auth-core",
            "pysaml2",
            "python-keycloak",
        ],
    ),
    ("idna", &["requests", "httpx", "anyio"]),
    ("certifi", &["requests", "httpx"]),
    ("charset-normalizer", &["requests"]),
    ("botocore", &["boto3"]),
    ("s3transfer", &["boto3"]),
    ("jmespath", &["boto3", "botocore"]),
    ("python-dateutil", &["pandas", "botocore", "matplotlib"]),
    ("six", &["python-dateutil"]),
    ("pytz", &["pandas", "celery", "babel"]),
    (
        "numpy",
        &[
            "pandas",
            "scipy",
            "scikit-learn",
            "opencv-python",
            "matplotlib",
        ],
    ),
    ("scipy", &["scikit-learn"]),
    ("asgiref", &["django"]),
    ("sqlparse", &["django"]),
    ("kombu", &["celery"]),
    ("billiard", &["celery"]),
    ("vine", &["celery"]),
    ("amqp", &["kombu", "celery"]),
    (
        "pyjwt",
        &["pylti1p3", "djangorestframework-simplejwt", "msal"],
    ),
    ("jwcrypto", &["pylti1p3"]),
    // A pylint plugin works on pylint's own syntax trees.
    ("astroid", &["pylint"]),
    (
        "django-crispy-forms",
        &["crispy-bootstrap5", "crispy-bootstrap4", "crispy-tailwind"],
    ),
    ("django-pgtrigger", &["django-pghistory"]),
    ("multidict", &["aiohttp"]),
    ("yarl", &["aiohttp"]),
    ("aiosignal", &["aiohttp"]),
    ("frozenlist", &["aiohttp"]),
    ("attrs", &["aiohttp", "jsonschema", "pytest"]),
    ("cffi", &["cryptography"]),
    (
        "cryptography",
        &[
            "pyjwt",
            "paramiko",
            "pyopenssl",
            "python-jose",
            "jwcrypto",
            "authlib",
            "msal",
            "josepy",
            "pysaml2",
        ],
    ),
    ("rich", &["typer"]),
    ("mako", &["alembic"]),
    ("sqlalchemy", &["alembic", "flask-sqlalchemy", "sqlmodel"]),
    ("greenlet", &["sqlalchemy"]),
    ("pluggy", &["pytest"]),
    ("iniconfig", &["pytest"]),
    (
        "typing-extensions",
        &["pydantic", "fastapi", "sqlalchemy", "anyio"],
    ),
    ("packaging", &["pytest", "setuptools"]),
    (
        "google-api-core",
        &["google-cloud-*", "google-api-python-client"],
    ),
    (
        "google-auth",
        &[
            "google-api-core",
            "google-cloud-storage",
            "google-api-python-client",
            "google-auth-oauthlib",
        ],
    ),
    ("httplib2", &["google-api-python-client", "oauth2client"]),
    ("protobuf", &["grpcio-tools", "google-api-core", "gcloud"]),
    ("pyasn1", &["rsa", "python-jose"]),
    ("rsa", &["python-jose"]),
    ("ecdsa", &["python-jose"]),
    ("tzdata", &["pandas"]),
    ("websockets", &["uvicorn"]),
    ("redis", &["celery"]),
    ("alembic", &["flask-migrate"]),
    (
        "oauthlib",
        &["requests-oauthlib", "flask-dance", "flask-oauthlib"],
    ),
    ("webassets", &["flask-assets"]),
    ("asgi-tools", &["asgi-babel", "asgi-sessions"]),
    ("paramiko", &["sshtunnel"]),
    ("schemaobject", &["schema-sync"]),
    ("aliyun-python-sdk-core", &["aliyun-python-sdk-*"]),
    ("alibabacloud-tea-openapi", &["alibabacloud-*"]),
    ("alibabacloud-tea-util", &["alibabacloud-*"]),
    ("python-http-client", &["sendgrid"]),
];

/// Whether the top-level import name `top` is a well-known third-party package: one the
/// tables above name (`bs4`, `requests`, `urllib3`, `flask`...). Used to tell a vendored
/// copy of other projects' packages (`lib/requests/`, `lib/bs4/`) from the project's own.
pub fn known_third_party(top: &str) -> bool {
    if is_stdlib(top) {
        return false;
    }
    let n = normalise(top);
    IMPORT_TO_DIST.iter().any(|(k, _)| *k == top)
        || TRANSITIVE.iter().any(|(dist, requirers)| {
            *dist == n || requirers.iter().any(|r| !r.ends_with('*') && *r == n)
        })
}

/// Distributions that may provide the import `dotted` (a `*` suffix is a prefix match).
pub fn distributions_for(dotted: &str) -> Vec<String> {
    let best = IMPORT_TO_DIST
        .iter()
        .filter(|(k, _)| dotted == *k || dotted.starts_with(&format!("{k}.")))
        .max_by_key(|(k, _)| k.len());
    let mut out: Vec<String> = match best {
        Some((_, dists)) => dists.iter().map(|d| d.to_string()).collect(),
        None => Vec::new(),
    };
    // Namespace packages: `pyln.client` is the distribution `pyln-client`.
    let parts: Vec<&str> = dotted.split('.').collect();
    let top = normalise(parts[0]);
    // Alibaba Cloud's first SDK: `aliyunsdkrds` is `aliyun-python-sdk-rds`.
    if let Some(product) = top.strip_prefix("aliyunsdk").filter(|p| !p.is_empty()) {
        out.push(format!("aliyun-python-sdk-{product}"));
    }
    // Flask's old extension namespace: `flaskext.versioned` is `Flask-Versioned`.
    if let (Some(&"flaskext"), Some(ext)) = (parts.first(), parts.get(1)) {
        out.push(format!("flask-{}", normalise(ext)));
    }
    if !out.contains(&top) {
        out.push(top);
    }
    for n in (2..=parts.len().min(3)).rev() {
        let name = normalise(&parts[..n].join("-"));
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// The extras a requirement asks for: `celery[redis,sqs]>=5` gives `redis`, `sqs`.
pub fn requirement_extras(req: &str) -> Vec<String> {
    let Some(name) = requirement_name(req) else {
        return Vec::new();
    };
    let rest = req.trim_start()[name.len()..].trim_start();
    match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
        Some((extras, _)) => extras
            .split(',')
            .map(normalise)
            .filter(|e| !e.is_empty())
            .collect(),
        None => Vec::new(),
    }
}

/// Declared distributions (some of) which require `dist`.
pub fn requirers(dist: &str) -> &'static [&'static str] {
    TRANSITIVE
        .iter()
        .find(|(d, _)| *d == dist)
        .map_or(&[], |(_, r)| r)
}

/// Does a declared (normalised) name satisfy one of the candidate distributions?
pub fn satisfies(declared: &str, candidate: &str) -> bool {
    match candidate.strip_suffix('*') {
        Some(prefix) => declared.starts_with(prefix),
        None => declared == candidate,
    }
}

/// What one manifest file declares.
#[derive(Debug, Default)]
pub struct Manifest {
    /// Runtime and optional (extras) dependencies.
    pub declared: Vec<Located>,
    /// Development, test and docs groups.
    pub dev: Vec<Located>,
    /// The project's own distribution name, if the manifest names it.
    pub name: String,
    /// The file declares dependencies at all (a `pyproject.toml` with only tool settings
    /// does not).
    pub is_manifest: bool,
    /// Dependencies are declared in a way this reader cannot see (`dynamic`, computed
    /// `install_requires`).
    pub opaque: bool,
    /// Other requirements files this one includes (`-r base.txt`), as written.
    pub includes: Vec<String>,
}

static REQ_NAME: LazyLock<Regex> =
    LazyLock::new(|| re::new(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)").expect("static regex"));

/// The distribution name of a PEP 508 requirement, if it has one.
pub fn requirement_name(req: &str) -> Option<&str> {
    REQ_NAME
        .captures(req)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str())
}

fn is_dev_group(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "dev", "test", "lint", "doc", "typing", "type", "check", "ci", "bench", "tox", "nox",
        "local",
    ]
    .iter()
    .any(|k| n.contains(k))
}

/// `requirements*.txt`: one requirement a line; options (`-r`, `-e`, `--hash`...),
/// URLs and local paths are skipped.
pub fn parse_requirements(file: &SourceFile) -> Manifest {
    let file_name = file.rel.rsplit('/').next().unwrap_or(&file.rel);
    let dev = is_dev_group(file_name.trim_start_matches("requirements"));
    let mut m = Manifest {
        is_manifest: true,
        ..Manifest::default()
    };
    let mut offset = 0;
    for line in file.text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let code = match line.find(" #") {
            Some(i) => &line[..i],
            None => line,
        };
        let code = code.trim_end_matches(['\n', '\r', '\\']).trim_end();
        let trimmed = code.trim_start();
        if let Some(inc) = ["-r", "--requirement"]
            .iter()
            .find_map(|o| trimmed.strip_prefix(o))
            .filter(|r| r.starts_with([' ', '=', '\t']))
        {
            let inc = inc.trim_start_matches([' ', '=', '\t']).trim();
            if !inc.is_empty() {
                m.includes.push(inc.to_string());
            }
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with(['#', '-', '.', '/']) {
            continue;
        }
        let name = if trimmed.contains("://") && !trimmed.contains(" @ ") {
            // A bare URL still installs something: name it as pip would.
            match url_requirement_name(trimmed) {
                Some(n) => n,
                None => continue,
            }
        } else {
            match requirement_name(trimmed) {
                Some(n) => n,
                None => continue,
            }
        };
        let begin = start + (code.len() - trimmed.len());
        let loc = Located::at(file, begin, begin + trimmed.len(), name, trimmed);
        if dev {
            m.dev.push(loc);
        } else {
            m.declared.push(loc);
        }
    }
    m
}

/// The distribution a bare URL requirement installs: its `#egg=` name, the file name of a
/// wheel or source archive (`mylib-1.0.tar.gz`), or the repository of a forge archive or
/// VCS URL (`https://github.com/okpy/webassets/archive/<sha>.zip`, `git+https://.../y.git`).
pub fn url_requirement_name(url: &str) -> Option<&str> {
    let url = url.split_whitespace().next()?;
    if let Some((_, frag)) = url.split_once("#egg=") {
        return requirement_name(frag);
    }
    let path = url.split_once("://")?.1.split(['?', '#']).next()?;
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let host = segs.first()?.rsplit('@').next()?;
    let forge = ["github.com", "gitlab.com", "bitbucket.org", "codeberg.org"].contains(&host);
    let name = if forge && segs.len() >= 3 {
        segs[2].split('@').next()?.trim_end_matches(".git")
    } else {
        if segs.len() < 2 {
            return None;
        }
        let file = segs.last()?.split('@').next()?;
        let file = file.trim_end_matches(".git");
        if [".whl", ".tar.gz", ".zip", ".tar.bz2"]
            .iter()
            .any(|e| file.ends_with(e))
        {
            file.split('-').next()?
        } else {
            file
        }
    };
    requirement_name(name).filter(|n| n.len() == name.len())
}

/// Locates a requirement string's first occurrence in the file's text.
fn locate(file: &SourceFile, req: &str, name: &str) -> Located {
    let start = file
        .text
        .find(&format!("\"{req}"))
        .map(|i| i + 1)
        .or_else(|| file.text.find(req))
        .or_else(|| file.text.find(name))
        .unwrap_or(0);
    let end = (start + req.len()).min(file.text.len());
    let end = if file.text.is_char_boundary(end) {
        end
    } else {
        start
    };
    Located::at(file, start, end, name, req)
}

fn push_reqs(file: &SourceFile, list: Option<&toml::Value>, out: &mut Vec<Located>) {
    for v in list.and_then(|v| v.as_array()).into_iter().flatten() {
        if let Some(req) = v.as_str() {
            if let Some(name) = requirement_name(req) {
                out.push(locate(file, req, name));
            }
        }
    }
}

/// Poetry/Pipfile style: a table whose keys are distribution names.
fn push_keys(file: &SourceFile, table: Option<&toml::Value>, out: &mut Vec<Located>) {
    for (name, spec) in table.and_then(|t| t.as_table()).into_iter().flatten() {
        if name == "python" {
            continue;
        }
        let req = match spec.as_str() {
            Some(s) => format!("{name}{s}"),
            None => name.clone(),
        };
        let mut loc = locate(file, name, name);
        loc.detail = req;
        out.push(loc);
    }
}

/// `pyproject.toml` and `Pipfile`.
pub fn parse_toml_manifest(file: &SourceFile) -> Manifest {
    let mut m = Manifest::default();
    let Ok(doc) = file.text.parse::<toml::Table>() else {
        return m;
    };
    let get = |path: &[&str]| -> Option<&toml::Value> {
        let mut v = doc.get(*path.first()?)?;
        for k in &path[1..] {
            v = v.get(k)?;
        }
        Some(v)
    };
    if file.rel.ends_with("Pipfile") {
        m.is_manifest = true;
        push_keys(file, get(&["packages"]), &mut m.declared);
        push_keys(file, get(&["dev-packages"]), &mut m.dev);
        return m;
    }
    if let Some(project) = get(&["project"]) {
        m.name = project
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or("")
            .to_string();
        let dynamic = project
            .get("dynamic")
            .and_then(|d| d.as_array())
            .is_some_and(|d| d.iter().any(|x| x.as_str() == Some("dependencies")));
        m.opaque |= dynamic;
        m.is_manifest = true;
        push_reqs(file, project.get("dependencies"), &mut m.declared);
        for (_, extra) in project
            .get("optional-dependencies")
            .and_then(|t| t.as_table())
            .into_iter()
            .flatten()
        {
            push_reqs(file, Some(extra), &mut m.declared);
        }
    }
    push_reqs(file, get(&["build-system", "requires"]), &mut m.dev);
    // PEP 735 groups: development ones (`dev`, `test`, `lint`...) and optional feature sets
    // (`all_ds`, `postgres`), which count like extras.
    for (name, group) in get(&["dependency-groups"])
        .and_then(|t| t.as_table())
        .into_iter()
        .flatten()
    {
        m.is_manifest = true;
        if is_dev_group(name) {
            push_reqs(file, Some(group), &mut m.dev);
        } else {
            push_reqs(file, Some(group), &mut m.declared);
        }
    }
    if let Some(poetry) = get(&["tool", "poetry"]) {
        if m.name.is_empty() {
            m.name = poetry
                .get("name")
                .and_then(|n| n.as_str())
                .unwrap_or("")
                .to_string();
        }
        if poetry.get("dependencies").is_some() {
            m.is_manifest = true;
        }
        push_keys(file, poetry.get("dependencies"), &mut m.declared);
        push_keys(file, poetry.get("dev-dependencies"), &mut m.dev);
        for (_, group) in poetry
            .get("group")
            .and_then(|g| g.as_table())
            .into_iter()
            .flatten()
        {
            push_keys(file, group.get("dependencies"), &mut m.dev);
        }
    }
    for path in [
        &["tool", "pdm", "dev-dependencies"][..],
        &["tool", "uv", "dev-dependencies"][..],
    ] {
        match get(path) {
            Some(v) if v.is_table() => {
                for (_, g) in v.as_table().into_iter().flatten() {
                    push_reqs(file, Some(g), &mut m.dev);
                }
            }
            other => push_reqs(file, other, &mut m.dev),
        }
    }
    for (_, env) in get(&["tool", "hatch", "envs"])
        .and_then(|t| t.as_table())
        .into_iter()
        .flatten()
    {
        push_reqs(file, env.get("dependencies"), &mut m.dev);
        push_reqs(file, env.get("extra-dependencies"), &mut m.dev);
    }
    // A maturin `bindings = "bin"` project (ruff's shape) packages a compiled program: its
    // `[project]` says how to install that binary, not what the repository's Python code
    // imports. Without dependencies or groups it declares nothing about Python code.
    let binary_only = get(&["tool", "maturin", "bindings"]).and_then(|b| b.as_str()) == Some("bin");
    if binary_only && m.declared.is_empty() && get(&["dependency-groups"]).is_none() {
        m.is_manifest = false;
    }
    m
}

/// `setup.cfg`: `install_requires`, `extras_require` and `tests_require` under `[options]`.
pub fn parse_setup_cfg(file: &SourceFile) -> Manifest {
    let mut m = Manifest::default();
    let mut section = String::new();
    let mut key = String::new();
    let mut offset = 0;
    for line in file.text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed.trim_matches(['[', ']']).to_string();
            key.clear();
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with(['#', ';']) {
            continue;
        }
        let indented = line.starts_with([' ', '\t']);
        let value = if !indented {
            match trimmed.split_once('=') {
                Some((k, v)) => {
                    key = k.trim().to_string();
                    if section == "metadata" && key == "name" {
                        m.name = v.trim().to_string();
                    }
                    v.trim()
                }
                None => continue,
            }
        } else {
            trimmed
        };
        let value = if section == "options.extras_require" && !indented {
            ""
        } else {
            value
        };
        let wanted = (section == "options"
            && matches!(key.as_str(), "install_requires" | "tests_require"))
            || section == "options.extras_require";
        if !wanted || value.is_empty() {
            continue;
        }
        if section == "options" {
            m.is_manifest = true;
        }
        if value.starts_with("file:") || value.starts_with("attr:") {
            m.opaque = true;
            continue;
        }
        if let Some(name) = requirement_name(value) {
            let begin = start + line.find(value).unwrap_or(0);
            let loc = Located::at(file, begin, begin + value.len(), name, value);
            if key == "tests_require" {
                m.dev.push(loc);
            } else {
                m.declared.push(loc);
            }
        }
    }
    m
}

static INSTALL_REQUIRES: LazyLock<Regex> = LazyLock::new(|| {
    re::new(r"(install_requires|tests_require|extras_require)\s*=\s*(\[[^\]]*\]|\{[^}]*\})?")
        .expect("static regex")
});
static QUOTED: LazyLock<Regex> =
    LazyLock::new(|| re::new(r#"["']([^"'\n]+)["']"#).expect("static regex"));

/// `setup.py`: literal lists passed as `install_requires=[...]`; anything computed makes
/// the manifest opaque.
pub fn parse_setup_py(file: &SourceFile) -> Manifest {
    let mut m = Manifest::default();
    for c in INSTALL_REQUIRES.captures_iter(&file.text) {
        m.is_manifest = true;
        let Some(list) = c.get(2) else {
            m.opaque = true;
            continue;
        };
        let dev = c.get(1).is_some_and(|k| k.as_str() == "tests_require");
        for q in QUOTED.captures_iter(list.as_str()) {
            let Some(req) = q.get(1) else { continue };
            let text = req.as_str();
            // `extras_require` keys are extra names, not requirements; harmless as names.
            if let Some(name) = requirement_name(text) {
                let begin = list.start() + req.start();
                let loc = Located::at(file, begin, begin + text.len(), name, text);
                if dev {
                    m.dev.push(loc);
                } else {
                    m.declared.push(loc);
                }
            }
        }
    }
    m
}

/// True when a requirement pins one version (`==`, `===`, `~=`, or hashes) or a URL
/// (an archive, or a VCS URL at a ref).
pub fn is_pinned(req: &str) -> bool {
    req.contains("==")
        || req.contains("~=")
        || req.contains("--hash")
        || req.contains(" @ ")
        || req.contains("://") && (!req.starts_with("git+") || vcs_ref(req))
}

/// A `git+https://host/o/r.git@ref` URL names a ref.
fn vcs_ref(url: &str) -> bool {
    url.split_once("://")
        .map(|(_, rest)| rest.split('#').next().unwrap_or(rest))
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(_, path)| path.contains('@'))
}

/// True when a requirement bounds its version from above (`<`, `<=`, `==2.*`, `~=`) or
/// pins it: a range the maintainers chose, which a new major release cannot leave.
pub fn is_bounded(req: &str) -> bool {
    let spec = req.split(';').next().unwrap_or(req);
    is_pinned(req) || spec.contains('<')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::lang::Lang;

    #[test]
    fn names_normalise_per_pep_503() {
        assert_eq!(normalise("Flask_SQLAlchemy"), "flask-sqlalchemy");
        assert_eq!(normalise("ruamel.yaml"), "ruamel-yaml");
        assert_eq!(normalise("typing__extensions"), "typing-extensions");
    }

    #[test]
    fn stdlib_is_known() {
        assert!(is_stdlib("json") && is_stdlib("tomllib") && is_stdlib("asyncore"));
        assert!(!is_stdlib("requests"));
    }

    #[test]
    fn url_requirements_are_named() {
        let name = url_requirement_name;
        assert_eq!(
            name("https://github.com/okpy/webassets/archive/978b806.zip"),
            Some("webassets")
        );
        assert_eq!(name("git+https://gitlab.com/a/b-c.git@v1"), Some("b-c"));
        assert_eq!(name("git+ssh://git@github.com/a/lib.git"), Some("lib"));
        assert_eq!(
            name("https://files.example.com/pkgs/mylib-1.0-py3-none-any.whl"),
            Some("mylib")
        );
        assert_eq!(name("https://x.org/a.zip#egg=real_name"), Some("real_name"));
        assert_eq!(name("https://x.org/"), None);
        assert!(is_pinned("https://github.com/o/r/archive/978b806.zip"));
        assert!(!is_pinned("git+https://github.com/o/r.git"));
        assert!(is_pinned("git+https://github.com/o/r.git@v1.2"));
        assert!(is_bounded("markdown>=2.6,<2.7") && is_bounded("numpy==2.*"));
        assert!(!is_bounded("flake8>=2.5.4") && !is_bounded("httpx; python_version<'3.12'"));
    }

    #[test]
    fn requirements_are_read() {
        let f = SourceFile::new(
            "requirements.txt".into(),
            Lang::Manifest,
            "# app\n-r base.txt\nfastapi==0.115.0  # web\nPyYAML>=6; python_version>'3.8'\n\
             uvicorn[standard]==0.30.1 \\\n    --hash=sha256:abc\n-e ./lib\n\
             git+https://github.com/x/y.git\nmylib @ https://example.com/mylib.whl\n"
                .into(),
        );
        let m = parse_requirements(&f);
        let names: Vec<&str> = m.declared.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["fastapi", "PyYAML", "uvicorn", "y", "mylib"]);
        assert_eq!(m.declared[0].line, 3);
    }

    #[test]
    fn pyproject_flavours_are_read() {
        let f = SourceFile::new(
            "pyproject.toml".into(),
            Lang::Manifest,
            "[project]\nname = \"shop\"\ndependencies = [\"fastapi>=0.110\", \"sqlalchemy[asyncio]\"]\n\
             [project.optional-dependencies]\nredis = [\"redis>=5\"]\n\
             [dependency-groups]\ntest = [\"pytest\", {include-group = \"lint\"}]\n\
             [tool.poetry.group.dev.dependencies]\nmypy = \"^1.0\"\n"
                .into(),
        );
        let m = parse_toml_manifest(&f);
        assert_eq!(m.name, "shop");
        let names: Vec<&str> = m.declared.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["fastapi", "sqlalchemy", "redis"]);
        let dev: Vec<&str> = m.dev.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(dev, ["pytest", "mypy"]);
        assert_eq!(m.declared[0].line, 3);
    }

    #[test]
    fn binary_wheel_pyproject_is_not_a_manifest() {
        let text =
            "[build-system]\nrequires = [\"maturin>=1.7,<2\"]\nbuild-backend = \"maturin\"\n\
                    [project]\nname = \"tool-bin\"\ndependencies = []\n\
                    [tool.maturin]\nbindings = \"bin\"\n";
        let f = SourceFile::new("pyproject.toml".into(), Lang::Manifest, text.into());
        assert!(!parse_toml_manifest(&f).is_manifest);
        // The same project with runtime dependencies still declares them.
        let with_deps = text.replace("dependencies = []", "dependencies = [\"requests\"]");
        let f = SourceFile::new("pyproject.toml".into(), Lang::Manifest, with_deps);
        assert!(parse_toml_manifest(&f).is_manifest);
    }

    #[test]
    fn import_names_map_to_distributions() {
        assert!(distributions_for("yaml").contains(&"pyyaml".to_string()));
        assert!(distributions_for("google.protobuf.message").contains(&"protobuf".to_string()));
        assert!(distributions_for("google.cloud.storage")
            .iter()
            .any(|d| satisfies("google-cloud-storage", d)));
        assert_eq!(distributions_for("requests"), ["requests"]);
        assert!(distributions_for("pyln.client").contains(&"pyln-client".to_string()));
        assert!(distributions_for("flaskext.versioned").contains(&"flask-versioned".to_string()));
    }

    #[test]
    fn naming_conventions_map_imports() {
        for (dist, import) in [
            ("django-guardian", "guardian"),
            ("django-soft-delete", "django_softdelete"),
            (
                "djangorestframework-simplejwt",
                "rest_framework_simplejwt.tokens",
            ),
            ("python-gnupg", "gnupg"),
            ("markdown-it-py", "markdown_it"),
            ("fpdf2", "fpdf"),
            ("pysaml2", "saml2"),
            ("pydantic-ai-slim", "pydantic_ai"),
            ("llama-index-core", "llama_index.core"),
            ("atlassian-python-api", "atlassian"),
            ("asgi-ratelimit", "ratelimit"),
            ("google-re2", "re2"),
            ("pyhumps", "humps"),
            ("pyln-client", "pyln.client"),
        ] {
            assert!(provides_by_name(dist, import), "{dist} provides {import}");
        }
        assert!(!provides_by_name("pysaml2", "saml"));
        assert!(!provides_by_name("requests", "httpx"));
        assert!(provides_loosely("maxminddb-geolite2", "geolite2"));
        assert!(provides_loosely(
            "flagsmith-flag-engine",
            "flag_engine.segments"
        ));
        assert!(!provides_loosely("maxminddb-geolite2", "maxmind"));
    }

    #[test]
    fn includes_and_extras_are_read() {
        let f = SourceFile::new(
            "requirements/prod.txt".into(),
            Lang::Manifest,
            "-r base.txt\n--requirement=../shared/requirements.txt\ncelery[redis, sqs]==5.4\n"
                .into(),
        );
        let m = parse_requirements(&f);
        assert_eq!(m.includes, ["base.txt", "../shared/requirements.txt"]);
        assert_eq!(requirement_extras(&m.declared[0].detail), ["redis", "sqs"]);
    }
}
