"""Customers use cases. Each takes a command and the context's ports, and commits or raises a typed
error with a code of its mutation's enum."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

from mercato.customers.domain import commands
from mercato.customers.domain.addresses import Address
from mercato.customers.domain.errors import (
    AccountRegisterErrorCode,
    AddressCreateErrorCode,
    AddressDeleteErrorCode,
    AddressUpdateErrorCode,
    AdminCreateErrorCode,
    StaffPermissionsSetErrorCode,
)
from mercato.customers.domain.model import Account, check_sign_up
from mercato.customers.domain.rules import AccountGone, AccountNotFound, AddressNotFound, NotAllowed
from mercato.customers.service_layer import account_security
from mercato.customers.service_layer.guard import guarded
from mercato.customers.service_layer.ports import Deps
from mercato.customers.service_layer.sessions import create_token, refresh_token, revoke_token
from mercato.platform.auth import Permission, Role

# -- accounts -----------------------------------------------------------------------------------


async def _open_account(email: str, password: str, role: Role, codes: type[Enum], deps: Deps) -> Account:
    async def run() -> Account:
        normalized = check_sign_up(email, password)
        # Hashed before a connection is taken from the pool (see `sessions`).
        password_hash = await deps.passwords.hash(password)
        now = deps.clock()
        account = Account.open(email=normalized, password_hash=password_hash, role=role, now=now)
        async with deps.unit_of_work() as uow:
            await uow.store.add_account(account)
            uow.add_event(account.registered(now))
            await uow.commit()
        return account

    return await guarded(codes, run)


async def register_account(cmd: commands.RegisterAccount, deps: Deps) -> Account:
    return await _open_account(cmd.email, cmd.password, Role.CUSTOMER, AccountRegisterErrorCode, deps)


async def create_admin(cmd: commands.CreateAdmin, deps: Deps) -> Account:
    return await _open_account(cmd.email, cmd.password, Role.ADMIN, AdminCreateErrorCode, deps)


async def set_staff_permissions(cmd: commands.SetStaffPermissions, deps: Deps) -> Account:
    """Authority comes from the actor's account as stored now, not from their token's claims: a
    manager demoted a minute ago still holds a valid access token that says otherwise."""

    async def run() -> Account:
        if not cmd.actor.has(Permission.STAFF_MANAGE):
            raise NotAllowed(f"this needs the {Permission.STAFF_MANAGE.value} permission")
        async with deps.unit_of_work() as uow:
            # Both rows locked, in id order: the actor cannot lose their rights meanwhile.
            accounts = await uow.store.lock_accounts([cmd.actor.user_id, cmd.user_id])
            actor = accounts.get(cmd.actor.user_id)
            if actor is None:
                raise NotAllowed(f"this needs the {Permission.STAFF_MANAGE.value} permission")
            # Before looking at the target: someone without the right learns nothing about ids.
            actor.check_manages_staff()
            target = accounts.get(cmd.user_id)
            if target is None:
                raise AccountNotFound()
            now = deps.clock()
            outcome = target.change_access(actor, cmd.role, cmd.permissions, now)
            if outcome is None:
                return target
            changed, event = outcome
            stamp = await uow.store.save_access(changed)
            uow.add_event(event)
            await uow.commit()
        # Tokens carrying the old access are refused from now on (see adapters.token_versions).
        await deps.token_versions.changed(changed.id, stamp)
        return changed

    return await guarded(StaffPermissionsSetErrorCode, run)


# -- addresses ----------------------------------------------------------------------------------
# Every statement is scoped by the owner's id, so another account's address id behaves exactly like
# one that does not exist (NOT_FOUND): no way to probe which ids are taken.


async def add_address(cmd: commands.AddAddress, deps: Deps) -> Address:
    async def run() -> Address:
        fields = cmd.fields.cleaned()
        async with deps.unit_of_work() as uow:
            # The owner's row lock serializes adds to one book, so the limit holds under concurrency.
            owner = (await uow.store.lock_accounts([cmd.owner_id])).get(cmd.owner_id)
            if owner is None or not owner.is_active:
                raise AccountGone()
            existing = await uow.store.count_addresses(owner.id)
            address = Address.add(owner.id, fields, existing=existing, now=deps.clock())
            await uow.store.add_address(address)
            await uow.commit()
            return address

    return await guarded(AddressCreateErrorCode, run)


async def update_address(cmd: commands.UpdateAddress, deps: Deps) -> Address:
    async def run() -> Address:
        fields = cmd.fields.cleaned()
        async with deps.unit_of_work() as uow:
            updated = await uow.store.update_address(cmd.owner_id, cmd.address_id, fields, deps.clock())
            if updated is None:
                raise AddressNotFound()
            await uow.commit()
            return updated

    return await guarded(AddressUpdateErrorCode, run)


async def delete_address(cmd: commands.DeleteAddress, deps: Deps) -> None:
    async def run() -> None:
        async with deps.unit_of_work() as uow:
            if not await uow.store.delete_address(cmd.owner_id, cmd.address_id):
                raise AddressNotFound()
            await uow.commit()

    await guarded(AddressDeleteErrorCode, run)


COMMAND_HANDLERS: dict[type[Any], Callable[[Any, Deps], Awaitable[Any]]] = {
    commands.RegisterAccount: register_account,
    commands.CreateAdmin: create_admin,
    commands.CreateToken: create_token,
    commands.RefreshToken: refresh_token,
    commands.RevokeToken: revoke_token,
    commands.SetStaffPermissions: set_staff_permissions,
    commands.RevokeAllTokens: account_security.revoke_all_tokens,
    commands.SetAccountActive: account_security.set_account_active,
    commands.ChangePassword: account_security.change_password,
    commands.RequestPasswordReset: account_security.request_password_reset,
    commands.ResetPassword: account_security.reset_password,
    commands.AddAddress: add_address,
    commands.UpdateAddress: update_address,
    commands.DeleteAddress: delete_address,
}
