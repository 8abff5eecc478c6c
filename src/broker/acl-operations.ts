/**
 * Authorized-operation bit sets (KIP-430) for Metadata, DescribeCluster, DescribeGroups and
 * ConsumerGroupDescribe: of the operations Kafka defines on a resource type, those the
 * request's principal is allowed (all of them without an authorizer).
 */
import { AclOperation, ResourceType } from './acls/acl-model.ts'
import { authorized } from './authorize.ts'
import type { RequestContext } from './context.ts'

/** The value Kafka sends when authorized operations were not requested. */
export const OPERATIONS_NOT_REQUESTED = -2147483648

const A = AclOperation
/** The operations Kafka defines per resource type (AclEntry.supportedOperations). */
const SUPPORTED = {
  [ResourceType.TOPIC]: [A.READ, A.WRITE, A.CREATE, A.DESCRIBE, A.DELETE, A.ALTER, A.DESCRIBE_CONFIGS, A.ALTER_CONFIGS],
  [ResourceType.GROUP]: [A.READ, A.DESCRIBE, A.DELETE],
  [ResourceType.CLUSTER]: [
    ...[A.CREATE, A.CLUSTER_ACTION, A.DESCRIBE_CONFIGS, A.ALTER_CONFIGS],
    ...[A.IDEMPOTENT_WRITE, A.ALTER, A.DESCRIBE],
  ],
} as const

type Described = keyof typeof SUPPORTED

const bits = (ops: readonly number[]): number => ops.reduce((acc, op) => acc | (1 << op), 0)

export const TOPIC_OPERATIONS = bits(SUPPORTED[ResourceType.TOPIC])
export const CLUSTER_OPERATIONS = bits(SUPPORTED[ResourceType.CLUSTER])
export const GROUP_OPERATIONS = bits(SUPPORTED[ResourceType.GROUP])

/** The bit set of operations the request's principal may perform on a resource, when asked for (else Kafka's marker). */
export function authorizedOperations(ctx: RequestContext, asked: boolean, type: Described, name: string): number {
  if (!asked) return OPERATIONS_NOT_REQUESTED
  return bits(SUPPORTED[type].filter((op) => authorized(ctx, op, type, name)))
}
