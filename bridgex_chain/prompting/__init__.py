"""bridgex_chain.prompting."""
