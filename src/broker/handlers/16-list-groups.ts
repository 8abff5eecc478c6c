// ListGroups: v0-5
// Every group this node coordinates (admin clients ask every broker and merge), classic and
// KIP-848, with its protocol type ("consumer" for KIP-848 groups, "" for groups that only hold
// offsets).
// Version notes: v4+ state filter and group state (case-insensitive, Kafka's state names);
// v5+ type filter and group type ("classic" or "consumer").
import {
  api,
  createListGroupsResponse,
  type ListGroupsRequest,
  type ListGroupsResponse,
} from '../../protocol/generated/list-groups.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { clusterAuthorized, groupAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'
import { isCoordinator } from '../routing.ts'

export default defineHandler<ListGroupsRequest, ListGroupsResponse>({
  api,
  minVersion: 0,
  maxVersion: 5,
  handle(ctx, req) {
    const v = ctx.apiVersion
    const groups = ctx.broker.groups.listGroups(v >= 4 ? req.statesFilter : [], v >= 5 ? req.typesFilter : [])
    // Without DESCRIBE on the cluster, only the groups the principal may describe (Kafka).
    const all = clusterAuthorized(ctx, AclOperation.DESCRIBE)
    const listed = groups.filter(
      (g) => isCoordinator(ctx, g.groupId) && (all || groupAuthorized(ctx, AclOperation.DESCRIBE, g.groupId)),
    )
    return createListGroupsResponse({ groups: listed })
  },
  errorResponse(_ctx, _req, errorCode) {
    return createListGroupsResponse({ errorCode })
  },
})
