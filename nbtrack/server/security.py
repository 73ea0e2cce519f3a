"""Secrets: API keys, session tokens, passwords, and the throttle on failed attempts.

Keys and tokens look like GitHub's: a prefix that says what they are (``nbk_`` an API key,
``nbs_`` a session, ``nbl_`` a share link, ``nbg_`` a share grant), 32 characters of base62 (190 random bits), then a 6-character
checksum, so a key pasted wrong is told apart from a revoked one without a lookup, and a
secret scanner can recognise it. Only their SHA-256 is stored: they are random, so a slow
hash adds nothing. Passwords are hashed with Argon2id (argon2-cffi).
"""

from __future__ import annotations

import hashlib
import secrets
import time
import zlib
from dataclasses import dataclass

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import IntegrityError

from nbtrack.server import models

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
KEY_PREFIX = "nbk_"
SESSION_PREFIX = "nbs_"
LINK_PREFIX = "nbl_"
GRANT_PREFIX = "nbg_"
_BODY = 32
# A share link's slug: the non-secret id in its pages' paths (/v/<slug>/), 71 random bits
# so that links never collide, and so that one slug tells nothing of another.
SLUG_LENGTH = 12

# Failed sign-ins and bad keys: past this many from one address in the window, refuse.
THROTTLE_FAILURES = 10
THROTTLE_WINDOW_S = 60.0


def _base62(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 62)
        out.append(_ALPHABET[r])
    return "".join(reversed(out))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), 6)


def new_secret(prefix: str) -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_BODY))
    return f"{prefix}{body}{_checksum(prefix + body)}"


def new_slug() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(SLUG_LENGTH))


def slug_like(text: str) -> bool:
    return len(text) == SLUG_LENGTH and all(c in _ALPHABET for c in text)


def well_formed(secret: str, prefix: str) -> bool:
    if not secret.startswith(prefix) or len(secret) != len(prefix) + _BODY + 6:
        return False
    body, check = secret[: len(prefix) + _BODY], secret[-6:]
    return all(c in _ALPHABET for c in body[len(prefix) :]) and _checksum(body) == check


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def shown(secret: str) -> str:
    """What lists show of a key or a token: enough to tell them apart, too little to use
    (every prefix has 4 characters)."""
    return secret[: len(KEY_PREFIX) + 6] + "…"


# -- passwords ----------------------------------------------------------------------------


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def check_password(stored: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return PasswordHasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# A hash of a password nobody has: checked against when the user does not exist, so a
# sign-in takes as long for a name that exists as for one that does not.
_NOBODY = None


def check_nobody(password: str) -> None:
    global _NOBODY
    if _NOBODY is None:
        _NOBODY = hash_password(secrets.token_hex(16))
    check_password(_NOBODY, password)


# -- keys ---------------------------------------------------------------------------------


def create_key(conn: Connection, user_id: int) -> str:
    key = new_secret(KEY_PREFIX)
    conn.execute(
        models.API_KEYS.insert().values(
            user_id=user_id, shown=shown(key), digest=digest(key), created_at=time.time()
        )
    )
    return key


@dataclass(frozen=True)
class LiveKey:
    id: int
    user_id: int
    last_used_at: float | None


def live_key(conn: Connection, key: str) -> LiveKey | None:
    """The key's row when it is live; None when unknown, malformed or revoked."""
    if not well_formed(key, KEY_PREFIX):
        return None
    t = models.API_KEYS
    row = conn.execute(
        select(t.c.id, t.c.user_id, t.c.last_used_at).where(
            t.c.digest == digest(key), t.c.revoked_at.is_(None)
        )
    ).first()
    return None if row is None else LiveKey(int(row.id), int(row.user_id), row.last_used_at)


def user_for_key(conn: Connection, key: str) -> int | None:
    """The user whose live key this is, or None (unknown, malformed or revoked)."""
    found = live_key(conn, key)
    return None if found is None else found.user_id


def mark_used(conn: Connection, kid: int) -> None:
    t = models.API_KEYS
    conn.execute(update(t).where(t.c.id == kid).values(last_used_at=time.time()))


# -- sessions -----------------------------------------------------------------------------

SESSION_S = 14 * 24 * 3600.0


def create_session(conn: Connection, user_id: int) -> str:
    token = new_secret(SESSION_PREFIX)
    now = time.time()
    t = models.SESSIONS
    conn.execute(delete(t).where(t.c.expires_at < now))
    conn.execute(
        t.insert().values(digest=digest(token), user_id=user_id, expires_at=now + SESSION_S)
    )
    return token


def user_for_session(conn: Connection, token: str) -> int | None:
    if not well_formed(token, SESSION_PREFIX):
        return None
    t = models.SESSIONS
    row = conn.execute(
        select(t.c.user_id).where(t.c.digest == digest(token), t.c.expires_at > time.time())
    ).first()
    return None if row is None else int(row.user_id)


def end_session(conn: Connection, token: str) -> None:
    t = models.SESSIONS
    conn.execute(delete(t).where(t.c.digest == digest(token)))


# -- throttle -----------------------------------------------------------------------------


def throttled(conn: Connection, bucket: str) -> float:
    """Seconds until `bucket` may try again (0 when it may now)."""
    t = models.THROTTLE
    row = conn.execute(select(t.c.window_start, t.c.failures).where(t.c.bucket == bucket)).first()
    if row is None or row.failures < THROTTLE_FAILURES:
        return 0.0
    left = float(row.window_start) + THROTTLE_WINDOW_S - time.time()
    return max(0.0, left)


def record_failure(conn: Connection, bucket: str) -> None:
    t = models.THROTTLE
    now = time.time()
    row = conn.execute(select(t.c.window_start, t.c.failures).where(t.c.bucket == bucket)).first()
    if row is None:
        # A new address: forget those whose window is over (`throttled` lets them in again
        # anyway), so the table holds the last window's addresses only, not every address
        # that ever failed once (a block of IPv6 addresses has more than a disk holds).
        conn.execute(delete(t).where(t.c.window_start < now - THROTTLE_WINDOW_S))
        try:
            with conn.begin_nested():  # another worker may count the same address just now
                conn.execute(t.insert().values(bucket=bucket, window_start=now, failures=1))
        except IntegrityError:
            conn.execute(update(t).where(t.c.bucket == bucket).values(failures=t.c.failures + 1))
    elif now - row.window_start > THROTTLE_WINDOW_S:
        conn.execute(update(t).where(t.c.bucket == bucket).values(window_start=now, failures=1))
    else:
        conn.execute(update(t).where(t.c.bucket == bucket).values(failures=t.c.failures + 1))
