"""Views of a profile as text, the way `go tool pprof` prints them.

Each view takes a pyprof.graph.Prepared profile and options and returns
its lines or rows; nothing here prints. pyprof.commands and pyprof.render
decide where the text goes.
"""
