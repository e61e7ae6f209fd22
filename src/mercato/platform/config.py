"""Settings, read from the environment (prefix MERCATO_) and an optional `.env` file."""

from __future__ import annotations

import ipaddress
import re
from functools import cached_property
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_NAMESPACE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MERCATO_", env_file=".env", extra="ignore")

    # Engines. Unset -> Mercato starts an embedded engine under `data_dir`.
    database_url: str | None = None
    # Least privilege: a context's own login role (`postgresql://<role>:<password>@…`, same database).
    # Set, the context connects with it, and `mercato migrate` (connected as the owner,
    # `database_url`) creates or updates that role with access to the context's schema only. Unset,
    # the context connects as `database_url` (development, tests: one trusted role).
    catalog_database_url: str | None = None
    inventory_database_url: str | None = None
    customers_database_url: str | None = None
    payments_database_url: str | None = None
    orders_database_url: str | None = None
    search_database_url: str | None = None
    nats_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path(".mercato")

    # Isolates NATS subjects/streams and Redis keys, so several installations (or test runs)
    # can share one broker and one Redis without touching each other's data.
    namespace: str = "mercato"

    http_host: str = "127.0.0.1"
    http_port: int = 8000

    # Currency of storefront price filters given as decimal strings.
    default_currency: str = "USD"

    db_pool_size: int = Field(default=10, ge=1, le=200)
    # Bounds on every database call of a serving process, so that a database that stops answering
    # costs a request an UNAVAILABLE error, never a hang (docs/reliability.md, engine outages): opening
    # a connection, one statement (client side: 0 for none; batch commands turn it off), and waiting
    # for a free pooled connection.
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    db_command_timeout_seconds: float = Field(default=30.0, ge=0)
    db_pool_timeout_seconds: float = Field(default=30.0, gt=0)
    # The relay publishes a committed event at once, from the process that committed it. Its poll is
    # the fallback: it publishes rows still unpublished `grace` seconds after their commit (their
    # process died or the broker failed), and marks what was published, at most every mark interval.
    outbox_poll_interval_seconds: float = Field(default=2.0, gt=0)
    # Each process runs the anomaly detector over its own metrics this often (`ops.self_watch`);
    # 0 turns it off.
    anomaly_watch_interval_seconds: float = Field(default=15.0, ge=0)
    outbox_publish_grace_seconds: float = Field(default=5.0, gt=0)
    # As long as the poll interval: every mark rides the poll's transaction (one UPDATE per poll),
    # none runs on its own; rows wait at most that long, well inside the grace.
    outbox_mark_interval_seconds: float = Field(default=2.0, ge=0)
    outbox_batch_size: int = Field(default=200, ge=1, le=10_000)
    # Consumers apply what one fetch returns (at most `batch_size` messages) in one transaction. A fetch
    # returns as soon as a message is there; `fetch_wait` only bounds how long an idle fetch lingers.
    # `concurrency`: batches of one consumer in flight at once, per process. 1 by measurement: on rows
    # that messages share, concurrent batches deadlock and fall back to one message at a time (a backlog
    # on 20 hot rows drained at 850 msgs/s with 1, 410 with 2, 220 with 4); on distinct rows 2 and 4
    # gained only 25% and 50%, and every further process already adds a batch in flight.
    consumer_batch_size: int = Field(default=100, ge=1, le=10_000)
    consumer_concurrency: int = Field(default=1, ge=1, le=64)
    consumer_fetch_wait_seconds: float = Field(default=1.0, gt=0, le=30)
    consumer_max_deliveries: int = Field(default=10, ge=1)

    cache_enabled: bool = True
    cache_ttl_seconds: int = Field(default=300, ge=1)
    # Each process keeps copies of cached entries it read from Redis this long, at most this many
    # bytes, while it hears the generation bumps (Redis pub/sub); 0 turns the copies off. A hit is
    # then no Redis round trip at all (docs/benchmarks.md, "The cached tail").
    cache_local_ttl_seconds: float = Field(default=2.0, ge=0, le=60)
    cache_local_max_bytes: int = Field(default=32 * 1024 * 1024, ge=0)
    # After startup the gateway moves what it has built (schema, modules: ~200k objects) out of the
    # collector's reach (`gc.freeze()`): full collections walking that heap stalled every request in
    # flight for 100-300 ms (the cached listing's p99). A gen0 threshold above 0 replaces Python's
    # 700; raising it was measured worse (each young collection then stalls for longer).
    gc_freeze: bool = True
    gc_gen0_threshold: int = Field(default=0, ge=0)

    # HTTP caching of anonymous catalog responses (shared caches, browsers): their max-age, how long
    # an edge may serve them stale while it refetches, and the shorter max-age of lists filtered by
    # stock (`inStock`, relevance search), which a SKU going out of stock changes.
    http_cache_max_age_seconds: int = Field(default=60, ge=0)
    http_cache_stale_while_revalidate_seconds: int = Field(default=30, ge=0)
    http_cache_availability_max_age_seconds: int = Field(default=5, ge=0)
    # Where purge keys go when the catalog changes (POST, see platform.cdn.HttpPurger); unset, they
    # are only logged and counted.
    cdn_purge_url: str | None = None
    cdn_purge_token: str | None = None
    cdn_purge_auth_header: str = "Authorization"
    # Automatic persisted queries: at most this many documents registered (the oldest registered
    # goes first), each at most this many characters; a GET's query string at most this many bytes.
    persisted_queries_max: int = Field(default=5_000, ge=1)
    persisted_query_max_chars: int = Field(default=10_000, ge=100)
    graphql_max_query_string_bytes: int = Field(default=16_384, ge=1_024)

    reservation_ttl_seconds: int = Field(default=900, ge=1)
    reservation_sweep_interval_seconds: float = Field(default=5.0, gt=0)
    # Fault runs only (`make chaos`, tests): a file holding seconds added to the clock the contexts
    # read (platform/clock.py), followed by every process started with it, so a run can jump the
    # whole process tree's clock across reservation expiry. Unset: the wall clock, no file read.
    clock_offset_file: Path | None = None
    # Self-healing (platform/watchdog.py): every interval, a relay, consumer or sweeper with work
    # waiting and no turn for `stall` seconds is restarted, at most `max_restarts` times in 10 minutes.
    watchdog_interval_seconds: float = Field(default=5.0, gt=0)
    watchdog_stall_seconds: float = Field(default=60.0, gt=0)
    watchdog_max_restarts: int = Field(default=5, ge=1)
    # A saga past its step's deadline by more than this is stuck (metric, `mercato ops sagas`).
    saga_stuck_grace_seconds: float = Field(default=60.0, ge=0)

    graphql_max_depth: int = Field(default=12, ge=1)
    graphql_max_cost: int = Field(default=20_000, ge=1)
    graphql_max_body_bytes: int = Field(default=1_000_000, ge=1_000)
    graphiql: bool = True

    # Authentication. The secret signs access tokens (HS256); `mercato dev` keeps a generated one under
    # the data dir when unset, production must set it.
    auth_secret: str | None = Field(default=None, min_length=32)
    access_token_ttl_seconds: int = Field(default=900, ge=30)
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, ge=60)
    login_attempts_per_account: int = Field(default=5, ge=1)
    login_attempts_per_ip: int = Field(default=30, ge=1)
    login_throttle_window_seconds: int = Field(default=300, ge=1)
    # Rate limits of the gateway (fixed windows in Redis, `platform.rate_limit`): anonymous `cartCreate`
    # per client address, `checkoutComplete` per customer (per address when anonymous). The address
    # is the one `trusted_proxies` decides, as for the sign-in throttle. Over the limit the mutation
    # answers its `TOO_MANY_ATTEMPTS` code.
    rate_limit_window_seconds: int = Field(default=60, ge=1)
    cart_create_per_ip: int = Field(default=60, ge=1)
    checkout_per_customer: int = Field(default=20, ge=1)
    checkout_per_ip: int = Field(default=60, ge=1)
    # `passwordResetRequest` mails whoever owns the address: counted per email (so nobody's inbox can be
    # flooded) and per client address, in a window of its own (an hour). The answer is the same
    # whether or not the email has an account, so the limit reveals nothing.
    password_reset_window_seconds: int = Field(default=3_600, ge=1)
    password_reset_requests_per_email: int = Field(default=3, ge=1)
    password_reset_requests_per_ip: int = Field(default=20, ge=1)
    # Proxies (addresses or CIDRs, comma-separated) whose `X-Forwarded-For` names the client. Empty:
    # the header is never believed and the direct peer is the client (see gateway.client_ip).
    trusted_proxies: str = ""
    # How long a process trusts its memory of an account's token version: a revocation, demotion or
    # disabling refuses older access tokens everywhere within this many seconds (0: every request
    # asks Redis). See customers.adapters.token_versions.
    # A password reset token (mailed through the `password_reset_requested` event) works once, this long.
    password_reset_ttl_seconds: int = Field(default=3_600, ge=60)
    token_version_cache_seconds: float = Field(default=2.0, ge=0, le=60)

    # Carts live in Redis and expire when left alone this long.
    cart_ttl_seconds: int = Field(default=7 * 86_400, ge=60)
    cart_max_lines: int = Field(default=100, ge=1)
    cart_max_quantity: int = Field(default=99, ge=1)

    # How long `checkoutComplete` waits for the saga to confirm or reject before answering PENDING.
    checkout_wait_seconds: float = Field(default=5.0, ge=0, le=60)

    # Search's `boughtTogether`: the orders a pair of products must share before it is shown (one
    # order is a coincidence); with fewer, similar products fill the list.
    search_min_support: int = Field(default=2, ge=1)

    # Payments: the built-in sandbox provider's simulated latency.
    payments_sandbox_latency_ms: int = Field(default=0, ge=0)
    # Injected faults of the sandbox (fault-injection runs, `make chaos`; off by default): the share
    # of calls that fail, the share whose answer is lost after the change is made, extra random latency.
    payments_sandbox_error_rate: float = Field(default=0.0, ge=0, le=1)
    payments_sandbox_timeout_rate: float = Field(default=0.0, ge=0, le=1)
    payments_sandbox_jitter_ms: int = Field(default=0, ge=0)
    # A provider call gives up after the timeout; its lease (always longer) is how long a crashed
    # attempt blocks a retry before another worker takes it over.
    payments_provider_timeout_seconds: float = Field(default=10.0, gt=0)
    payments_lease_seconds: float = Field(default=30.0, gt=0)
    # The provider's circuit breaker (payments/domain/breaker.py): open after this many calls in a
    # row without an answer, refusing calls for `open_seconds` (doubling per failed probe, ≤ 60 s).
    payments_breaker_failures: int = Field(default=5, ge=1)
    payments_breaker_open_seconds: float = Field(default=5.0, gt=0, le=60)
    # Seals vaulted payment tokens (AES-256-GCM, key derived with HKDF). Unset: derived from the auth
    # secret, which is fine for development only; production sets its own and keeps it (rotating it
    # makes the tokens vaulted before unreadable: in-flight checkouts are then declined).
    payments_vault_key: str | None = Field(default=None, min_length=32)
    # `mercato serve <context>`: where its gRPC server listens (loopback unless told otherwise).
    grpc_host: str = "127.0.0.1"
    grpc_port: int = Field(default=50051, ge=1, le=65535)
    # Distributed topology: where each context's gRPC server is (`host:port`), for its callers.
    catalog_address: str | None = None
    inventory_address: str | None = None
    cart_address: str | None = None
    customers_address: str | None = None
    orders_address: str | None = None
    payments_address: str | None = None
    # Optional for the gateway: without it, `products(filter: {search})` is the catalog's word match.
    search_address: str | None = None
    # TLS between services (PEM files): certificate + key -> the gRPC server speaks TLS; a CA as well ->
    # it requires callers' certificates (mutual TLS), and clients verify servers against it.
    grpc_tls_cert_file: Path | None = None
    grpc_tls_key_file: Path | None = None
    grpc_tls_ca_file: Path | None = None
    # Deadline of one gRPC call (all its retries included) made by the gateway or another service.
    grpc_deadline_seconds: float = Field(default=5.0, gt=0)
    # How long JetStream waits for an ack before redelivering a message a crashed worker held.
    consumer_ack_wait_seconds: float = Field(default=10.0, gt=0)

    log_level: str = "INFO"

    @field_validator("namespace")
    @classmethod
    def _check_namespace(cls, value: str) -> str:
        if not _NAMESPACE_RE.match(value):
            raise ValueError("namespace must be lowercase letters, digits or _ and start with a letter")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)  # ValueError names the bad entry
        return value

    def context_database_url(self, context: str) -> str | None:
        """The URL a context's database work uses: its own role's when set, else the shared one."""
        own: str | None = getattr(self, f"{context}_database_url", None)
        return own or self.database_url

    def for_batch(self) -> Settings:
        """These settings for a batch command (import, seed, reindex): its statements may rightly run
        longer than a request's deadline, and nobody waits on it but its operator."""
        return self.model_copy(update={"db_command_timeout_seconds": 0.0})

    @cached_property
    def data_path(self) -> Path:
        return self.data_dir.resolve()


def to_asyncpg_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and point SQLAlchemy at asyncpg."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("MERCATO_DATABASE_URL must be a postgresql:// URL")
