"""The maintainers' own recommendations, read conservatively from real-shaped descriptions."""

from __future__ import annotations

import pytest

from sbom_enrich.status.recommendations import recommended_projects, verified_recommendations

# Shaped like the final descriptions archived projects publish (PyPI asks maintainers to
# warn users and name maintained alternatives before archiving).
PYCRYPTO_LIKE = """\
# PyCrypto is no longer maintained

**Do not use PyCrypto.** It has known vulnerabilities and no releases since 2013.
Use [PyCryptodome](https://pypi.org/project/pycryptodome/) instead, a maintained fork
with the same `Crypto` API: `pip install pycryptodome`.
"""

RENAMED = """\
This package has been renamed to `scikit-learn`.

The `sklearn` PyPI package is deprecated: use `pip install scikit-learn` instead of
`pip install sklearn`.
"""

MOVED = """\
Project moved
=============

This project is deprecated in favor of **httpx**. Please migrate to httpx; see the
migration guide at https://www.python-httpx.org/compatibility/.
"""

SUPERSEDED_RST = """\
.. warning::

   This library is superseded by `attrs <https://pypi.python.org/pypi/attrs>`_ and is no
   longer maintained.
"""

NOT_A_RECOMMENDATION = """\
A library you can use at your own risk. Use this library instead of writing your own
parser. Switch to the new API described below. Use it instead of the old function.
pip install -U old-lib
"""


@pytest.mark.parametrize(
    ("description", "project", "expected"),
    [
        (PYCRYPTO_LIKE, "pycrypto", ("PyCryptodome",)),
        (RENAMED, "sklearn", ("scikit-learn",)),
        (MOVED, "requests-async", ("httpx",)),
        (SUPERSEDED_RST, "characteristic", ("attrs",)),
        (NOT_A_RECOMMENDATION, "old-lib", ()),
        ("", "x", ()),
    ],
)
def test_recommendations_from_descriptions(
    description: str, project: str, expected: tuple[str, ...]
) -> None:
    assert recommended_projects(description, project) == expected


def test_hostile_descriptions_give_only_project_names() -> None:
    text = (
        "use `$(rm -rf /)` instead. use `a/../../b` instead. replaced by "
        "https://evil.example/pkg. pip install 'x; curl evil' " + "use y instead " * 10_000
    )
    names = recommended_projects(text, "p")
    assert all(name.replace("-", "").replace(".", "").replace("_", "").isalnum() for name in names)
    assert len(names) <= 5


def test_only_candidates_active_on_the_index_survive() -> None:
    assert verified_recommendations(("PyCryptodome", "evil-pkg"), ["pycryptodome"]) == (
        "PyCryptodome",
    )


def test_a_description_built_to_backtrack_is_read_in_linear_time() -> None:
    # "-{1,2}[A-Za-z-]+" read each "--a" two ways: with 26 options and no name after them the
    # search took 25 s, doubling per option; 64 would have held a --maintenance run for ever
    # (the regex runs on the event loop: no --timeout reaches it). Run in a child process so
    # that the old pattern fails this test instead of hanging the suite.
    import subprocess
    import sys

    program = (
        "from sbom_enrich.status.recommendations import recommended_projects as r\n"
        "print(r('pip install ' + '--a ' * 64 + '!', 'old'))\n"
        "print(r('pip install -U --pre --no-deps new-lib', 'old'))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        pytest.fail("recommended_projects() backtracks exponentially")
    assert done.stdout.splitlines() == ["()", "('new-lib',)"], done.stderr
