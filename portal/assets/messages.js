// The message log (newest first, filtered, paginated with the API's iterators) and one message with its attempts.

import { act, codeBadge, field, h, pretty, prettyText, show, statusBadge, time } from "./ui.js";

const PAGE = 20;

export async function messageList(ctx, filters = {}, iterator) {
  const { api } = ctx;
  const [catalog, endpoints] = await Promise.all([ctx.catalog(), api.get(`${api.app}/endpoint`, { limit: 250 })]);
  // A status belongs to a delivery to one endpoint, so filtering by it lists one endpoint's messages.
  const byEndpoint = filters.endpoint || filters.status !== undefined && filters.status !== "";
  const endpointId = filters.endpoint || (byEndpoint && endpoints.data[0] && endpoints.data[0].id);
  const query = {
    limit: PAGE,
    iterator,
    event_types: filters.eventType,
    after: filters.after && new Date(filters.after).toISOString(),
    before: filters.before && new Date(filters.before).toISOString(),
    with_content: false,
  };
  const page = endpointId
    ? await api.get(`${api.app}/endpoint/${encodeURIComponent(endpointId)}/msg`, { ...query, status: filters.status })
    : await api.get(`${api.app}/msg`, query);
  // An endpoint's list carries each message's delivery status beside its fields.
  const rows = page.data.map((m) => {
    return h(
      "tr",
      {},
      h("td", {}, h("a", { href: `#/messages/${encodeURIComponent(m.id)}` }, h("code", {}, m.eventType))),
      h("td", {}, h("code", { class: "muted" }, m.id)),
      h("td", {}, endpointId ? statusBadge(m.status) : ""),
      h("td", {}, time(m.timestamp)),
    );
  });
  const nav = h(
    "div",
    { class: "actions pager" },
    page.prevIterator && iterator && h("button", { type: "button", onclick: () => messageList(ctx, filters, page.prevIterator) }, "Newer"),
    !page.done && page.iterator && h("button", { type: "button", onclick: () => messageList(ctx, filters, page.iterator) }, "Older"),
  );
  show(
    h("div", { class: "head" }, h("h1", {}, "Messages")),
    filterForm(ctx, filters, catalog, endpoints.data, endpointId),
    rows.length
      ? h("table", { class: "list" }, h("thead", {}, h("tr", {}, ["Event type", "Message", "Status", "Time"].map((c) => h("th", { scope: "col" }, c)))), h("tbody", {}, rows))
      : h("p", { class: "empty" }, "No messages match."),
    nav,
  );
}

function filterForm(ctx, filters, catalog, endpoints, endpointId) {
  const select = (name, options, value) =>
    h("select", { name }, options.map(([v, label]) => h("option", { value: v, selected: String(value ?? "") === v }, label)));
  const eventType = select("eventType", [["", "All event types"], ...catalog.map((t) => [t.name, t.name])], filters.eventType);
  const endpoint = select("endpoint", [["", "All endpoints"], ...endpoints.map((e) => [e.id, e.url])], endpointId);
  const status = select("status", [["", "Any status"], ["0", "Succeeded"], ["2", "Failed"], ["1", "Pending"], ["3", "Sending"]], filters.status);
  const after = h("input", { type: "datetime-local", name: "after", value: filters.after || "" });
  const before = h("input", { type: "datetime-local", name: "before", value: filters.before || "" });
  const form = h(
    "form",
    { class: "filters", "aria-label": "Filter messages" },
    field("Event type", eventType),
    field("Endpoint", endpoint),
    field("Status", status),
    field("After", after),
    field("Before", before),
    h("button", { type: "submit" }, "Filter"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = { eventType: eventType.value, endpoint: endpoint.value, status: status.value, after: after.value, before: before.value };
    messageList(ctx, next).catch((error) => form.after(h("p", { class: "error", role: "alert" }, error.message)));
  });
  return form;
}

export async function messagePage(ctx, id) {
  const { api } = ctx;
  const msgPath = `${api.app}/msg/${encodeURIComponent(id)}`;
  const [msg, destinations, attempts] = await Promise.all([
    api.get(msgPath),
    api.get(`${msgPath}/endpoint`, { limit: 250 }),
    api.get(`${api.app}/attempt/msg/${encodeURIComponent(id)}`, { limit: 250 }),
  ]);
  show(
    h("p", {}, h("a", { href: "#/messages" }, "← Messages")),
    h("div", { class: "head" }, h("h1", {}, h("code", {}, msg.eventType)), h("span", { class: "muted" }, msg.id, " · ", time(msg.timestamp))),
    h("section", { class: "card" }, h("h2", {}, "Payload"), msg.payload === undefined || msg.payload === null ? h("p", { class: "muted" }, "The payload is no longer kept.") : pretty(msg.payload)),
    h("h2", {}, "Deliveries"),
    destinations.data.length ? destinations.data.map((d) => destinationCard(ctx, msgPath, d, attempts.data)) : h("p", { class: "empty" }, "No endpoint receives this message."),
  );
}

function destinationCard(ctx, msgPath, destination, attempts) {
  const { api } = ctx;
  const ep = destination; // the endpoint's fields, with this message's delivery status beside them
  const mine = attempts.filter((a) => a.endpointId === ep.id);
  const resend =
    api.can("CreateAttempts") &&
    h("button", { type: "button" }, "Resend");
  if (resend) {
    resend.addEventListener("click", () =>
      act(resend, async () => {
        await api.call("POST", `${msgPath}/endpoint/${encodeURIComponent(ep.id)}/resend`);
        resend.after(h("p", { class: "flash", role: "status" }, "Resent. The new attempt appears when it completes."));
        await untilNewAttempt(api, ep.id, msgPath, mine.length);
        await messagePage(ctx, msgPath.split("/").pop());
      }),
    );
  }
  return h(
    "section",
    { class: "card destination" },
    h("div", { class: "head" }, h("div", { class: "title" }, h("h3", { class: "url" }, h("a", { href: `#/endpoints/${encodeURIComponent(ep.id)}` }, ep.url)), statusBadge(destination.status)), resend),
    mine.length ? h("ol", { class: "attempts" }, mine.map(attemptItem)) : h("p", { class: "muted" }, "No attempt yet."),
  );
}

function attemptItem(a) {
  return h(
    "li",
    { class: "attempt" },
    h("details", {}, h("summary", {}, codeBadge(a.responseStatusCode), " ", time(a.timestamp), a.responseDurationMs >= 0 ? h("span", { class: "muted" }, ` · ${a.responseDurationMs} ms`) : "", h("span", { class: "muted" }, a.triggerType === 1 ? " · manual" : "")), h("p", { class: "label" }, "Response body"), prettyText(a.response)),
  );
}

/** Waits (a few seconds at most) for the resent attempt to be recorded, so the page shows it when it reloads. */
async function untilNewAttempt(api, endpointId, msgPath, before) {
  const id = msgPath.split("/").pop();
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const page = await api.get(`${api.app}/attempt/msg/${id}`, { limit: 250 });
    if (page.data.filter((a) => a.endpointId === endpointId).length > before) return;
  }
}
