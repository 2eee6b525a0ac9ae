// The usage dashboard: no build step, nothing loaded from outside the mock.
// It reads /demo/config.json (keys, zones, the contract's choices) and
// /_usagekit/names (names of ids), sends the contract's request, and draws
// the answer as a stacked Chart.js bar chart, an accessible table and a curl.
(function () {
  "use strict";
  var base = document.body.dataset.base || "";
  var form = document.getElementById("controls");
  var els = {
    key: form.elements.key, account: form.elements.account, range: form.elements.range,
    start: form.elements.start, end: form.elements.end, granularity: form.elements.granularity,
    tz: form.elements.tz, limit: form.elements.limit
  };
  var state = { config: null, names: { accounts: {}, agents: {} }, groupBy: [], chart: null,
                countdown: null, lastQuery: null, loads: 0 };
  var PRESETS = { "24h": [24 * 3600e3, "hour"], "7d": [7 * 86400e3, "day"],
                  "30d": [30 * 86400e3, "day"], "12mo": [365 * 86400e3, "month"] };
  // Contract field -> the control that shows its message.
  var FIELD_CONTROL = { key: "key", account_id: "account", start: "start", end: "end",
                        granularity: "granularity", tz: "tz", group_by: "group-by", limit: "limit" };
  var PALETTE = ["#2456c7", "#e07b39", "#2e9e6b", "#b5408f", "#8a6d1f", "#4aa3c7", "#c73b3b",
                 "#6b5bd6", "#7f8c2d", "#d6a02e", "#3b6b6b", "#a05a5a"];

  function setState(name) { document.body.dataset.state = name; }

  function option(select, value, text) {
    var o = document.createElement("option");
    o.value = value; o.textContent = text; select.appendChild(o); return o;
  }

  function accountName(id) { return state.names.accounts[id] || id; }

  function fillControls(config) {
    config.keys.forEach(function (k) { option(els.key, k.key, k.label + " (" + k.key + ")"); });
    option(els.key, "", "no key");
    config.granularities.forEach(function (g) { option(els.granularity, g, g); });
    els.limit.max = config.limit_max;
    var list = document.getElementById("zones");
    config.zones.forEach(function (z) {
      var o = document.createElement("option");
      o.value = z.name; o.label = z.dst ? "daylight saving time" : "fixed offset";
      list.appendChild(o);
    });
    var box = document.getElementById("group-by");
    config.dimensions.forEach(function (d) {
      var label = document.createElement("label");
      var input = document.createElement("input");
      input.type = "checkbox"; input.value = d; input.dataset.testid = "group-" + d;
      input.setAttribute("data-testid", "group-" + d);
      input.addEventListener("change", function () {
        state.groupBy = state.groupBy.filter(function (x) { return x !== d; });
        if (input.checked) state.groupBy.push(d);
        showOrder();
      });
      label.appendChild(input); label.appendChild(document.createTextNode(" " + d));
      box.appendChild(label);
    });
    fillAccounts();
  }

  function fillAccounts() {
    var chosen = state.config.keys.find(function (k) { return k.key === els.key.value; });
    var keep = els.account.value;
    els.account.textContent = "";
    option(els.account, "me", "me (the key's own account)");
    var ids = chosen ? [chosen.account_id] : [];
    Object.keys(state.names.accounts).forEach(function (id) { if (ids.indexOf(id) < 0) ids.push(id); });
    ids.forEach(function (id) { option(els.account, id, accountName(id)).title = id; });
    if (keep && Array.prototype.some.call(els.account.options, function (o) { return o.value === keep; })) {
      els.account.value = keep;
    }
  }

  function showOrder() {
    document.getElementById("group_by-order").textContent =
      state.groupBy.length ? "order: " + state.groupBy.join(", ") : "no grouping";
  }

  function applyPreset() {
    var preset = els.range.value;
    document.body.classList.toggle("custom", preset === "custom");
    if (preset === "custom") return;
    els.granularity.value = PRESETS[preset][1];
  }

  // The presets end at the hour after the dataset's last conversation, so that
  // "last 7 days" shows data even for a dataset recorded long ago.
  function presetRange() {
    var last = state.config.last ? Date.parse(state.config.last) : Date.now();
    var end = Math.ceil((last + 1) / 3600e3) * 3600e3;
    var start = end - PRESETS[els.range.value][0];
    return [new Date(start).toISOString().replace(".000Z", "Z"),
            new Date(end).toISOString().replace(".000Z", "Z")];
  }

  function query() {
    var params = new URLSearchParams();
    if (els.range.value === "custom") {
      if (els.start.value) params.set("start", els.start.value.trim());
      if (els.end.value) params.set("end", els.end.value.trim());
    } else {
      var range = presetRange();
      params.set("start", range[0]); params.set("end", range[1]);
    }
    params.set("granularity", els.granularity.value);
    params.set("tz", els.tz.value.trim());
    if (state.groupBy.length) params.set("group_by", state.groupBy.join(","));
    if (els.limit.value) params.set("limit", els.limit.value);
    var path = state.config.path.replace("{account_id}", encodeURIComponent(els.account.value || "me"));
    // ":", "," and "/" need no escaping in a query: the curl stays readable.
    var search = params.toString().replace(/%2C/g, ",").replace(/%3A/g, ":").replace(/%2F/g, "/");
    return { path: path, search: search, key: els.key.value };
  }

  function shellQuote(text) { return "'" + text.replace(/'/g, "'\\''") + "'"; }

  function curlOf(q, prefer) {
    var url = window.location.origin + base + q.path + "?" + q.search;
    var parts = ["curl -sS"];
    if (q.key) parts.push("-H " + shellQuote("X-API-Key: " + q.key));
    if (prefer) parts.push("-H " + shellQuote("Prefer: " + prefer));
    parts.push(shellQuote(url));
    return parts.join(" ");
  }

  function clearErrors() {
    document.querySelectorAll(".field-error").forEach(function (p) { p.textContent = ""; });
    document.querySelectorAll("[aria-invalid]").forEach(function (e) { e.removeAttribute("aria-invalid"); });
    var problem = document.getElementById("problem");
    problem.hidden = true; problem.textContent = "";
    if (state.countdown) { clearInterval(state.countdown); state.countdown = null; }
  }

  function fieldMessage(field, message) {
    var name = field.replace(/^(query|path)\./, "");
    var holder = document.getElementById(name + "-error");
    if (!holder) return false;
    holder.textContent = message;
    var control = document.getElementById(FIELD_CONTROL[name] || name);
    if (control) control.setAttribute("aria-invalid", "true");
    if (name === "start" || name === "end") document.body.classList.add("custom");
    return true;
  }

  function clearResult(reason) {
    if (state.chart) { state.chart.destroy(); state.chart = null; }
    document.querySelector("#usage-table tbody").textContent = "";
    document.getElementById("table-caption").textContent = reason;
  }

  function showProblem(status, body, retryAfter) {
    clearResult("No buckets: the request was answered " + status + ".");
    var problem = document.getElementById("problem");
    problem.hidden = false;
    problem.dataset.status = String(status);
    var title = document.createElement("strong");
    title.textContent = status + " " + (body.code || "error") + ": " + (body.message || "");
    problem.appendChild(title);
    if (body.detail) {
      var detail = document.createElement("div"); detail.textContent = body.detail; problem.appendChild(detail);
    }
    if (status === 401) fieldMessage("key", body.message || "The key was refused.");
    if (status === 403) fieldMessage("path.account_id", body.message || "This key may not read that account.");
    if (status === 422 && body.errors) {
      var list = document.createElement("ul");
      body.errors.forEach(function (e) {
        fieldMessage(e.field, e.message);
        var item = document.createElement("li"); item.textContent = e.field + ": " + e.message; list.appendChild(item);
      });
      problem.appendChild(list);
    }
    if ((status === 429 || status === 503) && retryAfter !== null) {
      var left = retryAfter;
      var line = document.createElement("div");
      line.setAttribute("data-testid", "retry-countdown");
      problem.appendChild(line);
      var tick = function () {
        line.textContent = left > 0 ? "Retrying in " + left + " s (Retry-After)" : "Retrying now";
        if (left <= 0) { clearInterval(state.countdown); state.countdown = null; load(null); }
        left -= 1;
      };
      tick();
      state.countdown = setInterval(tick, 1000);
    }
  }

  function label(dimensions) {
    var keys = Object.keys(dimensions);
    if (!keys.length) return { text: "total", ids: "" };
    var texts = [], ids = [];
    keys.forEach(function (d) {
      var id = dimensions[d];
      var name = d === "agent" ? state.names.agents[id] : d === "subaccount" ? state.names.accounts[id] : null;
      texts.push(name || id);
      if (name) ids.push(d + " " + id);
    });
    return { text: texts.join(" · "), ids: ids.join(", ") };
  }

  function render(body) {
    var metric = form.elements.metric.value;
    var labels = body.data.map(function (b) { return b.ts; });
    var series = new Map();
    body.data.forEach(function (bucket, i) {
      bucket.values.forEach(function (v) {
        var key = JSON.stringify(v.dimensions);
        if (!series.has(key)) series.set(key, { dims: v.dimensions, values: new Array(body.data.length).fill(0) });
        series.get(key).values[i] = v[metric];
      });
    });
    var datasets = Array.from(series.values()).map(function (s, n) {
      var l = label(s.dims);
      return { label: l.text, ids: l.ids, data: s.values, backgroundColor: PALETTE[n % PALETTE.length], stack: "usage" };
    });
    if (state.chart) state.chart.destroy();
    state.chart = new Chart(document.getElementById("chart"), {
      type: "bar",
      data: { labels: labels.map(shortTs(body.meta.granularity)), datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: metric } } },
        plugins: {
          tooltip: { callbacks: {
            title: function (items) { return labels[items[0].dataIndex]; },
            label: function (item) {
              var d = item.dataset;
              return d.label + (d.ids ? " (" + d.ids + ")" : "") + ": " + item.formattedValue;
            }
          } },
          legend: { position: "bottom" }
        }
      }
    });
    var tbody = document.querySelector("#usage-table tbody");
    tbody.textContent = "";
    body.data.forEach(function (bucket) {
      var row = document.createElement("tr");
      var seconds = 0, conversations = 0;
      bucket.values.forEach(function (v) { seconds += v.seconds; conversations += v.conversations; });
      [bucket.ts, seconds, conversations].forEach(function (value, i) {
        var cell = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) cell.scope = "row"; else cell.className = "num";
        cell.textContent = String(value);
        row.appendChild(cell);
      });
      tbody.appendChild(row);
    });
    document.getElementById("table-caption").textContent =
      body.data.length + " " + body.meta.granularity + " buckets in " + body.meta.tz + " for " +
      accountName(body.meta.account_id) + ", " + body.meta.start + " to " + body.meta.end;
  }

  function shortTs(granularity) {
    return function (ts) {
      if (granularity === "month") return ts.slice(0, 7);
      if (granularity === "day") return ts.slice(0, 10);
      return ts.slice(5, 16).replace("T", " ") + ts.slice(19);
    };
  }

  async function load(prefer) {
    clearErrors();
    // An answer that arrives after a newer request was sent is not shown: the page
    // shows the answer of the request its curl names, whatever order they arrive in.
    var current = ++state.loads;
    var q = query();
    state.lastQuery = q;
    document.getElementById("curl").textContent = curlOf(q, prefer);
    var headers = { Accept: "application/json" };
    if (q.key) headers["X-API-Key"] = q.key;
    if (prefer) headers.Prefer = prefer;
    var spinner = document.getElementById("spinner");
    var status = document.getElementById("status");
    spinner.hidden = false; spinner.removeAttribute("aria-hidden");
    status.textContent = "Loading…";
    setState("loading");
    var started = performance.now();
    try {
      var response = await fetch(base + q.path + "?" + q.search, { headers: headers });
      var body = await response.json();
      if (current !== state.loads) return;
      var took = Math.round(performance.now() - started);
      if (response.ok) {
        render(body);
        status.textContent = "200 OK in " + took + " ms: " + body.data.length + " buckets.";
        setState("ready");
      } else {
        var retry = response.headers.get("Retry-After");
        status.textContent = response.status + " in " + took + " ms.";
        showProblem(response.status, body, retry === null ? null : parseInt(retry, 10));
        setState("error-" + response.status);
      }
    } catch (error) {
      if (current !== state.loads) return;
      clearResult("No buckets: the request failed (" + error.message + ").");
      status.textContent = "The request failed: " + error.message;
      setState("error-network");
    } finally {
      if (current === state.loads) { spinner.hidden = true; spinner.setAttribute("aria-hidden", "true"); }
    }
  }

  async function start() {
    var config = await (await fetch(base + "/demo/config.json")).json();
    state.config = config;
    try {
      var names = await fetch(base + "/_usagekit/names");
      if (names.ok) state.names = await names.json();
    } catch (error) { /* names are a nicety: ids are shown instead */ }
    fillControls(config);
    els.granularity.value = config.default_granularity;
    applyPreset();
    els.key.addEventListener("change", fillAccounts);
    els.range.addEventListener("change", applyPreset);
    form.addEventListener("submit", function (event) { event.preventDefault(); load(null); });
    form.elements.metric.forEach(function (r) { r.addEventListener("change", function () { load(null); }); });
    document.querySelectorAll("button[data-prefer]").forEach(function (button) {
      button.addEventListener("click", function () { load(button.dataset.prefer); });
    });
    await load(null);
  }

  start();
})();
