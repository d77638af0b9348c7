"""A malformed index URL is refused without repeating what may be its password."""

from __future__ import annotations

import pytest

from sbom_enrich.errors import SettingsError
from sbom_enrich.status.settings import parse_index_url


@pytest.mark.parametrize(
    "url",
    [
        "https://__token__:pypi-SECRET/simple",  # the "@" forgotten: the token reads as a port
        "https://user:SECRET@host:SECRET2/simple",
        "https://user:SECRET@[::1/simple",
    ],
)
def test_a_malformed_index_url_is_refused_without_its_secret(url: str) -> None:
    with pytest.raises(SettingsError) as refused:
        parse_index_url("--index-url", url)
    assert "SECRET" not in str(refused.value)
    assert "not a valid URL" in str(refused.value)
