// The wall screen (/screen): the street's map with its live orders, alarms and 14,000+ sensors, and the
// figures around it. Data: /api/v1/screen/* and /api/v1/places; live: the SSE feed with alarm events.
// Each event is shown at once (feed, alarm markers); the figures and order markers are re-read right
// after it (at most every REFRESH_MS), so a change shows within a second. The community programs' panel
// (/api/v1/community/summary) follows no event: it is re-read once a minute. Nothing grows without bound:
// the feed keeps FEED_MAX items, markers are replaced wholesale, the charts are updated in place.
// A panel is redrawn only when what it shows has changed: each keeps the fingerprint of the data it
// last drew (`drawn`), so the re-reads that follow every event and every half minute cost a comparison,
// not a chart's redraw, when nothing moved.
"use strict";
(() => {
  const REFRESH_MS = 400;          // the quickest the figures are re-read after events
  const SENSORS_REFRESH_MS = 5000; // the sensor layer is bigger: at most this often after alarm events
  const MARKERS_MS = 250;          // alarm markers: a burst of alarm events is drawn once, this long after its first
  const PERIODIC_MS = 30000;       // re-read anyway (deadlines pass with time, not only with events)
  const FEED_MAX = 40;
  const FEED_BACKLOG = 20;
  const URGENT_MAX = 9;
  const COMMUNITY_MS = 60000;      // the community programs change slowly: their panel is re-read once a minute
  const PROJECTS_MAX = 3;          // renovation projects the panel has room for
  const COLOURS = { red: "#e5484d", orange: "#f76b15", yellow: "#ffc53d", blue: "#3e8cf5", green: "#30a46c" };
  const COLOUR_LABELS = { red: "红", orange: "橙", yellow: "黄", blue: "蓝", green: "绿" };
  const STATUS_COLOURS = ["#38bdf8", "#64748b", "#e5484d"]; // sensor point: normal, offline, alarm
  const $ = (id) => document.getElementById(id);
  const el = cy.el;
  const S = () => Math.max(0.7, window.innerWidth / 1920); // chart text scales with the wall
  const px = (n) => Math.round(n * S());

  // The server's clock may be simulated and faster (drills, the demo): extrapolate it from one reading.
  let serverAt = Date.now(), readAt = Date.now(), speed = 1;
  const serverNow = () => serverAt + (Date.now() - readAt) * speed;
  const tz = { timeZone: "Asia/Shanghai", hour12: false };
  const fmtTime = new Intl.DateTimeFormat("zh-CN", { ...tz, hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const fmtHm = new Intl.DateTimeFormat("zh-CN", { ...tz, hour: "2-digit", minute: "2-digit" });
  const fmtDate = new Intl.DateTimeFormat("zh-CN", { ...tz, year: "numeric", month: "long", day: "numeric", weekday: "short" });
  const fmtDay = new Intl.DateTimeFormat("zh-CN", { ...tz, month: "long", day: "numeric", weekday: "short" });

  let street = null;
  let markers = [];          // live orders (GET /screen/orders items)
  let alarms = new Map();    // active alarms by id, for the map
  let areasById = new Map(); // area figures by code (GET /screen/overview)
  let places = null;         // GeoJSON of the street
  let detail = null;         // {kind: "order"|"alarm"|"area", id}
  const charts = {};
  const drawn = {};          // panel -> fingerprint of the data it shows now
  let lastOverview = null, lastSensors = null, lastCommunity = null; // redrawn from these on a resize

  // True (and remembered) when `data` differs from what `panel` last drew.
  function changed(panel, data) {
    const key = typeof data === "string" ? data : JSON.stringify(data);
    if (drawn[panel] === key) return false;
    drawn[panel] = key;
    return true;
  }

  // The sensor layer is 14,000+ points: a hash of positions and states instead of their JSON text.
  function pointsKey(points) {
    let h = 2166136261;
    for (const p of points) {
      h = Math.imul(h ^ Math.round(p[0] * 1e6), 16777619);
      h = Math.imul(h ^ Math.round(p[1] * 1e6), 16777619);
      h = Math.imul(h ^ p[3], 16777619);
    }
    return points.length + ":" + (h >>> 0);
  }

  function left(dueIso) {
    if (!dueIso) return { text: "", late: false };
    const s = Math.round((Date.parse(dueIso) - serverNow()) / 1000);
    const a = Math.abs(s), m = Math.floor(a / 60), r = a % 60;
    const text = (m >= 60 ? Math.floor(m / 60) + "时" + String(m % 60).padStart(2, "0") + "分" : m + "分" + String(r).padStart(2, "0") + "秒");
    return { text: (s < 0 ? "超期 " : "剩 ") + text, late: s < 0 };
  }
  const pct = (share) => (share === null || share === undefined ? "—" : Math.round(share * 100) + "%");

  // --- charts ----------------------------------------------------------------------------------------

  function chart(id) {
    if (!charts[id]) charts[id] = echarts.init($(id), "dark", { renderer: "canvas" });
    return charts[id];
  }
  const base = () => ({ backgroundColor: "transparent", textStyle: { fontFamily: "Noto Sans CJK SC, sans-serif", fontSize: px(13) }, animationDuration: 400 });

  function drawSources(counters) {
    const items = counters.by_source;
    if (!changed("sources", items)) return;
    chart("c-sources").setOption({
      ...base(),
      grid: { left: px(78), right: px(36), top: px(4), bottom: px(4) },
      xAxis: { type: "value", show: false, minInterval: 1 },
      yAxis: { type: "category", inverse: true, data: items.map((s) => s.label), axisTick: { show: false },
               axisLine: { show: false }, axisLabel: { color: "#8ea3c5", fontSize: px(12) } },
      series: [{ type: "bar", data: items.map((s) => s.count), barWidth: "58%", barMaxWidth: px(14), itemStyle: { borderRadius: px(3),
               color: new echarts.graphic.LinearGradient(0, 0, 1, 0, [{ offset: 0, color: "#1d6fa5" }, { offset: 1, color: "#4cc9f0" }]) },
               label: { show: true, position: "right", color: "#e6eefc", fontSize: px(12) } }],
    });
  }

  function drawCompliance(stages) {
    if (!changed("compliance", stages)) return;
    const n = stages.length;
    const c = chart("c-compliance");
    const r = Math.min(c.getWidth() / n / 2, c.getHeight() * 0.44) * 0.92; // outer radius in px
    const series = [];
    stages.forEach((s, i) => {
      const centre = [((i + 0.5) / n) * 100 + "%", "48%"];
      const ring = (radius, width, value, color, detail) => ({
        type: "gauge", center: centre, radius, startAngle: 225, endAngle: -45, min: 0, max: 100,
        progress: { show: true, width, roundCap: true, itemStyle: { color } },
        axisLine: { lineStyle: { width, color: [[1, "rgba(255,255,255,0.07)"]] } },
        pointer: { show: false }, axisTick: { show: false }, splitLine: { show: false }, axisLabel: { show: false },
        anchor: { show: false }, title: { show: false }, detail, data: [{ value }],
      });
      const today = s.today.share, week = s.week.share;
      const colour = today === null ? "#3b4d6b" : today >= 0.95 ? COLOURS.green : today >= 0.8 ? COLOURS.yellow : COLOURS.red;
      series.push(ring(r, px(9), today === null ? 0 : Math.round(today * 100), colour, {
        show: true, offsetCenter: [0, "-6%"], fontSize: px(24), fontWeight: 600, color: "#e6eefc",
        formatter: () => pct(today) }));
      series.push(ring(r * 0.74, px(5), week === null ? 0 : Math.round(week * 100), "#4cc9f0", {
        show: true, offsetCenter: [0, "38%"], fontSize: px(11), color: "#8ea3c5",
        formatter: () => "本周 " + pct(week) }));
    });
    const titles = stages.map((s, i) => ({
      text: s.label + "　" + (s.stage === "respond" ? "5分" : s.stage === "arrive" ? "15分" : "30分"),
      left: ((i + 0.5) / n) * 100 + "%", top: "84%", textAlign: "center",
      textStyle: { fontSize: px(13), color: "#bcd3f5", fontWeight: 500 },
    }));
    c.setOption({ ...base(), title: titles, series }, { replaceMerge: ["series", "title"] });
  }

  function drawHourly(hourly) {
    if (!changed("hourly", hourly)) return;
    const hours = [...Array(24).keys()];
    const series = [{
      name: "今日", type: "bar", data: hourly.today, barWidth: "55%",
      itemStyle: { borderRadius: [px(3), px(3), 0, 0], color: new echarts.graphic.LinearGradient(0, 0, 0, 1, [{ offset: 0, color: "#4cc9f0" }, { offset: 1, color: "#1d4f8a" }]) },
    }];
    if (hourly.usual) {
      series.push({ name: "往日平均", type: "line", data: hourly.usual, smooth: true, symbol: "none",
                    lineStyle: { color: "#ffc53d", width: px(2), type: "dashed" }, areaStyle: { color: "rgba(255,197,61,0.06)" } });
    }
    $("usual-note").textContent = hourly.usual ? `对比往日同时段平均（近 ${hourly.usual_days} 天）` : "暂无往日数据可比";
    chart("c-hourly").setOption({
      ...base(),
      legend: { right: px(8), top: 0, textStyle: { color: "#8ea3c5", fontSize: px(12) }, itemHeight: px(8) },
      tooltip: { trigger: "axis" },
      grid: { left: px(34), right: px(12), top: px(26), bottom: px(22) },
      xAxis: { type: "category", data: hours.map((h) => h + "时"), axisLabel: { color: "#8ea3c5", fontSize: px(11), interval: 1 },
               axisLine: { lineStyle: { color: "#1e3a66" } } },
      yAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "rgba(30,58,102,0.5)" } }, axisLabel: { color: "#8ea3c5", fontSize: px(11) } },
      series,
    }, { replaceMerge: ["series"] });
  }

  // The ranking: each area's bar ends in its count (and overdue, in red); the axis leaves room for that
  // label inside the plot. The week's on-time share is a column of its own on the right, so the labels
  // never run into each other or out of the panel.
  function drawAreas(areas) {
    const rows = areas.slice(0, 12);
    if (!changed("areas", rows.map((a) => [a.code, a.name, a.received, a.overdue, a.on_time_share]))) return;
    const names = rows.map((a) => a.name.replace("居民区", ""));
    const share = (a) => a.on_time_share;
    chart("c-areas").setOption({
      ...base(),
      grid: { left: px(62), right: px(78), top: px(4), bottom: px(4) },
      xAxis: { type: "value", show: false, min: 0, max: (v) => Math.max(1, v.max) * 1.55 },
      yAxis: [
        { type: "category", inverse: true, data: names, axisTick: { show: false }, axisLine: { show: false },
          axisLabel: { interval: 0, color: "#bcd3f5", fontSize: px(12), width: px(56), overflow: "truncate" } },
        { type: "category", inverse: true, position: "right", data: rows.map((a) => a.code), axisTick: { show: false }, axisLine: { show: false },
          axisLabel: { interval: 0, fontSize: px(12), align: "right", margin: px(70), formatter: (code, i) => {
            const v = share(rows[i]);
            return v === null || v === undefined ? "{none|按时 —}" : `{${v >= 0.95 ? "good" : v >= 0.8 ? "fair" : "poor"}|按时 ${pct(v)}}`;
          }, rich: { none: { color: "#8ea3c5", fontSize: px(12) }, good: { color: "#30a46c", fontSize: px(12) },
                     fair: { color: "#ffc53d", fontSize: px(12) }, poor: { color: "#e5484d", fontSize: px(12) } } } },
      ],
      series: [
        { name: "今日受理", type: "bar", data: rows.map((a) => ({ value: a.received, code: a.code })), barWidth: "56%", barMaxWidth: px(18),
          itemStyle: { borderRadius: px(3), color: new echarts.graphic.LinearGradient(0, 0, 1, 0, [{ offset: 0, color: "#1d4f8a" }, { offset: 1, color: "#4cc9f0" }]) },
          label: { show: true, position: "right", distance: px(5), fontSize: px(12), color: "#e6eefc",
                   formatter: (p) => `${p.value} 件` + (rows[p.dataIndex].overdue ? `{late| 超期 ${rows[p.dataIndex].overdue}}` : ""),
                   rich: { late: { color: "#ff8b8e", fontSize: px(12) } } } },
        { name: "超期", type: "bar", barGap: "-100%", data: rows.map((a) => ({ value: a.overdue, code: a.code })), barWidth: "56%", barMaxWidth: px(18),
          itemStyle: { borderRadius: px(3), color: "rgba(229,72,77,0.9)" }, silent: true },
      ],
    }, { replaceMerge: ["yAxis", "series"] });
  }

  function drawSensorHealth(s) {
    if (!changed("sensor-health", [s.total, s.online, s.online_share, s.by_kind, s.alarms_by_colour])) return;
    const share = s.online_share === null ? 0 : s.online_share * 100;
    chart("c-online").setOption({
      ...base(),
      series: [{
        type: "gauge", radius: "86%", center: ["50%", "52%"], startAngle: 90, endAngle: -270, min: 0, max: 100,
        progress: { show: true, width: px(11), itemStyle: { color: share >= 95 ? COLOURS.green : share >= 85 ? COLOURS.yellow : COLOURS.red } },
        axisLine: { lineStyle: { width: px(11), color: [[1, "rgba(255,255,255,0.07)"]] } },
        pointer: { show: false }, axisTick: { show: false }, splitLine: { show: false }, axisLabel: { show: false },
        title: { show: true, offsetCenter: [0, "30%"], fontSize: px(12), color: "#8ea3c5" },
        detail: { offsetCenter: [0, "-8%"], fontSize: px(24), fontWeight: 600, color: "#e6eefc", formatter: () => (s.online_share === null ? "—" : share.toFixed(1) + "%") },
        data: [{ value: share, name: "在线率" }],
      }],
    });
    const kinds = s.by_kind.slice().sort((a, b) => b.alarms - a.alarms || b.total - a.total).slice(0, 7);
    chart("c-kinds").setOption({
      ...base(),
      title: { text: s.by_kind.some((k) => k.alarms) ? "" : "当前无告警", right: px(8), top: px(2), textStyle: { fontSize: px(11), color: "#30a46c", fontWeight: "normal" } },
      grid: { left: px(74), right: px(44), top: px(6), bottom: px(4) },
      xAxis: { type: "value", show: false, minInterval: 1 },
      yAxis: { type: "category", inverse: true, data: kinds.map((k) => k.label), axisTick: { show: false }, axisLine: { show: false },
               axisLabel: { color: "#8ea3c5", fontSize: px(11) } },
      series: [{ type: "bar", data: kinds.map((k) => k.alarms), barWidth: "52%", barMaxWidth: px(14), itemStyle: { borderRadius: px(3), color: "#f76b15" },
                 label: { show: true, position: "right", color: "#e6eefc", fontSize: px(11), formatter: (p) => `${p.value} 告警` } }],
    });
    $("sensor-total").textContent = `${s.total.toLocaleString("zh-CN")} 个点位 · 在线 ${s.online.toLocaleString("zh-CN")}`;
    const colours = $("alarm-colours");
    colours.replaceChildren(...s.alarms_by_colour.map((c) => {
      const span = el("span", COLOUR_LABELS[c.colour] + "色告警", "c-" + c.colour); span.append(el("b", String(c.count))); return span;
    }));
  }

  // --- the map ---------------------------------------------------------------------------------------

  const KIND_ORDER = ["street", "area", "grid", "historic_zone", "building"];
  function regionStyle(f) {
    const k = f.properties.kind;
    if (k === "street") return { areaColor: "#0b1a33", borderColor: "#3a6cc4", borderWidth: px(2.5) };
    if (k === "area") return { areaColor: "rgba(24,52,96,0.35)", borderColor: "#2f5fae", borderWidth: px(1.6) };
    if (k === "grid") return { areaColor: "rgba(0,0,0,0)", borderColor: "rgba(63,110,180,0.45)", borderWidth: px(0.8), borderType: "dashed" };
    if (k === "historic_zone") return { areaColor: "rgba(201,162,39,0.10)", borderColor: "#c9a227", borderWidth: px(1.4), borderType: "dashed" };
    const historic = f.properties.historic;
    return { areaColor: historic ? "rgba(140,110,60,0.55)" : "rgba(52,84,132,0.55)", borderColor: historic ? "#8c6e3c" : "#3b5f96", borderWidth: px(0.5) };
  }

  function registerStreetMap(collection) {
    const polys = collection.features
      .filter((f) => KIND_ORDER.includes(f.properties.kind) && /Polygon$/.test(f.geometry.type))
      .sort((a, b) => KIND_ORDER.indexOf(a.properties.kind) - KIND_ORDER.indexOf(b.properties.kind));
    echarts.registerMap("street", { type: "FeatureCollection", features: polys });
    const regions = polys.map((f) => ({
      name: f.properties.code, itemStyle: regionStyle(f),
      label: { show: f.properties.kind === "area", color: "rgba(188,211,245,0.55)", fontSize: px(13), formatter: f.properties.name.replace("居民区", "") },
      emphasis: { disabled: f.properties.kind !== "area" && f.properties.kind !== "building", itemStyle: { areaColor: f.properties.kind === "area" ? "rgba(76,201,240,0.18)" : "rgba(76,201,240,0.6)" }, label: { show: f.properties.kind === "area", color: "#e6eefc" } },
      select: { disabled: true },
      tooltip: { show: f.properties.kind === "area" || f.properties.kind === "building" || f.properties.kind === "historic_zone" },
    }));
    return regions;
  }

  function roadLines(collection) {
    return collection.features.filter((f) => f.properties.kind === "road").flatMap((f) => {
      const g = f.geometry;
      const parts = g.type === "LineString" ? [g.coordinates] : g.coordinates;
      return parts.map((coords) => ({ name: f.properties.name, coords }));
    });
  }

  function roadLabels(collection) {
    return collection.features.filter((f) => f.properties.kind === "road" && f.geometry.type === "LineString").map((f) => {
      const c = f.geometry.coordinates, mid = c[Math.floor(c.length / 2)];
      return { name: f.properties.name, value: mid };
    });
  }

  function pois(collection) {
    return collection.features.filter((f) => f.properties.kind === "poi" && f.geometry.type === "Point")
      .map((f) => ({ name: f.properties.name, value: f.geometry.coordinates, poi: f.properties.poi_kind }));
  }

  function drawMapBase(collection) {
    const regions = registerStreetMap(collection);
    const c = chart("c-map");
    c.setOption({
      ...base(),
      animation: false,
      tooltip: { trigger: "item", confine: true, backgroundColor: "rgba(9,22,44,0.95)", borderColor: "#2f5590", textStyle: { color: "#e6eefc", fontSize: px(13) },
                 formatter: tooltipFor },
      geo: {
        map: "street", nameProperty: "code", roam: true, aspectScale: 0.86, zoom: 1, scaleLimit: { min: 0.8, max: 12 },
        // the box leaves a strip at the bottom for the legend, so it never covers the street's south edge
        top: px(12), bottom: px(54), left: px(12), right: px(12),
        itemStyle: { areaColor: "#0b1a33", borderColor: "#2f5fae" }, regions,
        label: { show: false }, emphasis: { label: { show: false } }, select: { disabled: true },
      },
      series: [
        { id: "roads", type: "lines", coordinateSystem: "geo", polyline: true, silent: true, zlevel: 0, z: 1,
          lineStyle: { color: "rgba(120,160,220,0.55)", width: px(3.5), opacity: 1 }, data: roadLines(collection) },
        { id: "road-names", type: "scatter", coordinateSystem: "geo", symbolSize: 0, silent: true, z: 2,
          label: { show: true, formatter: "{b}", color: "rgba(170,195,235,0.75)", fontSize: px(11) }, data: roadLabels(collection) },
        { id: "sensors", type: "scatter", coordinateSystem: "geo", large: true, largeThreshold: 500, progressive: 0, symbolSize: px(2.2), silent: true, z: 3,
          itemStyle: { color: STATUS_COLOURS[0], opacity: 0.38 }, data: [] },
        { id: "sensors-offline", type: "scatter", coordinateSystem: "geo", large: true, largeThreshold: 500, progressive: 0, symbolSize: px(3), silent: true, z: 3,
          itemStyle: { color: STATUS_COLOURS[1], opacity: 0.85 }, data: [] },
        { id: "pois", type: "scatter", coordinateSystem: "geo", symbol: "diamond", symbolSize: px(7), z: 4,
          itemStyle: { color: "#cbd5e1" }, label: { show: true, position: "right", formatter: "{b}", color: "#cbd5e1", fontSize: px(11) }, data: pois(collection) },
        { id: "orders", type: "scatter", coordinateSystem: "geo", symbol: "pin", z: 6, data: [],
          label: { show: false }, emphasis: { scale: 1.3 } },
        { id: "alarms", type: "scatter", coordinateSystem: "geo", symbol: "triangle", z: 7,
          data: [] },
      ],
    });
    c.on("click", onMapClick);
  }

  function tooltipFor(p) {
    const d = p.data || {};
    if (p.seriesId === "orders") {
      const l = left(d.order.next_due_at);
      return `<b>#${d.order.id} ${d.order.category_name || d.order.category}</b><br>${d.order.state_label} · ${d.order.assignee_name || "未派遣"}<br>${d.order.address || ""}<br><span style="color:${l.late ? "#e5484d" : "#8ea3c5"}">${l.text}</span>`;
    }
    if (p.seriesId === "alarms") return `<b>${d.alarm.sensor_label}告警</b><br>${d.alarm.reason}<br>${d.alarm.state_label}`;
    if (p.seriesId === "pois") return p.name;
    if (p.componentType === "geo") {
      const f = placeByCode.get(p.name);
      if (!f) return "";
      if (f.properties.kind === "area") {
        const a = areasById.get(p.name);
        return `<b>${f.properties.name}</b>` + (a ? `<br>今日 ${a.received} 件 · 在办 ${a.live} · 超期 ${a.overdue}<br>A 角 ${a.a_staff || "—"} · B 角 ${a.b_staff || "—"}` : "");
      }
      return `<b>${f.properties.name}</b>` + (f.properties.address ? "<br>" + f.properties.address : "") + (f.properties.historic ? "<br>历史建筑" : "");
    }
    return "";
  }

  const placeByCode = new Map();

  function onMapClick(p) {
    if (p.seriesId === "orders") showOrder(p.data.order.id);
    else if (p.seriesId === "alarms") showAlarm(p.data.alarm.id);
    else if (p.componentType === "geo") {
      const f = placeByCode.get(p.name);
      if (f && f.properties.kind === "area") showArea(p.name);
      else if (f && f.properties.parent) {
        // a building or a grid: show its area
        let code = f.properties.parent;
        while (code && placeByCode.get(code) && placeByCode.get(code).properties.kind !== "area") code = placeByCode.get(code).properties.parent;
        if (code && areasById.has(code)) showArea(code);
      }
    }
  }

  function drawOrders() {
    const shown = [markers.map((o) => [o.id, o.colour, o.lon, o.lat, o.overdue || left(o.next_due_at).late, o.state, o.category, o.assignee_name, o.address]),
                   [...alarms.values()].map((a) => [a.id, a.colour, a.lon, a.lat, a.state])];
    if (!changed("map-markers", shown)) return;
    const data = markers.filter((o) => o.lon !== null).map((o) => {
      const overdue = o.overdue || left(o.next_due_at).late;
      return {
        name: "#" + o.id, value: [o.lon, o.lat], order: o,
        symbolSize: px(overdue ? 30 : 24),
        itemStyle: { color: COLOURS[o.colour], borderColor: overdue ? "#ffffff" : "rgba(0,0,0,0.4)", borderWidth: overdue ? px(2) : px(1), shadowBlur: px(8), shadowColor: COLOURS[o.colour] },
      };
    });
    const alarmData = [...alarms.values()].filter((a) => a.lon !== null).map((a) => ({
      name: a.sensor_label, value: [a.lon, a.lat], alarm: a, symbolSize: px(20),
      itemStyle: { color: COLOURS[a.colour] || COLOURS.orange, borderColor: "#fff", borderWidth: px(1.5), shadowBlur: px(14), shadowColor: COLOURS[a.colour] || COLOURS.orange },
    }));
    chart("c-map").setOption({ series: [{ id: "orders", data }, { id: "alarms", data: alarmData }] });
  }

  // A burst of alarm events (a block going offline raises hundreds at once) redraws the map once, not once an
  // event: each redraw renders the whole map, sensor layer included.
  let markersTimer = null;
  function drawOrdersSoon() {
    if (markersTimer === null) markersTimer = setTimeout(() => { markersTimer = null; drawOrders(); }, MARKERS_MS);
  }

  function drawSensorPoints(s) {
    if (!changed("sensor-points", pointsKey(s.points))) return;
    const normal = [], offline = [];
    for (const p of s.points) (p[3] === 1 ? offline : p[3] === 0 ? normal : null)?.push([p[0], p[1]]);
    chart("c-map").setOption({ series: [{ id: "sensors", data: normal }, { id: "sensors-offline", data: offline }] });
  }

  function drawLegend() {
    const items = [["red", "红"], ["orange", "橙"], ["yellow", "黄"], ["blue", "蓝"], ["green", "绿"]].map(([c, t]) => {
      const span = el("span"); const i = el("i"); i.style.background = COLOURS[c]; span.append(i, t + "色工单"); return span;
    });
    const tri = el("span"); const ti = el("i", "", "tri"); ti.style.background = COLOURS.orange; tri.append(ti, "传感器告警");
    const sen = el("span"); const si = el("i"); si.style.background = STATUS_COLOURS[0]; sen.append(si, "神经元点位");
    const off = el("span"); const oi = el("i"); oi.style.background = STATUS_COLOURS[1]; off.append(oi, "离线");
    const his = el("span"); const hi = el("i"); hi.style.background = "#c9a227"; his.append(hi, "历史风貌区");
    $("legend").replaceChildren(...items, tri, sen, off, his);
  }

  // --- details (click an order, an alarm or an area) --------------------------------------------------

  function openDetail(kind, id, ...nodes) {
    detail = { kind, id };
    $("detail-body").replaceChildren(...nodes);
    $("detail").hidden = false;
  }
  $("detail-close").addEventListener("click", () => { $("detail").hidden = true; detail = null; });

  function dl(pairs) {
    const list = el("dl");
    for (const [k, v] of pairs) { if (v === null || v === undefined || v === "") continue; list.append(el("dt", k), v instanceof Node ? v : el("dd", String(v))); }
    return list;
  }

  async function showOrder(id) {
    try {
      const [o, timeline] = await Promise.all([cy.api(`/api/v1/orders/${id}`), cy.api(`/api/v1/orders/${id}/timeline`)]);
      const title = el("h3"); title.append(el("span", "", "dot " + o.colour), `工单 #${o.id} ${o.category_name || o.category}`);
      const leftNow = left(o.next_due_at);
      const remaining = el("dd", leftNow.text || "—", "left" + (leftNow.late ? " late" : ""));
      remaining.dataset.due = o.next_due_at || "";
      const clocks = el("div", "", "clocks");
      for (const c of o.clocks) {
        const state = c.done_at ? (c.on_time ? "ok" : "late") : c.overdue ? "late" : "run";
        const what = c.done_at ? (c.on_time ? "按时" : "超时") + " " + fmtHm.format(new Date(c.done_at)) : "限 " + fmtHm.format(new Date(c.due_at));
        const box = el("div", "", state); box.append(el("div", c.label), el("div", what)); clocks.append(box);
      }
      const list = el("ol");
      for (const e of timeline.slice().reverse().slice(0, 30)) {
        const li = el("li"); li.append(el("time", fmtTime.format(new Date(e.at))), el("span", `${e.actor_name}：${e.note}`)); list.append(li);
      }
      openDetail("order", id, title,
        dl([["状态", o.state_label], ["等级", o.colour_label], ["承办人", o.assignee_name || o.assignee || "未派遣"], ["剩余时限", remaining],
            ["居民区", areasById.get(o.area)?.name || o.area], ["地址", o.address], ["来源", o.source_label], ["诉求", o.description]]),
        clocks, el("h4", "时间线"), list);
    } catch (e) { console.warn(e); }
  }

  async function showAlarm(id, label) {
    try {
      const a = await cy.api(`/api/v1/alarms/${id}`);
      label = label || alarms.get(id)?.sensor_label || "传感器";
      const title = el("h3"); title.append(el("span", "", "dot " + a.colour), `${label}告警`);
      const nodes = [title, dl([["状态", a.state_label], ["传感器", a.sensor_id], ["说明", a.message || a.reason], ["触发时间", fmtTime.format(new Date(a.raised_at))], ["波动次数", a.flaps]])];
      if (a.order_id) {
        const link = el("a", `查看工单 #${a.order_id}`); link.addEventListener("click", () => showOrder(a.order_id)); nodes.push(link);
      }
      const list = el("ol");
      for (const h of (a.history || []).slice().reverse().slice(0, 20)) {
        const li = el("li"); li.append(el("time", fmtTime.format(new Date(h.at))), el("span", h.message)); list.append(li);
      }
      nodes.push(list);
      openDetail("alarm", id, ...nodes);
    } catch (e) { console.warn(e); }
  }

  function showArea(code) {
    const a = areasById.get(code);
    if (!a) return;
    const title = el("h3", a.name);
    const colours = el("div", "", "colours");
    for (const [c, n] of Object.entries(a.live_by_colour)) { const s = el("span", COLOUR_LABELS[c], "c-" + c); s.append(el("b", String(n))); colours.append(s); }
    openDetail("area", code, title,
      dl([["A 角（今日）", a.a_staff || "—"], ["B 角（今日）", a.b_staff || "—"], ["今日受理", a.received + " 件"], ["在办", a.live + " 件"],
          ["超期", a.overdue + " 件"], ["今日闭环", a.closed + " 件"], ["本周按时率", pct(a.on_time_share)]]),
      el("h4", "在办工单（按等级）"), colours);
  }

  // --- panels ----------------------------------------------------------------------------------------

  function drawCounters(c) {
    drawSources(c);
    if (!changed("counters", [c.received, c.live, c.overdue, c.closed, c.suspended, c.by_colour])) return;
    $("n-received").textContent = c.received; $("n-live").textContent = c.live; $("n-overdue").textContent = c.overdue;
    $("n-closed").textContent = c.closed; $("n-suspended").textContent = c.suspended;
    $("by-colour").replaceChildren(...c.by_colour.map((x) => { const s = el("span", COLOUR_LABELS[x.colour] + "色", "c-" + x.colour); s.append(el("b", String(x.count))); return s; }));
  }

  function drawUrgent() {
    const overdue = markers.filter((o) => o.overdue || left(o.next_due_at).late).length;
    $("counts").textContent = `在办 ${markers.length} 件 · 超期 ${overdue} 件`;
    const shown = markers.slice(0, URGENT_MAX);
    if (!changed("urgent", [shown.map((o) => [o.id, o.colour, o.category_name || o.category, o.area, o.address, o.assignee_name, o.next_due_at, o.overdue]),
                            shown.map((o) => areasById.get(o.area)?.name)])) return;
    const body = $("orders");
    const rows = shown.map((o) => {
      const tr = el("tr"); tr.dataset.id = o.id;
      const c = el("td"); c.append(el("span", "", "dot " + o.colour), "#" + o.id);
      const l = left(o.next_due_at);
      const t = el("td", l.text, "left" + (l.late || o.overdue ? " late" : "")); t.dataset.due = o.next_due_at || "";
      tr.append(c, el("td", o.category_name || o.category), el("td", areasById.get(o.area)?.name?.replace("居民区", "") || o.address || ""),
                el("td", o.assignee_name || "未派遣"), t);
      tr.addEventListener("click", () => showOrder(o.id));
      return tr;
    });
    body.replaceChildren(...rows);
  }

  function addFeed(text, colour, at, onClick, cls) {
    const li = el("li", undefined, "fresh" + (cls ? " " + cls : ""));
    li.append(el("time", fmtTime.format(new Date(at))), el("span", "", "dot " + colour), el("span", text));
    li.addEventListener("click", onClick);
    // Newest first by the event's own time: the backlog the wall opens on may hold a few orders' whole
    // lives (their entries stored order by order), and the feed still reads as a time line.
    const t = Date.parse(at);
    li.dataset.at = String(t);
    const feed = $("feed");
    let next = feed.firstElementChild;
    while (next && Number(next.dataset.at) > t) next = next.nextElementSibling;
    feed.insertBefore(li, next);
    while (feed.children.length > FEED_MAX) feed.lastChild.remove();
    return li;
  }

  // --- the community programs' panel (GET /api/v1/community/summary) ----------------------------------

  const count = (n) => n.toLocaleString("zh-CN");
  const hoursText = (h) => h.toLocaleString("zh-CN", { maximumFractionDigits: 1 });
  const when = (iso) => fmtDay.format(new Date(iso)) + " " + fmtHm.format(new Date(iso));
  const daysFrom = (from, to) => Math.round((Date.parse(to) - Date.parse(from)) / 86400000); // "YYYY-MM-DD"

  function setFigures(pairs) { for (const [id, text] of pairs) $(id).textContent = text; }

  // Today's sessions while there are any (with attendance so far), else the next one (and how soon).
  function drawMarket(s) {
    const today = s.today_sessions, next = s.next_sessions[0];
    const head = $("cm-when");
    head.className = today.length ? "today" : "";
    if (today.length) {
      const first = today.reduce((a, b) => (a.starts_at < b.starts_at ? a : b));
      const last = today.reduce((a, b) => (a.ends_at > b.ends_at ? a : b));
      head.textContent = `今日 ${fmtHm.format(new Date(first.starts_at))}–${fmtHm.format(new Date(last.ends_at))} · ${today.length} 处开放`;
      $("cm-where").textContent = today.map((x) => x.venue_name).join("、");
      const sum = (k) => today.reduce((n, x) => n + x[k], 0);
      setFigures([["cm-stalls", count(sum("stalls"))], ["cm-booked", count(sum("booked"))], ["cm-third", count(sum("attended"))], ["cm-third-label", "已到场"]]);
    } else if (next) {
      head.textContent = "下次 " + when(next.starts_at);
      $("cm-where").textContent = next.venue_name + (next.address ? " · " + next.address : "");
      setFigures([["cm-stalls", count(next.stalls)], ["cm-booked", count(next.booked)], ["cm-third", count(daysFrom(s.today, next.day))], ["cm-third-label", "天后"]]);
    } else {
      head.textContent = "暂无集市安排";
      $("cm-where").textContent = "";
      setFigures([["cm-stalls", "–"], ["cm-booked", "–"], ["cm-third", "–"], ["cm-third-label", "天后"]]);
    }
  }

  function drawVolunteers(v) {
    $("cm-vol-note").textContent = `${v.projects} 个项目 · 今日 ${v.shifts_today} 个班次`;
    setFigures([["cm-hours-month", hoursText(v.hours_month)], ["cm-hours-year", hoursText(v.hours_year)], ["cm-volunteer-count", count(v.volunteers)]]);
  }

  // The next fair's own figures; with none coming, every fair's so far.
  function drawFair(s) {
    const f = s.next_fair ? s.next_fair_jobs : s.jobs;
    $("cm-fair-when").textContent = s.next_fair ? "下一场 " + when(s.next_fair.starts_at) : "暂无下一场 · 历次合计";
    $("cm-fair-when").title = s.next_fair ? s.next_fair.name : "";
    setFigures([["cm-employers", count(f.employers)], ["cm-posts", count(f.posts)], ["cm-applications", count(f.applications)]]);
  }

  // Each project: its signing rate against the threshold construction waits for, and its five milestones.
  function drawRenovation(projects) {
    const shown = projects.slice().sort((a, b) => a.completed - b.completed).slice(0, PROJECTS_MAX);
    const more = projects.length - shown.length;
    $("cm-renovation-note").textContent = "签约率 · 节点" + (more > 0 ? ` · 另 ${more} 个` : "");
    const items = shown.map((p) => {
      const li = el("li", undefined, p.completed ? "done" : "");
      li.dataset.code = p.code;
      const name = el("span", p.name, "name"); name.title = p.name;
      const bar = el("div", "", "bar" + (p.signing_rate >= p.threshold ? " reached" : ""));
      const fill = el("i"); fill.style.width = Math.min(100, p.signing_rate * 100) + "%";
      const mark = el("s"); mark.style.left = p.threshold * 100 + "%"; mark.title = "签约率达 " + pct(p.threshold) + " 方可施工";
      bar.append(fill, mark);
      const steps = el("div", "", "steps");
      const done = Math.round(p.completion * 5);
      for (let i = 0; i < 5; i++) steps.append(el("i", "", i < done ? "done" : i === done ? "now" : ""));
      li.append(name, bar, el("span", pct(p.signing_rate), "rate"), steps, el("span", p.stage_label, "stage"));
      return li;
    });
    $("cm-projects").replaceChildren(...(items.length ? items : [el("li", "暂无旧改项目", "empty")]));
  }

  function drawCommunity(s) {
    lastCommunity = s;
    if (!changed("community", s)) return;
    $("cm-note").textContent = `${s.venues} 处阵地 · ${s.series} 类服务 · ${s.stalls} 个摊位`;
    drawMarket(s);
    drawVolunteers(s.volunteers);
    drawFair(s);
    drawRenovation(s.renovation);
  }

  // At most one read in flight; a failure leaves the last figures and says why in the panel's title.
  let communityBusy = false;
  async function loadCommunity() {
    if (communityBusy) return;
    communityBusy = true;
    try { drawCommunity(await cy.api("/api/v1/community/summary" + q())); }
    catch (e) { $("cm-note").textContent = "暂未读取：" + e.message; console.warn(e); }
    finally { communityBusy = false; }
  }

  // --- loading and live updates ------------------------------------------------------------------------

  const q = () => (street ? "?street=" + encodeURIComponent(street) : "");

  async function loadOverview() {
    const o = await cy.api("/api/v1/screen/overview" + q());
    drawOverview(o);
    return o;
  }

  function drawOverview(o) {
    lastOverview = o;
    areasById = new Map(o.areas.map((a) => [a.code, a]));
    drawCounters(o.counters);
    drawCompliance(o.compliance);
    drawHourly(o.hourly);
    const areasBefore = drawn.areas;
    drawAreas(o.areas);
    if (detail && detail.kind === "area" && drawn.areas !== areasBefore) showArea(detail.id);
  }

  async function loadOrders() {
    markers = (await cy.api("/api/v1/screen/orders" + q())).items;
    drawOrders();
    drawUrgent();
  }

  async function loadSensors() {
    const s = await cy.api("/api/v1/screen/sensors" + q());
    lastSensors = s;
    alarms = new Map(s.alarms.map((a) => [a.id, a]));
    drawSensorHealth(s);
    drawSensorPoints(s);
    drawOrders();
  }

  // Re-reads after events: at most one in flight and one waiting, never closer than `gap` ms apart.
  function throttled(load, gap) {
    let last = 0, timer = null, running = false, again = false;
    const run = async () => {
      timer = null;
      if (running) { again = true; return; }
      running = true; last = Date.now();
      try { await load(); } catch (e) { console.warn(e); }
      running = false;
      if (again) { again = false; schedule(); }
    };
    const schedule = () => { if (!timer) timer = setTimeout(run, Math.max(0, last + gap - Date.now())); };
    return schedule;
  }
  const refreshFigures = throttled(async () => { await Promise.all([loadOverview(), loadOrders()]); }, REFRESH_MS);
  const refreshSensors = throttled(loadSensors, SENSORS_REFRESH_MS);

  function onOrderEvent(m) {
    const ev = JSON.parse(m.data);
    const li = addFeed(`工单 #${ev.order_id} ${ev.category_name || ev.category}：${ev.note}`, ev.colour, ev.at, () => showOrder(ev.order_id));
    li.dataset.orderId = ev.order_id;
    refreshFigures();
    if (detail && detail.kind === "order" && detail.id === ev.order_id) showOrder(ev.order_id);
  }

  function onAlarmEvent(m) {
    const ev = JSON.parse(m.data);
    const li = addFeed(`${ev.sensor_label}告警：${ev.message}`, ev.colour, ev.at, () => showAlarm(ev.alarm_id, ev.sensor_label), "alarm");
    li.dataset.alarmId = ev.alarm_id;
    if (ev.state === "raised" || ev.state === "acknowledged") {
      alarms.set(ev.alarm_id, { id: ev.alarm_id, sensor_id: ev.sensor_id, sensor_label: ev.sensor_label, colour: ev.colour, state: ev.state,
                                state_label: ev.state_label, reason: ev.message, lon: ev.lon, lat: ev.lat, order_id: ev.order_id });
    } else {
      alarms.delete(ev.alarm_id);
    }
    drawOrdersSoon();
    refreshSensors();
    if (detail && detail.kind === "alarm" && detail.id === ev.alarm_id) showAlarm(ev.alarm_id, ev.sensor_label);
  }

  let source = null;
  // `upTo`: the newest event the figures already count; the feed starts a few events before it, so
  // the wall never opens on an empty feed.
  function connect(upTo) {
    const after = upTo === undefined ? "" : `&after=${Math.max(0, upTo - FEED_BACKLOG)}`;
    const url = `/api/v1/events?alarms=true${after}&access_token=${encodeURIComponent(cy.token())}`;
    source = new EventSource(url);
    let dropped = false;
    source.onopen = () => {
      $("link").textContent = "● 实时连接"; $("link").className = "status live";
      // After a drop (a server restart) the feed resumes from the last event; re-read the figures too.
      if (dropped) { dropped = false; refreshAll(); }
    };
    source.onerror = () => {
      dropped = true;
      $("link").textContent = "连接中断，正在重连…"; $("link").className = "status down";
      // The browser retries by itself unless the server answered with an error: then start again.
      if (source.readyState === EventSource.CLOSED) { source.close(); setTimeout(() => connect(), 5000); }
    };
    source.addEventListener("order", onOrderEvent);
    source.addEventListener("alarm", onAlarmEvent);
  }

  async function syncClock() {
    const health = await cy.api("/api/v1/health");
    serverAt = Date.parse(health.time); readAt = Date.now(); speed = health.clock_speed;
  }

  async function refreshAll() {
    try { await syncClock(); await Promise.all([loadOverview(), loadOrders(), loadSensors(), loadCommunity()]); } catch (e) { console.warn(e); }
  }

  function tick() {
    const now = new Date(serverNow());
    $("clock").textContent = fmtTime.format(now);
    $("date").textContent = fmtDate.format(now);
    for (const cell of document.querySelectorAll("[data-due]")) {
      const l = left(cell.dataset.due);
      cell.textContent = l.text || "—";
      cell.classList.toggle("late", l.late);
    }
  }

  async function start() {
    const main = $("main");
    const loggedIn = Boolean(cy.token());
    const waiting = cy.requireLogin(main);
    if (!loggedIn) {
      main.append(el("p", "或在地址后加上 #token=<访问令牌> 打开大屏（chengyun demo 会打印完整地址）。", "hint"));
      $("link").textContent = "未登录";
    }
    const me = await waiting;
    street = me.streets.length === 1 ? me.streets[0] : null;
    await syncClock();
    const streets = await cy.api("/api/v1/streets");
    const mine = streets.find((s) => s.code === street) || streets[0];
    if (mine) { street = street || mine.code; $("street-name").textContent = mine.name + "城运中心"; }
    places = await cy.api("/api/v1/places" + q());
    for (const f of places.features) placeByCode.set(f.properties.code, f);
    drawMapBase(places);
    drawLegend();
    const [overview] = await Promise.all([loadOverview(), loadOrders(), loadSensors(), loadCommunity()]);
    connect(overview.event_id);
    setInterval(() => { syncClock().catch(() => {}); refreshFigures(); }, PERIODIC_MS);
    setInterval(refreshSensors, PERIODIC_MS * 2);
    setInterval(loadCommunity, COMMUNITY_MS);
    // A new size changes the type and the gauges' radii: forget what was drawn and draw it all again.
    window.addEventListener("resize", () => {
      for (const c of Object.values(charts)) c.resize();
      for (const k of Object.keys(drawn)) delete drawn[k];
      if (lastOverview) drawOverview(lastOverview);
      if (lastSensors) { drawSensorHealth(lastSensors); drawSensorPoints(lastSensors); }
      if (lastCommunity) drawCommunity(lastCommunity);
      drawOrders(); drawUrgent();
    });
    document.body.dataset.ready = "true";
  }

  setInterval(tick, 1000);
  start().catch((e) => { $("link").textContent = "加载失败：" + e.message; console.error(e); });
})();
