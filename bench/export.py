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
"""

from __future__ import annotations

import argparse
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


def editorial(n: int, work: Path) -> dict[str, Run]:
    content = corpus("editorial", n, work)
    store, out = work / f"store-{n}", work / f"site-{n}"
    shutil.rmtree(store, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
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
    shutil.rmtree(out)
    results["b"] = timed(export, work, env)
    results["a1"] = fresh_build(build, store, out, work, env)
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


def fresh_build(build: list[str], store: Path, out: Path, work: Path, env: dict) -> Run:
    """`editorial build` from an empty store into an empty folder."""
    shutil.rmtree(out, ignore_errors=True)
    for file in store.iterdir():
        file.unlink()
    return timed(build, work, env)


def hugo(n: int, work: Path) -> Run:
    site = corpus("hugo", n, work)
    shutil.rmtree(site / "public", ignore_errors=True)
    shutil.rmtree(site / "resources", ignore_errors=True)
    return timed([str(BIN / "hugo"), "--buildDrafts", "--quiet"], site, dict(os.environ))


def pelican(n: int, work: Path) -> Run:
    site = corpus("pelican", n, work)
    shutil.rmtree(site / "output", ignore_errors=True)
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
        ours = editorial(args.n, work)
        peer = {"hugo": hugo(args.n, work)}
        if not args.skip_pelican:
            peer["pelican"] = pelican(args.n, work)
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
