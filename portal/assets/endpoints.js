// The endpoint list and the "Add Endpoint" form.

import { act, eventTypeChoice, field, h, show, tickedTypes } from "./ui.js";

export async function endpointList(ctx) {
  const { api } = ctx;
  const page = await api.get(`${api.app}/endpoint`, { limit: 250 });
  const add = api.can("ManageEndpoint") && h("button", { type: "button", class: "primary", onclick: () => addForm(ctx) }, "Add Endpoint");
  const rows = page.data.map((e) =>
    h(
      "tr",
      {},
      h("td", { class: "url" }, h("a", { href: `#/endpoints/${encodeURIComponent(e.id)}` }, e.url), e.description && h("div", { class: "muted" }, e.description)),
      h("td", {}, h("span", { class: `badge ${e.disabled ? "bad" : "ok"}` }, e.disabled ? "Disabled" : "Enabled")),
      h("td", {}, typesCell(e.filterTypes)),
    ),
  );
  show(
    h("div", { class: "head" }, h("h1", {}, "Endpoints"), add),
    rows.length
      ? h(
          "table",
          { class: "list" },
          h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Endpoint"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col" }, "Event types"))),
          h("tbody", {}, rows),
        )
      : h("p", { class: "empty" }, "No endpoints yet. An endpoint is a URL of yours that receives webhooks."),
  );
}

function typesCell(types) {
  if (!types || !types.length) return h("span", { class: "muted" }, "All events");
  return types.map((t) => h("code", { class: "tag" }, t));
}

async function addForm(ctx) {
  const { api } = ctx;
  const catalog = await ctx.catalog();
  const url = h("input", { type: "url", name: "url", required: true, placeholder: "https://example.com/webhooks", autocomplete: "off" });
  const description = h("input", { type: "text", name: "description", maxlength: "200" });
  const create = h("button", { type: "submit", class: "primary" }, "Create");
  const form = h(
    "form",
    { class: "card" },
    field("Endpoint URL", url, "Where we send the webhooks: an https URL you control."),
    field("Description", description),
    eventTypeChoice(catalog, []),
    h("div", { class: "actions" }, create, h("a", { href: "#/endpoints", class: "button" }, "Cancel")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(create, async () => {
      const types = tickedTypes(form);
      const body = { url: url.value.trim(), description: description.value.trim() };
      if (types.length) body.filterTypes = types;
      const created = await api.call("POST", `${api.app}/endpoint`, body);
      location.hash = `#/endpoints/${encodeURIComponent(created.id)}`;
    });
  });
  show(h("div", { class: "head" }, h("h1", {}, "Add Endpoint")), form);
  url.focus();
}
