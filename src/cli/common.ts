/**
 * Flags and helpers shared by `zerobus ingest` and `zerobus generate-proto`: credentials from flags
 * or the standard environment variables, a clean fatal-error exit, number formatting.
 *
 * @since 0.1.0
 */
import * as Flag from "effect/cli/Flag"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"
import * as Runtime from "effect/Runtime"
import * as Schema from "effect/Schema"

/**
 * `--table`, or `ZEROBUS_TABLE_NAME`.
 *
 * @since 0.1.0
 * @category flags
 */
export const table = Flag.String("table").pipe(
  Flag.withDescription("Three-part table name, catalog.schema.table (or ZEROBUS_TABLE_NAME)"),
  Flag.withFallbackConfig(Config.String("ZEROBUS_TABLE_NAME"))
)

/**
 * `--workspace-url`, `--client-id` and `--client-secret`, or `DATABRICKS_WORKSPACE_URL`,
 * `DATABRICKS_CLIENT_ID` and `DATABRICKS_CLIENT_SECRET`.
 *
 * @since 0.1.0
 * @category flags
 */
export const workspace = {
  workspaceUrl: Flag.String("workspace-url").pipe(
    Flag.withDescription("Workspace URL; OAuth tokens come from {url}/oidc/v1/token (or DATABRICKS_WORKSPACE_URL)"),
    Flag.withFallbackConfig(Config.String("DATABRICKS_WORKSPACE_URL"))
  ),
  clientId: Flag.String("client-id").pipe(
    Flag.withDescription("Service principal application id (or DATABRICKS_CLIENT_ID)"),
    Flag.withFallbackConfig(Config.String("DATABRICKS_CLIENT_ID"))
  ),
  clientSecret: Flag.Redacted("client-secret").pipe(
    Flag.withDescription("Service principal OAuth secret (prefer DATABRICKS_CLIENT_SECRET: flags show in `ps`)"),
    Flag.withFallbackConfig(Config.Redacted("DATABRICKS_CLIENT_SECRET"))
  )
}

/**
 * A command failed; its message was already printed, so the runtime only sets the exit code.
 *
 * @since 0.1.0
 * @category errors
 */
export class CommandFailed extends Schema.TaggedError<CommandFailed>("effect-zerobus/cli/CommandFailed")(
  "CommandFailed",
  { message: Schema.String }
) {
  /** Process exit code. @since 0.1.0 */
  override readonly [Runtime.errorExitCode] = 1
  /** Printed by the command itself. @since 0.1.0 */
  override readonly [Runtime.errorReported] = false
}

/**
 * Writes `zerobus <command>: <message>` (and any further lines) to stderr and fails with
 * {@link CommandFailed}: the process exits with code 1 without a stack trace.
 *
 * @since 0.1.0
 * @category errors
 */
export const fail = (command: string, message: string, ...details: ReadonlyArray<string>) =>
  Effect.andThen(
    Effect.sync(() => process.stderr.write([`zerobus ${command}: ${message}`, ...details].join("\n") + "\n")),
    Effect.fail(new CommandFailed({ message }))
  )

/**
 * A count with thousands separators.
 *
 * @since 0.1.0
 * @category formatting
 */
export const count = (n: number): string => Math.round(n).toLocaleString("en-US")

/**
 * A count and a noun, singular for 1: `1 record`, `2,000 records`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const counted = (n: number, one: string, many: string): string => `${count(n)} ${n === 1 ? one : many}`
