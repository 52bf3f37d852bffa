#!/usr/bin/env python3
"""Counts per security family for Bandit, Ruff's S rules and strata on the given
directories: the measured table of docs/peers.md.

Usage: scripts/peers-families.py STRATA_BINARY DIR...   (bandit and ruff on PATH)

Each cell is "Bandit / Ruff / strata default (+ strata low)", counted outside test code
(tests/, test/, test_*.py, *_test.py, conftest.py) and outside site-packages, for all three
tools alike. With --details, every finding is printed as TOOL FAMILY PATH:LINE ID.
"""
import json
import os
import re
import subprocess
import sys

FAMILIES = [
    ("code-exec", {"B102", "B307"}, {"S102", "S307"}, {"SEC030"}),
    ("shell", {"B601", "B602", "B604", "B605", "B609"}, {"S601", "S602", "S604", "S605", "S609"}, {"SEC031"}),
    ("weak-hash", {"B303", "B324"}, {"S303", "S324"}, {"SEC032"}),
    ("weak-cipher/key", {"B304", "B305", "B505"}, {"S304", "S305", "S505"}, {"SEC033"}),
    ("random", {"B311"}, {"S311"}, {"SEC034"}),
    ("xml", {f"B{n}" for n in range(313, 321)}, {f"S{n}" for n in range(313, 321)}, {"SEC035"}),
    ("tmp/chmod", {"B103", "B108", "B306"}, {"S103", "S108", "S306"}, {"SEC036"}),
    ("tar", {"B202"}, {"S202"}, {"SEC037"}),
    ("debug", {"B201"}, {"S201"}, {"SEC038"}),
    ("tls-version", {"B502", "B503", "B504"}, {"S502", "S503", "S504"}, {"SEC039"}),
    ("tls-verify", {"B501", "B323"}, {"S501", "S323"}, {"SEC003"}),
    ("ssh-hostkey", {"B507"}, {"S507"}, {"SEC040"}),
    ("deserialise", {"B301", "B302", "B506", "B614"}, {"S301", "S302", "S506", "S614"}, {"SEC002", "SEC041"}),
    ("html/xss", {"B308", "B701", "B702", "B703", "B704"}, {"S308", "S701", "S702", "S703", "S704"}, {"SEC042"}),
    ("sql", {"B608", "B610", "B611"}, {"S608", "S610", "S611"}, {"SEC027", "SEC020"}),
    ("passwords", {"B105", "B106", "B107"}, {"S105", "S106", "S107"}, {"SEC016"}),
]

TEST = re.compile(r"(^|/)(tests?|idle_test)/|(^|/)test_[^/]*\.py$|_test\.py$|(^|/)conftest\.py$|site-packages/")


def family(tool, rid, message=""):
    if tool == "strata" and rid == "SEC021":
        return "code-exec" if re.search(r"\b(eval|exec|compile)\b", message) else "shell"
    for name, b, r, s in FAMILIES:
        if rid in {"bandit": b, "ruff": r, "strata": s}[tool]:
            return name
    return None


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True).stdout


def findings(strata, d):
    rel = lambda p: os.path.relpath(os.path.join(d, p) if not os.path.isabs(p) else p, d)
    out = []
    doc = json.loads(run(["bandit", "-r", "-q", "-f", "json", d]) or "{}")
    for r in doc.get("results", []):
        out.append(("bandit", r["test_id"], rel(r["filename"]), r["line_number"], ""))
    doc = json.loads(run(["ruff", "check", "--select", "S", "--no-cache", "--output-format", "json", "--exit-zero", d]) or "[]")
    for r in doc:
        out.append(("ruff", r["code"] or "", rel(r["filename"]), r["location"]["row"], ""))
    doc = json.loads(run([strata, "scan", d, "--format", "json", "--min-confidence", "low", "--no-timing", "--fail-on", "never", "-q"]) or "{}")
    for f in doc.get("findings", []):
        tool = "strata" if f.get("confidence") != "low" else "strata-low"
        out.append((tool, f["rule"], rel(f["path"]), f["line"], f.get("message", "")))
    return [x for x in out if not TEST.search(x[2])]


def main():
    args = sys.argv[1:]
    details = "--details" in args
    args = [a for a in args if a != "--details"]
    strata, dirs = args[0], args[1:]
    names = [os.path.basename(d.rstrip("/")) for d in dirs]
    table = {}
    for d, name in zip(dirs, names):
        counts = {}
        for tool, rid, path, line, msg in findings(strata, d):
            fam = family("strata" if tool.startswith("strata") else tool, rid, msg)
            if fam is None:
                continue
            counts[(fam, tool)] = counts.get((fam, tool), 0) + 1
            if details:
                print(f"{name} {tool} {fam} {path}:{line} {rid}")
        table[name] = counts
    print("| family | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for fam, *_ in FAMILIES:
        cells = []
        for name in names:
            c = table[name]
            g = lambda t: c.get((fam, t), 0)
            cells.append(f"{g('bandit')} / {g('ruff')} / {g('strata')} (+{g('strata-low')})")
        print(f"| {fam} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
