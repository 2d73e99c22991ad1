// The portal's entry: brand and theme, the token, and the hash router (`#/endpoints`, `#/endpoints/{id}`,
// `#/messages`, `#/messages/{id}`, `#/catalog`). The token never appears in a route.

import { Api, Expired, readClaims, takeToken } from "./api.js";
import { errorBox, h, show } from "./ui.js";
import { endpointList } from "./endpoints.js";
import { endpointPage } from "./endpoint.js";
import { messageList, messagePage } from "./messages.js";
import { catalogPage } from "./catalog.js";

const ROUTES = [
  [/^#\/endpoints\/([^/]+)$/, endpointPage, "endpoints"],
  [/^#\/endpoints$/, endpointList, "endpoints"],
  [/^#\/messages\/([^/]+)$/, messagePage, "messages"],
  [/^#\/messages$/, messageList, "messages"],
  [/^#\/catalog$/, catalogPage, "catalog"],
];

function applyBrand() {
  const params = new URLSearchParams(location.search);
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  // Query parameters are the embedding page's; accepted only when well formed.
  const color = params.get("brandColor");
  const brandColor = color && /^#[0-9a-fA-F]{6}$/.test(color) ? color : meta("xwebhook-brand-color");
  document.documentElement.style.setProperty("--brand", brandColor);
  const name = params.get("brandName");
  if (name && name.trim().length > 0 && name.length <= 60) {
    document.getElementById("brand").textContent = name.trim();
    document.title = name.trim();
  }
  const theme = params.get("theme");
  if (theme === "dark" || theme === "light") document.documentElement.dataset.theme = theme;
}

function expired() {
  document.getElementById("nav").hidden = true;
  show(
    h(
      "section",
      { class: "notice" },
      h("h1", {}, "This link has expired"),
      h("p", {}, "Ask for a new link to manage your webhooks from the service that sent you here."),
    ),
  );
}

/** A context each view receives: the API client and the event catalog, loaded once per page. */
function context(api) {
  let catalog;
  return {
    api,
    catalog() {
      catalog ||= api.get("/api/v1/event-type", { limit: 250, with_content: true }).then((r) => r.data.filter((t) => !t.archived));
      return catalog;
    },
    expired,
  };
}

async function route(ctx) {
  const hash = location.hash || "#/endpoints";
  const found = ROUTES.map(([re, view, section]) => [re.exec(hash), view, section]).find(([m]) => m);
  if (!found) {
    location.replace("#/endpoints");
    return;
  }
  const [match, view, section] = found;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  try {
    await view(ctx, ...match.slice(1).map(decodeURIComponent));
  } catch (error) {
    if (error instanceof Expired) expired();
    else show(errorBox(error));
  }
}

function start() {
  applyBrand();
  const token = takeToken();
  const claims = token && readClaims(token);
  if (!claims || (claims.exp && claims.exp * 1000 < Date.now())) {
    expired();
    return;
  }
  document.getElementById("nav").hidden = false;
  const ctx = context(new Api(token, claims));
  window.addEventListener("hashchange", () => route(ctx));
  window.addEventListener("portal:expired", expired);
  route(ctx);
}

start();
