"""Mercato: a headless e-commerce backend made of domain services."""

__version__ = "0.1.0"
