"""Keep a long evaluation run's progress in git: save or restore its per-item unit files.

``save OUT`` copies ``OUT/cache/units`` to ``OUT/units`` without the model's renderings (what
is left is per-item statistics: ids, choices, right or wrong, the route), a folder small enough
to commit. ``restore OUT`` merges ``OUT/units`` back into ``OUT/cache`` so a fresh checkout's
run resumes where the committed one stopped; ``tools/run_eval.sh`` does both.
Run: .venv/bin/python tools/eval_units.py save|restore docs/results
"""

from __future__ import annotations

import sys
from pathlib import Path

from bridgex_chain.eval.cache import export_units, import_units


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("save", "restore"):
        print("usage: eval_units.py save|restore OUT", file=sys.stderr)
        return 2
    action, out = argv[0], Path(argv[1])
    if action == "save":
        count = export_units(out / "cache", out / "units")
        print(f"saved {count} unit files to {out / 'units'}")
    else:
        count = import_units(out / "units", out / "cache")
        print(f"restored records into {count} unit files under {out / 'cache'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
