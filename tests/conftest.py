"""Fixtures every suite may use."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


@pytest.fixture
def unlimited_int_digits() -> Iterator[None]:
    """Let this process's ``json.loads`` read integers over Python's 4,300-digit limit, so a
    test can compare such values (the engine itself must cope without this)."""
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(previous)
