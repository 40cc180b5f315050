#!/usr/bin/env node
/**
 * Entry point of the `zerobus` command.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import * as Command from "effect/cli/Command"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Predicate from "effect/Predicate"
import { createRequire } from "node:module"
import * as Zerobus from "../cli/zerobus.ts"

/** The package version (src/bin and dist/bin both sit two levels below the package root). */
const packageJson: unknown = createRequire(import.meta.url)("../../package.json")
const version = Predicate.hasProperty(packageJson, "version") && typeof packageJson.version === "string"
  ? packageJson.version
  : "0.0.0"

/** One line per log entry: `2026-01-01T00:00:00.000Z INFO message`. */
const oneLine = Logger.make(({ date, logLevel, message }) => {
  const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
  process.stdout.write(`${date.toISOString()} ${logLevel.toUpperCase()} ${text}\n`)
})

Command.run(Zerobus.command, { version }).pipe(
  Effect.provide(Layer.mergeAll(NodeServices.layer, Logger.layer([oneLine]))),
  NodeRuntime.runMain
)
