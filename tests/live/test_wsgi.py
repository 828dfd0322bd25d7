"""pyprof.live.wsgi: the endpoints inside a WSGI application, under the
standard library's wsgiref server (tests/live/service_wsgi.py), and the
mountable application called directly."""

import io

import pytest

from live_helpers import Load
from live_helpers import cpu_by_function
from live_helpers import get
from live_helpers import start_service
from pyprof import pprof
from pyprof.live import wsgi


@pytest.fixture(scope="module")
def service():
    svc = start_service("service_wsgi.py")
    root = f"http://127.0.0.1:{svc.ports['port']}"
    yield root
    stderr = svc.close()
    assert "Traceback" not in stderr, stderr


def test_application_keeps_its_own_paths(service):
    status, _, body = get(service + "/work?ms=1")
    assert status == 200 and int(body) >= 0
    status, _, body = get(service + "/debug/pprofile")
    assert (status, body) == (404, b"the application's own 404\n")


def test_index_and_text_endpoints(service):
    status, headers, body = get(service + "/debug/pprof/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b">profile</a>" in body
    status, _, body = get(service + "/debug/pprof/threads?debug=2")
    assert status == 200
    assert b'"MainThread"' in body
    status, headers, body = get(service + "/debug/pprof/nope")
    assert (status, body) == (404, b"Unknown profile\n")
    assert headers["X-Go-Pprof"] == "1"
    status, _, _ = get(service + "/debug/pprof/profile?seconds=x")
    assert status == 400


def test_cpu_profile_through_the_wsgi_server_shows_the_busy_handler(service):
    with Load(service + "/work?ms=30"):
        status, headers, body = get(service + "/debug/pprof/profile?seconds=2")
    assert status == 200
    assert headers["Content-Disposition"] == 'attachment; filename="profile"'
    assert int(headers["Content-Length"]) == len(body)
    profile = pprof.load(body)
    cum, total = cpu_by_function(profile)
    assert total >= 10 * profile.period
    assert cum["busy_handler"] >= 0.5 * total, (cum["busy_handler"], total)


def call(app, path, query="", script_name="", method="GET"):
    """Call a WSGI application directly: (status line, headers, body)."""
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = status, dict(headers)

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
               "SCRIPT_NAME": script_name, "wsgi.input": io.BytesIO(b"")}
    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


def test_mounted_app_redirects_its_root_and_serves_below_it():
    app = wsgi.PprofApp(memory=False)
    status, headers, _ = call(app, "", script_name="/ops/pprof")
    assert status.startswith("301")
    assert headers["Location"] == "/ops/pprof/"
    status, headers, body = call(app, "/cmdline", script_name="/ops/pprof")
    assert status == "200 OK"
    assert body.split(b"\x00")[0]
    status, _, body = call(app, "/threads", "debug=1", script_name="/ops/pprof")
    assert status == "200 OK" and body.startswith(b"threads profile: total ")
    status, headers, body = call(app, "/threads", method="HEAD")
    assert status == "200 OK" and body == b"" and int(headers["Content-Length"]) > 0


def test_middleware_with_another_prefix_and_a_lower_limit():
    def inner(environ, start_response):
        start_response("200 OK", [])
        return [b"inner " + environ["PATH_INFO"].encode()]

    app = wsgi.middleware(inner, "/ops/pprof/", memory=False, max_seconds=5)
    assert call(app, "/debug/pprof/")[2] == b"inner /debug/pprof/"
    assert call(app, "/ops/pprofx")[2] == b"inner /ops/pprofx"
    status, _, body = call(app, "/ops/pprof/profile", "seconds=6")
    assert status.startswith("400") and b"limit of 5s" in body
    status, _, _ = call(app, "/ops/pprof/")
    assert status == "200 OK"
