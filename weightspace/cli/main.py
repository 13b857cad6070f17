"""Entry point: ``weightspace`` (see ``weightspace --help``).

Command modules import only typer and the standard library at module level; torch and open_clip are
imported inside commands, so ``weightspace --help`` stays fast.
"""

from __future__ import annotations

import os
import sys

import typer

from weightspace import __version__
from weightspace.errors import WeightspaceError, one_line

DEBUG_ENV = "WEIGHTSPACE_DEBUG"  # =1: tracebacks instead of one-line errors (same as --debug)

app = typer.Typer(
    name="weightspace",
    help="Weight-space methods for CLIP video learners: train, merge, evaluate, publish.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"weightspace {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
    debug: bool = typer.Option(False, "--debug", help=f"Show tracebacks instead of one-line errors (also {DEBUG_ENV}=1; "
                                                      "accepted after any command)."),
) -> None:
    """Weight-space methods for CLIP video learners: train, merge, evaluate, publish."""


# Each command module registers itself on ``app`` (one line each, keep sorted).
# (command registrations)
from weightspace.cli import demo as _demo  # noqa: E402
app.command("demo")(_demo.demo)
from weightspace.cli import eval as _eval  # noqa: E402
app.command("eval")(_eval.eval_command)
from weightspace.cli import inspect as _inspect  # noqa: E402
app.command("inspect")(_inspect.inspect)
from weightspace.cli import leaderboard as _leaderboard  # noqa: E402
app.command("leaderboard")(_leaderboard.leaderboard_command)
from weightspace.cli import merge as _merge  # noqa: E402
app.command("merge")(_merge.merge)
from weightspace.cli import push as _push  # noqa: E402
app.command("pull")(_push.pull)
app.command("push")(_push.push)
from weightspace.cli import soup as _soup  # noqa: E402
app.command("soup")(_soup.soup)
from weightspace.cli import synth as _synth  # noqa: E402
app.command("synth")(_synth.synth)
from weightspace.cli import train as _train  # noqa: E402
app.command("train")(_train.train)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; library errors become ``error: <one line>`` on stderr and exit code 1.

    ``--debug`` (anywhere before ``--``) or ``WEIGHTSPACE_DEBUG=1`` shows the traceback instead.
    """
    from weightspace.cli.common import configure_logging, err_console

    args = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get(DEBUG_ENV, "") not in ("", "0")
    if "--debug" in args[: args.index("--") if "--" in args else len(args)]:
        args.remove("--debug")
        debug = True
    configure_logging()
    try:
        app(args=args, prog_name="weightspace", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except KeyboardInterrupt:
        err_console.print("interrupted", highlight=False)
        return 130
    except (WeightspaceError, OSError) as exc:
        if debug:
            raise
        err_console.print(f"[red]error:[/red] {_message(exc)}", highlight=False, soft_wrap=True, markup=True)
        return 1
    return 0


def _message(exc: BaseException) -> str:
    """One bounded line; an OSError names its file (the library's own errors already do)."""
    from rich.markup import escape

    if isinstance(exc, OSError) and not isinstance(exc, WeightspaceError):
        where = f"{exc.filename}: " if exc.filename else ""
        text = f"{where}{exc.strerror or exc}"
    else:
        text = str(exc)
    return escape(one_line(text))


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
