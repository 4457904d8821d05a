"""How fast could a safe migration of corpus A be on this machine?  (not run by make bench)

    python -m benchmarks.experiments.floor [--corpus A] [--runs 3]

Stripped-down pipelines, each on a fresh copy, each in-process (no interpreter start-up):

1. backup only          read each legacy file once, write the copy (no fsync)
2. + transcripts        and parse it once (plain json), drop nulls, encode with the C
                        encoder, write the transcript (no fsync)
3. + durable (batched)  the same, temp files + rename, one os.sync() per 64 files
4. + durable (per file) the same, fsync per file (what apply does now)
5. 3 with 2 threads     pipeline 3, files split over two threads (the kernel work of
                        creating/writing files releases the GIL)

Nothing here checks anything; it is the floor the engine's checks are added to.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from benchmarks import corpus

WORK = corpus.CORPORA_DIR / "_work" / "floor"
ENC = json.encoder.c_make_encoder(None, None, json.encoder.c_encode_basestring, None, ":", ",",
                                  False, False, True) if json.encoder.c_make_encoder else None


def fresh(spec: corpus.CorpusSpec, tag: str) -> Path:
    """A copy of the corpus in its own folder: nothing is deleted until the end, since ext4
    without a journal makes every file created within ~60 s of a deletion slower."""
    WORK.mkdir(parents=True, exist_ok=True)
    ws = WORK / tag
    subprocess.run(["cp", "-a", str(corpus.corpus_dir(spec) / ".sessions"), str(ws)], check=True)
    os.sync()
    return ws


def encode(messages: list) -> bytes:
    return "".join("".join(ENC({k: v for k, v in m.items() if v is not None}, 0)) + "\n"
                   for m in messages).encode("utf-8")


def write(path: Path, data: bytes, durable: str) -> None:
    if durable == "none":
        with open(path, "wb") as f:
            f.write(data)
        return
    tmp = path.with_name("." + path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, data)
    if durable == "per-file":
        os.fsync(fd)
    os.close(fd)
    os.rename(tmp, path)


def pipeline(ws: Path, names: list[str], transcripts: bool, durable: str) -> None:
    backup = ws / "backup_old_format"
    backup.mkdir(exist_ok=True)
    for start in range(0, len(names), 64):
        for name in names[start:start + 64]:
            data = (ws / name).read_bytes()
            write(backup / name, data, durable)
            if transcripts:
                doc = json.loads(data)
                write(ws / f"{doc['session_id']}.jsonl", encode(doc["messages"]), durable)
        if durable == "batched":
            os.sync()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.experiments.floor")
    parser.add_argument("--corpus", default="A", choices=sorted(corpus.FULL))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    spec = corpus.FULL[args.corpus]
    corpus.ensure(spec)
    variants = {
        "1 backup only (no fsync)": (False, "none", 1),
        "2 + transcripts (no fsync)": (True, "none", 1),
        "3 + durable, os.sync per 64 files": (True, "batched", 1),
        "4 + durable, fsync per file": (True, "per-file", 1),
        "5 = 3 with 2 threads": (True, "batched", 2),
    }
    times: dict[str, list[float]] = {v: [] for v in variants}
    if WORK.exists():
        shutil.rmtree(WORK)
        os.sync()
        time.sleep(62)
    for run in range(args.runs):
        for n, (label, (transcripts, durable, threads)) in enumerate(variants.items()):
            ws = fresh(spec, f"{run}-{n}")
            names = sorted(n for n in os.listdir(ws) if n.endswith(".json") and n != "session_map.json")
            start = time.perf_counter()
            if threads == 1:
                pipeline(ws, names, transcripts, durable)
            else:
                parts = [names[i::threads] for i in range(threads)]
                pool = [threading.Thread(target=pipeline, args=(ws, p, transcripts, durable)) for p in parts]
                for t in pool:
                    t.start()
                for t in pool:
                    t.join()
            times[label].append(time.perf_counter() - start)
    shutil.rmtree(WORK, ignore_errors=True)
    print(f"corpus {spec.name}, {args.runs} runs interleaved, in-process (add ~0.09 s of start-up):")
    for label, ts in times.items():
        print(f"  {label:<36}median {statistics.median(ts):6.2f} s   min {min(ts):6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
