/**
 * The file-system operations of the Delta storage, as Effects failing with `Io`: durable writes
 * (write + fsync + directory fsync), atomic put-if-absent through `link()`, and the raw
 * `writev`/`fdatasync` of the WAL.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { type DeltaError, io } from "./DeltaError.ts"

const errnoCode = (e: unknown): string | undefined =>
  e instanceof Error && "code" in e && typeof e.code === "string" ? e.code : undefined

/** Whether an unknown error is a Node system error with the given code. */
export const hasCode = (e: unknown, code: string): boolean => errnoCode(e) === code

const attempt = <A>(operation: string, target: string, f: () => Promise<A>): Effect.Effect<A, DeltaError> =>
  Effect.tryPromise({ try: f, catch: (e) => io(operation, target, e) })

/** `mkdir -p`. */
export const mkdirp = (dir: string): Effect.Effect<void, DeltaError> =>
  attempt("mkdir", dir, () => fsp.mkdir(dir, { recursive: true })).pipe(Effect.asVoid)

/** The names in a directory; a missing directory has none. */
export const readdir = (dir: string): Effect.Effect<ReadonlyArray<string>, DeltaError> =>
  attempt("readdir", dir, async () => {
    try {
      return await fsp.readdir(dir)
    } catch (e) {
      if (hasCode(e, "ENOENT")) return []
      throw e
    }
  })

/** The names of the subdirectories of a directory; a missing directory has none. */
export const readdirDirs = (dir: string): Effect.Effect<ReadonlyArray<string>, DeltaError> =>
  attempt("readdir", dir, async () => {
    try {
      return (await fsp.readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name)
    } catch (e) {
      if (hasCode(e, "ENOENT")) return []
      throw e
    }
  })

/** A file's bytes, or undefined when it does not exist. */
export const readFileOrUndefined = (file: string): Effect.Effect<Buffer | undefined, DeltaError> =>
  attempt("read", file, async () => {
    try {
      return await fsp.readFile(file)
    } catch (e) {
      if (hasCode(e, "ENOENT")) return undefined
      throw e
    }
  })

/** A file's bytes. */
export const readFile = (file: string): Effect.Effect<Buffer, DeltaError> =>
  attempt("read", file, () => fsp.readFile(file))

/** Deletes a file; a missing file is fine. */
export const unlink = (file: string): Effect.Effect<void, DeltaError> =>
  attempt("unlink", file, () => fsp.rm(file, { force: true }))

/** Makes a directory's entries (created, renamed, deleted files) durable. */
export const fsyncDir = (dir: string): Effect.Effect<void, DeltaError> =>
  attempt("fsync", dir, async () => {
    const handle = await fsp.open(dir, "r")
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  })

const writeAndSync = async (file: string, bytes: Uint8Array, flags: string): Promise<void> => {
  const handle = await fsp.open(file, flags)
  try {
    await handle.writeFile(bytes)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/** Writes a new file (failing if it exists) and fsyncs it and its directory. */
export const writeNewDurable = (file: string, bytes: Uint8Array): Effect.Effect<void, DeltaError> =>
  attempt("write", file, () => writeAndSync(file, bytes, "wx")).pipe(Effect.andThen(fsyncDir(path.dirname(file))))

/** A unique hidden name next to `file` for writing it before it is renamed or linked into place. */
export const tempName = (file: string): string =>
  path.join(path.dirname(file), `.tmp-${path.basename(file)}-${crypto.randomUUID()}`)

/**
 * Creates `file` with `bytes` only if no file of that name exists, atomically: the name appears with
 * its whole content or not at all (temp file + fsync + `link()` + directory fsync). Succeeds with
 * false when the name was taken. Never overwrites.
 */
export const putIfAbsent = (file: string, bytes: Uint8Array): Effect.Effect<boolean, DeltaError> =>
  attempt("put", file, async () => {
    const tmp = tempName(file)
    await writeAndSync(tmp, bytes, "wx")
    try {
      await fsp.link(tmp, file)
      return true
    } catch (e) {
      if (hasCode(e, "EEXIST")) return false
      throw e
    } finally {
      await fsp.rm(tmp, { force: true })
    }
  }).pipe(Effect.tap(() => fsyncDir(path.dirname(file))))

/** Replaces `file` atomically with `bytes` (temp file + fsync + rename + directory fsync). */
export const replaceDurable = (file: string, bytes: Uint8Array): Effect.Effect<void, DeltaError> =>
  attempt("replace", file, async () => {
    const tmp = tempName(file)
    try {
      await writeAndSync(tmp, bytes, "wx")
      await fsp.rename(tmp, file)
    } catch (e) {
      await fsp.rm(tmp, { force: true })
      throw e
    }
  }).pipe(Effect.andThen(fsyncDir(path.dirname(file))))

/** Renames a file and fsyncs the directory. */
export const renameDurable = (from: string, to: string): Effect.Effect<void, DeltaError> =>
  attempt("rename", to, () => fsp.rename(from, to)).pipe(Effect.andThen(fsyncDir(path.dirname(to))))

/** Opens a file descriptor (`flags` as in `fs.open`). */
export const openFd = (file: string, flags: string): Effect.Effect<number, DeltaError> =>
  Effect.callback<number, DeltaError>((resume) => {
    fs.open(file, flags, 0o644, (e, fd) => resume(e === null ? Effect.succeed(fd) : Effect.fail(io("open", file, e))))
  })

/** Closes a file descriptor, ignoring errors (used in finalizers). */
export const closeFd = (fd: number): Effect.Effect<void> =>
  Effect.callback<void>((resume) => {
    fs.close(fd, () => resume(Effect.void))
  })

/** Writes all buffers at the current position of `fd` (one `writev`, retried on short writes). */
export const writev = (fd: number, file: string, buffers: ReadonlyArray<Buffer>): Effect.Effect<void, DeltaError> =>
  Effect.callback<void, DeltaError>((resume) => {
    const total = buffers.reduce((n, b) => n + b.length, 0)
    const step = (pending: ReadonlyArray<Buffer>, remaining: number) => {
      fs.writev(fd, pending, (e, written) => {
        if (e !== null) return resume(Effect.fail(io("write", file, e)))
        if (written === remaining) return resume(Effect.void)
        // short write: continue with what is left
        let skip = written
        const rest: Array<Buffer> = []
        for (const b of pending) {
          if (skip >= b.length) {
            skip -= b.length
          } else {
            rest.push(skip === 0 ? b : b.subarray(skip))
            skip = 0
          }
        }
        step(rest, remaining - written)
      })
    }
    if (total === 0) resume(Effect.void)
    else step(buffers, total)
  })

/** `fdatasync(fd)`: the written data (and the size) reach the disk. */
export const fdatasync = (fd: number, file: string): Effect.Effect<void, DeltaError> =>
  Effect.callback<void, DeltaError>((resume) => {
    fs.fdatasync(fd, (e) => resume(e === null ? Effect.void : Effect.fail(io("fdatasync", file, e))))
  })

/** Truncates a file to `length` bytes and fsyncs it. */
export const truncateDurable = (file: string, length: number): Effect.Effect<void, DeltaError> =>
  attempt("truncate", file, async () => {
    const handle = await fsp.open(file, "r+")
    try {
      await handle.truncate(length)
      await handle.sync()
    } finally {
      await handle.close()
    }
  })
