#!/usr/bin/env bash
# The documented evaluation run (docs/results/): does the bridge help on Gemma-3-270m?
# BridgeXChain itself under every route policy (direct, English, table, table with detection,
# random, every candidate bridge, and the oracle renderings), through chain.batch: SIB-200
# topic classification on the 13 test languages that are not candidate bridges and translation
# for the BridgeX-ICL pairs, 102 label-balanced items per entry, paired tests against direct.
# Resumable: results are cached under docs/results/cache (safe to interrupt and re-run; a
# finished run only re-renders the report; --report-only reports a run in progress). Extra
# arguments are passed on, e.g. --threads 2.
set -euo pipefail
cd "$(dirname "$0")/.."
SIB200="${SIB200:-../shared/data/sib200}"
if [ ! -d "$SIB200" ]; then
  echo "SIB-200 data not found at $SIB200 (set SIB200=/path/to/sib200)" >&2
  exit 2
fi
HF_HUB_OFFLINE=1 exec .venv/bin/bridgex-chain eval classify translate \
  --sib200 "$SIB200" \
  --limit 102 \
  --out docs/results \
  "$@"
