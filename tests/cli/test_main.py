"""The last-resort handler: any WeightspaceError/OSError is one bounded line, exit 1; --debug shows the traceback."""

import pytest

from weightspace.cli import main as main_mod
from weightspace.errors import ConfigError


def _raising(exc):
    def command():
        raise exc
    return command


@pytest.fixture
def boom(monkeypatch):
    def install(exc):
        demo = next(c for c in main_mod.app.registered_commands if c.name == "demo")
        monkeypatch.setattr(demo, "callback", _raising(exc))
    return install


@pytest.mark.parametrize("exc, expected", [
    (ConfigError("recipe.yaml: bad\n[red]value[/red] " + "x" * 5000), "error: recipe.yaml: bad [red]value[/red] x"),
    (PermissionError(13, "Permission denied", "/data/out"), "error: /data/out: Permission denied"),
    (IsADirectoryError(21, "Is a directory"), "error: Is a directory"),
])
def test_errors_are_one_bounded_line(boom, capsys, exc, expected):
    boom(exc)
    assert main_mod.main(["demo"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(expected) and len(err) < 500 and "Traceback" not in err


def test_debug_flag_and_env_show_the_traceback(boom, monkeypatch):
    boom(ConfigError("bad"))
    with pytest.raises(ConfigError):
        main_mod.main(["demo", "--debug"])
    monkeypatch.setenv(main_mod.DEBUG_ENV, "1")
    with pytest.raises(ConfigError):
        main_mod.main(["demo"])


def test_shell_completion_is_on(capsys):
    assert main_mod.main(["--help"]) == 0
    assert "--install-completion" in capsys.readouterr().out


def test_library_log_lines_are_printed_once(capsys):
    import logging

    root = logging.getLogger()
    extra = logging.StreamHandler()  # as a library calling logging.basicConfig() would add
    root.addHandler(extra)
    try:
        main_mod.main(["--version"])
        logging.getLogger("weightspace.progress").info("merge (ties): 1/1")
    finally:
        root.removeHandler(extra)
    assert capsys.readouterr().err.count("merge (ties): 1/1") == 1
