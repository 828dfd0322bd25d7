"""Flame graphs of awkward profiles: stacks thousands of frames deep,
comparisons (negative values), thousands of frames narrower than a pixel,
no samples at all. Each is written as HTML and SVG by `pyprof flame` and
checked in the data, the SVG and (deep and comparison) in Chromium.
"""

import re
import xml.etree.ElementTree as ET

import pytest

from flame_support import pyprof
from pyprof import flame
from pyprof import pprof
from test_flame_browser import browser  # noqa: F401 (a fixture)
from test_flame_browser import embedded
from test_flame_browser import js
from test_flame_browser import open_page
from test_flame_data import synthetic

SVG = "{http://www.w3.org/2000/svg}"
DEPTH = 3000


def svg_frames(path):
    """(title's first line, fill, width) of every frame drawn in the SVG."""
    root = ET.parse(path).getroot()
    out = []
    for g in root.iter(SVG + "g"):
        title = g.find(SVG + "title").text
        rect = g.find(SVG + "rect")
        out.append((title.split("\n")[0], rect.get("fill"), float(rect.get("width")),
                    title))
    return out


def write(tmp_path, name, stacks):
    path = tmp_path / name
    pprof.dump(synthetic(stacks), path)
    return path


def test_a_stack_3000_frames_deep(tmp_path, browser):  # noqa: F811
    names = [f"f{i}" for i in range(DEPTH)]  # leaf first
    path = write(tmp_path, "deep.pb.gz", [(names, (1, 7)), (names[-10:], (1, 3))])
    html = tmp_path / "deep.html"
    done = pyprof("flame", "-o", html, path)
    assert done.returncode == 0, done.stderr
    assert f"wrote {html}: {DEPTH + 1} frames" in done.stderr
    payload = embedded(html)
    data = payload["datasets"][payload["selected"]]
    tree = data["tree"]
    assert len(tree["frame"]) == data["nodes"] == DEPTH + 1
    assert tree["cum"][0] == 10 and tree["cum"][-1] == 7
    assert tree["parent"][1:] == list(range(DEPTH))
    assert data["frames"][tree["frame"][-1]]["name"] == "f0"

    svg = tmp_path / "deep.svg"
    done = pyprof("flame", "-o", svg, path, "--sample_index=cpu")
    assert done.returncode == 0, done.stderr
    drawn = svg_frames(svg)
    assert len(drawn) == DEPTH + 1
    assert {name for name, *_ in drawn} == {"all"} | set(names)

    open_page(browser, html)
    assert js(browser, "return view.frameCount()") == DEPTH + 1
    assert js(browser, "return view.zoom('f0')")
    assert js(browser, "return view.focusName()") == "f0"
    assert js(browser, "return view.locate('f0')")["width"] > 100


def comparison(tmp_path):
    """cpu.pb.gz - base.pb.gz: main->a -50, main->b +30, main->c +5,
    main->d->e +20 and main->d->g -20 (d unchanged)."""
    base = write(tmp_path, "base.pb.gz",
                 [(["a", "main"], (5, 50)), (["b", "main"], (1, 10)),
                  (["e", "d", "main"], (1, 10)), (["g", "d", "main"], (1, 30))])
    new = write(tmp_path, "new.pb.gz",
                [(["b", "main"], (4, 40)), (["c", "main"], (1, 5)),
                 (["e", "d", "main"], (3, 30)), (["g", "d", "main"], (1, 10))])
    return base, new


def test_comparison_draws_every_changed_function(tmp_path, browser):  # noqa: F811
    base, new = comparison(tmp_path)
    expected = {"main": -15, "a": -50, "b": 30, "c": 5, "d": 0, "e": 20, "g": -20}
    svg = tmp_path / "diff.svg"
    done = pyprof("flame", f"--base={base}", "-sample_index=cpu", "-o", svg, new)
    assert done.returncode == 0, done.stderr
    drawn = {name: (fill, width, title) for name, fill, width, title in svg_frames(svg)}
    assert set(drawn) == {"all"} | set(expected)
    # Widths: |flat| summed below, so every callee fits inside its caller.
    unit = drawn["main"][1] / 125
    for name, size in (("a", 50), ("b", 30), ("c", 5), ("d", 40), ("e", 20),
                       ("g", 20)):
        assert abs(drawn[name][1] - size * unit) < 0.01, name
    for name, value in expected.items():
        fill, _, title = drawn[name]
        hue = re.fullmatch(r"hsl\((\d+),(\d+)%,(\d+)%\)", fill)
        if value > 0:
            assert hue.group(1) == "0", (name, fill)  # red: grew
            assert f"cum +{value}ns" in title, title
        elif value < 0:
            assert hue.group(1) == "120", (name, fill)  # green: shrank
            assert f"cum {value}ns" in title, title
        else:
            assert fill == "hsl(0,0%,85%)"

    html = tmp_path / "diff.html"
    done = pyprof("flame", f"--base={base}", "-sample_index=cpu", "-o", html, new)
    assert done.returncode == 0, done.stderr
    payload = embedded(html)
    data = payload["datasets"][payload["selected"]]
    root = flame.nested(data)
    assert root["size"] == 125 and root["cum"] == -15
    open_page(browser, html)
    for name in expected:
        box = js(browser, "return view.locate(arguments[0])", name)
        assert box and box["width"] > 10, name
    a, b = (js(browser, "return view.locate(arguments[0])", n) for n in "ab")
    assert a["width"] / b["width"] == pytest.approx(50 / 30, rel=0.02)


def test_svg_draws_frames_under_a_pixel_as_one_grey_block(tmp_path):
    stacks = [([f"leaf{i}", "mid", "main"], (1, 1)) for i in range(5000)]
    stacks.append((["hot", "main"], (1, 100_000)))
    path = write(tmp_path, "wide.pb.gz", stacks)
    svg = tmp_path / "wide.svg"
    done = pyprof("flame", "-o", svg, "--max-nodes=0", "-sample_index=cpu", path)
    assert done.returncode == 0, done.stderr
    drawn = svg_frames(svg)
    blocks = [d for d in drawn if d[0] == "5000 frames narrower than a pixel"]
    assert len(blocks) == 1
    _, fill, width, title = blocks[0]
    assert fill == "#bbbbbb" and "cum 5us" in title
    mid = next(d for d in drawn if d[0] == "mid")
    assert abs(width - mid[2]) < 0.01
    assert not any(d[0].startswith("leaf") for d in drawn)


def test_an_empty_profile_says_so(tmp_path):
    path = write(tmp_path, "empty.pb.gz", [])
    for name in ("empty.html", "empty.svg"):
        done = pyprof("flame", "-o", tmp_path / name, path)
        assert done.returncode == 0, done.stderr
        assert "The profile has no samples to draw." in done.stderr
    assert "The profile has no samples to draw." in \
        embedded(tmp_path / "empty.html")["datasets"][0]["notes"]


def test_search_takes_go_flags(tmp_path, browser):  # noqa: F811
    base, new = comparison(tmp_path)
    open_page(browser, _page(tmp_path, new))
    found = js(browser, "return view.search('(?i)^MAIN$')")
    assert found == {"value": 85, "share": 1}
    assert js(browser, "return view.search('(?P<n>^[ab]$)')")["value"] == 40
    js(browser, "view.search('(?U)a')")
    message = browser.find_element("css selector", ".pf-match").text
    assert message == "invalid regexp: flag U is not supported; use i, m or s"


def _page(tmp_path, profile):
    html = tmp_path / "search.html"
    done = pyprof("flame", "-o", html, "-sample_index=cpu", profile)
    assert done.returncode == 0, done.stderr
    return html
