#!/usr/bin/env bash
# check_journal.sh JOURNAL [VENV]
#
# Proves a Chaos Toolkit journal.json is accepted by Chaos Toolkit's own
# tooling: runs `chaos report` (chaostoolkit-reporting) on it, offline, and
# exits non-zero unless the report was produced and contains the
# experiment's title.
#
# VENV is a virtualenv root (containing bin/chaos) or its bin/ directory;
# default: $CHAOS_VENV or /tmp/venv-report. The venv needs chaostoolkit,
# chaostoolkit-lib, chaostoolkit-reporting and a pandoc binary (pypandoc-binary
# bundles one; a system `pandoc` on PATH works too). chaosreport imports
# cairosvg, so libcairo2 must be present (it is in the rust image).
#
# Exit codes: 0 accepted; 1 rejected (tool failed, no report, or title
# missing); 2 usage / environment error.
set -euo pipefail

usage() { echo "usage: $0 JOURNAL [VENV_DIR]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage

journal=$1
venv=${2:-${CHAOS_VENV:-/tmp/venv-report}}
if [ -x "$venv/bin/chaos" ]; then bin="$venv/bin"
elif [ -x "$venv/chaos" ]; then bin="$venv"
else echo "check_journal: no chaos executable in $venv or $venv/bin" >&2; exit 2
fi
bin=$(cd "$bin" && pwd)
[ -f "$journal" ] || { echo "check_journal: no such journal: $journal" >&2; exit 2; }
journal=$(cd "$(dirname "$journal")" && pwd)/$(basename "$journal")

work=$(mktemp -d "${TMPDIR:-/tmp}/check-journal.XXXXXX")
trap 'rm -rf "$work"' EXIT
report="$work/report.md"

# Run the real tool: hermetic (own cwd, settings, matplotlib cache),
# no update check, no log file, bounded in time.
set +e
(
    cd "$work"
    MPLCONFIGDIR="$work/mpl" HOME="$work" timeout 300 \
        "$bin/chaos" --no-version-check --no-log-file \
        --settings "$work/settings.yaml" \
        report --export-format=markdown "$journal" "$report"
) >"$work/out.log" 2>&1
rc=$?
set -e

if [ $rc -ne 0 ]; then
    echo "check_journal: REJECTED: chaos report exited $rc; last lines:" >&2
    grep -v 'highlight-style' "$work/out.log" | tail -n 5 >&2
    exit 1
fi
if [ ! -s "$report" ]; then
    echo "check_journal: REJECTED: chaos report exited 0 but wrote no report" >&2
    exit 1
fi

# The tool accepted it; now the experiment title, straight from the journal.
if ! title=$("$bin/python" -c '
import json, sys
t = json.load(open(sys.argv[1]))["experiment"]["title"]
if not isinstance(t, str) or not t.strip():
    sys.exit("experiment.title is empty or not a string")
print(t)' "$journal" 2>"$work/title.err"); then
    echo "check_journal: REJECTED: cannot read experiment.title:" >&2
    tail -n 3 "$work/title.err" >&2
    exit 1
fi

# The title is pasted into a markdown template and rendered by pandoc, which
# escapes markup characters, wraps lines and turns inline HTML/TeX into raw
# spans (`<b>`{=html}), so compare on letters and digits only, with a second
# try that drops HTML tags / TeX commands from both sides.
norm() { tr -cd '[:alnum:]' | tr '[:upper:]' '[:lower:]'; }
noraw() { sed -e 's/`[^`]*`{=[a-z0-9]*}//g' -e 's/<[^>]*>//g' -e 's/\\[A-Za-z]*//g'; }
want=$(printf '%s' "$title" | norm)
want_noraw=$(printf '%s' "$title" | noraw | norm)
if [ -z "$want" ]; then
    echo "check_journal: REJECTED: title has no letters or digits" >&2
    exit 1
fi
if ! norm <"$report" | grep -qF -- "$want" &&
   ! { [ -n "$want_noraw" ] && noraw <"$report" | norm | grep -qF -- "$want_noraw"; }; then
    echo "check_journal: REJECTED: report lacks the experiment title: $title" >&2
    exit 1
fi

echo "check_journal: OK: chaos report accepted $journal ($(wc -c <"$report") bytes, title '$title')"
