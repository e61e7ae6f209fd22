"""Fault runs (`make chaos`): the distributed topology under seeded faults, then the invariant checker."""
