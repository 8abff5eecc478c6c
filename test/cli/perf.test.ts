/** `samsa perf produce|consume` as real processes: the numbers they report match the log. */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { formatSummary, LatencyRecorder, summarize } from '../../src/cli/perf-stats.ts'
import { Admin } from '../../src/client/admin.ts'
import { EARLIEST, LATEST, listOffsets } from '../../src/client/offsets.ts'
import { startBroker as startTestBroker } from '../../src/testing/index.ts'
import { cli } from './helpers.ts'

let broker: Broker
let admin: Admin
let samsa: ReturnType<typeof cli>

before(async () => {
  broker = await startBroker({ config: { 'group.initial.rebalance.delay.ms': '0' } })
  admin = new Admin({ bootstrap: broker.bootstrap })
  samsa = cli(broker.bootstrap)
})
after(async () => {
  await admin.close()
  await broker.close()
})

interface Summary {
  records: number
  bytes: number
  elapsedMs: number
  recordsPerSec: number
  mbPerSec: number
  latencySamples: number
  latencyMs: Record<'avg' | 'p50' | 'p95' | 'p99' | 'p999' | 'max', number | null>
}

async function totalRecords(topic: string, partitions: number): Promise<number> {
  const tps = Array.from({ length: partitions }, (_, partition) => ({ topic, partition }))
  const [lo, hi] = await Promise.all([
    listOffsets(admin.cluster, tps, EARLIEST),
    listOffsets(admin.cluster, tps, LATEST),
  ])
  let n = 0
  for (const [k, v] of hi) n += Number(v - (lo.get(k) ?? 0n))
  return n
}

function checkSummary(s: Summary, records: number, bytes: number): void {
  assert.equal(s.records, records)
  assert.equal(s.bytes, bytes)
  assert.ok(s.elapsedMs > 0)
  // The rates are the counts over the elapsed time (rounded to 2 decimals).
  assert.ok(Math.abs(s.recordsPerSec - records / (s.elapsedMs / 1000)) / s.recordsPerSec < 0.01)
  assert.ok(Math.abs(s.mbPerSec - bytes / 1048576 / (s.elapsedMs / 1000)) <= 0.01 + s.mbPerSec * 0.01)
  const l = s.latencyMs
  // Each percentile is there exactly when the run has the samples it needs.
  const needs = { p50: 2, p95: 20, p99: 100, p999: 1000 } as const
  const present: number[] = []
  for (const [key, n] of Object.entries(needs)) {
    const v = l[key as keyof typeof needs]
    assert.equal(v === null, s.latencySamples < n, `${key} with ${s.latencySamples} samples: ${JSON.stringify(l)}`)
    if (v !== null) present.push(v)
  }
  assert.ok(l.max !== null && l.avg !== null && l.avg > 0 && l.avg <= l.max, JSON.stringify(l))
  for (let i = 1; i < present.length; i++) assert.ok((present[i - 1] as number) <= (present[i] as number))
  assert.ok(present.every((v) => v <= (l.max as number)))
}

describe('samsa cli', { concurrency: true }, () => {
  test('perf produce writes exactly the records it reports, with a progress bar', async () => {
    await admin.createTopics([{ name: 'bench', partitions: 3 }])
    const res = await samsa([
      'perf',
      'produce',
      'bench',
      '-n',
      '30000',
      '-s',
      '64',
      '--json',
      '--progress',
      '-z',
      'lz4',
    ])
    assert.equal(res.code, 0, res.stderr)
    const s = JSON.parse(res.stdout) as Summary
    checkSummary(s, 30_000, 30_000 * 64)
    assert.equal(await totalRecords('bench', 3), 30_000, 'the log holds what perf claims')
    assert.match(res.stderr, /\r?█+ 100% 30000\/30000 records \d+ records\/s/)

    const text = await samsa([
      'perf',
      'produce',
      'bench',
      '-n',
      '2000',
      '-s',
      '10',
      '--acks',
      '1',
      '--throughput',
      '20000',
    ])
    assert.equal(text.code, 0, text.stderr)
    assert.match(
      text.stdout,
      /^2000 records sent in (\d+\.\d+) s\nthroughput: [\d.]+ records\/s, [\d.]+ MB\/s\nproduce latency \(ms, 2000 samples\): avg [\d.]+, p50 [\d.]+, p95 [\d.]+, p99 [\d.]+, p99\.9 [\d.]+, max [\d.]+\n$/,
    )
    // 2000 records at 20000/s take at least ~0.1 s.
    assert.ok(Number(/in (\d+\.\d+) s/.exec(text.stdout)?.[1]) >= 0.09)
    assert.equal(await totalRecords('bench', 3), 32_000)
  })

  test('perf consume reads every record of the topic and reports it', async () => {
    await admin.createTopics([{ name: 'bench-read', partitions: 2 }])
    const produced = await samsa(['perf', 'produce', 'bench-read', '-n', '20000', '-s', '100', '--json'])
    assert.equal(produced.code, 0, produced.stderr)
    const res = await samsa(['perf', 'consume', 'bench-read', '--json'])
    assert.equal(res.code, 0, res.stderr)
    const s = JSON.parse(res.stdout) as Summary
    checkSummary(s, 20_000, 20_000 * 100)
    const grouped = await samsa(['perf', 'consume', 'bench-read', '-n', '5000', '--group', 'perf-group'])
    assert.equal(grouped.code, 0, grouped.stderr)
    assert.match(grouped.stdout, /^\d+ records consumed in/)
    const short = await samsa(['perf', 'consume', 'bench-read', '-n', '30000', '--idle-timeout', '300'])
    assert.equal(short.code, 1)
    assert.match(short.stderr, /only 20000 of 30000 records arrived/)
    // A topic that does not exist is created on first use, as the help's own example expects.
    const fresh = await samsa(['perf', 'produce', 'bench-new', '-n', '10', '-s', '10'])
    assert.equal(fresh.code, 0, fresh.stderr)
    assert.equal(await totalRecords('bench-new', 1), 10)
  })

  test('perf consume measures fetches, not the group join, and names the percentiles it lacks samples for', async () => {
    // A broker that holds every JoinGroup answer back for 1.5 s: a fetch sample that included
    // the join would show it.
    const slow = await startTestBroker({ topics: [{ name: 'joined', partitions: 1 }] })
    try {
      slow.faults.delay('JoinGroup', 1500)
      const run = cli(slow.bootstrap)
      const produced = await run(['perf', 'produce', 'joined', '-n', '3000', '-s', '10', '--batch-size', '1024'])
      assert.equal(produced.code, 0, produced.stderr)
      const res = await run(['perf', 'consume', 'joined', '--group', 'slow-join', '--json'])
      assert.equal(res.code, 0, res.stderr)
      const s = JSON.parse(res.stdout) as Summary
      checkSummary(s, 3000, 30_000)
      assert.ok(s.latencySamples >= 1)
      assert.ok((s.latencyMs.max as number) < 1500, `the join is not a fetch: ${JSON.stringify(s.latencyMs)}`)
      assert.ok(s.elapsedMs < 1500, `the elapsed time starts after the join: ${s.elapsedMs} ms`)
      const text = await run(['perf', 'consume', 'joined', '-n', '10'])
      assert.equal(text.code, 0, text.stderr)
      assert.match(text.stdout, /fetch latency \(ms, 1 samples\): avg [\d.]+, max [\d.]+\n/)
      assert.match(
        text.stdout,
        /too few samples for p50, p95, p99, p99\.9 \(p50 needs 2, p95 needs 20, p99 needs 100, p99\.9 needs 1000\)/,
      )
    } finally {
      await slow.close()
    }
  })

  test('latency summary: nearest-rank percentiles', () => {
    const l = new LatencyRecorder()
    for (let i = 1; i <= 1000; i++) l.record(i)
    const s = summarize(1000, 1_048_576, 2000, l)
    assert.deepEqual(s.latencyMs, { avg: 500.5, p50: 500, p95: 950, p99: 990, p999: 999, max: 1000 })
    assert.equal(s.recordsPerSec, 500)
    assert.equal(s.mbPerSec, 0.5)
    assert.match(formatSummary(s, 'sent', 'produce'), /p99 990\.00, p99\.9 999\.00, max 1000\.00/)
  })
})
