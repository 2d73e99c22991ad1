// One endpoint: details and edit, enable/disable, delete, signing secret, custom headers, health, testing.

import { act, errorBox, eventTypeChoice, field, flash, h, show, tickedTypes } from "./ui.js";
import { healthChart } from "./chart.js";

export async function endpointPage(ctx, id) {
  const { api } = ctx;
  const path = `${api.app}/endpoint/${encodeURIComponent(id)}`;
  const [endpoint, catalog] = await Promise.all([api.get(path), ctx.catalog()]);
  const ep = { ctx, path, endpoint, catalog, reload: () => endpointPage(ctx, id) };
  show(
    h("p", {}, h("a", { href: "#/endpoints" }, "← Endpoints")),
    h("div", { class: "head" }, h("h1", { class: "url" }, endpoint.url), statusControls(ep)),
    h("div", { class: "grid" }, details(ep), h("div", {}, secretCard(ep), healthCard(ep), testingCard(ep))),
    await headersCard(ep),
  );
}

function statusControls({ ctx, path, endpoint, reload }) {
  const badge = h("span", { class: `badge ${endpoint.disabled ? "bad" : "ok"}` }, endpoint.disabled ? "Disabled" : "Enabled");
  if (!ctx.api.can("ManageEndpoint")) return badge;
  const toggle = h("button", { type: "button" }, endpoint.disabled ? "Enable" : "Disable");
  toggle.addEventListener("click", () =>
    act(toggle, async () => {
      await ctx.api.call("PATCH", path, { disabled: !endpoint.disabled });
      await reload();
    }),
  );
  const remove = h("button", { type: "button", class: "danger" }, "Delete");
  remove.addEventListener("click", () => {
    const confirmBtn = h("button", { type: "button", class: "danger" }, "Confirm Delete");
    const cancel = h("button", { type: "button" }, "Cancel");
    const box = h("div", { class: "confirm", role: "alertdialog", "aria-label": "Delete this endpoint?" }, h("span", {}, "Delete this endpoint? Its deliveries stop."), confirmBtn, cancel);
    cancel.addEventListener("click", () => {
      box.remove();
      remove.focus();
    });
    confirmBtn.addEventListener("click", () =>
      act(confirmBtn, async () => {
        await ctx.api.call("DELETE", path);
        location.hash = "#/endpoints";
      }),
    );
    remove.after(box);
    confirmBtn.focus();
  });
  return h("div", { class: "actions" }, badge, toggle, remove);
}

function details({ ctx, path, endpoint, catalog, reload }) {
  if (!ctx.api.can("ManageEndpoint")) {
    return h(
      "section",
      { class: "card" },
      h("h2", {}, "Details"),
      h("dl", {}, h("dt", {}, "Description"), h("dd", {}, endpoint.description || "—"), h("dt", {}, "Event types"), h("dd", {}, (endpoint.filterTypes || ["All events"]).join(", ")), h("dt", {}, "Rate limit"), h("dd", {}, endpoint.rateLimit ? `${endpoint.rateLimit} / s` : "None")),
    );
  }
  const url = h("input", { type: "url", name: "url", required: true, value: endpoint.url });
  const description = h("input", { type: "text", name: "description", value: endpoint.description || "" });
  const rate = h("input", { type: "number", name: "rateLimit", min: "1", max: "65535", value: endpoint.rateLimit ?? "" });
  const save = h("button", { type: "submit", class: "primary" }, "Save");
  const form = h("form", { class: "card" }, h("h2", {}, "Details"), field("Endpoint URL", url), field("Description", description), field("Rate limit (messages per second)", rate, "Empty: no limit."), eventTypeChoice(catalog, endpoint.filterTypes || []), h("div", { class: "actions" }, save));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(save, async () => {
      const types = tickedTypes(form);
      await ctx.api.call("PATCH", path, {
        url: url.value.trim(),
        description: description.value.trim(),
        rateLimit: rate.value ? Number(rate.value) : null,
        filterTypes: types.length ? types : null,
      });
      await reload();
      flash("Saved.");
    });
  });
  return form;
}

function secretCard({ ctx, path }) {
  const { api } = ctx;
  if (!api.can("ViewEndpointSecret")) return null;
  const value = h("code", { class: "secret", "aria-live": "polite" }, "•••••••••••••••• (hidden)");
  const reveal = h("button", { type: "button" }, "Reveal");
  reveal.addEventListener("click", () =>
    act(reveal, async () => {
      value.textContent = (await api.get(`${path}/secret`)).key;
      reveal.hidden = true;
    }),
  );
  const rotate = api.can("ManageEndpointSecret") && h("button", { type: "button" }, "Rotate");
  if (rotate) {
    rotate.addEventListener("click", () =>
      act(rotate, async () => {
        await api.call("POST", `${path}/secret/rotate`, {});
        value.textContent = (await api.get(`${path}/secret`)).key;
        reveal.hidden = true;
      }),
    );
  }
  return h("section", { class: "card" }, h("h2", {}, "Signing secret"), h("p", { class: "muted" }, "Verify each webhook's signature with this secret."), value, h("div", { class: "actions" }, reveal, rotate));
}

function healthCard({ ctx, path }) {
  const holder = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  healthChart(ctx.api, path).then(
    (chart) => holder.replaceChildren(chart),
    (error) => holder.replaceChildren(errorBox(error)),
  );
  return h("section", { class: "card" }, h("h2", {}, "Health, last 7 days"), holder);
}

function testingCard({ ctx, path, catalog }) {
  const { api } = ctx;
  if (!api.can("CreateAttempts")) return null;
  const type = h("select", { name: "eventType" }, catalog.map((t) => h("option", { value: t.name }, t.name)));
  const send = h("button", { type: "button" }, "Send Example");
  send.addEventListener("click", () =>
    act(send, async () => {
      const msg = await api.call("POST", `${path}/send-example`, { eventType: type.value });
      send.after(h("p", { class: "flash", role: "status" }, "Sent ", h("a", { href: `#/messages/${encodeURIComponent(msg.id)}` }, msg.id)));
    }),
  );
  const since = h("input", { type: "datetime-local", name: "since", required: true });
  const recover = h("button", { type: "button" }, "Recover");
  recover.addEventListener("click", () =>
    act(recover, async () => {
      if (!since.value) throw new Error("Choose the time to recover from.");
      await api.call("POST", `${path}/recover`, { since: new Date(since.value).toISOString() });
      recover.after(h("p", { class: "flash", role: "status" }, "Failed messages since then are being sent again."));
    }),
  );
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "Testing"),
    catalog.length ? h("div", { class: "row" }, field("Event type", type), send) : h("p", { class: "muted" }, "No event types to send an example of."),
    h("div", { class: "row" }, field("Recover failed messages since", since), recover),
  );
}

async function headersCard({ ctx, path }) {
  const { api } = ctx;
  const { headers } = await api.get(`${path}/headers`);
  const lines = Object.entries(headers || {}).map(([k, v]) => `${k}: ${v}`);
  if (!api.can("ManageEndpoint")) {
    return h("section", { class: "card" }, h("h2", {}, "Custom headers"), lines.length ? h("pre", { class: "code" }, lines.join("\n")) : h("p", { class: "muted" }, "None."));
  }
  const text = h("textarea", { name: "headers", rows: "3", spellcheck: "false", placeholder: "X-Example: value" }, lines.join("\n"));
  const save = h("button", { type: "submit" }, "Save Headers");
  const form = h("form", { class: "card" }, h("h2", {}, "Custom headers"), field("Headers sent with every webhook, one \"Name: value\" a line", text), h("div", { class: "actions" }, save));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(save, async () => {
      const parsed = {};
      for (const line of text.value.split("\n").map((l) => l.trim()).filter(Boolean)) {
        const at = line.indexOf(":");
        if (at < 1) throw new Error(`"${line}" is not "Name: value"`);
        parsed[line.slice(0, at).trim()] = line.slice(at + 1).trim();
      }
      await api.call("PUT", `${path}/headers`, { headers: parsed });
      save.after(h("p", { class: "flash", role: "status" }, "Headers saved."));
    });
  });
  return form;
}
