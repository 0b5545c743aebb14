// The status page a router serves at GET /-/status: one static HTML document with inline CSS, an inline SVG
// drawn by a little vanilla JS, and a refresh of GET /-/status.json every REFRESH_MS. No build step, no library.
// Guarantees: nothing the JSON carries is ever parsed as markup: the script builds every element with
// createElement/createElementNS and sets text with textContent and attributes with setAttribute (no innerHTML,
// no document.write), so a node id, a zone or a logged key shows as the text it is; the Content-Security-Policy
// allows exactly this document's own script and style (by hash), fetches to the same origin, and nothing else.
import { createHash } from "node:crypto";

export const REFRESH_MS = 3000;

const STYLE = `
:root { font: 14px/1.4 system-ui, sans-serif; color: #1d2330; background: #f5f6f8; }
body { margin: 0 auto; padding: 16px 24px; max-width: 1200px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 20px 0 8px; }
.sub { color: #5b6475; }
.banner { padding: 6px 10px; border-radius: 4px; margin: 8px 0; }
.banner.ok { background: #e3f4e6; color: #1f6b30; }
.banner.busy { background: #fff4d6; color: #7a5800; }
.banner.bad { background: #fde4e4; color: #9b1c1c; }
.layout { display: flex; gap: 24px; flex-wrap: wrap; align-items: flex-start; }
.card { background: #fff; border: 1px solid #dde1e8; border-radius: 6px; padding: 12px 16px; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: 4px 10px 4px 0; white-space: nowrap; }
th { color: #5b6475; font-weight: 600; border-bottom: 1px solid #dde1e8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.up { color: #1f6b30; font-weight: 600; }
.down { color: #b42318; font-weight: 600; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: middle; }
.bar { display: inline-block; width: 80px; height: 8px; background: #e7eaf0; border-radius: 4px; vertical-align: middle; margin-right: 6px; overflow: hidden; }
.bar > span { display: block; height: 100%; background: #4f6bed; }
.figures { display: grid; grid-template-columns: auto auto; gap: 2px 16px; }
.figures dt { color: #5b6475; }
.figures dd { margin: 0; font-variant-numeric: tabular-nums; }
#warnings { font: 12px/1.4 ui-monospace, monospace; max-height: 320px; overflow: auto; }
#warnings li { margin-bottom: 4px; word-break: break-all; }
#warnings .error, #warnings .fatal { color: #b42318; }
#warnings .warn { color: #7a5800; }
`;

// Plain ES2017 for any browser; every string from the JSON reaches the page through text() or attr() only.
const SCRIPT = `
"use strict";
const REFRESH_MS = ${REFRESH_MS};
const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
function el(tag, attrs, children) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  for (const c of children || []) e.append(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  return e;
}
function replaceChildren(node, children) { while (node.firstChild) node.removeChild(node.firstChild); for (const c of children) node.append(c); }
function colorOf(index, count) { return "hsl(" + Math.round((index * 360) / Math.max(1, count)) + ", 62%, 52%)"; }
function bytes(n) {
  if (typeof n !== "number") return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}
function bar(fraction) {
  const span = el("span");
  span.style.width = Math.max(0, Math.min(100, fraction * 100)).toFixed(1) + "%";
  return el("span", { class: "bar" }, [span]);
}
function sector(cx, cy, r0, r1, a0, a1) {
  const p = (r, a) => (cx + r * Math.sin(a)).toFixed(2) + " " + (cy - r * Math.cos(a)).toFixed(2);
  const large = a1 - a0 > Math.PI ? 1 : 0;
  return "M " + p(r1, a0) + " A " + r1 + " " + r1 + " 0 " + large + " 1 " + p(r1, a1) + " L " + p(r0, a1) + " A " + r0 + " " + r0 + " 0 " + large + " 0 " + p(r0, a0) + " Z";
}

function drawRing(report) {
  const size = 380, c = size / 2, ring = report.ring, nodes = report.nodes;
  const band = Math.min(26, 120 / Math.max(1, ring.replicaCount)), gap = 3;
  const svg = el("svg:svg", { id: "ring", width: size, height: size, viewBox: "0 0 " + size + " " + size, role: "img", "aria-label": "partitions per node on the ring" });
  svg.append(el("svg:title", {}, ["The ring: one band per replica rank (outermost: first primary); each arc is a run of partitions of one node"]));
  ring.rows.forEach((row, rank) => {
    const r1 = c - 8 - rank * (band + gap), r0 = r1 - band;
    let at = 0;
    for (const [index, count] of row) {
      const node = nodes[index];
      const a0 = (at / ring.partitionCount) * 2 * Math.PI;
      const a1 = (Math.min(at + count, ring.partitionCount - 0.0001) / ring.partitionCount) * 2 * Math.PI;
      const down = !node.live || node.health === null;
      const arc = el("svg:path", { d: sector(c, c, r0, r1, a0, a1), fill: colorOf(index, nodes.length), "fill-opacity": down ? 0.25 : 1, stroke: "#fff", "stroke-width": 0.5, "data-node": node.id, "data-rank": rank, "data-partitions": count });
      arc.append(el("svg:title", {}, [node.id + ": partitions " + at + "–" + (at + count - 1) + " (rank " + (rank + 1) + ")" + (down ? ", down" : "")]));
      svg.append(arc);
      at += count;
    }
  });
  svg.append(el("svg:text", { x: c, y: c - 6, "text-anchor": "middle", "font-size": 18, "font-weight": 600 }, ["epoch " + report.epoch]));
  svg.append(el("svg:text", { x: c, y: c + 16, "text-anchor": "middle", "font-size": 12, fill: "#5b6475" }, [ring.partitionCount + " partitions × " + ring.replicaCount]));
  return svg;
}

/** Each node's primary partitions against its weight's share: a bar and a tick at the share. */
function drawShares(report) {
  const active = report.nodes.filter((n) => n.state === "active");
  const weights = active.reduce((s, n) => s + n.weight, 0) || 1;
  const slots = report.ring.partitionCount * report.ring.replicaCount;
  const most = Math.max(1, ...active.map((n) => Math.max(n.partitions, (slots * n.weight) / weights)));
  const rowHeight = 20, width = 420, left = 150, right = 50, height = active.length * rowHeight + 8;
  const svg = el("svg:svg", { id: "shares", width: width, height: height, viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": "primary partitions per node against its weight's share" });
  active.forEach((n, i) => {
    const y = 4 + i * rowHeight, scale = (width - left - right) / most, share = (slots * n.weight) / weights;
    svg.append(el("svg:text", { x: left - 6, y: y + 13, "text-anchor": "end", "font-size": 12 }, [n.id + " · " + n.zone + " · w" + n.weight]));
    svg.append(el("svg:rect", { x: left, y: y + 3, width: Math.max(1, n.partitions * scale).toFixed(1), height: 12, fill: colorOf(report.nodes.indexOf(n), report.nodes.length), "data-node": n.id, "data-partitions": n.partitions }));
    svg.append(el("svg:line", { x1: (left + share * scale).toFixed(1), x2: (left + share * scale).toFixed(1), y1: y, y2: y + 18, stroke: "#1d2330", "stroke-width": 1.5 }, [el("svg:title", {}, ["weight " + n.weight + ": share " + share.toFixed(1)])]));
    svg.append(el("svg:text", { x: left + n.partitions * scale + 6, y: y + 13, "font-size": 12, fill: "#5b6475" }, [String(n.partitions)]));
  });
  return svg;
}

function nodeRows(report) {
  return report.nodes.map((n, i) => {
    const h = n.health;
    const live = n.live && h !== null;
    const disk = h && h.disk ? h.disk : null;
    const cells = [
      el("td", {}, [el("span", { class: "swatch" }, []), n.id]),
      el("td", {}, [n.zone]),
      el("td", { class: "num" }, [String(n.weight)]),
      el("td", {}, [n.state]),
      el("td", { class: live ? "up" : "down", "data-field": "live" }, [live ? "up" : n.live ? "no answer" : h !== null ? "down (heartbeats)" : "down"]),
      el("td", { class: "num" }, [String(n.partitions)]),
      el("td", { class: "num", "data-field": "behind" }, [h ? String(h.behindPartitions) : "–"]),
      el("td", { class: "num" }, [h ? String(h.epoch) + (h.inTransition ? " (moving)" : "") : "–"]),
      el("td", {}, disk ? [bar(disk.usedBytes / Math.max(1, disk.totalBytes)), bytes(disk.freeBytes) + " free of " + bytes(disk.totalBytes)] : ["–"]),
      el("td", { class: "num" }, [h && h.stored ? h.stored.versions + " (" + bytes(h.stored.bytes) + ")" : "–"]),
      el("td", { class: "num" }, [h && h.repair ? h.repair.objectsPulled + " / " + h.repair.objectsPushed : "–"]),
    ];
    cells[0].firstChild.style.background = colorOf(i, report.nodes.length);
    return el("tr", { "data-node": n.id, "data-live": live ? "up" : "down" }, cells);
  });
}

function figures(report) {
  const p = report.pending, moving = report.transition.partitionsMoving, total = report.ring.partitionCount;
  const pairs = [
    ["settled", report.settled ? "yes" : "no"],
    ["ring transition", report.transition.open ? "open: " + moving + " of " + total + " partitions change primaries" : "none"],
    ["partitions behind", String(p.partitionsBehind)],
    ["nodes with a transition open", String(p.nodesInTransition)],
    ["nodes on an older epoch", String(p.nodesBehindEpoch)],
    ["nodes not answering", String(p.nodesNotAnswering)],
    ["copies repair pulled", String(p.objectsCopied)],
  ];
  const out = [];
  for (const [k, v] of pairs) out.push(el("dt", {}, [k]), el("dd", { "data-figure": k }, [v]));
  if (report.transition.open) out.push(el("dt", {}, ["rebalance"]), el("dd", {}, [bar(1 - moving / Math.max(1, total))]));
  return out;
}

function render(report) {
  $("title").textContent = "ringstore — router " + report.router.id;
  $("updated").textContent = "map epoch " + report.epoch + " · " + report.nodes.filter((n) => n.state === "active").length + " active nodes · router " + (report.router.healthy ? "healthy" : "NOT healthy (no write quorum reachable)") + " · updated " + new Date(report.generatedAt).toLocaleTimeString();
  const down = report.nodes.filter((n) => n.state === "active" && !(n.live && n.health !== null));
  const banner = $("banner");
  banner.className = "banner " + (down.length > 0 ? "bad" : report.settled ? "ok" : "busy");
  banner.textContent = down.length > 0 ? "down: " + down.map((n) => n.id).join(", ") : report.settled ? "settled: every node runs this epoch, nothing behind" : "settling: data is moving or catching up";
  replaceChildren($("ring-holder"), [drawRing(report)]);
  replaceChildren($("shares-holder"), [drawShares(report)]);
  replaceChildren($("nodes"), nodeRows(report));
  replaceChildren($("figures"), figures(report));
  const warnings = report.warnings.slice().reverse().map((w) => el("li", { class: w.level }, [w.time + " " + w.level + " " + w.event + " " + w.detail]));
  replaceChildren($("warnings"), warnings.length > 0 ? warnings : [el("li", {}, ["none since the router started"])]);
  $("warnings-count").textContent = "(" + report.warningsSeenTotal + " since start, last " + report.warnings.length + " shown)";
  document.body.setAttribute("data-epoch", String(report.epoch));
}

let refreshes = 0;
async function refresh() {
  try {
    const answer = await fetch("/-/status.json", { credentials: "same-origin", cache: "no-store" });
    if (!answer.ok) throw new Error("status.json answered " + answer.status);
    render(await answer.json());
    $("stale").textContent = "";
  } catch (error) {
    $("stale").textContent = "last refresh failed: " + String(error && error.message ? error.message : error) + "; showing the last figures";
  } finally {
    refreshes++;
    document.body.setAttribute("data-refreshes", String(refreshes));
    setTimeout(refresh, REFRESH_MS);
  }
}
refresh();
`;

const BODY = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ringstore status</title><style>${STYLE}</style></head>
<body data-refreshes="0">
<h1 id="title">ringstore</h1>
<div class="sub" id="updated">loading…</div>
<div class="banner" id="banner"></div>
<div class="sub" id="stale"></div>
<div class="layout">
  <div class="card"><h2>Ring</h2><div id="ring-holder"></div></div>
  <div class="card"><h2>Primary partitions per node (tick: the weight's share)</h2><div id="shares-holder"></div>
    <h2>Repair and rebalance</h2><dl class="figures" id="figures"></dl></div>
</div>
<div class="card" style="margin-top:16px"><h2>Nodes</h2>
<table><thead><tr><th>node</th><th>zone</th><th>weight</th><th>state</th><th>liveness</th><th>partitions</th><th>behind</th><th>epoch</th><th>disk</th><th>objects</th><th>copies pulled / pushed</th></tr></thead>
<tbody id="nodes"></tbody></table></div>
<div class="card" style="margin-top:16px"><h2>Recent warnings <span class="sub" id="warnings-count"></span></h2><ul id="warnings"></ul></div>
<script>${SCRIPT}</script>
</body></html>
`;

const sha256 = (text: string): string => `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;

export const STATUS_PAGE_HTML = BODY;

/** Response headers of the page: its own inline script and style by hash, same-origin fetches, no framing. */
export const STATUS_PAGE_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy": `default-src 'none'; script-src ${sha256(SCRIPT)}; style-src ${sha256(STYLE)}; style-src-attr 'unsafe-inline'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
  "X-Frame-Options": "DENY",
};
