#!/usr/bin/env bash
# The documented evaluation run (docs/results/): does the bridge help on Gemma-3-270m?
# BridgeXChain itself under the route policies users pick between (direct, the table's bridge,
# the same with the chain's own language detection, English), through chain.batch: SIB-200
# topic classification on the 13 test languages that are not candidate bridges, 102
# label-balanced test items each, paired tests against direct.
#
# JOBS processes (default: the number of cores, at most 4) share the languages and run at the
# same time, one torch thread each (on a 2-core machine, two one-thread processes finish
# about twice as fast as one two-thread process); then one last invocation with every
# language writes docs/results/{results.json,report.md,plots}. Each process writes its own
# languages' files under docs/results/cache, so the run is resumable: interrupt it and run it
# again, and only what is missing is computed. Extra arguments go to every invocation.
# CONDITIONS, EVAL_LANGUAGES (codes) and OUT override the conditions, the languages and the
# output directory (e.g. the evidence policy on held-out train rows of other languages:
# OUT=docs/results/heldout CONDITIONS=direct,evidence EVAL_LANGUAGES=ace_Latn,fon_Latn
# tools/run_eval.sh --split heldout).
# The cache is not committed, but its per-item records are: on exit (finished, failed or
# interrupted) they are saved to $OUT/units without the model's renderings, and a run starts by
# merging $OUT/units back into the cache (tools/eval_units.py), so a run too long for one
# sitting resumes from what a fresh checkout holds. The bridge table is pinned: the run reads
# $OUT/table.json (TABLE_JSON), copied from the shipped table when the run first starts, so a
# table rebuilt while a long run is under way does not change what it measures.
set -euo pipefail
cd "$(dirname "$0")/.."
SIB200="${SIB200:-../shared/data/sib200}"
if [ ! -d "$SIB200" ]; then
  echo "SIB-200 data not found at $SIB200 (set SIB200=/path/to/sib200)" >&2
  exit 2
fi
LANGUAGES=(amh_Ethi arb_Arab fin_Latn hau_Latn heb_Hebr hun_Latn ind_Latn jpn_Jpan npi_Deva
  swh_Latn tgl_Latn yor_Latn zho_Hans)
if [ -n "${EVAL_LANGUAGES:-}" ]; then IFS=', ' read -r -a LANGUAGES <<< "$EVAL_LANGUAGES"; fi
CORES="$(nproc 2>/dev/null || echo 1)"
JOBS="${JOBS:-$((CORES < 4 ? CORES : 4))}"
ALL="$(IFS=,; echo "${LANGUAGES[*]}")"
CONDITIONS="${CONDITIONS:-direct,table,detected,english}"
OUT="${OUT:-docs/results}"
TABLE_JSON="${TABLE_JSON:-$OUT/table.json}"
mkdir -p "$OUT"
[ -f "$TABLE_JSON" ] || cp precomputed/gemma-3-270m.json "$TABLE_JSON"
run() {
  HF_HUB_OFFLINE=1 .venv/bin/bridgex-chain eval classify \
    --sib200 "$SIB200" \
    --table-json "$TABLE_JSON" \
    --conditions "$CONDITIONS" \
    --renderings self \
    --limit 102 \
    "$@"
}
mkdir -p "$OUT"/logs
.venv/bin/python tools/eval_units.py restore "$OUT"
trap '.venv/bin/python tools/eval_units.py save "$OUT"' EXIT
pids=()
for ((job = 0; job < JOBS; job++)); do
  mine=()
  for ((i = job; i < ${#LANGUAGES[@]}; i += JOBS)); do mine+=("${LANGUAGES[i]}"); done
  [ ${#mine[@]} -gt 0 ] || continue
  part="$(IFS=,; echo "${mine[*]}")"
  echo "job $job: $part (log: $OUT/logs/job-$job.log)"
  run --languages "$part" --threads 1 --out "$OUT/parts/job-$job" \
    --cache "$OUT/cache" "$@" > "$OUT/logs/job-$job.log" 2>&1 &
  pids+=("$!")
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
if [ "$status" -ne 0 ]; then
  echo "a job failed: see $OUT/logs/; run again to resume" >&2
  exit 1
fi
rm -rf "$OUT"/parts
run --languages "$ALL" --out "$OUT" "$@"
