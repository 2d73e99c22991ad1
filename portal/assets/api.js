// The portal's only way to the server: the public API with the portal token. The token's claims are read only to
// decide which controls to show; the server enforces every permission.

const STORE_KEY = "xwebhook-portal-token";

/** Raised when the token is refused (expired or revoked): the page then shows its expiry message. */
export class Expired extends Error {}

/** An API error with the server's `detail`, shown as is. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(typeof detail === "string" ? detail : JSON.stringify(detail));
    this.status = status;
  }
}

/**
 * Takes the token from `#key=…` (then removes it from the address bar, so it is not left visible or copied along
 * with the address) or, after a reload, from sessionStorage: per tab, and gone when the tab closes.
 */
export function takeToken() {
  const match = /^#key=([^&]+)/.exec(location.hash);
  if (match) {
    const token = decodeURIComponent(match[1]);
    remember(token);
    history.replaceState(null, "", location.pathname + location.search + "#/endpoints");
    return token;
  }
  try {
    return sessionStorage.getItem(STORE_KEY);
  } catch {
    return null;
  }
}

// A browser may refuse storage to a framed page; the token then lives in memory only (a reload asks for a new link).
function remember(token) {
  try {
    sessionStorage.setItem(STORE_KEY, token);
  } catch {
    // nothing to do: see above
  }
}

/** The claims the page needs: the application and what the token may do (`caps` absent: everything). */
export function readClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part));
    return { appId: String(claims.sub), exp: claims.exp, caps: Array.isArray(claims.caps) ? claims.caps : null };
  } catch {
    return null;
  }
}

// The same implications as the server's `Capability::grants`.
const IMPLIED = {
  ViewEndpointSecret: ["ViewEndpointSecret", "ManageEndpointSecret", "ManageEndpoint"],
  ManageEndpointSecret: ["ManageEndpointSecret", "ManageEndpoint"],
};

export class Api {
  constructor(token, claims) {
    this.token = token;
    this.claims = claims;
    this.app = `/api/v1/app/${encodeURIComponent(claims.appId)}`;
  }

  can(cap) {
    const caps = this.claims.caps;
    return caps === null || (IMPLIED[cap] || [cap]).some((c) => caps.includes(c));
  }

  async call(method, path, body) {
    const headers = { Authorization: `Bearer ${this.token}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (response.status === 401) throw new Expired("expired");
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) throw new ApiError(response.status, (data && data.detail) || response.statusText);
    return data;
  }

  get(path, query) {
    return this.call("GET", withQuery(path, query));
  }
}

/** `path?…`, leaving out empty values and repeating array ones (`event_types=a&event_types=b`). */
export function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (v !== undefined && v !== null && v !== "") params.append(key, v);
    }
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}
