/** Small helpers the generated codecs call; kept apart so the generated files stay readable. */
import { isDeepStrictEqual } from 'node:util'

/** The value of an absent non-nullable bytes field. Never written to. */
export const EMPTY_BYTES: Buffer = Buffer.alloc(0)

/** Thrown when encoding a message whose values the chosen version cannot represent. */
export class UnsupportedVersionError extends Error {
  override name = 'UnsupportedVersionError'
}

/** A non-default value in a field the version lacks, as Kafka's UnsupportedVersionException. */
export function absentInVersion(field: string, version: number): UnsupportedVersionError {
  return new UnsupportedVersionError(`${field} cannot be set in version ${version}`)
}

/** A null in a field that is not nullable at the version being encoded. */
export function nullInVersion(field: string, version: number): UnsupportedVersionError {
  return new UnsupportedVersionError(`${field} cannot be null in version ${version}`)
}

/** Narrows a nullable value for a version where null cannot be encoded. */
export function notNull<T>(value: T | null): T {
  if (value === null) throw new UnsupportedVersionError('null value in a non-nullable field')
  return value
}

/**
 * Whether a struct value differs from its default (`create…()`), as Kafka's `!x.equals(new X())`:
 * a tagged struct is written only when it differs, and refused in versions that lack it.
 */
export function differsFromStruct(value: object, defaultValue: object): boolean {
  return !isDeepStrictEqual(value, defaultValue)
}
