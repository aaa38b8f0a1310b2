#!/usr/bin/env bash
# Extend the shipped Gemma-3-270m bridge table to every language the detector knows.
#
# The study languages keep their shipped run; every other detector language is built as
# SHARDS parallel one-thread builds (`build-table --languages all --exclude study --shard K/N`),
# each with its own database, cache and log under $OUT. Probes come from CLDR where the
# starter's quality floor passes, else from SIB-200 train sentences of the probe part; render
# checks read the check part (bridgex_chain/probing/parallel_probes.py), so the held-out part
# stays free for `eval classify --split heldout`. Each shard's run is exported to
# $OUT/shard-K.json; the shards are then imported into one database and everything (the
# shipped run included) is exported to $TABLE. Wall time, per-stage times and peak memory of
# each shard are in $OUT/shard-K.log (GNU time -v).
#
# Builds are resumable: run again and only what is missing is done. A build longer than a
# sitting resumes on a fresh checkout too: on exit the runs' small JSON files (manifest,
# neuron groups, scores, render checks) and the logs are saved to $SAVE (default
# docs/results/table-build, committed), and a start copies them back into the cache; with
# every entry scored, a resumed build needs neither language neurons nor probe activations.
# MODEL, SIB200, EXCLUDE (codes, default study), SHARDS (default: the
# number of cores), MAX_PROMPTS (per direction, default 32), OUT (default
# build/all-languages), TABLE (default precomputed/gemma-3-270m.json) and EXTRA (more
# build-table options) override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
SIB200="${SIB200:-../shared/data/sib200}"
if [ ! -d "$SIB200" ]; then
  echo "SIB-200 data not found at $SIB200 (set SIB200=/path/to/sib200)" >&2
  exit 2
fi
MODEL="${MODEL:-gemma}"
EXCLUDE="${EXCLUDE:-study}"
SHARDS="${SHARDS:-$(nproc 2>/dev/null || echo 1)}"
MAX_PROMPTS="${MAX_PROMPTS:-32}"
OUT="${OUT:-build/all-languages}"
TABLE="${TABLE:-precomputed/gemma-3-270m.json}"
read -r -a extra <<< "${EXTRA:-}"
SAVE="${SAVE:-docs/results/table-build}"
mkdir -p "$OUT/cache" "$SAVE"
OUT="$(cd "$OUT" && pwd)"
# (kept as $SAVE/runs: a folder named cache is git-ignored under docs/results)
if [ -d "$SAVE/runs" ]; then mkdir -p "$OUT/cache/runs" && cp -rn "$SAVE/runs/." "$OUT/cache/runs/"; fi
save() {
  for run in "$OUT"/cache/runs/*/; do
    [ -d "$run" ] || continue
    kept="$SAVE/runs/$(basename "$run")"
    mkdir -p "$kept"
    for part in manifest.json groups scores render; do
      if [ -e "$run/$part" ]; then cp -r "$run/$part" "$kept/"; fi
    done
  done
  cp "$OUT"/shard-*.log "$SAVE/" 2>/dev/null || true
}
trap save EXIT
TIME=()
if [ -x /usr/bin/time ]; then TIME=(/usr/bin/time -v); fi
start=$(date +%s)
pids=()
for ((k = 1; k <= SHARDS; k++)); do
  echo "shard $k/$SHARDS (log: $OUT/shard-$k.log)"
  HF_HUB_OFFLINE=1 "${TIME[@]}" .venv/bin/bridgex-chain build-table \
    --model "$MODEL" --languages all --exclude "$EXCLUDE" --shard "$k/$SHARDS" \
    --parallel "$SIB200" --max-prompts "$MAX_PROMPTS" --window-only --threads 1 \
    --database-url "sqlite:///$OUT/shard-$k.db" --cache-dir "$OUT/cache" \
    --export "$OUT/shard-$k.json" "${extra[@]}" > "$OUT/shard-$k.log" 2>&1 &
  pids+=("$!")
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
if [ "$status" -ne 0 ]; then
  echo "a shard failed: see $OUT/shard-*.log; run again to resume" >&2
  exit 1
fi
echo "shards done in $(( $(date +%s) - start )) s"
merged="sqlite:///$OUT/merged.db"
rm -f "$OUT/merged.db"
for ((k = 1; k <= SHARDS; k++)); do
  .venv/bin/bridgex-chain table import "$OUT/shard-$k.json" --database-url "$merged"
done
.venv/bin/bridgex-chain table export "$TABLE" --model "$MODEL" --database-url "$merged"
.venv/bin/bridgex-chain table list --model "$MODEL" --database-url "$merged" | tail -2
