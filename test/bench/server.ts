/**
 * The benchmark server: Zerobus Local in its own process, in memory, acknowledging without
 * storing (`Storage.layerDiscard`, which does not decode records), logs off. Started by `run.ts`
 * with an IPC channel:
 *
 * - sends `{ type: "ready", endpoint, workspaceUrl, workspaceId, clientId, clientSecret }` once
 *   both ports listen (the secret is the public development default);
 * - answers `{ type: "usage" }` with `{ type: "usage", cpuUser, cpuSystem, maxRssKb }` (its own
 *   CPU time in microseconds, so the runner can report server CPU per case);
 * - stops when the parent disconnects or on SIGTERM/SIGINT.
 *
 *   node --conditions=zerobus-source --import tsx test/bench/server.ts
 */
import { Redacted } from "effect"
import { Storage, ZerobusLocal } from "../../src/local/index.ts"

const send = (message: unknown): void => {
  if (process.send !== undefined) process.send(message)
  else console.log(JSON.stringify(message))
}

const server = await ZerobusLocal.start({
  host: "127.0.0.1",
  port: 0,
  httpPort: 0,
  logLevel: "None",
  storage: Storage.layerDiscard
})

let stopping = false
const stop = (code: number): void => {
  if (stopping) return
  stopping = true
  const timer = setTimeout(() => process.exit(code), 3000)
  timer.unref()
  void server.stop().finally(() => process.exit(code))
}

process.on("message", (message: unknown) => {
  if (typeof message === "object" && message !== null && "type" in message && message.type === "usage") {
    const cpu = process.cpuUsage()
    send({ type: "usage", cpuUser: cpu.user, cpuSystem: cpu.system, maxRssKb: process.resourceUsage().maxRSS })
  }
})
process.on("disconnect", () => stop(0))
process.on("SIGTERM", () => stop(0))
process.on("SIGINT", () => stop(0))

send({
  type: "ready",
  endpoint: server.endpoint,
  workspaceUrl: server.workspaceUrl,
  workspaceId: server.workspaceId,
  clientId: server.clientId,
  clientSecret: Redacted.value(server.clientSecret)
})
