"""Password hashing (argon2id) and strength rules."""

from __future__ import annotations

import base64
import re

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import hash_secret
from flask_babel import gettext as _

_hasher = PasswordHasher()
MIN_LENGTH = 10
# The most common choices seen in leaks, in Vietnamese and English habits.
COMMON = {
    "1234567890",
    "12345678910",
    "0123456789",
    "qwertyuiop",
    "matkhau123",
    "password12",
    "password123",
    "abc1234567",
    "iloveyou12",
    "1111111111",
    "admin12345",
    "ocop123456",
}
# A real hash, so that an unknown email costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password-0")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


# The settings part of an encoded argon2 hash: everything before the digest ($argon2id$v=19$m=…,t=…,p=…$salt).
_SETTINGS = re.compile(r"^\$argon2(id|i|d)\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)$")
_TYPES = {"id": Type.ID, "i": Type.I, "d": Type.D}


def default_settings() -> tuple[str, int]:
    """This hasher's parameters without salt, and its digest length: what an unknown account is given."""
    h = _hasher
    return f"$argon2id$v=19$m={h.memory_cost},t={h.time_cost},p={h.parallelism}", h.hash_len


def candidate_hash(password: str, settings: str, hash_len: int) -> str:
    """The encoded argon2 hash of `password` with a stored hash's parameters and salt (`settings`).

    Equal to the stored hash exactly when the password is right, so the database can compare the two
    without ever handing out the stored digest (national and platform accounts, migration 0019).
    """
    match = _SETTINGS.match(settings or "")
    if match is None:
        raise ValueError("not argon2 settings")
    kind, version, memory, time, parallelism, salt = match.groups()
    return hash_secret(
        password.encode(),
        base64.b64decode(salt + "=" * (-len(salt) % 4)),
        time_cost=int(time),
        memory_cost=int(memory),
        parallelism=int(parallelism),
        hash_len=hash_len,
        type=_TYPES[kind],
        version=int(version),
    ).decode()


def settings_need_rehash(settings: str, hash_len: int) -> bool:
    """Whether a stored hash with these settings was made with other parameters than the hasher's today."""
    digest = base64.b64encode(bytes(hash_len)).decode().rstrip("=")
    try:
        return _hasher.check_needs_rehash(f"{settings}${digest}")
    except (InvalidHashError, ValueError):
        return True


def password_problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """Every rule the password breaks, as translated messages (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(_("Mật khẩu phải có ít nhất %(n)d ký tự.", n=MIN_LENGTH))
    if not re.search(r"[^\W\d_]", password) or not re.search(r"\d", password):
        problems.append(_("Mật khẩu phải có cả chữ và số."))
    lowered = password.lower()
    if lowered in COMMON or len(set(lowered)) < 4:
        problems.append(_("Mật khẩu quá dễ đoán."))
    local_part = email.split("@")[0].lower()
    if local_part and len(local_part) >= 4 and local_part in lowered:
        problems.append(_("Mật khẩu không được chứa địa chỉ email."))
    return problems
