"""``pyprof web [FILE|URL ...] [--port N] [--no-browser] [options]``: the
profile's views in a browser, served on 127.0.0.1.

The profile is read (or fetched) once; the page then asks the server for
each view (flame graph, top table, call graph, source, peek) with the
sample type and filters chosen on the page. pprof's view options given
here (--lines, --cum, --focus=RE, --sample-index=TYPE, ...) are the page's
starting point. The server runs until Ctrl-C.
"""

from __future__ import annotations

import os
import sys
import webbrowser
from typing import Tuple

import click

from pyprof.commands.top import DEFAULT_FILE
from pyprof.commands.top import parse_view_args
from pyprof.errors import UsageError

USAGE = "usage: pyprof web [FILE|URL ...] [--port N] [--no-browser] [options]"


@click.command(
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@click.option("--port", type=int, default=0, show_default=False,
              help="The port on 127.0.0.1 (default: a free one).")
@click.option("--no-browser", is_flag=True, help="Only print the page's address.")
@click.option("--help", "show_help", is_flag=True, help="Show this help.")
@click.pass_context
def web(ctx: click.Context, args: Tuple[str, ...], port: int, no_browser: bool,
        show_help: bool) -> None:
    """Serve FILE's views (profile.pb.gz by default) as a local web page.

    \b
    The page has the flame graph, the top table (sortable), the call graph
    (Graphviz's dot), the source view and peek, a sample-type selector and
    the filters focus, ignore, hide, show and tagfocus; the page's address
    keeps them, so a view can be bookmarked or reloaded.
    The server listens on 127.0.0.1 only and runs until Ctrl-C.
    pprof's view options (see `pyprof tree --help`) set where the page
    starts, e.g. --sample-index=alloc_space --focus=main --lines.
    """
    if show_help:
        click.echo(ctx.get_help())
        return
    if not 0 <= port <= 65535:
        raise UsageError(f"web: --port={port} is not a port number",
                         "give 1 to 65535, or leave --port out for a free one")
    settings, positional = parse_view_args("web", args, USAGE)
    settings["files"] = positional or [DEFAULT_FILE]

    from pyprof.commands import views
    from pyprof.web.server import make_server
    from pyprof.web.views import ProfileViews

    with views.gc_paused():
        prepared = views.load(settings)
    profile_views = ProfileViews(prepared, settings)
    # Filters and a sample type that cannot work fail here, once, rather
    # than on every view.
    from pyprof.graph import FILTER_NAMES

    if any(settings.get(name) for name in FILTER_NAMES + ("sample_index",)):
        profile_views.top({})

    server = make_server(profile_views, port)
    url = server.url
    click.echo(f"pyprof: serving {' '.join(settings['files'])} at {url} "
               "(Ctrl-C stops)")
    sys.stdout.flush()
    if not no_browser:
        _open_browser(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _open_browser(url: str) -> bool:
    """Open url in the user's browser when there is one to open.

    Never on CI, and on Linux only with a display (or $BROWSER set): a
    text-mode browser taking over the terminal would hide the server's
    output.
    """
    if os.environ.get("CI"):
        return False
    graphical = (sys.platform == "darwin" or os.environ.get("DISPLAY")
                 or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("BROWSER"))
    if not graphical:
        return False
    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False
