// Shared by every page: log-in with an API token, calls to /api/v1, Chinese error messages.
// A page includes <script src="/static/common.js"></script> and calls `cy.requireLogin()` first.
"use strict";
const cy = (() => {
  const KEY = "chengyun.token";
  // `#token=…` in the address (what `chengyun demo` prints) logs in and is then removed from the address bar.
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    localStorage.setItem(KEY, fromHash);
    history.replaceState(null, "", location.pathname + location.search);
  }
  const token = () => localStorage.getItem(KEY);

  class ApiError extends Error {
    constructor(status, code, message, details) { super(message); this.status = status; this.code = code; this.details = details; }
  }

  async function api(path, { method = "GET", body, headers = {} } = {}) {
    const init = { method, headers: { Authorization: "Bearer " + token(), ...headers } };
    if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
    const r = await fetch(path, init);
    const type = r.headers.get("content-type") || "";
    const data = type.includes("json") ? await r.json() : await r.text();
    if (!r.ok) {
      const e = (data && data.error) || {};
      if (r.status === 401) logout();
      throw new ApiError(r.status, e.code || String(r.status), e.message || "请求失败（" + r.status + "）", e.details);
    }
    return data;
  }

  function logout() { localStorage.removeItem(KEY); }

  // Resolves with the logged-in token's identity (GET /api/v1/me), or shows a log-in form in place of
  // `root` and resolves once a working token has been entered.
  async function requireLogin(root = document.body) {
    if (token()) {
      try { return await api("/api/v1/me"); } catch (e) { if (e.status !== 401) throw e; }
    }
    return new Promise((resolve) => {
      const form = document.createElement("form");
      form.className = "cy-login";
      form.innerHTML = '<h2>登录城运平台</h2><label>访问令牌 <input name="token" autocomplete="off" required></label>' +
        '<button type="submit">登录</button><p class="cy-error" role="alert"></p>';
      const saved = [...root.childNodes];
      root.replaceChildren(form);
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        localStorage.setItem(KEY, form.token.value.trim());
        try {
          const me = await api("/api/v1/me");
          root.replaceChildren(...saved);
          resolve(me);
        } catch (e) {
          form.querySelector(".cy-error").textContent = e.status === 401 ? "令牌无效或已过期" : e.message;
        }
      });
    });
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  return { api, ApiError, token, logout, requireLogin, el };
})();
