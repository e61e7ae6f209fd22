"""Business-rule violations of the customers context, raised by the model and use cases and re-coded
per mutation (the string codes are member names of the mutations' enums)."""

from __future__ import annotations

from mercato.platform.errors import ClientError, Conflict, NotFound, PermissionDenied


class EmailTaken(Conflict):
    def __init__(self) -> None:
        super().__init__("an account with this email already exists", code="EMAIL_TAKEN", field="email")


class InvalidCredentials(ClientError):
    """Wrong password, unknown email or disabled account: deliberately one error for all three."""

    def __init__(self) -> None:
        super().__init__("the email or password is not correct", code="INVALID_CREDENTIALS")


class TooManyAttempts(ClientError):
    def __init__(self) -> None:
        super().__init__("too many sign-in attempts; try again later", code="TOO_MANY_ATTEMPTS")


class InvalidToken(ClientError):
    """Unknown, expired or revoked refresh token (one error: the caller learns nothing more)."""

    def __init__(self) -> None:
        super().__init__(
            "the refresh token is not valid; sign in again", code="INVALID_TOKEN", field="refresh_token"
        )


class TokenReused(ClientError):
    def __init__(self) -> None:
        super().__init__(
            "this refresh token was already used; every session of its sign-in has been revoked",
            code="TOKEN_REUSED",
            field="refresh_token",
        )


class AccountGone(ClientError):
    """A valid access token whose account no longer exists or was disabled."""

    def __init__(self) -> None:
        super().__init__("the signed-in account is not available; sign in again", code="UNAUTHENTICATED")


class AccountNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("account not found", code="NOT_FOUND", field="user_id")


class AddressNotFound(NotFound):
    """Also what someone else's address looks like: never confirm that an id exists."""

    def __init__(self) -> None:
        super().__init__("address not found", code="NOT_FOUND", field="id")


class AddressLimitReached(Conflict):
    def __init__(self, limit: int) -> None:
        super().__init__(
            f"an address book holds at most {limit} addresses", code="ADDRESS_LIMIT_REACHED", field=None
        )


class NotAllowed(PermissionDenied):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message, code="PERMISSION_DENIED", field=field)


class CannotDemoteSelf(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "an admin cannot remove their own admin role", code="CANNOT_DEMOTE_SELF", field="role"
        )


class InvalidResetToken(ClientError):
    """Unknown, expired or already used password reset token (one error for all three)."""

    def __init__(self) -> None:
        super().__init__(
            "the password reset token is not valid; ask for a new one", code="INVALID_TOKEN", field="token"
        )


class WrongPassword(ClientError):
    def __init__(self) -> None:
        super().__init__(
            "the current password is not correct", code="INVALID_CREDENTIALS", field="current_password"
        )


class CannotDisableSelf(Conflict):
    def __init__(self) -> None:
        super().__init__("you cannot disable your own account", code="CANNOT_DISABLE_SELF", field="user_id")
