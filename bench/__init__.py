"""Benchmarks: what the bot costs next to the network. Run with ``python -m bench``."""
