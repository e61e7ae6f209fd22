"""The vault's cryptography (`domain.vault` says why tokens are sealed into their references).

Keys are derived (HKDF-SHA256) from `MERCATO_PAYMENTS_VAULT_KEY`, or in development, when that is
unset, from `MERCATO_AUTH_SECRET` under another label (so the two never share key material):
- `SivSealer`: AES-256-SIV (RFC 5297, 512-bit key), deterministic: a reference is
  `pm_2.` + base64url(synthetic IV || ciphertext of customer id (16 bytes) || token). Any edit to
  it fails to open.
- `PaymentMethodStore` + `AesGcmCipher`: the first vault's rows in `payments.payment_methods`
  (`version || nonce || ciphertext+tag`, the reference and the customer as associated data), read
  only, so the references handed out before still open.
"""

from __future__ import annotations

import base64
import binascii
import logging
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import text

from mercato.payments.domain.vault import SEALED_PREFIX, LegacyPaymentMethods, TokenSealer
from mercato.platform.db import Database

log = logging.getLogger(__name__)

_VERSION = b"\x01"
_NONCE_BYTES = 12
_CUSTOMER_BYTES = 16
_SIV_ASSOCIATED = [b"mercato payments vault v2"]
# Development only (neither setting given: an in-process `Runtime` in tests); logged as a warning.
_DEV_MATERIAL = "mercato development payments vault key, not for production"


@dataclass(frozen=True)
class VaultKeys:
    siv: bytes  # 64 bytes: AES-256-SIV, this vault's references
    legacy: bytes  # 32 bytes: AES-256-GCM, the first vault's rows

    @classmethod
    def derive(cls, vault_key_setting: str | None, auth_secret: str | None) -> VaultKeys:
        return cls(
            siv=_derive(vault_key_setting, auth_secret, length=64),
            legacy=_derive(vault_key_setting, auth_secret, length=32),
        )


def _derive(vault_key_setting: str | None, auth_secret: str | None, *, length: int) -> bytes:
    """`length` bytes of key from the vault setting, else from the auth secret (development); the
    64-byte SIV key under a label of its own."""
    if vault_key_setting:
        material, label = vault_key_setting, b"mercato payments vault v1"
    elif auth_secret:
        material, label = auth_secret, b"mercato payments vault v1 (from the auth secret)"
    else:
        log.warning(
            "MERCATO_PAYMENTS_VAULT_KEY and MERCATO_AUTH_SECRET are unset: a development key seals tokens"
        )
        material, label = _DEV_MATERIAL, b"mercato payments vault v1 (development)"
    if length == 64:
        label += b" siv"
    hkdf = HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=label)
    return hkdf.derive(material.encode())


class SivSealer(TokenSealer):
    def __init__(self, key: bytes) -> None:
        self._aead = AESSIV(key)

    def seal(self, customer_id: uuid.UUID, token: str) -> str:
        sealed = self._aead.encrypt(customer_id.bytes + token.encode(), _SIV_ASSOCIATED)
        return SEALED_PREFIX + base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def open(self, reference: str) -> tuple[uuid.UUID, str] | None:
        if not reference.startswith(SEALED_PREFIX):
            return None
        body = reference[len(SEALED_PREFIX) :]
        try:
            sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = self._aead.decrypt(sealed, _SIV_ASSOCIATED)
            return uuid.UUID(bytes=plain[:_CUSTOMER_BYTES]), plain[_CUSTOMER_BYTES:].decode()
        except (InvalidTag, ValueError, binascii.Error):
            # Another key sealed it (the vault key changed) or it was edited on the way.
            return None


class AesGcmCipher:
    """The first vault's cipher, opening only."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def open(self, sealed: bytes, *, reference: str, customer_id: str) -> str:
        if sealed[:1] != _VERSION:
            raise ValueError(f"unknown sealed token version {sealed[:1]!r}")
        nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        bound = f"{reference}|{customer_id}".encode()
        return self._aead.decrypt(nonce, body, bound).decode()


_BY_ID = text("SELECT customer_id, sealed FROM payments.payment_methods WHERE id = :id")


class PaymentMethodStore(LegacyPaymentMethods):
    """The first vault's rows, read only: references it answered still open (sagas started before
    the sealed references); nothing writes here any more. The table can go once no saga older than
    the sealed references is left."""

    def __init__(self, db: Database, cipher: AesGcmCipher) -> None:
        self.db = db
        self.cipher = cipher

    async def reveal(self, reference: str) -> str | None:
        """The token behind `reference`, decrypted in memory; None when there is no such reference."""
        async with self.db.connect() as conn:
            row = (await conn.execute(_BY_ID, {"id": reference})).one_or_none()
        if row is None:
            return None
        try:
            return self.cipher.open(bytes(row.sealed), reference=reference, customer_id=str(row.customer_id))
        except (InvalidTag, ValueError):
            log.error("vaulted payment method %s does not open with the current key", reference)
            return None
