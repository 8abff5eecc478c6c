// DescribeCluster: v0-2
// The cluster id, the live brokers, the controller clients are told about (the first live one) and,
// when asked, the cluster operations the client may perform (every one: samsa has no ACLs yet).
// v2 (KIP-1073) lists fenced brokers too when asked: over a shared database, those still registered
// whose lease lapsed (and in one process with several nodes, those taken offline).
// Version notes: v1 adds endpoint_type (KIP-919): this is a broker endpoint, so asking for
// controllers is MISMATCHED_ENDPOINT_TYPE and any other unknown type UNSUPPORTED_ENDPOINT_TYPE
// (INVALID_REQUEST for both in v0, whose requests always carry the broker type).
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createDescribeClusterResponse,
  type DescribeClusterBroker,
  type DescribeClusterRequest,
  type DescribeClusterResponse,
} from '../../protocol/generated/describe-cluster.ts'
import { authorizedOperations } from '../acl-operations.ts'
import { CLUSTER_NAME, ResourceType } from '../acls/acl-model.ts'
import { type ClusterNode, endpointFor } from '../cluster.ts'
import { defineHandler } from '../handler.ts'

/** A broker with its address on the listener the client came in on. */
function describeBroker(n: ClusterNode, listener: string, isFenced: boolean): DescribeClusterBroker {
  return { brokerId: n.nodeId, ...endpointFor(n, listener), rack: n.rack, isFenced }
}

/** Kafka's EndpointType ids. */
const EndpointType = { BROKER: 1, CONTROLLER: 2 } as const

export default defineHandler<DescribeClusterRequest, DescribeClusterResponse>({
  api,
  minVersion: 0,
  maxVersion: 2,
  handle(ctx, req) {
    const core = ctx.broker
    const v0 = ctx.apiVersion === 0
    if (req.endpointType === EndpointType.CONTROLLER) {
      return createDescribeClusterResponse({
        errorCode: v0 ? ErrorCode.INVALID_REQUEST : ErrorCode.MISMATCHED_ENDPOINT_TYPE,
        errorMessage:
          'The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER',
      })
    }
    if (req.endpointType !== EndpointType.BROKER) {
      return createDescribeClusterResponse({
        errorCode: v0 ? ErrorCode.INVALID_REQUEST : ErrorCode.UNSUPPORTED_ENDPOINT_TYPE,
        errorMessage: `Unsupported endpoint type ${req.endpointType}`,
      })
    }
    return createDescribeClusterResponse({
      endpointType: EndpointType.BROKER,
      clusterId: core.clusterId,
      controllerId: core.cluster.controllerId,
      brokers: [
        ...core.cluster.liveNodes.map((n) => describeBroker(n, ctx.listener, false)),
        ...(req.includeFencedBrokers ? core.cluster.fencedNodes.map((n) => describeBroker(n, ctx.listener, true)) : []),
      ],
      clusterAuthorizedOperations: authorizedOperations(
        ctx,
        req.includeClusterAuthorizedOperations,
        ResourceType.CLUSTER,
        CLUSTER_NAME,
      ),
    })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createDescribeClusterResponse({ errorCode })
  },
})
