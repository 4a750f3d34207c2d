"""The command line: help everywhere, documented in the README, init, pieces, db upgrade."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from editorial.cli import app
from editorial.db import HEAD
from editorial.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"
runner = CliRunner()


def command_paths() -> list[list[str]]:
    """Every command and sub-command of the `editorial` CLI."""
    root = get_command(app)
    paths = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        if subcommands:
            paths += [[name, sub] for sub in subcommands]
        else:
            paths.append([name])
    return paths


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_command_has_help(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    summary = result.output.split("Usage:")[1].split("Options")[0]
    assert len(summary.strip().splitlines()) >= 2, f"no description for {path}"


@pytest.mark.parametrize("preset", [None, ""])
def test_the_console_script_runs_the_cli_and_leaves_a_users_plugin_setting_alone(
    preset: str | None,
) -> None:
    """`python -m editorial` is what the console script runs: it turns Pydantic's plugin scan
    off for its own start-up unless the user has set the variable (an empty value keeps it on)."""
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    if preset is not None:
        env["PYDANTIC_DISABLE_PLUGINS"] = preset
    probe = (
        "import os, sys, runpy; sys.argv = ['editorial', '--help'];\n"
        "try: runpy.run_module('editorial', run_name='__main__')\n"
        "except SystemExit as exit: print('exit', exit.code)\n"
        "print('setting', repr(os.environ.get('PYDANTIC_DISABLE_PLUGINS')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert "Usage:" in done.stdout and "exit 0" in done.stdout, done.stdout + done.stderr
    expected = "'__all__'" if preset is None else repr(preset)
    assert f"setting {expected}" in done.stdout


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_command_is_in_the_readme(path: list[str]) -> None:
    readme = README.read_text(encoding="utf-8")
    assert re.search(rf"`editorial {' '.join(path)}\b", readme), f"README lacks {path}"


def test_init_creates_a_site_that_ingests_cleanly(settings: Settings, tmp_path: Path) -> None:
    target = tmp_path / "new-site"
    assert runner.invoke(app, ["init", str(target)]).exit_code == 0
    assert (target / "taxonomy.yaml").is_file()
    assert len(list(target.rglob("*.md"))) == 2
    result = runner.invoke(app, ["ingest", str(target), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["added"] == 2
    again = runner.invoke(app, ["init", str(target)])
    assert again.exit_code == 1
    assert "is not empty" in again.output


def test_init_names_a_place_it_cannot_use(settings: Settings, tmp_path: Path) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("keep me")
    into_file = runner.invoke(app, ["init", str(file)])
    assert into_file.exit_code == 1
    assert f"{file} is a file; choose a new folder." in into_file.output
    below_file = runner.invoke(app, ["init", str(file / "site")])
    assert below_file.exit_code == 1
    assert f"Cannot create {file / 'site'}: Not a directory" in below_file.output
    assert file.read_text() == "keep me"


def test_text_with_brackets_is_printed_as_written(
    settings: Settings, content_dir: Path, tmp_path: Path
) -> None:
    """Rich read '[bold]' as a style and '[/webinar]' as a closing tag it could not match:
    the first vanished from the listing, the second stopped the command with a MarkupError."""
    due = date.today() + timedelta(days=10)
    title = "Costs [/webinar] and [bold]rates[/bold]"
    (content_dir / "brackets.md").write_text(
        f'---\ntitle: "{title}"\nstatus: planned\ndue: {due}\n---\nBody.\n', encoding="utf-8"
    )
    assert runner.invoke(app, ["ingest", "--quiet"]).exit_code == 0
    wide = {"COLUMNS": "200"}
    for command in (["pieces"], ["calendar"]):
        result = runner.invoke(app, command, env=wide)
        assert result.exit_code == 0, result.output
        assert title in result.output
    folder = tmp_path / "[/x]"
    created = runner.invoke(app, ["init", str(folder)], env=wide)
    assert created.exit_code == 0, created.output
    assert f"Created {folder}." in created.output


def test_pieces_lists_every_status_with_filters(settings: Settings) -> None:
    assert runner.invoke(app, ["ingest", "--quiet"]).exit_code == 0
    result = runner.invoke(app, ["pieces", "--format", "json"])
    body = json.loads(result.stdout)
    assert body["total"] == 6
    assert {"planned", "draft", "scheduled", "published"} <= {p["status"] for p in body["items"]}
    planned = runner.invoke(app, ["pieces", "--status", "planned", "--format", "json"])
    assert [p["slug"] for p in json.loads(planned.stdout)["items"]] == ["analytics-plan"]
    table = runner.invoke(app, ["pieces", "--audience", "finance"])
    assert "cloud-basics-finance" in table.output
    assert "analytics-plan" not in table.output


def test_pieces_takes_a_term_by_label_and_names_an_unknown_one(settings: Settings) -> None:
    """An unknown term listed "0 of 0", as if nothing were tagged with it."""
    assert runner.invoke(app, ["ingest", "--quiet"]).exit_code == 0
    by_label = runner.invoke(app, ["pieces", "--audience", "FINANCE", "--format", "json"])
    assert by_label.exit_code == 0, by_label.output
    assert "cloud-basics-finance" in {p["slug"] for p in json.loads(by_label.stdout)["items"]}
    typo = runner.invoke(app, ["pieces", "--audience", "finanse"])
    assert typo.exit_code == 1
    assert "unknown audience 'finanse'; did you mean 'finance'?" in typo.output


def test_pieces_refuses_a_status_that_does_not_exist(settings: Settings) -> None:
    """As /api/pieces does (422); it listed "0 of 0", as if no piece had that status."""
    result = runner.invoke(app, ["pieces", "--status", "publised"])
    assert result.exit_code == 2
    assert "--status" in result.output and "'publised' is not one of" in result.output


def test_db_upgrade_reports_the_revision(settings: Settings) -> None:
    first = runner.invoke(app, ["db", "upgrade"])
    assert first.exit_code == 0
    assert f"upgraded to revision {HEAD}" in first.output
    assert f"already at revision {HEAD}" in runner.invoke(app, ["db", "upgrade"]).output


def test_export_and_build_report_counts(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    built = runner.invoke(app, ["build", str(out), "--json"])
    assert built.exit_code == 0, built.output
    body = json.loads(built.stdout)
    assert body["ingest"]["added"] == 6
    assert body["export"]["written"] == body["export"]["files"] > 0
    again = runner.invoke(app, ["export", str(out), "--json"])
    report = json.loads(again.stdout)
    assert (report["written"], report["removed"]) == (0, 0)
    assert report["unchanged"] == report["files"]
    text = runner.invoke(app, ["build", str(out)])
    assert "unchanged 6" in text.output and "written 0" in text.output


@pytest.mark.parametrize("command", [["build"], ["ingest"], ["export"]])
def test_a_terminal_sees_a_progress_bar_unless_quiet(
    command: list[str], settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    from editorial import clitools

    if command == ["export"]:
        assert runner.invoke(app, ["ingest", "--quiet"]).exit_code == 0
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100)
    monkeypatch.setattr(clitools.console, "real", terminal, raising=False)
    out = [] if command == ["ingest"] else [str(tmp_path / "out")]
    label = "Ingesting" if command != ["export"] else "Exporting"
    shown = runner.invoke(app, [*command, *out])
    assert shown.exit_code == 0, shown.output
    assert label in screen.getvalue()
    if command == ["build"]:
        assert "Exporting" in screen.getvalue()
    screen.seek(0)
    screen.truncate()
    quiet = runner.invoke(app, [*command, *out, "--quiet"])
    assert quiet.exit_code == 0, quiet.output
    assert screen.getvalue() == ""


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("not a url", "not an absolute http(s) address"),
        ("javascript:alert(1)", "not an absolute http(s) address"),
        ("/insights/", "not an absolute http(s) address"),
        ("https://corp.example/our insights/", "percent-encode it"),
        ('https://corp.example/"x/', "percent-encode it"),
        ("https://corp.example/\u00efnsights/", "percent-encode the path"),
        ("https://editor:secret@corp.example/", "user name or password"),
        ("https://corp.example/insights/?utm=1", "query or fragment"),
        ("https://corp.example:port/", "not a valid address"),
    ],
)
def test_a_site_address_that_cannot_work_is_refused(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    address: str,
    problem: str,
) -> None:
    """Every link and canonical URL starts with the site's address: one that is not an
    absolute http(s) folder is refused, as an option and as a setting, before anything is
    written."""
    out = tmp_path / "out"
    for command in (["export", str(out)], ["build", str(out)]):
        given = runner.invoke(app, [*command, "--base-url", address])
        assert given.exit_code == 2, given.output
        assert "--base-url" in given.output and problem in given.output
    monkeypatch.setenv("EDITORIAL_BASE_URL", address)
    configured = runner.invoke(app, ["export", str(out)])
    assert configured.exit_code == 2, configured.output
    assert f"Setting EDITORIAL_BASE_URL: '{address}'" in configured.output
    assert problem in configured.output
    assert not out.exists()


@pytest.mark.parametrize(
    "address", ["http://127.0.0.1:8000/", "https://corp.example/insights", "https://corp.example"]
)
def test_a_working_site_address_is_taken(settings: Settings, tmp_path: Path, address: str) -> None:
    result = runner.invoke(app, ["build", str(tmp_path / "out"), "--base-url", address])
    assert result.exit_code == 0, result.output


def test_a_feedback_address_that_cannot_work_is_refused(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every exported piece page posts its rating and comment forms there."""
    monkeypatch.setenv("EDITORIAL_FEEDBACK_API_URL", "javascript:alert(1)")
    result = runner.invoke(app, ["build", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "Setting EDITORIAL_FEEDBACK_API_URL: 'javascript:alert(1)'" in result.output
    monkeypatch.setenv("EDITORIAL_FEEDBACK_API_URL", "https://feedback.corp.example")
    assert runner.invoke(app, ["build", str(tmp_path / "out"), "-q"]).exit_code == 0


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("PAGE_SIZE", "twenty", "Input should be a valid integer"),
        ("PAGE_SIZE", "0", "Input should be greater than or equal to 1"),
        ("PAGE_CACHE_SECONDS", "-1", "Input should be greater than or equal to 0"),
        ("RATING_PRIOR_MEAN", "7", "Input should be less than or equal to 5"),
        ("COMMENT_MODERATION", "some", "Input should be 'all', 'first' or 'none'"),
        ("SITE_TITLE", "Insights\x1b", "the site title contains a control character (U+001B)"),
        ("TIMEZONE", "Mars/Base", "unknown time zone 'Mars/Base'; give an IANA name such as"),
        ("TIMEZONE", "America", "unknown time zone 'America'; give an IANA name such as"),
        ("DATABASE_URL", "editorial.db", "not a database URL; give one such as sqlite:///"),
        ("TRUSTED_PROXIES", "10.0.0.5, proxy.internal", "'proxy.internal' is not an IP address"),
        ("FEEDBACK_ORIGINS", "https://a.example, b.example", "'b.example' is not an origin"),
        ("RATING_PRIOR_WEIGHT", "inf", "Input should be a finite number"),
        ("PAGE_CACHE_SECONDS", "Infinity", "Input should be a finite number"),
        ("IP_RETENTION_DAYS", "999999999", "Input should be less than or equal to 36500"),
    ],
)
def test_a_setting_that_cannot_be_used_is_named(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, name: str, value: str, problem: str
) -> None:
    monkeypatch.setenv(f"EDITORIAL_{name}", value)
    result = runner.invoke(app, ["pieces"])
    assert result.exit_code == 2
    assert f"Setting EDITORIAL_{name}: {problem}" in result.output
    assert "Traceback" not in result.output


def test_a_settings_file_that_is_not_utf8_is_named(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A .env saved in Latin-1 by an editor, say."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_bytes(b"EDITORIAL_SITE_TITLE=Caf\xe9 Insights\n")
    result = runner.invoke(app, ["pieces"])
    assert result.exit_code == 2, result.output
    assert f"Settings file {tmp_path / '.env'}: not UTF-8 text (byte 24)" in result.output


@pytest.mark.parametrize(
    ("url", "shown", "problem"),
    [
        ("sqlite:///{tmp}/missing/x.db", "sqlite:///{tmp}/missing/x.db", "unable to open"),
        ("nosuchdb://host/x", "nosuchdb://host/x", "Can't load plugin"),
        ("postgresql+psycopg://ed:sekrit@127.0.0.1:1/x", "postgresql+psycopg://ed:***@", "failed"),
    ],
)
def test_a_store_that_cannot_be_used_is_named(
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    shown: str,
    problem: str,
) -> None:
    """A wrong EDITORIAL_DATABASE_URL is named (without its password), not a traceback."""
    monkeypatch.setenv("EDITORIAL_DATABASE_URL", url.format(tmp=tmp_path))
    for command in (["pieces"], ["db", "upgrade"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1, result.output
        assert f"Cannot use the store at {shown.format(tmp=tmp_path)}" in result.output
        assert problem in result.output and "sekrit" not in result.output
        assert "Traceback" not in result.output


def test_a_store_from_a_newer_editorial_is_refused(settings: Settings, engine) -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0099'")
    for command in (["pieces"], ["db", "upgrade"]):
        result = runner.invoke(app, command)
        assert result.exit_code == 1, result.output
        assert "schema revision 0099, which this Editorial does not know" in result.output


@pytest.mark.parametrize(
    ("theme", "problem"),
    [("corprate", "no theme 'corprate' in"), ("../etc", "is not a theme name")],
)
def test_a_theme_that_is_not_there_is_refused(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, theme: str, problem: str
) -> None:
    """A mistyped EDITORIAL_THEME would otherwise export the default theme without a word."""
    (tmp_path / "themes" / "corporate").mkdir(parents=True)
    monkeypatch.setenv("EDITORIAL_THEMES_DIR", str(tmp_path / "themes"))
    monkeypatch.setenv("EDITORIAL_THEME", theme)
    result = runner.invoke(app, ["export", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "Setting EDITORIAL_THEME: " in result.output and problem in result.output
    assert not (tmp_path / "out").exists()
    monkeypatch.setenv("EDITORIAL_THEME", "corporate")
    assert runner.invoke(app, ["export", str(tmp_path / "out"), "-q"]).exit_code == 0


@pytest.mark.parametrize("command", [["ingest"], ["export", "out"]])
def test_a_negative_number_of_processes_is_refused(command: list[str], settings: Settings) -> None:
    result = runner.invoke(app, [*command, "--workers", "-1"])
    assert result.exit_code == 2
    assert "--workers" in result.output


@pytest.mark.parametrize("command", [["gaps"], ["pieces"]])
def test_a_negative_limit_is_refused(command: list[str], settings: Settings) -> None:
    """Python's slice took -1 as "all but the last"; PostgreSQL refuses a negative LIMIT."""
    result = runner.invoke(app, [*command, "--limit", "-1"])
    assert result.exit_code == 2, result.output
    assert "--limit" in result.output


@pytest.mark.parametrize("command", [["export", ""], ["build", " "], ["export", "markdown", ""]])
def test_an_empty_folder_name_is_refused(
    command: list[str], settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'editorial export "$OUT"' with OUT unset wrote the whole site into the current folder."""
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    result = runner.invoke(app, command)
    assert result.exit_code == 2, result.output
    assert "the folder is empty; name one (or '.' for this folder)" in result.output
    assert list(here.iterdir()) == []


def test_export_into_a_file_is_refused(settings: Settings, tmp_path: Path) -> None:
    assert runner.invoke(app, ["ingest", "--quiet"]).exit_code == 0
    file = tmp_path / "site"
    file.write_text("keep me")
    result = runner.invoke(app, ["export", str(file)])
    assert result.exit_code == 1
    assert f"Export failed: '{file}' is a file" in result.output
    assert file.read_text() == "keep me"


def test_export_into_an_unwritable_place_fails_clearly(settings: Settings, tmp_path: Path) -> None:
    assert runner.invoke(app, ["ingest", "--quiet"]).exit_code == 0
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = runner.invoke(app, ["export", str(blocker / "out")])
    assert result.exit_code == 1
    assert "Export failed:" in result.output


@pytest.mark.parametrize("taxonomy", [None, "audience: [\n"])
def test_serve_without_a_usable_taxonomy_does_not_start(
    settings: Settings, content_dir: Path, monkeypatch: pytest.MonkeyPatch, taxonomy: str | None
) -> None:
    """Every page reads the taxonomy: a server without one would answer 500 to every page."""
    import uvicorn

    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.append(app))
    declared = (content_dir / "taxonomy.yaml").read_text(encoding="utf-8")
    if taxonomy is None:
        monkeypatch.setenv("EDITORIAL_CONTENT_DIR", str(content_dir / "missing"))
    else:
        (content_dir / "taxonomy.yaml").write_text(taxonomy, encoding="utf-8")
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 1, result.output
    assert "Cannot serve: " in result.output and "taxonomy" in result.output
    assert "EDITORIAL_CONTENT_DIR" in result.output
    assert started == []
    monkeypatch.setenv("EDITORIAL_CONTENT_DIR", str(content_dir))
    (content_dir / "taxonomy.yaml").write_text(declared, encoding="utf-8")
    assert runner.invoke(app, ["serve"]).exit_code == 0
    assert len(started) == 1


def test_serve_collects_cycles_as_often_as_python_does(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batch commands let the cycle collector wait for a million new objects; a server runs for
    days, and a collection of a million objects would stall every request in flight."""
    import gc

    import uvicorn

    from editorial.__main__ import BATCH_GC_THRESHOLDS, SERVER_GC_THRESHOLDS

    seen: list[tuple[int, ...]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.append(gc.get_threshold()))
    before = gc.get_threshold()
    gc.set_threshold(*BATCH_GC_THRESHOLDS)
    try:
        result = runner.invoke(app, ["serve"])
    finally:
        gc.set_threshold(*before)
    assert result.exit_code == 0, result.output
    assert seen == [SERVER_GC_THRESHOLDS]
    assert SERVER_GC_THRESHOLDS[0] < BATCH_GC_THRESHOLDS[0] // 100


@pytest.mark.parametrize("port", ["0", "70000", "-1"])
def test_serve_refuses_a_port_outside_1_to_65535(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, port: str
) -> None:
    """70000 was taken modulo 65536: the server listened on 4464 and its links said 70000."""
    import uvicorn

    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: started.append(options))
    result = runner.invoke(app, ["serve", "--port", port])
    assert result.exit_code == 2, result.output
    assert "--port" in result.output
    assert started == []


@pytest.mark.parametrize(
    ("host", "address"),
    [("::1", "http://[::1]:8123/"), ("127.0.0.1", "http://127.0.0.1:8123/")],
)
def test_serve_links_to_its_own_address(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, host: str, address: str
) -> None:
    """Without EDITORIAL_BASE_URL, canonical links and feeds use the host and port served;
    an IPv6 host without brackets ('http://::1:8123/') made every one of them broken."""
    import uvicorn

    from app import main

    served: list[Settings] = []
    monkeypatch.setattr(main, "create_app", lambda configured: served.append(configured))
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: None)
    result = runner.invoke(app, ["serve", "--host", host, "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert served[0].base_url == address
    assert f"at {address}" in result.output


def test_a_command_not_on_a_terminal_asks_rich_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A job or a script reading the output gets no progress bar, and the command does not
    import rich to learn that; rich's own settings for treating a pipe as a terminal win."""
    from editorial.clitools import _TERMINAL_SETTINGS, _Console

    monkeypatch.setattr(sys, "stderr", io.StringIO())
    for name in _TERMINAL_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    plain = _Console()
    assert plain.is_terminal is False
    assert "real" not in plain.__dict__
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    forced = _Console()
    assert forced.is_terminal is True
    assert "real" in forced.__dict__
