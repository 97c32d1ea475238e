// The hotline handler's intake form (/intake): while the handler types, it shows the category the
// classifier suggests (POST /api/v1/classify), the place the address resolves to (POST /api/v1/geocode)
// and who routing would dispatch to (POST /api/v1/routing/preview), then saves the order
// (POST /api/v1/orders) with the category and area the handler confirmed.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const el = cy.el;
  const WAIT_MS = 350; // typing pause before asking the server
  let category = null;  // chosen code
  let located = null;   // the geocode answer, or null
  let street = null;
  let seq = 0;          // answers to stale questions are dropped

  function debounce(fn) { let t = null; return () => { clearTimeout(t); t = setTimeout(fn, WAIT_MS); }; }

  async function classify() {
    const text = $("text").value.trim();
    const mine = ++seq;
    if (!text) { $("categories").replaceChildren(el("span", "输入诉求内容后显示", "hint")); category = null; return preview(); }
    try {
      const answer = await cy.api("/api/v1/classify", { method: "POST", body: { text, street } });
      if (mine !== seq) return;
      const chips = answer.candidates.map((c, i) => {
        const b = el("button", `${c.name}（${Math.round(c.confidence * 100)}%）`);
        b.type = "button"; b.dataset.code = c.code;
        b.addEventListener("click", () => { category = c.code; mark(); preview(); });
        if (i === 0 && (!category || !answer.candidates.some((x) => x.code === category))) category = c.code;
        return b;
      });
      $("categories").replaceChildren(...chips);
      if (answer.candidates.length && answer.candidates[0].confidence < 0.5) {
        $("categories").append(el("span", "把握不大，请确认类别", "hint"));
      }
      mark();
    } catch (e) { $("categories").replaceChildren(el("span", e.message, "error")); category = null; }
    preview();
  }

  function mark() {
    for (const b of $("categories").querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.code === category));
  }

  async function locate() {
    const address = $("address").value.trim();
    located = null;
    if (!address) { $("place").replaceChildren(el("span", "输入地址后显示", "hint")); return preview(); }
    try {
      const g = await cy.api("/api/v1/geocode", { method: "POST", body: { address, street } });
      if ($("address").value.trim() !== address) return;
      located = g;
      const where = [g.place?.name, g.area.name, g.grid?.name].filter(Boolean).join(" · ");
      $("place").replaceChildren(el("span", where), el("span", `（把握 ${Math.round(g.confidence * 100)}%）`, "hint"));
    } catch (e) {
      const box = [el("span", e.message, "error")];
      const candidates = (e.details && e.details.candidates) || [];
      if (candidates.length) {
        const chips = el("div", undefined, "chips");
        for (const c of candidates.slice(0, 6)) {
          const b = el("button", c.name + (c.area ? "" : "")); b.type = "button";
          b.addEventListener("click", () => { $("address").value = c.name; locate(); });
          chips.append(b);
        }
        box.push(chips);
      }
      $("place").replaceChildren(...box);
    }
    preview();
  }

  async function preview() {
    if (!located) { $("assignee").replaceChildren(el("span", "识别类别和定位后显示", "hint")); return; }
    try {
      const body = { area: located.area.code, position: { lon: located.point.lon, lat: located.point.lat }, street };
      if (category) body.category = category;
      const p = await cy.api("/api/v1/routing/preview", { method: "POST", body });
      const who = el("strong", p.assignee_name || "需受理员指定");
      $("assignee").replaceChildren(who, el("div", p.note, "hint"));
    } catch (e) { $("assignee").replaceChildren(el("span", e.message, "error")); }
  }

  async function save(ev) {
    ev.preventDefault();
    $("error").textContent = "";
    const name = $("name").value.trim(), phone = $("phone").value.trim();
    const body = {
      source: $("source").value, description: $("text").value.trim(), address: $("address").value.trim() || undefined,
      category: category || undefined, street,
    };
    if (located) body.area = located.area.code;
    if (phone) body.complainant = { name, phone };
    $("save").disabled = true;
    try {
      const o = await cy.api("/api/v1/orders", { method: "POST", body });
      const done = $("done");
      done.replaceChildren(
        el("h2", `已受理：工单 #${o.id}`, "ok"),
        el("p", `${o.category_name || o.category} · ${o.state_label} · 承办人 ${o.assignee_name || "待指定"}`),
        el("p", o.address || "", "hint"));
      done.hidden = false;
      $("form").reset(); category = null; located = null;
      for (const id of ["categories", "place", "assignee"]) $(id).replaceChildren(el("span", "—", "hint"));
    } catch (e) {
      $("error").textContent = e.message;
    } finally { $("save").disabled = false; }
  }

  async function start() {
    const me = await cy.requireLogin($("main"));
    $("who").textContent = `${me.name || me.role_label}（${me.role_label}）`;
    street = me.streets.length === 1 ? me.streets[0] : null;
    $("text").addEventListener("input", debounce(classify));
    $("address").addEventListener("input", debounce(locate));
    $("form").addEventListener("submit", save);
    document.body.dataset.ready = "true";
  }
  start().catch((e) => { $("error").textContent = e.message; });
})();
