"""`editorial dump` and `editorial restore`: the whole store to and from one JSON Lines file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from editorial.clitools import fail, load_settings, open_store, sigterm_unwinds


def dump_command(
    file: Annotated[Path, typer.Argument(help="Where to write the dump (gzip when it ends .gz).")],
) -> None:
    """Write every table of the store to FILE as JSON Lines (see README "Backup and restore")."""
    from editorial.backup import BackupError, check_dump_path, dump, dump_file

    try:
        with sigterm_unwinds(), open_store(load_settings()) as engine:
            check_dump_path(file, engine)
            with dump_file(file) as out:  # a stopped dump removes its temporary file
                counts = dump(engine, out)
    except BackupError as error:
        fail(f"Dump failed: {error}")
        raise typer.Exit(1) from None
    except OSError as error:  # the file's, or its temporary neighbour's: name the file
        fail(f"Dump failed: {file}: {error.strerror or error}")
        raise typer.Exit(1) from None
    typer.echo(f"Dumped {sum(counts.values())} rows from {len(counts)} tables to {file}.")


def restore_command(
    file: Annotated[Path, typer.Argument(help="A dump written by 'editorial dump'.")],
) -> None:
    """Load a dump into an empty store, then upgrade the store to this version's schema."""
    from editorial.backup import BackupError, read_lines, restore

    try:
        with open_store(load_settings(), migrate=False) as engine:
            counts = restore(engine, read_lines(file))
    except BackupError as error:
        fail(f"Restore failed: {file}: {error}")
        raise typer.Exit(1) from None
    except OSError as error:
        fail(f"Restore failed: {error.filename or file}: {error.strerror}")
        raise typer.Exit(1) from None
    typer.echo(f"Restored {sum(counts.values())} rows into {len(counts)} tables from {file}.")
