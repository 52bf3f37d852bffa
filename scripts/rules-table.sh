#!/usr/bin/env bash
# Regenerates the rules table of README.md (between the rules:start/rules:end markers)
# from `strata rules --format json`.
set -euo pipefail
cd "$(dirname "$0")/.."
table=$(cargo run -q --release -- rules --format json | jq -r '
  "| id | layer | severity | languages | what it finds |",
  "|---|---|---|---|---|",
  (.[] | "| `\(.id)` \(.name) | \(.layer) | \(.severity) | \(.languages | join(", ")) | \(.summary | gsub("\\|"; "\\\\|")) |")')
python3 - "$table" <<'PY'
import re, sys
table = sys.argv[1]
text = open("README.md").read()
new = re.sub(r"(<!-- rules:start -->\n).*?(<!-- rules:end -->)",
             lambda m: m.group(1) + table + "\n" + m.group(2), text, flags=re.S)
open("README.md", "w").write(new)
PY
