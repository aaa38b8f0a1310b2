"""Text that came from outside (paths, stored names, URLs) made safe to show a person.

Stored model keys, probe-set names and file names are data: they may hold control characters
(an ANSI escape would reach the terminal raw) or lone surrogates (a file name that is not
UTF-8, which no UTF-8 terminal can encode). :func:`printable` writes both as visible escapes, so
messages and tables built from such values can always be printed.

Example:
    >>> from bridgex_chain.store.text import printable
    >>> printable(chr(27) + "[31m") == chr(92) + "x1b[31m"
    True
"""

from __future__ import annotations

import os

__all__ = ["printable"]


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(value: str | os.PathLike[str]) -> str:
    """Return ``value`` with control characters and lone surrogates written as escapes.

    Ordinary text (any script, emoji, spaces) is kept; tabs, newlines, escape sequences, other
    C0/C1 controls, format characters (bidi overrides), other non-printable characters and
    surrogates become escapes (a backslash, then ``xNN``, ``uNNNN`` or ``UNNNNNNNN``). Rich
    markup is not escaped here (see :func:`rich.markup.escape` where text goes through rich).

    Example:
        >>> printable("swh_Latn"), len(printable("a" + chr(10) + "b")), printable(chr(0xDCFF))[1:]
        ('swh_Latn', 6, 'udcff')
    """
    text = os.fspath(value)
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else _escape(char) for char in text)
