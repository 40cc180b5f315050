/**
 * The Zerobus wire: method path, call metadata names, protobuf-es (de)serializers and the grpc-js
 * service definition shared by the client and Zerobus Local. No `.proto` is loaded at run time; the
 * message code in `./gen` is generated from `proto/zerobus_service.proto` by `npm run proto`.
 *
 * @internal
 */
import { fromBinary, toBinary } from "@bufbuild/protobuf"
import type * as grpc from "@grpc/grpc-js"
import {
  type EphemeralStreamRequest,
  EphemeralStreamRequestSchema,
  type EphemeralStreamResponse,
  EphemeralStreamResponseSchema,
  RecordType
} from "./gen/zerobus_service_pb.ts"

export * from "./gen/zerobus_service_pb.ts"

/** Fully qualified service name. */
export const SERVICE_NAME = "databricks.zerobus.Zerobus"

/** HTTP/2 path of the only RPC, the bidirectional `EphemeralStream`. */
export const METHOD_PATH = `/${SERVICE_NAME}/EphemeralStream`

/** Call metadata naming the three-part table; must equal `create_stream.table_name`. */
export const TABLE_NAME_HEADER = "x-databricks-zerobus-table-name"

/** Call metadata carrying `Bearer <token>`. */
export const AUTHORIZATION_HEADER = "authorization"

/** Largest request the service accepts (the client refuses larger payloads before sending). */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024

/** The record encodings a stream can declare, by their names in this library. */
export type RecordFormat = "json" | "proto"

/** Wire enum value of a record format. */
export const recordTypeOf = (format: RecordFormat): RecordType => format === "json" ? RecordType.JSON : RecordType.PROTO

/** Wraps protobuf-es output as a Buffer without copying (grpc-js wants Buffers). */
export const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)

/** Encodes a client message. */
export const encodeRequest = (message: EphemeralStreamRequest): Buffer =>
  asBuffer(toBinary(EphemeralStreamRequestSchema, message))

/** Decodes a client message; throws on malformed bytes (grpc-js turns that into INTERNAL). */
export const decodeRequest = (bytes: Uint8Array): EphemeralStreamRequest =>
  fromBinary(EphemeralStreamRequestSchema, bytes)

/** Encodes a server message. */
export const encodeResponse = (message: EphemeralStreamResponse): Buffer =>
  asBuffer(toBinary(EphemeralStreamResponseSchema, message))

/** Decodes a server message. */
export const decodeResponse = (bytes: Uint8Array): EphemeralStreamResponse =>
  fromBinary(EphemeralStreamResponseSchema, bytes)

/**
 * grpc-js definition of the `Zerobus` service for `server.addService`. Requests are decoded with
 * protobuf-es; responses are encoded with protobuf-es.
 */
export const serviceDefinition: grpc.ServiceDefinition<grpc.UntypedServiceImplementation> = {
  EphemeralStream: {
    path: METHOD_PATH,
    requestStream: true,
    responseStream: true,
    originalName: "ephemeralStream",
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse
  }
}
