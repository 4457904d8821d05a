"""Helpers for the OpenClaw target's tests."""

from __future__ import annotations

import json
from typing import Any


def strict_json(text: str | bytes) -> Any:
    """Parse as OpenClaw's JavaScript reader would accept it: NaN/Infinity refused."""
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)
