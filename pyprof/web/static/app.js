/* pyprof web: the page's logic.
 *
 * The page's state (view, sample type, filters, function regexp) lives in
 * the address bar's query, so a view can be bookmarked, reloaded or shared:
 *   ?view=top&si=alloc_space&g=lines&focus=main&fn=%5Emain%24&search=json
 * Each view asks the server for JSON (/api/<view>?<the same query>) and
 * draws it with DOM calls; text from the profile only ever goes in as
 * textContent. The flame graph is drawn by PyprofFlame (flame.js).
 * body[data-state] is "loading", "ready" or "error", for tests and styles.
 */
(function () {
  "use strict";

  var VIEWS = ["flame", "top", "graph", "source", "peek"];
  var FILTERS = ["focus", "ignore", "hide", "show", "tagfocus"];
  var PARAMS = ["view", "si", "g"].concat(FILTERS, ["fn", "search"]);

  var meta = null;
  var state = {};
  var request = 0; // the newest request; older answers are dropped
  var flameChart = null;
  var topRows = [];
  var topSort = { key: "", descending: true };
  var summaryTotal = 0; // the total of the last summary: 100% for sum%

  function $(id) { return document.getElementById(id); }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    }
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // Go's regexp.QuoteMeta: the name as a literal regexp.
  function quoteMeta(text) {
    return text.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
  }

  function exactName(name) { return "^" + quoteMeta(name) + "$"; }

  // --- state <-> address bar ------------------------------------------------

  function readState() {
    var query = new URLSearchParams(window.location.search);
    var s = {};
    PARAMS.forEach(function (p) { s[p] = query.has(p) ? query.get(p) : null; });
    if (VIEWS.indexOf(s.view) < 0) s.view = "flame";
    if (s.si === null) s.si = meta.sample_types[meta.default_index].type;
    if (s.g === null) s.g = meta.granularity;
    FILTERS.forEach(function (f) {
      if (s[f] === null) s[f] = meta.filters[f] || "";
    });
    if (s.fn === null) s.fn = "";
    if (s.search === null) s.search = "";
    return s;
  }

  function queryString(s, withView) {
    var query = new URLSearchParams();
    PARAMS.forEach(function (p) {
      if ((p === "view" || p === "search") && !withView) return;
      if ((p === "fn" || p === "search") && !s[p]) return;
      // Filters are sent even when empty: an empty field clears a filter
      // given on the command line.
      if (s[p] !== null && s[p] !== undefined) query.set(p, s[p]);
    });
    return query.toString();
  }

  function go(changes, replace) {
    Object.keys(changes).forEach(function (k) { state[k] = changes[k]; });
    var url = window.location.pathname + "?" + queryString(state, true);
    if (replace) window.history.replaceState(null, "", url);
    else window.history.pushState(null, "", url);
    show();
  }

  // --- controls ---------------------------------------------------------------

  function fillControls() {
    var select = $("sample-type");
    select.textContent = "";
    meta.sample_types.forEach(function (t) {
      select.appendChild(el("option", { value: t.type }, t.type + " (" + t.unit + ")"));
    });
    var by = $("granularity");
    by.textContent = "";
    meta.granularities.forEach(function (g) { by.appendChild(el("option", { value: g }, g)); });
    $("files").textContent = meta.files.join(" ");
    document.title = "pyprof: " + meta.files.join(" ");
  }

  function syncControls() {
    $("sample-type").value = state.si;
    $("granularity").value = state.g;
    FILTERS.forEach(function (f) { $("filter-" + f).value = state[f]; });
    $("source-fn").value = state.fn;
    $("peek-fn").value = state.fn;
    Array.prototype.forEach.call(document.querySelectorAll("#tabs button"), function (b) {
      b.classList.toggle("active", b.getAttribute("data-view") === state.view);
    });
    VIEWS.forEach(function (v) { $("view-" + v).hidden = v !== state.view; });
  }

  function bindControls() {
    $("controls").addEventListener("submit", function (e) {
      e.preventDefault();
      var changes = { si: $("sample-type").value, g: $("granularity").value };
      FILTERS.forEach(function (f) { changes[f] = $("filter-" + f).value; });
      go(changes);
    });
    $("sample-type").addEventListener("change", function () {
      go({ si: $("sample-type").value });
    });
    $("granularity").addEventListener("change", function () {
      go({ g: $("granularity").value });
    });
    $("clear").addEventListener("click", function () {
      var changes = {};
      FILTERS.forEach(function (f) { changes[f] = ""; });
      go(changes);
    });
    Array.prototype.forEach.call(document.querySelectorAll("#tabs button"), function (b) {
      b.addEventListener("click", function () { go({ view: b.getAttribute("data-view") }); });
    });
    Array.prototype.forEach.call(document.querySelectorAll(".fn-form"), function (form) {
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        go({ fn: form.querySelector("input").value });
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll("#top-table th[data-sort]"), function (th) {
      th.addEventListener("click", function () {
        var key = th.getAttribute("data-sort");
        topSort = { key: key, descending: topSort.key === key ? !topSort.descending : key !== "name" };
        drawTopRows();
      });
    });
    $("graph-fit").addEventListener("click", function () {
      graphFit = !graphFit;
      scaleGraph();
    });
    window.addEventListener("popstate", function () {
      state = readState();
      show();
    });
  }

  // --- fetching ---------------------------------------------------------------

  function setStatus(kind, text) {
    document.body.setAttribute("data-state", kind);
    $("status").textContent = text || "";
  }

  function showError(body) {
    $("error-message").textContent = body.error || "the view could not be made";
    $("error-hint").textContent = body.hint ? "hint: " + body.hint : "";
    $("error").hidden = false;
    setStatus("error", "");
  }

  function getJSON(path) {
    return fetch(path, { headers: { Accept: "application/json" } }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw body;
        return body;
      }, function () {
        throw { error: "the server answered " + response.status + " " +
                  (response.statusText || "") + " without a view",
                hint: "pyprof web's own terminal may say more" };
      });
    }, function () {
      throw { error: "the server did not answer", hint: "is pyprof web still running?" };
    });
  }

  // What the view's report warns about ("Focus expression matched no
  // samples", "the profile has no samples"), above the view.
  function showNotes(notes) {
    $("notes").textContent = notes.join("\n");
    $("notes").hidden = !notes.length;
  }

  function show() {
    syncControls();
    $("error").hidden = true;
    showNotes([]);
    var view = state.view;
    if ((view === "source" || view === "peek") && !state.fn) {
      $(view + "-host").textContent = "";
      $(view + "-host").appendChild(el("p", { "class": "hint" },
        "Type a function name or regexp above, or click a name in the Top table."));
      loadSummaryOnly();
      return;
    }
    var mine = ++request;
    setStatus("loading", "loading…");
    getJSON("/api/" + view + "?" + queryString(state, false)).then(function (body) {
      if (mine !== request) return;
      drawSummary(body.summary);
      showNotes(body.notes || (body.flame && body.flame.notes) || []);
      DRAW[view](body);
      setStatus("ready", "");
    }, function (body) {
      if (mine !== request) return;
      clearView(view);
      showError(body);
    });
  }

  // Source and peek without a regexp still show the type and total.
  function loadSummaryOnly() {
    var mine = ++request;
    getJSON("/api/top?" + queryString(state, false)).then(function (body) {
      if (mine !== request) return;
      drawSummary(body.summary);
      setStatus("ready", "");
    }, function (body) {
      if (mine === request) showError(body);
    });
  }

  function clearView(view) {
    if (view === "top") {
      $("top-table").tBodies[0].textContent = "";
      $("top-header").textContent = "";
    }
    else if (view !== "flame") $(view + "-host").textContent = "";
  }

  function drawSummary(summary) {
    $("total-type").textContent = summary.type + " (" + summary.unit + ")";
    $("total").textContent = summary.total_text;
    $("total").setAttribute("data-total", String(summary.total));
    summaryTotal = summary.total;
    var active = Object.keys(summary.filters).map(function (k) {
      return k + "=" + summary.filters[k];
    });
    $("active-filters").textContent = active.length ? "Filters: " + active.join(" ") : "";
  }

  // --- views ------------------------------------------------------------------

  function nameLink(name, view) {
    var a = el("a", { href: "#", "class": "fn", title: "show " + view + " of " + name }, name);
    a.addEventListener("click", function (e) {
      e.preventDefault();
      go({ view: view, fn: exactName(name) });
    });
    return a;
  }

  function drawTop(body) {
    $("top-header").textContent = body.header.join("\n");
    topRows = body.rows.map(function (r, i) { r.order = i; return r; });
    drawTopRows();
  }

  function drawTopRows() {
    var rows = topRows.slice();
    var key = topSort.key;
    if (key) {
      var sign = topSort.descending ? -1 : 1;
      rows.sort(function (a, b) {
        var d = key === "name" ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
                               : a[key] - b[key];
        return d * sign || a.order - b.order;
      });
    }
    Array.prototype.forEach.call(document.querySelectorAll("#top-table th[data-sort]"), function (th) {
      var on = th.getAttribute("data-sort") === key;
      th.classList.toggle("sorted", on);
      th.setAttribute("aria-sort", on ? (topSort.descending ? "descending" : "ascending") : "none");
    });
    var tbody = $("top-table").tBodies[0];
    tbody.textContent = "";
    // sum% is the running total of flat% down the rows as shown: after a
    // re-sort it is summed again in the new order.
    var resorted = key && rows.some(function (r, i) { return r.order !== i; });
    var running = 0;
    rows.forEach(function (r) {
      var tr = el("tr", { "data-name": r.name, "data-flat": String(r.flat),
                          "data-cum": String(r.cum) });
      running += r.flat;
      var sum = resorted ? (summaryTotal ?
        (running / Math.abs(summaryTotal) * 100).toFixed(2) + "%" : "") : r.sum_pct;
      [r.flat_text, r.flat_pct, sum, r.cum_text, r.cum_pct].forEach(function (t) {
        tr.appendChild(el("td", { "class": "num" }, t));
      });
      var name = el("td", { "class": "name" });
      name.appendChild(nameLink(r.name, "peek"));
      if (r.inline) name.appendChild(el("span", { "class": "inline" }, " " + r.inline));
      name.appendChild(document.createTextNode(" "));
      var src = nameLink(r.name, "source");
      src.textContent = "source";
      src.className = "aside";
      name.appendChild(src);
      tr.appendChild(name);
      tbody.appendChild(tr);
    });
  }

  function drawFlame(body) {
    var host = $("flame-host");
    if (!window.PyprofFlame) {
      host.textContent = "";
      host.appendChild(el("p", { "class": "hint" },
        "The flame graph's script (flame.js) is not part of this pyprof build."));
      return;
    }
    if (flameChart && typeof flameChart.setData === "function") {
      flameChart.setData(body.flame);
      if (flameChart.search) flameChart.search(state.search);
    } else {
      host.textContent = "";
      flameChart = window.PyprofFlame.mount(host, body.flame, { search: state.search });
      // The search box's text goes into the address too (without a new
      // history entry per key).
      host.addEventListener("input", function (e) {
        if (!e.target.classList.contains("pf-search")) return;
        state.search = e.target.value;
        window.history.replaceState(null, "", window.location.pathname + "?" +
                                    queryString(state, true));
      });
    }
  }

  var graphFit = true;

  function drawGraph(body) {
    var host = $("graph-host");
    host.textContent = "";
    var doc = new DOMParser().parseFromString(body.svg, "image/svg+xml");
    var svg = doc.documentElement;
    if (!svg || svg.nodeName.toLowerCase() !== "svg") {
      showError({ error: "the call graph from Graphviz could not be read", hint: "" });
      return;
    }
    svg = document.importNode(svg, true);
    // Graphviz gives the size in points and a viewBox; the page scales it.
    var box = svg.viewBox && svg.viewBox.baseVal;
    var width = box && box.width ? box.width : parseFloat(svg.getAttribute("width")) || 800;
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    svg.setAttribute("data-width", String(width));
    host.appendChild(svg);
    scaleGraph();
    // A node's tooltip is "name (values)": a click peeks at that function.
    Array.prototype.forEach.call(svg.querySelectorAll("g.node"), function (g) {
      var a = g.querySelector("a");
      var tip = a && (a.getAttribute("xlink:title") || a.getAttribute("title"));
      if (!tip) return;
      var name = tip.replace(/ \([^()]*\)$/, "");
      g.classList.add("clickable");
      g.addEventListener("click", function (e) {
        e.preventDefault();
        go({ view: "peek", fn: exactName(name) });
      });
    });
  }

  function scaleGraph() {
    var svg = $("graph-host").querySelector("svg");
    if (!svg) return;
    var width = parseFloat(svg.getAttribute("data-width"));
    svg.style.width = graphFit ? "100%" : width + "px";
    svg.style.maxWidth = graphFit ? width * 1.5 + "px" : "none";
    $("graph-fit").textContent = graphFit ? "Actual size" : "Fit to width";
  }

  function drawSource(body) {
    var host = $("source-host");
    host.textContent = "";
    host.appendChild(el("p", { "class": "total" }, "Total: " + body.total_text));
    body.routines.forEach(function (r) {
      var box = el("div", { "class": "routine" });
      if (!r.file) {
        box.appendChild(el("h3", null, "No source information for " + r.function));
        host.appendChild(box);
        return;
      }
      box.appendChild(el("h3", null, r.function + " in " + r.file));
      box.appendChild(el("p", { "class": "routine-total" },
        r.flat_text + " flat, " + r.cum_text + " cum, " + r.cum_pct + " of total"));
      if (r.error) {
        box.appendChild(el("p", { "class": "error-inline" }, r.error));
      } else {
        var table = el("table", { "class": "source" });
        var head = el("tr");
        ["flat", "cum", "line", ""].forEach(function (t) { head.appendChild(el("th", null, t)); });
        table.appendChild(head);
        r.lines.forEach(function (ln) {
          var tr = el("tr", { "data-line": String(ln.number) });
          if (ln.cum) tr.className = "hot";
          tr.appendChild(el("td", { "class": "num" }, ln.flat_text));
          tr.appendChild(el("td", { "class": "num" }, ln.cum_text));
          tr.appendChild(el("td", { "class": "num lineno" }, ln.number));
          tr.appendChild(el("td", { "class": "code" }, ln.text));
          table.appendChild(tr);
        });
        box.appendChild(table);
      }
      host.appendChild(box);
    });
    if (body.more > 0) {
      host.appendChild(el("p", { "class": "hint" },
        body.more + " more functions match; narrow the regexp to see them."));
    }
  }

  function drawPeek(body) {
    var host = $("peek-host");
    host.textContent = "";
    body.blocks.forEach(function (b) {
      var table = el("table", { "class": "report peek" });
      var head = el("tr");
      ["flat", "flat%", "cum", "cum%", "calls", "calls%", "name"].forEach(function (t) {
        head.appendChild(el("th", null, t));
      });
      table.appendChild(head);
      function edgeRow(e, kind) {
        var tr = el("tr", { "class": kind });
        ["", "", "", "", e.text, e.pct].forEach(function (t) {
          tr.appendChild(el("td", { "class": "num" }, t));
        });
        var name = el("td", { "class": "name" });
        name.appendChild(document.createTextNode(kind === "caller" ? "↱ " : "↳ "));
        name.appendChild(nameLink(e.name, "peek"));
        if (e.inline) name.appendChild(el("span", { "class": "inline" }, " (inline)"));
        tr.appendChild(name);
        table.appendChild(tr);
      }
      b.callers.forEach(function (e) { edgeRow(e, "caller"); });
      var tr = el("tr", { "class": "self" });
      [b.flat_text, b.flat_pct, b.cum_text, b.cum_pct, "", ""].forEach(function (t) {
        tr.appendChild(el("td", { "class": "num" }, t));
      });
      var name = el("td", { "class": "name" });
      name.appendChild(nameLink(b.name, "source"));
      tr.appendChild(name);
      table.appendChild(tr);
      b.callees.forEach(function (e) { edgeRow(e, "callee"); });
      host.appendChild(table);
    });
  }

  var DRAW = { flame: drawFlame, top: drawTop, graph: drawGraph, source: drawSource,
               peek: drawPeek };

  // --- start ------------------------------------------------------------------

  // For the browser's console and tests: the flame graph's view object
  // (flame.js's API) and a copy of the page's state.
  window.pyprofWeb = {
    flame: function () { return flameChart; },
    state: function () { return JSON.parse(JSON.stringify(state)); }
  };

  getJSON("/api/meta").then(function (body) {
    meta = body;
    fillControls();
    bindControls();
    state = readState();
    go({}, true);
  }, function (body) {
    showError(body);
  });
})();
