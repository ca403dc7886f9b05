"""Login throttling shared across processes (counters in Redis), counting failed attempts only.

Three budgets, so that an attacker can neither guess freely nor lock an owner out:
- per (account, address): the 11th wrong password for one account from one address within the window
  is refused (429) before the password is checked — for that address only;
- per account, from every address together: past a soft limit each further attempt must wait a
  growing delay (seconds, not the whole window), so a distributed guess is slowed while the owner,
  from their own address, still gets in;
- per address, across every login endpoint (tenant, national, platform) together: past its limit the
  address may try once per short delay — slowed, never refused for good, so a correct login passes.
"""

from __future__ import annotations

from functools import wraps

from flask import current_app, g, render_template, request
from redis import Redis

from app.auth.services import normalise_email

FAILED_LOGIN_STATUS = 401


def _redis() -> Redis:
    client = current_app.extensions.get("login_throttle_redis")
    if client is None:
        client = current_app.extensions["login_throttle_redis"] = Redis.from_url(current_app.config["REDIS_URL"])
    return client


def _keys() -> dict[str, str]:
    cfg = current_app.config
    prefix = f"{cfg['RATELIMIT_KEY_PREFIX']}:login"
    email = normalise_email(request.form.get("email") or "")  # the same key as the login itself
    scope = g.tenant.slug if g.get("tenant") is not None else g.get("area", "public")
    address = request.remote_addr or "unknown"
    account = f"{scope}:{email}"
    return {
        "pair": f"{prefix}:pair:{account}:{address}",
        "account": f"{prefix}:account:{account}",
        "account_wait": f"{prefix}:account-wait:{account}",
        "address": f"{prefix}:address:{address}",
        "address_wait": f"{prefix}:address-wait:{address}",
    }


def _count(redis: Redis, key: str) -> int:
    return int(redis.get(key) or 0)


def _wait_seconds(redis: Redis, keys: dict[str, str]) -> int:
    """How long this attempt must wait (0: it may go ahead)."""
    cfg = current_app.config
    if _count(redis, keys["pair"]) >= cfg["LOGIN_PAIR_FAILURES"]:
        return max(redis.ttl(keys["pair"]), 1)
    waits = [redis.ttl(keys["account_wait"]), redis.ttl(keys["address_wait"])]
    return max([w for w in waits if w > 0], default=0)


def _record_failure(redis: Redis, keys: dict[str, str]) -> None:
    cfg = current_app.config
    window = cfg["LOGIN_WINDOW_SECONDS"]
    pipe = redis.pipeline()
    for name in ("pair", "account", "address"):
        pipe.incr(keys[name])
        pipe.expire(keys[name], window, nx=True)
    counts = pipe.execute()[0::2]
    _pair, account, address = counts
    over_account = account - cfg["LOGIN_ACCOUNT_SOFT_FAILURES"]
    if over_account > 0:  # 2, 4, 8 … seconds, at most the cap: slower, never locked for the window
        delay = min(2**over_account, cfg["LOGIN_ACCOUNT_MAX_DELAY_SECONDS"])
        redis.set(keys["account_wait"], 1, ex=delay)
    if address > cfg["LOGIN_ADDRESS_FAILURES"]:
        redis.set(keys["address_wait"], 1, ex=cfg["LOGIN_ADDRESS_DELAY_SECONDS"])


def _too_many(wait: int):
    response = current_app.make_response((render_template("errors/429.html", status=429), 429))
    response.headers["Retry-After"] = str(wait)
    return response


def throttled_login(view):
    """Wrap a login view whose failed attempts answer FAILED_LOGIN_STATUS."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if request.method != "POST":
            return view(*args, **kwargs)
        redis, keys = _redis(), _keys()
        wait = _wait_seconds(redis, keys)
        if wait:
            return _too_many(wait)
        response = current_app.make_response(view(*args, **kwargs))
        if response.status_code == FAILED_LOGIN_STATUS:
            _record_failure(redis, keys)
        elif response.status_code in (302, 303):
            redis.delete(keys["pair"])  # signed in: this address starts afresh for this account
        return response

    return wrapped
