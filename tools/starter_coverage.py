"""Print how far the CLDR starter probe set reaches: one row per language the detector labels.

For every FLORES-200 code of the bundled language detector (the 205 SIB-200 languages), prints a
markdown table of the CLDR locale read, the word pairs with English, the share of terms
identical to English, the share of letters in the language's script and whether the language
passes the quality floor (or why not), followed by a one-line summary. The table in
``docs/method.md`` ("Probe sets beyond the study languages") is this script's output.

Run:
    .venv/bin/python tools/starter_coverage.py                  # summary, then the table
    .venv/bin/python tools/starter_coverage.py --min-terms 150  # another floor
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from bridgex_chain.languages import language_name
from bridgex_chain.probing.starter_quality import (
    QualityFloor,
    StarterQuality,
    detector_languages,
    starter_quality,
)


def summary(quality: Mapping[str, StarterQuality], floor: QualityFloor) -> str:
    """One line: how many languages pass, have thin data (a locale, below the floor), none."""
    passed = sum(q.passed for q in quality.values())
    thin = sum(q.locale is not None and not q.passed for q in quality.values())
    missing = sum(q.locale is None for q in quality.values())
    return (
        f"{passed} of {len(quality)} detector languages pass the floor (at least "
        f"{floor.min_terms} terms, at most {100 * floor.max_identical_share:.0f} % identical to "
        f"English, at least {100 * floor.min_script_share:.0f} % of letters in their script); "
        f"{thin} have thin CLDR data (a locale, below the floor); {missing} have no CLDR locale."
    )


def table(quality: Mapping[str, StarterQuality]) -> str:
    """The markdown table, one row per language in code order."""
    lines = [
        "| code | name | locale | terms | identical % | script % | passed / reason |",
        "| --- | --- | --- | ---: | ---: | ---: | --- |",
    ]
    for code, q in quality.items():
        if q.locale is None:
            figures = "| — | — | — | — |"
        else:
            figures = (
                f"| `{q.locale}` | {q.terms} | {100 * q.identical_share:.1f} "
                f"| {100 * q.script_share:.1f} |"
            )
        verdict = "passed" if q.passed else q.reason
        lines.append(f"| `{code}` | {language_name(code)} {figures} {verdict} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Parse the floor from the command line and print the summary and the table."""
    default = QualityFloor()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--min-terms", type=int, default=default.min_terms)
    parser.add_argument("--max-identical", type=float, default=default.max_identical_share)
    parser.add_argument("--min-script", type=float, default=default.min_script_share)
    args = parser.parse_args(argv)
    floor = QualityFloor(args.min_terms, args.max_identical, args.min_script)
    quality = starter_quality(detector_languages(), floor)
    print(summary(quality, floor))
    print()
    print(table(quality))


if __name__ == "__main__":
    main()
