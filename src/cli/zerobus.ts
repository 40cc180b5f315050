/**
 * The `zerobus` command and its subcommands. Add a subcommand by appending it to
 * {@link subcommands}.
 *
 * @since 0.1.0
 */
import * as Command from "effect/cli/Command"
import * as GenerateProto from "./generateProto.ts"
import * as Ingest from "./ingest.ts"
import * as Local from "./local.ts"

/**
 * Every subcommand of `zerobus`.
 *
 * @since 0.1.0
 * @category commands
 */
export const subcommands = [Local.command, Ingest.command, GenerateProto.command] as const

/**
 * The root command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("zerobus").pipe(
  Command.withDescription("Databricks Zerobus tools: a local Zerobus server, ingestion from files, .proto generation"),
  Command.withSubcommands(subcommands)
)
