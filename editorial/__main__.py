"""The `editorial` console script (also `python -m editorial`).

It settles process-wide switches before the heavy imports, then hands over to `editorial.cli`:
- Pydantic looks for plugins by scanning the metadata of every installed distribution the first
  time it builds a model, which costs a command more start-up time than any of its own work
  when the command finds nothing to do. Editorial uses no Pydantic plugins; a user who wants
  theirs sets `PYDANTIC_DISABLE_PLUGINS` (an empty value turns none off)."""

import os


def main() -> None:
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from editorial.cli import main as run

    run()


if __name__ == "__main__":
    main()
