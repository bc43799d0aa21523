// Checks, before the suite runs against node 1 of a cluster, that streams named the way the
// suite names them are mostly owned by the other nodes: creates probe streams through node 1,
// reads each one's owner_node from _details, deletes them again, and prints the count.
//
//   node cluster-placement.mjs <node 1 base URL> <node 1 remoting port> <node 1 HTTP port>
//
// Exit status 0 when more than half of the probes live elsewhere, 1 otherwise or on any error.
import { randomUUID } from "node:crypto"

const probes = 30
const [baseUrl, remotingPort, httpPort] = process.argv.slice(2)
if (!baseUrl || !remotingPort || !httpPort) {
  console.error("usage: node cluster-placement.mjs <base URL> <remoting port> <HTTP port>")
  process.exit(1)
}

// owner_node may be the node's remoting address or its HTTP base URL: either carries its port.
const namesNodeOne = (owner) =>
  [remotingPort, httpPort].some((port) => new RegExp(`(127\\.0\\.0\\.1|localhost):${port}(?!\\d)`).test(owner))

async function call(method, path) {
  const response = await fetch(new URL(path, baseUrl), {
    method,
    headers: method === "PUT" ? { "content-type": "application/octet-stream" } : {},
    signal: AbortSignal.timeout(30_000),
  })
  if (!response.ok) {
    throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`)
  }
  return response
}

let elsewhere = 0
const owners = new Map()
try {
  for (let i = 0; i < probes; i++) {
    const path = `/v1/stream/cluster-placement-probe-${randomUUID()}`
    await call("PUT", path)
    const details = await (await call("GET", `${path}/_details`)).json()
    const owner = details.owner_node
    if (typeof owner !== "string" || owner.length === 0) {
      throw new Error(`_details of ${path} has no owner_node: ${JSON.stringify(details)}`)
    }
    owners.set(owner, (owners.get(owner) ?? 0) + 1)
    if (!namesNodeOne(owner)) {
      elsewhere++
    }
    await call("DELETE", path)
  }
} catch (error) {
  console.error(`conformance: ERROR: placement probe failed: ${error.message}`)
  process.exit(1)
}

const spread = [...owners].map(([owner, count]) => `${owner}: ${count}`).join(", ")
console.log(`conformance: ${elsewhere} of ${probes} probe streams are owned by other nodes than node 1 (${spread})`)
process.exit(elsewhere * 2 > probes ? 0 : 1)
