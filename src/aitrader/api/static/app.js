// aitrader dashboard. No framework, no inline script (the CSP forbids it), text only through
// textContent (decision reasons and symbols are data, never markup). Money arrives as decimal
// strings and is shown as such; time arrives as epoch ms and is rendered as ISO here only.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const state = { me: null, ws: null, retry: 0, pair: null, equity: new Map(), equitySeries: null,
                  candleSeries: null, markers: null, charts: [] };

  // ---------------------------------------------------------------- HTTP
  async function api(path, options = {}) {
    const opts = { credentials: "same-origin", headers: {}, ...options };
    if (opts.body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(opts.body);
    }
    if ((opts.method || "GET") !== "GET") opts.headers["X-Aitrader-Csrf"] = "1";
    const res = await fetch(path, opts);
    let data = null;
    try { data = await res.json(); } catch (_) { data = null; }
    if (!res.ok) {
      const detail = data && data.detail ? (typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail)) : res.statusText;
      const err = new Error(detail);
      err.status = res.status;
      throw err;
    }
    return data;
  }

  // ---------------------------------------------------------------- helpers
  const iso = (ms) => (ms === null || ms === undefined ? "–" : new Date(ms).toISOString().replace(".000Z", "Z"));
  const fmt = (v) => (v === null || v === undefined ? "–" : String(v));
  const short = (v, places = 2) => {
    if (v === null || v === undefined) return "–";
    const [i, f = ""] = String(v).split(".");
    return f ? `${i}.${f.slice(0, places).padEnd(places, "0")}` : i;
  };
  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }
  function sign(el, v) {
    el.classList.toggle("pos", v !== null && v !== undefined && !String(v).startsWith("-") && Number(v) !== 0);
    el.classList.toggle("neg", v !== null && v !== undefined && String(v).startsWith("-"));
  }
  const canControl = () => state.me && (state.me.scope === "control" || state.me.scope === "admin");

  // ---------------------------------------------------------------- login
  async function login(ev) {
    ev.preventDefault();
    const input = $("login-key");
    $("login-error").textContent = "";
    try {
      await api("/api/v1/auth/login", { method: "POST", body: { key: input.value } });
      input.value = ""; // the key is not kept anywhere
      await start();
    } catch (e) {
      $("login-error").textContent = e.status === 429 ? "Too many attempts; wait a moment." : "Login failed: " + e.message;
    }
  }

  async function logout() {
    try { await api("/api/v1/auth/logout", { method: "POST" }); } catch (_) { /* session may be gone already */ }
    if (state.ws) state.ws.close();
    location.reload();
  }

  // ---------------------------------------------------------------- rendering
  function renderStatus(s) {
    $("kpi-equity").textContent = `${short(s.equity)} ${s.quote_currency}`;
    for (const [id, v] of [["kpi-pnl-today", s.pnl_today], ["kpi-realized", s.realized_pnl], ["kpi-unrealized", s.unrealized_pnl]]) {
      $(id).textContent = short(v);
      sign($(id), v);
    }
    const es = $("engine-state");
    const words = [s.mode, s.running ? "running" : "engine offline"];
    if (s.entries_paused) words.push("entries paused");
    if (s.kill_switch) words.push("KILL SWITCH");
    es.textContent = words.join(" · ");
    es.dataset.paused = String(s.entries_paused);
    es.className = "pill " + (s.kill_switch ? "bad" : s.entries_paused ? "warn" : s.running ? "good" : "warn");
  }

  function renderPositions(list) {
    const body = $("positions").tBodies[0];
    body.replaceChildren();
    for (const p of list) {
      const tr = document.createElement("tr");
      tr.dataset.symbol = p.symbol;
      cell(tr, p.symbol);
      cell(tr, p.side);
      cell(tr, fmt(p.amount));
      cell(tr, fmt(p.entry_price));
      cell(tr, fmt(p.mark_price));
      sign(cell(tr, short(p.unrealized_pnl)), p.unrealized_pnl);
      cell(tr, fmt(p.stop));
      cell(tr, fmt(p.take));
      const td = cell(tr, "", "needs-control");
      if (canControl()) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "danger small";
        b.textContent = "Close";
        b.addEventListener("click", () => act("close", `Close the ${p.symbol} position at market?`, { symbol: p.symbol }));
        td.appendChild(b);
      }
      body.appendChild(tr);
    }
  }

  function renderOrders(list) {
    const body = $("orders").tBodies[0];
    body.replaceChildren();
    for (const o of list) {
      const tr = document.createElement("tr");
      for (const v of [o.symbol, o.side, o.type, o.purpose, fmt(o.amount), fmt(o.price), o.status]) cell(tr, v);
      body.appendChild(tr);
    }
  }

  function renderDecisions(items) {
    const feed = $("decisions");
    feed.replaceChildren();
    for (const d of items) {
      const li = document.createElement("li");
      li.dataset.id = d.id;
      const head = document.createElement("div");
      head.className = "head";
      const dir = d.direction > 0 ? "LONG" : d.direction < 0 ? "SHORT/EXIT" : "HOLD";
      head.textContent = `${iso(d.ts)}  ${d.symbol}  ${dir}  conf ${d.confidence.toFixed(2)}  @ ${d.price}` +
        (d.outcome ? `  → ${d.outcome}` : "");
      li.appendChild(head);
      const ul = document.createElement("ul");
      for (const r of d.reasons) {
        const ri = document.createElement("li");
        ri.textContent = r;
        ul.appendChild(ri);
      }
      li.appendChild(ul);
      feed.appendChild(li);
    }
  }

  function renderRisk(r) {
    const dl = $("risk");
    dl.replaceChildren();
    const rows = [
      ["Entries", r.kill_switch ? "kill switch" : r.entries_paused ? "paused" : "allowed"],
      ["Exposure (total)", r.exposure_total],
      ["Daily PnL", r.daily_pnl],
      ["Drawdown", r.drawdown],
      ["Risk per trade", r.limits.risk_per_trade],
      ["Max open positions", r.limits.max_open_positions],
      ["Daily loss limit", r.limits.daily_loss_limit],
      ["Max drawdown", r.limits.max_drawdown],
    ];
    for (const [k, v] of rows) {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = fmt(v);
      dl.append(dt, dd);
    }
    const ul = $("risk-breaches");
    ul.replaceChildren();
    for (const b of r.breaches) {
      const li = document.createElement("li");
      li.textContent = b;
      ul.appendChild(li);
    }
    const form = $("risk-form");
    for (const name of ["risk_per_trade", "max_open_positions", "daily_loss_limit", "max_drawdown"]) {
      if (document.activeElement !== form.elements[name]) form.elements[name].placeholder = fmt(r.limits[name]);
    }
  }

  function renderStrategies(list) {
    const body = $("strategies").tBodies[0];
    body.replaceChildren();
    for (const s of list) {
      const tr = document.createElement("tr");
      cell(tr, s.strategy);
      cell(tr, String(s.signals));
      cell(tr, String(s.trades));
      cell(tr, s.win_rate === null ? "–" : (100 * s.win_rate).toFixed(1) + "%");
      sign(cell(tr, short(s.pnl)), s.pnl);
      body.appendChild(tr);
    }
  }

  // ---------------------------------------------------------------- charts
  function makeChart(el) {
    if (!window.LightweightCharts) return null;
    const chart = LightweightCharts.createChart(el, {
      autoSize: true,
      // the built-in logo injects a <style> element, which our CSP forbids; attribution is in the footer
      layout: { background: { color: "#11151c" }, textColor: "#c9d1d9", attributionLogo: false },
      grid: { vertLines: { color: "#1f2630" }, horzLines: { color: "#1f2630" } },
      timeScale: { timeVisible: true, secondsVisible: false },
    });
    state.charts.push(chart);
    return chart;
  }

  function mergeEquity(points) {
    for (const p of points) state.equity.set(p.ts, Number(p.equity));
    if (!state.equitySeries) return;
    const data = [...state.equity.entries()].sort((a, b) => a[0] - b[0]).map(([ts, v]) => ({ time: Math.floor(ts / 1000), value: v }));
    const dedup = data.filter((d, i) => i === data.length - 1 || data[i + 1].time !== d.time);
    state.equitySeries.setData(dedup);
  }

  async function loadCandles() {
    if (!state.pair || !state.candleSeries) return;
    const [candles, trades] = await Promise.all([
      api(`/api/v1/candles?symbol=${encodeURIComponent(state.pair)}&limit=500`),
      api("/api/v1/trades?limit=500"),
    ]);
    state.candleSeries.setData(candles.map((c) => ({ time: Math.floor(c.ts / 1000), open: c.open, high: c.high, low: c.low, close: c.close })));
    if (candles.length === 0) return;
    const first = candles[0].ts, last = candles[candles.length - 1].ts;
    const inRange = (ts) => ts >= first && ts <= last;
    const marks = [];
    for (const t of trades.filter((t) => t.symbol === state.pair)) {
      const long = t.side === "long";
      if (inRange(t.opened_ms)) marks.push({ time: Math.floor(t.opened_ms / 1000), position: long ? "belowBar" : "aboveBar", color: "#2ea043", shape: long ? "arrowUp" : "arrowDown", text: `entry ${t.entry_price}` });
      if (inRange(t.closed_ms)) marks.push({ time: Math.floor(t.closed_ms / 1000), position: long ? "aboveBar" : "belowBar", color: "#f85149", shape: long ? "arrowDown" : "arrowUp", text: `exit ${t.exit_price} (${short(t.pnl)})` });
    }
    marks.sort((a, b) => a.time - b.time);
    if (state.markers) state.markers.setMarkers(marks);
    else state.markers = LightweightCharts.createSeriesMarkers(state.candleSeries, marks);
  }

  // ---------------------------------------------------------------- actions
  function confirmDialog(text) {
    return new Promise((resolve) => {
      const dlg = $("confirm-dialog");
      $("confirm-text").textContent = text;
      dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
      dlg.showModal();
    });
  }

  async function act(action, question, body) {
    if (!canControl()) return;
    if (!(await confirmDialog(question))) return;
    const out = $("action-result");
    try {
      const r = await api(`/api/v1/control/${action}`, { method: "POST", body });
      out.textContent = `${r.action}: ${r.ok ? "done" : "refused"} – ${r.message}`;
      out.className = r.ok ? "ok" : "error";
    } catch (e) {
      out.textContent = `${action} failed: ${e.message}`;
      out.className = "error";
    }
    await refresh();
  }

  async function submitRisk(ev) {
    ev.preventDefault();
    const form = ev.target;
    const body = {};
    for (const el of form.elements) {
      if (el.name && el.value.trim() !== "") body[el.name] = el.name === "max_open_positions" ? Number(el.value) : el.value.trim();
    }
    if (Object.keys(body).length === 0) return;
    await act("risk-limits", "Change risk limits: " + JSON.stringify(body) + "?", body);
    form.reset();
  }

  // ---------------------------------------------------------------- live
  function applyLive(msg) {
    if (msg.type !== "state") return;
    const live = $("live-state");
    live.dataset.seq = String(msg.seq);
    live.textContent = `live #${msg.seq}`;
    live.className = "pill good";
    $("kpi-updated").textContent = iso(msg.ts);
    renderStatus(msg.status);
    renderPositions(msg.positions);
    renderOrders(msg.orders);
    renderDecisions(msg.decisions);
    renderRisk(msg.risk);
    mergeEquity(msg.equity);
  }

  function connect() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${proto}//${location.host}/ws/live`);
    state.ws = ws;
    ws.addEventListener("open", () => { state.retry = 0; });
    ws.addEventListener("message", (ev) => { try { applyLive(JSON.parse(ev.data)); } catch (e) { console.error(e); } });
    ws.addEventListener("close", () => {
      const live = $("live-state");
      live.textContent = "reconnecting…";
      live.className = "pill warn";
      const delay = Math.min(30000, 1000 * 2 ** state.retry++);
      setTimeout(async () => {
        try { await api("/api/v1/auth/me"); connect(); } catch (e) { if (e.status === 401) location.reload(); else connect(); }
      }, delay);
    });
  }

  // ---------------------------------------------------------------- start
  async function refresh() {
    const [status, positions, orders, decisions, risk, strategies] = await Promise.all([
      api("/api/v1/status"), api("/api/v1/positions"), api("/api/v1/orders"),
      api("/api/v1/decisions?page=1&page_size=20"), api("/api/v1/risk"), api("/api/v1/strategies"),
    ]);
    renderStatus(status);
    renderPositions(positions);
    renderOrders(orders);
    renderDecisions(decisions.items);
    renderRisk(risk);
    renderStrategies(strategies);
  }

  async function start() {
    state.me = await api("/api/v1/auth/me");
    $("login").hidden = true;
    $("dash").hidden = false;
    $("who").textContent = `tenant ${state.me.tenant_id} · ${state.me.scope} key #${state.me.key_id}`;
    const control = canControl();
    document.body.classList.toggle("read-only", !control);
    for (const el of document.querySelectorAll(".needs-control")) el.hidden = !control;
    for (const el of document.querySelectorAll("#controls button")) el.disabled = !control;

    const eq = makeChart($("equity-chart"));
    if (eq) state.equitySeries = eq.addSeries(LightweightCharts.LineSeries, { color: "#58a6ff", lineWidth: 2 });
    const cc = makeChart($("candle-chart"));
    if (cc) state.candleSeries = cc.addSeries(LightweightCharts.CandlestickSeries, {});

    const cfg = await api("/api/v1/config");
    const sel = $("pair-select");
    for (const p of cfg.exchange.pairs) {
      const o = document.createElement("option");
      o.value = o.textContent = p;
      sel.appendChild(o);
    }
    state.pair = cfg.exchange.pairs[0] || null;
    sel.addEventListener("change", () => { state.pair = sel.value; loadCandles().catch(console.error); });

    await refresh();
    mergeEquity(await api("/api/v1/equity"));
    loadCandles().catch(console.error);
    connect();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", logout);
    for (const b of document.querySelectorAll("#controls button[data-action]")) {
      b.addEventListener("click", () => act(b.dataset.action, b.dataset.confirm));
    }
    $("risk-form").addEventListener("submit", submitRisk);
    start().catch((e) => {
      if (e.status !== 401) console.error(e);
      $("login").hidden = false;
      $("dash").hidden = true;
    });
  });
})();
