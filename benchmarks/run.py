"""Measure the migration side by side with a naive script, a lower bound and ``cp -r`` (``make bench``).

    python -m benchmarks.run [--runs N] [--quick] [--only A[,B]] [--no-plan-screen]

For each corpus (see ``benchmarks.corpus``) and each run, every operation gets a FRESH
copy of the corpus (copying, then ``sync``, is not timed) and runs in its own subprocess,
so wall time includes interpreter start-up for everyone.  Like is compared with like:

    dry run     python -m migrate_tui migrate WS --dry-run --json
    naive dry   python -m benchmarks.naive WS --dry-run   (reads and parses every file, writes nothing)
    bound dry   python -m benchmarks.lower_bound WS --dry-run  (read + orjson, two workers, no checks)
    proof dry   python -m benchmarks.dry_bound WS  (read, SHA-256, orjson and the proof that its
                value is the lossless one, the dates, session_map.json and a report of every
                session, two workers: what a dry run cannot leave out)
    migrate     python -m migrate_tui migrate WS --json
    verify      python -m migrate_tui verify WS --json      (on the workspace just migrated)
    naive       python -m benchmarks.naive WS
    bound       python -m benchmarks.lower_bound WS  (the least work a durable migration
                does, with every check left out: how low any migration can get here)
    bound proven python -m benchmarks.lower_bound WS --proven  (the same, plus in its first
                pass each file's SHA-256 and the proof that orjson's value is the lossless
                one, as benchmarks.dry_bound proves it: the least a migration that loses
                nothing does; the migration is accepted within 1.2x of it)
    cp -r       cp -r WS/.sessions WS/.sessions_cp

The dry run is compared with the naive dry run, the migration with the naive migration.

CPU and memory are those of the whole process tree, workers included.  This process is a
"child subreaper" (Linux ``PR_SET_CHILD_SUBREAPER``): a process whose parent ends first is
handed to it, and it waits for every one of them after each operation, so the user and
system CPU summed by ``getrusage(RUSAGE_CHILDREN)`` around an operation covers every process
of its tree (the "left over" column counts those that outlived the command: there should be
none).  Memory: the peak RSS of the command's own process (GNU time's ``%M``) and the peak
of the tree's summed proportional set size (PSS, a page shared by several processes divided
among them), sampled every 0.05 s; a target is checked against the larger.

The page cache is warm for everyone (the fresh copy was just written).

Nothing is deleted while the benchmark measures: each copy gets its own folder, removed at
the end of the run.  A run that finds the folders of an earlier one removes them, syncs, and
waits until ext4 stops treating the freed inodes as "recently deleted" (fs/ext4/ialloc.c: 60 s
after the deletion once the inode table is written back, 360 s while it is dirty).  Inside
that window, on a file system without a journal (as on the benchmark VM), every file created
scans past the freed inodes one by one (perf: ``find_inode_bit`` → ``recently_deleted``):
creating a file cost up to 1 ms, and an earlier version of this harness, which deleted the
previous copy just before each operation, charged that to every operation.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import corpus

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
# Where the fresh copies are made and measured (git-ignored, same disk as the corpora).
# On the benchmark VM creating a file costs 0.05-1 ms of kernel time, depending on where
# the folder landed and on how many files were just created; every operation is measured
# in the same place, interleaved, so they share those conditions.  The probe below records
# the cost of a create at the start of a run.
DEFAULT_WORK = corpus.CORPORA_DIR / "_work"
WORK = DEFAULT_WORK / "bench-run"
PY = sys.executable

OPS = ("dry_run", "naive_dry", "bound_dry", "proof_dry", "migrate", "verify", "naive", "bound",
       "bound_proven", "cp")
LABELS = {"dry_run": "dry run (ours)", "naive_dry": "naive dry run", "bound_dry": "bound, dry",
          "proof_dry": "bound, dry proven",
          "migrate": "migrate (ours)", "verify": "verify (ours)", "naive": "naive script",
          "bound": "lower bound",
          "bound_proven": "bound, proven", "cp": "cp -r (floor)"}
OURS = ("dry_run", "migrate", "verify")
# what each operation is compared with
BASELINE = {"dry_run": "naive_dry", "bound_dry": "naive_dry", "proof_dry": "naive_dry",
            "migrate": "naive", "bound": "naive", "bound_proven": "naive",
            "cp": "naive"}
# the corpora that measure memory against the number of sessions run fewer operations, once
MEMORY_OPS = ("dry_run", "naive_dry", "migrate", "verify")
PLANS = {"D": (MEMORY_OPS, 1), "E": (MEMORY_OPS, 1)}
TARGETS = {"dry_vs_naive_dry": 0.6, "near_bound": 1.2, "migrate_vs_naive": {"A": 0.5, "B": 1.0, "C": 0.5},
           "memory_mb": {"A": 100.0, "B": 100.0, "C": 300.0, "D": 200.0}, "kb_per_session": 1.0}


# ---------------------------------------------------------------- measuring one process


TIME = shutil.which("time", path="/usr/bin:/bin") if sys.platform.startswith("linux") else None


TREE_SAMPLE_S = 0.05
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Have the processes of a measured command that outlive it handed to this process
    (Linux), so that their CPU is counted and none is left running."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _children_of_this_process() -> list[int]:
    me = os.getpid()
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    if int(f.read().rsplit(b")", 1)[1].split()[1]) == me:
                        out.append(int(name))
            except (OSError, IndexError, ValueError):
                continue
    return out


def reap_left_over(deadline_s: float = 120.0) -> int:
    """Wait for every process the measured command left behind (handed to this subreaper);
    after ``deadline_s`` kill them.  Returns how many there were."""
    count = 0
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return count
        if pid:
            count += 1
            continue
        if time.monotonic() > deadline:
            for child in _children_of_this_process():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, 9)
        time.sleep(0.01)


def tree_pss_bytes(root: int) -> int:
    """The memory of every process below ``root`` (our command, and the worker processes
    it starts, which GNU time's %M does not see), summed as PSS; 0 without /proc."""
    parents: dict[int, int] = {}
    pss: dict[int, int] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return 0
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError, ValueError):
            continue
        parents[int(name)] = int(fields[1])
    below, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - below
        below |= frontier
    for pid in below:
        pss[pid] = _pss_bytes(pid)
    return sum(pss.values())


def _pss_bytes(pid: int) -> int:
    """Proportional set size: resident pages, each shared page divided among its sharers
    (the workers share the fork server's pages); RSS where smaps_rollup is missing."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def measure(cmd: list[str], tag: str, cwd: Path = REPO) -> dict[str, Any]:
    """Run ``cmd`` in a fresh process; wall time, CPU of its whole tree, peak RSS of that
    process alone and the sampled peak PSS of its tree.

    Linux carries a process's peak RSS across ``execve`` and a forked child starts with its
    parent's pages, so ``ru_maxrss`` of a child forked from this (40 MB) process is never
    below 40 MB.  The child is therefore started by GNU ``time`` (a 2 MB process), whose
    ``%M`` is the peak RSS of the command alone."""
    logs = WORK / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    out_path, err_path, rss_path = logs / f"{tag}.out", logs / f"{tag}.err", logs / f"{tag}.rss"
    full = [TIME, "-f", "%M", "-o", str(rss_path), *cmd] if TIME else cmd
    tree_peak = 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(full, stdout=out, stderr=err, cwd=cwd)
        next_sample = start
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            now = time.perf_counter()
            if now >= next_sample:
                tree_peak = max(tree_peak, tree_pss_bytes(proc.pid))
                next_sample = now + TREE_SAMPLE_S
            time.sleep(0.005)
        wall = time.perf_counter() - start
    left_over = reap_left_over()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc.returncode = os.waitstatus_to_exitcode(status)
    maxrss_kib = usage.ru_maxrss  # fallback: an upper bound (see above)
    if TIME:
        with contextlib.suppress(OSError, ValueError, IndexError):
            maxrss_kib = int(rss_path.read_text().split()[-1])
    return {
        "wall_s": round(wall, 4),
        # the whole tree: every process waited for, by its parent or (left over) by this one
        "user_s": round(after.ru_utime - before.ru_utime, 3),
        "sys_s": round(after.ru_stime - before.ru_stime, 3),
        "left_over": left_over,
        "maxrss_mb": round(maxrss_kib * 1024 / 1e6, 1),  # KiB -> MB (10^6 bytes)
        "tree_rss_mb": round(tree_peak / 1e6, 1),
        "rc": proc.returncode,
        "stdout": out_path.read_text(errors="replace"),
        "stderr": err_path.read_text(errors="replace")[-2000:],
    }


_last_delete = 0.0  # time.monotonic() of the last removal of many files (0: none yet)


def remove_tree(path: Path) -> None:
    """Remove a folder of copies, and note when: creating files soon after is slower."""
    global _last_delete
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
        os.sync()  # a written-back inode table shortens ext4's "recently deleted" window
        _last_delete = time.monotonic()


RECENTLY_DELETED_S = 60  # ext4's RECENTCY_MIN, for an inode table already written back


def settle_after_deletes(log: Any) -> float:
    """Wait until files deleted by this run no longer slow down creating new ones (see
    the module docstring); returns the seconds waited."""
    if not _last_delete:
        return 0.0
    wait = _last_delete + RECENTLY_DELETED_S + 2.0 - time.monotonic()
    if wait <= 0:
        return 0.0
    log(f"  waiting {wait:.0f} s for the files just deleted to stop slowing down file creation …")
    time.sleep(wait)
    return round(wait, 1)


def fresh_copy(spec: corpus.CorpusSpec, tag: str) -> Path:
    """A new workspace holding a copy of the corpus's .sessions; written out to disk.
    Nothing is deleted here: the copies of one corpus are removed together afterwards."""
    ws = WORK / "ws" / tag
    ws.mkdir(parents=True)
    subprocess.run(["cp", "-a", str(corpus.corpus_dir(spec) / ".sessions"), str(ws / ".sessions")],
                   check=True)
    os.sync()  # the copy's write-back must not be charged to the measured operation
    return ws


def _json_out(sample: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return json.loads(sample["stdout"].strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def check(op: str, sample: dict[str, Any], info: dict[str, Any], ws: Path) -> str | None:
    """None when the operation did its job on this corpus, else what went wrong."""
    if sample["rc"] != 0:
        return f"exit code {sample['rc']}: {sample['stderr'].strip()[-300:]}"
    if op in ("dry_run", "migrate"):
        report = _json_out(sample)
        if report is None:
            return "no JSON report on stdout"
        if report.get("status") != "success" or report.get("sessions_found") != info["files"] \
                or report.get("migrated") != info["files"]:
            return (f"status {report.get('status')}, found {report.get('sessions_found')}, "
                    f"migrated {report.get('migrated')} (expected {info['files']})")
        jsonl = sum(1 for n in os.listdir(ws / ".sessions") if n.endswith(".jsonl"))
        if op == "migrate" and jsonl != info["files"]:
            return f"{jsonl} transcripts written, expected {info['files']}"
        if op == "dry_run" and jsonl:
            return f"the dry run wrote {jsonl} transcripts"
    elif op == "verify":
        result = _json_out(sample)
        if result is None or result.get("status") != "ok" or result.get("checked") != info["files"]:
            return f"verify said {sample['stdout'][:300]!r}"
    elif op in ("naive", "bound", "bound_proven", "naive_dry", "bound_dry", "proof_dry"):
        result = _json_out(sample)
        if result is None or result.get("migrated") != info["files"]:
            return f"{op} said {sample['stdout'][:300]!r}"
    return None


def command(op: str, ws: Path) -> list[str]:
    if op == "dry_run":
        return [PY, "-m", "migrate_tui", "migrate", str(ws), "--dry-run", "--json"]
    if op == "migrate":
        return [PY, "-m", "migrate_tui", "migrate", str(ws), "--json"]
    if op == "verify":
        return [PY, "-m", "migrate_tui", "verify", str(ws), "--json"]
    if op == "naive":
        return [PY, "-m", "benchmarks.naive", str(ws)]
    if op == "naive_dry":
        return [PY, "-m", "benchmarks.naive", str(ws), "--dry-run"]
    if op == "bound":
        return [PY, "-m", "benchmarks.lower_bound", str(ws)]
    if op == "bound_proven":
        return [PY, "-m", "benchmarks.lower_bound", str(ws), "--proven"]
    if op == "bound_dry":
        return [PY, "-m", "benchmarks.lower_bound", str(ws), "--dry-run"]
    if op == "proof_dry":
        return [PY, "-m", "benchmarks.dry_bound", str(ws)]
    if op == "cp":
        return ["cp", "-r", str(ws / ".sessions"), str(ws / ".sessions_cp")]
    raise ValueError(op)


# ---------------------------------------------------------------- one corpus


def bench_corpus(spec: corpus.CorpusSpec, info: dict[str, Any], ops: tuple[str, ...], runs: int,
                 log: Any) -> dict[str, Any]:
    samples: dict[str, list[dict[str, Any]]] = {op: [] for op in ops}
    failures: list[str] = []
    copied = [op for op in ops if op != "verify"]  # verify runs on the copy just migrated
    copies = {(run, op): fresh_copy(spec, f"{spec.name}-{run}-{op}") for run in range(runs) for op in copied}
    settled = settle_after_deletes(log)

    def run_one(op: str, ws: Path, run: int) -> None:
        sample = measure(command(op, ws), f"{spec.name}-{op}-{run}")
        problem = check(op, sample, info, ws)
        sample["ok"] = problem is None
        if problem:
            failures.append(f"{spec.name} {op} run {run + 1}: {problem}")
            log(f"  !! {failures[-1]}")
        samples[op].append(sample)
        log(f"  run {run + 1}/{runs} {LABELS[op]:<16} {sample['wall_s']:8.2f} s  "
            f"cpu {sample['user_s'] + sample['sys_s']:6.2f} s  "
            f"{max(sample['maxrss_mb'], sample['tree_rss_mb']):7.1f} MB")

    for run in range(runs):
        # rotate the order from run to run, so no operation always follows the same one
        order = copied[run % len(copied):] + copied[: run % len(copied)]
        for op in order:
            run_one(op, copies[(run, op)], run)
            if op == "migrate" and "verify" in ops:
                os.sync()
                run_one("verify", copies[(run, op)], run)
    summary: dict[str, Any] = {}
    for op, items in samples.items():
        walls = [s["wall_s"] for s in items]
        summary[op] = {
            "median_s": round(statistics.median(walls), 4),
            "min_s": min(walls), "max_s": max(walls),
            "cpu_s": round(statistics.median(s["user_s"] + s["sys_s"] for s in items), 3),
            "user_s": round(statistics.median(s["user_s"] for s in items), 3),
            "sys_s": round(statistics.median(s["sys_s"] for s in items), 3),
            "peak_rss_mb": max(s["maxrss_mb"] for s in items),
            "tree_rss_mb": max(s.get("tree_rss_mb", 0) for s in items),
            "memory_mb": max(max(s["maxrss_mb"], s.get("tree_rss_mb", 0)) for s in items),
            "left_over": sum(s.get("left_over", 0) for s in items),
            "all_ok": all(s["ok"] for s in items),
            "samples": [{k: v for k, v in s.items() if k not in ("stdout", "stderr")} for s in items],
        }
    for op, row in summary.items():
        base = summary.get(BASELINE.get(op, ""))
        row["vs"] = BASELINE.get(op) if base else None
        row["x_base"] = round(row["median_s"] / base["median_s"], 3) if base and base["median_s"] else None
        row["x_base_cpu"] = round(row["cpu_s"] / base["cpu_s"], 3) if base and base["cpu_s"] else None
        row["mb_per_s"] = round(info["bytes"] / 1e6 / row["median_s"], 1) if row["median_s"] else None
    return {"corpus": info, "ops": summary, "failures": failures, "settle_wait_s": settled, "runs": runs}


# ---------------------------------------------------------------- extras


def startup(runs: int) -> dict[str, Any]:
    """What any run pays before it touches a file: the interpreter, and our imports."""
    out = {}
    for name, code in (("python", "pass"), ("import_cli", "import migrate_tui.cli"),
                       ("import_naive", "import benchmarks.naive")):
        items = [measure([PY, "-c", code], f"startup-{name}-{i}") for i in range(max(3, runs))]
        out[name] = {"median_s": round(statistics.median(s["wall_s"] for s in items), 4),
                     "peak_rss_mb": max(s["maxrss_mb"] for s in items)}
    return out


def plan_screen(n: int, log: Any) -> dict[str, Any]:
    code = ("import json, sys\n"
            "try:\n    from benchmarks.wizard import measure_wizard\n"
            "except ImportError as exc:\n    print(json.dumps({'skipped': str(exc)})); sys.exit(0)\n"
            f"print(json.dumps(measure_wizard(n={n} if {n} < 50_000 else 200_000)))\n")
    log(f"the wizard with {n if n < 50_000 else 200_000:,} sessions (benchmarks/wizard.py) …")
    sample = measure([PY, "-c", code], "plan-screen")
    result = _json_out(sample)
    if sample["rc"] != 0 or result is None:
        return {"error": f"exit code {sample['rc']}: {sample['stderr'].strip()[-500:]}"}
    if "skipped" in result:
        return result
    return {"n": n, "wall_s": sample["wall_s"], "peak_rss_mb": sample["maxrss_mb"], **result}


def create_cost_ms(folder: Path, n: int = 300) -> float:
    """What creating one empty file costs in ``folder`` (ms), the dominant per-file cost.
    The probe files stay until the next run removes ``WORK``: deleting them now would slow
    down the creations that are measured next."""
    probe = folder / f".create-probe-{os.getpid()}"
    probe.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for i in range(n):
        os.close(os.open(probe / f"f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return round((time.perf_counter() - start) / n * 1000, 3)


def machine() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "rss_method": "GNU time %M" if TIME else "wait4 ru_maxrss (upper bound)",
            "git_head": git("rev-parse", "--short", "HEAD"),
            "git_dirty": git("status", "--porcelain", "--", "migrate_tui").splitlines(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


# ---------------------------------------------------------------- report


def table(name: str, result: dict[str, Any]) -> str:
    info = result["corpus"]
    lines = [f"Corpus {name}: {info['files']:,} sessions, {info['total_messages']:,} messages, "
             f"{info['bytes'] / 1e6:,.1f} MB; {result['runs']} run(s), medians",
             f"  {'operation':<17}{'wall s':>8}{'min':>7}{'max':>7}{'CPU s':>8}{'main MB':>9}{'tree MB':>9}"
             f"{'x base':>8}{'x CPU':>7}  {'base':<10}{'left':>5}  ok"]
    for op in OPS:
        r = result["ops"].get(op)
        if r is None:
            continue
        ratio = (f"{r['x_base']:>8.2f}{r['x_base_cpu']:>7.2f}  {LABELS[r['vs']][:10]:<10}" if r["vs"]
                 else " " * 25)
        lines.append(f"  {LABELS[op]:<17}{r['median_s']:>8.2f}{r['min_s']:>7.2f}{r['max_s']:>7.2f}"
                     f"{r['cpu_s']:>8.2f}"
                     f"{r['peak_rss_mb']:>9.1f}{r['tree_rss_mb']:>9.1f}{ratio}{r['left_over']:>5}"
                     f"  {'yes' if r['all_ok'] else 'NO'}")
    return "\n".join(lines)


def _verdict(check: str, ok: bool | None, text: str, value: Any = None, target: Any = None) -> dict[str, Any]:
    return {"check": check, "pass": ok, "text": text, "value": value, "target": target}


def _within_proven(ours: dict[str, Any], proof: dict[str, Any] | None,
                   label: str) -> tuple[str, bool]:
    """The sentence comparing our median with a proven bound's, and whether ours is within
    TARGETS["near_bound"] of it: the issue accepts a figure within that factor of a bound doing
    the same work. A bound that did not run, took no time or failed a run accepts nothing."""
    if not proof or not proof["median_s"]:
        return "", False
    x = ours["median_s"] / proof["median_s"]
    said = (f"; {label} {proof['median_s']:.2f} s = {proof['x_base']:.2f}x "
            f"(CPU {proof['cpu_s']:.2f} s), ours = {x:.2f}x it "
            f"(accepted <= {TARGETS['near_bound']}x)")
    return said, bool(proof["all_ok"]) and x <= TARGETS["near_bound"]


def verdicts(results: dict[str, Any], quick: bool) -> list[dict[str, Any]]:
    """Each target of the performance issue: met, not met, or for reference."""
    out: list[dict[str, Any]] = []
    for name in ("A", "B", "C"):
        ops = results.get(name, {}).get("ops")
        if not ops or "dry_run" not in ops or "naive_dry" not in ops:
            continue
        dry, base = ops["dry_run"], ops["naive_dry"]
        target = TARGETS["dry_vs_naive_dry"]
        bound = ops.get("bound_dry")
        near = (f"; the dry lower bound (read + orjson, 2 workers, no check) {bound['median_s']:.2f} s "
                f"= {bound['x_base']:.2f}x, ours = {dry['median_s'] / bound['median_s']:.2f}x the bound"
                if bound and bound["median_s"] else "")
        # the bound doing a dry run's work: benchmarks/dry_bound.py --proven
        said, within = _within_proven(dry, ops.get("proof_dry"),
                                      "the proven dry bound (read, SHA-256, orjson + proof, dates, "
                                      "keys, report, 2 workers)")
        near += said
        met = dry["x_base"] <= target or within
        out.append(_verdict(f"dry_run_{name}", met and dry["all_ok"],
                            f"corpus {name}: dry run {dry['median_s']:.2f} s = "
                            f"{dry['x_base']:.2f}x the naive dry run ({base['median_s']:.2f} s; "
                            f"CPU {dry['cpu_s']:.2f} s = {dry['x_base_cpu']:.2f}x), "
                            f"target <= {target}x{near}", dry["x_base"], target))
    for name, target in TARGETS["migrate_vs_naive"].items():
        ops = results.get(name, {}).get("ops")
        if not ops or "migrate" not in ops or "naive" not in ops:
            continue
        full, bound = ops["migrate"], ops.get("bound")
        near = (f"; lower bound {bound['x_base']:.2f}x, "
                f"ours = {full['median_s'] / bound['median_s']:.2f}x the bound"
                if bound and bound["median_s"] else "")
        # the bound doing a migration's work: lower_bound --proven (SHA-256, proof of each parse)
        said, within = _within_proven(full, ops.get("bound_proven"),
                                      "the proven lower bound (+ SHA-256, orjson + proof)")
        near += said
        met = full["x_base"] <= target or within
        out.append(_verdict(f"migrate_{name}", met and full["all_ok"],
                            f"corpus {name}: full migration {full['median_s']:.2f} s = "
                            f"{full['x_base']:.2f}x naive ({ops['naive']['median_s']:.2f} s; "
                            f"CPU {full['x_base_cpu']:.2f}x), target <= {target}x"
                            f"{near}", full["x_base"], target))
    for name, target in TARGETS["memory_mb"].items():
        ops = results.get(name, {}).get("ops")
        if not ops:
            continue
        mem = {op: ops[op]["memory_mb"] for op in OURS if op in ops}
        worst = max(mem.values())
        out.append(_verdict(f"memory_{name}", worst <= target,
                            f"corpus {name}: peak memory (main or tree) "
                            + ", ".join(f"{op} {v:.0f} MB" for op, v in mem.items())
                            + f"; target <= {target:.0f} MB", worst, target))
    big, small = results.get("D", {}).get("ops"), results.get("E", {}).get("ops")
    if big and small:
        n = results["D"]["corpus"]["files"] - results["E"]["corpus"]["files"]
        per = {op: (big[op]["memory_mb"] - small[op]["memory_mb"]) * 1e6 / n / 1e3 for op in OURS
               if op in big and op in small}
        out.append(_verdict("kb_per_session", max(per.values()) < TARGETS["kb_per_session"],
                            "memory per session, (D - E) / "
                            f"{n:,} sessions: " + ", ".join(f"{op} {v:.2f} KB" for op, v in per.items())
                            + f"; target < {TARGETS['kb_per_session']} KB", max(per.values()),
                            TARGETS["kb_per_session"]))
    left = {f"{name} {op}": r["left_over"] for name, res in results.items() for op, r in res["ops"].items()
            if op in OURS and r["left_over"]}
    outlived = ", ".join(f"{k}: {v}" for k, v in left.items()) if left else "none"
    out.append(_verdict("no_process_left_over", not left,
                        "processes that outlived our command: " + outlived))
    if quick:
        for v in out:
            v["text"] += "  [quick corpus: smoke test only]"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=None,
                        help="runs per operation (default 3; 1 with --quick)")
    parser.add_argument("--quick", action="store_true", help="small corpora, 1 run: a smoke test")
    parser.add_argument("--only", action="append", default=[], metavar="A[,B]", help="only these corpora")
    parser.add_argument("--work-dir", type=Path, default=DEFAULT_WORK,
                        help=f"where the fresh copies are measured (default {DEFAULT_WORK})")
    parser.add_argument("--no-plan-screen", action="store_true", help="skip the plan-screen measurement")
    parser.add_argument("--plan-screen-n", type=int, default=None,
                        help="sessions for the plan screen (50,000)")
    args = parser.parse_args(argv)
    runs = args.runs if args.runs is not None else (1 if args.quick else 3)
    if runs < 1:
        parser.error("--runs must be at least 1")
    specs = corpus.QUICK if args.quick else corpus.FULL
    names = [n.strip().upper() for item in args.only for n in item.split(",") if n.strip()] or list(specs)
    unknown = [n for n in names if n not in specs]
    if unknown:
        parser.error(f"unknown corpus {', '.join(unknown)}; choose from {', '.join(specs)}")

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    global WORK
    WORK = args.work_dir.resolve() / "bench-run"  # only this subfolder is ever removed

    subreaper = become_subreaper()
    remove_tree(WORK)
    infos = {name: corpus.ensure(specs[name], log=log) for name in names}
    # Byte-code compiled first, as installing a package does (pip compiles what it installs):
    # with PYTHONDONTWRITEBYTECODE set, or a source tree nobody ran yet, every command would
    # otherwise compile our 10,000 lines again (about 0.08 s of CPU each time) while the
    # one-file naive script compiles next to nothing.
    measure([PY, "-m", "compileall", "-q", str(REPO / "migrate_tui"), str(HERE)], "compile")
    measure([PY, "-c", "import migrate_tui.cli, benchmarks.naive"], "warm-up")
    info_machine = machine()
    info_machine["work_dir"] = str(WORK)
    info_machine["tree_cpu"] = ("subreaper + RUSAGE_CHILDREN" if subreaper
                                else "RUSAGE_CHILDREN (orphans missed)")
    settle_after_deletes(log)  # the previous run's folders were just removed
    info_machine["create_ms"] = create_cost_ms(WORK)
    report: dict[str, Any] = {"machine": info_machine, "quick": args.quick, "runs": runs,
                              "startup": startup(runs), "corpora": {}}
    for name in names:
        ops, corpus_runs = PLANS.get(name, (OPS, None))
        corpus_runs = min(runs, corpus_runs or runs)
        log(f"corpus {specs[name].name} ({corpus_runs} run(s)) …")
        report["corpora"][name] = bench_corpus(specs[name], infos[name], ops, corpus_runs, log)
    if not args.no_plan_screen:
        n = args.plan_screen_n or (5_000 if args.quick else 50_000)
        report["plan_screen"] = plan_screen(n, log)
    report["verdicts"] = verdicts(report["corpora"], args.quick)
    remove_tree(WORK / "ws")  # only now, with nothing left to measure; the logs stay

    RESULTS.mkdir(exist_ok=True)
    partial = "" if names == list(specs) else "-only-" + "".join(names)
    out_path = RESULTS / (f"latest{'-quick' if args.quick else ''}{partial}.json")
    out_path.write_text(json.dumps(report, indent=2) + "\n")

    s = report["startup"]
    print(f"\nmigrate_tui benchmarks — {report['machine']['time']}, {runs} run(s) each (corpora "
          f"{', '.join(n for n in names if n in PLANS)}: {', '.join(LABELS[o] for o in MEMORY_OPS)}, "
          f"once: they measure memory), medians; python {report['machine']['python']}, "
          f"{report['machine']['cpus']} CPUs; CPU: {report['machine']['tree_cpu']}")
    m = report["machine"]
    print(f"work dir: {m['work_dir']} (creating an empty file there: {m['create_ms']} ms at the start)")
    print(f"start-up: python {s['python']['median_s']:.3f} s, + import migrate_tui.cli "
          f"{s['import_cli']['median_s']:.3f} s ({s['import_cli']['peak_rss_mb']:.1f} MB), "
          f"+ import benchmarks.naive {s['import_naive']['median_s']:.3f} s")
    for name in names:
        print()
        print(table(specs[name].name, report["corpora"][name]))
    if "plan_screen" in report:
        ps = report["plan_screen"]
        print()
        if "skipped" in ps:
            print(f"plan screen: skipped ({ps['skipped']})")
        elif "error" in ps:
            print(f"plan screen: FAILED ({ps['error']})")
        else:
            shown = ", ".join(f"{k} {v}" for k, v in ps.items() if k not in ("n", "wall_s", "peak_rss_mb"))
            print(f"plan screen ({ps['n']:,} sessions; {ps['wall_s']:.1f} s, "
                  f"{ps['peak_rss_mb']:.1f} MB): {shown}")
    failures = [f for r in report["corpora"].values() for f in r["failures"]]
    print()
    for v in report["verdicts"]:
        print({True: "PASS  ", False: "FAIL  ", None: "INFO  "}[v["pass"]] + v["text"])
    for f in failures:
        print(f"ERROR {f}")
    print(f"\nwritten: {out_path.relative_to(REPO)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
