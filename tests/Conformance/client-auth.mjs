// The official TypeScript client (@durable-streams/client) against a server with api-key auth on:
// the client is given the key as a custom header and must create, append (plain and idempotent
// producer), read (catch-up and long-poll), HEAD, close and delete; without the key it must fail with 401.
// Usage: STREAMS_URL=http://127.0.0.1:port API_KEY=... node client-auth.mjs
import assert from "node:assert/strict";
import { DurableStream, IdempotentProducer, stream } from "@durable-streams/client";

const base = process.env.STREAMS_URL;
const key = process.env.API_KEY;
if (!base || !key) {
  console.error("client-auth: STREAMS_URL and API_KEY must be set");
  process.exit(2);
}

const headers = { Authorization: `Bearer ${key}` };
const results = [];

async function check(title, body) {
  try {
    await body();
    results.push({ title, ok: true });
    console.log(`  ok   ${title}`);
  } catch (error) {
    results.push({ title, ok: false });
    console.log(`  FAIL ${title}: ${error?.stack ?? error}`);
  }
}

const url = `${base}/v1/stream/client-auth/${Date.now()}`;

await check("creates a JSON stream with the key in a custom header", async () => {
  const handle = await DurableStream.create({ url, headers, contentType: "application/json" });
  assert.equal(handle.url, url);
});

await check("appends with the plain API and reads everything back", async () => {
  const handle = new DurableStream({ url, headers, contentType: "application/json" });
  await handle.append(JSON.stringify({ n: 1 }));
  await handle.append(JSON.stringify({ n: 2 }));
  const items = await (await handle.stream({ live: false })).json();
  assert.deepEqual(items, [{ n: 1 }, { n: 2 }]);
});

await check("tails live with long-poll and sees a later append", async () => {
  const handle = new DurableStream({ url, headers, contentType: "application/json" });
  const { offset } = await handle.head();
  const response = await stream({ url, headers, offset, live: "long-poll" });
  const seen = new Promise((resolve) => {
    response.subscribeJson(async (batch) => {
      if (batch.items.length > 0) {
        resolve(batch.items);
      }
    });
  });
  await handle.append(JSON.stringify({ n: 3 }));
  const items = await Promise.race([seen, new Promise((_, reject) => setTimeout(() => reject(new Error("no live data within 10 s")), 10_000))]);
  response.cancel?.();
  assert.deepEqual(items, [{ n: 3 }]);
});

await check("appends exactly once through an idempotent producer", async () => {
  const handle = new DurableStream({ url, headers, contentType: "application/json" });
  const producer = new IdempotentProducer(handle, "client-auth-producer", { autoClaim: true });
  for (let n = 4; n <= 13; n++) {
    producer.append(JSON.stringify({ n }));
  }
  await producer.flush();
  // close() also closes the stream; the next check closes it again, idempotently.
  await producer.close();
  const items = await (await stream({ url, headers, live: false })).json();
  assert.deepEqual(items.map((item) => item.n), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
});

await check("closes and deletes the stream", async () => {
  const handle = new DurableStream({ url, headers, contentType: "application/json" });
  await handle.close();
  await handle.delete();
  const head = await DurableStream.head({ url, headers }).catch((error) => ({ exists: false, error }));
  assert.equal(head.exists, false);
});

await check("fails with 401 without the key", async () => {
  await assert.rejects(
    DurableStream.create({ url: `${url}-anonymous`, contentType: "application/json" }),
    (error) => error?.status === 401 || /401/.test(String(error?.message)),
  );
});

await check("fails with 401 with a wrong key", async () => {
  await assert.rejects(
    DurableStream.head({ url, headers: { Authorization: `Bearer ${key}-wrong` } }),
    (error) => error?.status === 401 || /401/.test(String(error?.message)),
  );
});

const passed = results.filter((result) => result.ok).length;
const failed = results.length - passed;
console.log(`client-auth: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
