#!/usr/bin/env bash
# The documented evaluation run (docs/results/): does the chosen bridge help on Gemma-3-270m?
# Classification on the BridgeX-ICL study languages in SIB-200 and translation into English
# from Swahili, Indonesian and Chinese plus three BridgeX-ICL pairs (zh-ja, ar-he, id-tl, which
# have bridge-table entries); every condition, both renderings, 7 items per entry.
# Resumable: results are cached under docs/results/cache (safe to interrupt and re-run; a
# finished run only re-renders the report). Extra arguments are passed on, e.g. --threads 2.
set -euo pipefail
cd "$(dirname "$0")/.."
SIB200="${SIB200:-../shared/data/sib200}"
if [ ! -d "$SIB200" ]; then
  echo "SIB-200 data not found at $SIB200 (set SIB200=/path/to/sib200)" >&2
  exit 2
fi
HF_HUB_OFFLINE=1 exec .venv/bin/bridgex-chain eval classify translate \
  --sib200 "$SIB200" \
  --pairs swh_Latn-eng_Latn,ind_Latn-eng_Latn,zho_Hans-eng_Latn,zho_Hans-jpn_Jpan,arb_Arab-heb_Hebr,ind_Latn-tgl_Latn \
  --limit 7 \
  --out docs/results \
  "$@"
