"""The fault proofs of apply (test_faults_apply.py) again, with every session that can be
streamed written a piece at a time (apply ``_stream``: the threshold and the piece size
made tiny), so that a fault at every operation of that path is met too: its temporary
file written before the journal announces it, its read-back, its fsync and rename."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from migrate_tui.engine import apply, transcript_encoding
from tests.proof.proof_support import NOTES
from tests.proof.test_faults_apply import (  # noqa: F401 - collected here, with streaming on
    apply_trace,
    test_fault_at_every_operation_of_apply,
    test_the_clean_run_keeps_the_write_protocol,
)


@pytest.fixture(scope="module", autouse=True)
def streamed() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(apply, "STREAM_BYTES", 1)
        mp.setattr(transcript_encoding, "STREAM_PIECE_BYTES", 64)
        yield


def test_the_trace_is_of_a_streamed_transcript(apply_trace: list[tuple[str, str]]) -> None:  # noqa: F811
    """A streamed transcript's temporary file is written, in several pieces, before the
    journal announces it (a batch's is announced first): the path under proof was taken."""
    name = f"{NOTES}.jsonl"
    opened = [i for i, (op, p) in enumerate(apply_trace)
              if op == "open" and os.path.basename(p).startswith(f".{name}.")]
    renamed = [i for i, (op, p) in enumerate(apply_trace) if op == "rename" and p.endswith(f"/{name}")]
    assert opened and renamed
    journal = [i for i, (op, p) in enumerate(apply_trace)
               if op == "open" and p.endswith("/journal.jsonl") and opened[-1] < i < renamed[-1]]
    assert journal, "the journal was not written between the temporary file and its rename"
    tmp = apply_trace[opened[-1]][1]
    assert sum(1 for op, p in apply_trace if op == "write" and p == tmp) > 1
