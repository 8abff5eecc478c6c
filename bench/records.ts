/**
 * Record-layer benchmark: the produce hot path (validate + patch) against a plain Buffer.copy of
 * the same bytes, full record decoding, and encoding. 1 MiB of 1 KiB records.
 */

import {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
} from '../src/protocol/frame.ts'
import * as fetch from '../src/protocol/generated/fetch.ts'
import { ApiKey } from '../src/protocol/generated/index.ts'
import * as produce from '../src/protocol/generated/produce.ts'
import { decodeBatchesSync, encodeBatchSync, type RecordInput } from '../src/protocol/records/batch.ts'
import { assignOffsets, setPartitionLeaderEpoch } from '../src/protocol/records/batch-patch.ts'
import { validateBatch, validateBatches } from '../src/protocol/records/batch-validate.ts'
import { COMPRESSION_NAMES, type CompressionCodec } from '../src/protocol/records/compression.ts'
import { RecordsError } from '../src/protocol/records/errors.ts'
import { checkBatchRecords, type RecordRules } from '../src/protocol/records/record-check.ts'
import { Reader } from '../src/protocol/wire/reader.ts'
import { ZERO_UUID } from '../src/protocol/wire/uuid.ts'
import { Writer } from '../src/protocol/wire/writer.ts'

const RECORD_SIZE = 1024
const TOTAL = 1024 * 1024

function makeRecords(count: number): RecordInput[] {
  const records: RecordInput[] = []
  for (let i = 0; i < count; i++) {
    const value = Buffer.alloc(RECORD_SIZE)
    for (let j = 0; j < RECORD_SIZE; j++) value[j] = (i * 31 + j * 7) & 0x7f
    records.push({ key: Buffer.from(`key-${i}`), value, timestamp: 1_700_000_000_000 + i })
  }
  return records
}

/** Run fn repeatedly for ~ms milliseconds; returns the mean time per call in ns. */
function measure(fn: () => unknown, ms = 300): number {
  for (let i = 0; i < 5; i++) fn()
  let iterations = 0
  const start = process.hrtime.bigint()
  const deadline = start + BigInt(ms) * 1_000_000n
  let now = start
  while (now < deadline) {
    for (let i = 0; i < 10; i++) fn()
    iterations += 10
    now = process.hrtime.bigint()
  }
  return Number(now - start) / iterations
}

function rate(bytes: number, ns: number): string {
  return `${(((bytes / ns) * 1e9) / (1024 * 1024)).toFixed(0)} MB/s (${(ns / 1000).toFixed(1)} µs per MiB)`
}

/** Print record-layer throughput figures. */
export async function benchRecords(): Promise<void> {
  const records = makeRecords(TOTAL / RECORD_SIZE)
  // A produce request's records: one batch (what v3+ clients send per partition), and 16 batches.
  const single = encodeBatchSync({ records })
  const multi = Buffer.concat(
    Array.from({ length: 16 }, (_, i) => encodeBatchSync({ records: records.slice(i * 64, (i + 1) * 64) })),
  )
  const target = Buffer.allocUnsafe(Math.max(single.length, multi.length))

  console.log(`records: ${records.length} × ${RECORD_SIZE} B values, ${single.length} bytes per MiB batch`)
  const copyNs = measure(() => single.copy(target))
  console.log(`  Buffer.copy of the same bytes        ${rate(single.length, copyNs)}`)
  for (const [name, buf] of [
    ['1 batch', single],
    ['16 batches', multi],
  ] as const) {
    const ns = measure(() => {
      const batches = validateBatches(buf)
      if (batches instanceof RecordsError) throw batches
      assignOffsets(buf, batches, 1000)
      for (const b of batches) setPartitionLeaderEpoch(buf, b.position, 3)
    })
    console.log(
      `  validate (CRC32C) + patch, ${name.padEnd(10)} ${rate(buf.length, ns)}  ${(ns / copyNs).toFixed(2)}× copy`,
    )
  }
  benchRecordWalk(records, copyNs)
  for (const codec of [0, 3, 4, 1] as CompressionCodec[]) {
    const batch = encodeBatchSync({ records, compression: codec })
    const decodeNs = measure(() => decodeBatchesSync(batch))
    if (codec === 0) {
      const noCrcNs = measure(() => decodeBatchesSync(batch, 0, batch.length, { verifyCrc: false }))
      console.log(
        `  full decode none, no CRC check  ${rate(TOTAL, noCrcNs)}, ${(noCrcNs / records.length).toFixed(0)} ns/record`,
      )
    }
    const encodeNs = measure(() => encodeBatchSync({ records, compression: codec }), codec === 1 ? 600 : 300)
    const name = COMPRESSION_NAMES[codec].padEnd(6)
    console.log(`  full decode ${name} ${rate(TOTAL, decodeNs)}, ${(decodeNs / records.length).toFixed(0)} ns/record`)
    console.log(`  encode      ${name} ${rate(TOTAL, encodeNs)}`)
  }
  benchMessages(single, copyNs)
}

/**
 * What Produce adds per batch for Kafka's per-record rules and the true max timestamp
 * (record-check.ts): a walk reading a few varints per record, after decompression for compressed
 * batches. Measured on 1 KiB records and on 64-byte ones, where the per-record part weighs most.
 */
function benchRecordWalk(records: RecordInput[], copyNs: number): void {
  const rules: RecordRules = {
    requireKey: true,
    checkTimestamps: true,
    minTimestamp: 0,
    maxTimestamp: Number.MAX_SAFE_INTEGER,
    maxDecompressedBytes: 64 << 20,
  }
  const small = Array.from({ length: TOTAL / 64 }, (_, i) => ({
    key: Buffer.from(`k${i}`),
    value: Buffer.alloc(48, i & 0x7f),
    timestamp: 1_700_000_000_000 + i,
  }))
  const cases: [string, RecordInput[], CompressionCodec][] = [
    ['1 KiB records, none', records, 0],
    ['64 B records, none ', small, 0],
    ['1 KiB records, lz4 ', records, 3],
    ['1 KiB records, zstd', records, 4],
    ['1 KiB records, gzip', records, 1],
  ]
  for (const [name, input, codec] of cases) {
    const batch = encodeBatchSync({ records: input, compression: codec })
    const info = validateBatch(batch)
    if (info instanceof RecordsError) throw info
    const ns = measure(() => checkBatchRecords(batch, info, rules))
    console.log(
      `  record walk, ${name}   ${rate(TOTAL, ns)}, ${(ns / input.length).toFixed(0)} ns/record, ${(ns / copyNs).toFixed(2)}× copy`,
    )
  }
}

/**
 * The message codecs around the records: a Produce request (v9, flexible) and a Fetch response
 * (v12) carrying the 1 MiB batch, encoded with their headers into one frame and decoded from it.
 * The records field is referenced, never copied, so both should cost a small fraction of a copy.
 */
function benchMessages(batch: Buffer, copyNs: number): void {
  const header = { apiKey: ApiKey.Produce, apiVersion: 9, correlationId: 7, clientId: 'bench' }
  const request = produce.createProduceRequest({
    acks: 1,
    timeoutMs: 30_000,
    topicData: [produce.createTopicProduceData({ name: 'bench', partitionData: [{ index: 0, records: batch }] })],
  })
  const response = fetch.createFetchResponse({
    responses: [
      {
        topic: 'bench',
        topicId: ZERO_UUID,
        partitions: [fetch.createPartitionData({ highWatermark: 1024n, lastStableOffset: 1024n, records: batch })],
      },
    ],
  })
  const encodeRequest = (): Buffer => {
    const w = new Writer()
    encodeRequestHeader(w, header)
    produce.encodeProduceRequest(w, 9, request)
    return w.toBuffer()
  }
  const encodeResponse = (): Buffer[] => {
    const w = new Writer()
    encodeResponseHeader(w, ApiKey.Fetch, 12, 7)
    fetch.encodeFetchResponse(w, 12, response)
    return w.finish()
  }
  const requestFrame = encodeRequest()
  const responseFrame = Buffer.concat(encodeResponse())
  const figures: [string, () => unknown][] = [
    ['Produce v9 request encode (one frame)', encodeRequest],
    [
      'Produce v9 request decode',
      () => {
        const r = new Reader(requestFrame)
        decodeRequestHeader(r)
        return produce.decodeProduceRequest(r, 9)
      },
    ],
    ['Fetch v12 response encode (writev chunks)', encodeResponse],
    [
      'Fetch v12 response decode',
      () => {
        const r = new Reader(responseFrame)
        decodeResponseHeader(r, ApiKey.Fetch, 12)
        return fetch.decodeFetchResponse(r, 12)
      },
    ],
  ]
  console.log('messages carrying that batch (records referenced, not copied):')
  for (const [name, fn] of figures) {
    const ns = measure(fn)
    console.log(`  ${name.padEnd(42)} ${rate(batch.length, ns)}  ${(ns / copyNs).toFixed(2)}× copy`)
  }
}

// Run directly: node dist/bench/records.js
if (import.meta.url === `file://${process.argv[1]}`) await benchRecords()
