/**
 * The official TypeScript SDK's descriptor helper (`utils/descriptor`), for code moving over: one
 * message's self-contained `DescriptorProto` from a FileDescriptorSet file, as base64.
 *
 * @since 0.1.0
 */
import { fromBinary } from "@bufbuild/protobuf"
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt"
import { Effect, Result } from "effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as ProtoSchema from "../ProtoSchema.ts"
import { invalidArgument } from "./ZerobusError.ts"

/**
 * What to load: the FileDescriptorSet file (`protoc --include_imports --descriptor_set_out=...`
 * or `buf build -o ...`), the `.proto` file that declares the message, and the message's name in
 * that file.
 *
 * @since 0.1.0
 * @category models
 */
export interface LoadDescriptorOptions {
  readonly descriptorPath: string
  readonly protoFileName: string
  readonly messageName: string
}

/**
 * Loads a message's descriptor as base64, for `TableProperties.descriptorProto`. The descriptor is
 * self-contained: the messages and enums the message uses are nested in it.
 *
 * @throws ZerobusError (`InvalidArgument`) when the file cannot be read or parsed, or the file or
 *   message is not in it.
 * @since 0.1.0
 * @category descriptors
 */
export const loadDescriptorProto = (options: LoadDescriptorOptions): string => {
  let bytes: Uint8Array
  try {
    bytes = Fs.readFileSync(options.descriptorPath)
  } catch (error) {
    throw invalidArgument(
      `Cannot read ${options.descriptorPath}: ${error instanceof Error ? error.message : String(error)}`
    )
  }
  let files: ReadonlyArray<{ readonly name: string; readonly package: string }>
  try {
    files = fromBinary(FileDescriptorSetSchema, bytes).file
  } catch {
    throw invalidArgument(`${options.descriptorPath} is not a serialized FileDescriptorSet`)
  }
  const file = files.find((f) => f.name === options.protoFileName) ??
    files.find((f) => Path.posix.basename(f.name) === Path.posix.basename(options.protoFileName))
  if (file === undefined) {
    throw invalidArgument(
      `${options.descriptorPath} has no file ${options.protoFileName} (files: ${files.map((f) => f.name).join(", ")})`
    )
  }
  const qualified = file.package.length > 0 ? `${file.package}.${options.messageName}` : options.messageName
  const result = Effect.runSync(Effect.result(ProtoSchema.descriptorFromFileDescriptorSet(bytes, qualified)))
  if (Result.isFailure(result)) {
    throw invalidArgument(
      `Cannot load message ${options.messageName} of ${options.protoFileName}: ${result.failure.message}`
    )
  }
  return Buffer.from(result.success.descriptorBytes).toString("base64")
}
