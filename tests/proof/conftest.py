"""Fixtures for the proof suite: the reference workspace, built once per run.

``PROOF=long`` (``make proof``) runs every loop in full and many more hypothesis examples;
the default run keeps to a few minutes on two cores.  Helpers live in ``proof_support.py``.
"""

from __future__ import annotations

import pytest

from tests.proof.proof_support import Reference, make_reference


@pytest.fixture(scope="session")
def ref(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    """The pristine scenario and what a clean migration makes of it."""
    return make_reference(tmp_path_factory.mktemp("proof-reference"))
