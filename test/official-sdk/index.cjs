// Returns the official SDK's native module, or undefined where no build exists for this platform.
try {
  module.exports = require("@databricks/zerobus-ingest-sdk-linux-x64-gnu")
} catch {
  module.exports = undefined
}
