// hns-emulator web view. Plain DOM, no dependencies; every page reads the emulator's own
// JSON routes (/ui/api/overview, /vfp/..., /_emulator/calls) so it shows what clients see.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const main = $("#main");
const state = { live: true, lastSeq: -1, tick: 0, page: null, overview: null, calls: [], gPressed: false, pending: 0, polling: false };

// -- helpers ---------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.setAttribute("class", v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({ headers: { "Content-Type": "application/json" } }, options || {}));
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok || (body && body.Success === false)) {
    const detail = response.headers.get("X-HNS-Emulator-Detail");
    const code = body && body.ErrorCode ? " (0x" + (body.ErrorCode >>> 0).toString(16).toUpperCase().padStart(8, "0") + ")" : "";
    throw new Error(((body && body.Error) || "HTTP " + response.status).trim() + code + (detail ? ": " + detail : ""));
  }
  return body;
}

const hex = (n) => "0x" + ((n || 0) >>> 0).toString(16).toUpperCase().padStart(8, "0");
const shortId = (id) => (id || "").slice(0, 8);
const endpointUrl = (id) => "/ui/endpoints/" + encodeURIComponent(id);

function panel(title, count, body, right) {
  return h("section", { class: "panel", "aria-label": title },
    h("header", {}, h("h2", {}, title), count === null ? null : h("span", { class: "count" }, count), right ? h("span", { class: "right" }, right) : null),
    body);
}

function table(columns, rows, opts) {
  if (!rows.length) return h("div", { class: "empty" }, (opts && opts.empty) || "none");
  return h("table", { class: "grid" },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, rows));
}

function row(cells, href, key) {
  const tr = h("tr", { tabindex: "0", "data-href": href || null, "data-key": key || null, "data-text": cells.map((c) => (c instanceof Node ? c.textContent : String(c))).join(" ").toLowerCase() },
    cells.map((c) => h("td", {}, c)));
  if (href) tr.addEventListener("dblclick", () => go(href));
  return tr;
}

function tag(text, cls) { return h("span", { class: "tag " + (cls || "") }, text); }
function mono(text) { return h("span", { class: "mono" }, text); }
function card(n, label) { return h("div", { class: "card" }, h("div", { class: "n" }, n), h("div", { class: "l" }, label)); }

function filterBox(placeholder) {
  const input = h("input", { type: "search", id: "filter", placeholder: placeholder + "  ( / )", "aria-label": "Filter rows", value: state.filter || "" });
  input.addEventListener("input", () => { state.filter = input.value; applyFilter(); });
  return input;
}

function applyFilter() {
  const q = (state.filter || "").toLowerCase().trim();
  for (const tr of main.querySelectorAll("tbody tr[data-text], li[data-text]")) {
    tr.hidden = q !== "" && !tr.dataset.text.includes(q);
  }
}

function remember() {
  // keep the focused row and the filter's focus across a live redraw
  const active = document.activeElement;
  return { key: active && active.dataset ? active.dataset.key : null, filter: active && active.id === "filter", scroll: window.scrollY };
}

function restore(saved) {
  if (saved.filter) { const f = $("#filter"); if (f) { f.focus(); f.setSelectionRange(f.value.length, f.value.length); } }
  else if (saved.key) { const el = main.querySelector(`[data-key="${CSS.escape(saved.key)}"]`); if (el) el.focus({ preventScroll: true }); }
  window.scrollTo(0, saved.scroll);
}

function render(...nodes) {
  const saved = remember();
  main.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined && n !== false));
  applyFilter();
  restore(saved);
}

// -- status bar ------------------------------------------------------------------------

function showStatus(ov) {
  state.lastSeq = ov.LastSeq;  // the page is drawn from this state: later calls redraw it
  const svc = $("#svc");
  const running = ov.Service && ov.Service.Running;
  svc.textContent = running ? "HNS running" : "HNS stopped" + (ov.Service && ov.Service.HResult ? " " + hex(ov.Service.HResult) : "");
  svc.className = "pill " + (running ? "ok" : "bad");
  $("#profile").textContent = `${ov.Profile} · HNS ${ov.Version.Major}.${ov.Version.Minor} · PA ${ov.HostIp}`;
}

// -- overview --------------------------------------------------------------------------

async function pageOverview() {
  const ov = await api("/ui/api/overview");
  state.overview = ov;
  showStatus(ov);
  const local = ov.Endpoints.filter((e) => !e.Remote);
  const remote = ov.Endpoints.filter((e) => e.Remote);
  const netName = (id) => (ov.Networks.find((n) => n.ID.toLowerCase() === (id || "").toLowerCase()) || {}).Name || shortId(id);
  const epName = (id) => { const e = ov.Endpoints.find((x) => x.ID.toLowerCase() === id.toLowerCase()); return e ? e.Name || e.IPAddress : shortId(id); };
  render(
    h("h1", {}, "Host overview", h("small", {}, `call #${ov.LastSeq}`)),
    h("div", { class: "cards" },
      card(ov.Networks.length, "networks"), card(local.length, "local endpoints"), card(remote.length, "remote endpoints"),
      card(ov.LoadBalancers.length, "load balancers"), card(ov.Namespaces.length, "namespaces"), card(ov.Routes.length, "SDN routes"),
      card(ov.Service.Restarts, "service restarts")),
    ov.Error ? h("div", { class: "err", role: "alert" }, ov.Error) : null,
    h("div", { class: "toolbar" }, filterBox("Filter by name, IP, MAC, id, policy"),
      h("span", { class: "muted" }, "Enter on an endpoint row opens its VFP port; j/k move between rows")),
    panel("Networks", ov.Networks.length, table(["Name", "Type", "Subnets", "Provider address", "Endpoints", "ID"],
      ov.Networks.map((n) => row([h("strong", {}, n.Name), tag(n.Type), n.Subnets.map((s) => mono(s + " ")), mono(n.ProviderAddress || "—"), n.Endpoints, h("span", { class: "id" }, n.ID)], null, n.ID)))),
    panel("Endpoints", local.length, table(["Name", "IP address", "MAC address", "Network", "VFP port", "Policies", "ID"],
      local.map((e) => row([
        h("a", { href: endpointUrl(e.ID), tabindex: "-1" }, e.Name || "(unnamed)"), mono(e.IPAddress), mono(e.MacAddress), netName(e.Network),
        e.Port ? h("a", { href: endpointUrl(e.ID), tabindex: "-1" }, "port ›") : h("span", { class: "muted" }, "no port"),
        e.Policies.map((p) => tag(p)), h("span", { class: "id" }, e.ID)], endpointUrl(e.ID), e.ID)), { empty: "no local endpoints" })),
    panel("Remote endpoints", remote.length, table(["Name", "IP address", "MAC address", "Provider address (PA)", "Network", "ID"],
      remote.map((e) => row([e.Name || "(unnamed)", mono(e.IPAddress), mono(e.MacAddress), tag(e.ProviderAddress || "no PA", "remote"), netName(e.Network), h("span", { class: "id" }, e.ID)], null, e.ID)), { empty: "no remote endpoints" })),
    h("div", { class: "split" },
      panel("Load balancers", ov.LoadBalancers.length, table(["VIPs", "Ports", "Backends", "ID"],
        ov.LoadBalancers.map((lb) => row([mono(lb.VIPs.join(", ") || "(host)"), lb.Ports.map((p) => tag(p)), lb.Endpoints.map((id) => tag(epName(id))), h("span", { class: "id" }, shortId(lb.ID))], null, lb.ID)))),
      panel("Namespaces", ov.Namespaces.length, table(["ID", "Type", "Compartment", "Endpoints"],
        ov.Namespaces.map((ns) => row([h("span", { class: "id" }, ns.ID), ns.Type, ns.NamespaceId, ns.Endpoints.map((id) => tag(epName(id)))], null, ns.ID))))),
    panel("SDN routes", ov.Routes.length, table(["Routes", "Endpoints", "ID"],
      ov.Routes.map((r) => row([r.Routes.map((x) => mono(x + " ")), r.Endpoints.map((id) => tag(epName(id))), h("span", { class: "id" }, r.ID)], null, r.ID)))),
  );
}

// -- VFP port --------------------------------------------------------------------------

function conditions(c) {
  const entries = Object.entries(c || {});
  if (!entries.length) return h("span", { class: "muted" }, "any");
  return entries.map(([k, v]) => tag(`${k}=${Array.isArray(v) ? v.join(",") : typeof v === "object" ? JSON.stringify(v) : v}`));
}

function direction(layers, dir) {
  // VFP walks the layers by priority outbound and in reverse inbound
  const ordered = layers.slice().sort((a, b) => (dir === "OUT" ? a.Priority - b.Priority : b.Priority - a.Priority));
  return h("div", { class: "order" }, ordered.map((layer) => {
    const groups = layer.Groups.filter((g) => g.Direction === dir).sort((a, b) => a.Priority - b.Priority);
    return h("div", { class: "layer" },
      h("div", { class: "lh" }, h("span", { class: "step" }), h("strong", {}, layer.FriendlyName || layer.Id), h("span", { class: "prio" }, "priority " + layer.Priority),
        layer.FlagNames.map((f) => tag(f)), layer.Stateful ? tag("stateful") : null),
      groups.length ? groups.map((g) => h("div", { class: "group" },
        h("div", { class: "gh" }, g.FriendlyName || g.Id, " ", h("span", { class: "muted" }, `${g.Type} · priority ${g.Priority} · ${g.MatchType || ""}`), Object.keys(g.Conditions || {}).length ? [" ", conditions(g.Conditions)] : null),
        table(["Prio", "Rule", "Action", "Conditions", "Flags", "Packets"],
          g.Rules.map((r) => row([mono(r.Priority), h("span", { title: r.Id }, r.FriendlyName || r.Id), tag(r.Type, r.Type), conditions(r.Conditions), r.FlagNames.map((f) => tag(f)), mono(`${r.Packets} / ${r.Bytes} B`)], null, r.Id)),
          { empty: "no rules" }))) : h("div", { class: "group muted" }, "no groups in this direction"));
  }));
}

async function pageEndpoint(id) {
  const [port, rules, flows, ov] = await Promise.all([
    api(`/vfp/ports/${encodeURIComponent(id)}`), api(`/vfp/ports/${encodeURIComponent(id)}/rules`),
    api(`/vfp/ports/${encodeURIComponent(id)}/flows`), api("/ui/api/overview")]);
  showStatus(ov);
  const ep = ov.Endpoints.find((e) => e.ID.toLowerCase() === id.toLowerCase()) || {};
  const c = port.Counters || { OUT: {}, IN: {} };
  const drops = (d) => Object.entries(d.DropReasons || {}).map(([k, v]) => tag(`${k}: ${v}`, "drop"));
  render(
    h("h1", {}, `VFP port of ${ep.Name || port.FriendlyName || id}`, h("small", {}, `${ep.IPAddress || ""} · ${port.MacAddress} · ${port.Enabled ? "enabled" : "disabled"}${port.Blocked ? " · blocked" : ""} · generation ${port.Generation}`)),
    h("div", { class: "toolbar" }, h("a", { href: "/ui/" }, "‹ overview"), h("a", { href: "/ui/trace?port=" + encodeURIComponent(port.Id) }, "Trace a packet through this port ›"), filterBox("Filter rules")),
    h("div", { class: "cards" },
      card(c.OUT.Packets, "packets out"), card(c.OUT.Bytes, "bytes out"), card(c.OUT.DroppedPackets, "dropped out"),
      card(c.IN.Packets, "packets in"), card(c.IN.Bytes, "bytes in"), card(c.IN.DroppedPackets, "dropped in")),
    drops(c.OUT).length || drops(c.IN).length ? h("div", { class: "toolbar" }, "Drop reasons: ", drops(c.OUT), drops(c.IN)) : null,
    h("div", { class: "dirs" },
      panel("Outbound (from the container) — evaluation order", rules.Layers.length + " layers", direction(rules.Layers, "OUT")),
      panel("Inbound (to the container) — evaluation order", rules.Layers.length + " layers", direction(rules.Layers, "IN"))),
    panel("Unified flows", flows.UnifiedFlows.length, table(["Flow", "Details"],
      flows.UnifiedFlows.map((f, i) => row([mono(f.Key || f.Id || String(i + 1)), mono(JSON.stringify(f))], null, "flow" + i)), { empty: "no cached flows" })),
  );
}

// -- packet tracer ---------------------------------------------------------------------

function packetText(p) {
  if (!p) return "—";
  const ports = p.SourcePort !== undefined && p.SourcePort !== null ? `:${p.SourcePort} → ` : " → ";
  const lines = [`${p.SourceIP}${ports}${p.DestinationIP}${p.DestinationPort !== undefined && p.DestinationPort !== null ? ":" + p.DestinationPort : ""}  proto ${p.Protocol}`,
    `${p.SourceMac} → ${p.DestinationMac}`];
  if (p.Outer) lines.push(`outer ${JSON.stringify(p.Outer)}`);
  for (const [k, v] of Object.entries(p)) if (!["SourceIP", "DestinationIP", "SourcePort", "DestinationPort", "Protocol", "SourceMac", "DestinationMac", "EtherType", "IPVersion", "Outer"].includes(k)) lines.push(`${k} ${JSON.stringify(v)}`);
  return lines.join("\n");
}

function traceView(t) {
  const allowed = t.Verdict === "allow";
  let before = t.Input;
  return [
    h("div", { class: "verdict " + (allowed ? "allow" : "drop"), role: "status", id: "verdict" },
      allowed ? "ALLOWED" : "DROPPED", t.DropReason ? ` — ${t.DropReason}` : "", h("span", { class: "muted" }, ` · ${t.Direction} · unified flow: ${t.UnifiedFlow}`)),
    h("ol", { class: "steps", "aria-label": "Layers in order" },
      h("li", {}, h("div", { class: "who" }, "Packet in"), h("pre", { class: "packet" }, packetText(t.Input)), h("div", {})),
      t.Layers.map((s) => {
        const changed = JSON.stringify(s.Packet) !== JSON.stringify(before);
        before = s.Packet || before;
        const decided = s.Rule ? [tag(s.Rule.Type, s.Rule.Type), " ", h("strong", {}, s.Rule.FriendlyName), h("span", { class: "muted" }, ` (priority ${s.Rule.Priority})`)]
          : [tag(s.DecidedBy), " ", h("span", { class: "muted" }, "layer default")];
        return h("li", { "data-layer": s.Layer },
          h("div", {}, h("div", { class: "who" }, s.LayerName), h("div", { class: "muted" }, "priority " + s.Priority), s.Allowed ? tag("pass", "ok") : tag("drop: " + (s.DropReason || ""), "drop")),
          h("div", {}, h("div", {}, decided), s.Groups.map((g) => h("div", { class: "muted" }, g.Skipped ? "skipped " : "", g.GroupName, " → ", g.Rule ? g.Rule.FriendlyName : "no match")),
            Object.keys(s.Transposition.Modify || {}).length || s.Transposition.PushOuter || s.Transposition.PopOuter ? h("div", {}, tag("rewrites"), " ", mono(JSON.stringify(s.Transposition))) : null),
          h("pre", { class: "packet", "aria-label": "packet after this layer" }, !s.Allowed ? "(dropped here)" : changed ? packetText(s.Packet) : "(unchanged)"));
      }),
      h("li", {}, h("div", { class: "who" }, allowed ? "Packet out" : "Dropped"), h("pre", { class: "packet" }, allowed ? packetText(t.Final) : t.DropReason || "dropped"), h("div", {}, t.OutputHex ? h("details", {}, h("summary", {}, "frame bytes"), h("pre", { class: "packet" }, t.OutputHex)) : null))),
  ];
}

async function pageTrace() {
  const ov = await api("/ui/api/overview");
  showStatus(ov);
  const ports = ov.Endpoints.filter((e) => e.Port);
  const wanted = new URLSearchParams(location.search).get("port");
  const pick = ports.find((p) => wanted && p.ID.toLowerCase() === wanted.toLowerCase()) || ports[0];
  const out = h("div", { id: "trace-result" });
  const field = (label, input) => h("label", {}, label, input);
  const sel = h("select", { id: "t-port", name: "port" }, ports.map((p) => h("option", { value: p.ID, selected: pick && p.ID === pick.ID }, `${p.Name || shortId(p.ID)} (${p.IPAddress})`)));
  const proto = h("select", { id: "t-proto" }, h("option", { value: "6" }, "TCP (6)"), h("option", { value: "17" }, "UDP (17)"), h("option", { value: "1" }, "ICMP (1)"));
  const dir = h("select", { id: "t-dir" }, h("option", { value: "out" }, "out (from container)"), h("option", { value: "in" }, "in (to container)"));
  const src = h("input", { id: "t-src", value: pick ? pick.IPAddress.split(",")[0] : "", size: 14, "aria-label": "source IP" });
  const sport = h("input", { id: "t-sport", value: "40000", size: 6 });
  const dst = h("input", { id: "t-dst", value: "8.8.8.8", size: 14 });
  const dport = h("input", { id: "t-dport", value: "443", size: 6 });
  const syn = h("input", { id: "t-syn", type: "checkbox", checked: true });
  const frame = h("textarea", { id: "t-frame", placeholder: "…or paste a frame as hex (Ethernet first), then Inject", "aria-label": "frame as hex" });
  sel.addEventListener("change", () => { const p = ports.find((x) => x.ID === sel.value); if (p && dir.value === "out") src.value = p.IPAddress.split(",")[0]; });
  dir.addEventListener("change", () => { const p = ports.find((x) => x.ID === sel.value); if (!p) return; const ip = p.IPAddress.split(",")[0];
    if (dir.value === "in" && src.value === ip) { src.value = dst.value; dst.value = ip; } else if (dir.value === "out" && dst.value === ip) { dst.value = src.value; src.value = ip; } });
  async function run(ev) {
    ev.preventDefault();
    const tuples = [proto.value, src.value.trim(), sport.value.trim() || "0", dst.value.trim(), dport.value.trim() || "0", dir.value, syn.checked ? "1" : "0"].join(" ");
    out.replaceChildren(h("div", { class: "empty" }, "tracing " + tuples + " …"));
    try {
      const t = await api(`/vfp/ports/${encodeURIComponent(sel.value)}/process-tuples`, { method: "POST", body: JSON.stringify({ Tuples: tuples }) });
      out.replaceChildren(panel("Trace", `process-tuples "${tuples}"`, h("div", {}, traceView(t)), "no side effects"));
    } catch (e) { out.replaceChildren(h("div", { class: "err", role: "alert" }, e.message)); }
  }
  async function inject(ev) {
    ev.preventDefault();
    const text = frame.value.replace(/[^0-9a-fA-F]/g, "");
    try {
      const r = await api(`/vfp/ports/${encodeURIComponent(sel.value)}/inject`, { method: "POST", body: JSON.stringify({ Frame: text, Direction: dir.value.toUpperCase(), Trace: true }) });
      out.replaceChildren(panel("Trace of the injected frame", r.Delivery ? "delivered: " + (r.Delivery.Where || "") : "", h("div", {}, r.Trace ? traceView(r.Trace) : mono(JSON.stringify(r))), "injected: counters and flows change"));
    } catch (e) { out.replaceChildren(h("div", { class: "err", role: "alert" }, e.message)); }
  }
  render(
    h("h1", {}, "Packet tracer", h("small", {}, "a packet through the port's layers, with the rule that decided each step")),
    ports.length ? panel("Packet", null, h("div", {},
      h("form", { class: "trace", onsubmit: run, "aria-label": "5-tuple" },
        field("Endpoint port", sel), field("Direction", dir), field("Protocol", proto), field("Source IP", src), field("Source port", sport), field("Destination IP", dst), field("Destination port", dport),
        h("button", { type: "submit", class: "primary", id: "t-run" }, "Trace"),
        h("label", { class: "check" }, syn, "TCP SYN (a new flow)")),
      h("form", { class: "trace", onsubmit: inject, "aria-label": "frame" }, h("div", { class: "wide" }, frame), h("button", { type: "submit" }, "Inject")))) :
      h("div", { class: "empty" }, "No local endpoint has a VFP port yet: create an endpoint first."),
    out);
}

// -- call log --------------------------------------------------------------------------

function callWhat(c) {
  if (c.Api === "V2") return `${c.Function}${c.Id ? " " + c.Id : ""}`;
  if (c.Api === "V1") return `${c.Method} ${c.Path}`;
  return `[${c.Operation}]`;
}

function callItem(c) {
  const failed = c.HResult !== 0;
  const cls = [failed ? "failed" : "", c.Faults.length ? "faulted" : "", c.Api === "Emulator" ? "event" : ""].join(" ");
  const text = [c.Seq, callWhat(c), failed ? hex(c.HResult) : "ok", c.Error || "", c.Detail || "", c.Faults.map((f) => f.Mode).join(" ")].join(" ").toLowerCase();
  return h("li", { class: cls, tabindex: "0", "data-key": "call" + c.Seq, "data-text": text },
    h("span", { class: "seq" }, "#" + c.Seq), h("span", { class: "time" }, (c.Time || "").slice(11, 23)), h("span", { class: "mark", "aria-hidden": "true" }),
    h("div", {},
      h("div", { class: "what" }, callWhat(c), " ", failed ? tag(`${hex(c.HResult)} ${c.Error || ""}`, "bad") : tag("ok", "ok"),
        c.Faults.map((f) => tag(`fault #${f.Id} ${f.Mode}${f.HResult ? " " + hex(f.HResult) : ""}${f.Seconds ? " " + f.Seconds + "s" : ""}`, "fault")),
        c.ServiceDown ? tag("service down", "bad") : null, h("span", { class: "muted" }, ` ${c.DurationMs} ms`)),
      c.Detail ? h("div", { class: "detail" }, "why: " + c.Detail) : null,
      c.Request !== null && c.Request !== undefined ? h("details", {}, h("summary", {}, "request"), h("pre", { class: "packet" }, typeof c.Request === "string" ? pretty(c.Request) : JSON.stringify(c.Request, null, 2))) : null));
}

function pretty(text) { try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; } }

async function pageCalls() {
  const [doc, ov] = await Promise.all([api("/_emulator/calls?state=false"), api("/ui/api/overview")]);
  showStatus(ov);
  state.lastSeq = doc.LastSeq;
  state.calls = doc.Calls;
  const failed = doc.Calls.filter((c) => c.HResult !== 0).length;
  const faulted = doc.Calls.filter((c) => c.Faults.length).length;
  const onlyFailed = h("input", { type: "checkbox", id: "only-failed", checked: state.onlyFailed || false });
  onlyFailed.addEventListener("change", () => { state.onlyFailed = onlyFailed.checked; refresh(); });
  const shown = doc.Calls.filter((c) => !state.onlyFailed || c.HResult !== 0).slice().reverse();
  render(
    h("h1", {}, "Call log", h("small", {}, `${doc.Calls.length} calls · ${failed} refused · ${faulted} with faults${doc.Truncated ? " · older calls dropped" : ""}`)),
    h("div", { class: "toolbar" }, filterBox("Filter by function, path, HRESULT, detail"), h("label", {}, onlyFailed, " failures only"),
      h("a", { href: "/_emulator/calls" }, "recording (JSON)")),
    panel("Timeline", "newest first", shown.length ? h("ol", { class: "timeline", id: "timeline" }, shown.map(callItem)) : h("div", { class: "empty" }, "no calls yet")),
  );
}

// -- topology --------------------------------------------------------------------------

async function pageTopology() {
  const ov = await api("/ui/api/overview");
  showStatus(ov);
  const local = ov.Endpoints.filter((e) => !e.Remote);
  const perRow = 6, epW = 92, epH = 64, netPad = 14, hostX = 20, netX = 40, netW = perRow * epW + 2 * netPad;
  let y = 70;
  const nets = ov.Networks.map((n) => {
    const eps = local.filter((e) => e.Network.toLowerCase() === n.ID.toLowerCase());
    const rows = Math.max(1, Math.ceil(eps.length / perRow));
    const box = { n, eps, y, h: 46 + rows * epH };
    y += box.h + 16;
    return box;
  });
  const hostH = Math.max(y - 20, 120);
  const hostW = netW + 40;
  const remoteX = hostX + hostW + 230;
  let ry = 50;
  const remotes = ov.Tunnels.map((t) => {
    const eps = ov.Endpoints.filter((e) => e.Remote && e.ProviderAddress === t.ProviderAddress);
    const box = { t, eps, y: ry, h: 44 + eps.length * 22 };
    ry += box.h + 20;
    return box;
  });
  const height = Math.max(hostH + 40, ry + 10);
  const width = remoteX + 290;
  const paY = 40;
  const g = [];
  g.push(svg("rect", { class: "host", x: hostX, y: 20, width: hostW, height: hostH, rx: 10 }));
  g.push(svg("text", { x: hostX + 14, y: 42, "font-weight": "600" }, "this host"), svg("text", { class: "small", x: hostX + 90, y: 42 }, `PA ${ov.HostIp} · ${ov.Profile} · HNS ${ov.Version.Major}.${ov.Version.Minor}`));
  for (const box of nets) {
    g.push(svg("rect", { class: "net", x: netX, y: box.y, width: netW, height: box.h, rx: 8 }));
    g.push(svg("text", { x: netX + 12, y: box.y + 20, "font-weight": "600" }, box.n.Name || shortId(box.n.ID)),
      svg("text", { class: "small", x: netX + 12, y: box.y + 36 }, `${box.n.Type} · ${box.n.Subnets.join(", ")}${box.n.ProviderAddress ? " · PA " + box.n.ProviderAddress : ""}`));
    box.eps.forEach((e, i) => {
      const cx = netX + netPad + (i % perRow) * epW + epW / 2, cy = box.y + 58 + Math.floor(i / perRow) * epH;
      g.push(svg("a", { href: endpointUrl(e.ID), "aria-label": `endpoint ${e.Name} ${e.IPAddress}` },
        svg("title", {}, `${e.Name} ${e.IPAddress} ${e.MacAddress}`),
        svg("circle", { class: "ep", cx, cy, r: 11 }),
        svg("text", { x: cx, y: cy + 25, "text-anchor": "middle" }, (e.Name || shortId(e.ID)).slice(0, 13)),
        svg("text", { class: "small", x: cx, y: cy + 38, "text-anchor": "middle" }, e.IPAddress.split(",")[0])));
    });
  }
  if (!nets.length) g.push(svg("text", { class: "small", x: netX, y: 90 }, "no networks yet"));
  for (const box of remotes) {
    const from = nets.find((n) => box.t.Networks.some((id) => id.toLowerCase() === n.n.ID.toLowerCase()));
    const fy = from ? from.y + 22 : paY;
    const localPa = from && from.n.ProviderAddress ? from.n.ProviderAddress : ov.HostIp;
    g.push(svg("circle", { cx: netX + netW, cy: fy, r: 4, fill: "currentColor", class: "small" }));
    g.push(svg("path", { class: "tunnel", d: `M ${netX + netW} ${fy} C ${netX + netW + 120} ${fy}, ${remoteX - 90} ${box.y + 22}, ${remoteX} ${box.y + 22}` },
      svg("title", {}, `VXLAN tunnel ${localPa} → ${box.t.ProviderAddress}`)));
    g.push(svg("text", { class: "small", x: (netX + netW + remoteX) / 2, y: Math.min(fy, box.y + 22) - 10, "text-anchor": "middle" }, `VXLAN ${localPa} → ${box.t.ProviderAddress}`));
    g.push(svg("rect", { class: "rhost", x: remoteX, y: box.y, width: 270, height: box.h, rx: 10 }));
    g.push(svg("text", { x: remoteX + 12, y: box.y + 20, "font-weight": "600" }, `PA ${box.t.ProviderAddress}`),
      svg("text", { class: "small", x: remoteX + 12, y: box.y + 35 }, `${box.t.Remote} remote endpoint${box.t.Remote === 1 ? "" : "s"}`));
    box.eps.forEach((e, i) => {
      const cy = box.y + 52 + i * 22;
      g.push(svg("circle", { class: "ep remote", cx: remoteX + 20, cy: cy - 4, r: 6 }), svg("text", { class: "small", x: remoteX + 34, y: cy }, `${e.IPAddress} ${e.MacAddress}`));
    });
  }
  render(
    h("h1", {}, "Topology", h("small", {}, `${ov.Networks.length} networks · ${local.length} local endpoints · ${ov.Tunnels.length} PA tunnels`)),
    panel("This host and its overlay peers", null,
      svg("svg", { class: "topo", id: "topology", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": "Topology: host, networks, endpoints and PA tunnels" },
        svg("title", {}, "Topology"), g), "Tab through the endpoints; Enter opens the VFP port"),
  );
}

// -- routing, live updates, keyboard ---------------------------------------------------

function route() {
  const path = location.pathname.replace(/\/+$/, "") || "/ui";
  const m = path.match(/^\/ui\/endpoints\/(.+)$/);
  if (m) return { name: "endpoint", run: () => pageEndpoint(decodeURIComponent(m[1])) };
  if (path === "/ui/trace") return { name: "trace", run: pageTrace, static: true };
  if (path === "/ui/calls") return { name: "calls", run: pageCalls };
  if (path === "/ui/topology") return { name: "topology", run: pageTopology };
  return { name: "overview", run: pageOverview };
}

// One draw at a time, in the order asked: a slow draw of the page left behind must not
// land over the page navigated to since (nor mark the wrong page ready).
let drawing = Promise.resolve();

function refresh() {
  state.pending += 1;
  drawing = drawing.then(draw).finally(() => { state.pending -= 1; });
  return drawing;
}

async function draw() {
  const r = route();
  state.page = r;
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.page === r.name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  try {
    await r.run();
    document.body.dataset.ready = r.name;
  } catch (e) {
    render(h("div", { class: "err", role: "alert" }, e.message));
    document.body.dataset.ready = "error";
  }
}

function go(href) { history.pushState({}, "", href); state.filter = ""; window.scrollTo(0, 0); refresh().then(() => main.focus()); }

async function poll() {
  // while a draw is on its way it will show the latest state anyway (and until the first
  // one lands, lastSeq is not known: every call would look new)
  if (!state.live || state.pending || state.polling) return;
  state.polling = true;
  state.tick += 1;
  try {
    const doc = await api(`/_emulator/calls?state=false&since=${Math.max(state.lastSeq, 0)}`);
    let changed = doc.LastSeq !== state.lastSeq;
    state.lastSeq = doc.LastSeq;
    if (!changed && state.tick % 5 === 0) {
      // what changes without a call (a reset, a service coming back up): compare the state
      const sig = JSON.stringify(await api("/ui/api/overview"));
      changed = state.sig !== undefined && sig !== state.sig;
      state.sig = sig;
    }
    // the tracer keeps its form; every other page redraws only when something changed, so
    // a row being read or focused stays where it is
    if (changed && state.page && !state.page.static) await refresh();
  } catch (e) {
    const svc = $("#svc"); svc.textContent = "emulator unreachable"; svc.className = "pill bad";
  } finally {
    state.polling = false;
  }
}

function setLive(on) {
  state.live = on;
  const b = $("#live");
  b.classList.toggle("on", on);
  b.setAttribute("aria-pressed", String(on));
  $("#live-text").textContent = on ? "live" : "paused";
}

function moveRow(step) {
  const rows = [...main.querySelectorAll("tbody tr[tabindex], ol.timeline > li")].filter((r) => !r.hidden);
  if (!rows.length) return;
  const i = rows.indexOf(document.activeElement);
  const next = rows[Math.min(rows.length - 1, Math.max(0, i < 0 ? 0 : i + step))];
  for (const r of rows) r.classList.toggle("sel", r === next);
  next.focus();
}

document.addEventListener("click", (ev) => {
  const a = ev.target.closest("a[href^='/ui']");
  if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
  const href = a.getAttribute("href");
  if (href.startsWith("/ui/assets")) return;
  ev.preventDefault();
  go(href);
});

document.addEventListener("keydown", (ev) => {
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(ev.target.tagName);
  if (ev.key === "Escape" && typing) { ev.target.blur(); return; }
  if (typing || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (state.gPressed) {
    state.gPressed = false;
    const dest = { o: "/ui/", t: "/ui/trace", c: "/ui/calls", p: "/ui/topology" }[ev.key];
    if (dest) { ev.preventDefault(); go(dest); }
    return;
  }
  if (ev.key === "g") { state.gPressed = true; setTimeout(() => { state.gPressed = false; }, 1500); return; }
  if (ev.key === "/") { const f = $("#filter"); if (f) { ev.preventDefault(); f.focus(); } return; }
  if (ev.key === "p") { setLive(!state.live); return; }
  if (ev.key === "?") { $("#keys").showModal(); return; }
  if (ev.key === "j" || ev.key === "ArrowDown" && ev.target.matches("tr, li")) { ev.preventDefault(); moveRow(1); return; }
  if (ev.key === "k" || ev.key === "ArrowUp" && ev.target.matches("tr, li")) { ev.preventDefault(); moveRow(-1); return; }
  if (ev.key === "Enter" && ev.target.matches("tr[data-href]")) { ev.preventDefault(); go(ev.target.dataset.href); }
});

window.addEventListener("popstate", refresh);
$("#live").addEventListener("click", () => setLive(!state.live));
refresh();
setInterval(poll, 1000);
