/**
 * The broker-side task assignor of streams groups ("sticky", KIP-1071), after Kafka's
 * StickyTaskAssignor: a task is one partition of a subtopology; active tasks of stateful
 * subtopologies are placed first, then the stateless ones, each kept by the member that had it
 * (else a member of the process that held it as a standby or warm-up) while that member is under
 * its share, the rest going to the least loaded process (load: tasks per member of the process)
 * and its least loaded member. Then each stateful task gets streams.num.standby.replicas standby
 * replicas on processes other than the one running it and other than each other, previous
 * holders first. It plans no warm-up tasks: Kafka hands those to members that heartbeat with
 * version 1 or newer, from the task lags they report, and samsa does not use those lags yet;
 * warm-ups a member reports are reconciled like its other tasks.
 */
import type { TopicAssignment } from '../group/assignors.ts'

/** The assignor's name, as StreamsGroupDescribe v1 reports it (Kafka's group.streams.assignors default). */
export const STREAMS_ASSIGNOR = 'sticky'

/** Tasks by subtopology id: the same shape as a topic assignment. */
export type Tasks = TopicAssignment

export interface TaskRoles {
  active: Tasks
  standby: Tasks
  warmup: Tasks
}

export function emptyRoles(): TaskRoles {
  return { active: new Map(), standby: new Map(), warmup: new Map() }
}

export interface AssignorMember {
  memberId: string
  processId: string
  /** What it owns or was last given. */
  previous: TaskRoles
}

export interface AssignorSubtopology {
  subtopologyId: string
  numTasks: number
  stateful: boolean
}

interface Load {
  active: number
  total: number
}

const key = (s: string, p: number) => `${s}\u0000${p}`

/** Assigns every task of the subtopologies to the members; every member gets an entry. */
export function assignTasks(
  members: AssignorMember[],
  subtopologies: AssignorSubtopology[],
  numStandbyReplicas: number,
): Map<string, TaskRoles> {
  const out = new Map(members.map((m) => [m.memberId, emptyRoles()]))
  if (members.length === 0) return out
  const load = new Map(members.map((m) => [m.memberId, { active: 0, total: 0 } as Load]))
  const processOf = new Map(members.map((m) => [m.memberId, m.processId]))
  const processes = new Map<string, string[]>()
  for (const m of members) processes.set(m.processId, [...(processes.get(m.processId) ?? []), m.memberId])
  const prevActive = new Map<string, string>()
  const prevStandby = new Map<string, string[]>()
  for (const m of [...members].sort((a, b) => (a.memberId < b.memberId ? -1 : 1))) {
    for (const [s, ps] of m.previous.active) for (const p of ps) prevActive.set(key(s, p), m.memberId)
    for (const role of [m.previous.standby, m.previous.warmup]) {
      for (const [s, ps] of role)
        for (const p of ps) prevStandby.set(key(s, p), [...(prevStandby.get(key(s, p)) ?? []), m.memberId])
    }
  }
  const give = (role: keyof TaskRoles, memberId: string, s: string, p: number) => {
    const tasks = (out.get(memberId) as TaskRoles)[role]
    tasks.set(s, [...(tasks.get(s) ?? []), p])
    const l = load.get(memberId) as Load
    l.total++
    if (role === 'active') l.active++
  }
  const processLoad = (pid: string, field: keyof Load) => {
    const ids = processes.get(pid) ?? []
    return ids.reduce((n, id) => n + (load.get(id) as Load)[field], 0) / ids.length
  }
  const leastLoaded = (ids: string[], field: keyof Load): string =>
    ids.reduce((best, id) => ((load.get(id) as Load)[field] < (load.get(best) as Load)[field] ? id : best))

  // Active tasks, stateful ones first (a member's share of them), then the stateless ones filling
  // each member up to its share of all active tasks, as Kafka balances them.
  const totalActive = subtopologies.reduce((n, s) => n + s.numTasks, 0)
  for (const stateful of [true, false]) {
    const tasks = subtopologies
      .filter((s) => s.stateful === stateful)
      .flatMap((s) => Array.from({ length: s.numTasks }, (_, p) => [s.subtopologyId, p] as const))
    const share = Math.ceil((stateful ? tasks.length : totalActive) / members.length)
    const under = (id: string) => (load.get(id) as Load).active < share
    const rest: (readonly [string, number])[] = []
    for (const [s, p] of tasks) {
      const prev = prevActive.get(key(s, p))
      const standby = prevStandby.get(key(s, p))?.find((id) => out.has(id) && under(id))
      const holder = prev !== undefined && out.has(prev) && under(prev) ? prev : standby
      if (holder !== undefined) give('active', holder, s, p)
      else rest.push([s, p])
    }
    for (const [s, p] of rest) {
      const pid = [...processes.keys()].reduce((best, pid) =>
        processLoad(pid, 'active') < processLoad(best, 'active') ? pid : best,
      )
      give('active', leastLoaded(processes.get(pid) as string[], 'active'), s, p)
    }
  }

  if (numStandbyReplicas <= 0) return out
  const activeProcess = new Map<string, string>()
  for (const [id, roles] of out)
    for (const [s, ps] of roles.active) for (const p of ps) activeProcess.set(key(s, p), processOf.get(id) as string)
  for (const s of subtopologies.filter((x) => x.stateful)) {
    for (let p = 0; p < s.numTasks; p++) {
      const taken = new Set([activeProcess.get(key(s.subtopologyId, p))])
      for (let r = 0; r < numStandbyReplicas; r++) {
        const prev = prevStandby
          .get(key(s.subtopologyId, p))
          ?.find((id) => out.has(id) && !taken.has(processOf.get(id)))
        const candidates = [...processes.keys()].filter((pid) => !taken.has(pid))
        if (prev === undefined && candidates.length === 0) break // fewer processes than replicas: as Kafka, fewer standbys
        const memberId =
          prev ??
          leastLoaded(
            processes.get(
              candidates.reduce((best, pid) => (processLoad(pid, 'total') < processLoad(best, 'total') ? pid : best)),
            ) as string[],
            'total',
          )
        taken.add(processOf.get(memberId))
        give('standby', memberId, s.subtopologyId, p)
      }
    }
  }
  return out
}
