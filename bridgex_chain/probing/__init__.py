"""bridgex_chain.probing."""
