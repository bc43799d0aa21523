// Summarises a vitest JSON report of the conformance suite against the allow-list of
// expected failures. Prints the failing tests by full title ("describe > inner :: test"),
// allow-listed tests that pass now, and last the closing line
// "conformance: N passed, N failed[, N skipped]".
//
// Usage: node report.mjs <results.json> <expected-failures.txt> <vitest exit status>
// Exit status: 0 when every failure is allow-listed, 1 otherwise.
import { existsSync, readFileSync } from "node:fs"
import { basename } from "node:path"

const [resultsPath, allowListPath, vitestStatusText = "0"] = process.argv.slice(2)
if (!resultsPath || !allowListPath) {
  console.error("usage: node report.mjs <results.json> <expected-failures.txt> <vitest exit status>")
  process.exit(2)
}
const vitestStatus = Number(vitestStatusText)

function fullTitle(assertion) {
  const path = assertion.ancestorTitles ?? []
  return path.length > 0 ? `${path.join(" > ")} :: ${assertion.title}` : assertion.title
}

function firstLine(text) {
  return String(text ?? "").split("\n").find((line) => line.trim() !== "")?.trim() ?? ""
}

function readAllowList(path) {
  if (!existsSync(path)) return []
  return readFileSync(path, "utf8")
    .split("\n")
    .map((line) => line.trim())
    // Only whole-line comments: a test title may itself contain "#".
    .filter((line) => line !== "" && !line.startsWith("#"))
}

let report
try {
  report = JSON.parse(readFileSync(resultsPath, "utf8"))
} catch (error) {
  console.error(`conformance: ERROR: no usable vitest results at ${resultsPath} (vitest exit status ${vitestStatus}): ${error.message}`)
  process.exit(1)
}

const passed = []
const failed = []
const skipped = []
const fileErrors = []
for (const file of report.testResults ?? []) {
  const assertions = file.assertionResults ?? []
  for (const assertion of assertions) {
    const title = fullTitle(assertion)
    if (assertion.status === "passed") passed.push(title)
    else if (assertion.status === "failed") failed.push({ title, reason: firstLine(assertion.failureMessages?.[0]) })
    else skipped.push(title)
  }
  // A file can fail without any failed test, e.g. when it cannot be loaded at all.
  if (file.status === "failed" && !assertions.some((assertion) => assertion.status === "failed")) {
    fileErrors.push(`${basename(file.name ?? "?")}: ${firstLine(file.message) || "failed outside any test"}`)
  }
}

// An entry "~ <text>" allows every test whose full title contains <text>: a whole group that fails
// for one documented reason (the cluster list uses it for the fork groups).
const patternPrefix = "~ "
const entries = readAllowList(allowListPath)
const allowList = entries.filter((entry) => !entry.startsWith(patternPrefix))
const patterns = entries.filter((entry) => entry.startsWith(patternPrefix)).map((entry) => entry.slice(patternPrefix.length))
const exact = new Set(allowList)
const allowed = { has: (title) => exact.has(title) || patterns.some((pattern) => title.includes(pattern)) }
const passedSet = new Set(passed)
const skippedSet = new Set(skipped)
const failedSet = new Set(failed.map((failure) => failure.title))
const unexpected = failed.filter((failure) => !allowed.has(failure.title))
const nowPassing = [
  ...allowList.filter((title) => passedSet.has(title)),
  // A pattern passes now when it matched tests and none of them failed.
  ...patterns
    .filter((pattern) => passed.some((title) => title.includes(pattern)) && !failed.some((failure) => failure.title.includes(pattern)))
    .map((pattern) => patternPrefix + pattern),
]
const unknown = [
  ...allowList.filter((title) => !passedSet.has(title) && !failedSet.has(title) && !skippedSet.has(title)),
  ...patterns
    .filter((pattern) => ![...passed, ...skipped, ...failed.map((failure) => failure.title)].some((title) => title.includes(pattern)))
    .map((pattern) => patternPrefix + pattern),
]

const problems = []
if (failed.length > 0) {
  console.log(`Failing tests (${failed.length}; ${failed.length - unexpected.length} allow-listed):`)
  for (const failure of failed) {
    const mark = allowed.has(failure.title) ? "expected" : "FAIL    "
    console.log(`  ${mark}  ${failure.title}`)
    if (failure.reason) console.log(`              ${failure.reason}`)
  }
}
if (nowPassing.length > 0) {
  console.log(`Allow-listed tests that pass now; remove them from ${basename(allowListPath)}:`)
  for (const title of nowPassing) console.log(`  ${title}`)
}
if (unknown.length > 0) {
  console.log(`Entries in ${basename(allowListPath)} that match no test title in this run:`)
  for (const title of unknown) console.log(`  ${title}`)
}
for (const error of fileErrors) problems.push(`test file failed: ${error}`)
if (unexpected.length > 0) {
  problems.push(`${unexpected.length} failing test(s) not in ${basename(allowListPath)}`)
}
if (passed.length + failed.length === 0) {
  problems.push("the suite ran no tests")
}
if (vitestStatus !== 0 && failed.length === 0 && fileErrors.length === 0) {
  problems.push(`vitest exited with status ${vitestStatus} although no test failed (see its output above)`)
}
for (const problem of problems) console.log(`conformance: ERROR: ${problem}`)
if (problems.length === 0 && failed.length > 0) {
  console.log(`conformance: all ${failed.length} failure(s) are allow-listed`)
}

const failedCount = failed.length + fileErrors.length
const skippedPart = skipped.length > 0 ? `, ${skipped.length} skipped` : ""
console.log(`conformance: ${passed.length} passed, ${failedCount} failed${skippedPart}`)
process.exit(problems.length === 0 ? 0 : 1)
