"""The ``bridgex-chain`` command-line interface (installed as ``bridgex_chain.cli``)."""
