/**
 * A broker on the postgres engine loses its database under load and gets it back: the link to a
 * real PostgreSQL is cut (every connection dropped, new ones refused) for a while, then restored.
 * Clients see retriable errors or wait meanwhile and go on afterwards; every record acknowledged
 * before, during and after is there once, at the offset it was acknowledged with. The commits in
 * flight when the link goes down are the hard part: whether they landed is unknown until the
 * database is back, and answering one that landed as failed would make the idempotent
 * producers' retries duplicates. Run with a short outage (2 s) and one longer than any retry of
 * the engine's (8 s). Skipped with a message where embedded PostgreSQL cannot start.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startBroker, uniqueName } from '../../src/testing/index.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { kafkajsClient } from '../helpers/clients.ts'
import { freshDatabase, hasPostgres, POSTGRES_MISSING } from '../helpers/postgres.ts'
import { startTcpProxy } from '../helpers/tcp-proxy.ts'

const skip = (await hasPostgres()) ? false : POSTGRES_MISSING

test('a database lost for 2 s: nothing acknowledged lost or doubled', { skip }, () => outage(2000, 'now'))

test(
  'a database lost for longer than the engine retries (8 s): nothing acknowledged lost or doubled',
  {
    skip,
    timeout: 120_000,
  },
  () => outage(8000, 'after-commit'),
)

/**
 * Idempotent acks=all produce to two partitions from three producers, with the link cut for
 * `outageMs`: `now`, wherever the commits are, or `after-commit`, right after a commit reached
 * PostgreSQL and committed there, its answer lost: the engine cannot know it landed.
 */
async function outage(outageMs: number, when: 'now' | 'after-commit'): Promise<void> {
  const direct = new URL(await freshDatabase())
  const proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port) })
  const viaProxy = new URL(direct)
  viaProxy.port = String(proxy.port)
  const broker = await startBroker({ storage: viaProxy.toString() as `postgres://${string}` })
  const topic = uniqueName('outage')
  try {
    await broker.createTopic({ name: topic, partitions: 2 })
    // Retries that outlast the outage: 40 of at most 1 s each.
    const kafka = kafkajsClient(broker.bootstrap, { retry: { retries: 40, initialRetryTime: 100, maxRetryTime: 1000 } })
    const acked = new Map<string, string>()
    let failures = 0
    let stop = false
    const producers = await Promise.all(
      [0, 1, 2].map(async (n) => {
        const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
        await p.connect()
        return { p, n }
      }),
    )
    const loops = producers.map(async ({ p, n }) => {
      for (let i = 0; !stop; i++) {
        const value = `p${n}-${i}`
        try {
          const [res] = await p.send({ topic, acks: -1, messages: [{ partition: i % 2, value }] })
          if (res?.errorCode === 0) acked.set(value, `${res.partition}:${res.baseOffset}`)
        } catch {
          failures++
        }
      }
    })
    await waitUntil('records acknowledged before the outage', () => acked.size >= 30, { timeoutMs: 20_000 })
    if (when === 'now') proxy.cut()
    else await proxy.intercept('samsa-commit', 'lose-reply', { cut: true }).caught
    const beforeOutage = acked.size
    await new Promise((resolve) => setTimeout(resolve, outageMs))
    const duringOutage = acked.size - beforeOutage
    proxy.restore()
    await waitUntil('records acknowledged after the outage', () => acked.size >= beforeOutage + duringOutage + 30, {
      timeoutMs: 30_000,
    })
    stop = true
    await Promise.all(loops)
    await Promise.all(producers.map(({ p }) => p.disconnect()))
    assert.ok(proxy.dropped > 0, 'the outage dropped the engine’s connections')
    assert.equal(
      duringOutage <= 3,
      true,
      `at most the commits in flight when the link went down were acknowledged: ${duringOutage}`,
    )
    assert.equal(failures, 0, 'kafkajs retried through the outage: every send ended acknowledged')

    const read = await broker.records(topic, { partition: 0 })
    const read1 = await broker.records(topic, { partition: 1 })
    const stored = new Map<string, string>()
    for (const r of [...read, ...read1]) {
      const value = String(r.value)
      assert.equal(stored.has(value), false, `${value} stored twice`)
      stored.set(value, `${r.partition}:${r.offset}`)
    }
    for (const [value, at] of acked) assert.equal(stored.get(value), at, `acknowledged ${value} at ${at}`)
  } finally {
    await broker.close()
    await proxy.close()
  }
}
