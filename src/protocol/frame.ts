/**
 * Request and response headers, and the rules that pick their versions:
 * a flexible request version uses request header v2 (tagged fields) and response header v1,
 * except ApiVersions, whose response header is always v0 so a client can read it before it
 * knows which versions the broker speaks.
 */
import { API_INFO, ApiKey } from './generated/api-keys.ts'
import type { Reader } from './wire/reader.ts'
import type { Writer } from './wire/writer.ts'

export interface RequestHeader {
  apiKey: number
  apiVersion: number
  correlationId: number
  clientId: string | null
}

const FIRST_FLEXIBLE: number[] = []
for (const api of API_INFO) FIRST_FLEXIBLE[api.apiKey] = api.firstFlexibleVersion

/** True when the API version uses flexible (compact, tagged) encodings; unknown keys are not. */
export function isFlexible(apiKey: number, apiVersion: number): boolean {
  const first = FIRST_FLEXIBLE[apiKey]
  return first !== undefined && first >= 0 && apiVersion >= first
}

export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  return isFlexible(apiKey, apiVersion) ? 2 : 1
}

export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.ApiVersions) return 0
  return isFlexible(apiKey, apiVersion) ? 1 : 0
}

/**
 * Reads a request header. The client id is a nullable int16-length string in v1 and v2 alike
 * (it predates flexible versions and was kept for compatibility); v2 adds a tagged-field section.
 */
export function decodeRequestHeader(r: Reader): RequestHeader {
  const apiKey = r.readInt16()
  const apiVersion = r.readInt16()
  const correlationId = r.readInt32()
  const clientId = r.readNullableString()
  // A client probing with an ApiVersions version newer than ours may send a header without the
  // tagged section; tolerate that so it still gets the UNSUPPORTED_VERSION answer it needs.
  const probing = apiKey === ApiKey.ApiVersions && r.remaining() === 0
  if (isFlexible(apiKey, apiVersion) && !probing) r.skipTaggedFields()
  return { apiKey, apiVersion, correlationId, clientId }
}

export function encodeRequestHeader(w: Writer, header: RequestHeader): void {
  w.writeInt16(header.apiKey)
  w.writeInt16(header.apiVersion)
  w.writeInt32(header.correlationId)
  w.writeNullableString(header.clientId)
  if (isFlexible(header.apiKey, header.apiVersion)) w.writeUVarint(0)
}

export function encodeResponseHeader(w: Writer, apiKey: number, apiVersion: number, correlationId: number): void {
  w.writeInt32(correlationId)
  if (responseHeaderVersion(apiKey, apiVersion) === 1) w.writeUVarint(0)
}

/** Reads a response header; returns the correlation id. */
export function decodeResponseHeader(r: Reader, apiKey: number, apiVersion: number): number {
  const correlationId = r.readInt32()
  if (responseHeaderVersion(apiKey, apiVersion) === 1) r.skipTaggedFields()
  return correlationId
}
