"""bridgex_chain.eval."""
