/**
 * Transactional produce next to plain idempotent produce, on an embedded broker (local engine,
 * acks=all as idempotent producers default to): records of 100 B in batches of 100 (one batch
 * per Produce, 5 in flight like max.in.flight.requests.per.connection), one partition.
 * Transactions of 100 records pay AddPartitionsToTxn + EndTxn (a durable marker) per Produce;
 * transactions of 10,000 records spread that over 100 Produce requests.
 */
import { startBroker } from '../src/broker/broker.ts'
import { ApiKey } from '../src/protocol/generated/index.ts'
import { createInitProducerIdRequest, type InitProducerIdResponse } from '../src/protocol/generated/init-producer-id.ts'
import {
  createProduceRequest,
  createTopicProduceData,
  type ProduceResponse,
} from '../src/protocol/generated/produce.ts'
import { encodeBatchSync } from '../src/protocol/records/batch.ts'
import { RawClient } from '../test/helpers/raw-client.ts'
import { fmt, table, tempDir } from './util.ts'

const RECORDS_PER_BATCH = 100
const RECORD_SIZE = 100
const IN_FLIGHT = 5
const DURATION_MS = 2000

interface Run {
  label: string
  records: number
  ms: number
  transactions: number
}

function batch(pid: bigint, epoch: number, seq: number, transactional: boolean): Buffer {
  const value = Buffer.alloc(RECORD_SIZE, 0x61)
  return encodeBatchSync({
    producerId: pid,
    producerEpoch: epoch,
    baseSequence: seq,
    isTransactional: transactional,
    records: Array.from({ length: RECORDS_PER_BATCH }, () => ({ key: null, value })),
  })
}

/** Runs one case: `txnRecords` 0 means idempotent only. */
async function runCase(port: number, topic: string, txnRecords: number): Promise<Run> {
  const c = await RawClient.connect(port)
  const transactionalId = txnRecords > 0 ? `bench-${topic}` : null
  const init = await c.send<InitProducerIdResponse>(
    ApiKey.InitProducerId,
    4,
    createInitProducerIdRequest({
      transactionalId,
      transactionTimeoutMs: 60_000,
      producerId: -1n,
      producerEpoch: -1,
    }),
  )
  const { producerId: pid, producerEpoch: epoch } = init
  let seq = 0
  let records = 0
  let transactions = 0
  const produce = (): Promise<void> => {
    const records = batch(pid, epoch, seq, transactionalId !== null)
    seq += RECORDS_PER_BATCH
    return c
      .send<ProduceResponse>(
        ApiKey.Produce,
        9,
        createProduceRequest({
          transactionalId,
          acks: -1,
          timeoutMs: 5000,
          topicData: [createTopicProduceData({ name: topic, partitionData: [{ index: 0, records }] })],
        }),
      )
      .then((res) => {
        const code = res.responses[0]?.partitionResponses[0]?.errorCode
        if (code !== 0) throw new Error(`produce failed with ${code}`)
      })
  }
  const started = Date.now()
  while (Date.now() - started < DURATION_MS) {
    if (transactionalId === null) {
      const wave = Array.from({ length: IN_FLIGHT }, produce)
      await Promise.all(wave)
      records += IN_FLIGHT * RECORDS_PER_BATCH
      continue
    }
    await c.send(ApiKey.AddPartitionsToTxn, 3, {
      transactions: [],
      v3AndBelowTransactionalId: transactionalId,
      v3AndBelowProducerId: pid,
      v3AndBelowProducerEpoch: epoch,
      v3AndBelowTopics: [{ name: topic, partitions: [0] }],
    })
    let left = txnRecords / RECORDS_PER_BATCH
    while (left > 0) {
      const n = Math.min(IN_FLIGHT, left)
      await Promise.all(Array.from({ length: n }, produce))
      left -= n
    }
    await c.send(ApiKey.EndTxn, 3, { transactionalId, producerId: pid, producerEpoch: epoch, committed: true })
    records += txnRecords
    transactions++
  }
  const ms = Date.now() - started
  await c.close()
  const label = transactionalId === null ? 'idempotent' : `transactions of ${fmt(txnRecords)}`
  return { label, records, ms, transactions }
}

/** Prints transactional and idempotent produce throughput. */
export async function benchTransactions(): Promise<void> {
  const dir = await tempDir('samsa-bench-txn-')
  const broker = await startBroker({ storage: 'local', dataDir: dir.path })
  try {
    const runs: Run[] = []
    for (const [topic, txnRecords] of [
      ['idem', 0],
      ['txn100', 100],
      ['txn10k', 10_000],
    ] as const) {
      await broker.core.topics.create(topic, 1, {})
      runs.push(await runCase(broker.port, topic, txnRecords))
    }
    const base = (runs[0] as Run).records / (runs[0] as Run).ms
    const rows = [['case', 'records/s', 'MB/s', 'transactions/s', 'vs idempotent']]
    for (const r of runs) {
      const perSec = (r.records / r.ms) * 1000
      rows.push([
        r.label,
        fmt(perSec),
        fmt((perSec * RECORD_SIZE) / 1e6, 1),
        r.transactions > 0 ? fmt((r.transactions / r.ms) * 1000, 1) : '-',
        `${fmt(r.records / r.ms / base, 2)}×`,
      ])
    }
    console.log(table(rows))
  } finally {
    await broker.close()
    await dir.cleanup()
  }
}
