"""Seeded benchmark corpora: legacy workspaces written as the old Python agent wrote them.

    python -m benchmarks.corpus [--quick] [--only A] [--force]

Each corpus is a workspace ``benchmarks/corpora/<name>/`` holding ``.sessions/`` (one
``<session_id>.json`` per session, ``json.dump(obj, f, indent=2, default=str)``, every
optional message field present as ``null``; ``session_map.json``) and ``corpus.json``
(what was generated, by which generator version).  A corpus is regenerated only when it is
missing or its ``corpus.json`` does not match the current spec and ``GENERATOR_VERSION``.

    A      2,000 sessions x 200 messages   (~180 MB)   the main target
    B     20,000 sessions x  10 messages               many small sessions
    C          1 session  x 200,000 messages           one huge session
    D    100,000 sessions x   1 message                memory per session (with E)
    E     10,000 sessions x   1 message

``--quick`` uses small variants (A-quick, B-quick, C-quick) for a smoke test.

Everything is deterministic for a given seed: each session has its own
``random.Random(f"{seed}:{corpus}:{index}")``, so the files do not depend on how the work is
split between processes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

GENERATOR_VERSION = 4
CONTENT_SCALE = 0.83  # tuned so that corpus A lands near 180 MB
SEED = 20260301
HERE = Path(__file__).resolve().parent
CORPORA_DIR = HERE / "corpora"
BASE_NOW = datetime(2026, 2, 28, 18, 0, 0, tzinfo=UTC)
MESSAGE_FIELDS = ("role", "content", "timestamp", "tool_calls", "tool_call_id", "name", "images")


@dataclass(frozen=True)
class CorpusSpec:
    name: str
    sessions: int
    messages: int  # per session
    seed: int = SEED


FULL = {
    "A": CorpusSpec("A", 2_000, 200),
    "B": CorpusSpec("B", 20_000, 10),
    "C": CorpusSpec("C", 1, 200_000),
    "D": CorpusSpec("D", 100_000, 1),
    "E": CorpusSpec("E", 10_000, 1),
}
QUICK = {
    "A": CorpusSpec("A-quick", 100, 200),
    "B": CorpusSpec("B-quick", 1_000, 10),
    "C": CorpusSpec("C-quick", 1, 20_000),
    "D": CorpusSpec("D-quick", 5_000, 1),
    "E": CorpusSpec("E-quick", 500, 1),
}


# ---------------------------------------------------------------- text

_WORDS = (  # noqa: SIM905  a word list reads best as text; split once, at import
    "the of and to in is that for it with as on be this are was by at from or have an "
    "not they which one you had but all were when we there can their what so if out "
    "about up them would has more will her make like him into time its two see could "
    "now then than other only new some these way first also after most where over need "
    "should because each just those how through between work people years still call "
    "release branch deploy config server database query index cache latency request "
    "response token model context window budget meeting calendar invoice report draft "
    "summary review ticket incident rollback migration schema column table error retry "
    "timeout payload endpoint staging production customer account password backup disk "
    "memory thread process container cluster region bucket pipeline build artifact test "
    "flaky regression commit merge rebase patch version dependency upgrade license "
    "flight hotel train dinner reservation weather forecast umbrella grocery recipe "
    "dentist passport insurance mortgage lease contract deadline tomorrow yesterday "
    "Monday Tuesday Wednesday Thursday Friday morning afternoon evening tonight week"
).split()
_PHRASES = (
    "Ça marche, merci !", "naïve café résumé", "明日の天気は晴れです", "東京駅で会いましょう",
    "Ship it 🚀", "Done ✅", "Thanks 🙏", "Größe über 20 €", "¿Dónde está la estación?",
    "Привет, как дела?", "שלום", "مرحبا", "→ see above", "“quoted” — em dash …",
)
_CODE = (
    "```python\ndef retry(fn, attempts=3):\n    for i in range(attempts):\n        try:\n"
    "            return fn()\n        except TimeoutError:\n            time.sleep(2 ** i)\n"
    "    raise RuntimeError(\"gave up\")\n```",
    "```bash\ngit fetch origin && git rebase origin/main\npytest -q -x tests/unit\n```",
    "```sql\nSELECT customer_id, sum(amount) AS total\nFROM invoices\nWHERE paid_at >= "
    "'2026-01-01'\nGROUP BY customer_id\nORDER BY total DESC\nLIMIT 20;\n```",
    "```json\n{\"name\": \"api\", \"replicas\": 3, \"resources\": {\"cpu\": \"500m\", "
    "\"memory\": \"512Mi\"}}\n```",
)
_TOOLS = (
    ("web_search", lambda r: {"query": _sentence(r, 3, 7), "max_results": r.randint(3, 10)}),
    ("read_file", lambda r: {"path": f"notes/{r.choice(_WORDS)}.md", "offset": 0, "limit": 4096}),
    ("exec", lambda r: {"command": r.choice(("git log --oneline -5", "ls -la", "df -h",
                                             "pytest -q", "uptime")), "timeout_s": 30}),
    ("calendar_list", lambda r: {"date": f"2026-03-{r.randint(1, 28):02d}", "include_declined": False}),
    ("weather", lambda r: {"lat": round(r.uniform(-60, 60), 4), "lon": round(r.uniform(-170, 170), 4),
                           "units": "metric"}),
    ("send_message", lambda r: {"to": f"+1555{r.randint(1000000, 9999999)}", "text": _sentence(r, 4, 12)}),
)
_SYSTEM = (
    "You are a helpful personal assistant. Be brief, be accurate, and ask before acting on "
    "anything irreversible.",
    "You are running a scheduled job. Report results concisely.",
    "You are a research sub-agent. Return findings to the parent session.",
)
_TINY_PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR42mNgAAIAAAUAAen63NgAAAAASUVORK5CYII=")


def _sentence(rng: random.Random, low: int, high: int) -> str:
    words = rng.choices(_WORDS, k=rng.randint(low, high))
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice((".", ".", ".", "?", "!"))


def _text(rng: random.Random, median_chars: int, sigma: float = 0.9) -> str:
    """Prose of a log-normally distributed length, sometimes with unicode or a code block."""
    target = int(rng.lognormvariate(0, sigma) * median_chars * CONTENT_SCALE)
    target = max(8, min(target, 40 * median_chars))
    parts: list[str] = []
    size = 0
    while size < target:
        pick = rng.random()
        if pick < 0.06:
            piece = rng.choice(_PHRASES)
        elif pick < 0.08 and target > 300:
            piece = "\n\n" + rng.choice(_CODE) + "\n\n"
        elif pick < 0.12:
            piece = "\n- " + _sentence(rng, 3, 9)
        else:
            piece = _sentence(rng, 5, 16)
        parts.append(piece)
        size += len(piece) + 1
    return " ".join(parts)


# ---------------------------------------------------------------- messages


class _Conversation:
    """Messages as ``Message.model_dump()`` gave them: every field present, naive UTC
    ``datetime.utcnow().isoformat()`` timestamps."""

    def __init__(self, rng: random.Random, start: datetime) -> None:
        self.rng = rng
        self.clock = start.astimezone(UTC).replace(tzinfo=None)
        self.messages: list[dict[str, Any]] = []

    def add(self, role: str, content: str, **fields: Any) -> None:
        self.clock += timedelta(seconds=self.rng.randint(1, 900), microseconds=self.rng.randint(1, 999_999))
        message: dict[str, Any] = {name: None for name in MESSAGE_FIELDS}
        message.update(role=role, content=content, timestamp=self.clock.isoformat(), **fields)
        self.messages.append(message)

    def turn(self) -> None:
        rng = self.rng
        pick = rng.random()
        if pick < 0.18:  # a tool call: question, call, result, answer
            name, make_args = rng.choice(_TOOLS)
            call_id = f"call_{rng.getrandbits(96):024x}"
            self.add("user", _text(rng, 70))
            self.add("assistant", rng.choice(("", "", "Let me check.", "One moment.")), tool_calls=[
                {"id": call_id, "type": "function",
                 "function": {"name": name, "arguments": json.dumps(make_args(rng))}}])
            big = rng.random() < 0.08
            result = _text(rng, 2400 if big else 260, 0.6)
            if name in ("web_search", "calendar_list", "weather"):
                items = [result[i:i + 120] for i in range(0, len(result), 120)]
                result = json.dumps({"ok": True, "items": items})
            self.add("tool", result, tool_call_id=call_id, name=name)
            self.add("assistant", _text(rng, 200))
        elif pick < 0.20:  # an image
            self.add("user", "What is in this picture?", images=[_TINY_PNG])
            self.add("assistant", _text(rng, 120))
        else:
            self.add("user", _text(rng, 70))
            self.add("assistant", _text(rng, 250))

    def fill(self, count: int) -> list[dict[str, Any]]:
        if count and self.rng.random() < 0.7:
            self.add("system", self.rng.choice(_SYSTEM))
        while len(self.messages) < count:
            self.turn()
        del self.messages[count:]
        return self.messages


_CHANNELS = (
    ("telegram:dm:{n}", "telegram", "direct"),
    ("discord:group:g-{n}", "discord", "group"),
    ("slack:channel:c-{n}", "slack", "channel"),
    ("whatsapp:dm:+1555{n:07d}", "whatsapp", "direct"),
    ("signal:dm:+1556{n:07d}", "signal", "direct"),
    ("cron:job-{n}", None, None),
    ("subagent:{n:x}", None, None),
    ("webchat:dm:browser-{n}", "webchat", "direct"),
)
_LABELS = ("Groceries", "Trip planning", "Standup notes", "Reading list", "House move",
           "Tax questions", "Recipes", "Job search", "Garden", "Side project", "On call")


def _session(spec: CorpusSpec, index: int) -> tuple[str, list[str], dict[str, Any]]:
    """(session id, session_map keys, the legacy object) of session number ``index``."""
    rng = random.Random(f"{spec.seed}:{spec.name}:{index}")
    session_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    pattern, channel, chat_type = _CHANNELS[index % len(_CHANNELS)]
    keys = [] if index % 41 == 5 else [f"agent:main:{pattern.format(n=index)}"]
    if index == 0:
        keys.insert(0, "agent:main:main")
    elif rng.random() < 0.1 and keys:
        keys.append(f"agent:main:telegram:dm:{900000 + index}")
    metadata: dict[str, Any] = {"label": rng.choice(_LABELS), "display_name": keys[-1].split(":", 2)[-1]
                                if keys else f"session {index}",
                                "thinking_level": rng.choice(("off", "low", "medium", "high"))}
    if channel:
        metadata.update(channel=channel, chat_type=chat_type)
    if rng.random() < 0.5:
        used = rng.randint(1_000, 150_000)
        metadata.update(model_provider="anthropic", model=rng.choice(("claude-sonnet-4", "claude-haiku-4")),
                        input_tokens=used, output_tokens=used // 7, total_tokens=used + used // 7,
                        context_tokens=200_000)
    if rng.random() < 0.3:
        metadata["ui_color"] = rng.choice(("teal", "amber", "plum"))  # not a SessionEntry field
    if index % 41 == 18:
        metadata["session_key"] = f"agent:main:webchat:dm:visitor-{index}"
    start = (BASE_NOW - timedelta(days=rng.uniform(1, 400))).replace(microsecond=rng.randint(1, 999_999))
    conv = _Conversation(rng, start)
    messages = conv.fill(spec.messages)
    created = start.isoformat()
    updated = (conv.clock.replace(tzinfo=UTC) + timedelta(microseconds=rng.randint(20, 900))).isoformat()
    if index % 29 == 3:  # some writers used Z
        created, updated = created.replace("+00:00", "Z"), updated.replace("+00:00", "Z")
    doc = {"session_id": session_id, "messages": messages, "metadata": metadata,
           "created_at": created, "updated_at": updated}
    return session_id, keys, doc


def _write_sessions(args: tuple[CorpusSpec, str, int, int]) -> tuple[list[tuple[str, list[str]]], int, int]:
    spec, folder, start, stop = args
    try:
        from migrate_tui.demo import write_legacy_session
    except ImportError:  # pragma: no cover - the demo module is the reference writer
        write_legacy_session = None
    out = []
    total_bytes = 0
    total_messages = 0
    for index in range(start, stop):
        sid, keys, doc = _session(spec, index)
        if write_legacy_session is not None:
            path = write_legacy_session(folder, sid, doc["messages"], doc["metadata"],
                                        doc["created_at"], doc["updated_at"])
        else:
            path = Path(folder) / f"{sid}.json"
            with open(path, "w", encoding="utf-8") as f:
                json.dump(doc, f, indent=2, default=str)
            stamp = datetime.fromisoformat(doc["updated_at"].replace("Z", "+00:00")).timestamp()
            os.utime(path, (stamp, stamp))
        total_bytes += os.path.getsize(path)
        total_messages += len(doc["messages"])
        out.append((sid, keys))
    return out, total_bytes, total_messages


# ---------------------------------------------------------------- corpora


def corpus_dir(spec: CorpusSpec) -> Path:
    return CORPORA_DIR / spec.name


def _wanted(spec: CorpusSpec) -> dict[str, Any]:
    return {"generator_version": GENERATOR_VERSION, **asdict(spec)}


def read_info(spec: CorpusSpec) -> dict[str, Any] | None:
    """The corpus.json of an up-to-date corpus, else None."""
    try:
        info = json.loads((corpus_dir(spec) / "corpus.json").read_text())
    except (OSError, ValueError):
        return None
    wanted = _wanted(spec)
    if any(info.get(k) != v for k, v in wanted.items()):
        return None
    if not (corpus_dir(spec) / ".sessions" / "session_map.json").is_file():
        return None
    return info


def ensure(spec: CorpusSpec, *, force: bool = False, log: Any = print) -> dict[str, Any]:
    """Generate ``spec`` unless an up-to-date copy is there; return its corpus.json."""
    info = None if force else read_info(spec)
    if info is not None:
        return info
    target = corpus_dir(spec)
    building = CORPORA_DIR / f".building-{spec.name}"
    shutil.rmtree(building, ignore_errors=True)
    folder = building / ".sessions"
    folder.mkdir(parents=True)
    log(f"generating corpus {spec.name}: {spec.sessions:,} sessions x {spec.messages:,} messages …")
    started = time.monotonic()
    workers = max(1, min(os.cpu_count() or 1, 4, spec.sessions))
    step = max(1, -(-spec.sessions // (workers * 8)))
    chunks = [(spec, str(folder), i, min(i + step, spec.sessions)) for i in range(0, spec.sessions, step)]
    if workers > 1:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_write_sessions, chunks)
    else:
        parts = [_write_sessions(c) for c in chunks]
    session_map: dict[str, str] = {}
    total_bytes = total_messages = 0
    for pairs, nbytes, nmessages in parts:
        total_bytes += nbytes
        total_messages += nmessages
        for sid, keys in pairs:
            for key in keys:
                session_map[key] = sid
    with open(folder / "session_map.json", "w", encoding="utf-8") as f:
        json.dump(session_map, f, indent=2)
    # older than any session's updated_at? no: as the old manager left it, touched last
    stamp = BASE_NOW.timestamp()
    os.utime(folder / "session_map.json", (stamp, stamp))
    info = {**_wanted(spec), "files": spec.sessions, "keys": len(session_map),
            "bytes": total_bytes + (folder / "session_map.json").stat().st_size,
            "session_bytes": total_bytes, "total_messages": total_messages,
            "generated_in_s": round(time.monotonic() - started, 1)}
    (building / "corpus.json").write_text(json.dumps(info, indent=2) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    os.rename(building, target)
    log(f"  {spec.name}: {info['bytes'] / 1e6:,.1f} MB in {info['generated_in_s']} s")
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.corpus", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="the small variants")
    parser.add_argument("--only", action="append", choices=sorted(FULL), help="only this corpus (repeatable)")
    parser.add_argument("--force", action="store_true", help="regenerate even if up to date")
    args = parser.parse_args(argv)
    specs = QUICK if args.quick else FULL
    for name in args.only or sorted(specs):
        info = ensure(specs[name], force=args.force)
        print(json.dumps(info))
    return 0


if __name__ == "__main__":
    sys.exit(main())
