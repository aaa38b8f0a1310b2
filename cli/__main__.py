"""``python -m bridgex_chain.cli``."""

from bridgex_chain.cli.main import run

run()
