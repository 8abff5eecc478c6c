// DeleteGroups: v0-3
// Deletes groups and their committed offsets. Only a group without members can go:
// NON_EMPTY_GROUP otherwise, GROUP_ID_NOT_FOUND for an unknown group, INVALID_GROUP_ID for "",
// NOT_COORDINATOR for a group another node coordinates.
// Version notes: v2+ flexible encoding only; v3 a message with each error.
import { ErrorCode, errorInfo } from '../../protocol/error-codes.ts'
import {
  api,
  createDeletableGroupResult,
  createDeleteGroupsResponse,
  type DeleteGroupsRequest,
  type DeleteGroupsResponse,
} from '../../protocol/generated/delete-groups.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { groupAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'
import { isCoordinator } from '../routing.ts'

/** The standard message of an error (null for none), as v3 reports with each group. */
const messageOf = (errorCode: number): string | null =>
  errorCode === ErrorCode.NONE ? null : errorInfo(errorCode).message

export default defineHandler<DeleteGroupsRequest, DeleteGroupsResponse>({
  api,
  minVersion: 0,
  maxVersion: 3,
  async handle(ctx, req) {
    const results = []
    for (const groupId of req.groupsNames) {
      const errorCode = !groupAuthorized(ctx, AclOperation.DELETE, groupId)
        ? ErrorCode.GROUP_AUTHORIZATION_FAILED
        : isCoordinator(ctx, groupId)
          ? await ctx.broker.groups.deleteGroup(groupId)
          : ErrorCode.NOT_COORDINATOR
      results.push(createDeletableGroupResult({ groupId, errorCode, errorMessage: messageOf(errorCode) }))
    }
    return createDeleteGroupsResponse({ results })
  },
  errorResponse(_ctx, req, errorCode) {
    return createDeleteGroupsResponse({
      results: req.groupsNames.map((groupId) =>
        createDeletableGroupResult({ groupId, errorCode, errorMessage: messageOf(errorCode) }),
      ),
    })
  },
})
