/*
 * flame.js: pyprof's interactive flame graph. Plain JavaScript (ES5 and a
 * little more), no dependencies, no build step, no network.
 *
 * API
 *   var view = PyprofFlame.mount(element, data, options)
 *       element  an empty block element; the graph takes its width
 *       data     a tree from pyprof.flame.flame_data (format "pyprof-flame",
 *                version 2): frames, tree {frame, parent, flat, cum, folds,
 *                size} (flat arrays, a parent before its children), total,
 *                unit, sample_type
 *       options  (all optional)
 *                orientation  "icicle" (root at the top, the default) or "flame"
 *                colourBy     "package" (default) or "file"
 *                rowHeight    pixels per stack level (18)
 *                search       a regexp to highlight from the start
 *                extra        an element put at the end of the toolbar
 *   view.setData(data)        show another tree (another sample type, other
 *                             filters); the zoom goes back to the root and the
 *                             search is applied again
 *   view.zoom(name)           zoom to the widest frame of that name ("" or
 *                             "all": the root); false when there is none
 *   view.search(text)         highlight the frames whose name matches the
 *                             regexp text ("" clears): a JavaScript regexp,
 *                             Go's flag prefix (?i) (?s) (?m) and (?P<name>
 *                             accepted; returns {value, share}
 *                             of the matches (each counted once, not again
 *                             inside another match), or null
 *   view.setOrientation(o)    "icicle" or "flame"
 *   view.locate(name)         {x, y, width, height} of the widest drawn frame
 *                             of that name, in CSS pixels from the canvas's
 *                             top left corner, or null
 *   view.focusName()          the name of the frame zoomed to ("all": none)
 *   view.frameCount()         the frames in the tree, root included
 *   view.redraw()
 *   view.destroy()
 *   PyprofFlame.formatValue(value, unit)   "1.98s", "12.50MB", "340"
 *   PyprofFlame.palette(keys)  {key: colour}, as pyprof.flame.palette
 *   PyprofFlame.goRegExp(text)  a RegExp from a Go (RE2) regexp, or throws
 *   PyprofFlame.mountPage(element, payload)  start of pyprof's self-contained
 *       page: payload {datasets: [data, ...], selected, orientation}, a
 *       sample type selector when there are several datasets
 *
 * Click a frame to zoom into it, click a frame above it or a breadcrumb to
 * zoom out, Escape to go back to the root. Frames narrower than a pixel are
 * drawn together as one grey block per parent, which is not descended into.
 * In a comparison (data with negative values, tree.size given) a frame's
 * width is tree.size (|flat| summed over its subtree, so that growth and
 * reduction below a caller both fit in it) and its colour says the sign of
 * its cum: red grew, green shrank.
 */
(function (global) {
  "use strict";

  var NARROW = 1; // px: frames narrower than this are aggregated
  var MIN_LABEL = 24; // px: narrower frames get no label

  // Units as pprof scales them: [name, aliases, factor].
  var UNIT_FAMILIES = [
    [["B", ["b", "byte"], 1], ["kB", ["kb", "kbyte", "kilobyte"], 1024],
     ["MB", ["mb", "mbyte", "megabyte"], 1048576],
     ["GB", ["gb", "gbyte", "gigabyte"], 1073741824],
     ["TB", ["tb", "tbyte", "terabyte"], 1099511627776],
     ["PB", ["pb", "pbyte", "petabyte"], 1125899906842624]],
    [["ns", ["ns", "nanosecond"], 1], ["us", ["\u03bcs", "us", "microsecond"], 1e3],
     ["ms", ["ms", "millisecond"], 1e6], ["s", ["s", "sec", "second"], 1e9],
     ["hrs", ["hour", "hr"], 3.6e12]],
    [["n*GCU", ["nanogcu"], 1e-9], ["u*GCU", ["microgcu"], 1e-6],
     ["m*GCU", ["milligcu"], 1e-3], ["GCU", ["gcu"], 1], ["k*GCU", ["kilogcu"], 1e3],
     ["M*GCU", ["megagcu"], 1e6], ["G*GCU", ["gigagcu"], 1e9],
     ["T*GCU", ["teragcu"], 1e12], ["P*GCU", ["petagcu"], 1e15]]
  ];
  var DEFAULT_UNIT = [0, 3, 3]; // per family, when a value is under 1 of all: B, s, GCU

  function sniffUnit(family, unit) {
    var name = String(unit || "").toLowerCase();
    if (name.length > 2 && name.charAt(name.length - 1) === "s") {
      name = name.slice(0, -1);
    }
    for (var i = 0; i < family.length; i++) {
      if (family[i][1].indexOf(name) >= 0) return family[i];
    }
    return null;
  }

  // value in unit, scaled to the largest unit of its family it is at least
  // 1 of, two decimals with ".00" dropped (pyprof.report.measure.label).
  function formatValue(value, unit) {
    var negative = value < 0;
    var v = Math.abs(value);
    var text = null;
    for (var f = 0; f < UNIT_FAMILIES.length && text === null; f++) {
      var family = UNIT_FAMILIES[f];
      var source = sniffUnit(family, unit);
      if (!source) continue;
      var base = v * source[2];
      var best = null;
      for (var i = 0; i < family.length; i++) {
        if (base / family[i][2] >= 1) best = family[i];
      }
      if (!best) best = family[DEFAULT_UNIT[f]];
      text = fixed(base / best[2]) + best[0];
      if (text === "0" + best[0]) text = "0";
    }
    if (text === null) text = fixed(v); // counts and unknown units: no suffix
    return negative && text !== "0" ? "-" + text : text;
  }

  function fixed(x) {
    var s = x.toFixed(2);
    return s.slice(-3) === ".00" ? s.slice(0, -3) : s;
  }

  // part's share of whole; negative for a reduction in a comparison.
  function percent(part, whole) {
    if (!whole) return "0%";
    return (part / Math.abs(whole) * 100).toFixed(2) + "%";
  }

  // 32-bit FNV-1a over UTF-16 code units (pyprof.flame.fnv1a).
  function fnv1a(text) {
    var h = 0x811c9dc5;
    for (var i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h >>> 0;
  }

  var GOLDEN_ANGLE = 137.50776405003785;

  // A light colour per package or file name of one profile, as pyprof's
  // SVG (pyprof.flame.palette): the names sorted, each a golden angle round
  // the hue circle from the one before, saturation and lightness from a
  // hash. Black labels stay readable on every one.
  function palette(keys) {
    var seen = {};
    var names = [];
    keys.forEach(function (k) {
      if (!Object.prototype.hasOwnProperty.call(seen, k)) { seen[k] = 1; names.push(k); }
    });
    names.sort();
    var out = {};
    names.forEach(function (k, rank) {
      var h = fnv1a(k);
      out[k] = "hsl(" + (Math.floor(rank * GOLDEN_ANGLE) % 360) + "," +
        (50 + (h >>> 9) % 25) + "%," + (64 + (h >>> 17) % 14) + "%)";
    });
    return out;
  }

  // Growth in red, reduction in green, paler when smaller
  // (pyprof.flame.diff_colour).
  function diffColour(value, largest) {
    if (!value || !largest) return "hsl(0,0%,85%)";
    var strength = Math.min(1, Math.abs(value) / largest);
    return "hsl(" + (value > 0 ? 0 : 120) + ",70%," +
      Math.floor(88 - 33 * strength) + "%)";
  }

  // A RegExp from a Go (RE2) regexp as pprof's options take them: a
  // leading flag group such as (?i) or (?is) becomes JavaScript flags,
  // (?P<name> becomes (?<name>. Throws a SyntaxError when it is not valid.
  function goRegExp(text) {
    var flags = "";
    var lead = /^\(\?([a-zA-Z]+)\)/.exec(text);
    if (lead) {
      var given = lead[1];
      for (var i = 0; i < given.length; i++) {
        var f = given.charAt(i);
        if ("ims".indexOf(f) < 0) {
          throw new SyntaxError("flag " + f + " is not supported; use i, m or s");
        }
        if (flags.indexOf(f) < 0) flags += f;
      }
      text = text.slice(lead[0].length);
    }
    return new RegExp(text.replace(/\(\?P</g, "(?<"), flags);
  }

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // The data's flat tree as nodes with parents, children and depths.
  function buildTree(data) {
    var frames = data.frames || [];
    var t = data.tree;
    var sizes = t.size || null;
    var folds = {};
    (t.folds || []).forEach(function (f) { folds[f[0]] = f[1]; });
    var nodes = new Array(t.frame.length);
    var maxDepth = 0;
    for (var i = 0; i < t.frame.length; i++) {
      var frame = t.frame[i] >= 0 ? frames[t.frame[i]] : null;
      var parent = i ? nodes[t.parent[i]] : null;
      var folded = folds[i] || 0;
      var node = {
        name: frame ? frame.name : (folded ? "[" + folded + " smaller frames]" :
                                    (i ? "?" : "all")),
        file: frame ? frame.file : "",
        pkg: frame ? frame.package : "",
        flat: t.flat[i], cum: t.cum[i],
        size: sizes ? sizes[i] : Math.abs(t.cum[i]),
        parent: parent, depth: parent ? parent.depth + 1 : 0,
        kids: [], folded: folded, matched: false
      };
      nodes[i] = node;
      if (parent) parent.kids.push(node);
      if (node.depth > maxDepth) maxDepth = node.depth;
    }
    var largest = 0;
    for (var k = 1; k < nodes.length; k++) {
      largest = Math.max(largest, Math.abs(nodes[k].cum));
    }
    return {root: nodes[0], count: nodes.length, maxDepth: maxDepth,
            diff: !!sizes, largest: largest,
            colours: {package: palette(frames.map(function (f) {
              return f.package || f.file || f.name; })),
                      file: palette(frames.map(function (f) {
                        return f.file || f.name; }))}};
  }

  function mount(element, data, options) {
    options = options || {};
    var state = {
      data: null, tree: null, focus: null,
      orientation: options.orientation === "flame" ? "flame" : "icicle",
      colourBy: options.colourBy === "file" ? "file" : "package",
      rowHeight: options.rowHeight || 18,
      regexp: null, searchText: "",
      rects: [], rows: [], rowCount: 0, width: 0
    };

    element.classList.add("pyprof-flame");
    element.textContent = "";
    var toolbar = el("div", "pf-toolbar");
    var title = el("span", "pf-title");
    var total = el("span", "pf-total");
    var search = el("input", "pf-search");
    search.type = "search";
    search.placeholder = "search (regexp)";
    search.setAttribute("aria-label", "search frames by regexp");
    var match = el("span", "pf-match");
    var orient = el("button", "pf-orientation");
    orient.type = "button";
    var colourBy = el("select", "pf-colour");
    colourBy.setAttribute("aria-label", "colour frames by");
    [["package", "colour by package"], ["file", "colour by file"]].forEach(function (o) {
      var opt = el("option", "", o[1]);
      opt.value = o[0];
      colourBy.appendChild(opt);
    });
    colourBy.value = state.colourBy;
    var reset = el("button", "pf-reset", "reset zoom");
    reset.type = "button";
    toolbar.appendChild(title);
    toolbar.appendChild(total);
    toolbar.appendChild(search);
    toolbar.appendChild(match);
    toolbar.appendChild(reset);
    toolbar.appendChild(orient);
    toolbar.appendChild(colourBy);
    if (options.extra) toolbar.appendChild(options.extra);
    var crumbs = el("nav", "pf-crumbs");
    crumbs.setAttribute("aria-label", "zoom path");
    var box = el("div", "pf-canvas-box");
    var canvas = el("canvas", "pf-canvas");
    var tip = el("div", "pf-tip");
    tip.hidden = true;
    box.appendChild(canvas);
    box.appendChild(tip);
    var notes = el("div", "pf-notes");
    element.appendChild(toolbar);
    element.appendChild(crumbs);
    element.appendChild(box);
    element.appendChild(notes);
    var ctx = canvas.getContext("2d");

    function setData(newData) {
      if (!newData || newData.format !== "pyprof-flame") {
        throw new Error("PyprofFlame: not pyprof-flame data");
      }
      state.data = newData;
      state.tree = buildTree(newData);
      state.focus = state.tree.root;
      title.textContent = (newData.title ? newData.title + ": " : "") +
        (newData.sample_type || "value");
      total.textContent = "total " + formatValue(newData.total, newData.unit);
      total.setAttribute("data-total", String(newData.total));
      var lines = [];
      if (newData.filters && newData.filters.length) {
        lines.push("Active filters: " + newData.filters.join(", "));
      }
      (newData.notes || []).forEach(function (n) { lines.push(n); });
      if (newData.folded && newData.folded.nodes) {
        lines.push(newData.folded.nodes + " frames of " +
          formatValue(newData.folded.below, newData.unit) +
          " or less are folded into grey blocks to keep the graph fast.");
      }
      lines.push(state.tree.count + " frames, granularity: " +
        (newData.granularity || "functions") + ".");
      notes.textContent = lines.join("\n");
      applySearch(state.searchText);
      draw();
    }

    function applySearch(text) {
      state.searchText = text || "";
      state.regexp = null;
      match.classList.remove("pf-error");
      var nodes = [state.tree.root];
      while (nodes.length) {
        var n = nodes.pop();
        n.matched = false;
        for (var i = 0; i < n.kids.length; i++) nodes.push(n.kids[i]);
      }
      if (!state.searchText) {
        match.textContent = "";
        return null;
      }
      try {
        state.regexp = goRegExp(state.searchText);
      } catch (e) {
        match.textContent = "invalid regexp: " + e.message;
        match.classList.add("pf-error");
        return null;
      }
      // Each match counts once: not again inside a matching ancestor.
      var value = 0;
      var work = [[state.tree.root, false]];
      while (work.length) {
        var item = work.pop();
        var node = item[0];
        var inside = item[1];
        node.matched = node !== state.tree.root && !node.folded &&
          state.regexp.test(node.name);
        if (node.matched && !inside) value += node.cum;
        for (var k = 0; k < node.kids.length; k++) {
          work.push([node.kids[k], inside || node.matched]);
        }
      }
      var share = state.data.total ? Math.abs(value) / Math.abs(state.data.total) : 0;
      match.textContent = "matched " + formatValue(value, state.data.unit) + ", " +
        percent(value, state.data.total) + " of total";
      match.setAttribute("data-share", String(share));
      return {value: value, share: share};
    }

    // Rectangles of the frames shown: the focus's ancestors and the focus
    // at full width, its descendants in proportion, runs of frames under
    // a pixel merged into one block.
    function layout() {
      var width = Math.max(element.clientWidth || 0, 200);
      var rects = [];
      var focus = state.focus;
      var chain = [];
      for (var a = focus; a; a = a.parent) chain.unshift(a);
      chain.forEach(function (n) {
        rects.push({node: n, x: 0, w: width, row: n.depth, above: n !== focus});
      });
      // Widths are in proportion to size: cum, or in a comparison |flat|
      // summed over the subtree (see the top of this file).
      var extent = focus.size;
      var scale = extent ? width / extent : 0;
      var work = [[focus, 0, width]];
      var maxRow = focus.depth;
      while (work.length) {
        var item = work.pop();
        var node = item[0];
        var x = item[1];
        var end = x + item[2];
        var row = node.depth + 1;
        var run = null;
        for (var i = 0; i < node.kids.length; i++) {
          var kid = node.kids[i];
          var w = Math.min(kid.size * scale, end - x);
          if (w <= 0) continue;
          if (w < NARROW) {
            if (!run) run = {node: null, x: x, w: 0, row: row, count: 0, value: 0};
            run.w += w;
            run.count++;
            run.value += kid.cum;
          } else {
            if (run) { rects.push(run); run = null; }
            rects.push({node: kid, x: x, w: w, row: row});
            if (row > maxRow) maxRow = row;
            if (kid.kids.length) work.push([kid, x, w]);
          }
          x += w;
        }
        if (run) {
          rects.push(run);
          if (row > maxRow) maxRow = row;
        }
      }
      state.rects = rects;
      state.rowCount = maxRow + 1;
      state.width = width;
      var rows = [];
      for (var r = 0; r < state.rowCount; r++) rows.push([]);
      rects.forEach(function (rect) { rows[rect.row].push(rect); });
      state.rows = rows;
    }

    function rowTop(row) {
      var h = state.rowHeight;
      return state.orientation === "icicle" ? row * h : (state.rowCount - 1 - row) * h;
    }

    function fillOf(rect) {
      if (!rect.node) return "#bbbbbb";
      var n = rect.node;
      if (n.folded) return "#c8c8c8";
      if (n === state.tree.root) return "#e0a060";
      if (state.regexp) return n.matched ? "#d63384" : "#e4ddd4";
      if (state.tree.diff) return diffColour(n.cum, state.tree.largest);
      if (state.colourBy === "file") return state.tree.colours.file[n.file || n.name];
      return state.tree.colours.package[n.pkg || n.file || n.name];
    }

    function labelOf(rect) {
      if (!rect.node) return "[" + rect.count + " narrow frames]";
      var n = rect.node;
      if (n === state.tree.root) {
        return "all: " + formatValue(n.cum, state.data.unit) + " (" +
          percent(n.cum, state.data.total) + ")";
      }
      return n.name;
    }

    // text, or its start and an ellipsis, in room pixels: a guess from the
    // average character width, checked by measuring.
    function fitText(text, room, charWidth) {
      if (room < MIN_LABEL) return "";
      var n = Math.min(text.length, Math.floor(room / charWidth));
      if (n === text.length && ctx.measureText(text).width <= room) return text;
      while (n >= 3) {
        var cut = text.slice(0, n - 1) + "\u2026";
        if (ctx.measureText(cut).width <= room) return cut;
        n -= Math.max(1, Math.ceil(n / 10));
      }
      return "";
    }

    function draw() {
      if (!state.tree) return;
      layout();
      var ratio = global.devicePixelRatio || 1;
      var height = state.rowCount * state.rowHeight;
      canvas.style.width = state.width + "px";
      canvas.style.height = height + "px";
      canvas.width = Math.round(state.width * ratio);
      canvas.height = Math.round(height * ratio);
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, state.width, height);
      ctx.font = "12px sans-serif";
      ctx.textBaseline = "middle";
      var charWidth = ctx.measureText("abcdefghijklmnopqrstuvwxyz").width / 26 || 7;
      var h = state.rowHeight;
      for (var i = 0; i < state.rects.length; i++) {
        var r = state.rects[i];
        var y = rowTop(r.row);
        ctx.globalAlpha = r.above ? 0.55 : 1;
        ctx.fillStyle = fillOf(r);
        ctx.fillRect(r.x, y, Math.max(r.w - 0.5, 0.5), h - 1);
        var text = fitText(labelOf(r), r.w - 6, charWidth);
        if (text) {
          ctx.fillStyle = r.node && r.node.matched ? "#ffffff" : "#000000";
          ctx.fillText(text, r.x + 3, y + h / 2);
        }
      }
      ctx.globalAlpha = 1;
      drawCrumbs();
    }

    function drawCrumbs() {
      crumbs.textContent = "";
      var chain = [];
      for (var a = state.focus; a; a = a.parent) chain.unshift(a);
      chain.forEach(function (n, i) {
        if (i) crumbs.appendChild(el("span", "pf-sep", " \u203a "));
        var b = el("button", "pf-crumb", n === state.tree.root ? "all" : n.name);
        b.type = "button";
        b.title = n === state.tree.root ? "the whole profile" : n.name;
        if (n === state.focus) b.classList.add("pf-current");
        b.addEventListener("click", function () { zoomTo(n); });
        crumbs.appendChild(b);
      });
    }

    function zoomTo(node) {
      state.focus = node || state.tree.root;
      hideTip();
      draw();
    }

    function rectAt(event) {
      var box = canvas.getBoundingClientRect();
      var x = event.clientX - box.left;
      var y = event.clientY - box.top;
      var h = state.rowHeight;
      var row = Math.floor(y / h);
      if (state.orientation === "flame") row = state.rowCount - 1 - row;
      var candidates = state.rows[row] || [];
      for (var i = 0; i < candidates.length; i++) {
        var r = candidates[i];
        if (x >= r.x && x < r.x + r.w) return r;
      }
      return null;
    }

    function signed(value, unit) {
      var text = formatValue(value, unit);
      return state.tree.diff && value > 0 ? "+" + text : text;
    }

    function tipText(rect) {
      var unit = state.data.unit;
      var totalValue = state.data.total;
      if (!rect.node) {
        return [rect.count + " frames narrower than a pixel",
                "cum " + signed(rect.value, unit) + " (" +
                percent(rect.value, totalValue) + " of total)"];
      }
      var n = rect.node;
      var lines = [n === state.tree.root ? "all" : n.name];
      if (n.file) lines.push(n.file);
      if (n.folded) lines.push(n.folded + " frames folded together (too small to keep)");
      lines.push("cum " + signed(n.cum, unit) + " (" + percent(n.cum, totalValue) +
        " of total" + (state.focus !== state.tree.root && !rect.above ?
          ", " + percent(n.cum, state.focus.cum) + " of " + state.focus.name : "") + ")");
      if (!n.folded) {
        lines.push("flat " + signed(n.flat, unit) + " (" +
          percent(n.flat, totalValue) + " of total)");
      }
      return lines;
    }

    function showTip(rect, event) {
      tip.textContent = "";
      tipText(rect).forEach(function (line, i) {
        tip.appendChild(el("div", i ? "pf-tip-line" : "pf-tip-name", line));
      });
      tip.hidden = false;
      var box = element.querySelector(".pf-canvas-box").getBoundingClientRect();
      var x = event.clientX - box.left + 14;
      var y = event.clientY - box.top + 14;
      var maxX = box.width - tip.offsetWidth - 4;
      tip.style.left = Math.max(0, Math.min(x, maxX)) + "px";
      tip.style.top = y + "px";
    }

    function hideTip() {
      tip.hidden = true;
    }

    function onMove(event) {
      var rect = rectAt(event);
      if (!rect) {
        hideTip();
        canvas.style.cursor = "default";
        return;
      }
      canvas.style.cursor = rect.node && rect.node !== state.focus ? "pointer" : "default";
      showTip(rect, event);
    }

    function onClick(event) {
      var rect = rectAt(event);
      if (rect && rect.node && !rect.node.folded) zoomTo(rect.node);
    }

    var searchTimer = null;
    function onSearch() {
      if (searchTimer) clearTimeout(searchTimer);
      searchTimer = setTimeout(function () {
        searchTimer = null;
        applySearch(search.value);
        draw();
      }, 120);
    }

    function onKey(event) {
      if (event.key === "Escape" && event.target !== search) zoomTo(null);
    }

    var resizeQueued = false;
    function onResize() {
      if (resizeQueued) return;
      resizeQueued = true;
      global.requestAnimationFrame(function () {
        resizeQueued = false;
        draw();
      });
    }

    function setOrientation(o) {
      state.orientation = o === "flame" ? "flame" : "icicle";
      orient.textContent = state.orientation === "icicle" ? "flame view" : "icicle view";
      orient.title = "show the root at the " +
        (state.orientation === "icicle" ? "bottom" : "top");
      draw();
    }

    canvas.addEventListener("mousemove", onMove);
    canvas.addEventListener("mouseleave", hideTip);
    canvas.addEventListener("click", onClick);
    search.addEventListener("input", onSearch);
    reset.addEventListener("click", function () { zoomTo(null); });
    orient.addEventListener("click", function () {
      setOrientation(state.orientation === "icicle" ? "flame" : "icicle");
    });
    colourBy.addEventListener("change", function () {
      state.colourBy = colourBy.value;
      draw();
    });
    document.addEventListener("keydown", onKey);
    // Redraw when the element's width changes: a window resize, or a page
    // showing the graph's tab after mounting it hidden.
    var observer = null;
    if (global.ResizeObserver) {
      observer = new global.ResizeObserver(function () {
        if (state.tree && element.clientWidth && element.clientWidth !== state.width) {
          onResize();
        }
      });
      observer.observe(element);
    } else {
      global.addEventListener("resize", onResize);
    }

    var view = {
      setData: setData,
      zoom: function (name) {
        if (!name || name === "all") { zoomTo(null); return true; }
        var best = widest(name);
        if (!best) return false;
        zoomTo(best);
        return true;
      },
      search: function (text) {
        search.value = text || "";
        var result = applySearch(search.value);
        draw();
        return result;
      },
      setOrientation: setOrientation,
      locate: function (name) {
        var best = null;
        state.rects.forEach(function (r) {
          if (r.node && (r.node === state.tree.root ? "all" : r.node.name) === name &&
              (!best || r.w > best.w)) best = r;
        });
        if (!best) return null;
        return {x: best.x, y: rowTop(best.row), width: best.w, height: state.rowHeight};
      },
      focusName: function () {
        return state.focus === state.tree.root ? "all" : state.focus.name;
      },
      frameCount: function () { return state.tree.count; },
      redraw: draw,
      destroy: function () {
        document.removeEventListener("keydown", onKey);
        if (observer) observer.disconnect();
        global.removeEventListener("resize", onResize);
        element.textContent = "";
        element.classList.remove("pyprof-flame");
      }
    };

    function widest(name) {
      var best = null;
      var work = [state.tree.root];
      while (work.length) {
        var n = work.pop();
        if (n.name === name && n !== state.tree.root &&
            (!best || n.size > best.size)) best = n;
        for (var i = 0; i < n.kids.length; i++) work.push(n.kids[i]);
      }
      return best;
    }

    if (options.search) {
      search.value = options.search;
      state.searchText = options.search;
    }
    orient.textContent = "";
    setData(data);
    setOrientation(state.orientation);
    element.pyprofFlame = view;
    return view;
  }

  function mountPage(element, payload) {
    var datasets = payload.datasets || [];
    var selected = payload.selected || 0;
    var extra = null;
    if (datasets.length > 1) {
      extra = el("select", "pf-sample-type");
      extra.setAttribute("aria-label", "sample type");
      datasets.forEach(function (d, i) {
        var opt = el("option", "", d.sample_type + " (" + d.unit + ")");
        opt.value = String(i);
        extra.appendChild(opt);
      });
      extra.value = String(selected);
    }
    var view = mount(element, datasets[selected],
                     {orientation: payload.orientation, extra: extra});
    if (extra) {
      extra.addEventListener("change", function () {
        view.setData(datasets[Number(extra.value)]);
      });
    }
    return view;
  }

  global.PyprofFlame = {
    mount: mount,
    mountPage: mountPage,
    formatValue: formatValue,
    palette: palette,
    goRegExp: goRegExp,
    version: 2
  };
})(typeof window !== "undefined" ? window : this);
