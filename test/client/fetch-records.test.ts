/** Decoding fetched record bytes: truncated tails, start inside a batch, aborted transactions. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeFetched } from '../../src/client/fetch-records.ts'
import { encodeBatchSync } from '../../src/protocol/records/batch.ts'
import { ControlType, encodeEndTxnMarkerBatch } from '../../src/protocol/records/control.ts'

const txn = (baseOffset: number, values: string[], producerId = 5) =>
  encodeBatchSync({
    baseOffset,
    records: values.map((v) => ({ value: Buffer.from(v) })),
    isTransactional: true,
    producerId,
    producerEpoch: 0,
    baseSequence: 0,
  })
const plain = (baseOffset: number, values: string[]) =>
  encodeBatchSync({ baseOffset, records: values.map((v) => ({ value: Buffer.from(v) })) })
const marker = (baseOffset: number, type: number, producerId = 5) =>
  encodeEndTxnMarkerBatch({
    type: type as 0 | 1,
    coordinatorEpoch: 0,
    producerId,
    producerEpoch: 0,
    timestamp: 0,
    baseOffset,
  })

const log = Buffer.concat([
  txn(0, ['a0', 'a1']),
  plain(2, ['p2']),
  marker(3, ControlType.ABORT),
  txn(4, ['c4']),
  marker(5, ControlType.COMMIT),
  plain(6, ['p6', 'p7']),
])

const values = (rs: { value: Buffer | null }[]) => rs.map((r) => r.value?.toString())

test('read_uncommitted returns every data record and skips control batches', async () => {
  const { records, nextOffset } = await decodeFetched('t', 0, log, 0n)
  assert.deepEqual(values(records), ['a0', 'a1', 'p2', 'c4', 'p6', 'p7'])
  assert.equal(nextOffset, 8n)
})

test('read_committed drops the records of aborted transactions', async () => {
  const { records } = await decodeFetched('t', 0, log, 0n, [{ producerId: 5n, firstOffset: 0n }])
  assert.deepEqual(values(records), ['p2', 'c4', 'p6', 'p7'])
})

test('a fetch starting inside a batch skips earlier records; a truncated tail is left for later', async () => {
  const { records, nextOffset } = await decodeFetched('t', 0, log.subarray(0, log.length - 5), 1n)
  assert.deepEqual(values(records), ['a1', 'p2', 'c4'])
  assert.equal(nextOffset, 6n)
  const empty = await decodeFetched('t', 0, null, 9n)
  assert.deepEqual(empty, { records: [], nextOffset: 9n })
})
