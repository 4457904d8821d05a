"""Tests of the OpenClaw target's modules, on real files in temporary folders."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

INTEROP = Path(__file__).resolve().parents[2] / "scripts" / "interop"
sys.path.insert(0, str(INTEROP))


def strict_json(text: str | bytes) -> Any:
    """Parse as OpenClaw's JavaScript reader would accept it: NaN/Infinity refused."""
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def unlimited_int_digits():
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(previous)
