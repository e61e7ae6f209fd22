"""Composition root: picks implementations and wires the contexts together."""
