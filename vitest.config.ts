import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: { conditions: ["zerobus-source"] },
  ssr: { resolve: { conditions: ["zerobus-source"] } },
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["test/bench/**", "node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: {
      no_proxy: "127.0.0.1,localhost",
      NO_PROXY: "127.0.0.1,localhost",
      no_grpc_proxy: "127.0.0.1,localhost",
      NO_GRPC_PROXY: "127.0.0.1,localhost"
    }
  }
})
