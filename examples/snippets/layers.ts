/**
 * docs/effect-patterns.md, "Layers": the ways to build the client, and credentials from a custom
 * headers provider. Type-checked, not run.
 */
import { Config, Effect, Layer, Redacted } from "effect"
import { HeadersProvider, Table, Zerobus } from "effect-zerobus"

// From the standard environment variables (the secret is read as Redacted).
export const fromEnv: Layer.Layer<Zerobus.Zerobus, unknown> = Zerobus.layerFromEnv

// From values.
export const fromValues = Zerobus.layer({
  endpoint: "https://1234567890123456.zerobus.us-west-2.cloud.databricks.com",
  unityCatalogUrl: "https://my-workspace.cloud.databricks.com",
  clientId: "my-service-principal",
  clientSecret: Redacted.make("..."),
  applicationName: "orders-service/1.4"
})

// From Config, with your own variable names.
export const fromConfig = Zerobus.layerConfig({
  endpoint: Config.String("INGEST_ENDPOINT"),
  unityCatalogUrl: Config.String("WORKSPACE_URL"),
  clientId: Config.String("INGEST_CLIENT_ID"),
  clientSecret: Config.Redacted("INGEST_CLIENT_SECRET")
})

// Without clientId/clientSecret, streams take their headers from the HeadersProvider service.
export const withTokenService = Zerobus.layer({
  endpoint: "https://1234567890123456.zerobus.us-west-2.cloud.databricks.com"
})
  .pipe(
    Layer.provide(
      HeadersProvider.layer(() =>
        Effect.succeed({ authorization: Redacted.make(`Bearer ${process.env["MY_TOKEN"] ?? ""}`) })
      )
    )
  )

export const program = Effect.gen(function*() {
  const stream = yield* Zerobus.createStream(Table.json("main.default.events"))
  yield* stream.ingest({ id: 1 })
}).pipe(Effect.scoped, Effect.provide(fromEnv))
