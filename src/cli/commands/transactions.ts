/**
 * `samsa transactions list|describe|abort`: transactional ids and their open transactions, as
 * kafka-transactions.sh list and describe; abort (transactions-abort.ts) ends a hanging one in a
 * partition with WriteTxnMarkers at its leader.
 */
import type { Command } from 'commander'
import type { Admin } from '../../client/admin.ts'
import { KafkaError } from '../../client/errors.ts'
import {
  createDescribeTransactionsRequest,
  type DescribeTransactionsResponse,
} from '../../protocol/generated/describe-transactions.ts'
import { ApiKey } from '../../protocol/generated/index.ts'
import {
  createListTransactionsRequest,
  type ListTransactionsResponse,
} from '../../protocol/generated/list-transactions.ts'
import {
  type CommonFlags,
  collect,
  EXIT_CODES_HELP,
  info,
  parseCountArg,
  printJson,
  printJsonLines,
  UsageError,
  withAdmin,
  withCommonFlags,
} from '../common.ts'
import { printTable } from '../output/table.ts'
import { brokerIds, sendNewest } from '../requests.ts'
import { registerAbort } from './transactions-abort.ts'

/** FindCoordinator key type of transactional ids. */
const TRANSACTION_KEY = 1

interface ListFlags extends CommonFlags {
  state: string[]
  producerId: string[]
  duration?: number
}

/** One transactional id of `transactions list`. */
interface ListedTransaction {
  transactionalId: string
  coordinator: number
  producerId: bigint
  state: string
}

function registerList(transactions: Command): void {
  withCommonFlags(transactions.command('list').description('transactional ids of every broker, with their state'), {
    json: true,
  })
    .option('--state <state>', 'only ids in this state, e.g. Ongoing (repeatable)', collect, [])
    .option('--producer-id <id>', 'only this producer id (repeatable)', collect, [])
    .option('--duration <ms>', 'only transactions running for at least ms milliseconds', parseCountArg)
    .addHelpText(
      'after',
      `
States: Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort,
PrepareEpochFence, Dead.

Examples:
  samsa transactions list
  samsa transactions list --state Ongoing --duration 60000     # running for a minute or more
${EXIT_CODES_HELP}`,
    )
    .action(async (flags: ListFlags) => {
      const producerIdFilters = flags.producerId.map((id) => {
        if (!/^\d+$/.test(id)) throw new UsageError(`invalid --producer-id "${id}" (a number)`)
        return BigInt(id)
      })
      await withAdmin(flags, async (admin) => {
        const listed: ListedTransaction[] = []
        for (const coordinator of await brokerIds(admin.cluster)) {
          const conn = await admin.cluster.connection(coordinator)
          const min = flags.duration === undefined ? 0 : 1
          const res = await sendNewest<ListTransactionsResponse>(conn, ApiKey.ListTransactions, { min, max: 1 }, () =>
            createListTransactionsRequest({
              stateFilters: flags.state,
              producerIdFilters,
              durationFilter: BigInt(flags.duration ?? -1),
            }),
          )
          if (res.unknownStateFilters.length > 0) {
            throw new UsageError(`unknown --state ${res.unknownStateFilters.join(', ')} (see the states in --help)`)
          }
          if (res.errorCode !== 0) throw new KafkaError(res.errorCode, null, `broker ${coordinator}`)
          for (const t of res.transactionStates) {
            listed.push({
              transactionalId: t.transactionalId,
              coordinator,
              producerId: t.producerId,
              state: t.transactionState,
            })
          }
        }
        listed.sort((a, b) => a.transactionalId.localeCompare(b.transactionalId))
        if (flags.json) printJson(listed)
        else if (listed.length === 0) info('no transactional ids')
        else
          printTable(
            ['TRANSACTIONAL-ID', 'COORDINATOR', 'PRODUCER-ID', 'STATE'],
            listed.map((t) => [t.transactionalId, t.coordinator, t.producerId, t.state]),
          )
      })
    })
}

/** One described transactional id, as --json prints it. */
interface DescribedTransaction {
  transactionalId: string
  coordinator: number
  state: string
  producerId: bigint
  producerEpoch: number
  timeoutMs: number
  /** When the open transaction started (ms since the epoch), null when none is open. */
  startTimeMs: bigint | null
  /** How long the open transaction has run, null when none is open. */
  durationMs: bigint | null
  partitions: { topic: string; partitions: number[] }[]
}

async function describeOne(admin: Admin, id: string): Promise<DescribedTransaction> {
  const coordinator = await admin.cluster.coordinator(id, TRANSACTION_KEY)
  const conn = await admin.cluster.connection(coordinator)
  const res = await sendNewest<DescribeTransactionsResponse>(
    conn,
    ApiKey.DescribeTransactions,
    { min: 0, max: 0 },
    () => createDescribeTransactionsRequest({ transactionalIds: [id] }),
  )
  const t = res.transactionStates[0]
  if (!t) throw new Error(`DescribeTransactions returned nothing for ${id}`)
  if (t.errorCode !== 0) throw new KafkaError(t.errorCode, null, id)
  const started = t.transactionStartTimeMs >= 0n ? t.transactionStartTimeMs : null
  return {
    transactionalId: t.transactionalId,
    coordinator,
    state: t.transactionState,
    producerId: t.producerId,
    producerEpoch: t.producerEpoch,
    timeoutMs: t.transactionTimeoutMs,
    startTimeMs: started,
    durationMs: started === null ? null : BigInt(Date.now()) - started,
    partitions: t.topics
      .map((p) => ({ topic: p.topic, partitions: [...p.partitions].sort((a, b) => a - b) }))
      .sort((a, b) => a.topic.localeCompare(b.topic)),
  }
}

function registerDescribe(transactions: Command): void {
  withCommonFlags(
    transactions
      .command('describe')
      .description('state, producer, timeout and partitions of transactional ids, from their coordinators')
      .argument('<transactional-ids...>'),
    { json: true },
  )
    .addHelpText(
      'after',
      `
Examples:
  samsa transactions describe payments-tx
  samsa transactions describe payments-tx --json | jq .partitions
${EXIT_CODES_HELP}`,
    )
    .action(async (ids: string[], flags: CommonFlags) => {
      await withAdmin(flags, async (admin) => {
        const described: DescribedTransaction[] = []
        for (const id of ids) described.push(await describeOne(admin, id))
        if (flags.json) {
          printJsonLines(described)
          return
        }
        printTable(
          [
            'TRANSACTIONAL-ID',
            'COORDINATOR',
            'PRODUCER-ID',
            'EPOCH',
            'STATE',
            'TIMEOUT-MS',
            'DURATION-MS',
            'PARTITIONS',
          ],
          described.map((t) => [
            t.transactionalId,
            t.coordinator,
            t.producerId,
            t.producerEpoch,
            t.state,
            t.timeoutMs,
            t.durationMs,
            t.partitions.map((p) => `${p.topic}:${p.partitions.join(',')}`).join(' ') || null,
          ]),
        )
      })
    })
}

/** Registers the transactions command group. */
export function registerTransactionsCommand(program: Command): void {
  const transactions = program
    .command('transactions')
    .description('list and describe transactional ids, abort hanging transactions')
  registerList(transactions)
  registerDescribe(transactions)
  registerAbort(transactions)
}
