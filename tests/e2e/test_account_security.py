"""Sign out everywhere, disabling by staff and password reset over HTTP, in both topologies: a token
issued before is refused on the very next request."""

from __future__ import annotations

import httpx
from starlette.types import ASGIApp

from mercato.app.runtime import Runtime
from mercato.customers.domain.commands import CreateToken, RegisterAccount
from mercato.platform.auth import Permission, Role
from tests.conftest import ref
from tests.e2e.api_client import GraphQLClient
from tests.e2e.conftest import PASSWORD, SignIn

ME = "{ me { id email } }"
REVOKE_ALL = "mutation { tokenRevokeAll { revoked errors { field code } } }"
SET_ACTIVE = """mutation ($id: ID!, $active: Boolean!) {
  accountSetActive(userId: $id, active: $active) { account { id } errors { field code } }
}"""
TOKEN_CREATE = """mutation ($email: String!, $password: String!) {
  tokenCreate(input: {email: $email, password: $password}) { accessToken errors { code } }
}"""


def _client(app: ASGIApp, token: str) -> GraphQLClient:
    return GraphQLClient(
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://mercato.test",
            headers={"Authorization": f"Bearer {token}"},
        )
    )


async def test_sign_out_everywhere_refuses_the_token_on_the_next_request(
    app: ASGIApp, runtime: Runtime
) -> None:
    email = f"{ref('user')}@example.com"
    await runtime.customers_client.register(RegisterAccount(email, PASSWORD))
    pair = await runtime.customers_client.create_token(CreateToken(email, PASSWORD))
    shopper = _client(app, pair.access_token)
    try:
        before = await shopper.data(ME)
        revoked = (await shopper.data(REVOKE_ALL))["tokenRevokeAll"]
        after = await shopper.execute(ME)
    finally:
        await shopper.http.aclose()

    assert before["me"]["email"] == email
    assert revoked == {"revoked": True, "errors": []}
    assert after["data"] == {"me": None}


async def test_a_disabled_account_is_signed_out_and_cannot_sign_in(
    app: ASGIApp, runtime: Runtime, sign_in: SignIn, anon_api: GraphQLClient
) -> None:
    manager = await sign_in(Role.STAFF, [Permission.CUSTOMERS_MANAGE])
    customer = await sign_in(Role.CUSTOMER)
    me = (await customer.data(ME))["me"]

    disabled = (await manager.data(SET_ACTIVE, {"id": me["id"], "active": False}))["accountSetActive"]
    after = await customer.execute(ME)
    again = (await anon_api.data(TOKEN_CREATE, {"email": me["email"], "password": PASSWORD}))["tokenCreate"]
    denied = (await customer.data(SET_ACTIVE, {"id": me["id"], "active": True}))["accountSetActive"]

    assert disabled == {"account": {"id": me["id"]}, "errors": []}
    assert after["data"] == {"me": None}
    assert again == {"accessToken": None, "errors": [{"code": "INVALID_CREDENTIALS"}]}
    assert denied == {"account": None, "errors": [{"field": None, "code": "UNAUTHENTICATED"}]}
