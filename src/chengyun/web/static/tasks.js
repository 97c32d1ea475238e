// The area manager's list (/tasks): the orders assigned to the logged-in person, the time left on each
// (ticking on the server's clock), and one button for the next step: respond (先联), arrive on site
// (with the phone's position), handled (with a note), close the loop (with the feedback). Updated live.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const el = cy.el;
  // A safety net only: the live feed brings every change of the person's orders (and resumes after a drop
  // with Last-Event-ID); the time left ticks on the page. Every open list of a district re-read every 30 s
  // was most of a busy hour's requests (bench/README.md, "district_load.py").
  const PERIODIC_MS = 300000;
  let me = null;
  let shown = new Set(); // ids of the orders on the list: their events reload it
  let serverAt = Date.now(), readAt = Date.now(), speed = 1;
  const serverNow = () => serverAt + (Date.now() - readAt) * speed;
  const fmt = new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", hour12: false, hour: "2-digit", minute: "2-digit" });

  // The next step of an order in each state: [action path, button label, what the note is for (none: no note)].
  const NEXT = {
    dispatched: ["respond", "响应（已联系诉求人）", null],
    responded: ["arrive", "到场签到", null],
    on_site: ["handle", "处置完成", "处置情况"],
    planned: ["handle", "处置完成", "处置情况"],
    handled: ["close-loop", "反馈闭环", "反馈内容"],
  };

  function left(dueIso) {
    if (!dueIso) return { text: "—", late: false };
    const s = Math.round((Date.parse(dueIso) - serverNow()) / 1000);
    const a = Math.abs(s), m = Math.floor(a / 60), r = a % 60;
    return { text: (s < 0 ? "已超期 " : "剩余 ") + m + "分" + String(r).padStart(2, "0") + "秒", late: s < 0 };
  }

  function position() {
    return new Promise((resolve, reject) => {
      if (!navigator.geolocation) { reject(new Error("此设备无法定位，不能到场签到")); return; }
      navigator.geolocation.getCurrentPosition(
        (p) => resolve({ lon: p.coords.longitude, lat: p.coords.latitude }),
        () => reject(new Error("未能获取定位：请允许本页面使用位置信息后再签到")),
        { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
    });
  }

  function card(o) {
    const box = el("article", undefined, "card order " + o.colour);
    box.dataset.id = o.id;
    const stage = o.clocks.find((c) => !c.done_at);
    const l = left(o.next_due_at);
    const remaining = el("div", l.text, "left" + (l.late ? " late" : ""));
    remaining.dataset.due = o.next_due_at || "";
    box.append(
      el("h2", `#${o.id} ${o.category_name || o.category}`),
      el("div", `${o.colour_label} · ${o.state_label}${stage ? " · " + stage.label + "时限 " + fmt.format(new Date(stage.due_at)) : ""}`, "meta"),
      remaining,
      el("p", o.description),
      el("p", o.address || "", "hint"));
    for (const c of o.complainants) {
      const call = el("a", `联系 ${c.name || "诉求人"} ${c.phone}`); if (!c.masked) call.href = "tel:" + c.phone;
      const line = el("p", undefined, "hint"); line.append(call); box.append(line);
    }
    const next = NEXT[o.state];
    if (next) {
      const [action, label, noteFor] = next;
      const actions = el("div", undefined, "actions");
      let note = null;
      if (noteFor) {
        note = el("textarea"); note.placeholder = noteFor + (action === "close-loop" ? "（如：已回访诉求人，结果确认）" : "（如：现场已处置，拍照留档）"); note.className = "note"; note.setAttribute("aria-label", noteFor);
        actions.append(note);
      }
      const button = el("button", label); button.type = "button"; button.dataset.action = action;
      const error = el("p", "", "error");
      button.addEventListener("click", async () => {
        error.textContent = "";
        if (note && !note.value.trim()) { error.textContent = `请填写${noteFor}`; note.focus(); return; }
        button.disabled = true;
        try {
          const body = {};
          if (note) body.note = note.value.trim();
          if (action === "arrive") body.position = await position();
          if (action === "respond") { try { body.position = await position(); } catch { /* optional */ } }
          await cy.api(`/api/v1/orders/${o.id}/${action}`, { method: "POST", body });
          await load();
        } catch (e) { error.textContent = e.message; button.disabled = false; }
      });
      actions.append(button);
      box.append(actions, error);
    }
    return box;
  }

  async function load() {
    const who = encodeURIComponent(me.staff_id);
    const [open, handled] = await Promise.all([
      cy.api(`/api/v1/orders?assignee=${who}&group=open&limit=200`),
      cy.api(`/api/v1/orders?assignee=${who}&state=handled&limit=200`),
    ]);
    const orders = [...open.items, ...handled.items]
      .sort((a, b) => (a.next_due_at || "9").localeCompare(b.next_due_at || "9"));
    shown = new Set(orders.map((o) => o.id));
    // Keep what the person is typing across the reload (a live update must not wipe a half-written note).
    const typed = new Map([...document.querySelectorAll("article.order")].map((a) => [a.dataset.id + a.querySelector("button")?.dataset.action, a.querySelector("textarea")?.value]));
    $("list").replaceChildren(...(orders.length ? orders.map(card) : [el("p", "暂无待办工单", "empty")]));
    for (const a of document.querySelectorAll("article.order")) {
      const text = typed.get(a.dataset.id + a.querySelector("button")?.dataset.action);
      const area = a.querySelector("textarea");
      if (text && area) area.value = text;
    }
  }

  function tick() {
    for (const cell of document.querySelectorAll("[data-due]")) {
      const l = left(cell.dataset.due); cell.textContent = l.text; cell.classList.toggle("late", l.late);
    }
  }

  async function start() {
    me = await cy.requireLogin($("main"));
    $("who").textContent = `${me.name || me.role_label}（${me.role_label}）`;
    if (!me.staff_id) { $("list").replaceChildren(el("p", "该令牌未绑定人员，无法列出本人的工单", "empty")); return; }
    const health = await cy.api("/api/v1/health");
    serverAt = Date.parse(health.time); readAt = Date.now(); speed = health.clock_speed;
    await load();
    // Someone dispatched, reassigned or supervised one of the person's orders: reload (the list is short).
    // Only events that concern the person: an order now assigned to them, or one on their list (moved on,
    // reassigned away). The street's other orders' events would reload every open list of the street.
    const source = new EventSource("/api/v1/events?access_token=" + encodeURIComponent(cy.token()));
    let timer = null, dropped = false;
    source.onerror = () => { dropped = true; };
    source.onopen = () => { if (dropped) { dropped = false; load().catch(() => {}); } };  // back after a drop
    source.addEventListener("order", (m) => {
      const ev = JSON.parse(m.data);
      if (ev.assignee !== me.staff_id && !shown.has(ev.order_id)) return;
      clearTimeout(timer); timer = setTimeout(() => load().catch(() => {}), 300);
    });
    setInterval(() => load().catch(() => {}), PERIODIC_MS);
    setInterval(tick, 1000);
    document.body.dataset.ready = "true";
  }
  start().catch((e) => { $("error").textContent = e.message; });
})();
