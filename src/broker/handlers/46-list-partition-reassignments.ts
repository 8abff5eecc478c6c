// ListPartitionReassignments: v0
// The reassignments in progress: none, ever, since a reassignment completes as it is made (there is
// no data to copy: every broker reads the one shared log). Kafka lists only partitions being
// reassigned, leaving out unknown topics and partitions, so the answer is always an empty list.
// Needs DESCRIBE on the cluster.
import { ErrorCode, errorInfo } from '../../protocol/error-codes.ts'
import {
  api,
  createListPartitionReassignmentsResponse,
  type ListPartitionReassignmentsRequest,
  type ListPartitionReassignmentsResponse,
} from '../../protocol/generated/list-partition-reassignments.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse>({
  api,
  minVersion: 0,
  maxVersion: 0,
  refuse: (ctx) => (clusterAuthorized(ctx, AclOperation.DESCRIBE) ? undefined : ErrorCode.CLUSTER_AUTHORIZATION_FAILED),
  handle() {
    return createListPartitionReassignmentsResponse({ errorMessage: null, topics: [] })
  },
  errorResponse(_ctx, req, errorCode) {
    return createListPartitionReassignmentsResponse({
      errorCode,
      errorMessage: errorInfo(errorCode).message,
      topics: (req.topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitionIndexes.map((partitionIndex) => ({
          partitionIndex,
          replicas: [],
          addingReplicas: [],
          removingReplicas: [],
        })),
      })),
    })
  },
})
