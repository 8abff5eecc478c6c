/**
 * The cluster section: produce throughput (16 KiB batches of 1 KiB records, acks=all, 12
 * partitions, each connection writing to its partition's leader) with 1, 2 and 3 broker processes
 * over one embedded PostgreSQL, next to the raw rate at which that PostgreSQL takes the same
 * batches as rows; consume throughput reading that data back from the leaders (one connection
 * per partition, as many fetches in flight as the fetch section keeps, ~1 MB per response,
 * cycling over what was produced: the leaders' in-memory tails hold only the newest 2 MiB of
 * each partition, so most reads query PostgreSQL); then the gap a kafkajs producer sees when one of three brokers is killed.
 */
import { Kafka, logLevel } from 'kafkajs'
import pg from 'pg'
import { Admin } from '../src/client/admin.ts'
import { type ServerProcess, startServer } from './children.ts'
import { FETCH_IN_FLIGHT, type FetchStep, fetchSteps } from './fetch.ts'
import { type Conn, openConns, runLoad } from './load-generator.ts'
import { type BenchPostgres, databaseUrl, rawInsertRate, startPostgres } from './postgres.ts'
import { createTopics } from './produce.ts'
import { checkProduceResponse, makeBatch, parseFetchHead, produceFrame } from './requests.ts'
import { fmt, MB, percentile, table } from './util.ts'

const PARTITIONS = 12
const PRODUCERS_PER_PARTITION = 4
const RECORDS = 16
const RECORD_SIZE = 1024
/** Batches of RECORDS records one fetch asks for (~1 MB). */
const BATCHES_PER_FETCH = 64
/** Short leases, so the failover case fits in the benchmark (defaults: 9000 / 2000). */
const LEASE = { 'broker.session.timeout.ms': '3000', 'broker.heartbeat.interval.ms': '500' }

interface Row {
  label: string
  mbPerSec: number
  p50Ms: number
  p99Ms: number
}

/** Starts `count` brokers on a fresh database and waits until every partition of `topic` has a leader. */
async function startCluster(postgres: BenchPostgres, admin: pg.Client, count: number, topic: string) {
  const database = `cluster_${count}`
  await admin.query(`CREATE DATABASE ${database}`)
  const url = databaseUrl(postgres.url, database) as `postgres://${string}`
  const brokers: ServerProcess[] = []
  for (let id = 1; id <= count; id++) {
    brokers.push(await startServer({ kind: 'broker', storage: url, config: { 'node.id': String(id), ...LEASE } }))
  }
  await createTopics(brokers[0]?.port as number, [{ name: topic, partitions: PARTITIONS }])
  const client = new Admin({ bootstrap: brokers.map((b) => `127.0.0.1:${b.port}`).join(',') })
  try {
    for (;;) {
      const [info] = await client.describeTopics([topic])
      const leaders = info?.partitions.map((p) => p.leader) ?? []
      const { brokers: live } = await client.describeCluster()
      if (live.length === count && leaders.length === PARTITIONS && leaders.every((l) => l > 0)) {
        const portOf = new Map(live.map((b) => [b.nodeId, b.port]))
        const leaderPorts = leaders.map((l) => portOf.get(l) as number)
        if (await everyLeaderAccepts(topic, leaderPorts)) return { brokers, leaderPorts }
      }
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  } finally {
    await client.close()
  }
}

/** True once every partition's leader accepts a produce (its claim on the partition completed). */
async function everyLeaderAccepts(topic: string, leaderPorts: number[]): Promise<boolean> {
  const batch = makeBatch(1, 16)
  for (const [p, port] of leaderPorts.entries()) {
    const [conn] = (await openConns(port, 1)) as [Conn]
    try {
      checkProduceResponse(await conn.request(produceFrame(topic, p, -1, batch)))
    } catch {
      return false
    } finally {
      conn.close()
    }
  }
  return true
}

/** Produce load with every connection writing to one partition at its leader; also the partitions' end offsets. */
async function produceToLeaders(topic: string, leaderPorts: number[]): Promise<Row & { endOffsets: number[] }> {
  const batch = makeBatch(RECORDS, RECORD_SIZE)
  const conns: Conn[] = []
  const partitionOf: number[] = []
  for (let p = 0; p < PARTITIONS; p++) {
    for (const c of await openConns(leaderPorts[p] as number, PRODUCERS_PER_PARTITION)) {
      conns.push(c)
      partitionOf.push(p)
    }
  }
  const frames = Array.from({ length: PARTITIONS }, (_, p) => produceFrame(topic, p, -1, batch))
  const endOffsets = frames.map(() => 0)
  try {
    const r = await runLoad({
      conns,
      inFlight: 1,
      warmupMs: 500,
      durationMs: 2500,
      next: (i) => ({ frame: frames[partitionOf[i] as number] as Buffer, bytes: batch.length, records: RECORDS }),
      check(_i, _req, head) {
        const ack = checkProduceResponse(head)
        endOffsets[ack.partition] = Math.max(endOffsets[ack.partition] as number, ack.baseOffset + RECORDS)
        return undefined
      },
    })
    return {
      label: '',
      mbPerSec: r.bytes / MB / r.seconds,
      p50Ms: percentile(r.latenciesMs, 50),
      p99Ms: percentile(r.latenciesMs, 99),
      endOffsets,
    }
  } finally {
    for (const c of conns) c.close()
  }
}

/** Fetch load reading every partition back from its leader, from offset 0 to its end and round again. */
async function consumeFromLeaders(topic: string, leaderPorts: number[], endOffsets: number[]): Promise<Row> {
  const steps = fetchSteps(topic, endOffsets, {
    batchBytes: makeBatch(RECORDS, RECORD_SIZE).length,
    recordsPerBatch: RECORDS,
    batchesPerFetch: BATCHES_PER_FETCH,
  })
  const conns: Conn[] = []
  for (let p = 0; p < PARTITIONS; p++) conns.push(...(await openConns(leaderPorts[p] as number, 1, 512)))
  const cursor = steps.map(() => 0)
  try {
    const r = await runLoad({
      conns,
      inFlight: FETCH_IN_FLIGHT,
      warmupMs: 500,
      durationMs: 2500,
      next(p) {
        const list = steps[p] as FetchStep[]
        cursor[p] = (cursor[p] as number) + 1
        return list[(cursor[p] as number) % list.length] as FetchStep
      },
      check(_p, _req, head) {
        const h = parseFetchHead(head)
        if (h.errorCode !== 0) throw new Error(`fetch error ${h.errorCode}`)
        // The first batch of each partition is the readiness probe's one record, so fetches do
        // not start on batch boundaries; what came back is counted.
        if (h.recordsBytes === 0) throw new Error('a fetch within the produced data returned nothing')
        return h.recordsBytes
      },
    })
    return {
      label: '',
      mbPerSec: r.bytes / MB / r.seconds,
      p50Ms: percentile(r.latenciesMs, 50),
      p99Ms: percentile(r.latenciesMs, 99),
    }
  } finally {
    for (const c of conns) c.close()
  }
}

/** Seconds a kafkajs producer (acks=all, idempotent, one record at a time) goes without an acknowledgement when broker 3 of 3 is killed. */
async function failoverGap(brokers: ServerProcess[], topic: string): Promise<number> {
  const kafka = new Kafka({
    brokers: brokers.map((b) => `127.0.0.1:${b.port}`),
    logLevel: logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  })
  const producer = kafka.producer({ idempotent: true })
  await producer.connect()
  const acks: number[] = []
  let stop = false
  const loop = (async () => {
    for (let i = 0; !stop; i++) {
      await producer.send({ topic, acks: -1, messages: [{ key: `k${i % 24}`, value: 'x'.repeat(100) }] })
      acks.push(Date.now())
    }
  })()
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const killedAt = Date.now()
  ;(brokers[2] as ServerProcess).child.kill('SIGKILL')
  while (acks.filter((t) => t > killedAt).length < 200 && Date.now() - killedAt < 30_000) {
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  stop = true
  await loop
  await producer.disconnect()
  let gap = 0
  for (let i = 1; i < acks.length; i++) {
    if ((acks[i] as number) > killedAt) gap = Math.max(gap, (acks[i] as number) - (acks[i - 1] as number))
  }
  return gap / 1000
}

export async function benchCluster(): Promise<void> {
  const postgres = await startPostgres()
  const admin = new pg.Client({ connectionString: postgres.url })
  await admin.connect()
  const rows: string[][] = []
  const consumed: string[][] = []
  try {
    const raw = await rawInsertRate(postgres, admin, 'cluster_raw')
    rows.push([
      'raw INSERT, 4 conn. × 64 rows of 16 KiB (baseline)',
      fmt(raw.mbPerSec),
      '1.00x',
      fmt(raw.p50Ms, 1),
      fmt(raw.p99Ms, 1),
    ])
    let gap = Number.NaN
    for (const count of [1, 2, 3]) {
      const topic = `cluster-${count}`
      const { brokers, leaderPorts } = await startCluster(postgres, admin, count, topic)
      try {
        const r = await produceToLeaders(topic, leaderPorts)
        const label = `produce acks=all, ${count} broker${count > 1 ? 's' : ''}, ${PARTITIONS * PRODUCERS_PER_PARTITION} conn.`
        rows.push([label, fmt(r.mbPerSec), `${fmt(r.mbPerSec / raw.mbPerSec, 2)}x`, fmt(r.p50Ms, 1), fmt(r.p99Ms, 1)])
        const c = await consumeFromLeaders(topic, leaderPorts, r.endOffsets)
        consumed.push([
          `consume, ${count} broker${count > 1 ? 's' : ''}, ${PARTITIONS} conn.`,
          fmt(c.mbPerSec),
          '',
          fmt(c.p50Ms, 1),
          fmt(c.p99Ms, 1),
        ])
        if (count === 3) gap = await failoverGap(brokers, topic)
      } finally {
        await Promise.all(brokers.map((b) => b.stop()))
      }
    }
    console.log(table([['case', 'MB/s', 'of raw', 'p50 ms', 'p99 ms'], ...rows, ...consumed]))
    console.log(
      `kill -9 of one broker of three (lease ${LEASE['broker.session.timeout.ms']} ms): a kafkajs producer went ${fmt(gap, 2)} s without an acknowledgement`,
    )
    console.log(
      'All brokers and the database share this machine: more brokers add request handling but not\n' +
        'writes, which one PostgreSQL primary commits (see the README, A cluster over PostgreSQL).',
    )
  } finally {
    await admin.end()
    await postgres.stop()
  }
}
