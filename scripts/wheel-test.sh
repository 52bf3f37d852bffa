#!/usr/bin/env bash
# Builds the Python wheel that carries the strata binary (maturin, `bindings = "bin"`,
# pyproject.toml), installs it offline into a fresh virtualenv from the local file, and
# runs the README's demo scan with the installed `strata`: exit code 1 (findings), JSON
# that parses, findings in it, and a `--version` naming this version and commit.
#
# maturin: $MATURIN, else `maturin` on PATH, else installed with pip into a temporary
# virtualenv. The wheel build shares cargo's target directory (CARGO_TARGET_DIR or
# target/), so after `cargo build --release` it mostly relinks. WHEEL_DIR=DIR keeps a copy
# of the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

maturin=${MATURIN:-}
if [ -z "$maturin" ] && command -v maturin >/dev/null 2>&1; then
  maturin=$(command -v maturin)
fi
if [ -z "$maturin" ]; then
  echo "== installing maturin (pip)"
  "$python" -m venv "$work/tools"
  "$work/tools/bin/python" -m pip install --quiet --disable-pip-version-check "maturin>=1.7,<2"
  maturin="$work/tools/bin/maturin"
fi
"$maturin" --version

echo "== maturin build --release"
"$maturin" build --release --locked --out "$work/wheels"
wheels=("$work"/wheels/*.whl)
if [ "${#wheels[@]}" -ne 1 ] || [ ! -f "${wheels[0]}" ]; then
  echo "expected one wheel, found: ${wheels[*]}" >&2
  exit 1
fi
echo "built $(basename "${wheels[0]}")"
if [ -n "${WHEEL_DIR:-}" ]; then
  mkdir -p "$WHEEL_DIR"
  cp "${wheels[0]}" "$WHEEL_DIR/"
fi

echo "== fresh virtualenv, offline install of the wheel"
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-index "${wheels[0]}"
strata="$work/venv/bin/strata"
if [ ! -x "$strata" ]; then
  echo "the wheel did not install a strata executable into the virtualenv" >&2
  exit 1
fi

echo "== strata --version (installed): this version, this commit"
installed=$("$strata" --version)
echo "$installed"
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
case "$installed" in
  "strata $version (commit "*", rules "*")") ;;
  *) echo "unexpected --version from the wheel (Cargo.toml says $version)" >&2; exit 1 ;;
esac
if head=$(git rev-parse --short=12 HEAD 2>/dev/null) && [ -z "${STRATA_GIT_COMMIT:-}" ]; then
  case "$installed" in
    *"(commit $head,"*) ;;
    *) echo "the wheel's binary does not name HEAD ($head)" >&2; exit 1 ;;
  esac
fi

echo "== strata scan fixtures/demo --format json (installed)"
code=0
"$strata" scan fixtures/demo --format json --no-cache --quiet > "$work/demo.json" || code=$?
if [ "$code" -ne 1 ]; then
  echo "expected exit code 1 (findings) from the demo scan, got $code" >&2
  exit 1
fi
"$python" - "$work/demo.json" <<'PY'
import json
import sys

with open(sys.argv[1], encoding="utf-8") as f:
    report = json.load(f)
findings = report["findings"]
if not findings:
    sys.exit("the demo scan reported no findings")
rules = sorted({f["rule"] for f in findings})
print(f"{len(findings)} findings, {len(rules)} rules: {' '.join(rules)}")
PY
echo "wheel test passed"
