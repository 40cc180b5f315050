import { assert, it } from "@effect/vitest"
import * as fs from "node:fs"
import { version } from "../src/internal/version.ts"

it("the user agent's version is package.json's", () => {
  const pkg = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8"))
  assert.strictEqual(version, pkg.version)
})
