"""pyprof web in headless Chromium: the page shows the profile's numbers,
the flame graph zooms and searches, the sample type and the filters change
every view and live in the address, and a bad regexp is a message.

Screenshots go to $PYPROF_ARTIFACTS/web or tests/artifacts/web.
"""

import urllib.parse

import pytest

from conftest import get_json
from conftest import row_fields
from conftest import top_text

pytestmark = pytest.mark.slow


def wait_ready(browser, timeout=30):
    """Until the page has drawn its view, or shown an error; the state."""
    from selenium.webdriver.support.ui import WebDriverWait

    def settled(driver):
        state = driver.find_element("tag name", "body").get_attribute("data-state")
        return state if state in ("ready", "error") else False

    return WebDriverWait(browser, timeout).until(settled)


def open_page(browser, server, **query):
    browser.get(server.url + "?" + urllib.parse.urlencode(query))
    return wait_ready(browser)


def table_rows(browser):
    """The top table as (flat, flat%, sum%, cum, cum%, name) per row."""
    script = """
        return Array.from(document.querySelectorAll('#top-table tbody tr')).map(
            tr => Array.from(tr.cells).map(td => td.textContent));"""
    rows = browser.execute_script(script)
    # The name cell ends with its "source" link.
    return [tuple(r[:5]) + (r[5].rsplit(" source", 1)[0].strip(),) for r in rows]


def query_of(browser):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(browser.current_url).query,
                                       keep_blank_values=True))


def shot(browser, artifacts, name):
    browser.save_screenshot(str(artifacts / f"{name}.png"))


def severe_errors(browser):
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


@pytest.mark.parametrize("name", ["recorded", "go_heap"])
def test_top_table_shows_pyprof_tops_rows(browser, serve, corpus, recorded, artifacts,
                                          name):
    path = recorded if name == "recorded" else corpus["go_heap"]
    header, rows = top_text(path)
    server = serve(path)
    assert open_page(browser, server, view="top") == "ready"
    assert table_rows(browser) == [row_fields(line) for line in rows]
    assert browser.find_element("id", "top-header").text.splitlines() == header
    shot(browser, artifacts, f"top-{name}")
    assert severe_errors(browser) == []


def test_top_table_sorts_by_a_column(browser, serve, recorded):
    open_page(browser, serve(recorded), view="top")
    cum_header = browser.find_element("css selector", "#top-table th:nth-child(4)")
    cum_header.click()

    def cums():
        return [int(tr.get_attribute("data-cum")) for tr in
                browser.find_elements("css selector", "#top-table tbody tr")]

    assert cums() == sorted(cums(), reverse=True) and len(cums()) > 2
    assert cum_header.get_attribute("aria-sort") == "descending"
    cum_header.click()
    assert cums() == sorted(cums())
    browser.find_element("css selector", "#top-table th:nth-child(6)").click()
    names = [tr.get_attribute("data-name") for tr in
             browser.find_elements("css selector", "#top-table tbody tr")]
    assert names == sorted(names)


def test_flame_click_zooms_and_search_highlights(browser, serve, recorded, artifacts):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.support.ui import WebDriverWait

    server = serve(recorded)
    _, rows = top_text(recorded)
    assert open_page(browser, server, view="flame") == "ready"
    flame = "pyprofWeb.flame()"
    total = int(browser.find_element("css selector", ".pf-total").get_attribute(
        "data-total"))
    assert total == int(browser.find_element("id", "total").get_attribute("data-total"))
    shot(browser, artifacts, "flame-recorded")

    # Click the middle of inner_spin's frame: the breadcrumb ends with it.
    box = browser.execute_script(f"return {flame}.locate('inner_spin')")
    assert box is not None
    canvas = browser.find_element("css selector", ".pf-canvas")
    size = canvas.size
    ActionChains(browser).move_to_element_with_offset(
        canvas, int(box["x"] + box["width"] / 2 - size["width"] / 2),
        int(box["y"] + box["height"] / 2 - size["height"] / 2)).click().perform()
    current = browser.find_element("css selector", ".pf-crumb.pf-current")
    assert current.text == "inner_spin"
    crumbs = [c.text for c in browser.find_elements("css selector", ".pf-crumb")]
    assert crumbs[0] == "all" and "outer_work" in crumbs
    assert browser.execute_script(f"return {flame}.focusName()") == "inner_spin"
    shot(browser, artifacts, "flame-zoomed")

    # Search: the share shown is inner_spin's cum in `pyprof top`.
    _, top = get_json(server.url + "api/top")
    [row] = [r for r in top["rows"] if r["name"] == "inner_spin"]
    assert (row["cum_text"], row["name"]) in {(r[3], r[5]) for r in map(row_fields, rows)}
    search = browser.find_element("css selector", ".pf-search")
    search.send_keys("^inner_spin$")
    match = browser.find_element("css selector", ".pf-match")
    WebDriverWait(browser, 10).until(lambda _: match.get_attribute("data-share"))
    share = float(match.get_attribute("data-share"))
    assert share == pytest.approx(row["cum"] / total, abs=1e-9)
    assert "%" in match.text
    shot(browser, artifacts, "flame-search")

    # The first breadcrumb zooms back out.
    browser.find_element("css selector", ".pf-crumb").click()
    assert browser.execute_script(f"return {flame}.focusName()") == "all"

    # The search is kept in the address: a reload shows the same match.
    assert query_of(browser)["search"] == "^inner_spin$"
    browser.refresh()
    assert wait_ready(browser) == "ready"
    match = browser.find_element("css selector", ".pf-match")
    assert float(match.get_attribute("data-share")) == pytest.approx(share, abs=1e-12)
    search = browser.find_element("css selector", ".pf-search")
    assert search.get_attribute("value") == "^inner_spin$"


def test_sample_type_switch_changes_the_totals(browser, serve, corpus, artifacts):
    from selenium.webdriver.support.ui import Select

    from pyprof import graph
    from pyprof import pprof

    prepared = graph.prepare(pprof.load(str(corpus["go_heap"])))
    types = [t for t, _ in prepared.sample_types]
    server = serve(corpus["go_heap"])
    assert open_page(browser, server, view="flame") == "ready"
    shown = {}
    for kind in ("inuse_objects", "alloc_space", "inuse_space"):
        Select(browser.find_element("id", "sample-type")).select_by_value(kind)
        assert wait_ready(browser) == "ready"
        expected = graph.report_total(prepared, types.index(kind))
        total = browser.find_element("id", "total")
        assert int(total.get_attribute("data-total")) == expected
        flame_total = browser.find_element("css selector", ".pf-total")
        assert int(flame_total.get_attribute("data-total")) == expected
        assert query_of(browser)["si"] == kind
        shown[kind] = total.text
    assert shown["inuse_objects"] != shown["inuse_space"]
    shot(browser, artifacts, "flame-go-heap-inuse_space")

    # The top tab keeps the type, and shows pyprof top's rows for it.
    browser.find_element("css selector", "#tabs button[data-view=top]").click()
    assert wait_ready(browser) == "ready"
    _, rows = top_text(corpus["go_heap"], "--sample-index=inuse_space")
    assert table_rows(browser) == [row_fields(line) for line in rows]
    assert query_of(browser) == {"view": "top", "si": "inuse_space", "g": "functions",
                                 "focus": "",
                                 "ignore": "", "hide": "", "show": "", "tagfocus": ""}


def test_focus_in_the_address_survives_reload(browser, serve, recorded, artifacts):
    server = serve(recorded)
    _, rows = top_text(recorded, "--focus=sum_squares")
    assert open_page(browser, server, view="top", focus="sum_squares") == "ready"
    expected = [row_fields(line) for line in rows]
    assert table_rows(browser) == expected
    assert {r[5] for r in expected} >= {"sum_squares", "outer_work"}
    assert "inner_spin" not in {r[5] for r in expected}
    browser.refresh()
    assert wait_ready(browser) == "ready"
    assert table_rows(browser) == expected
    assert browser.find_element("id", "filter-focus").get_attribute("value") == \
        "sum_squares"
    assert "focus=sum_squares" in browser.find_element("id", "active-filters").text

    # A filter typed into the page goes into the address too.
    field = browser.find_element("id", "filter-ignore")
    field.send_keys("sum_squares\n")
    assert wait_ready(browser) == "ready"
    assert query_of(browser)["ignore"] == "sum_squares"
    assert table_rows(browser) == []
    shot(browser, artifacts, "top-focus-ignore")


def test_bad_regexp_is_a_message_in_the_page(browser, serve, recorded, artifacts):
    assert open_page(browser, serve(recorded), view="top") == "ready"
    browser.find_element("id", "filter-hide").send_keys("a(b\n")
    assert wait_ready(browser) == "error"
    error = browser.find_element("id", "error")
    assert error.is_displayed()
    assert "parsing hide regexp" in browser.find_element("id", "error-message").text
    assert browser.find_element("id", "error-hint").text.startswith("hint: ")
    assert "Traceback" not in browser.page_source
    shot(browser, artifacts, "error-bad-regexp")


def test_source_peek_and_call_graph_views(browser, serve, recorded, artifacts):
    import shutil

    assert open_page(browser, serve(recorded), view="top") == "ready"
    row = browser.find_element("css selector", "#top-table tr[data-name=inner_spin]")
    row.find_element("css selector", "a.aside").click()
    assert wait_ready(browser) == "ready"
    assert query_of(browser)["view"] == "source"
    assert query_of(browser)["fn"] == "^inner_spin$"
    hot = browser.find_elements("css selector", "#source-host tr.hot td.code")
    assert any("thread_time" in td.text or "sum(i * i" in td.text for td in hot)
    shot(browser, artifacts, "source-recorded")

    browser.find_element("css selector", "#tabs button[data-view=peek]").click()
    assert wait_ready(browser) == "ready"
    self_row = browser.find_element("css selector", "#peek-host tr.self td.name")
    assert self_row.text == "inner_spin"
    callers = [td.text for td in browser.find_elements(
        "css selector", "#peek-host tr.caller td.name")]
    assert any("outer_work" in c for c in callers)

    browser.find_element("css selector", "#tabs button[data-view=graph]").click()
    state = wait_ready(browser)
    if shutil.which("dot"):
        assert state == "ready"
        text = browser.find_element("css selector", "#graph-host svg").text
        assert "inner_spin" in text
    else:
        assert state == "error"
        assert "graphviz" in browser.find_element("id", "error").text.lower()
    shot(browser, artifacts, "graph-recorded")


def test_granularity_selector_changes_the_rows(browser, serve, corpus):
    from selenium.webdriver.support.ui import Select

    assert open_page(browser, serve(corpus["sample_cpu"]), view="top") == "ready"
    Select(browser.find_element("id", "granularity")).select_by_value("lines")
    assert wait_ready(browser) == "ready"
    assert query_of(browser)["g"] == "lines"
    _, rows = top_text(corpus["sample_cpu"], "--lines")
    assert table_rows(browser) == [row_fields(line) for line in rows]
    assert all(":" in r[5] for r in table_rows(browser))


def test_notes_show_above_every_view(browser, serve, recorded, artifacts):
    server = serve(recorded)
    for view in ("top", "flame"):
        state = open_page(browser, server, view=view, tagfocus="thread=NoSuch")
        assert state == "ready"
        notes = browser.find_element("id", "notes")
        assert notes.is_displayed()
        assert "TagFocus expression matched no samples" in notes.text
    shot(browser, artifacts, "notes-flame")
    assert open_page(browser, server, view="top") == "ready"
    assert not browser.find_element("id", "notes").is_displayed()


def test_flame_search_takes_gos_case_flag(browser, serve, recorded):
    server = serve(recorded)
    state = open_page(browser, server, view="flame", search="(?i)^INNER_SPIN$")
    assert state == "ready"
    match = browser.find_element("css selector", ".pf-match")
    _, top = get_json(server.url + "api/top")
    [row] = [r for r in top["rows"] if r["name"] == "inner_spin"]
    total = int(browser.find_element("id", "total").get_attribute("data-total"))
    assert float(match.get_attribute("data-share")) == pytest.approx(row["cum"] / total,
                                                                     abs=1e-9)


def test_sum_percent_follows_the_sort(browser, serve, recorded):
    open_page(browser, serve(recorded), view="top")
    total = int(browser.find_element("id", "total").get_attribute("data-total"))
    browser.find_element("css selector", "#top-table th:nth-child(6)").click()
    rows = browser.find_elements("css selector", "#top-table tbody tr")
    running = 0
    for tr in rows:
        running += int(tr.get_attribute("data-flat"))
        assert tr.find_elements("tag name", "td")[2].text == \
            f"{running / total * 100:.2f}%"
