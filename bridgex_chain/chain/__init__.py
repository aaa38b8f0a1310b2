"""Request time: :class:`BridgeXChain`, the LangChain Runnable users call.

- :mod:`~bridgex_chain.chain.request`: what the chain accepts → ``ChainRequest``.
- :mod:`~bridgex_chain.chain.route`: the route policy over the table (``lookup_route``),
  ``Route``, ``Prepared``, the ``Fallback``/``RouteRule`` enums, the ``BridgeLookup`` seam.
- :mod:`~bridgex_chain.chain.policies`: fixed policies as lookups (direct, one bridge, random).
- :mod:`~bridgex_chain.chain.router`: the parts built once (model, detector, table, pool) and the
  steps before the answer call.
- :mod:`~bridgex_chain.chain.steps`: each step traced as a child run.
- :mod:`~bridgex_chain.chain.render_cache`: renderings into the bridge language, cached.
- :mod:`~bridgex_chain.chain.output`: the answer message and its stream chunks.
- :mod:`~bridgex_chain.chain.runnable`: :class:`BridgeXChain` (invoke/batch/stream/async).
- :mod:`~bridgex_chain.chain.tool`: the chain as a LangChain tool.
- :mod:`~bridgex_chain.chain.chat_model`: :class:`BridgeXChatModel`.
- :mod:`~bridgex_chain.chain.chat_graph`: the chain as a LangGraph chatbot with a checkpointer.

Example:
    >>> from bridgex_chain.chain import BridgeXChain
    >>> BridgeXChain().task
    'chat'
"""

from __future__ import annotations

from bridgex_chain.chain.chat_model import BridgeXChatModel
from bridgex_chain.chain.runnable import BridgeXChain

__all__ = ["BridgeXChain", "BridgeXChatModel"]
