import assert from 'node:assert/strict'
import { test } from 'node:test'
import { FetchSessions } from '../../src/broker/fetch-sessions.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'

test('the session cache holds at most its slots, evicting the least recently used', () => {
  const sessions = new FetchSessions(2)
  const open = (now: number) => {
    const r = sessions.lookup(0, 0, now)
    assert.equal(r.kind, 'full')
    return r.kind === 'full' ? r.session.id : -1
  }
  const a = open(1)
  const b = open(2)
  assert.equal(sessions.lookup(a, 1, 3).kind, 'incremental', 'a is used again, b is now the oldest')
  const c = open(4)
  assert.equal(sessions.size, 2)
  assert.deepEqual(sessions.lookup(b, 1, 5), { kind: 'error', errorCode: ErrorCode.FETCH_SESSION_ID_NOT_FOUND })
  assert.equal(sessions.lookup(a, 2, 6).kind, 'incremental')
  assert.equal(sessions.lookup(c, 1, 7).kind, 'incremental')
})

test('with no slots every fetch is sessionless', () => {
  const sessions = new FetchSessions(0)
  assert.deepEqual(sessions.lookup(0, 0, 1), { kind: 'sessionless' })
  assert.equal(sessions.size, 0)
})
