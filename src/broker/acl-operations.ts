/**
 * Authorized-operation bit sets for Metadata and DescribeCluster (KIP-430). samsa has no ACLs
 * yet, so every operation that applies to a resource type is allowed.
 */
const AclOperation = {
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const

const bits = (ops: number[]): number => ops.reduce((acc, op) => acc | (1 << op), 0)

/** The value Kafka sends when authorized operations were not requested. */
export const OPERATIONS_NOT_REQUESTED = -2147483648

const A = AclOperation
export const TOPIC_OPERATIONS = bits([
  A.READ,
  A.WRITE,
  A.CREATE,
  A.DELETE,
  A.ALTER,
  A.DESCRIBE,
  A.DESCRIBE_CONFIGS,
  A.ALTER_CONFIGS,
])
export const CLUSTER_OPERATIONS = bits([
  A.CREATE,
  A.ALTER,
  A.DESCRIBE,
  A.CLUSTER_ACTION,
  A.DESCRIBE_CONFIGS,
  A.ALTER_CONFIGS,
  A.IDEMPOTENT_WRITE,
  A.CREATE_TOKENS,
  A.DESCRIBE_TOKENS,
])
export const GROUP_OPERATIONS = bits([A.READ, A.DESCRIBE, A.DELETE])
