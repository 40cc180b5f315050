/**
 * Parses Unity Catalog `type_text` strings (`BIGINT`, `DECIMAL(10,2)`, `ARRAY<STRUCT<a:INT,b:STRING>>`,
 * `MAP<STRING,BIGINT>`, case-insensitive) into Delta types, and reads a UC `columns[]` list into a
 * table schema.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { type DeltaSchemaError, invalidSchema, unsupportedType } from "./DeltaSchemaError.ts"
import * as Delta from "./DeltaType.ts"

/** A column as Unity Catalog lists it (`GET /api/2.1/unity-catalog/tables/{name}` → `columns[]`). */
export interface UcColumn {
  readonly name: string
  readonly type_text: string
  readonly nullable?: boolean | undefined
}

const SIMPLE: Readonly<Record<string, Delta.DeltaType>> = {
  TINYINT: Delta.byte,
  BYTE: Delta.byte,
  SMALLINT: Delta.short,
  SHORT: Delta.short,
  INT: Delta.integer,
  INTEGER: Delta.integer,
  BIGINT: Delta.long,
  LONG: Delta.long,
  FLOAT: Delta.float,
  REAL: Delta.float,
  DOUBLE: Delta.double,
  STRING: Delta.string,
  BOOLEAN: Delta.boolean,
  BINARY: Delta.binary,
  DATE: Delta.date,
  TIMESTAMP: Delta.timestamp,
  TIMESTAMP_LTZ: Delta.timestamp,
  TIMESTAMP_NTZ: Delta.timestampNtz,
  VARIANT: Delta.variant
}

/** Type names UC knows that we cannot represent, with the reason given to the user. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  INTERVAL: "INTERVAL columns cannot be stored in Delta tables",
  VOID: "VOID columns cannot be ingested",
  GEOMETRY: "GEOMETRY is not supported",
  GEOGRAPHY: "GEOGRAPHY is not supported",
  OBJECT: "OBJECT is not supported"
}

class Parser {
  pos = 0
  constructor(readonly text: string, readonly field: string) {}

  fail(message: string): never {
    throw invalidSchema(`column '${this.field}': ${message} in type '${this.text}' at position ${this.pos}`)
  }

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++
  }

  peek(): string | undefined {
    this.skipSpace()
    return this.text[this.pos]
  }

  expect(ch: string): void {
    if (this.peek() !== ch) this.fail(`expected '${ch}'`)
    this.pos++
  }

  word(): string {
    this.skipSpace()
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos))
    if (m === null) return this.fail("expected a type name")
    this.pos += m[0].length
    return m[0]
  }

  int(): number {
    this.skipSpace()
    const m = /^\d+/.exec(this.text.slice(this.pos))
    if (m === null) return this.fail("expected a number")
    this.pos += m[0].length
    return Number(m[0])
  }

  /** A struct field name: an identifier or a backquoted name (`` `a b` ``, doubled backquote escapes). */
  fieldName(): string {
    this.skipSpace()
    if (this.text[this.pos] !== "`") {
      const m = /^[^\s:<>,`]+/.exec(this.text.slice(this.pos))
      if (m === null) return this.fail("expected a field name")
      this.pos += m[0].length
      return m[0]
    }
    let name = ""
    this.pos++
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos]!
      if (ch === "`") {
        if (this.text[this.pos + 1] === "`") {
          name += "`"
          this.pos += 2
          continue
        }
        this.pos++
        return name
      }
      name += ch
      this.pos++
    }
    return this.fail("unterminated backquoted name")
  }

  /** Skips `COMMENT '...'` (single or double quotes, backslash escapes). */
  comment(): void {
    const quote = this.peek()
    if (quote !== "'" && quote !== "\"") this.fail("expected a quoted comment")
    this.pos++
    while (this.pos < this.text.length && this.text[this.pos] !== quote) {
      this.pos += this.text[this.pos] === "\\" ? 2 : 1
    }
    if (this.pos >= this.text.length) this.fail("unterminated comment")
    this.pos++
  }

  keywordAhead(keyword: string): boolean {
    this.skipSpace()
    const next = this.text.slice(this.pos, this.pos + keyword.length)
    const after = this.text[this.pos + keyword.length]
    return next.toUpperCase() === keyword && (after === undefined || !/[A-Za-z0-9_]/.test(after))
  }

  type(path: string): Delta.DeltaType {
    const name = this.word().toUpperCase()
    switch (name) {
      case "ARRAY": {
        this.expect("<")
        const element = this.type(`${path}[]`)
        this.expect(">")
        return Delta.array(element, true)
      }
      case "MAP": {
        this.expect("<")
        const key = this.type(`${path}.key`)
        this.expect(",")
        const value = this.type(`${path}.value`)
        this.expect(">")
        return Delta.map(key, value, true)
      }
      case "STRUCT":
        return this.struct(path)
      case "DECIMAL":
      case "DEC":
      case "NUMERIC": {
        if (this.peek() !== "(") return Delta.decimal(10, 0)
        this.pos++
        const precision = this.int()
        let scale = 0
        if (this.peek() === ",") {
          this.pos++
          scale = this.int()
        }
        this.expect(")")
        return Delta.decimal(precision, scale)
      }
      case "VARCHAR":
      case "CHAR": {
        if (this.peek() === "(") {
          this.pos++
          this.int()
          this.expect(")")
        }
        return Delta.string
      }
      default: {
        const simple = SIMPLE[name]
        if (simple !== undefined) return simple
        const reason = UNSUPPORTED[name]
        throw unsupportedType(path, reason ?? `unknown column type '${name}'`)
      }
    }
  }

  struct(path: string): Delta.StructType {
    this.expect("<")
    const fields: Array<Delta.StructField> = []
    if (this.peek() === ">") {
      this.pos++
      return Delta.struct(fields)
    }
    for (;;) {
      const name = this.fieldName()
      if (this.peek() === ":") this.pos++
      const type = this.type(`${path}.${name}`)
      let nullable = true
      for (;;) {
        if (this.keywordAhead("NOT")) {
          this.word()
          if (!this.keywordAhead("NULL")) this.fail("expected NULL after NOT")
          this.word()
          nullable = false
        } else if (this.keywordAhead("COMMENT")) {
          this.word()
          this.comment()
        } else {
          break
        }
      }
      fields.push(Delta.field(name, type, nullable))
      const next = this.peek()
      this.pos++
      if (next === ">") return Delta.struct(fields)
      if (next !== ",") this.fail("expected ',' or '>'")
    }
  }
}

const parseNow = (typeText: string, field: string): Delta.DeltaType => {
  const parser = new Parser(typeText, field)
  const type = parser.type(field)
  if (parser.peek() !== undefined) parser.fail("unexpected trailing text")
  return type
}

/**
 * Parses one UC `type_text` (case-insensitive). `field` names the column in error messages.
 * INTERVAL, VOID and other types without a Delta equivalent fail with `UnsupportedType`.
 */
export const parseTypeText = (typeText: string, field = "<type>"): Effect.Effect<Delta.DeltaType, DeltaSchemaError> =>
  Delta.catchSchemaError(() => parseNow(typeText, field))

/** Builds and validates a table schema from UC columns (`nullable` defaults to true). */
export const schemaFromColumns = (
  columns: ReadonlyArray<UcColumn>
): Effect.Effect<Delta.StructType, DeltaSchemaError> =>
  Delta.catchSchemaError(() =>
    Delta.struct(columns.map((c) => Delta.field(c.name, parseNow(c.type_text, c.name), c.nullable ?? true)))
  ).pipe(Effect.flatMap(Delta.validate))
