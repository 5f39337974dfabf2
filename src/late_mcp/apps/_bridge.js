/* late-mcp apps: the view side of the MCP Apps extension (io.modelcontextprotocol/ui, 2026-01-26),
   JSON-RPC 2.0 over postMessage with the host (window.parent). Written here, not loaded from a CDN.
   View -> host: ui/initialize, ui/notifications/initialized, ui/notifications/size-changed,
   tools/call, ui/update-model-context. Host -> view: ui/notifications/tool-input, tool-result,
   tool-cancelled, host-context-changed; requests (ping, ui/resource-teardown) get an empty result. */
"use strict";
const LateApp = (() => {
  const PROTOCOL = "2026-01-26";
  let nextId = 1;
  let host = { capabilities: {}, context: {} };
  const pending = new Map();
  const on = {};
  const send = (message) => window.parent.postMessage({ jsonrpc: "2.0", ...message }, "*");
  const request = (method, params) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    send({ id, method, params });
  });
  const notify = (method, params) => send({ method, params: params || {} });
  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    const m = event.data;
    if (!m || m.jsonrpc !== "2.0") return;
    if (m.method === undefined && m.id !== undefined) {
      const waiting = pending.get(m.id);
      if (!waiting) return;
      pending.delete(m.id);
      if (m.error) waiting.reject(new Error(m.error.message || "the host refused"));
      else waiting.resolve(m.result);
      return;
    }
    if (m.id !== undefined) { send({ id: m.id, result: {} }); return; }
    if (m.method === "ui/notifications/host-context-changed") theme(m.params);
    const handler = on[m.method];
    if (handler) handler(m.params || {});
  });
  function theme(context) {
    if (context && (context.theme === "dark" || context.theme === "light")) {
      document.documentElement.dataset.theme = context.theme;
    }
  }
  async function connect(name, handlers) {
    on["ui/notifications/tool-input"] = (p) => handlers.input && handlers.input(p.arguments || {});
    on["ui/notifications/tool-result"] = (p) => handlers.result && handlers.result(p);
    on["ui/notifications/tool-cancelled"] = (p) => handlers.cancelled && handlers.cancelled(p.reason);
    const answer = await request("ui/initialize", {
      appInfo: { name: "late-mcp " + name, version: "1" },
      appCapabilities: {},
      protocolVersion: PROTOCOL,
    });
    host = { capabilities: answer.hostCapabilities || {}, context: answer.hostContext || {} };
    theme(host.context);
    notify("ui/notifications/initialized");
    let last = 0;
    new ResizeObserver(() => {
      const height = Math.ceil(document.documentElement.scrollHeight);
      if (height !== last) { last = height; notify("ui/notifications/size-changed", { height }); }
    }).observe(document.body);
  }
  /* A tool call through the host (its own checks and confirmations apply); resolves to the result. */
  const callTool = (name, args) => request("tools/call", { name, arguments: args });
  /* Tell the model what the person did here, when the host takes context updates. */
  function tellModel(text) {
    if (!host.capabilities.updateModelContext) return Promise.resolve();
    return request("ui/update-model-context", { content: [{ type: "text", text }] }).catch(() => {});
  }
  /* The text of a result (without structured content: a host that dropped it, or an error). */
  const textOf = (result) => (result.content || []).filter((b) => b.type === "text").map((b) => b.text).join("\n");
  /* An element with attributes and children; strings become text nodes (never markup). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    for (const child of children.flat()) {
      if (child === undefined || child === null) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  /* A result's data: late-mcp sends it once, as JSON on the text's last line (structuredContent,
     where a result has it, is the same data). Null when there is none (an error without it). */
  function dataOf(result) {
    if (result && result.structuredContent) return result.structuredContent;
    const text = textOf(result || {});
    const last = text.slice(text.lastIndexOf("\n") + 1);
    if (!last.startsWith("{")) return null;
    try { return JSON.parse(last); } catch (_) { return null; }
  }
  /* Only http(s) links are ever made clickable. */
  const safeUrl = (url) => (typeof url === "string" && /^https?:\/\//i.test(url) ? url : null);
  return { connect, callTool, tellModel, textOf, dataOf, el, svg, safeUrl, get host() { return host; } };
})();
