// Endpoint health: one `…/stats` window per day of the last week, drawn as stacked bars in an inline SVG.

import { h } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
const DAYS = 7;

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

async function days(api, path) {
  const start = new Date();
  start.setHours(0, 0, 0, 0);
  const windows = [];
  for (let i = DAYS - 1; i >= 0; i--) {
    const since = new Date(start.getTime() - i * 86400000);
    windows.push([since, new Date(since.getTime() + 86400000)]);
  }
  return Promise.all(
    windows.map(async ([since, until]) => {
      const s = await api.get(`${path}/stats`, { since: since.toISOString(), until: until.toISOString() });
      return { day: since, ok: s.success, failed: s.fail, waiting: s.pending + s.sending };
    }),
  );
}

export async function healthChart(api, path) {
  const data = await days(api, path);
  const max = Math.max(1, ...data.map((d) => d.ok + d.failed + d.waiting));
  const width = 280;
  const height = 110;
  const slot = width / DAYS;
  const bars = data.flatMap((d, i) => {
    let y = height - 18;
    const label = d.day.toLocaleDateString(undefined, { weekday: "short" });
    const parts = [];
    for (const [key, cls] of [["ok", "bar-ok"], ["failed", "bar-bad"], ["waiting", "bar-wait"]]) {
      const hgt = (d[key] / max) * (height - 24);
      if (hgt <= 0) continue;
      y -= hgt;
      parts.push(svg("rect", { x: i * slot + 6, y, width: slot - 12, height: hgt, class: cls }));
    }
    const title = svg("title", {}, `${label}: ${d.ok} succeeded, ${d.failed} failed, ${d.waiting} pending`);
    const axis = svg("text", { x: i * slot + slot / 2, y: height - 4, "text-anchor": "middle", class: "axis" }, label);
    return [svg("g", {}, title, ...parts), axis];
  });
  const total = (k) => data.reduce((n, d) => n + d[k], 0);
  const summary = `${total("ok")} succeeded, ${total("failed")} failed, ${total("waiting")} pending in the last ${DAYS} days`;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary, class: "chart" }, ...bars);
  return h(
    "figure",
    { class: "health" },
    chart,
    h("figcaption", {}, h("span", { class: "key ok" }, `${total("ok")} succeeded`), h("span", { class: "key bad" }, `${total("failed")} failed`), h("span", { class: "key wait" }, `${total("waiting")} pending`)),
  );
}
