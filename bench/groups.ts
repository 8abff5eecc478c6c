/**
 * Consumer-group rebalance time (issue 5): a group of 10 members on a 20-partition topic, then an
 * 11th member joins and later leaves again, GROUP_ROUNDS times per protocol. Measured from the join
 * (or leave) call until the broker's group is Stable with every member, the 20 partitions are all
 * assigned exactly once, and every client holds the assignment the broker has for it.
 *
 * Classic protocol with kafkajs, KIP-848 (ConsumerGroupHeartbeat) with @platformatic/kafka. The
 * broker is samsa/testing's in-process startBroker(), so broker and clients share this process
 * (and its event loop): the figures include the clients' own CPU time, not only the broker's.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Consumer as KafkajsConsumer } from 'kafkajs'
import { startBroker, type TestBroker } from '../src/testing/index.ts'
import { kafkajsClient, platformatic } from '../test/helpers/clients.ts'
import { fmt, msBetween, now, percentile, sleep, sorted, table } from './util.ts'

export const GROUP_MEMBERS = 10
export const GROUP_PARTITIONS = 20
export const GROUP_ROUNDS = 10
/** kafkajs: heartbeat.interval; classic rebalances reach the members through heartbeats. */
export const CLASSIC_HEARTBEAT_MS = 100
/** kafkajs: session timeout (the broker's group.min.session.timeout.ms is 6000). */
export const CLASSIC_SESSION_MS = 6000
export const CLASSIC_REBALANCE_TIMEOUT_MS = 10_000
/** kafkajs heartbeats between fetches, so a long poll would delay them: keep it as short as a heartbeat. */
export const CLASSIC_MAX_WAIT_MS = 100
/** Broker: group.consumer.heartbeat.interval.ms, the interval KIP-848 members are told to use. */
export const KIP848_HEARTBEAT_MS = 100
const WAIT_TIMEOUT_MS = 20_000

type Assignment = Record<string, number[]>

/** One group member, whatever the client. */
interface Member {
  /** The member id the client has from the coordinator, if any yet. */
  memberId(): string | undefined
  /** The partitions the client currently holds. */
  assignment(): Assignment
  /** When the client last completed a join (classic: JoinGroup + SyncGroup); 0n if never. */
  joinedAt(): bigint
  close(): Promise<void>
}

interface Protocol {
  label: string
  /** Classic members must all rejoin on every rebalance (eager); KIP-848 members reconcile in place. */
  eager: boolean
  start(index: number): Promise<Member>
  /** Client errors seen while running (a crashed consumer would skew the figures). */
  errors: Error[]
}

interface Timing {
  /** Until the broker's group is Stable with the right members and a full assignment. */
  brokerMs: number
  /** Until, besides, every client holds the assignment the broker has for it. */
  clientsMs: number
  /** Until the broker's group first differs from what it was at the call (the request reached it). */
  seenMs: number
}

export interface GroupRun {
  label: string
  settings: string
  heartbeatMs: number
  /** Until the first 10 members are Stable, from the first start call. */
  formMs: number
  join: Timing[]
  leave: Timing[]
}

function samePartitions(a: Assignment, b: Assignment): boolean {
  const norm = (x: Assignment): string =>
    JSON.stringify(
      Object.entries(x)
        .filter(([, ps]) => ps.length > 0)
        .map(([t, ps]) => [t, [...ps].sort((p, q) => p - q)])
        .sort(([t], [u]) => ((t as string) < (u as string) ? -1 : 1)),
    )
  return norm(a) === norm(b)
}

/** Whether the broker's group is Stable with exactly `members`, each partition of `topic` owned once. */
function brokerStable(broker: TestBroker, groupId: string, topic: string, members: Member[]): boolean {
  const g = broker.group(groupId)
  if (g === undefined || g.state !== 'Stable' || g.members.length !== members.length) return false
  const owned = g.members.flatMap((m) => m.assignment[topic] ?? [])
  if (owned.length !== GROUP_PARTITIONS || new Set(owned).size !== GROUP_PARTITIONS) return false
  const ids = new Set(g.members.map((m) => m.memberId))
  return members.every((m) => ids.has(m.memberId() ?? ''))
}

/** Whether every client holds what the broker assigned it (and, for eager protocols, rejoined after `since`). */
function clientsAssigned(
  broker: TestBroker,
  groupId: string,
  members: Member[],
  since: bigint,
  eager: boolean,
): boolean {
  const g = broker.group(groupId)
  if (g === undefined) return false
  const byId = new Map(g.members.map((m) => [m.memberId, m.assignment]))
  return members.every((m) => {
    const want = byId.get(m.memberId() ?? '')
    return want !== undefined && (!eager || m.joinedAt() >= since) && samePartitions(m.assignment(), want)
  })
}

/**
 * Polls (every millisecond) from `t0` until the group settles; times in ms from t0. `seen` is the
 * watch started at t0, before the join or leave call.
 */
async function settle(
  broker: TestBroker,
  groupId: string,
  topic: string,
  members: Member[],
  t0: bigint,
  eager: boolean,
  seen: Watch,
): Promise<Timing> {
  let brokerMs = Number.NaN
  for (;;) {
    const elapsed = msBetween(t0, now())
    if (Number.isNaN(brokerMs) && brokerStable(broker, groupId, topic, members)) brokerMs = elapsed
    if (!Number.isNaN(brokerMs)) {
      // Re-check the broker too: a late heartbeat may have started another rebalance.
      if (!brokerStable(broker, groupId, topic, members)) brokerMs = Number.NaN
      else if (clientsAssigned(broker, groupId, members, t0, eager)) {
        return { brokerMs, clientsMs: elapsed, seenMs: await seen.stop() }
      }
    }
    if (elapsed > WAIT_TIMEOUT_MS) {
      await seen.stop()
      const g = broker.group(groupId)
      throw new Error(
        `group ${groupId} did not settle with ${members.length} members in ${WAIT_TIMEOUT_MS} ms: ` +
          `${g?.state} with ${g?.members.length} member(s), generation ${g?.generation}`,
      )
    }
    await sleep(1)
  }
}

interface Watch {
  /** Stops watching; resolves when the group first changed (ms from t0), NaN if it did not. */
  stop(): Promise<number>
  /** Every change seen: "ms state/generation/members" (printed with BENCH_GROUPS_DEBUG=1). */
  trace: string[]
}

/** Watches the group's state, generation (group epoch) and member count every millisecond from t0. */
function watch(broker: TestBroker, groupId: string, t0: bigint): Watch {
  const shape = (): string => {
    const g = broker.group(groupId)
    return `${g?.state}/${g?.generation}/${g?.members.length}`
  }
  let last = shape()
  let seenMs = Number.NaN
  let stopped = false
  const trace: string[] = [`0 ${last}`]
  const loop = (async () => {
    while (!stopped) {
      const current = shape()
      if (current !== last) {
        const at = msBetween(t0, now())
        if (Number.isNaN(seenMs)) seenMs = at
        trace.push(`${fmt(at, 1)} ${current}`)
        last = current
      }
      await sleep(1)
    }
  })()
  return {
    trace,
    async stop() {
      stopped = true
      await loop
      const current = shape()
      if (current !== last) trace.push(`${fmt(msBetween(t0, now()), 1)} ${current}`)
      return seenMs
    },
  }
}

function kafkajsProtocol(broker: TestBroker, groupId: string, topic: string): Protocol {
  const kafka = kafkajsClient(broker.bootstrap, { clientId: 'bench-groups' })
  const errors: Error[] = []
  return {
    label: 'classic, kafkajs',
    eager: true,
    errors,
    async start(): Promise<Member> {
      const consumer: KafkajsConsumer = kafka.consumer({
        groupId,
        sessionTimeout: CLASSIC_SESSION_MS,
        rebalanceTimeout: CLASSIC_REBALANCE_TIMEOUT_MS,
        heartbeatInterval: CLASSIC_HEARTBEAT_MS,
        maxWaitTimeInMs: CLASSIC_MAX_WAIT_MS,
      })
      let memberId: string | undefined
      let assignment: Assignment = {}
      let joinedAt = 0n
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        memberId = e.payload.memberId
        assignment = e.payload.memberAssignment as Assignment
        joinedAt = now()
      })
      consumer.on(consumer.events.CRASH, (e) => errors.push(e.payload.error))
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: true })
      await consumer.run({ eachMessage: async () => {} })
      return {
        memberId: () => memberId,
        assignment: () => assignment,
        joinedAt: () => joinedAt,
        close: () => consumer.disconnect(),
      }
    },
  }
}

async function platformaticProtocol(broker: TestBroker, groupId: string, topic: string): Promise<Protocol> {
  const pk = await platformatic()
  const errors: Error[] = []
  return {
    label: 'KIP-848, @platformatic/kafka',
    eager: false,
    errors,
    async start(index: number): Promise<Member> {
      const consumer = new pk.Consumer({
        clientId: `bench-groups-${index}`,
        bootstrapBrokers: broker.brokers,
        groupId,
        groupProtocol: 'consumer',
        groupRemoteAssignor: 'uniform',
        maxWaitTime: 100,
      } as ConstructorParameters<typeof pk.Consumer>[0])
      const stream = await consumer.consume({ topics: [topic], mode: 'latest' })
      let closing = false
      stream.on('data', () => {})
      stream.on('error', (err: Error) => {
        if (!closing) errors.push(err)
      })
      return {
        memberId: () => consumer.memberId ?? undefined,
        assignment: () => {
          const out: Assignment = {}
          for (const a of consumer.assignments ?? []) out[a.topic] = [...a.partitions]
          return out
        },
        joinedAt: () => 0n,
        close: async () => {
          closing = true
          await stream.close()
          await new Promise<void>((resolve, reject) => {
            consumer.close(true, (err) => (err ? reject(err) : resolve()))
          })
        },
      }
    },
  }
}

function debug(what: string, timings: Timing[], w: Watch): void {
  if (!process.env.BENCH_GROUPS_DEBUG) return
  const t = timings.at(-1)
  console.log(
    `${what}: seen ${ms(t?.seenMs ?? Number.NaN)}, broker ${ms(t?.brokerMs ?? Number.NaN)}, ` +
      `clients ${ms(t?.clientsMs ?? Number.NaN)} ms; ${w.trace.join(' → ')}`,
  )
}

async function runProtocol(
  make: (broker: TestBroker, groupId: string, topic: string) => Protocol | Promise<Protocol>,
  settings: string,
  heartbeatMs: number,
): Promise<GroupRun> {
  const topic = 'bench-groups'
  const groupId = 'bench-groups-group'
  const broker = await startBroker({
    topics: [{ name: topic, partitions: GROUP_PARTITIONS }],
    config: { 'group.consumer.heartbeat.interval.ms': String(KIP848_HEARTBEAT_MS) },
  })
  const members: Member[] = []
  try {
    const protocol = await make(broker, groupId, topic)
    const formStart = now()
    for (let i = 0; i < GROUP_MEMBERS; i++) members.push(await protocol.start(i))
    await broker.waitForGroup(groupId, { state: 'Stable', members: GROUP_MEMBERS, timeoutMs: WAIT_TIMEOUT_MS })
    await settle(broker, groupId, topic, members, formStart, protocol.eager, watch(broker, groupId, formStart))
    const formMs = msBetween(formStart, now())
    const join: Timing[] = []
    const leave: Timing[] = []
    for (let round = 0; round < GROUP_ROUNDS; round++) {
      // Every member heartbeats right after a rebalance, so their heartbeat timers are in phase with
      // the end of the last one; a pause of a fixed length would always hit the same point of the
      // heartbeat cycle. Pauses of 200 ms plus a different fraction of the heartbeat interval each
      // round sample the whole cycle.
      const pause = (): Promise<void> => sleep(200 + ((round + 0.5) / GROUP_ROUNDS) * heartbeatMs)
      await pause()
      const t0 = now()
      const joinWatch = watch(broker, groupId, t0)
      const joiner = await protocol.start(GROUP_MEMBERS + round)
      members.push(joiner)
      join.push(await settle(broker, groupId, topic, members, t0, protocol.eager, joinWatch))
      debug(`join ${round}`, join, joinWatch)
      await pause()
      const t1 = now()
      const leaveWatch = watch(broker, groupId, t1)
      members.pop()
      await joiner.close()
      leave.push(await settle(broker, groupId, topic, members, t1, protocol.eager, leaveWatch))
      debug(`leave ${round}`, leave, leaveWatch)
    }
    if (protocol.errors.length > 0) throw new AggregateError(protocol.errors, `${protocol.label}: client errors`)
    return { label: protocol.label, settings, heartbeatMs, formMs, join, leave }
  } finally {
    await Promise.allSettled(members.map((m) => m.close()))
    await broker.close()
  }
}

const ms = (n: number): string => fmt(n, n < 10 ? 2 : 1)

function rows(run: GroupRun, what: string, timings: Timing[]): string[] {
  const seen = sorted(timings.map((t) => t.seenMs))
  const b = sorted(timings.map((t) => t.brokerMs))
  const c = sorted(timings.map((t) => t.clientsMs))
  const p50 = percentile(c, 50)
  return [
    `${run.label}: ${what}`,
    ms(percentile(seen, 50)),
    ms(percentile(b, 50)),
    ms(percentile(b, 100)),
    ms(p50),
    ms(percentile(c, 100)),
    fmt(run.heartbeatMs),
    `${fmt(p50 / run.heartbeatMs, 2)}×`,
  ]
}

/** Runs both protocols and prints the table. */
export async function benchGroups(): Promise<GroupRun[]> {
  const runs = [
    await runProtocol(
      kafkajsProtocol,
      `kafkajs ${versionOf('kafkajs', 0)}, heartbeatInterval ${CLASSIC_HEARTBEAT_MS} ms, sessionTimeout ` +
        `${CLASSIC_SESSION_MS} ms, rebalanceTimeout ${CLASSIC_REBALANCE_TIMEOUT_MS} ms, maxWaitTimeInMs ` +
        `${CLASSIC_MAX_WAIT_MS} ms, default (round robin) assigner`,
      CLASSIC_HEARTBEAT_MS,
    ),
    await runProtocol(
      platformaticProtocol,
      `@platformatic/kafka ${versionOf('@platformatic/kafka', 1)}, groupProtocol 'consumer', ` +
        `groupRemoteAssignor 'uniform', maxWaitTime 100 ms; broker group.consumer.heartbeat.interval.ms ` +
        `${KIP848_HEARTBEAT_MS} (default 5000)`,
      KIP848_HEARTBEAT_MS,
    ),
  ]
  console.log(
    `${GROUP_MEMBERS} members on a ${GROUP_PARTITIONS}-partition topic; ${GROUP_ROUNDS} rounds of: an 11th member ` +
      'joins (timed from before its connect/consume call), then leaves (timed from its disconnect/close call).\n' +
      '"at broker": the group changes on the broker; "broker Stable": Stable with every member and each partition ' +
      'owned once; "all members assigned": besides, every client holds the assignment the broker has for it ' +
      '(classic: every member rejoined and synced). Classic rebalances reach the other members through their ' +
      'heartbeats, so the heartbeat interval is set low; KIP-848 members learn of revocations and new partitions ' +
      'on their heartbeats too, at the interval the broker gives them.',
  )
  console.log(
    table([
      [
        'case',
        'at broker p50 ms',
        'broker Stable p50 ms',
        'max ms',
        'all members assigned p50 ms',
        'max ms',
        'heartbeat ms',
        'assigned p50 ÷ heartbeat',
      ],
      ...runs.flatMap((r) => [rows(r, 'member joins', r.join), rows(r, 'member leaves', r.leave)]),
    ]),
  )
  for (const r of runs) {
    console.log(
      `${r.label}: ${r.settings}. The first ${GROUP_MEMBERS} members, started one after another: ${ms(r.formMs)} ms to settle.`,
    )
  }
  return runs
}

/** The installed version of a package, read from its package.json next to its entry point. */
function versionOf(pkg: string, entryDepth: number): string {
  try {
    let dir = dirname(fileURLToPath(import.meta.resolve(pkg)))
    for (let i = 0; i < entryDepth; i++) dir = dirname(dir)
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version
  } catch {
    return '?'
  }
}
