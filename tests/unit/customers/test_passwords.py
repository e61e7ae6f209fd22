from __future__ import annotations

from mercato.customers.adapters.passwords import Argon2Passwords


async def test_the_default_hash_is_argon2id_with_rfc_9106_parameters() -> None:
    passwords = Argon2Passwords()

    hashed = await passwords.hash("correct horse battery")

    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert await passwords.verify(hashed, "correct horse battery") is True
    assert await passwords.verify(hashed, "correct horse battery!") is False
    assert passwords.needs_rehash(hashed) is False


async def test_two_hashes_of_one_password_differ_by_their_salt() -> None:
    passwords = Argon2Passwords(time_cost=1, memory_cost=1024, parallelism=1)

    assert await passwords.hash("same password") != await passwords.hash("same password")


async def test_changed_parameters_ask_for_a_rehash() -> None:
    old = Argon2Passwords(time_cost=1, memory_cost=1024, parallelism=1)
    new = Argon2Passwords(time_cost=2, memory_cost=1024, parallelism=1)

    hashed = await old.hash("password")

    assert (old.needs_rehash(hashed), new.needs_rehash(hashed)) == (False, True)
    assert await new.verify(hashed, "password") is True


async def test_malformed_hashes_never_verify_and_ask_for_a_rehash() -> None:
    passwords = Argon2Passwords(time_cost=1, memory_cost=1024, parallelism=1)

    assert await passwords.verify("not-a-hash", "password") is False
    assert await passwords.verify("$argon2id$v=19$m=1024,t=1,p=1$garbage", "password") is False
    assert passwords.needs_rehash("not-a-hash") is True


async def test_burn_verifies_against_a_dummy_made_once() -> None:
    passwords = Argon2Passwords(time_cost=1, memory_cost=1024, parallelism=1)

    await passwords.burn("anything")
    dummy = passwords._dummy_hash
    await passwords.burn("anything else")

    assert dummy is not None and dummy.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert passwords._dummy_hash == dummy
