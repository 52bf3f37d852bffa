#!/usr/bin/env bash
# Benchmark strata against its peers (ruff, bandit, semgrep) on a source tree.
#
# Usage: scripts/bench.sh [TARGET_DIR]
#
#   TARGET_DIR defaults to the CPython standard library of `python3`
#   (python3 -c "import sysconfig;print(sysconfig.get_paths()['stdlib'])").
#
# Peers (optional; a peer that is not installed is reported as "not installed"):
#
#   python3 -m venv .bench-venv && .bench-venv/bin/pip install ruff bandit semgrep
#
#   run from the repository root; `.bench-venv/` is git-ignored. Its bin/ is put first on
#   PATH when it exists (another venv can be given with PEERS_VENV).
#
# Environment:
#   RUNS=5            timed runs of strata (cold, warm, --jobs 1) and ruff (the median is
#                     reported)
#   BANDIT_RUNS=1     timed runs of bandit (slow: 1.5-3 minutes on the stdlib)
#   SEMGREP_RUNS=1    timed runs of semgrep (as slow as bandit)
#   SKIP_RUFF=1 / SKIP_BANDIT=1 / SKIP_SEMGREP=1   leave that peer out
#   PEERS_VENV=DIR    venv holding the peers (default: <repo>/.bench-venv)
#   STRATA_BIN=PATH   use this strata binary instead of building target/release/strata
#   RUST_TARGET=DIR   also time strata on a Rust tree (e.g. ~/.cargo/registry/src) so the
#                     Rust parse speed is shown next to Python's
#   LARGE_TARGET=DIR  also time strata cold on a large repository (10,000+ files), with
#                     --jobs 1 and --jobs 2, for files/s, peak memory and the 2-thread speed-up
#   EXCLUDE_DIRS="site-packages dist-packages"
#                     directory names left out of the counts and of every tool's scan;
#                     EXCLUDE_DIRS= (empty) scans everything. The stdlib directory of a
#                     Python install also holds site-packages, the third-party packages
#                     installed there (9,869 .py files of 11,659 on the machine this was
#                     written on): without this the numbers depend on what pip installed.
#
# What is measured: wall time of each whole run (process start to exit, `date +%s%N`) and,
# when GNU time is installed as /usr/bin/time, the peak resident memory (`%M`: the largest
# single process of the run, so multi-process tools such as semgrep may use more in total).
# files/s and MB/s divide the number and size of the files strata reads in the target
# (*.py, *.pyi, *.rs, *.sql) by the median wall time, for every tool alike;
# files_seen is how many files each tool says it scanned.
#
# Same files for every tool: strata walks the whole tree (it skips only .gitignore'd files,
# hidden directories and files over 2 MiB), so the peers are told to skip no more, and every
# tool skips the EXCLUDE_DIRS directories (strata --exclude, ruff --exclude, bandit -x,
# semgrep --exclude):
#   ruff     --exclude replaces ruff's default excludes (site-packages, venv, build, dist...)
#   semgrep  --no-git-ignore --x-ignore-semgrepignore-files: no default .semgrepignore
#            (which skips test/ and tests/) and no parent repository's .gitignore (pyenv's
#            own .gitignore lists versions/, which would hide its whole stdlib);
#            --max-target-bytes 2097152 (semgrep's default cap is 1 MB, strata's 2 MiB)
#   bandit   scans *.py only (no .pyi): its files_seen can be lower.
#
# Rows: strata (cold: --no-cache), strata warm (the result cache of one untimed run, nothing
# changed), strata -j1 (cold, one thread), strata --no-index (cold, without the project
# index: what the index costs), then the peers. The table is Markdown: wall time
# (median of the runs), CPU time (user + system, median), peak memory (largest max RSS),
# files/s, and the ratio of each median to strata's cold one.
#
# The page cache is warmed by one untimed strata run before anything is timed. Nothing here
# fails because a peer is missing; a peer that exits with an error is shown as "failed".
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
SEMGREP_RULES="$SCRIPT_DIR/semgrep-rules.yml"
STRATA_MAX_FILE_SIZE=2097152

RUNS=${RUNS:-5}
BANDIT_RUNS=${BANDIT_RUNS:-1}
SEMGREP_RUNS=${SEMGREP_RUNS:-1}
SKIP_RUFF=${SKIP_RUFF:-0}
SKIP_BANDIT=${SKIP_BANDIT:-0}
SKIP_SEMGREP=${SKIP_SEMGREP:-0}
PEERS_VENV=${PEERS_VENV:-$REPO_ROOT/.bench-venv}
RUST_TARGET=${RUST_TARGET:-}
EXCLUDE_DIRS=${EXCLUDE_DIRS-site-packages dist-packages}

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

for var in RUNS BANDIT_RUNS SEMGREP_RUNS; do
    [[ ${!var} =~ ^[1-9][0-9]*$ ]] || die "$var must be a positive integer (got '${!var}')"
done

read -r -a EXCLUDES <<<"$EXCLUDE_DIRS"
for d in "${EXCLUDES[@]}"; do
    [[ $d =~ ^[A-Za-z0-9._+-]+$ ]] || die "EXCLUDE_DIRS takes plain directory names (got '$d')"
done

if [[ $# -gt 1 ]]; then
    die "usage: scripts/bench.sh [TARGET_DIR]"
fi
if [[ $# -eq 1 ]]; then
    TARGET=$1
else
    command -v python3 >/dev/null || die "python3 not found: give TARGET_DIR explicitly"
    TARGET=$(python3 -c "import sysconfig;print(sysconfig.get_paths()['stdlib'])")
fi
[[ -d $TARGET ]] || die "target is not a directory: $TARGET"
TARGET=$(cd "$TARGET" && pwd)
if [[ -n $RUST_TARGET ]]; then
    [[ -d $RUST_TARGET ]] || die "RUST_TARGET is not a directory: $RUST_TARGET"
    RUST_TARGET=$(cd "$RUST_TARGET" && pwd)
fi

if [[ -d $PEERS_VENV/bin ]]; then
    PATH="$(cd "$PEERS_VENV/bin" && pwd):$PATH"
    export PATH
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# Tools run from an empty directory so that no project configuration
# (pyproject.toml, .semgrepignore, ruff.toml...) of the caller's directory applies.
RUNDIR="$WORK/cwd"
mkdir -p "$RUNDIR"

# ---------------------------------------------------------------- timing helpers

HAVE_GNU_TIME=0
if [[ -x /usr/bin/time ]] && /usr/bin/time -f '%M' -o "$WORK/probe" true 2>/dev/null \
    && [[ $(tail -n1 "$WORK/probe") =~ ^[0-9]+$ ]]; then
    HAVE_GNU_TIME=1
fi

# run_timed KEY N CMD...: runs CMD N times from $RUN_CWD (default $RUNDIR) with stdout
# discarded and stderr kept in $WORK/KEY.err; appends "seconds peak_kb cpu_seconds" per run
# to $WORK/KEY.runs (peak_kb and cpu_seconds are "n/a" without GNU time). Returns the first
# non-zero exit status, if any.
run_timed() {
    local key=$1 n=$2
    shift 2
    local i t0 t1 rc kb cpu cwd=${RUN_CWD:-$RUNDIR}
    : >"$WORK/$key.runs"
    for ((i = 1; i <= n; i++)); do
        rc=0
        t0=$(date +%s%N)
        if ((HAVE_GNU_TIME)); then
            (cd "$cwd" && /usr/bin/time -f '%M %U %S' -o "$WORK/$key.time" "$@") \
                >/dev/null 2>"$WORK/$key.err" || rc=$?
        else
            (cd "$cwd" && "$@") >/dev/null 2>"$WORK/$key.err" || rc=$?
        fi
        t1=$(date +%s%N)
        if ((rc != 0)); then
            return "$rc"
        fi
        kb=n/a
        cpu=n/a
        if ((HAVE_GNU_TIME)); then
            read -r kb cpu < <(tail -n1 "$WORK/$key.time" | awk '{ printf "%s %.2f\n", $1, $2 + $3 }')
        fi
        echo "$(((t1 - t0) / 1000000)) $kb $cpu" |
            awk '{ printf "%.3f %s %s\n", $1 / 1000, $2, $3 }' >>"$WORK/$key.runs"
        log "  $key run $i/$n: $(tail -n1 "$WORK/$key.runs" | cut -d' ' -f1) s"
    done
}

median_of() { # file of "seconds kb" lines -> median seconds
    cut -d' ' -f1 "$1" | sort -g | awk '{ a[NR] = $1 }
        END { if (NR % 2) printf "%.3f", a[(NR + 1) / 2]
              else printf "%.3f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

cpu_of() { # file of "seconds kb cpu" lines -> median CPU seconds, or n/a
    awk '$3 != "n/a" { print $3 }' "$1" | sort -g | awk '{ a[NR] = $1 }
        END { if (NR == 0) printf "n/a"
              else if (NR % 2) printf "%.2f", a[(NR + 1) / 2]
              else printf "%.2f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

peak_mb_of() { # file of "seconds kb cpu" lines -> max RSS in MB, or n/a
    awk '$2 != "n/a" { if ($2 > m) m = $2; seen = 1 }
        END { if (seen) printf "%.0f", m / 1024; else printf "n/a" }' "$1"
}

# count_files DIR -> "files bytes py pyi rs sql" (directories named in EXCLUDE_DIRS pruned)
count_files() {
    local prune=() d
    for d in "${EXCLUDES[@]}"; do prune+=(-o -name "$d"); done
    if ((${#prune[@]})); then
        prune=(-type d \( "${prune[@]:1}" \) -prune -o)
    fi
    find "$1" -mindepth 1 "${prune[@]}" \
        -type f \( -name '*.py' -o -name '*.pyi' -o -name '*.rs' -o -name '*.sql' \) \
        -printf '%s %f\n' | awk '
        { n++; b += $1; ext = $2; sub(/.*\./, "", ext); c[ext]++ }
        END { printf "%d %d %d %d %d %d\n", n, b, c["py"], c["pyi"], c["rs"], c["sql"] }'
}

# json_count FILE KIND -> number of files a tool reports as scanned, or "?"
json_count() {
    command -v python3 >/dev/null || { echo "?"; return; }
    python3 - "$1" "$2" <<'EOF' 2>/dev/null || echo "?"
import json, sys
path, kind = sys.argv[1], sys.argv[2]
d = json.load(open(path))
if kind == "strata":
    print(d["summary"]["files_scanned"])
elif kind == "semgrep":
    print(len(d["paths"]["scanned"]))
elif kind == "bandit":
    print(len([k for k in d["metrics"] if k != "_totals"]))
EOF
}

# Results, one row per key.
declare -A R_STATUS R_RUNS R_MEDIAN R_CPU R_PEAK R_SEEN R_FILES R_BYTES
ROWS=()

record() { # KEY FILES BYTES SEEN: fill a row from $WORK/KEY.runs
    local key=$1
    ROWS+=("$key")
    R_STATUS[$key]=ok
    R_RUNS[$key]=$(wc -l <"$WORK/$key.runs")
    R_MEDIAN[$key]=$(median_of "$WORK/$key.runs")
    R_CPU[$key]=$(cpu_of "$WORK/$key.runs")
    R_PEAK[$key]=$(peak_mb_of "$WORK/$key.runs")
    R_FILES[$key]=$2
    R_BYTES[$key]=$3
    R_SEEN[$key]=$4
    log "  $key median: ${R_MEDIAN[$key]} s"
}

record_status() { # KEY STATUS
    ROWS+=("$1")
    R_STATUS[$1]=$2
}

peer_failed() { # KEY RC
    log "$1 exited with status $2; last lines of its stderr:"
    tail -n 15 "$WORK/$1.err" >&2 || true
    record_status "$1" "failed (exit $2)"
}

# ---------------------------------------------------------------- strata

if [[ -n ${STRATA_BIN:-} ]]; then
    STRATA=$STRATA_BIN
    if [[ $STRATA != */* ]]; then
        STRATA=$(command -v "$STRATA") || die "STRATA_BIN not found on PATH: $STRATA_BIN"
    fi
    [[ -f $STRATA && -x $STRATA ]] || die "STRATA_BIN is not an executable file: $STRATA_BIN"
    STRATA="$(cd "$(dirname "$STRATA")" && pwd)/$(basename "$STRATA")" # tools run elsewhere
    log "using STRATA_BIN=$STRATA (no build)"
else
    log "building strata (cargo build --release)"
    (cd "$REPO_ROOT" && cargo build --release) || die "cargo build --release failed"
    STRATA="$REPO_ROOT/target/release/strata"
fi

read -r N_FILES N_BYTES N_PY N_PYI N_RS N_SQL < <(count_files "$TARGET")
[[ $N_FILES -gt 0 ]] || die "no *.py, *.pyi, *.rs or *.sql file under $TARGET"
MB=$(awk -v b="$N_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }')

log "target: $TARGET"
log "files:  $N_FILES ($N_PY .py, $N_PYI .pyi, $N_RS .rs, $N_SQL .sql), $MB MB"

strata_scan() { # TARGET [extra flags...]
    local target=$1
    shift
    echo "$STRATA" scan "$target" --format json --output /dev/null --fail-on never --quiet --no-cache "$@"
}

STRATA_EXCLUDE=()
for d in "${EXCLUDES[@]}"; do STRATA_EXCLUDE+=(--exclude "$d"); done

strata_bench() { # KEY TARGET FILES BYTES SEEN [extra flags...]
    # SEEN empty: first do an untimed warm-up run, which fills the page cache and
    # tells how many files strata scanned.
    local key=$1 target=$2 files=$3 bytes=$4 seen=$5 rc=0
    shift 5
    set -- "${STRATA_EXCLUDE[@]}" "$@"
    if [[ -z $seen ]]; then
        log "strata warm-up on $target"
        (cd "$RUNDIR" && "$STRATA" scan "$target" --format json --output "$WORK/$key.json" \
            --fail-on never --quiet --no-cache "$@") >/dev/null 2>"$WORK/$key.err" || rc=$?
        if ((rc != 0)); then
            tail -n 15 "$WORK/$key.err" >&2 || true
            die "strata failed (exit $rc): $(strata_scan "$target" "$@")"
        fi
        seen=$(json_count "$WORK/$key.json" strata)
    fi
    log "timing $key: $(strata_scan "$target" "$@") x $RUNS"
    run_timed "$key" "$RUNS" "$STRATA" scan "$target" --format json --output /dev/null \
        --fail-on never --quiet --no-cache "$@" || rc=$?
    if ((rc != 0)); then
        tail -n 15 "$WORK/$key.err" >&2 || true
        die "strata failed (exit $rc): $(strata_scan "$target" "$@")"
    fi
    record "$key" "$files" "$bytes" "$seen"
}

strata_bench strata "$TARGET" "$N_FILES" "$N_BYTES" ""

# warm: the result cache (.strata-cache/ in the working directory) filled by one untimed run,
# then re-runs on unchanged files
strata_warm() { # KEY TARGET FILES BYTES SEEN
    local key=$1 target=$2 rc=0
    local cwd="$WORK/warm-${key//[^A-Za-z0-9]/_}"
    mkdir -p "$cwd"
    log "strata warm: filling the cache in $cwd"
    (cd "$cwd" && "$STRATA" scan "$target" --format json --output /dev/null --fail-on never \
        --quiet "${STRATA_EXCLUDE[@]}") >/dev/null 2>"$WORK/$key.err" || rc=$?
    ((rc == 0)) || die "strata (filling the cache) failed (exit $rc)"
    log "timing $key: $STRATA scan $target (cache filled) x $RUNS"
    RUN_CWD=$cwd run_timed "$key" "$RUNS" "$STRATA" scan "$target" --format json \
        --output /dev/null --fail-on never --quiet "${STRATA_EXCLUDE[@]}" || rc=$?
    ((rc == 0)) || die "strata warm failed (exit $rc)"
    record "$key" "$3" "$4" "$5"
}

strata_warm "strata warm" "$TARGET" "$N_FILES" "$N_BYTES" "${R_SEEN[strata]}"
strata_bench "strata -j1" "$TARGET" "$N_FILES" "$N_BYTES" "${R_SEEN[strata]}" --jobs 1
# What the project index costs: the same cold scan with each file analysed on its own.
strata_bench "strata --no-index" "$TARGET" "$N_FILES" "$N_BYTES" "${R_SEEN[strata]}" --no-index

# ---------------------------------------------------------------- peers

VERSIONS=("strata: $("$STRATA" --version 2>/dev/null | head -n1 || true)")

# ruff
if [[ $SKIP_RUFF == 1 ]]; then
    record_status ruff "skipped (SKIP_RUFF=1)"
elif ! command -v ruff >/dev/null; then
    record_status ruff "not installed"
else
    VERSIONS+=("ruff: $(ruff --version 2>/dev/null | head -n1)")
    # --exclude replaces ruff's default excludes (site-packages, venv, build, dist...) with
    # EXCLUDE_DIRS, or with a pattern that matches nothing
    ruff_exclude=$(IFS=,; echo "${EXCLUDES[*]}")
    ruff_opts=(--select "S,ASYNC,DTZ,BLE,E722" --no-cache
        --exclude "${ruff_exclude:-__strata_bench_exclude_nothing__}")
    ruff_cmd=(ruff check "${ruff_opts[@]}" --exit-zero --quiet "$TARGET")
    seen=$( (cd "$RUNDIR" && ruff check --show-files "${ruff_opts[@]}" "$TARGET" 2>/dev/null) |
        grep -c "^$TARGET/" || true)
    seen=${seen:-0}
    log "timing ruff: ${ruff_cmd[*]} x $RUNS"
    rc=0
    run_timed ruff "$RUNS" "${ruff_cmd[@]}" || rc=$?
    if ((rc == 0)); then record ruff "$N_FILES" "$N_BYTES" "$seen"; else peer_failed ruff "$rc"; fi
fi

# bandit
if [[ $SKIP_BANDIT == 1 ]]; then
    record_status bandit "skipped (SKIP_BANDIT=1)"
elif ! command -v bandit >/dev/null; then
    record_status bandit "not installed"
else
    VERSIONS+=("bandit: $(bandit --version 2>/dev/null | head -n1)")
    # bandit's -x is a substring test on "<target>/<path>" and replaces its defaults: it
    # runs from the target as "." so that only paths below the target are tested
    bandit_cmd=(bandit -r -q . -f json -o "$WORK/bandit.json" --exit-zero)
    if ((${#EXCLUDES[@]})); then
        bandit_x='.svn,CVS,.bzr,.hg,.git,__pycache__,.tox,.eggs,*.egg' # bandit's defaults
        for d in "${EXCLUDES[@]}"; do bandit_x+=",/$d/"; done
        bandit_cmd+=(-x "$bandit_x")
    fi
    log "timing bandit: (cd $TARGET && ${bandit_cmd[*]}) x $BANDIT_RUNS"
    rc=0
    RUN_CWD=$TARGET run_timed bandit "$BANDIT_RUNS" "${bandit_cmd[@]}" || rc=$?
    if ((rc == 0)); then
        record bandit "$N_FILES" "$N_BYTES" "$(json_count "$WORK/bandit.json" bandit)"
    else
        peer_failed bandit "$rc"
    fi
fi

# semgrep
if [[ $SKIP_SEMGREP == 1 ]]; then
    record_status semgrep "skipped (SKIP_SEMGREP=1)"
elif ! command -v semgrep >/dev/null; then
    record_status semgrep "not installed"
else
    VERSIONS+=("semgrep: $(semgrep --version 2>/dev/null | head -n1)")
    semgrep_cmd=(semgrep --config "$SEMGREP_RULES" --metrics off --disable-version-check
        --quiet --json -o "$WORK/semgrep.json" --no-git-ignore
        --max-target-bytes "$STRATA_MAX_FILE_SIZE")
    # (the help is a man page: strip its overstrike bold before looking)
    semgrep_help=$(semgrep scan --help 2>/dev/null | sed 's/.\x08//g' || true)
    if [[ $semgrep_help == *--x-ignore-semgrepignore-files* ]]; then
        semgrep_cmd+=(--x-ignore-semgrepignore-files)
    else
        log "semgrep has no --x-ignore-semgrepignore-files: its default .semgrepignore" \
            "(test/, tests/...) applies, see files_seen"
    fi
    for d in "${EXCLUDES[@]}"; do semgrep_cmd+=(--exclude "$d"); done
    semgrep_cmd+=("$TARGET")
    log "timing semgrep: ${semgrep_cmd[*]} x $SEMGREP_RUNS"
    rc=0
    run_timed semgrep "$SEMGREP_RUNS" "${semgrep_cmd[@]}" || rc=$?
    if ((rc == 0)); then
        record semgrep "$N_FILES" "$N_BYTES" "$(json_count "$WORK/semgrep.json" semgrep)"
    else
        peer_failed semgrep "$rc"
    fi
fi

# ---------------------------------------------------------------- Rust tree

if [[ -n $RUST_TARGET ]]; then
    read -r RN_FILES RN_BYTES RN_PY RN_PYI RN_RS RN_SQL < <(count_files "$RUST_TARGET")
    RMB=$(awk -v b="$RN_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }')
    log "rust target: $RUST_TARGET"
    log "files:  $RN_FILES ($RN_RS .rs, $RN_PY .py, $RN_PYI .pyi, $RN_SQL .sql), $RMB MB"
    if ((RN_FILES > 0)); then
        strata_bench "strata [rust]" "$RUST_TARGET" "$RN_FILES" "$RN_BYTES" ""
    else
        record_status "strata [rust]" "no *.rs/*.py/*.sql file in RUST_TARGET"
    fi
fi

# ---------------------------------------------------------------- large repository

if [[ -n ${LARGE_TARGET:-} ]]; then
    [[ -d $LARGE_TARGET ]] || die "LARGE_TARGET is not a directory: $LARGE_TARGET"
    LARGE_TARGET=$(cd "$LARGE_TARGET" && pwd)
    read -r LN_FILES LN_BYTES LN_PY LN_PYI LN_RS LN_SQL < <(count_files "$LARGE_TARGET")
    LMB=$(awk -v b="$LN_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }')
    log "large target: $LARGE_TARGET: $LN_FILES files, $LMB MB"
    strata_bench "strata [large]" "$LARGE_TARGET" "$LN_FILES" "$LN_BYTES" "" --jobs 2
    strata_bench "strata [large] -j1" "$LARGE_TARGET" "$LN_FILES" "$LN_BYTES" \
        "${R_SEEN["strata [large]"]}" --jobs 1
fi

# ---------------------------------------------------------------- report

BASE=${R_MEDIAN[strata]}

echo
echo "strata benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc 2>/dev/null || echo '?') cores"
echo "target:      $TARGET"
((${#EXCLUDES[@]} == 0)) || echo "excluded:    directories named ${EXCLUDES[*]} (EXCLUDE_DIRS)"
echo "             $N_FILES files ($N_PY .py, $N_PYI .pyi, $N_RS .rs, $N_SQL .sql), $MB MB"
if [[ -n $RUST_TARGET ]]; then
    echo "rust target: $RUST_TARGET"
    echo "             $RN_FILES files ($RN_RS .rs, $RN_PY .py, $RN_PYI .pyi, $RN_SQL .sql), $RMB MB"
fi
for v in "${VERSIONS[@]}"; do echo "version      $v"; done
((HAVE_GNU_TIME)) || echo "note: GNU time (/usr/bin/time) not found: peak memory is n/a"
if [[ -n ${LARGE_TARGET:-} ]]; then
    echo "large:       $LARGE_TARGET"
    echo "             $LN_FILES files ($LN_PY .py, $LN_PYI .pyi, $LN_RS .rs, $LN_SQL .sql), $LMB MB"
fi
echo
echo "| tool | runs | wall (s) | CPU (s) | peak memory (MB) | files/s | MB/s | files seen | ratio to strata cold |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for key in "${ROWS[@]}"; do
    if [[ ${R_STATUS[$key]} != ok ]]; then
        echo "| $key | ${R_STATUS[$key]} | | | | | | | |"
        continue
    fi
    med=${R_MEDIAN[$key]}
    if [[ $key == "strata ["* ]]; then ratio=-; else
        ratio=$(awk -v m="$med" -v b="$BASE" 'BEGIN { if (b > 0) printf "%.2f", m / b; else print "-" }')
    fi
    awk -v k="$key" -v r="${R_RUNS[$key]}" -v m="$med" -v c="${R_CPU[$key]}" -v f="${R_FILES[$key]}" \
        -v by="${R_BYTES[$key]}" -v p="${R_PEAK[$key]}" -v s="${R_SEEN[$key]}" -v q="$ratio" '
        BEGIN {
            if (m > 0) { fs = sprintf("%.0f", f / m); mbs = sprintf("%.1f", by / 1048576 / m) }
            else { fs = "inf"; mbs = "inf" }
            printf "| %s | %s | %.3f | %s | %s | %s | %s | %s | %s |\n", k, r, m, c, p, fs, mbs, s, q
        }'
done
if [[ -n ${LARGE_TARGET:-} ]]; then
    awk -v a="${R_MEDIAN["strata [large] -j1"]}" -v b="${R_MEDIAN["strata [large]"]}" \
        'BEGIN { if (b > 0) printf "\nlarge repository: --jobs 2 is %.2fx as fast as --jobs 1\n", a / b }'
fi
echo
echo "wall: median wall time of the runs; CPU: median user + system time; ratio = tool"
echo "median / strata cold median (above 1: slower than strata). files/s and MB/s use the"
echo "target's file count and size for every tool; files seen is what each tool reports it"
echo "scanned (bandit: *.py only). peak memory: largest single process's max RSS (GNU time %M)."
echo "strata warm: re-run with the result cache filled by a previous run, no file changed."
echo "strata --no-index: cold, without the project index (no findings across functions and files)."
