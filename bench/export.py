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
  (c) one changed file, then ingest + export
  (d) nothing changed, then ingest + export
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
import subprocess
import sys
import tempfile
import time
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
    """Run `command`; wall time, CPU of it and its children, and its largest process's RSS."""
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


def editorial(n: int, work: Path, trash: Trash) -> dict[str, Run]:
    content = corpus("editorial", n, work)
    store, out = work / f"store-{n}", work / f"site-{n}"
    trash.discard(store)
    trash.discard(out)
    store.mkdir()
    env = os.environ | {
        "EDITORIAL_DATABASE_URL": f"sqlite:///{store / 'editorial.db'}",
        "EDITORIAL_CONTENT_DIR": str(content),
        "EDITORIAL_THEMES_DIR": str(REPO / "themes"),
    }
    ingest = [str(BIN / "editorial"), "ingest", "--quiet"]
    export = [str(BIN / "editorial"), "export", str(out)]
    build = [str(BIN / "editorial"), "build", str(out), "--quiet"]
    results = {"a": timed(ingest, work, env) + timed(export, work, env)}
    trash.discard(out)
    results["b"] = timed(export, work, env)
    trash.discard(out)
    trash.discard(store)
    store.mkdir()
    results["a1"] = timed(build, work, env)
    victim = sorted(content.rglob("piece-*.md"))[n // 2]
    original = victim.read_text(encoding="utf-8")
    for key, commands in (("c", [ingest, export]), ("c1", [build])):
        victim.write_text(original + f"\nOne more sentence for run {key}.\n", encoding="utf-8")
        time.sleep(2.1)  # let the edit age past ingest's racy-timestamp window, as it would
        results[key] = sum(
            (timed(c, work, env) for c in commands[1:]), timed(commands[0], work, env)
        )
    victim.write_text(original, encoding="utf-8")
    time.sleep(2.1)
    timed(build, work, env)
    timed(build, work, env)
    results["d"] = timed(ingest, work, env) + timed(export, work, env)
    results["d1"] = timed(build, work, env)
    return results


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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10000, help="corpus size (default 10000)")
    parser.add_argument("--work", type=Path, help="folder for corpora and outputs (default: temp)")
    parser.add_argument("--skip-pelican", action="store_true", help="leave Pelican out")
    args = parser.parse_args()
    print(f"command: python bench/export.py {' '.join(sys.argv[1:])}".rstrip())
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, N = {args.n}")
    with tempfile.TemporaryDirectory(prefix="editorial-bench-") as temp:
        work = args.work or Path(temp)
        work.mkdir(parents=True, exist_ok=True)
        trash = Trash(work)
        compileall.compile_dir(REPO / "editorial", quiet=1)
        for flavor in ("editorial", "hugo") + (() if args.skip_pelican else ("pelican",)):
            corpus(flavor, args.n, work)  # written before any timing, so no run pays for it
        ours = editorial(args.n, work, trash)
        peer = {"hugo": hugo(args.n, work, trash)}
        if not args.skip_pelican:
            peer["pelican"] = pelican(args.n, work, trash)
        trash.empty()
    hugo_wall = peer["hugo"].wall
    print(
        f"(a) editorial ingest + export, cold        {ours['a']}   /hugo = {ours['a'].wall / hugo_wall:.2f}"
    )
    print(
        f"    editorial build, cold                  {ours['a1']}   /hugo = {ours['a1'].wall / hugo_wall:.2f}"
    )
    for name, run in peer.items():
        print(f"    {name:<38} {run}")
    if "pelican" in peer:
        print(f"    editorial build / pelican = {ours['a1'].wall / peer['pelican'].wall:.2f}")
    print(
        f"(b) editorial export from the store        {ours['b']}   /hugo = {ours['b'].wall / hugo_wall:.2f}"
    )
    print(f"(c) one file changed: ingest + export      {ours['c']}")
    print(f"    one file changed: build                {ours['c1']}")
    print(f"(d) nothing changed: ingest + export       {ours['d']}")
    print(f"    nothing changed: build                 {ours['d1']}")


if __name__ == "__main__":
    main()
