"""The ``detect`` command: identify the language of a text, offline.

Example:
    $ bridgex-chain detect "Habari ya asubuhi, rafiki yangu"
    $ bridgex-chain detect "Selamat pagi" --allowed id,ms --json
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bridgex_chain.cli.terminal import TidyCommand, argv_text, json_line, safe

if TYPE_CHECKING:
    from bridgex_chain.detect import Detection

__all__ = ["register"]


def _split_codes(value: str | None) -> list[str] | None:
    if value is None:
        return None
    codes = [part.strip() for part in argv_text(value).split(",") if part.strip()]
    if not codes:
        raise typer.BadParameter("give at least one language code, e.g. 'sw,en'")
    return codes


def _as_json(detection: Detection) -> dict[str, Any]:
    from bridgex_chain.detect import UNKNOWN
    from bridgex_chain.languages import language_name

    def name(code: str) -> str | None:
        return None if code == UNKNOWN else language_name(code)

    return {
        "lang": detection.lang,
        "name": name(detection.lang),
        "confidence": round(detection.confidence, 4),
        "source": detection.source,
        "reason": detection.reason,
        "candidates": [
            {"lang": code, "name": name(code), "prob": round(prob, 4)}
            for code, prob in detection.candidates
        ],
    }


def detect_command(
    text: Annotated[
        str, typer.Argument(help="The text whose language to identify.", metavar="TEXT")
    ],
    allowed: Annotated[
        str | None,
        typer.Option(
            "--allowed",
            "--lang-hint",
            help="Comma-separated languages to choose from (any code form: sw,swh_Latn,Swahili).",
            metavar="CODES",
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0, help="Abstain below this confidence (default 0.6).", metavar="P"
        ),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(
            help="A fastText language-ID model file (lid.176.bin, GlotLID, OpenLID...), or "
            "'lite' for lid.176 lite. Default: bridgex-chain's bundled SIB-200 model.",
            metavar="FILE",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Detect the language of TEXT and print its FLORES-200 code, name and confidence."""
    from rich.console import Console
    from rich.table import Table

    from bridgex_chain.detect import DEFAULT_THRESHOLD, FastTextDetector
    from bridgex_chain.languages import language_name

    detector = FastTextDetector(
        model,
        threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
        allowed=_split_codes(allowed),
    )
    readable = argv_text(text)
    if readable != text:
        Console(stderr=True).print(
            "[yellow]note:[/] the text is not valid UTF-8; its invalid bytes read as U+FFFD.",
            highlight=False,
        )
    detection = detector.detect(readable)
    if as_json:
        typer.echo(json_line(_as_json(detection)))
        return

    console = Console()
    if detection.is_unknown:
        console.print(
            f"[bold yellow]unknown[/] (abstained: {safe(detection.reason)}; "
            f"confidence {detection.confidence:.3f})"
        )
    else:
        console.print(
            f"[bold green]{safe(detection.lang)}[/] {safe(language_name(detection.lang))} "
            f"(confidence {detection.confidence:.3f})"
        )
    if detection.candidates:
        table = Table("language", "name", "probability", title="top candidates")
        for code, prob in detection.candidates:
            table.add_row(safe(code), safe(language_name(code)), f"{prob:.3f}")
        console.print(table)


def register(app: typer.Typer) -> None:
    """Add the ``detect`` command to the CLI ``app``.

    Example:
        >>> import typer
        >>> app = typer.Typer()
        >>> register(app)
    """
    app.command("detect", cls=TidyCommand)(detect_command)
