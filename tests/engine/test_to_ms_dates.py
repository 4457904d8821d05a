"""legacy.to_ms tries ``datetime.fromisoformat`` on the text as it is before ``iso_time``
(which strips white space and turns a final "Z"/"z" into "+00:00"): the same result for
every input, the same ones accepted and refused."""

from __future__ import annotations

import itertools
import random

from migrate_tui.core.iso_time import iso_time
from migrate_tui.engine.legacy import _EPOCH, _MS, _NAIVE_EPOCH, to_ms


def _by_iso_time(value: str) -> int | None:  # what to_ms was: iso_time alone
    moment = iso_time(value) if value else None
    if moment is None:
        return None
    return (moment - (_NAIVE_EPOCH if moment.tzinfo is None else _EPOCH)) // _MS


DATES = ["2024-01-02T03:04:05", "2024-01-02T03:04:05.1", "2024-01-02T03:04:05.123456789",
         "2024-01-02T03:04:05.999999999999", "2024-01-02", "2024W01", "2024-W01-1", "2024W017",
         "2024-002", "2024002", "20240102T030405", "2024-01-02 03:04", "2024-01-02T03",
         "2024-01-02T0304", "2024-01-02T03:04:05,123", "2024-01-02T24:00:00", "0001-01-01T00:00:00",
         "9999-12-31T23:59:59.999999", "2024-02-30", "2024-13-01", "yesterday", "2024-01-02T03:04:05.",
         "1969-12-31T23:59:59.9995"]
ENDS = ["", "Z", "z", "+00:00", "-05:30", "+0530", "+05", "+05:30:15", "+05:30:15.123456", "+00:00Z",
        "UTC", "+24:00", "-00:00", "ZZ", "Z+01:00"]
AROUND = ["", " ", "\t", "\n", "\u3000"]


def test_the_same_result_for_odd_dates() -> None:
    for date, end, before, after in itertools.product(DATES, ENDS, AROUND, AROUND):
        value = before + date + end + after
        assert to_ms(value) == _by_iso_time(value), value


def test_the_same_result_for_mangled_dates() -> None:
    rnd = random.Random(14)
    chars = "0123456789-:T+Zz.,W tX\n"
    for _ in range(20000):
        text = list(rnd.choice(DATES) + rnd.choice(ENDS))
        for _ in range(rnd.randint(1, 3)):
            at = rnd.randrange(len(text) + 1)
            if rnd.random() < 0.5:
                text.insert(at, rnd.choice(chars))
            elif text:
                text[min(at, len(text) - 1)] = rnd.choice(chars)
        value = "".join(text)
        assert to_ms(value) == _by_iso_time(value), value


def test_not_a_date() -> None:
    assert to_ms("") is None and to_ms(None) is None and to_ms(17) is None and to_ms("  ") is None
    assert to_ms("2024-01-02T03:04:05Z") == to_ms("2024-01-02T03:04:05") == 1704164645000
    assert to_ms(" 2024-01-02T03:04:05.9999z\n") == 1704164645999
    assert to_ms("2024-01-02T03:04:05+01:00") == 1704164645000 - 3_600_000
