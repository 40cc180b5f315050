/**
 * The in-memory representation of a table row, defined once for every producer (JSON and protobuf
 * records, WAL replay) and every consumer (Parquet writer, statistics).
 *
 * | Delta type                      | value                                   |
 * | ------------------------------- | --------------------------------------- |
 * | boolean                         | `boolean`                               |
 * | byte, short, integer            | `number` (integer in range)             |
 * | long                            | `bigint`                                |
 * | float, double                   | `number`                                |
 * | string                          | `string`                                |
 * | binary                          | `Uint8Array`                            |
 * | date                            | `number`: days since 1970-01-01         |
 * | timestamp                       | `bigint`: µs since the epoch (UTC)      |
 * | decimal(p,s)                    | `bigint`: the unscaled value            |
 * | struct                          | {@link StructValue} keyed by field name |
 * | array                           | `ReadonlyArray<Value>`                  |
 * | map                             | `ReadonlyMap<Value, Value>`             |
 *
 * A null column is `null` (never `undefined`); a row holds every column of the table.
 *
 * @internal
 */

/** One column value (see the module table). */
export type Value =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | ReadonlyArray<Value>
  | StructValue
  | ReadonlyMap<Value, Value>

/** A struct value, keyed by field name. */
export interface StructValue {
  readonly [field: string]: Value
}

/** A table row: a struct value holding every column. */
export type Row = StructValue

const MS_PER_DAY = 86_400_000

/** Formats days since the epoch as `YYYY-MM-DD`. */
export const formatDate = (days: number): string => new Date(days * MS_PER_DAY).toISOString().slice(0, 10)

/** Floor division for bigints (`/` truncates toward zero). */
export const floorDiv = (a: bigint, b: bigint): bigint => {
  const q = a / b
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q
}

/** Formats µs since the epoch as ISO-8601 UTC with microseconds (`2024-01-02T03:04:05.123456Z`). */
export const formatTimestamp = (micros: bigint): string => {
  const ms = floorDiv(micros, 1000n)
  const rest = micros - ms * 1000n
  const iso = new Date(Number(ms)).toISOString() // ...sss Z
  return `${iso.slice(0, -1)}${rest.toString().padStart(3, "0")}Z`
}

/** Formats an unscaled decimal with its scale (`12345n, 2` → `"123.45"`). */
export const formatDecimal = (unscaled: bigint, scale: number): string => {
  const negative = unscaled < 0n
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, "0")
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`
  return negative ? `-${text}` : text
}

// ---------------------------------------------------------------------------------------------
// Parsing text into values (used by the JSON and protobuf record decoders). Each returns the value
// or a string explaining why the text does not fit.
// ---------------------------------------------------------------------------------------------

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const isLeapYear = (year: number): boolean => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
const daysInMonth = (year: number, month: number): number =>
  month === 2 && isLeapYear(year) ? 29 : MONTH_DAYS[month - 1]!

const utcMillis = (year: number, month: number, day: number, h: number, m: number, s: number): number => {
  const d = new Date(0)
  d.setUTCFullYear(year, month - 1, day)
  d.setUTCHours(h, m, s, 0)
  return d.getTime()
}

/** Parses `YYYY-MM-DD` into days since the epoch. */
export const parseDate = (text: string): number | string => {
  const m = DATE.exec(text)
  if (m === null) return `expected a date 'YYYY-MM-DD', got '${text}'`
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return `invalid date '${text}'`
  return Math.round(utcMillis(year, month, day, 0, 0, 0) / MS_PER_DAY)
}

/**
 * Parses an ISO-8601 timestamp into µs since the epoch. Accepts `T` or a space between date and
 * time, seconds and up to 9 fraction digits optional (digits past µs are truncated), and a zone
 * `Z`, `UTC`, `±hh`, `±hhmm` or `±hh:mm`; without a zone the time is taken as UTC.
 */
export const parseTimestamp = (text: string): bigint | string => {
  const m = TIMESTAMP.exec(text)
  if (m === null) return `expected an ISO-8601 timestamp, got '${text}'`
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const [h, min, s] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)]
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || h > 23 || min > 59 || s > 59) {
    return `invalid timestamp '${text}'`
  }
  const fraction = BigInt((m[7] ?? "").padEnd(6, "0").slice(0, 6))
  let offsetMinutes = 0
  const zone = m[8]
  if (zone !== undefined && zone !== "Z" && zone !== "z" && zone !== "UTC") {
    const digits = zone.slice(1).replace(":", "")
    const oh = Number(digits.slice(0, 2))
    const om = digits.length > 2 ? Number(digits.slice(2)) : 0
    if (oh > 18 || om > 59) return `invalid time zone offset in '${text}'`
    offsetMinutes = (zone[0] === "-" ? -1 : 1) * (oh * 60 + om)
  }
  return BigInt(utcMillis(year, month, day, h, min, s)) * 1000n + fraction - BigInt(offsetMinutes) * 60_000_000n
}

const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/

/**
 * Parses decimal text (`-12.5`, `1e3`, `0.001`) into the unscaled value of `decimal(precision, scale)`.
 * Fails when the value needs more fraction digits than `scale` or more digits than `precision`.
 */
export const parseDecimal = (text: string, precision: number, scale: number): bigint | string => {
  const m = DECIMAL_TEXT.exec(text.trim())
  if (m === null || (m[2] === "" && (m[3] ?? "") === "")) return `expected a decimal number, got '${text}'`
  const intDigits = m[2]!
  const fracDigits = m[3] ?? ""
  const exponent = Number(m[4] ?? 0)
  // value = digits × 10^(exponent − fracDigits.length); unscaled = value × 10^scale
  let digits = (intDigits + fracDigits).replace(/^0+(?=\d)/, "")
  const shift = scale + exponent - fracDigits.length
  if (shift >= 0) {
    digits = digits === "0" ? "0" : digits + "0".repeat(shift)
  } else {
    const drop = -shift
    const kept = digits.length > drop ? digits.slice(0, digits.length - drop) : "0"
    const dropped = digits.length > drop ? digits.slice(digits.length - drop) : digits
    if (/[1-9]/.test(dropped)) return `'${text}' has more than ${scale} digits after the decimal point`
    digits = kept
  }
  digits = digits.replace(/^0+(?=\d)/, "")
  if (digits !== "0" && digits.length > precision) {
    return `'${text}' does not fit decimal(${precision},${scale})`
  }
  const unscaled = BigInt(digits)
  return m[1] === "-" ? -unscaled : unscaled
}

/** Inclusive ranges of the integral Delta types. */
export const integralRange = {
  byte: [-128n, 127n],
  short: [-32768n, 32767n],
  integer: [-2147483648n, 2147483647n],
  long: [-9223372036854775808n, 9223372036854775807n]
} as const

/** Whether a value is a struct value (not null, bytes, an array or a map). */
export const isStructValue = (value: Value | undefined): value is StructValue =>
  typeof value === "object" && value !== null && !(value instanceof Uint8Array) && !Array.isArray(value) &&
  !(value instanceof Map)
