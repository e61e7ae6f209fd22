"""The vault's storage: `payments.payment_methods`, one row per vaulted token, sealed with AES-GCM.

The key is 256 bits derived (HKDF-SHA256) from `MERCATO_PAYMENTS_VAULT_KEY`, or in development,
when that is unset, from `MERCATO_AUTH_SECRET` under another label (so the two never share key
material). A sealed value is `version || nonce || ciphertext+tag`; the reference and the customer
are the associated data, so a sealed token moved to another row, or edited, fails to open.
"""

from __future__ import annotations

import logging
import os
import uuid

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import text

from mercato.payments.domain.rules import IdempotencyKeyReused
from mercato.payments.domain.vault import TokenCipher, new_reference
from mercato.platform.db import Database

log = logging.getLogger(__name__)

_VERSION = b"\x01"
_NONCE_BYTES = 12
# Development only (neither setting given: an in-process `Runtime` in tests); logged as a warning.
_DEV_MATERIAL = "mercato development payments vault key, not for production"


def vault_key(vault_key_setting: str | None, auth_secret: str | None) -> bytes:
    """The AES-256 key: from the vault setting, else from the auth secret (development)."""
    if vault_key_setting:
        material, label = vault_key_setting, b"mercato payments vault v1"
    elif auth_secret:
        material, label = auth_secret, b"mercato payments vault v1 (from the auth secret)"
    else:
        log.warning(
            "MERCATO_PAYMENTS_VAULT_KEY and MERCATO_AUTH_SECRET are unset: a development key seals tokens"
        )
        material, label = _DEV_MATERIAL, b"mercato payments vault v1 (development)"
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label)
    return hkdf.derive(material.encode())


class AesGcmCipher(TokenCipher):
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, token: str, *, reference: str, customer_id: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        bound = f"{reference}|{customer_id}".encode()
        return _VERSION + nonce + self._aead.encrypt(nonce, token.encode(), bound)

    def open(self, sealed: bytes, *, reference: str, customer_id: str) -> str:
        if sealed[:1] != _VERSION:
            raise ValueError(f"unknown sealed token version {sealed[:1]!r}")
        nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        bound = f"{reference}|{customer_id}".encode()
        return self._aead.decrypt(nonce, body, bound).decode()


_INSERT = text(
    "INSERT INTO payments.payment_methods (id, customer_id, idempotency_key, sealed) "
    "VALUES (:id, :customer_id, :key, :sealed) "
    "ON CONFLICT (customer_id, idempotency_key) DO NOTHING RETURNING id"
)
_BY_KEY = text(
    "SELECT id, sealed FROM payments.payment_methods "
    "WHERE customer_id = :customer_id AND idempotency_key = :key"
)
_BY_ID = text("SELECT customer_id, sealed FROM payments.payment_methods WHERE id = :id")


class PaymentMethodStore:
    """Vault rows on connections of their own: each call is one short statement (two on a repeat)."""

    def __init__(self, db: Database, cipher: TokenCipher) -> None:
        self.db = db
        self.cipher = cipher

    async def store(self, customer_id: uuid.UUID, idempotency_key: str, token: str) -> str:
        """The reference of `token` for (customer, key), new or the one the key got first."""
        reference = new_reference()
        sealed = self.cipher.seal(token, reference=reference, customer_id=str(customer_id))
        params = {"id": reference, "customer_id": customer_id, "key": idempotency_key}
        async with self.db.begin() as conn:
            inserted = (await conn.execute(_INSERT, {**params, "sealed": sealed})).scalar_one_or_none()
            if inserted is not None:
                return str(inserted)
            row = (await conn.execute(_BY_KEY, params)).one()
        first = self.cipher.open(bytes(row.sealed), reference=str(row.id), customer_id=str(customer_id))
        if first != token:
            raise IdempotencyKeyReused()
        return str(row.id)

    async def reveal(self, reference: str) -> str | None:
        """The token behind `reference`, decrypted in memory; None when there is no such reference."""
        async with self.db.connect() as conn:
            row = (await conn.execute(_BY_ID, {"id": reference})).one_or_none()
        if row is None:
            return None
        try:
            return self.cipher.open(bytes(row.sealed), reference=reference, customer_id=str(row.customer_id))
        except (InvalidTag, ValueError):
            # Another key sealed it (the vault key changed) or the row was tampered with: nothing
            # can charge it, so the authorization is declined rather than retried for ever.
            log.error("vaulted payment method %s does not open with the current key", reference)
            return None
