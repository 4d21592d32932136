// Shelfwise console: plain JavaScript over the public HTTP API, no build step, no CDN.
// Each page renders from its URL (path + query string), so a link reproduces what someone saw.
// The API key is kept for the browser session in a session cookie scoped to /console pages (never
// sent to the API, which takes it in X-API-Key); a link may carry it once in the fragment (#key=...).

const KEY = "shelfwise_key";
const page = document.getElementById("page");

// ---------------------------------------------------------------- helpers
function h(tag, attrs = {}, ...children) {
  const el = document.createElementNS(
    tag === "svg" || attrs.svg ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "svg" || value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}
const s = (tag, attrs = {}, ...children) => h(tag, { ...attrs, svg: true }, ...children);

function apiKey() {
  const found = document.cookie.split("; ").find((c) => c.startsWith(`${KEY}=`));
  return found ? decodeURIComponent(found.slice(KEY.length + 1)) : "";
}
function setKey(key) { // no Expires: the browser forgets it when the session ends
  document.cookie = key ? `${KEY}=${encodeURIComponent(key)}; path=/console; SameSite=Strict`
    : `${KEY}=; path=/console; SameSite=Strict; Max-Age=0`;
}

async function api(method, path, body) {
  const headers = { "X-API-Key": apiKey() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const started = performance.now();
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    return { ok: false, status: 0, data: { detail: `The server did not answer: ${err}` }, ms: 0 };
  }
  const ms = performance.now() - started;
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  return { ok: response.ok, status: response.status, data, ms };
}

function problem(result) {
  const d = result.data || {};
  const fields = (d.errors || []).map((e) => `${e.field}: ${e.message}`).join("; ");
  let text = `${result.status || "error"} ${d.title || ""}: ${d.detail || "request failed"}`;
  if (fields) text += ` (${fields})`;
  if (result.status === 401) text += " Enter a key above.";
  return h("div", { class: "error", "data-testid": "error" }, text);
}

const money = (p) => (p === null || p === undefined ? "no price" : p.toFixed(2));
const fmt = (x, digits = 3) => (x === null || x === undefined ? "" : Number(x).toFixed(digits));
const params = () => new URLSearchParams(location.search);

function go(path, query = {}, { replace = false } = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== "" && v !== null && v !== undefined) q.set(k, v);
  const url = path + (q.toString() ? `?${q}` : "");
  if (replace) history.replaceState(null, "", url); else history.pushState(null, "", url);
  render();
}

// Item details (title, price, stock) for lists that carry only ids; one request per list.
async function describe(ids) {
  if (!ids.length) return {};
  const q = new URLSearchParams();
  ids.slice(0, 100).forEach((id) => q.append("ids", id));
  const r = await api("GET", `/v1/items?${q}`);
  const out = {};
  if (r.ok) for (const item of r.data.items) out[item.item_id] = item;
  return out;
}

function itemLink(id, title) {
  return h("a", { href: `/console/item?id=${encodeURIComponent(id)}`, "data-item": id }, title || id);
}

function stockBadge(inStock) {
  return inStock === false ? h("span", { class: "badge bad" }, "out of stock") : null;
}

// ---------------------------------------------------------------- key
function keyFromFragment() {
  const m = location.hash.match(/key=([^&]+)/);
  if (m) {
    setKey(decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search); // never leave it in the URL
  }
}

function showKey() {
  const key = apiKey();
  document.getElementById("key-status").textContent = key ? `key …${key.slice(-4)} in use` : "no API key";
  document.getElementById("key-input").hidden = !!key;
  document.getElementById("key-use").hidden = !!key;
  document.getElementById("key-forget").hidden = !key;
}

document.getElementById("key-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = document.getElementById("key-input");
  if (input.value.trim()) setKey(input.value.trim());
  input.value = "";
  showKey();
  render();
});
document.getElementById("key-forget").addEventListener("click", () => {
  setKey("");
  showKey();
  render();
});

// ---------------------------------------------------------------- home
async function homePage() {
  const ready = await api("GET", "/ready");
  const rows = Object.entries((ready.data && ready.data.families) || {}).map(([family, f]) =>
    h("tr", {}, h("td", {}, family), h("td", {}, h("span", { class: `badge ${f.status === "loaded" ? "ok" : "bad"}` }, f.status)),
      h("td", {}, f.version || ""), h("td", { class: "muted small" }, f.reason || "")));
  return [
    h("h1", {}, "Shelfwise console"),
    h("p", { class: "muted" }, "Try search, recommendations, fraud checks and forecasts on this store through the same API your storefront calls."),
    h("table", { "data-testid": "families" }, h("tr", {}, h("th", {}, "family"), h("th", {}, "status"), h("th", {}, "version"), h("th", {}, "")), rows),
    ((ready.data && ready.data.problems) || []).map((text) => h("div", { class: "error", "data-testid": "problem" }, text)),
    ((ready.data && ready.data.warnings) || []).map((text) => h("div", { class: "note", "data-testid": "warning" }, text)),
    apiKey() ? null : h("div", { class: "note" }, "Enter an API key above (a demo prints a console link that carries one)."),
  ];
}

// ---------------------------------------------------------------- search
const FACET_FILTER = { category: "category", brand: "brand", price: "price" };

function searchQuery() {
  const p = params();
  return { q: p.get("q") || "", category: p.get("category") || "", brand: p.get("brand") || "",
    price: p.get("price") || "", in_stock: p.get("in_stock") || "" };
}

function priceBounds(band) {
  if (!band) return {};
  if (band.endsWith("+")) return { price_min: Number(band.slice(0, -1)) };
  const [lo, hi] = band.split("-").map(Number);
  return { price_min: lo, price_max: hi - 0.001 }; // bands are [lo, hi)
}

async function searchPage() {
  const state = searchQuery();
  const input = h("input", { id: "search-input", type: "search", value: state.q, placeholder: "Search the catalog",
    autocomplete: "off", "data-testid": "search-input" });
  const list = h("ul", { id: "suggestions", "data-testid": "suggestions" });
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const typed = input.value;
    timer = setTimeout(async () => {
      list.replaceChildren();
      if (!typed.trim()) return;
      const r = await api("GET", `/v1/search/suggest?q=${encodeURIComponent(typed)}&k=8`);
      if (r.ok && input.value === typed) {
        list.replaceChildren(...r.data.suggestions.map((text) => h("li", {
          onmousedown: (ev) => { ev.preventDefault(); go("/console/search", { ...state, q: text }); } }, text)));
      }
    }, 120);
  });
  input.addEventListener("blur", () => setTimeout(() => list.replaceChildren(), 150));
  const form = h("form", { class: "row", onsubmit: (ev) => { ev.preventDefault(); go("/console/search", { ...state, q: input.value.trim() }); } },
    h("div", { class: "suggest-wrap" }, input, list), h("button", { type: "submit" }, "Search"),
    h("label", { class: "small" }, h("input", { type: "checkbox", "data-testid": "in-stock", checked: state.in_stock === "1",
      onchange: (ev) => go("/console/search", { ...state, in_stock: ev.target.checked ? "1" : "" }) }), " in stock only"));
  if (!state.q) return [h("h1", {}, "Search"), form, h("p", { class: "muted" }, "Type a query: suggestions appear as you type.")];

  const filters = { ...priceBounds(state.price), in_stock_only: state.in_stock === "1" };
  if (state.category) filters.category = state.category;
  if (state.brand) filters.brand = state.brand;
  const r = await api("POST", "/v1/search", { query: state.q, k: 20, filters });
  if (!r.ok) return [h("h1", {}, "Search"), form, problem(r)];
  const d = r.data;
  const chips = ["category", "brand", "price"].filter((k) => state[k]).map((k) =>
    h("button", { class: "chip", "data-testid": "chip", onclick: () => go("/console/search", { ...state, [k]: "" }) }, `${k}: ${state[k]} ×`));
  const facetBlocks = Object.entries(d.facets).filter(([, counts]) => Object.keys(counts).length).map(([name, counts]) => {
    const key = name.startsWith("category") ? "category" : FACET_FILTER[name];
    return h("div", { "data-facet": name },
      h("h3", {}, name.replaceAll("_", " ")),
      h("ul", {}, Object.entries(counts).map(([value, n]) => h("li", {}, h("button", {
        "data-testid": "facet", "data-value": value, onclick: () => go("/console/search", { ...state, [key]: value }) },
      h("span", {}, value), h("span", { class: "count" }, n))))));
  });
  const results = d.results.map((hit) => h("li", { "data-testid": "result" },
    h("div", { class: "main" }, h("div", { class: "title" }, itemLink(hit.item_id, hit.title), stockBadge(hit.in_stock)),
      h("div", { class: "muted small" }, `${hit.item_id} · score ${fmt(hit.score)}`)),
    h("div", { class: "price" }, money(hit.price))));
  return [
    h("h1", {}, "Search"), form,
    d.corrected_query ? h("div", { class: "note", "data-testid": "corrected" }, `Showing results for “${d.corrected_query}” (you typed “${state.q}”).`) : null,
    h("p", { class: "muted", "data-testid": "search-stats" }, `${d.total} matches · ${d.results.length} shown · ${r.ms.toFixed(0)} ms (model v${d.model_version})`),
    h("div", { class: "cols" }, h("aside", { class: "facets", "data-testid": "facets" }, facetBlocks),
      h("section", {}, h("div", { class: "chips" }, chips), h("ul", { class: "results", "data-testid": "results" }, results))),
  ];
}

// ---------------------------------------------------------------- shopper
function shopperState() {
  const p = params();
  return { user: p.get("user") || "", session: (p.get("session") || "").split(",").filter(Boolean) };
}

async function shopperPage() {
  const state = shopperState();
  const input = h("input", { value: state.user, placeholder: "shopper id (empty: anonymous)", size: 32, "data-testid": "user-input" });
  const form = h("form", { class: "row", onsubmit: (ev) => { ev.preventDefault(); go("/console/shopper", { user: input.value.trim() }); } },
    input, h("button", { type: "submit" }, "Show"),
    h("button", { type: "button", class: "plain", onclick: () => go("/console/shopper", {}) }, "Anonymous"));
  const who = state.user ? `Shopper ${state.user}` : "Anonymous shopper";
  const body = { k: 10, session_item_ids: state.session.slice(0, 50) };
  if (state.user) body.user_id = state.user;
  const r = await api("POST", "/v1/recommendations", body);
  if (!r.ok) return [h("h1", {}, who), form, problem(r)];
  const ids = r.data.items.map((i) => i.item_id);
  const shopper = state.user || "anonymous";
  // What the list was before the last click on this page, to show what the event changed.
  const pending = JSON.parse(sessionStorage.getItem("shelfwise.pending") || "null");
  sessionStorage.removeItem("shelfwise.pending");
  const before = pending && pending.shopper === shopper ? pending : null;
  const known = await describe([...ids, ...state.session]);
  let changed = null;
  if (before) {
    const added = ids.filter((id) => !before.ids.includes(id));
    changed = h("div", { class: "note", "data-testid": "changed" },
      added.length ? `After “${before.action}”: ${added.length} new item(s) in the recommendations (outlined).`
        : `After “${before.action}”: the same items.`);
  }

  async function act(itemId, eventType) {
    const label = { view: "view", add_to_cart: "add to cart", purchase: "buy" }[eventType];
    sessionStorage.setItem("shelfwise.pending", JSON.stringify({ shopper, ids, action: `${label} ${itemId}` }));
    if (!state.user) { // an anonymous shopper's events are their session, newest first
      const session = [itemId, ...state.session.filter((i) => i !== itemId)].slice(0, 50);
      return go("/console/shopper", { session: session.join(",") });
    }
    const event = { user_id: state.user, item_id: itemId, event_type: eventType };
    if (eventType === "purchase") event.order_id = `console-${Date.now()}`;
    const sent = await api("POST", "/v1/events", { events: [event] });
    if (!sent.ok) return page.prepend(problem(sent));
    render();
  }

  const cards = r.data.items.map((item) => {
    const info = known[item.item_id] || {};
    return h("li", { "data-testid": "rec", "data-item": item.item_id, class: before && !before.ids.includes(item.item_id) ? "fresh" : "" },
      h("div", { class: "main" }, h("div", { class: "title" }, itemLink(item.item_id, info.title), stockBadge(info.in_stock)),
        h("div", { class: "muted small" }, `${item.item_id} · ${item.reason} · score ${fmt(item.score)}`)),
      h("div", { class: "price" }, money(info.price)),
      h("div", { class: "actions row" },
        h("button", { class: "plain", "data-action": "view", onclick: () => act(item.item_id, "view") }, "View"),
        h("button", { class: "plain", "data-action": "add_to_cart", onclick: () => act(item.item_id, "add_to_cart") }, "Add to cart"),
        h("button", { "data-action": "purchase", onclick: () => act(item.item_id, "purchase") }, "Buy")));
  });
  const session = state.session.length
    ? h("p", { class: "small", "data-testid": "session" }, "Session (newest first): ",
      state.session.map((id, n) => [n ? ", " : "", itemLink(id, (known[id] || {}).title)]))
    : null;
  return [
    h("h1", {}, who), form, changed, session,
    h("p", { class: "muted small", "data-testid": "rec-source" }, `answered by ${r.data.source} · ${r.ms.toFixed(0)} ms (model v${r.data.model_version})`),
    h("ul", { class: "results", "data-testid": "recs" }, cards),
  ];
}

// ---------------------------------------------------------------- product page
async function itemList(title, path, testid) {
  const r = await api("GET", path);
  if (!r.ok) return h("section", {}, h("h2", {}, title), problem(r));
  const known = await describe(r.data.items.map((i) => i.item_id));
  return h("section", {}, h("h2", {}, title),
    r.data.items.length ? h("ul", { class: "results", "data-testid": testid }, r.data.items.map((i) => h("li", { "data-testid": `${testid}-item` },
      h("div", { class: "main" }, h("div", { class: "title" }, itemLink(i.item_id, (known[i.item_id] || {}).title)),
        h("div", { class: "muted small" }, `${i.reason} · score ${fmt(i.score)}`)),
      h("div", { class: "price" }, money((known[i.item_id] || {}).price)))))
      : h("p", { class: "muted", "data-testid": testid }, "None."));
}

async function itemPage() {
  const id = params().get("id") || "";
  const input = h("input", { value: id, placeholder: "item id", "data-testid": "item-input" });
  const form = h("form", { class: "row", onsubmit: (ev) => { ev.preventDefault(); go("/console/item", { id: input.value.trim() }); } },
    input, h("button", { type: "submit" }, "Open"));
  if (!id) return [h("h1", {}, "Product page"), form, await itemList("Trending now", "/v1/trending?k=10", "trending")];
  const r = await api("GET", `/v1/items?ids=${encodeURIComponent(id)}`);
  if (!r.ok) return [h("h1", {}, "Product page"), form, problem(r)];
  const item = r.data.items[0];
  const header = item
    ? h("div", { class: "card", "data-testid": "item-card" }, h("h1", {}, item.title, stockBadge(item.in_stock)),
      h("p", { class: "muted" }, `${item.item_id} · ${item.category} · ${item.brand}`), h("p", { class: "big" }, money(item.price)))
    : h("div", { class: "error" }, `Item ${id} is not in the search catalog.`);
  const enc = encodeURIComponent(id);
  const [similar, together] = await Promise.all([
    itemList("Similar items", `/v1/items/${enc}/similar?k=8`, "similar"),
    itemList("Frequently bought together", `/v1/items/${enc}/bought-together?k=8`, "together"),
  ]);
  return [form, header, h("div", { class: "grid2" }, similar, together)];
}

// ---------------------------------------------------------------- checkout
function nowLocal() { return new Date().toISOString().slice(0, 19); }

async function checkoutPage() {
  const fields = await api("GET", "/v1/fraud/fields");
  if (!fields.ok) return [h("h1", {}, "Checkout check"), problem(fields)];
  const p = params();
  const prefill = { transaction_id: `console-${Date.now()}`, timestamp: nowLocal(), customer_id: "console-customer", amount: "120.00" };
  const inputs = {};
  const controls = fields.data.fields.map((f) => {
    const value = p.get(f.name) ?? prefill[f.name] ?? "";
    let input;
    if (f.kind === "category") {
      input = h("select", { name: f.name }, h("option", { value: "" }, "(missing)"),
        f.values.map((v) => h("option", { value: v, selected: v === (value || f.values[0]) }, v)));
    } else {
      const type = f.kind === "number" ? "number" : f.kind === "timestamp" || f.kind === "datetime" ? "datetime-local" : "text";
      input = h("input", { name: f.name, type, value, step: type === "number" ? "any" : type === "datetime-local" ? "1" : undefined, required: f.required });
    }
    inputs[f.name] = { input, field: f };
    const utc = f.kind === "timestamp" || f.kind === "datetime" ? ", UTC" : "";
    return h("label", {}, `${f.name}${f.required ? " *" : ""} (${f.kind}${utc})`, input);
  });
  const out = h("div", { "data-testid": "verdict-box" });
  const form = h("form", { class: "grid card", "data-testid": "checkout-form", onsubmit: async (ev) => {
    ev.preventDefault();
    const tx = {};
    const query = {};
    for (const [name, { input, field }] of Object.entries(inputs)) {
      if (input.value === "") continue;
      query[name] = input.value;
      tx[name] = field.kind === "number" ? Number(input.value) : input.value;
    }
    history.replaceState(null, "", "/console/checkout?" + new URLSearchParams(query));
    const r = await api("POST", "/v1/fraud/score", tx);
    if (!r.ok) return out.replaceChildren(problem(r));
    const d = r.data;
    const label = async (isFraud) => {
      const sent = await api("POST", "/v1/fraud/feedback", { transaction_id: d.transaction_id, is_fraud: isFraud });
      out.append(sent.ok ? h("div", { class: "note", "data-testid": "label-sent" }, `Label sent: ${isFraud ? "fraud" : "legitimate"} (${d.transaction_id}).`) : problem(sent));
    };
    out.replaceChildren(h("div", { class: "card" },
      h("div", { class: "verdict" },
        h("div", {}, h("div", { class: "muted small" }, "decision"), h("span", { class: `badge ${d.decision} big`, "data-testid": "decision" }, d.decision)),
        h("div", {}, h("div", { class: "muted small" }, "fraud probability"), h("div", { class: "big", "data-testid": "score" }, d.score.toFixed(3)),
          (() => { const m = h("div", { class: "meter" }, h("span")); m.firstChild.style.width = `${(d.score * 100).toFixed(1)}%`; return m; })()),
        h("div", {}, h("div", { class: "muted small" }, "decided by"), h("div", { "data-testid": "rule" }, d.rule || `the model (v${d.model_version})`))),
      h("h2", {}, "Reasons"),
      d.reasons.length ? h("ul", { "data-testid": "reasons" }, d.reasons.map((x) => h("li", {}, x))) : h("p", { class: "muted", "data-testid": "reasons" }, "No feature raised the risk."),
      h("p", { class: "muted small" }, `${r.ms.toFixed(0)} ms`),
      h("div", { class: "row" }, h("span", { class: "muted small" }, "Send the true label back:"),
        h("button", { type: "button", "data-testid": "label-fraud", onclick: () => label(true) }, "It was fraud"),
        h("button", { type: "button", class: "plain", "data-testid": "label-legit", onclick: () => label(false) }, "It was legitimate"))));
  } }, controls, h("div", {}, h("button", { type: "submit", "data-testid": "score-button" }, "Score transaction")));
  return [h("h1", {}, "Checkout check"),
    h("p", { class: "muted small" }, `The fields the served fraud model (v${fields.data.model_version}) reads; * = required.`), form, out];
}

// ---------------------------------------------------------------- planner
function chart(history, points) {
  const W = 1000, H = 320, L = 56, R = 16, T = 16, B = 36;
  const series = [...history.map((p) => ({ date: p.date, y: p.quantity })), ...points.map((p) => ({ date: p.date, y: p.mean }))];
  const n = series.length;
  const ys = [...history.map((p) => p.quantity).filter((v) => v !== null), ...points.flatMap((p) => [p.lower, p.upper, p.mean])];
  const yMax = Math.max(1, ...ys) * 1.08, yMin = Math.min(0, ...ys);
  const x = (i) => L + (i * (W - L - R)) / Math.max(1, n - 1);
  const y = (v) => T + (H - T - B) * (1 - (v - yMin) / (yMax - yMin));
  const off = history.length;
  const line = (pts) => pts.map(([i, v], k) => `${k ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join("");
  const hist = history.map((p, i) => [i, p.quantity]).filter(([, v]) => v !== null);
  const mean = points.map((p, i) => [off + i, p.mean]);
  const band = points.map((p, i) => [off + i, p.upper]).concat(points.map((p, i) => [off + i, p.lower]).reverse());
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => yMin + f * (yMax - yMin));
  const every = Math.max(1, Math.ceil(n / 8));
  return s("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, "data-testid": "chart" },
    ticks.map((v) => [s("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#e6e9ef" }),
      s("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#5d6675" }, v.toFixed(v < 10 ? 1 : 0))]),
    series.map((p, i) => (i % every ? null : s("text", { x: x(i), y: H - 12, "text-anchor": "middle", "font-size": 11, fill: "#5d6675" }, p.date.slice(5)))),
    off ? s("line", { x1: x(off - 0.5), x2: x(off - 0.5), y1: T, y2: H - B, stroke: "#9aa3b2", "stroke-dasharray": "4 4" }) : null,
    s("path", { d: line(band) + "Z", fill: "#cfdcf7", stroke: "none", "data-testid": "interval" }),
    hist.length ? s("path", { d: line(hist), fill: "none", stroke: "#4a4f59", "stroke-width": 2, "data-testid": "history-line" }) : null,
    s("path", { d: line(mean), fill: "none", stroke: "#2457c5", "stroke-width": 2.5, "data-testid": "forecast-line" }),
    mean.map(([i, v]) => s("circle", { cx: x(i), cy: y(v), r: 2.5, fill: "#2457c5", "data-testid": "point" })));
}

async function plannerPage() {
  const p = params();
  const state = { item: p.get("item") || "", store: p.get("store") || "", horizon: p.get("horizon") || "28",
    lead_time: p.get("lead_time") || "7", service_level: p.get("service_level") || "0.95", on_hand: p.get("on_hand") || "0" };
  const field = (name, label, attrs = {}) => h("label", {}, label, h("input", { name, value: state[name], ...attrs }));
  const form = h("form", { class: "grid card", "data-testid": "planner-form", onsubmit: (ev) => {
    ev.preventDefault();
    go("/console/planner", Object.fromEntries(new FormData(ev.target).entries()));
  } }, field("item", "item id *", { required: true }), field("store", "store id (empty: all stores)"),
  field("horizon", "horizon (periods)", { type: "number", min: 1 }), field("lead_time", "lead time (periods)", { type: "number", min: 1 }),
  field("service_level", "service level", { type: "number", step: "0.01", min: "0.5", max: "0.999" }),
  field("on_hand", "on hand + on order", { type: "number", min: 0, step: "any" }),
  h("div", {}, h("button", { type: "submit" }, "Forecast")));
  if (!state.item) {
    const picks = await api("GET", "/v1/trending?k=6");
    return [h("h1", {}, "Planner"), form, picks.ok ? h("p", { class: "small" }, "Trending items: ",
      picks.data.items.map((i, n) => [n ? ", " : "", h("a", { href: `/console/planner?item=${encodeURIComponent(i.item_id)}` }, i.item_id)])) : null];
  }
  const body = { item_id: state.item, horizon: Number(state.horizon), history: true };
  if (state.store) body.store_id = state.store;
  const q = new URLSearchParams({ lead_time: state.lead_time, service_level: state.service_level, on_hand: state.on_hand });
  if (state.store) q.set("store_id", state.store);
  const [fc, advice] = await Promise.all([api("POST", "/v1/forecast", body), api("GET", `/v1/inventory/${encodeURIComponent(state.item)}/reorder?${q}`)]);
  if (!fc.ok) return [h("h1", {}, "Planner"), form, problem(fc)];
  const d = fc.data;
  const total = d.points.reduce((a, pt) => a + pt.mean, 0);
  const a = advice.data;
  return [
    h("h1", {}, `Planner: ${state.item}${state.store ? ` in store ${state.store}` : " (all stores)"}`), form,
    h("div", { class: "legend" }, h("span", {}, h("i", { class: "lg-hist" }), "recent sales"), h("span", {}, h("i", { class: "lg-mean" }), "forecast"),
      h("span", {}, h("i", { class: "lg-band" }), "prediction interval"),
      h("span", {}, `${d.points.length} periods, ${total.toFixed(1)} units expected (model v${d.model_version})`)),
    chart(d.history || [], d.points),
    h("h2", {}, "Reorder advice"),
    advice.ok ? h("table", { "data-testid": "reorder" },
      [["lead-time demand", a.lead_time_demand], ["demand std", a.demand_std], ["safety stock", a.safety_stock],
        ["reorder point", a.reorder_point], ["order up to", a.order_up_to], ["suggested order", a.suggested_order_quantity]]
        .map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", { "data-testid": `reorder-${k.replaceAll(" ", "-")}` }, fmt(v, 1)))))
      : problem(advice),
  ];
}

// ---------------------------------------------------------------- models
async function modelsPage() {
  const r = await api("GET", "/v1/admin/models");
  if (!r.ok) return [h("h1", {}, "Models"), problem(r)];
  const promote = async (family, version) => {
    const res = await api("POST", `/v1/admin/models/${family}/promote`, { version });
    sessionStorage.setItem("shelfwise.modelsNote", res.ok ? `${family}: version ${version} is champion (this server: ${res.data.outcome}).` : "");
    if (!res.ok) return page.prepend(problem(res));
    render();
  };
  const note = sessionStorage.getItem("shelfwise.modelsNote");
  sessionStorage.removeItem("shelfwise.modelsNote");
  const sections = Object.entries(r.data.families).map(([family, f]) => {
    const champion = f.versions.find((v) => v.aliases.includes("champion"));
    return h("section", { "data-family": family }, h("h2", {}, family, h("span", { class: "badge" }, `serving v${f.served_version || "none"}`)),
      f.versions.length ? h("table", {}, h("tr", {}, ["version", "aliases", "metric", "value [95% interval]", "cases", "registered", ""].map((t) => h("th", {}, t))),
        f.versions.map((v) => h("tr", { "data-version": v.version },
          h("td", {}, `v${v.version}`),
          h("td", {}, v.aliases.map((a) => h("span", { class: `badge ${a === "champion" ? "ok" : "warn"}` }, a))),
          h("td", {}, v.primary_metric || ""),
          h("td", {}, v.value === null ? "" : `${fmt(v.value, 4)} [${fmt(v.ci_low, 4)}, ${fmt(v.ci_high, 4)}]`),
          h("td", {}, v.n_cases === null ? "" : Math.round(v.n_cases).toLocaleString()),
          h("td", { class: "small muted" }, v.created ? new Date(v.created).toISOString().slice(0, 16).replace("T", " ") : ""),
          h("td", {}, v.aliases.includes("champion") ? "" : h("button", { class: "plain", "data-testid": "promote",
            onclick: () => promote(family, v.version) },
          champion && Number(v.version) < Number(champion.version) ? `Roll back to v${v.version}` : `Promote v${v.version}`)))))
        : h("p", { class: "muted" }, "No version registered."));
  });
  return [h("h1", {}, "Models"), note ? h("div", { class: "note", "data-testid": "models-note" }, note) : null, sections];
}

// ---------------------------------------------------------------- router
const PAGES = { "": homePage, search: searchPage, shopper: shopperPage, item: itemPage, checkout: checkoutPage, planner: plannerPage, models: modelsPage };
let rendering = 0;

async function render() {
  const name = location.pathname.replace(/^\/console\/?/, "").split("/")[0];
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.page === name);
  const view = PAGES[name];
  const ticket = ++rendering;
  page.setAttribute("aria-busy", "true");
  const content = view ? await view() : [h("h1", {}, "Not found"), h("p", {}, h("a", { href: "/console" }, "Back to the console"))];
  if (ticket !== rendering) return; // a newer navigation won
  page.replaceChildren(...[content].flat(Infinity).filter(Boolean));
  page.setAttribute("aria-busy", "false");
  document.title = `Shelfwise console · ${name || "home"}`;
}

// Same-origin console links navigate without reloading the page.
document.addEventListener("click", (ev) => {
  const a = ev.target.closest("a");
  if (!a || !a.getAttribute("href") || !a.getAttribute("href").startsWith("/console") || ev.metaKey || ev.ctrlKey) return;
  ev.preventDefault();
  history.pushState(null, "", a.getAttribute("href"));
  render();
});
window.addEventListener("popstate", render);

keyFromFragment();
showKey();
render();
