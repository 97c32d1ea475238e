// Shared by the community pages: bar charts, dates in Chinese, small form helpers. Uses common.js (`cy`).
"use strict";
const cyc = (() => {
  const WEEK = "日一二三四五六";
  // "12月3日（周四）" for an ISO date (a local date, no time zone arithmetic).
  function day(iso) {
    const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
    const w = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
    return `${m}月${d}日（周${WEEK[w]}）`;
  }
  const hhmm = (iso) => iso.slice(11, 16);
  const pct = (x) => (x === null || x === undefined) ? "—" : (Math.round(x * 1000) / 10) + "%";

  // Horizontal bars: items [{label, value, second?, text?}]; `second` draws a lighter bar behind (e.g. booked
  // behind attended). The longest bar fills the track.
  function bars(root, items, { max, empty = "暂无数据" } = {}) {
    root.replaceChildren();
    root.classList.add("bars");
    if (!items.length) { root.append(cy.el("p", empty, "muted")); return; }
    const top = max || Math.max(...items.map((i) => Math.max(i.value, i.second || 0)), 1);
    for (const item of items) {
      const row = cy.el("div", null, "bar");
      row.dataset.label = item.label;
      const track = cy.el("div", null, "track");
      if (item.second !== undefined) {
        const back = cy.el("div", null, "fill second");
        back.style.width = (100 * item.second / top) + "%";
        track.append(back);
      }
      const fill = cy.el("div", null, "fill");
      fill.style.width = (100 * item.value / top) + "%";
      track.append(fill);
      row.append(cy.el("span", item.label), track, cy.el("span", item.text ?? String(item.value), "value"));
      root.append(row);
    }
  }

  function show(root, message, cls = "notice") {
    const p = cy.el("p", message, cls);
    p.setAttribute("role", cls === "error" ? "alert" : "status");
    root.replaceChildren(p);
  }

  // The street a public page is about: `?street=` in the address, or the deployment's only street.
  const street = () => new URLSearchParams(location.search).get("street") || "";
  const withStreet = (path) => street() ? path + (path.includes("?") ? "&" : "?") + "street=" + encodeURIComponent(street()) : path;

  // Codes a resident was given, kept in this browser so "我的预约" can find them again.
  function remember(key, code) {
    const codes = JSON.parse(localStorage.getItem(key) || "[]");
    if (!codes.includes(code)) codes.unshift(code);
    localStorage.setItem(key, JSON.stringify(codes.slice(0, 20)));
  }
  const remembered = (key) => JSON.parse(localStorage.getItem(key) || "[]");

  // The resident's own bookings (sign-ups, applications) this browser kept codes for, each looked up at
  // `path` + code and drawn by `render`; a code that no longer resolves is left out.
  async function mine(root, key, path, render) {
    const codes = remembered(key);
    if (!codes.length) return;
    const cards = [];
    for (const code of codes) {
      try { cards.push(render(await cy.api(path + encodeURIComponent(code)))); } catch (e) { /* left out */ }
    }
    root.replaceChildren(...cards);
  }

  // A button that POSTs to `path`, then runs `done`; a refusal shows in `where`.
  function action(label, path, done, where, cls = "ghost") {
    const b = cy.el("button", label, cls);
    b.type = "button";
    b.addEventListener("click", async () => {
      try { await cy.api(path, { method: "POST" }); await done(); }
      catch (e) { where.append(cy.el("p", e.message, "error")); }
    });
    return b;
  }

  return { day, hhmm, pct, bars, show, street, withStreet, remember, remembered, mine, action };
})();
