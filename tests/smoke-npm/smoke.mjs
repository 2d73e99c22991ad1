// Smoke test of a running Xwebhook through the official npm `svix` SDK: the calls a Node.js integration makes,
// and a webhook verified with the SDK's own `Webhook` class. run.sh starts the server and sets:
//   XWEBHOOK_URL          the server's base URL
//   XWEBHOOK_TOKEN        an organization token
//   XWEBHOOK_PAGING_TOKEN a token of another, empty organization (so the paging step sees only its own apps)
// Exits non-zero, naming the failed step, on any failure.

import assert from "node:assert/strict";
import http from "node:http";
import { randomUUID } from "node:crypto";
import { ApiException, Svix, Webhook } from "svix";

const DEADLINE_MS = 15_000;

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run tests/smoke-npm/run.sh)`);
  return value;
}

// No SDK retries: a 5xx must show up as the failure it is.
const options = { serverUrl: env("XWEBHOOK_URL"), retryScheduleInMs: [] };
const svix = new Svix(env("XWEBHOOK_TOKEN"), options);
const suffix = randomUUID().slice(0, 8);

/** A loopback HTTP server that records every POST and answers 200. */
async function startReceiver() {
  const received = [];
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      received.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
      for (const wake of waiters.splice(0)) wake();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    base,
    close: () => new Promise((resolve) => server.close(resolve)),
    /** The first request to `path`, awaited until the deadline. */
    async first(path) {
      const deadline = Date.now() + DEADLINE_MS;
      for (;;) {
        const hit = received.find((r) => r.path === path);
        if (hit) return hit;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no webhook reached ${path} within ${DEADLINE_MS} ms`);
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
  };
}

/** Calls `check` until it returns a value, or fails at the deadline with its last error. */
async function eventually(what, check) {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`${what} within ${DEADLINE_MS} ms: ${e.message}`);
    }
    // Polling the API is the only way to observe a record being written; 100 ms keeps it cheap.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function expectApiError(status, call) {
  try {
    await call();
  } catch (e) {
    assert.ok(e instanceof ApiException, `expected an ApiException, got ${e}`);
    assert.equal(e.code, status, `status of ${JSON.stringify(e.body)}`);
    return e;
  }
  assert.fail(`expected an ApiException with status ${status}, the call succeeded`);
}

const tally = { passed: 0, failed: 0 };

async function step(name, body) {
  try {
    const result = await body();
    tally.passed += 1;
    console.log(`ok    ${name}`);
    return result;
  } catch (e) {
    tally.failed += 1;
    console.error(`FAIL  ${name}\n${e.stack ?? e}`);
    throw new Error(`smoke-npm: step "${name}" failed`);
  }
}

async function deliverAndVerify(receiver) {
  const app = await step("create an application", async () => {
    const app = await svix.application.create({ name: "npm smoke", uid: `npm-smoke-${suffix}` });
    assert.match(app.id, /^app_/);
    assert.equal(app.uid, `npm-smoke-${suffix}`);
    return app;
  });
  const eventType = await step("create an event type", async () => {
    const created = await svix.eventType.create({ name: `smoke.npm-${suffix}`, description: "npm smoke" });
    assert.equal(created.name, `smoke.npm-${suffix}`);
    assert.ok(created.createdAt instanceof Date && !Number.isNaN(created.createdAt.getTime()));
    return created.name;
  });
  const path = `/hook/${suffix}`;
  const endpoint = await step("create an endpoint on the receiver", async () => {
    const endpoint = await svix.endpoint.create(app.id, {
      url: `${receiver.base}${path}`,
      eventTypes: [eventType],
    });
    assert.match(endpoint.id, /^ep_/);
    assert.deepEqual(endpoint.eventTypes, [eventType]);
    return endpoint;
  });
  const secret = await step("read the endpoint secret", async () => {
    const { key } = await svix.endpoint.getSecret(app.id, endpoint.id);
    assert.match(key, /^whsec_/);
    return key;
  });
  const payload = { invoice: 42, amount: 1999, note: `smoke ${suffix}` };
  const msg = await step("send a message", async () => {
    const msg = await svix.message.create(app.id, { eventType, payload });
    assert.match(msg.id, /^msg_/);
    assert.equal(msg.eventType, eventType);
    return msg;
  });
  await step("receive the webhook and verify it with the SDK's Webhook class", async () => {
    const hit = await receiver.first(path);
    new Webhook(secret).verify(hit.body, hit.headers);
    assert.deepEqual(JSON.parse(hit.body), payload);
    assert.equal(hit.headers["webhook-id"], msg.id);
    assert.throws(() => new Webhook(secret).verify(`${hit.body} `, hit.headers), "a changed body must not verify");
  });
  return { app, endpoint, msg };
}

async function listings({ app, endpoint, msg }) {
  await step("list messages", async () => {
    const page = await svix.message.list(app.id);
    assert.deepEqual(
      page.data.map((m) => m.id),
      [msg.id],
    );
    assert.equal(page.done, true);
  });
  await step("list attempts by endpoint", async () => {
    const attempt = await eventually("a successful attempt listed", async () => {
      const page = await svix.messageAttempt.listByEndpoint(app.id, endpoint.id);
      const found = page.data.find((a) => a.msgId === msg.id && a.status === 0);
      assert.ok(found, `attempts: ${JSON.stringify(page.data)}`);
      return found;
    });
    assert.equal(attempt.endpointId, endpoint.id);
    assert.equal(attempt.responseStatusCode, 200);
  });
}

async function paging() {
  await step("page applications forward and back with limit", async () => {
    const own = new Svix(env("XWEBHOOK_PAGING_TOKEN"), options);
    const created = [];
    for (let i = 0; i < 5; i++) created.push((await own.application.create({ name: `page ${i}` })).id);
    const ids = created.sort();
    const ofPage = (page) => page.data.map((a) => a.id);

    const first = await own.application.list({ limit: 2 });
    assert.deepEqual(ofPage(first), ids.slice(0, 2));
    assert.equal(first.done, false);
    const second = await own.application.list({ limit: 2, iterator: first.iterator });
    assert.deepEqual(ofPage(second), ids.slice(2, 4));
    const third = await own.application.list({ limit: 2, iterator: second.iterator });
    assert.deepEqual(ofPage(third), ids.slice(4));
    assert.equal(third.done, true);

    const back = await own.application.list({ limit: 2, iterator: third.prevIterator });
    assert.deepEqual(ofPage(back), ids.slice(2, 4));
    const backToFirst = await own.application.list({ limit: 2, iterator: back.prevIterator });
    assert.deepEqual(ofPage(backToFirst), ids.slice(0, 2));
  });
}

async function errors({ app }) {
  await step("a 404 is the SDK's ApiException", async () => {
    const e = await expectApiError(404, () => svix.application.get(`nobody-${suffix}`));
    assert.equal(e.body.code, "not_found");
  });
  await step("a 422 is the SDK's ApiException", async () => {
    const e = await expectApiError(422, () =>
      svix.message.create(app.id, { eventType: "bad name with spaces", payload: {} }),
    );
    assert.deepEqual(e.body.detail[0].loc, ["body", "eventType"]);
  });
}

const receiver = await startReceiver();
try {
  const created = await deliverAndVerify(receiver);
  await listings(created);
  await paging();
  await errors(created);
} catch (e) {
  console.error(e.message);
  process.exitCode = 1;
} finally {
  await receiver.close();
  console.log(`smoke-npm: ${tally.passed} passed, ${tally.failed} failed`);
}
