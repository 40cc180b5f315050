import { defineConfig } from "vitest/config"

// vitest 5's reporter calls Map.groupBy (Node >= 21) when it prints failed suites; Node 20 lacks it.
if (!Object.hasOwn(Map, "groupBy")) {
  Object.defineProperty(Map, "groupBy", {
    value: <K, V>(items: Iterable<V>, key: (item: V, index: number) => K): Map<K, Array<V>> => {
      const groups = new Map<K, Array<V>>()
      let index = 0
      for (const item of items) {
        const k = key(item, index++)
        const group = groups.get(k)
        if (group === undefined) groups.set(k, [item])
        else group.push(item)
      }
      return groups
    }
  })
}

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
