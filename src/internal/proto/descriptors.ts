/**
 * Self-contained `DescriptorProto`s from protobuf-es descriptors and FileDescriptorSets, and the
 * way back: a registry (for `fromBinary`) from one lone `DescriptorProto`, as a server receives it.
 *
 * A Zerobus stream sends a single `DescriptorProto`, so every type the message refers to must be
 * declared inside it. `selfContained` copies the message and declares each type it uses from
 * elsewhere (other messages of the file, imported files, well-known types) as a nested type of the
 * root, then rewrites every `type_name` to `.<Root>.<Nested>...`: the names resolve in a file
 * without a package holding only the root message.
 *
 * @internal
 */
import {
  clone,
  create,
  createFileRegistry,
  type DescFile,
  type DescMessage,
  type FileRegistry,
  fromBinary
} from "@bufbuild/protobuf"
import {
  type DescriptorProto,
  DescriptorProtoSchema,
  type EnumDescriptorProto,
  EnumDescriptorProtoSchema,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema
} from "@bufbuild/protobuf/wkt"

/** A failure to read or resolve descriptors; thrown inside this module and returned by its functions. */
export class DescriptorFailure {
  constructor(
    readonly kind: "InvalidDescriptor" | "MessageNotFound",
    readonly detail: string,
    readonly candidates: ReadonlyArray<string> = []
  ) {}
}

const attempt = <A>(f: () => A, what: string): A => {
  try {
    return f()
  } catch (error) {
    throw new DescriptorFailure(
      "InvalidDescriptor",
      `${what}: ${error instanceof Error ? error.message : String(error)}`
    )
  }
}

type Declared =
  | { readonly kind: "message"; readonly proto: DescriptorProto }
  | { readonly kind: "enum"; readonly proto: EnumDescriptorProto }

const trimDot = (name: string): string => name.startsWith(".") ? name.slice(1) : name

const lastSegment = (name: string): string => name.slice(name.lastIndexOf(".") + 1)

/** Every message and enum declared in the files (by fully-qualified name without leading dot). */
const indexFiles = (files: Iterable<DescFile>): Map<string, Declared> => {
  const index = new Map<string, Declared>()
  const addMessage = (prefix: string, proto: DescriptorProto): void => {
    const name = prefix === "" ? proto.name : `${prefix}.${proto.name}`
    index.set(name, { kind: "message", proto })
    for (const nested of proto.nestedType) addMessage(name, nested)
    for (const nested of proto.enumType) index.set(`${name}.${nested.name}`, { kind: "enum", proto: nested })
  }
  for (const file of files) {
    const pkg = file.proto.package
    for (const message of file.proto.messageType) addMessage(pkg, message)
    for (const nested of file.proto.enumType) {
      index.set(pkg === "" ? nested.name : `${pkg}.${nested.name}`, {
        kind: "enum",
        proto: nested
      })
    }
  }
  return index
}

const allFiles = (file: DescFile, out = new Set<DescFile>()): Set<DescFile> => {
  if (out.has(file)) return out
  out.add(file)
  for (const dependency of file.dependencies) allFiles(dependency, out)
  return out
}

/** `from` and its nested types, mapped to the same relative names under `to`. */
const mapSubtree = (renames: Map<string, string>, from: string, to: string, declared: Declared): void => {
  renames.set(from, to)
  if (declared.kind === "enum") return
  for (const nested of declared.proto.nestedType) {
    mapSubtree(renames, `${from}.${nested.name}`, `${to}.${nested.name}`, { kind: "message", proto: nested })
  }
  for (const nested of declared.proto.enumType) renames.set(`${from}.${nested.name}`, `${to}.${nested.name}`)
}

const messagesOf = (proto: DescriptorProto, out: Array<DescriptorProto> = []): Array<DescriptorProto> => {
  out.push(proto)
  for (const nested of proto.nestedType) messagesOf(nested, out)
  return out
}

/**
 * A copy of the message declaring every referenced type inside it (see the module comment).
 * `messageName` renames the root.
 */
export const selfContained = (root: DescMessage, messageName: string = root.name): DescriptorProto => {
  const index = indexFiles(allFiles(root.file))
  const renames = new Map<string, string>()
  const rootName = `.${messageName}`
  mapSubtree(renames, root.typeName, rootName, { kind: "message", proto: root.proto })
  const names = new Set([...root.proto.nestedType.map((m) => m.name), ...root.proto.enumType.map((e) => e.name)])
  const inlinedMessages: Array<DescriptorProto> = []
  const inlinedEnums: Array<EnumDescriptorProto> = []
  const pending = [root.proto]
  for (let proto = pending.pop(); proto !== undefined; proto = pending.pop()) {
    for (const message of messagesOf(proto)) {
      for (const field of message.field) {
        if (field.typeName === "") continue
        const target = trimDot(field.typeName)
        if (renames.has(target)) continue
        const declared = index.get(target)
        if (declared === undefined) {
          throw new DescriptorFailure(
            "InvalidDescriptor",
            `${message.name}.${field.name} refers to unknown type ${target}`
          )
        }
        let name = lastSegment(target)
        for (let i = 2; names.has(name); i++) name = `${lastSegment(target)}${i}`
        names.add(name)
        mapSubtree(renames, target, `${rootName}.${name}`, declared)
        if (declared.kind === "message") {
          const copy = clone(DescriptorProtoSchema, declared.proto)
          copy.name = name
          inlinedMessages.push(copy)
          pending.push(copy)
        } else {
          const copy = clone(EnumDescriptorProtoSchema, declared.proto)
          copy.name = name
          inlinedEnums.push(copy)
        }
      }
    }
  }
  const out = clone(DescriptorProtoSchema, root.proto)
  out.name = messageName
  out.nestedType.push(...inlinedMessages)
  out.enumType.push(...inlinedEnums)
  for (const message of messagesOf(out)) {
    // extensions declared inside the messages extend types the server cannot see
    message.extension = []
    for (const field of message.field) {
      if (field.typeName === "") continue
      field.typeName = renames.get(trimDot(field.typeName)) ?? field.typeName
    }
  }
  return out
}

/** Decodes a serialized FileDescriptorSet into a registry. */
export const registryFromFileDescriptorSet = (bytes: Uint8Array): FileRegistry => {
  const set = attempt(() => fromBinary(FileDescriptorSetSchema, bytes), "not a serialized FileDescriptorSet")
  if (set.file.length === 0) throw new DescriptorFailure("InvalidDescriptor", "the FileDescriptorSet has no files")
  return attempt(() => createFileRegistry(set), "the FileDescriptorSet does not resolve")
}

/**
 * A message of a registry by fully-qualified name (leading dot optional) or, when unique, by its
 * simple name or a dotted suffix of its full name.
 */
export const findMessage = (registry: FileRegistry, name: string): DescMessage => {
  const wanted = trimDot(name)
  const exact = registry.getMessage(wanted)
  if (exact !== undefined) return exact
  const all: Array<DescMessage> = []
  for (const type of registry) if (type.kind === "message") all.push(type)
  const matches = all.filter((m) => m.typeName.endsWith(`.${wanted}`))
  const [only] = matches
  if (matches.length === 1 && only !== undefined) return only
  if (matches.length > 1) {
    throw new DescriptorFailure(
      "MessageNotFound",
      `message name ${JSON.stringify(name)} is ambiguous; use the fully-qualified name`,
      matches.map((m) => m.typeName)
    )
  }
  throw new DescriptorFailure(
    "MessageNotFound",
    `no message ${JSON.stringify(name)} in the descriptor set`,
    all.map((m) => m.typeName)
  )
}

/** The package a lone `DescriptorProto`'s `type_name`s assume (protoc output keeps the file's package). */
const inferPackage = (root: DescriptorProto): string => {
  const candidates = new Set<string>()
  for (const message of messagesOf(root)) {
    for (const field of message.field) {
      if (field.typeName === "") continue
      const name = trimDot(field.typeName)
      if (name === root.name || name.startsWith(`${root.name}.`)) {
        candidates.add("")
        continue
      }
      const at = name.indexOf(`.${root.name}.`)
      const pkg = at >= 0
        ? name.slice(0, at)
        : name.endsWith(`.${root.name}`)
        ? name.slice(0, -root.name.length - 1)
        : undefined
      if (pkg === undefined) {
        throw new DescriptorFailure(
          "InvalidDescriptor",
          `${message.name}.${field.name} refers to ${field.typeName}, which is not declared inside ${root.name}`
        )
      }
      candidates.add(pkg)
    }
  }
  if (candidates.size > 1) {
    throw new DescriptorFailure(
      "InvalidDescriptor",
      `type names assume different packages: ${[...candidates].map((p) => JSON.stringify(p)).join(", ")}`
    )
  }
  return [...candidates][0] ?? ""
}

/**
 * A registry holding one self-contained `DescriptorProto`, the way a Zerobus server reads the
 * descriptor of a stream: the message goes into a proto2 file whose package is inferred from the
 * `type_name`s (none for descriptors made here; protoc's package for descriptors cut out of a
 * FileDescriptorSet).
 */
export const registryFromDescriptor = (
  descriptor: DescriptorProto | Uint8Array
): { readonly registry: FileRegistry; readonly message: DescMessage } => {
  const proto = descriptor instanceof Uint8Array
    ? attempt(() => fromBinary(DescriptorProtoSchema, descriptor), "not a serialized DescriptorProto")
    : descriptor
  if (proto.name === "") throw new DescriptorFailure("InvalidDescriptor", "the DescriptorProto has no name")
  const pkg = inferPackage(proto)
  const file = create(FileDescriptorProtoSchema, {
    name: `${pkg === "" ? "" : `${pkg.replaceAll(".", "/")}/`}${proto.name}.proto`,
    package: pkg,
    syntax: "proto2",
    messageType: [proto]
  })
  const registry = attempt(() => createFileRegistry(file, () => undefined), "the DescriptorProto is not self-contained")
  const message = registry.getMessage(pkg === "" ? proto.name : `${pkg}.${proto.name}`)
  if (message === undefined) throw new DescriptorFailure("InvalidDescriptor", `message ${proto.name} did not register`)
  return { registry, message }
}
