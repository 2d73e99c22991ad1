// The event catalog: every event type with its description, JSON schema and an example payload.

import { h, pretty, show } from "./ui.js";

/** The newest schema version's JSON schema (Svix keeps them as `schemas: {"1": {...}}`). */
function latestSchema(type) {
  const versions = Object.keys(type.schemas || {}).sort((a, b) => Number(b) - Number(a));
  return versions.length ? type.schemas[versions[0]] : null;
}

export async function catalogPage(ctx) {
  const catalog = await ctx.catalog();
  show(
    h("div", { class: "head" }, h("h1", {}, "Event Catalog")),
    catalog.length
      ? catalog.map((t) => {
          const schema = latestSchema(t);
          const example = schema && Array.isArray(schema.examples) && schema.examples.length ? schema.examples[0] : null;
          return h(
            "section",
            { class: "card", id: `type-${t.name}` },
            h("h2", {}, h("code", {}, t.name)),
            h("p", {}, t.description || h("span", { class: "muted" }, "No description.")),
            schema && h("details", {}, h("summary", {}, "Schema"), pretty(schema)),
            example && h("details", { open: true }, h("summary", {}, "Example"), pretty(example)),
          );
        })
      : h("p", { class: "empty" }, "No event types are defined yet."),
  );
}
