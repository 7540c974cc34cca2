"""Secrets people prove who they are with: passwords (argon2id), API tokens and web sessions.

A password is kept only as an argon2id hash (``argon2-cffi``'s defaults, which it keeps
current; a hash made with older parameters is rehashed at the next sign-in). Tokens and
session ids are 32 random bytes, shown once, kept only as their sha256: they have far
more entropy than a password, so a fast hash cannot be brute-forced, and the lookup by
hash is one index probe. Comparisons of secrets are constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache
from typing import TYPE_CHECKING

from workflow.errors import UsageError

if TYPE_CHECKING:
    from argon2 import PasswordHasher

TOKEN_PREFIX = "pgt_"  # so a leaked token is recognisable (secret scanners, logs)
PASSWORD_MIN = 10
PASSWORD_MAX = 1024


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id, RFC 9106's low-memory profile


def check_new_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < PASSWORD_MIN:
        raise UsageError(f"a password needs at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise UsageError(f"a password may have at most {PASSWORD_MAX} characters")
    if password != password.strip() or any(ord(c) < 32 for c in password):
        raise UsageError("a password must not start or end with spaces or hold control characters")
    return password


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored: str | None, password: str) -> tuple[bool, bool]:
    """(it matches, the stored hash should be rehashed with today's parameters).

    With no stored hash the work is done against a dummy one all the same, so a missing
    account or password takes as long to refuse as a wrong one.
    """
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    try:
        ok = hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False, False
    return ok, ok and hasher.check_needs_rehash(stored or "")


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_urlsafe(16))


def new_secret() -> str:
    """A token's or a session's secret: 32 random bytes, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_id(prefix: str) -> str:
    """A public id (for listing and revoking a token), not a secret."""
    return prefix + secrets.token_hex(6)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def password_fingerprint(stored_hash: str) -> str:
    """What the record keeps of a password: the sha256 of its argon2 hash, so ``audit verify`` can
    tell the stored hash was not swapped. The argon2 hash itself stays out of the history (which
    auditors read and export): with its salt it is what a guesser works on; its sha256 is not."""
    return secret_hash(stored_hash)


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets (or their hashes)."""
    return hmac.compare_digest(a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape"))
