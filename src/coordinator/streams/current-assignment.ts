/**
 * How a streams group member moves towards its target tasks, as Kafka's streams
 * CurrentAssignmentBuilder decides it (the KIP-848 reconciliation with three kinds of tasks):
 * tasks it holds outside its target are revoked first, the member keeping its epoch until a
 * heartbeat shows it owns none of them; then it takes the group's assignment epoch and the target
 * tasks that are free. An active task is not free while another member runs it or a member of the
 * same process holds it as a standby or warm-up; a standby or warm-up task not while the member's
 * process holds it in any role.
 */
import { addToAssignment, assignmentEntries, assignmentHas, isEmptyAssignment } from '../group/assignment-maps.ts'
import { emptyRoles, type TaskRoles } from './task-assignor.ts'

export const ROLES = ['active', 'standby', 'warmup'] as const

/** What reconciliation reads and moves of a member. */
export interface ReconciledMember {
  processId: string
  memberEpoch: number
  previousMemberEpoch: number
  /** stable, waiting to revoke tasks, or waiting for tasks others still hold. */
  state: 'stable' | 'unrevoked' | 'unreleased'
  assigned: TaskRoles
  pendingRevocation: TaskRoles
}

/** What a step did to the revocation: the member now has tasks to revoke, or has revoked them. */
export interface ReconcileStep {
  revoking: boolean
  revoked: boolean
}

/** Whether `owned` holds any task of `tasks`, in the same role. */
function ownsAny(owned: TaskRoles, tasks: TaskRoles): boolean {
  return ROLES.some((role) => [...assignmentEntries(tasks[role])].some(([s, p]) => assignmentHas(owned[role], s, p)))
}

/**
 * One reconciliation step of member `m` on a heartbeat reporting `owned` (null: unchanged),
 * towards `target` at `assignmentEpoch`, `others` being the group's other members.
 */
export function reconcileTasks(
  m: ReconciledMember,
  target: TaskRoles,
  others: Iterable<ReconciledMember>,
  owned: TaskRoles | null,
  assignmentEpoch: number,
): ReconcileStep {
  let revoked = false
  if (m.state === 'unrevoked') {
    if (owned === null || ownsAny(owned, m.pendingRevocation)) return { revoking: false, revoked }
    m.pendingRevocation = emptyRoles()
    m.state = 'stable'
    revoked = true
  }
  if (m.state === 'stable' && m.memberEpoch === assignmentEpoch) return { revoking: false, revoked }
  const keep = emptyRoles()
  const revoke = emptyRoles()
  const add = emptyRoles()
  const held = heldBy(others)
  let unreleased = false
  for (const role of ROLES) {
    for (const [s, p] of assignmentEntries(m.assigned[role])) {
      addToAssignment(assignmentHas(target[role], s, p) ? keep[role] : revoke[role], s, p)
    }
    for (const [s, p] of assignmentEntries(target[role])) {
      if (assignmentHas(keep[role], s, p)) continue
      const k = `${s}:${p}`
      const sameProcessHolds = held.passive.get(k)?.has(m.processId) ?? false
      const busy =
        role === 'active'
          ? held.active.has(k) || sameProcessHolds
          : held.active.get(k) === m.processId || sameProcessHolds
      if (busy) unreleased = true
      else addToAssignment(add[role], s, p)
    }
  }
  if (ROLES.some((r) => !isEmptyAssignment(revoke[r])) && (owned === null || ownsAny(owned, revoke))) {
    m.assigned = keep
    m.pendingRevocation = revoke
    m.state = 'unrevoked'
    return { revoking: true, revoked }
  }
  for (const role of ROLES) for (const [s, p] of assignmentEntries(add[role])) addToAssignment(keep[role], s, p)
  m.assigned = keep
  m.pendingRevocation = emptyRoles()
  if (m.memberEpoch !== assignmentEpoch) {
    m.previousMemberEpoch = m.memberEpoch
    m.memberEpoch = assignmentEpoch
  }
  m.state = unreleased ? 'unreleased' : 'stable'
  return { revoking: false, revoked }
}

/**
 * What members hold, assigned or pending revocation: the process running each active task, and
 * the processes holding each task as a standby or warm-up.
 */
function heldBy(members: Iterable<ReconciledMember>): {
  active: Map<string, string>
  passive: Map<string, Set<string>>
} {
  const active = new Map<string, string>()
  const passive = new Map<string, Set<string>>()
  for (const o of members) {
    for (const roles of [o.assigned, o.pendingRevocation]) {
      for (const [s, p] of assignmentEntries(roles.active)) active.set(`${s}:${p}`, o.processId)
      for (const tasks of [roles.standby, roles.warmup]) {
        for (const [s, p] of assignmentEntries(tasks)) {
          const k = `${s}:${p}`
          passive.set(k, (passive.get(k) ?? new Set()).add(o.processId))
        }
      }
    }
  }
  return { active, passive }
}
