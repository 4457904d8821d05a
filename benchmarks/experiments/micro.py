"""Micro-measurements behind the profile findings (not run by make bench).

    python -m benchmarks.experiments.micro json      parse/encode/hash costs on corpus A
    python -m benchmarks.experiments.micro fsync     ways to make 2,000 new files durable
    python -m benchmarks.experiments.micro backup    backup.Manifest.find / _free_name scaling
    python -m benchmarks.experiments.micro memory    where the memory goes (C: one big file; B: many)
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import os
import shutil
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import corpus

WORK = corpus.CORPORA_DIR / "_work" / "micro"


def best(fn: Callable[[], Any], repeat: int = 3) -> float:
    """Best of ``repeat``; ``fn`` returns a generator that is drained, each result dropped at
    once (as the engine drops each file's objects), so the cyclic GC does not see them all."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _item in fn():
            pass
        times.append(time.perf_counter() - start)
    return min(times)


def load_corpus(name: str) -> list[bytes]:
    folder = corpus.corpus_dir(corpus.FULL[name]) / ".sessions"
    return [(folder / n).read_bytes() for n in sorted(os.listdir(folder)) if n != "session_map.json"]


# ---------------------------------------------------------------- json


def exp_json() -> None:
    from migrate_tui.core import jsonio
    from migrate_tui.engine.legacy import read_legacy, transcript_lines

    datas = load_corpus("A")
    texts = [d.decode("utf-8") for d in datas]
    mb = sum(map(len, datas)) / 1e6
    dups = jsonio.DuplicateKeys()
    plain = json.JSONDecoder()
    floats = json.JSONDecoder(parse_float=jsonio._parse_float)
    hook = json.JSONDecoder(object_pairs_hook=dups.hook)
    rows = {
        "bytes.decode('utf-8')": lambda: (d.decode("utf-8") for d in datas),
        "hashlib.sha256(data).hexdigest()": lambda: (hashlib.sha256(d).hexdigest() for d in datas),
        "json.loads (plain)": lambda: (plain.decode(t) for t in texts),
        "json + parse_float=_parse_float": lambda: (floats.decode(t) for t in texts),
        "json + object_pairs_hook=DuplicateKeys.hook": lambda: (hook.decode(t) for t in texts),
        "jsonio.loads(text, dups) (both)": lambda: (jsonio.loads(t, jsonio.DuplicateKeys()) for t in texts),
        "read_legacy(data) (decode + loads + checks)": lambda: (read_legacy(d, "x") for d in datas),
    }
    print(f"corpus A: {len(datas):,} files, {mb:.1f} MB; best of 3, whole corpus")
    for label, fn in rows.items():
        t = best(fn)
        print(f"  {label:<46}{t:8.3f} s  {mb / t:8.0f} MB/s")
    docs = [plain.decode(t) for t in texts]
    lines = [transcript_lines(d["messages"]) for d in docs]
    enc = jsonio.LineEncoder()
    outs = [enc.lines(x) for x in lines]
    gc.freeze()  # the corpus held in memory here is no work the engine's GC would do
    out_mb = sum(map(len, outs)) / 1e6
    rows2 = {
        "transcript_lines (drop nulls)": lambda: (transcript_lines(d["messages"]) for d in docs),
        "LineEncoder.lines (C encoder per message)": lambda: (enc.lines(x) for x in lines),
        "json.dumps per line + join (separators)": lambda: (
            ("\n".join(json.dumps(m, ensure_ascii=False, separators=(",", ":")) for m in x) + "\n").encode()
            for x in lines),
        "first_difference(out, lines) (re-parse+compare)": lambda: (
            jsonio.first_difference(o, x, enc) for o, x in zip(outs, lines, strict=True)),
        "  of which: parse of the output": lambda: (
            jsonio.loads("[" + ",".join(ln.decode() for ln in o.split(b"\n")[:-1]) + "]") for o in outs),
        "sha256 of the output": lambda: (hashlib.sha256(o).hexdigest() for o in outs),
        "bytes compare out == out[:] (read-back check)": lambda: (o == bytes(bytearray(o)) for o in outs),
    }
    print(f"output: {out_mb:.1f} MB of JSONL")
    for label, fn in rows2.items():
        t = best(fn)
        print(f"  {label:<46}{t:8.3f} s")


# ---------------------------------------------------------------- fsync


def exp_fsync() -> None:
    """2,000 files of corpus A's transcript sizes, written atomically (temp, rename) in
    batches of 64, made durable four ways."""
    datas = load_corpus("A")
    sizes = [int(len(d) * 0.7) for d in datas]
    payloads = [b"x" * s for s in sizes]

    def run(mode: str, folder: Path) -> tuple[float, float]:
        """(wall, of which in fsync/sync calls)."""
        folder.mkdir(parents=True)
        os.sync()
        durable = 0.0

        def sync(fn: Callable[[], Any]) -> None:
            nonlocal durable
            t = time.perf_counter()
            fn()
            durable += time.perf_counter() - t

        start = time.perf_counter()
        for b in range(0, len(payloads), 64):
            batch = list(enumerate(payloads[b:b + 64], b))
            if mode == "per-file fsync (now)":
                for i, p in batch:
                    tmp = folder / f".f{i}.tmp"
                    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    os.write(fd, p)
                    sync(functools.partial(os.fsync, fd))
                    os.close(fd)
                    os.rename(tmp, folder / f"f{i}")
            else:
                fds = []
                for i, p in batch:
                    tmp = folder / f".f{i}.tmp"
                    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    os.write(fd, p)
                    fds.append((fd, i, tmp))
                if mode == "write batch, then fsync each":
                    for fd, _, _ in fds:
                        sync(functools.partial(os.fsync, fd))
                elif mode == "write batch, then one syncfs":
                    sync(os.sync)  # syncfs(fd) of this file system would do; os.sync here
                for fd, i, tmp in fds:
                    os.close(fd)
                    os.rename(tmp, folder / f"f{i}")
            dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            if mode != "no fsync (naive)":
                sync(functools.partial(os.fsync, dfd))
            os.close(dfd)
        wall = time.perf_counter() - start
        shutil.rmtree(folder)
        return wall, durable

    modes = ("per-file fsync (now)", "write batch, then fsync each", "write batch, then one syncfs",
             "no fsync (naive)")
    shutil.rmtree(WORK, ignore_errors=True)
    times: dict[str, list[tuple[float, float]]] = {m: [] for m in modes}
    runs = 5
    for r in range(runs):
        for m in modes:
            times[m].append(run(m, WORK / f"{r}-{modes.index(m)}"))
    print(f"{len(payloads):,} files, {sum(sizes) / 1e6:.1f} MB, batches of 64, {runs} runs interleaved:")
    print(f"  {'':<32}{'wall median':>12}{'wall min':>10}{'in fsync/sync, median':>24}")
    for m in modes:
        walls = [w for w, _ in times[m]]
        syncs = [d for _, d in times[m]]
        print(f"  {m:<32}{statistics.median(walls):>10.2f} s{min(walls):>8.2f} s"
              f"{statistics.median(syncs):>22.2f} s")
    shutil.rmtree(WORK, ignore_errors=True)


# ---------------------------------------------------------------- backup


def exp_backup() -> None:
    from migrate_tui.engine import backup

    for n in (2_000, 20_000):
        m = backup.Manifest()
        for i in range(n):
            m.files[f"s{i}.json"] = {"original": f"s{i}.json", "sha256": f"{i:064x}"}
        probes = 200
        start = time.perf_counter()
        for i in range(n - probes, n):
            m.find(f"s{i}.json", f"{i:064x}")
        per = (time.perf_counter() - start) / probes
        print(f"Manifest.find with {n:,} entries: {per * 1e3:.2f} ms per call "
              f"-> {per * n / 2:.1f} s for a run that backs up {n:,} files (find before each add)")
    start = time.perf_counter()
    for _ in range(200):
        ["s.json"] + [f"s.json.{k}" for k in range(2, 10_000)]
    per = (time.perf_counter() - start) / 200
    print(f"_free_name's candidate list (10,000 names built per call): {per * 1e3:.2f} ms per call "
          f"-> {per * 2000:.1f} s on A (2,001 calls), {per * 20000:.1f} s on B (20,001 calls)")


# ---------------------------------------------------------------- memory


def exp_memory() -> None:
    from migrate_tui.core import jsonio
    from migrate_tui.engine.legacy import read_legacy, transcript_lines

    path = corpus.corpus_dir(corpus.FULL["C"]) / ".sessions"
    name = next(n for n in os.listdir(path) if n != "session_map.json")
    print(f"C: one file of {os.path.getsize(path / name) / 1e6:.1f} MB, the steps of apply._prepare "
          "(tracemalloc: live / peak MB after each step, all steps' results kept alive as in _prepare)")
    tracemalloc.start()
    keep: list[Any] = []

    def step(label: str, value: Any) -> Any:
        keep.append(value)
        cur, peak = tracemalloc.get_traced_memory()
        print(f"  {label:<46} live {cur / 1e6:8.1f}   peak {peak / 1e6:8.1f}")
        return value

    data = step("fsio.read_bytes", (path / name).read_bytes())
    content = step("read_legacy (decode + loads)", read_legacy(data, name))
    lines = step("transcript_lines (copies of the messages)", transcript_lines(content.messages))
    enc = jsonio.LineEncoder()
    out = step("LineEncoder.lines", enc.lines(lines))
    step("first_difference (re-parse of the output)", jsonio.first_difference(out, lines, enc))
    step("read back the written file (bytes)", bytes(bytearray(out)))
    tracemalloc.stop()
    keep.clear()  # the steps' results freed before the next measure

    print("\nB: what the scan, the plan and the report keep per session (tracemalloc)")
    from migrate_tui.engine import build_plan, build_report, scan_workspace

    ws = corpus.corpus_dir(corpus.FULL["B"])
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    scan = scan_workspace(str(ws))
    after_scan = tracemalloc.get_traced_memory()[0]
    plan = build_plan(scan, "main")
    after_plan = tracemalloc.get_traced_memory()[0]
    report = build_report(plan, None, dry_run=True).to_json()
    after_report = tracemalloc.get_traced_memory()[0]
    text = json.dumps(report, ensure_ascii=True)
    after_text, peak = tracemalloc.get_traced_memory()
    n = len(scan.sessions)
    for label, a, b in (("scan result", base, after_scan), ("plan", after_scan, after_plan),
                        ("report dict", after_plan, after_report),
                        ("report JSON text", after_report, after_text)):
        print(f"  {label:<20}{(b - a) / 1e6:8.1f} MB  = {(b - a) / n / 1e3:6.2f} KB per session")
    print(f"  peak {peak / 1e6:.1f} MB for {n:,} sessions; report text {len(text) / 1e6:.1f} MB")
    tracemalloc.stop()
    s = scan.sessions[0]
    print(f"  one SessionScan: variants={len(s.variants)}, entry_fields={len(s.content.entry_fields)}, "
          f"not_carried={s.content.not_carried}, problems={len(s.content.problems)}")


def main(argv: list[str]) -> int:
    experiments = {"json": exp_json, "fsync": exp_fsync, "backup": exp_backup, "memory": exp_memory}
    chosen = argv or list(experiments)
    for name in chosen:
        if name not in experiments:
            print(__doc__)
            return 2
        print(f"== {name}")
        experiments[name]()
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
