"""Publishing benchmark: Editorial against Hugo and Pelican on the same corpus, in one run.

    pip install -e '.[bench]'
    python bench/export.py                 # N = 10,000
    python bench/export.py --n 1000 --skip-pelican

Scenarios (each a fresh process, timed as a person would time the commands; each Editorial
figure is given for the two commands `editorial ingest` + `editorial export` and for the one
command `editorial build`, which does both in one process):
  (a) full build from Markdown into an empty store, against `hugo --buildDrafts` and Pelican's
      cold build of the same corpus
  (b) export from an already ingested store into an empty folder
  (c) one changed file, then ingest + export (the corpus's middle file, and a published piece)
  (d) nothing changed, then ingest + export
Every scenario runs --repeat times (3 by default), the tools taking turns; the report shows
medians, and every run's wall time beside them.
Targets at N = 10,000: (a) <= 1.0 x Hugo and <= 0.2 x Pelican; (b) <= 0.3 x Hugo;
(c) <= 1 s; (d) <= 1 s; peak memory <= 300 MiB.

No timed run follows a deletion. This machine's ext4 (no journal) skips every inode freed in the
last 30 seconds when it allocates a new one (`recently_deleted` in `find_inode_bit`, seen with
perf), so 10,000 files written just after 10,000 were deleted cost several times the system time
of the same files written on a quiet disk, for Hugo as for Editorial. Earlier outputs are therefore
moved aside into a trash folder, which is emptied once every run is done.

Editorial's modules are compiled to bytecode before the first timed run, as installing a package
does: in an editable install with `PYTHONDONTWRITEBYTECODE` set, every command would otherwise
compile them again (about 50 ms of each command's start).
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAKE_CORPUS = Path(
    os.environ.get("EDITORIAL_MAKE_CORPUS", REPO.parent / "shared" / "bench" / "make_corpus.py")
)
BIN = Path(sys.executable).parent


@dataclass
class Run:
    wall: float
    cpu: float
    rss_mib: float

    def __add__(self, other: Run) -> Run:
        return Run(self.wall + other.wall, self.cpu + other.cpu, max(self.rss_mib, other.rss_mib))

    def __str__(self) -> str:
        return f"wall {self.wall:7.2f} s   cpu {self.cpu:7.2f} s   peak {self.rss_mib:6.0f} MiB"


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Run `command`; wall time, CPU of it and its children, and its largest process's RSS.
    Whatever earlier runs left unwritten is flushed to disk first, outside the timing, so that
    no run pays for the writing of the one before it."""
    os.sync()
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{process.stderr.read().decode()}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def corpus(flavor: str, n: int, work: Path) -> Path:
    target = work / f"{flavor}-{n}"
    if not target.exists():
        subprocess.run(
            [
                sys.executable,
                str(MAKE_CORPUS),
                "--flavor",
                flavor,
                "--n",
                str(n),
                "--out",
                str(target),
            ],
            check=True,
            capture_output=True,
        )
    return target


class Trash:
    """Takes old outputs out of the way with one rename each; deletes them all at the end."""

    def __init__(self, work: Path) -> None:
        self.folder = work / ".trash"
        if self.folder.exists():  # left by an interrupted run: delete, then let the disk settle
            shutil.rmtree(self.folder)
            time.sleep(35)
        self.count = 0

    def discard(self, path: Path) -> None:
        if path.exists():
            self.folder.mkdir(exist_ok=True)
            self.count += 1
            path.rename(self.folder / f"{self.count}-{path.name}")

    def empty(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def editorial_cold(n: int, work: Path, trash: Trash) -> dict[str, Run]:
    """(a) and (b): ingest + export into an empty store and folder, export alone from that
    store into an empty folder, and `build` into an empty store and folder."""
    env, out, commands = _setup(n, work, trash)
    ingest, export, build = commands
    results = {"a": timed(ingest, work, env) + timed(export, work, env)}
    trash.discard(out)
    results["b"] = timed(export, work, env)
    _setup(n, work, trash)
    results["a1"] = timed(build, work, env)
    return results


def editorial_warm(n: int, work: Path, repeat: int) -> dict[str, list[Run]]:
    """(c) and (d) on the store and folder the last `editorial_cold` left: one file edited
    (a new edit each time), then nothing changed. (c) edits two files in turn: the corpus's
    middle file, as every earlier run did (a draft in the standard corpus, so the export has no
    page to write for it), and the first file from the middle on that is a published piece
    with a page in the export (its page, lists, feeds and sitemap are written again)."""
    env, out, (ingest, export, build) = _paths(n, work)
    files = sorted(Path(env["EDITORIAL_CONTENT_DIR"]).rglob("piece-*.md"))
    middle = files[n // 2]
    public = next(f for f in files[n // 2 :] if (out / "pieces" / f.stem / "index.html").is_file())
    shown = "published" if middle == public else "not public"
    print(f"(c) edits {middle.name} ({shown}) and {public.name} (published)")
    results: dict[str, list[Run]] = {"c": [], "c1": [], "cp": [], "cp1": [], "d": [], "d1": []}
    for victim, keys in ((middle, ("c", "c1")), (public, ("cp", "cp1"))):
        original = victim.read_text(encoding="utf-8")
        try:
            for round_ in range(repeat):
                for key, steps in zip(keys, ([ingest, export], [build]), strict=True):
                    edit = f"\nOne more sentence for run {key} {round_}.\n"
                    victim.write_text(original + edit, encoding="utf-8")
                    time.sleep(2.1)  # let the edit age past ingest's racy-timestamp window
                    results[key].append(
                        sum((timed(c, work, env) for c in steps[1:]), timed(steps[0], work, env))
                    )
        finally:
            victim.write_text(original, encoding="utf-8")
    time.sleep(2.1)
    timed(build, work, env)
    timed(build, work, env)
    for _ in range(repeat):
        results["d"].append(timed(ingest, work, env) + timed(export, work, env))
        results["d1"].append(timed(build, work, env))
    return results


def _paths(n: int, work: Path) -> tuple[dict[str, str], Path, list[list[str]]]:
    store, out = work / f"store-{n}", work / f"site-{n}"
    env = os.environ | {
        "EDITORIAL_DATABASE_URL": f"sqlite:///{store / 'editorial.db'}",
        "EDITORIAL_CONTENT_DIR": str(work / f"editorial-{n}"),
        "EDITORIAL_THEMES_DIR": str(REPO / "themes"),
    }
    ingest = [str(BIN / "editorial"), "ingest", "--quiet"]
    export = [str(BIN / "editorial"), "export", str(out)]
    build = [str(BIN / "editorial"), "build", str(out), "--quiet"]
    return env, out, [ingest, export, build]


def _setup(n: int, work: Path, trash: Trash) -> tuple[dict[str, str], Path, list[list[str]]]:
    """An empty store and no output folder."""
    env, out, commands = _paths(n, work)
    store = work / f"store-{n}"
    trash.discard(store)
    trash.discard(out)
    store.mkdir()
    return env, out, commands


def hugo(n: int, work: Path, trash: Trash) -> Run:
    site = corpus("hugo", n, work)
    trash.discard(site / "public")
    trash.discard(site / "resources")
    return timed([str(BIN / "hugo"), "--buildDrafts", "--quiet"], site, dict(os.environ))


def pelican(n: int, work: Path, trash: Trash) -> Run:
    site = corpus("pelican", n, work)
    trash.discard(site / "output")
    command = [str(BIN / "pelican"), "content", "-s", "pelicanconf.py", "-o", "output", "-q"]
    return timed(command, site, dict(os.environ))


def median(runs: list[Run]) -> Run:
    """The median wall and CPU time of `runs`, and the largest peak memory among them."""
    return Run(
        statistics.median(r.wall for r in runs),
        statistics.median(r.cpu for r in runs),
        max(r.rss_mib for r in runs),
    )


def spread(runs: list[Run]) -> str:
    return "   runs " + " ".join(f"{r.wall:.2f}" for r in runs) if len(runs) > 1 else ""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10000, help="corpus size (default 10000)")
    parser.add_argument("--work", type=Path, help="folder for corpora and outputs (default: temp)")
    parser.add_argument("--skip-pelican", action="store_true", help="leave Pelican out")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of every scenario; medians are shown (default 3)",
    )
    args = parser.parse_args()
    print(f"command: python bench/export.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, N = {args.n}")
    runs: dict[str, list[Run]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="editorial-bench-") as temp:
        work = args.work or Path(temp)
        work.mkdir(parents=True, exist_ok=True)
        trash = Trash(work)
        compileall.compile_dir(REPO / "editorial", quiet=1)
        for flavor in ("editorial", "hugo") + (() if args.skip_pelican else ("pelican",)):
            corpus(flavor, args.n, work)  # written before any timing, so no run pays for it
        for _ in range(args.repeat):  # the tools take turns, so that they share the noise
            for key, run in editorial_cold(args.n, work, trash).items():
                runs[key].append(run)
            runs["hugo"].append(hugo(args.n, work, trash))
            if not args.skip_pelican:
                runs["pelican"].append(pelican(args.n, work, trash))
        runs.update(editorial_warm(args.n, work, args.repeat))
        trash.empty()
    report(runs)


def report(runs: dict[str, list[Run]]) -> None:
    ours = {key: median(found) for key, found in runs.items()}
    hugo_wall = ours["hugo"].wall
    print(f"medians of {len(runs['hugo'])} runs; 'runs' lists every run's wall time")
    rows = [
        ("(a) editorial ingest + export, cold", "a", True),
        ("    editorial build, cold", "a1", True),
        ("    hugo --buildDrafts", "hugo", False),
        ("    pelican", "pelican", False),
        ("(b) editorial export from the store", "b", True),
        ("(c) one file changed: ingest + export", "c", False),
        ("    one file changed: build", "c1", False),
        ("    one published piece changed: i + e", "cp", False),
        ("    one published piece changed: build", "cp1", False),
        ("(d) nothing changed: ingest + export", "d", False),
        ("    nothing changed: build", "d1", False),
    ]
    for label, key, against_hugo in rows:
        if key not in ours:
            continue
        ratio = f"   /hugo = {ours[key].wall / hugo_wall:.2f}" if against_hugo else ""
        print(f"{label:<42} {ours[key]}{ratio}{spread(runs[key])}")
    if "pelican" in ours:
        print(f"    editorial build / pelican = {ours['a1'].wall / ours['pelican'].wall:.2f}")


if __name__ == "__main__":
    main()
