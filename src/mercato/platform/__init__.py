"""Shared infrastructure: config, engines, database, outbox/inbox, messaging, cache, errors.

Nothing here knows about a bounded context; contexts build on these pieces.
"""
