// Registers the whole official conformance suite against one running server.
// The packaged CLI cannot find its own test file (it is excluded as part of node_modules),
// so the suite is driven through its documented programmatic entry point instead.
import { runConformanceTests } from "@durable-streams/server-conformance-tests"

const baseUrl = process.env.CONFORMANCE_TEST_URL
if (!baseUrl) {
  throw new Error("CONFORMANCE_TEST_URL is not set (e.g. http://127.0.0.1:4437); run.sh sets it")
}

// Must match (or exceed) the server's own long-poll timeout: the suite gives its
// long-poll tests this many milliseconds plus one second before it gives up.
const longPollTimeoutMs = Number(process.env.CONFORMANCE_LONG_POLL_TIMEOUT_MS ?? "500")
if (!Number.isFinite(longPollTimeoutMs) || longPollTimeoutMs <= 0) {
  throw new Error(`CONFORMANCE_LONG_POLL_TIMEOUT_MS must be a positive number, got "${process.env.CONFORMANCE_LONG_POLL_TIMEOUT_MS}"`)
}

runConformanceTests({
  baseUrl,
  longPollTimeoutMs,
  // The reserved subscription APIs are opt-in; without this their tests are reported as skipped.
  subscriptions: process.env.CONFORMANCE_SUBSCRIPTIONS === "1",
})
