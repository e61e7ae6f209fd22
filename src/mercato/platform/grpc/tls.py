"""TLS between services, from files: a server certificate, its key and the CA that signs peers.

Each process gets the same three settings. With a certificate and key, its gRPC server speaks TLS; with
a CA as well, it also requires callers to present a certificate that CA signed (mutual TLS). Its
clients verify servers against the CA and present the process's own certificate. Nothing set: plaintext,
for loopback and for meshes that encrypt on their own. Service tokens are checked either way.
"""

from __future__ import annotations

from pathlib import Path

import grpc

from mercato.platform.config import Settings
from mercato.platform.errors import MercatoError


class TlsConfigurationError(MercatoError):
    """A TLS file is missing or the combination of settings is incomplete."""


def _read(path: Path | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TlsConfigurationError(f"cannot read the gRPC TLS {what} {path}: {exc.strerror}") from None


def server_credentials(
    cert_file: Path | None, key_file: Path | None, ca_file: Path | None
) -> grpc.ServerCredentials | None:
    """TLS credentials for a server, or None for plaintext; a CA means callers must present a certificate."""
    if cert_file is None and key_file is None:
        if ca_file is not None:
            raise TlsConfigurationError("a gRPC TLS CA without a certificate and key: set all three")
        return None
    cert, key = _read(cert_file, "certificate"), _read(key_file, "key")
    if cert is None or key is None:
        raise TlsConfigurationError(
            "gRPC TLS needs both MERCATO_GRPC_TLS_CERT_FILE and MERCATO_GRPC_TLS_KEY_FILE"
        )
    ca = _read(ca_file, "CA")
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=ca, require_client_auth=ca is not None
    )


def channel_credentials(
    cert_file: Path | None, key_file: Path | None, ca_file: Path | None
) -> grpc.ChannelCredentials | None:
    """TLS credentials for a client (servers verified against the CA, our certificate presented), or None."""
    if ca_file is None:
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=_read(ca_file, "CA"),
        private_key=_read(key_file, "key"),
        certificate_chain=_read(cert_file, "certificate"),
    )


def server_tls(settings: Settings) -> grpc.ServerCredentials | None:
    return server_credentials(
        settings.grpc_tls_cert_file, settings.grpc_tls_key_file, settings.grpc_tls_ca_file
    )


def channel_tls(settings: Settings) -> grpc.ChannelCredentials | None:
    return channel_credentials(
        settings.grpc_tls_cert_file, settings.grpc_tls_key_file, settings.grpc_tls_ca_file
    )
