"""Where the time goes in ``migrate`` / ``migrate --dry-run`` / ``verify`` (not run by make bench).

    python -m benchmarks.experiments.profile_engine [--corpus A] [--mode migrate|dry-run|verify]
                                                    [--cprofile N] [--count]

Runs the real CLI command in-process (``migrate_tui.cli.cli``) on a fresh copy of a corpus.

``--cprofile N``  cProfile, the top N functions by own time and by cumulative time, saved
                  to ``benchmarks/results/profile-<mode>-<corpus>.prof``.
``--count``       no profiler; wraps engine functions (from the outside, no engine file is
                  touched) to count calls and bytes: reads, hashes, JSON parses, encodes,
                  atomic writes, fsyncs (each one timed), every fsio operation (through
                  ``fsio.fault_hook``), and the wall time of each phase.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import functools
import io
import os
import pstats
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import corpus

WORK = corpus.CORPORA_DIR / "_work" / "profile"
RESULTS = Path(__file__).resolve().parent.parent / "results"


def fresh(spec: corpus.CorpusSpec, migrated: bool) -> Path:
    ws = WORK / "ws"
    shutil.rmtree(WORK, ignore_errors=True)
    ws.mkdir(parents=True)
    subprocess.run(["cp", "-a", str(corpus.corpus_dir(spec) / ".sessions"), str(ws / ".sessions")],
                   check=True)
    if migrated:
        subprocess.run([sys.executable, "-m", "migrate_tui", "migrate", str(ws), "--json"],
                       check=True, stdout=subprocess.DEVNULL)
    os.sync()
    time.sleep(float(os.environ.get('SETTLE', '0')))
    return ws


def run_cli(args: list[str]) -> int:
    from migrate_tui.cli import cli

    saved = sys.stdout
    sys.stdout = io.StringIO()  # the JSON report (its cost stays in the measurement)
    try:
        cli.main(args=args, prog_name="migrate-tui", standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        sys.stdout = saved
    return 0


def cli_args(mode: str, ws: Path) -> list[str]:
    if mode == "verify":
        return ["verify", str(ws), "--json"]
    return ["migrate", str(ws), "--json"] + (["--dry-run"] if mode == "dry-run" else [])


# ---------------------------------------------------------------- counting


class Counters:
    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.bytes: collections.Counter[str] = collections.Counter()
        self.seconds: collections.Counter[str] = collections.Counter()
        self.fsync_times: list[float] = []
        self.ops: collections.Counter[str] = collections.Counter()
        self.phases: list[tuple[str, float]] = []

    def add(self, name: str, nbytes: int = 0, seconds: float = 0.0) -> None:
        self.calls[name] += 1
        self.bytes[name] += nbytes
        self.seconds[name] += seconds


def _size(value: Any) -> int:
    if isinstance(value, (bytes, bytearray, str)):
        return len(value)
    if isinstance(value, list):
        return sum(_size(v) for v in value)
    return 0


def _kind(path: str) -> str:
    if "/backup_old_format/" in path:
        return "backup"
    if path.endswith(".jsonl"):
        return "jsonl"
    if path.endswith(".json"):
        return "json"
    return "other"


def instrument(c: Counters) -> None:
    from migrate_tui import cli
    from migrate_tui.core import fsio, jsonio
    from migrate_tui.engine import apply, backup, legacy, scan, verify

    def timed(owner: Any, name: str, label: str, measure: Any = None) -> None:
        original = getattr(owner, name, None)
        if original is None:  # not (or no longer) there: nothing to count
            return

        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            result = original(*args, **kwargs)
            c.add(label(*args, **kwargs) if callable(label) else label,
                  measure(args, kwargs, result) if measure else 0, time.perf_counter() - start)
            return result
        setattr(owner, name, wrapper)

    timed(fsio, "read_bytes", lambda path, *a, **k: f"fsio.read_bytes[{_kind(str(path))}]",
          lambda a, k, r: len(r))
    timed(fsio, "sha256_bytes", "fsio.sha256_bytes", lambda a, k, r: len(a[0]))
    timed(fsio, "sha256_file", lambda path, *a, **k: f"fsio.sha256_file[{_kind(str(path))}]",
          lambda a, k, r: r[0])
    timed(fsio, "write_atomic", lambda path, *a, **k: f"fsio.write_atomic[{_kind(str(path))}]",
          lambda a, k, r: _size(a[1]))
    if hasattr(fsio, "write_atomic_many"):
        timed(fsio, "write_atomic_many",
              lambda items, *a, **k: f"fsio.write_atomic_many[{_kind(str(items[0].path)) if items else '-'}]",
              lambda a, k, r: sum(_size(i.data) for i in a[0]))
    timed(fsio, "append_durable", "fsio.append_durable (journal)", lambda a, k, r: len(a[1]))
    timed(fsio, "fsync_dir", "fsio.fsync_dir")
    for module in (scan, apply, verify):
        timed(module, "read_legacy", f"read_legacy (from {module.__name__.rsplit('.', 1)[1]})",
              lambda a, k, r: len(a[0]))
    timed(jsonio, "loads", "jsonio.loads", lambda a, k, r: len(a[0]))
    timed(jsonio, "first_difference", "jsonio.first_difference", lambda a, k, r: len(a[0]))
    timed(jsonio.LineEncoder, "lines", "LineEncoder.lines", lambda a, k, r: len(r))
    timed(jsonio.LineEncoder, "line", "LineEncoder.line", lambda a, k, r: len(r))
    timed(legacy, "decode", "legacy.decode", lambda a, k, r: len(a[0]))
    timed(legacy, "transcript_lines", "legacy.transcript_lines")
    timed(scan, "transcript_lines", "legacy.transcript_lines (scan)")
    timed(backup, "back_up", "backup.back_up", lambda a, k, r: len(a[3]))
    timed(backup, "save_manifest", "backup.save_manifest")
    timed(backup, "_copy_ok", "backup._copy_ok (re-read + sha256)")
    timed(apply.journal, "append", "journal.append")
    for name in ("scan_workspace", "build_plan", "apply_plan", "build_report", "save_report",
                 "results_block", "verify_workspace"):
        if hasattr(cli, name):
            timed(cli, name, f"phase: cli.{name}")
    for name in ("backup_phase", "transcripts_phase", "index_phase", "verify_phase"):
        timed(apply.Run, name, f"phase: apply.{name}")
    timed(apply, "remove_leftovers", "phase: apply.remove_leftovers")

    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        start = time.perf_counter()
        real_fsync(fd)
        c.fsync_times.append(time.perf_counter() - start)
    os.fsync = fsync  # type: ignore[assignment]

    def hook(op: str, path: str) -> None:
        c.ops[op] += 1
    fsio._hook = hook  # what fsio.fault_hook installs; kept for the whole run


def report_counts(c: Counters, wall: float, data_bytes: int) -> str:
    out = [f"wall {wall:.2f} s (in-process, instrumented); corpus {data_bytes / 1e6:.1f} MB", "",
           f"{'what':<44}{'calls':>9}{'MB':>10}{'x corpus':>10}{'s':>9}"]
    for name in sorted(c.calls, key=lambda n: (not n.startswith("phase"), -c.seconds[n])):
        mb = c.bytes[name] / 1e6
        out.append(f"{name:<44}{c.calls[name]:>9,}{mb:>10.1f}{c.bytes[name] / data_bytes:>10.2f}"
                   f"{c.seconds[name]:>9.2f}")
    ft = sorted(c.fsync_times)
    if ft:
        out += ["", f"os.fsync: {len(ft):,} calls, {sum(ft):.2f} s summed over threads, "
                f"median {ft[len(ft) // 2] * 1e3:.2f} ms, "
                f"p90 {ft[int(len(ft) * 0.9)] * 1e3:.2f} ms, max {ft[-1] * 1e3:.2f} ms"]
    ops = ", ".join(f"{k} {v:,}" for k, v in c.ops.most_common())
    out += ["", "fsio operations (fault-hook points): " + ops]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.experiments.profile_engine")
    parser.add_argument("--corpus", default="A", choices=sorted(corpus.FULL))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--mode", default="migrate", choices=("migrate", "dry-run", "verify"))
    parser.add_argument("--cprofile", type=int, default=0, metavar="N")
    parser.add_argument("--count", action="store_true")
    args = parser.parse_args(argv)
    spec = (corpus.QUICK if args.quick else corpus.FULL)[args.corpus]
    info = corpus.ensure(spec)
    ws = fresh(spec, migrated=args.mode == "verify")
    import migrate_tui.cli  # noqa: F401  (imports are not what is measured here)

    if args.count:
        counters = Counters()
        instrument(counters)
        start = time.perf_counter()
        rc = run_cli(cli_args(args.mode, ws))
        wall = time.perf_counter() - start
        print(f"{args.mode} on {spec.name}: exit {rc}")
        print(report_counts(counters, wall, info["bytes"]))
    else:
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        rc = run_cli(cli_args(args.mode, ws))
        profiler.disable()
        wall = time.perf_counter() - start
        RESULTS.mkdir(exist_ok=True)
        out = RESULTS / f"profile-{args.mode}-{spec.name}.prof"
        profiler.dump_stats(out)
        print(f"{args.mode} on {spec.name}: exit {rc}, {wall:.2f} s under cProfile; saved {out}")
        for key in ("tottime", "cumulative"):
            s = io.StringIO()
            pstats.Stats(profiler, stream=s).strip_dirs().sort_stats(key).print_stats(args.cprofile or 30)
            print(s.getvalue())
    shutil.rmtree(WORK, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
