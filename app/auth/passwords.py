"""Password hashing (argon2id) and strength rules."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
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
