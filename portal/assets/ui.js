// Small DOM helpers. Everything is built with createElement and textContent, never innerHTML, so nothing the API
// returns (URLs, descriptions, payloads, response bodies) can become markup.

import { Expired } from "./api.js";

/** `h("a", {href: "#/x", class: "btn"}, "text", child…)`; `on…` attributes become listeners. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Replaces the main area's content and moves focus there, so keyboard and screen-reader users follow. */
export function show(...children) {
  const main = document.getElementById("main");
  main.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  main.focus({ preventScroll: true });
}

export function time(iso) {
  if (!iso) return "";
  return h("time", { datetime: iso, title: iso }, new Date(iso).toLocaleString());
}

// MessageStatus: 0 success, 1 pending, 2 fail, 3 sending.
const STATUS = { 0: ["Succeeded", "ok"], 1: ["Pending", "wait"], 2: ["Failed", "bad"], 3: ["Sending", "wait"] };

export function statusBadge(status) {
  const [text, tone] = STATUS[status] || ["Unknown", "wait"];
  return h("span", { class: `badge ${tone}` }, text);
}

export function codeBadge(code) {
  const tone = code >= 200 && code < 300 ? "ok" : "bad";
  return h("span", { class: `badge ${tone}` }, code > 0 ? String(code) : "no response");
}

export function pretty(value) {
  return h("pre", { class: "code", tabindex: "0" }, JSON.stringify(value, null, 2));
}

/** A body as received: pretty JSON when it is JSON, else the text. */
export function prettyText(text) {
  try {
    return pretty(JSON.parse(text));
  } catch {
    return h("pre", { class: "code", tabindex: "0" }, text || "(empty)");
  }
}

export function field(label, control, hint) {
  return h("label", { class: "field" }, h("span", { class: "label" }, label), control, hint && h("small", { class: "muted" }, hint));
}

export function errorBox(error) {
  return h("p", { class: "error", role: "alert" }, error.message || String(error));
}

/** Runs `action`, disabling `button` meanwhile and showing a failure beside it; a refused token ends the page. */
export async function act(button, action) {
  button.disabled = true;
  const next = button.parentElement && button.parentElement.querySelector(":scope > .error");
  if (next) next.remove();
  try {
    return await action();
  } catch (error) {
    if (error instanceof Expired) {
      window.dispatchEvent(new Event("portal:expired"));
      return undefined;
    }
    button.after(errorBox(error));
    return undefined;
  } finally {
    button.disabled = false;
  }
}

export function flash(text) {
  const note = h("p", { class: "flash", role: "status" }, text);
  const main = document.getElementById("main");
  main.prepend(note);
}

/** The event types as checkboxes (name and description), `checked` ticked. */
export function eventTypeChoice(catalog, checked) {
  if (!catalog.length) return h("p", { class: "muted" }, "No event types defined: the endpoint receives every event.");
  return h(
    "fieldset",
    { class: "choices" },
    h("legend", {}, "Event types (none ticked: all events)"),
    catalog.map((t) =>
      h(
        "label",
        { class: "choice" },
        h("input", { type: "checkbox", name: "eventType", value: t.name, checked: checked.includes(t.name) }),
        h("span", {}, h("code", {}, t.name), t.description && h("small", { class: "muted" }, t.description)),
      ),
    ),
  );
}

export function tickedTypes(form) {
  return [...form.querySelectorAll('input[name="eventType"]:checked')].map((i) => i.value);
}
