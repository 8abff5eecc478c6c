// DeleteTopics: v0-6
// Deletes topics by name and, v6+, by topic id, with their data; fetch sessions forget them.
// Errors per topic as Kafka's controller gives them: unknown name UNKNOWN_TOPIC_OR_PARTITION,
// unknown id UNKNOWN_TOPIC_ID; INVALID_REQUEST for a name given twice, an id given twice, both
// or neither of name and id, or a name whose id was also given. delete.topic.enable=false
// fails every topic with TOPIC_DELETION_DISABLED (INVALID_REQUEST before v3).
// Version notes: v1+ throttle time; v3+ TOPIC_DELETION_DISABLED; v4 flexible; v5+ error
// messages; v6 topics as {name, topic_id} and topic ids in the response.
// Deliberate difference: Kafka answers nothing for an id whose topic was also named in the
// request (and shuffles the responses); samsa answers every entry, in request order.
import { ErrorCode } from '../../protocol/error-codes.ts'
import {
  api,
  createDeletableTopicResult,
  createDeleteTopicsResponse,
  type DeletableTopicResult,
  type DeleteTopicState,
  type DeleteTopicsRequest,
  type DeleteTopicsResponse,
} from '../../protocol/generated/delete-topics.ts'
import { ZERO_UUID } from '../../protocol/wire/uuid.ts'
import { AclOperation } from '../acls/acl-model.ts'
import { topicAuthorized } from '../authorize.ts'
import { defineHandler } from '../handler.ts'

export default defineHandler<DeleteTopicsRequest, DeleteTopicsResponse>({
  api,
  minVersion: 0,
  maxVersion: 6,
  async handle(ctx, req) {
    const core = ctx.broker
    const v = ctx.apiVersion
    const entries = requested(req, v)
    if (core.prop('delete.topic.enable') !== 'true') {
      const errorCode = v < 3 ? ErrorCode.INVALID_REQUEST : ErrorCode.TOPIC_DELETION_DISABLED
      return createDeleteTopicsResponse({ responses: entries.map((t) => result(t.name, t.topicId, errorCode, null)) })
    }
    const names = new Map<string, number>()
    const ids = new Map<string, number>()
    for (const t of entries) {
      if (t.name !== null) names.set(t.name, (names.get(t.name) ?? 0) + 1)
      if (t.topicId !== ZERO_UUID) ids.set(t.topicId, (ids.get(t.topicId) ?? 0) + 1)
    }
    const reported = new Set<string>()
    const responses: DeletableTopicResult[] = []
    for (const { name, topicId } of entries) {
      const invalid = (message: string): void => {
        responses.push(result(name, topicId, ErrorCode.INVALID_REQUEST, message))
      }
      if (name === null && topicId === ZERO_UUID) invalid('Neither topic name nor id were specified.')
      else if (name !== null && topicId !== ZERO_UUID) invalid('You may not specify both topic name and topic id.')
      else if ((names.get(name ?? '') ?? 0) > 1 || (ids.get(topicId) ?? 0) > 1) {
        // Kafka reports a duplicated name or id once.
        const key = name ?? topicId
        if (!reported.has(key)) invalid(name !== null ? 'Duplicate topic name.' : 'Duplicate topic id.')
        reported.add(key)
      } else if (name === null) {
        const t = core.topics.getById(topicId)
        if (!t)
          responses.push(result(null, topicId, ErrorCode.UNKNOWN_TOPIC_ID, 'This server does not host this topic ID.'))
        // Without DESCRIBE the name is not told.
        else if (!topicAuthorized(ctx, AclOperation.DESCRIBE, t.name)) responses.push(denied(null, topicId))
        else if (!topicAuthorized(ctx, AclOperation.DELETE, t.name)) responses.push(denied(t.name, topicId))
        else if (names.has(t.name)) invalid('The provided topic name maps to an ID that was already supplied.')
        else responses.push(await deleteTopic(t.name, t.topicId))
      } else if (!topicAuthorized(ctx, AclOperation.DELETE, name)) responses.push(denied(name, ZERO_UUID))
      else {
        const t = core.topics.get(name)
        if (!t) {
          const message = 'This server does not host this topic-partition.'
          responses.push(result(name, ZERO_UUID, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, message))
        } else if (ids.has(t.topicId)) invalid('The provided topic name maps to an ID that was already supplied.')
        else responses.push(await deleteTopic(t.name, t.topicId))
      }
    }
    return createDeleteTopicsResponse({ responses })

    async function deleteTopic(name: string, topicId: string): Promise<DeletableTopicResult> {
      await core.topics.delete(name)
      core.log.info({ topic: name, topicId }, 'deleted topic')
      return result(name, topicId, ErrorCode.NONE, null)
    }
  },
  errorResponse(ctx, req, errorCode) {
    const responses = requested(req, ctx.apiVersion).map((t) => result(t.name, t.topicId, errorCode, null))
    return createDeleteTopicsResponse({ responses })
  },
})

/** The topics of the request in the v6 shape, whatever the version. */
function requested(req: DeleteTopicsRequest, v: number): DeleteTopicState[] {
  return v >= 6 ? req.topics : req.topicNames.map((name) => ({ name, topicId: ZERO_UUID }))
}

function denied(name: string | null, topicId: string): DeletableTopicResult {
  return result(name, topicId, ErrorCode.TOPIC_AUTHORIZATION_FAILED, 'Authorization failed.')
}

function result(
  name: string | null,
  topicId: string,
  errorCode: number,
  errorMessage: string | null,
): DeletableTopicResult {
  return createDeletableTopicResult({ name, topicId, errorCode, errorMessage })
}
