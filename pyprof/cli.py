"""Command line entry point: one click group, each command in pyprof/commands/."""

import os
import sys

import click

from pyprof.commands import dot as _dot
from pyprof.commands import flame as _flame
from pyprof.commands import record as _record
from pyprof.commands import shell as _shell
from pyprof.commands import top as _top
from pyprof.commands import views as _views
from pyprof.commands import web as _web
from pyprof.errors import PyprofError
from pyprof.errors import UsageError


@click.group(cls=_shell.OpenProfileGroup,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pyprof")
def cli() -> None:
    """pyprof: record Python programs and read pprof profiles."""


cli.add_command(_record.record)
cli.add_command(_top.top)
cli.add_command(_views.tree)
cli.add_command(_views.peek)
cli.add_command(_views.traces)
cli.add_command(_views.raw)
cli.add_command(_views.list_)
cli.add_command(_shell.shell)
cli.add_command(_dot.dot)
cli.add_command(_dot.svg)
cli.add_command(_dot.png)
cli.add_command(_web.web)
cli.add_command(_flame.flame)


def main() -> None:
    """Run the command line; expected failures become one line and a status."""
    try:
        cli.main(standalone_mode=False)
    except PyprofError as exc:
        if os.environ.get("PYPROF_DEBUG"):
            raise
        click.echo(exc.format(), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("pyprof: interrupted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        # One line and a hint, like pyprof's own errors, not click's usage block.
        command = exc.ctx.command_path if exc.ctx else "pyprof"
        message = exc.format_message()
        error = UsageError(
            f"{command}: {message[:1].lower()}{message[1:]}",
            hint=f"see '{command} --help'",
        )
        click.echo(error.format(), err=True)
        sys.exit(error.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
