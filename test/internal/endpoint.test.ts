import { assert, describe, it } from "@effect/vitest"
import { parseEndpoint, parseTableName } from "../../src/internal/endpoint.ts"
import * as ZerobusError from "../../src/ZerobusError.ts"

describe("endpoints", () => {
  it("a schemeless endpoint means https and the workspace id is the first label", () => {
    const e = parseEndpoint("1234567890123456.zerobus.us-west-2.cloud.databricks.com")
    assert.deepStrictEqual(e, {
      url: "https://1234567890123456.zerobus.us-west-2.cloud.databricks.com",
      target: "1234567890123456.zerobus.us-west-2.cloud.databricks.com:443",
      plaintext: false,
      workspaceId: "1234567890123456"
    })
  })

  it("http:// is plaintext; ids follow the official derivation", () => {
    const local = parseEndpoint("http://127.0.0.1:50051")
    assert.isFalse(ZerobusError.isZerobusError(local))
    if (!ZerobusError.isZerobusError(local)) {
      assert.strictEqual(local.plaintext, true)
      assert.strictEqual(local.target, "127.0.0.1:50051")
      assert.strictEqual(local.workspaceId, "127")
    }
    const named = parseEndpoint("http://localhost:1234")
    if (!ZerobusError.isZerobusError(named)) assert.strictEqual(named.workspaceId, "localhost:1234")
    const https = parseEndpoint("https://ws.zerobus.example.com:8443/")
    if (!ZerobusError.isZerobusError(https)) {
      assert.strictEqual(https.target, "ws.zerobus.example.com:8443")
      assert.strictEqual(https.workspaceId, "ws")
    }
  })

  it("refuses empty and unusable endpoints", () => {
    for (const bad of ["", "   ", "ftp://host", "http://", "https://exa mple.com"]) {
      assert.isTrue(ZerobusError.isZerobusError(parseEndpoint(bad)), bad)
    }
  })

  it("table names need three non-empty parts", () => {
    assert.deepStrictEqual(parseTableName("main.default.events"), {
      catalog: "main",
      schema: "default",
      table: "events",
      full: "main.default.events"
    })
    for (const bad of ["abc", "a.b", "a.b.c.d", "a..c", ".b.c", "a.b."]) {
      assert.isTrue(ZerobusError.isZerobusError(parseTableName(bad)), bad)
    }
  })
})
