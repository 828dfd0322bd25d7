"""`pyprof web`: a local page with a profile's views (flame graph, top
table, call graph, source, peek), served on 127.0.0.1 by pyprof.web.server
from the JSON views of pyprof.web.views; the page's scripts and styles are
in pyprof/web/static and load nothing from the network."""
