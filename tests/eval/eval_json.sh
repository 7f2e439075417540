#!/usr/bin/env bash
# persona-eval --json on the hand-made tiny file, in process: the documented shape, the
# hand-computed recall, the same bytes twice (timings aside), on every preset of the build;
# a progress bar only on stderr; usage errors exit 2, unreadable files 1.
# Usage: eval_json.sh EVAL_BIN WORK_DIR
set -euo pipefail
bin=$1; work=$2
here=$(cd "$(dirname "$0")" && pwd)
tiny=$here/tiny.jsonl
rm -rf "$work" && mkdir -p "$work"

"$bin" "$tiny" --json >"$work/a.json" 2>"$work/a.err"
"$bin" "$tiny" --json --preset basic --progress >"$work/b.json" 2>"$work/b.err"
grep -q '\[#' "$work/b.err" || { cat "$work/b.err"; echo "no progress bar on stderr with --progress"; exit 1; }
grep -q '\[#' "$work/a.err" && { echo "a progress bar although stderr is not a terminal"; exit 1; }
others=("$work/b.json")
for preset in faiss sqlite; do
  if "$bin" "$tiny" --json --preset "$preset" >"$work/$preset.json" 2>"$work/$preset.err"; then
    others+=("$work/$preset.json")
  elif grep -q "unknown preset" "$work/$preset.err"; then
    echo "preset $preset is not in this build"
  else
    cat "$work/$preset.err"; exit 1
  fi
done
/usr/bin/python3 "$here/check_report.py" "$work/a.json" "${others[@]}"

"$bin" "$tiny" >"$work/table.txt"
grep -q "Evidence recall@k" "$work/table.txt" && grep -q "Choice accuracy" "$work/table.txt" \
  || { cat "$work/table.txt"; echo "no tables"; exit 1; }

set +e
"$bin" "$tiny" --bogus >/dev/null 2>&1; [[ $? == 2 ]] || { echo "an unknown flag must exit 2"; exit 1; }
"$bin" "$work/missing.jsonl" >/dev/null 2>"$work/missing.err"; [[ $? == 1 ]] || { echo "a missing file must exit 1"; exit 1; }
set -e
grep -q "cannot read" "$work/missing.err" || { cat "$work/missing.err"; exit 1; }
echo "eval_json: ok"
