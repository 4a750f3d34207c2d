"""The `editorial` console script (also `python -m editorial`).

It settles process-wide switches before the heavy imports, then hands over to `editorial.cli`:
- Pydantic looks for plugins by scanning the metadata of every installed distribution the first
  time it builds a model, which costs a command more start-up time than any of its own work
  when the command finds nothing to do. Editorial uses no Pydantic plugins; a user who wants
  theirs sets `PYDANTIC_DISABLE_PLUGINS` (an empty value turns none off).
- A command is a short batch job that builds tens of thousands of small, acyclic objects (rows,
  entries, pages), after imports that build tens of thousands more. Python's cycle collector
  would walk them again and again as they accumulate; it runs far less often in a command, from
  before the imports on (about 20 ms of a 0.33 s start-up), and `editorial.cli.main` keeps it
  off the imported modules for good."""

import gc
import os

BATCH_GC_THRESHOLDS = (100_000, 50, 100)  # Python's defaults: (700, 10, 10)


def main() -> None:
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    gc.set_threshold(*BATCH_GC_THRESHOLDS)
    from editorial.cli import main as run

    run()


if __name__ == "__main__":
    main()
