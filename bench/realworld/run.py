#!/usr/bin/env python3
"""Real-world precision (and, with mined defects, recall) of strata on pinned public projects.

Each `projects/NAME.json` names a public repository, a pinned commit, and judged findings
(rule, path, line, verdict tp/fp/debatable, reason); `defects` entries (optional) record real
defects mined from fix commits. No third-party code is stored here: only names, commits, lines
and verdicts.

The script checks each project out from a fetched snapshot (a bare git directory, as the
`fetch` tool leaves it under MIRROR/OWNER+NAME/repo) at its pinned commit, scans it with a
strata binary, and matches the findings against the judgements.

Recall: `defects/NAME.json` records real defects mined from public fix commits. Each entry
names its family, the rules expected to report it, the pre-fix commit with the defect's path
and line range (`defect`), and the fix commit with the fixed lines (`fixed`, the near miss; null
when the fix deleted the code). `--recall` checks out each commit, scans it, and prints recall
per family (defects reported by one of their rules within their line range) next to how often
the fixed lines are still reported.

usage:
  STRATA_MIRROR=DIR bench/realworld/run.py [--strata BIN] [--project NAME ...]
      [--markdown] [--details] [--json FILE] [-- EXTRA SCAN ARGS]
  STRATA_MIRROR=DIR bench/realworld/run.py --recall [--strata BIN] [--details] [--json FILE]

Precision per rule = (tp + debatable / 2) / judged findings that are still reported.
Judged findings that are no longer reported are listed as `gone` (a gone fp is a fixed false
positive; a gone tp is lost recall). Reported findings that nobody judged are `unjudged`:
judge them (see --details) before trusting a rule's precision.
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# `shared/tools/checkout-snapshot.py` next to the repository (or next to a parent of it, for a
# git worktree checked out further down).
CHECKOUT_TOOL_CANDIDATES = [
    os.path.join(ROOT, *['..'] * up, 'shared', 'tools', 'checkout-snapshot.py') for up in range(1, 4)
]


def json_files(directory, names):
    """(file name, document) of each `*.json` in `directory` whose `name` is in `names`
    (all when `names` is empty), in file-name order."""
    for f in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
        if not f.endswith('.json'):
            continue
        with open(os.path.join(directory, f)) as fh:
            doc = json.load(fh)
        if not names or doc['name'] in names:
            yield f, doc


def load_projects(names):
    """projects/NAME.json, plus any judgements/NAME.*.json (`{"judged": [...]}`) added by
    later judging rounds, in natural file-name order (h9 before h10); a later judgement of the
    same (rule, path, line) replaces an earlier."""
    out = []
    pdir = os.path.join(HERE, 'projects')
    jdir = os.path.join(HERE, 'judgements')
    # Natural order, so that a later round's file (`NAME.h10-x.json`) comes after an earlier
    # one's (`NAME.h9-x.json`) and its verdicts replace theirs.
    def natural(name):
        return [int(p) if p.isdigit() else p for p in re.split(r'(\d+)', name)]

    extra = sorted(os.listdir(jdir), key=natural) if os.path.isdir(jdir) else []
    for _, p in json_files(pdir, names):
        judged = {(j['rule'], j['path'], j['line']): j for j in p['judged']}
        for e in extra:
            if e.startswith(p['name'] + '.') and e.endswith('.json'):
                with open(os.path.join(jdir, e)) as fh:
                    for j in json.load(fh).get('judged', []):
                        judged[(j['rule'], j['path'], j['line'])] = j
        p['judged'] = list(judged.values())
        out.append(p)
    return out


# The defect families of the recall issue, in its order; `defects/*.json` may use only these.
FAMILIES = [
    'fail-open', 'pii-in-logs', 'whole-file-read', 'unbounded-cache', 'ci-gate-cannot-fail',
    'cors', 'webhook-verification', 'rate-limit', 'shared-db-handle', 'config-leak',
    'owner-check', 'sql-from-strings', 'n-plus-one', 'check-then-insert', 'timeout',
]


def load_defects(names):
    out = []
    for f, d in json_files(os.path.join(HERE, 'defects'), names):
        for e in d['defects']:
            if e['family'] not in FAMILIES:
                raise SystemExit(f"{f}: {e['id']}: unknown family {e['family']!r} (one of {', '.join(FAMILIES)})")
            for side in ('defect', 'fixed'):
                loc = e.get(side)
                if loc is not None and not re.fullmatch(r'[0-9a-f]{40}', loc['commit']):
                    raise SystemExit(f"{f}: {e['id']}: {side}.commit must be a full 40-hex commit id")
                if loc is not None and not (len(loc['lines']) == 2 and loc['lines'][0] <= loc['lines'][1]):
                    raise SystemExit(f"{f}: {e['id']}: {side}.lines must be [first, last]")
        out.append(d)
    return out


def checkout(p, mirror, dest_root, commit=None, dest_name=None):
    commit = commit or p['commit']
    dest = os.path.join(dest_root, dest_name or p['name'])
    marker = os.path.join(dest, '.strata-realworld-commit')
    if not (os.path.exists(marker) and open(marker).read().strip() == commit):
        fresh_checkout(p, mirror, dest, commit, marker)
    # A real checkout knows its remote (rules tell the repository's own actions from third
    # parties by it); the snapshot tool keeps no `.git`, so give the checkout one.
    os.makedirs(os.path.join(dest, '.git'), exist_ok=True)
    with open(os.path.join(dest, '.git', 'config'), 'w') as fh:
        fh.write(f'[remote "origin"]\n\turl = https://github.com/{p["repo"]}.git\n')
    return dest


def fresh_checkout(p, mirror, dest, commit, marker):
    git_dir = os.path.join(mirror, p['repo'].replace('/', '+'), 'repo')
    if os.path.isdir(os.path.join(git_dir, '.git')):
        git_dir = os.path.join(git_dir, '.git')
    if not os.path.isdir(git_dir):
        raise SystemExit(f"{p['name']}: no snapshot at {git_dir}: fetch github:{p['repo']} first")
    tool = next((t for t in CHECKOUT_TOOL_CANDIDATES if os.path.exists(t)), None)
    if tool is None:
        raise SystemExit('checkout-snapshot.py not found (shared/tools)')
    subprocess.run(['rm', '-rf', dest], check=True)
    os.makedirs(dest)
    subprocess.run([sys.executable, tool, git_dir, commit, dest], check=True,
                   stderr=subprocess.DEVNULL)
    with open(marker, 'w') as fh:
        fh.write(commit + '\n')
    return dest


def scan(strata, dest, extra):
    cmd = [strata, 'scan', '--format', 'json', '--no-cache', '--no-timing', '-q', '--fail-on',
           'never', *extra, '.']
    r = subprocess.run(cmd, cwd=dest, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f'{dest}: strata exited {r.returncode}: {r.stderr.strip()[:500]}')
    return json.loads(r.stdout)


def score(judged):
    tp = sum(1 for j in judged if j['verdict'] == 'tp')
    deb = sum(1 for j in judged if j['verdict'] == 'debatable')
    n = len(judged)
    return tp, deb, n, ((tp + deb / 2) / n if n else None)


def pct(x):
    return '–' if x is None else f'{100 * x:.0f}%'


def reported_at(findings, rules, loc):
    first, last = loc['lines']
    return [f for f in findings
            if f['rule'] in rules and f['path'] == loc['path'] and first <= f['line'] <= last]


def recall(a):
    """Scan every pre-fix and fix commit of the mined defects; print recall per family."""
    sets = load_defects(set(a.project))
    scans = {}

    def findings_at(d, commit):
        key = (d['repo'], commit)
        if key not in scans:
            dest = checkout(d, a.mirror, a.checkouts + '-defects', commit, f"{d['name']}-{commit[:12]}")
            scans[key] = scan(a.strata, dest, a.extra)['findings']
        return scans[key]

    fam = collections.defaultdict(lambda: {'defects': 0, 'found': 0, 'fixed': 0, 'fixed_reported': 0,
                                           'repos': set()})
    rows = []
    for d in sets:
        for e in d['defects']:
            r = fam[e['family']]
            r['defects'] += 1
            r['repos'].add(d['repo'])
            hit = reported_at(findings_at(d, e['defect']['commit']), e['rules'], e['defect'])
            r['found'] += bool(hit)
            still = None
            if e.get('fixed'):
                r['fixed'] += 1
                still = bool(reported_at(findings_at(d, e['fixed']['commit']), e['rules'], e['fixed']))
                r['fixed_reported'] += still
            rows.append((d['name'], e, hit, still))
    if a.details:
        for name, e, hit, still in rows:
            mark = 'found ' if hit else 'MISSED'
            extra = ' (fixed lines still reported)' if still else ''
            loc = e['defect']
            print(f"  {mark} {e['id']} [{e['family']}] {'/'.join(e['rules'])} "
                  f"{loc['path']}:{loc['lines'][0]}-{loc['lines'][1]}{extra}")
    print(f"{'family':22} {'defects':>7} {'repos':>5} {'found':>5} {'recall':>6} {'fixed':>5} {'fixed reported':>14}")
    tot = collections.Counter()
    repos = set()
    for f in FAMILIES:
        r = fam.get(f)
        if not r:
            print(f"{f:22} {0:7} {0:5} {0:5} {'–':>6} {0:5} {'–':>14}")
            continue
        repos |= r['repos']
        for k in ('defects', 'found', 'fixed', 'fixed_reported'):
            tot[k] += r[k]
        fr = pct(r['fixed_reported'] / r['fixed']) if r['fixed'] else '–'
        print(f"{f:22} {r['defects']:7} {len(r['repos']):5} {r['found']:5} {pct(r['found'] / r['defects']):>6} "
              f"{r['fixed']:5} {fr:>14}")
    fr = pct(tot['fixed_reported'] / tot['fixed']) if tot['fixed'] else '–'
    rc = pct(tot['found'] / tot['defects']) if tot['defects'] else '–'
    print(f"{'all':22} {tot['defects']:7} {len(repos):5} {tot['found']:5} {rc:>6} {tot['fixed']:5} {fr:>14}")
    if a.json:
        out = {f: {'defects': r['defects'], 'repos': len(r['repos']), 'found': r['found'],
                   'fixed': r['fixed'], 'fixed_reported': r['fixed_reported']}
               for f, r in sorted(fam.items())}
        with open(a.json, 'w') as fh:
            json.dump(out, fh, indent=1, sort_keys=True)
            fh.write('\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--strata', default=os.path.join(ROOT, 'target', 'release', 'strata'))
    ap.add_argument('--mirror', default=os.environ.get('STRATA_MIRROR'))
    ap.add_argument('--checkouts', default=os.path.join(tempfile.gettempdir(), 'strata-realworld'))
    ap.add_argument('--project', action='append', default=[])
    ap.add_argument('--markdown', action='store_true', help='print the README table')
    ap.add_argument('--details', action='store_true', help='list gone, unjudged and reported non-tp findings')
    ap.add_argument('--json', help='write the per-rule (or, with --recall, per-family) figures to this file')
    ap.add_argument('--recall', action='store_true', help='measure recall on the mined defects (defects/*.json)')
    ap.add_argument('extra', nargs='*', help='extra arguments for strata scan (after --)')
    a = ap.parse_args()
    a.strata = os.path.abspath(a.strata)
    if not a.mirror:
        raise SystemExit('set STRATA_MIRROR (or --mirror) to the directory of fetched snapshots')
    if a.recall:
        return recall(a)

    projects = load_projects(set(a.project))
    per_rule = collections.defaultdict(lambda: {'findings': 0, 'judged': [], 'gone': [],
                                                'unjudged': 0, 'max_project': 0})
    summary_rows = []
    for p in projects:
        dest = checkout(p, a.mirror, a.checkouts)
        doc = scan(a.strata, dest, a.extra)
        found = collections.Counter((f['rule'], f['path'], f['line']) for f in doc['findings'])
        by_rule = collections.Counter(f['rule'] for f in doc['findings'])
        judged_keys = set()
        reported = []
        for j in p['judged']:
            key = (j['rule'], j['path'], j['line'])
            judged_keys.add(key)
            if found[key]:
                reported.append(j)
                per_rule[j['rule']]['judged'].append(j)
            else:
                per_rule[j['rule']]['gone'].append((p['name'], j))
        for rule, n in by_rule.items():
            r = per_rule[rule]
            r['findings'] += n
            r['max_project'] = max(r['max_project'], n)
        unjudged = [f for f in doc['findings'] if (f['rule'], f['path'], f['line']) not in judged_keys]
        for f in unjudged:
            per_rule[f['rule']]['unjudged'] += 1
        tp, deb, n, prec = score(reported)
        summary_rows.append((p['name'], p['repo'], p['commit'][:12], doc['summary']['files_scanned'],
                             len(doc['findings']), n, prec, len(p['judged']) - n, len(unjudged)))
        if a.details:
            for j in p['judged']:
                key = (j['rule'], j['path'], j['line'])
                if not found[key]:
                    print(f"  gone     {p['name']}: {j['rule']} {j['path']}:{j['line']} [{j['verdict']}] {j['reason']}")
            for j in reported:
                if j['verdict'] != 'tp':
                    print(f"  reported {p['name']}: {j['rule']} {j['path']}:{j['line']} [{j['verdict']}] {j['reason']}")
            for f in unjudged:
                print(f"  unjudged {p['name']}: {f['rule']} {f['path']}:{f['line']} {f['message'][:100]}")

    total = [j for r in per_rule.values() for j in r['judged']]
    tp, deb, n, prec = score(total)
    if a.markdown:
        print('| project | commit | files | findings | judged (reported) | precision |')
        print('|---|---|---|---|---|---|')
        for name, repo, commit, files, nf, nj, pr, _, _ in summary_rows:
            print(f'| [{name}](https://github.com/{repo}) | `{commit}` | {files} | {nf} | {nj} | {pct(pr)} |')
        print()
        print('| rule | findings | most on one project | judged (reported) | tp | debatable | fp | precision |')
        print('|---|---|---|---|---|---|---|---|')
        for rule in sorted(per_rule):
            r = per_rule[rule]
            if not r['findings'] and not r['judged']:
                continue
            t, d, k, pr = score(r['judged'])
            print(f"| {rule} | {r['findings']} | {r['max_project']} | {k} | {t} | {d} | {k - t - d} | {pct(pr)} |")
        print(f'| **all** | {sum(r["findings"] for r in per_rule.values())} | | {n} | {tp} | {deb} | {n - tp - deb} | {pct(prec)} |')
    else:
        print(f"{'project':28} {'files':>6} {'findings':>8} {'judged':>6} {'prec':>5} {'gone':>5} {'unjudged':>8}")
        for name, _, _, files, nf, nj, pr, gone, unj in summary_rows:
            print(f'{name:28} {files:6} {nf:8} {nj:6} {pct(pr):>5} {gone:5} {unj:8}')
        print()
        print(f"{'rule':8} {'findings':>8} {'max/proj':>8} {'judged':>6} {'tp':>4} {'deb':>4} {'fp':>4} {'prec':>5} {'gone tp':>7} {'gone fp':>7} {'unjudged':>8}")
        for rule in sorted(per_rule):
            r = per_rule[rule]
            t, d, k, pr = score(r['judged'])
            gtp = sum(1 for _, j in r['gone'] if j['verdict'] == 'tp')
            gfp = sum(1 for _, j in r['gone'] if j['verdict'] == 'fp')
            print(f"{rule:8} {r['findings']:8} {r['max_project']:8} {k:6} {t:4} {d:4} {k - t - d:4} {pct(pr):>5} {gtp:7} {gfp:7} {r['unjudged']:8}")
        print(f"{'all':8} {sum(r['findings'] for r in per_rule.values()):8} {'':8} {n:6} {tp:4} {deb:4} {n - tp - deb:4} {pct(prec):>5}")
    if a.json:
        out = {}
        for rule, r in sorted(per_rule.items()):
            t, d, k, pr = score(r['judged'])
            out[rule] = {'findings': r['findings'], 'max_project': r['max_project'], 'judged': k,
                         'tp': t, 'debatable': d, 'fp': k - t - d, 'precision': pr,
                         'unjudged': r['unjudged'],
                         'gone_tp': sum(1 for _, j in r['gone'] if j['verdict'] == 'tp'),
                         'gone_fp': sum(1 for _, j in r['gone'] if j['verdict'] == 'fp')}
        with open(a.json, 'w') as fh:
            json.dump(out, fh, indent=1, sort_keys=True)
            fh.write('\n')


if __name__ == '__main__':
    main()
