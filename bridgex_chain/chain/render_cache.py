"""A thread-safe LRU cache of the model's renderings into the bridge language.

An agent loop or a retry sends the same message again; rendering it into the bridge language
again would cost a model call for the same text. :class:`RenderCache` keys a rendering by its
prompt (text or messages) and stop strings, and counts calls and hits in the chain's metadata.

Example:
    >>> from bridgex_chain.prompting.templates import ModelPrompt
    >>> cache = RenderCache(size=2)
    >>> prompt = ModelPrompt("Translate: Habari", stop=("French:",))
    >>> info = {"model_calls": 0, "renders_cached": 0}
    >>> cache.get(prompt, info) is None
    True
    >>> cache.put(prompt, "Bonjour")
    'Bonjour'
    >>> cache.get(prompt, info), info
    ('Bonjour', {'model_calls': 2, 'renders_cached': 1})
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from bridgex_chain.prompting.templates import ModelPrompt

__all__ = ["RenderCache"]


class RenderCache:
    """Renderings by prompt, least recently used first out; ``size=0`` stores nothing."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[Any, str] = OrderedDict()

    @staticmethod
    def key(prompt: ModelPrompt) -> Any:
        """What a rendering is stored under: the prompt (text or messages) and its stops."""
        if isinstance(prompt.prompt, str):
            return (prompt.prompt, prompt.stop)
        return (tuple((m.type, m.text) for m in prompt.prompt), prompt.stop)

    def get(self, prompt: ModelPrompt, info: dict[str, Any]) -> str | None:
        """Count a rendering call in ``info``; return the cached text when there is one."""
        info["model_calls"] += 1
        key = self.key(prompt)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                info["renders_cached"] += 1
                return self._items[key]
        return None

    def put(self, prompt: ModelPrompt, text: str) -> str:
        """Remember ``text`` as the rendering of ``prompt`` (unless the size is 0); return it."""
        if self.size > 0:
            with self._lock:
                self._items[self.key(prompt)] = text
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return text

    def __len__(self) -> int:
        return len(self._items)
