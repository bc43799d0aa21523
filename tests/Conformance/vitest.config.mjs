// Only our own glue file is a test file here; nothing under node_modules is collected.
export default {
  test: {
    include: ["conformance.test.mjs"],
    watch: false,
  },
}
