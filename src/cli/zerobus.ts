/**
 * The `zerobus` command and its subcommands. Add a subcommand by appending it to
 * {@link subcommands}.
 *
 * @since 0.1.0
 */
import * as Command from "effect/cli/Command"
import * as Local from "./local.ts"

/**
 * Every subcommand of `zerobus`.
 *
 * @since 0.1.0
 * @category commands
 */
export const subcommands = [Local.command] as const

/**
 * The root command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("zerobus").pipe(
  Command.withDescription("Databricks Zerobus tools: a local Zerobus server and more"),
  Command.withSubcommands(subcommands)
)
