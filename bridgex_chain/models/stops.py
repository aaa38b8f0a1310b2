r"""Stop strings: cutting generated text at them, whole or as it streams.

A model is asked to stop at markers such as ``"\nUser:"`` that are several tokens long, so the
cut is made on text, not on token ids. :func:`cut_at_stop` cuts a finished text;
:class:`StopFilter` cuts a stream of pieces, holding back the tail that could still become a stop
string. Empty stop strings are ignored by both.

Example:
    >>> cut_at_stop('Habari"\nnext', ['"', "\n"])
    'Habari'
    >>> f = StopFilter(["\nUser:"], strip=False)
    >>> [f.feed(t) for t in [" Habari", " yako\nUs", "er: hi"]] + [f.flush()]
    [' Habari', ' yako', '', '']
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["StopFilter", "clean_completion", "cut_at_stop"]


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """Return ``text`` up to (not including) the earliest stop string.

    Args:
        text: The generated text.
        stop: Stop strings; empty ones are ignored.

    Returns:
        The text before the first stop string, or all of it when none occurs.

    Example:
        >>> cut_at_stop("a→b", ["→"]), cut_at_stop("abc", [""])
        ('a', 'abc')
    """
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=len(text))
    return text[:cut]


def clean_completion(text: str, stop: Sequence[str] = ()) -> str:
    r"""Cut a completion at the first stop string and strip surrounding whitespace.

    The batch counterpart of ``StopFilter(stop)`` (strip on): both give the same text.

    Example:
        >>> clean_completion(" Habari yako\nUser: hi", ["\nUser:"])
        'Habari yako'
    """
    return cut_at_stop(text.lstrip(), stop).rstrip()


class StopFilter:
    r"""Cut a text stream at stop strings (the streaming counterpart of :func:`cut_at_stop`).

    Text that could still turn into a stop string is held back until the next piece decides.
    With ``strip=True`` leading and trailing whitespace is dropped too: the pieces joined equal
    ``clean_completion(text, stop)``.

    Args:
        stop: Stop strings; empty ones are ignored.
        strip: Drop leading and trailing whitespace.

    Attributes:
        done: True once a stop string was seen (later pieces are dropped).

    Example:
        >>> f = StopFilter(["\nUser:"])
        >>> [f.feed(t) for t in [" Habari", " yako\nUs", "er: hi"]] + [f.flush()]
        ['Habari', ' yako', '', '']
    """

    def __init__(self, stop: Sequence[str], *, strip: bool = True) -> None:
        self.stop = tuple(s for s in stop if s)
        self.strip = strip
        self.done = False
        self._buffer = ""
        self._started = not strip

    def feed(self, text: str) -> str:
        """Add a piece of text; return what can safely be emitted now.

        Example:
            >>> StopFilter(["."], strip=False).feed("a.b")
            'a'
        """
        if self.done:
            return ""
        self._buffer += text
        if not self._started:
            self._buffer = self._buffer.lstrip()
            if not self._buffer:
                return ""
            self._started = True
        cut = min((i for i in (self._buffer.find(s) for s in self.stop) if i >= 0), default=-1)
        if cut >= 0:
            out = self._buffer[:cut]
            self._buffer, self.done = "", True
            return out.rstrip() if self.strip else out
        hold = max(
            (n for s in self.stop for n in range(1, len(s)) if self._buffer.endswith(s[:n])),
            default=0,
        )
        safe = self._buffer[: len(self._buffer) - hold]
        if self.strip:
            safe = safe.rstrip()
        self._buffer = self._buffer[len(safe) :]
        return safe

    def flush(self) -> str:
        r"""Return the text still held back when the stream ends.

        Example:
            >>> f = StopFilter(["\nUser:"], strip=False)
            >>> f.feed("maji\nUs"), f.flush()
            ('maji', '\nUs')
        """
        out, self._buffer = ("" if self.done else self._buffer), ""
        return out.rstrip() if self.strip else out
