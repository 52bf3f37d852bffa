#!/usr/bin/env python3
"""How many of the lines marked in Semgrep's own rule tests strata, Ruff and Bandit report.

Usage: scripts/semgrep-tests.py STRATA_BINARY RULES_DIR [--details]

RULES_DIR is a checkout of the public semgrep-rules repository (its `python/` and `rust/`
directories are enough). Every test file under a `security` directory marks the lines its rule
must match with a `# ruleid: ID` comment above them and the near misses with `# ok: ID`. A
marked line counts as found when a tool reports a finding on it, on the continuation lines
of its statement, or on the two lines above its annotation when they open the call it sits in
(Semgrep marks the argument, strata and Bandit may report the call). Ruff runs with `--select S`, Bandit with its defaults, strata with tests
and scripts included, at default confidence and with `--min-confidence low`. The test files
often leave out imports (`pickle.loads(...)` with no `import pickle`), which strata requires
before it trusts a name, so strata's figure is a lower bound. With `--details`, every marked
line is printed with the tools that found it.
"""
import collections
import json
import os
import re
import subprocess
import sys

ANNOTATION = re.compile(r'^\s*(#|//)\s*(ruleid|ok|todoruleid|todook)\s*:\s*([\w.-]+)')


def comment_or_blank(line):
    s = line.strip()
    return not s or s.startswith('#') or s.startswith('//')


def indent(line):
    return len(line) - len(line.lstrip())


def marked_lines(root):
    """(path, first line) -> (kind, rule id, last line of the statement)."""
    marks = {}
    for dirpath, _, names in os.walk(root):
        if 'security' not in dirpath.split(os.sep):
            continue
        for name in sorted(names):
            if not name.endswith(('.py', '.rs')):
                continue
            path = os.path.join(dirpath, name)
            with open(path, errors='replace') as fh:
                lines = fh.read().split('\n')
            for i, line in enumerate(lines):
                m = ANNOTATION.match(line)
                if not m or m.group(2).startswith('todo'):
                    continue
                j = i + 1
                while j < len(lines) and comment_or_blank(lines[j]):
                    j += 1
                if j == len(lines):
                    continue
                end = j
                while (end + 1 < len(lines) and end - j < 5 and lines[end + 1].strip()
                       and not ANNOTATION.match(lines[end + 1])
                       and indent(lines[end + 1]) > indent(lines[j])):
                    end += 1
                marks[(os.path.relpath(path, root), j + 1)] = (m.group(2), m.group(3), end + 1)
    return marks


def opened_calls(root, marks):
    """(path, line) -> the lines above a marked line's annotation that open a call still open
    at the mark (`x = Model.objects.raw(` with the marked string on a later line)."""
    out = {}
    texts = {}
    for (p, l) in marks:
        lines = texts.setdefault(p, open(os.path.join(root, p), errors='replace').read().split('\n'))
        above = []
        k = l - 2  # 0-based index of the line above the mark
        while k >= 0 and ANNOTATION.match(lines[k]):
            k -= 1
        for _ in range(2):
            if k < 0 or not lines[k].rstrip().endswith(('(', '[', ',')) or (p, k + 1) in marks:
                break
            above.append(k + 1)
            k -= 1
        out[(p, l)] = above
    return out


def output(cmd):
    return subprocess.run(cmd, capture_output=True, text=True).stdout


def reported(strata, root):
    hits = collections.defaultdict(set)
    base = os.path.abspath(root)
    rel = lambda p: os.path.relpath(p if os.path.isabs(p) else os.path.join(os.getcwd(), p), base)
    for conf in ('medium', 'low'):
        doc = json.loads(output([strata, 'scan', root, '--format', 'json', '--no-cache', '--no-config',
                                 '--include-tests', '--include-scripts', '--min-confidence', conf,
                                 '--fail-on', 'never', '-q']))
        for f in doc['findings']:
            hits[f'strata {conf}'].add((rel(f['path']), f['line']))
    for r in json.loads(output(['ruff', 'check', '--select', 'S', '--no-cache', '--output-format', 'json',
                                '--exit-zero', root]) or '[]'):
        hits['ruff'].add((rel(r['filename']), r['location']['row']))
    for r in json.loads(output(['bandit', '-r', '-q', '-f', 'json', root]) or '{}').get('results', []):
        hits['bandit'].add((rel(r['filename']), r['line_number']))
    return hits


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    strata, root = os.path.abspath(sys.argv[1]), sys.argv[2]
    marks = marked_lines(root)
    hits = reported(strata, root)
    starts = opened_calls(root, marks)
    found = lambda tool, p, l, e: any((p, k) in hits[tool] for k in list(range(l, e + 1)) + starts.get((p, l), []))
    print('| language | tool | `ruleid` lines found | `ok` lines reported |')
    print('|---|---|---:|---:|')
    for lang, tools in (('Python', ('strata medium', 'strata low', 'ruff', 'bandit')), ('Rust', ('strata medium', 'strata low'))):
        ext = '.py' if lang == 'Python' else '.rs'
        mine = {k: v for k, v in marks.items() if k[0].endswith(ext)}
        for tool in tools:
            pos = [(p, l, e) for (p, l), (kind, _, e) in mine.items() if kind == 'ruleid']
            neg = [(p, l, e) for (p, l), (kind, _, e) in mine.items() if kind == 'ok']
            tp = sum(found(tool, *x) for x in pos)
            fp = sum(found(tool, *x) for x in neg)
            print(f'| {lang} | {tool} | {tp} / {len(pos)} ({100 * tp / max(len(pos), 1):.0f}%) '
                  f'| {fp} / {len(neg)} ({100 * fp / max(len(neg), 1):.0f}%) |')
    if '--details' in sys.argv:
        for (p, l), (kind, rid, e) in sorted(marks.items()):
            tools = [t for t in ('strata low', 'ruff', 'bandit') if found(t, p, l, e)]
            print(f'{kind:6} {p}:{l} {rid}: {", ".join(tools) or "-"}')


if __name__ == '__main__':
    main()
