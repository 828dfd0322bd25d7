"""Command line entry point: one click group, each command in pyprof/commands/."""

import click

from pyprof.commands import record as _record
from pyprof.commands import top as _top


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pyprof")
def cli() -> None:
    """pyprof: record Python programs and read pprof profiles."""


cli.add_command(_record.record)
cli.add_command(_top.top)


def main() -> None:
    cli()
