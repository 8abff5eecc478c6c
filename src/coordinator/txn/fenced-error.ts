/**
 * KIP-588: coordinator APIs answer PRODUCER_FENCED from a given version on; older versions get
 * INVALID_PRODUCER_EPOCH, which their clients know.
 */
import { ErrorCode } from '../../protocol/error-codes.ts'

/** PRODUCER_FENCED below `fencedSince` becomes INVALID_PRODUCER_EPOCH; other codes pass. */
export function fencedError(errorCode: number, version: number, fencedSince: number): number {
  return errorCode === ErrorCode.PRODUCER_FENCED && version < fencedSince ? ErrorCode.INVALID_PRODUCER_EPOCH : errorCode
}
