"""Callers cannot shed the rate limit by changing addresses."""

from __future__ import annotations

from sbom_enrich.service.ratelimit import RateLimiter, client_key


def test_a_flood_of_addresses_does_not_forgive_a_tokens_debt() -> None:
    now = [1000.0]
    limiter = RateLimiter(60, clock=lambda: now[0], max_clients=3)
    assert limiter.admit("token 1") is None
    limiter.charge("token 1", 1000)  # a cold batch: the token now waits ~16 minutes
    assert limiter.admit("token 1") is not None
    # Requests without a valid token are limited by address; each new address used to
    # push the least recently seen bucket out, the token's (and its debt) included.
    for number in range(10):
        limiter.admit(f"address 192.0.2.{number}")
    assert limiter.admit("token 1") is not None


def test_an_ipv6_caller_is_its_slash_64() -> None:
    def key(address: str) -> str:
        return client_key({"type": "http", "client": (address, 443), "state": {}})

    # One host owns a /64: a bucket per address gave it 2**64 full buckets.
    assert key("2001:db8:1:2::1") == key("2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert key("2001:db8:1:2::1") != key("2001:db8:1:3::1")
    assert key("192.0.2.1") != key("192.0.2.2")
    assert key("::ffff:192.0.2.1") != key("::ffff:192.0.2.2")  # IPv4 seen through IPv6
