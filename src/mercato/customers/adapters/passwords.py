"""Password hashing with argon2id (argon2-cffi), off the event loop.

Implements `service_layer.ports.PasswordHasher`. Hashing is CPU-bound for tens of milliseconds;
argon2-cffi releases the GIL, so running it in a worker thread keeps the loop serving other
requests. Each hash also takes `memory_cost` (64 MiB by default), so at most `max_concurrent` run
at once: a burst of sign-ins queues instead of claiming gigabytes or oversubscribing the CPUs.
"""

from __future__ import annotations

import asyncio
import os
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults: RFC 9106's "second recommended option" (t=3, 64 MiB, p=4).
DEFAULT_TIME_COST = 3
DEFAULT_MEMORY_COST_KIB = 65_536
DEFAULT_PARALLELISM = 4


class Argon2Passwords:
    def __init__(
        self,
        *,
        time_cost: int = DEFAULT_TIME_COST,
        memory_cost: int = DEFAULT_MEMORY_COST_KIB,
        parallelism: int = DEFAULT_PARALLELISM,
        max_concurrent: int | None = None,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
        )
        self._slots = asyncio.Semaphore(max_concurrent or os.cpu_count() or 2)
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        async with self._slots:
            return await asyncio.to_thread(self._verify, password_hash, password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    async def burn(self, password: str) -> None:
        # A hash of a random password, made with the current parameters, so verifying against it
        # costs what verifying a real account's hash costs. Made once per process, on first need.
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
        await self.verify(self._dummy_hash, password)
