"""The `editorial` console script (also `python -m editorial`).

It settles process-wide switches before the heavy imports, then hands over to `editorial.cli`:
- Pydantic looks for plugins by scanning the metadata of every installed distribution the first
  time it builds a model, which costs a command more start-up time than any of its own work
  when the command finds nothing to do. Editorial uses no Pydantic plugins; a user who wants
  theirs sets `PYDANTIC_DISABLE_PLUGINS` (an empty value turns none off).
- A command is a short batch job that builds hundreds of thousands of small, acyclic objects
  (rows, entries, specs, the manifest), after imports that build tens of thousands more, and
  keeps most of them to its end. Python's cycle collector would walk them again and again as
  they accumulate, with nothing to free. In a command it waits for a million new objects rather
  than 700: from before the imports on (about 20 ms of a 0.33 s start-up), and through a
  `build` after one published piece's edit at N = 10,000 (at the 100,000 of before, three
  collections took 40-55 ms of its 0.9 s). `editorial.cli.main` keeps it off the imported
  modules for good, and `serve`, which runs for days, goes back to Python's own thresholds."""

import gc
import os

BATCH_GC_THRESHOLDS = (1_000_000, 50, 100)
SERVER_GC_THRESHOLDS = (700, 10, 10)  # Python's defaults


def main() -> None:
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    gc.set_threshold(*BATCH_GC_THRESHOLDS)
    from editorial.cli import main as run

    run()


if __name__ == "__main__":
    main()
