/**
 * One benchmark case in its own process (started by `run.ts`): reads its input from the
 * `BENCH_CASE` environment variable (JSON `CaseInput`), runs the case's module, and sends a
 * `CaseResult` to the parent over IPC (or prints it when run by hand).
 */
import type { CaseResult, Outcome, Section } from "./harness.ts"
import { type CaseInput, makeSection, parseCaseInput } from "./harness.ts"

/** A case module's entry point. */
type Runner = (input: CaseInput, section: Section) => Promise<Outcome | { readonly skipped: string }>

const loadRunner = async (module: string): Promise<Runner> => {
  switch (module) {
    case "raw":
      return (await import("./raw.ts")).run
    case "h2":
      return (await import("./h2.ts")).run
    case "effect":
      return (await import("./effect.ts")).run
    case "promise":
      return (await import("./promise.ts")).run
    case "official":
      return (await import("./official.ts")).run
    case "memory":
      return (await import("./memory.ts")).run
    default:
      throw new Error(`unknown case module ${module}`)
  }
}

const send = (result: CaseResult): Promise<void> =>
  new Promise((resolve) => {
    if (process.send === undefined) {
      console.log(JSON.stringify(result))
      resolve()
    } else {
      process.send(result, () => resolve())
    }
  })

const raw = process.env["BENCH_CASE"]
if (raw === undefined) throw new Error("BENCH_CASE is not set (this script is started by test/bench/run.ts)")
const input = parseCaseInput(raw)
const runner = await loadRunner(input.module)
const section = makeSection(input.profile)
const outcome = await runner(input, section)
if ("skipped" in outcome) {
  await send({ type: "skipped", name: input.name, reason: outcome.skipped })
} else {
  const measured = section.measured()
  await send({
    type: "result",
    name: input.name,
    records: outcome.records,
    bytes: outcome.bytes,
    ...measured,
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    note: outcome.note,
    memory: outcome.memory
  })
}
process.exit(0)
