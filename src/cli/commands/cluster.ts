/**
 * `samsa cluster info`: cluster id, controller, brokers with their lease (held, or lapsed: still
 * registered but out of the cluster), the partitions they lead and the groups they coordinate, and
 * the API versions they support. `samsa cluster unregister N` removes a crashed broker's
 * registration (kafka-cluster.sh unregister). `samsa cluster --brokers N` runs a
 * cluster on this machine (cluster-run.ts).
 */
import type { Command } from 'commander'
import type { Admin } from '../../client/admin.ts'
import {
  type CommonFlags,
  EXIT_CODES_HELP,
  info,
  parseIntArg,
  printJson,
  withAdmin,
  withCommonFlags,
} from '../common.ts'
import { printTable } from '../output/table.ts'
import { type ClusterRunFlags, runCluster } from './cluster-run.ts'

/** Registers the cluster command group. */
export function registerClusterCommand(program: Command): void {
  const cluster = program.command('cluster').description('run a cluster on this machine, or show the one you use')

  cluster
    .command('run', { isDefault: true })
    .description('an embedded PostgreSQL and N brokers over it, one process each (the default of samsa cluster)')
    .option('--brokers <n>', 'how many brokers', '3')
    .option('-p, --port <port>', 'port of broker 1; broker n listens on port + n - 1', '9092')
    .option('-d, --data-dir <dir>', 'where the PostgreSQL data and the brokers live', './data-cluster')
    .option(
      '-s, --set <name=value>',
      'a Kafka config for every broker (repeatable)',
      (v: string, p: string[]) => [...p, v],
      [],
    )
    .addHelpText(
      'after',
      `
Each broker is a \`samsa broker --storage postgres://... --set node.id=N\` process: kill one and
the others take over its partitions and groups once its lease lapses (broker.session.timeout.ms).

Examples:
  samsa cluster --brokers 3                    # brokers 1-3 on localhost:9092-9094
  samsa cluster --brokers 2 --port 19092 --set num.partitions=6
  samsa cluster info --bootstrap localhost:9092,localhost:9093`,
    )
    .action(async (flags: ClusterRunFlags) => {
      await runCluster(flags)
    })

  withCommonFlags(
    cluster
      .command('info')
      .description('cluster id, controller, brokers (lease, partitions led, groups) and supported API versions'),
    {
      json: true,
    },
  )
    .option('--no-apis', 'leave out the API version table')
    .addHelpText(
      'after',
      `\nExamples:\n  samsa cluster info\n  samsa cluster info --json | jq .clusterId\n${EXIT_CODES_HELP}`,
    )
    .action(async (flags: CommonFlags & { apis: boolean }) => {
      await withAdmin(flags, async (admin) => {
        const desc = await admin.describeCluster({ includeFenced: true })
        const apis = flags.apis ? await admin.apiVersions() : []
        const load = await brokerLoad(admin)
        const brokers = desc.brokers.map((b) => ({
          nodeId: b.nodeId,
          host: b.host,
          port: b.port,
          rack: b.rack,
          lease: b.fenced ? 'lapsed' : 'held',
          leaderOf: load.partitions.get(b.nodeId) ?? 0,
          coordinatorOf: load.groups.get(b.nodeId) ?? 0,
        }))
        if (flags.json) {
          printJson({
            clusterId: desc.clusterId,
            controllerId: desc.controllerId,
            brokers,
            apis: flags.apis
              ? apis.map((a) => ({
                  apiKey: a.apiKey,
                  name: a.name,
                  minVersion: a.minVersion,
                  maxVersion: a.maxVersion,
                  clientVersion: a.clientVersion,
                }))
              : undefined,
          })
          return
        }
        process.stdout.write(`Cluster id: ${desc.clusterId}\nController: ${desc.controllerId}\n\n`)
        printTable(
          ['BROKER', 'HOST', 'PORT', 'RACK', 'LEASE', 'LEADS', 'GROUPS'],
          brokers.map((b) => [
            `${b.nodeId}${b.nodeId === desc.controllerId ? '*' : ''}`,
            b.host,
            b.port,
            b.rack,
            b.lease,
            b.leaderOf,
            b.coordinatorOf,
          ]),
        )
        if (flags.apis) {
          process.stdout.write('\n')
          printTable(
            ['KEY', 'API', 'MIN', 'MAX', 'USED'],
            apis.map((a) => [a.apiKey, a.name, a.minVersion, a.maxVersion, a.clientVersion]),
          )
        }
      })
    })

  withCommonFlags(
    cluster
      .command('unregister')
      .description("remove a crashed broker's registration (its lease lapsed); live brokers are refused")
      .argument('<node-id>', 'the broker to remove', parseIntArg),
  )
    .addHelpText(
      'after',
      `\nExamples:\n  samsa cluster unregister 3 --bootstrap kafka-1.example.com:9092\n${EXIT_CODES_HELP}`,
    )
    .action(async (nodeId: number, flags: CommonFlags) => {
      await withAdmin(flags, async (admin) => {
        await admin.unregisterBroker(nodeId)
        info(`unregistered broker ${nodeId}`)
      })
    })
}

/** How many partitions each broker leads and how many groups it coordinates, by node id. */
async function brokerLoad(admin: Admin): Promise<{ partitions: Map<number, number>; groups: Map<number, number> }> {
  const partitions = new Map<number, number>()
  for (const t of await admin.listTopics({ internal: true })) {
    for (const p of t.partitions) partitions.set(p.leader, (partitions.get(p.leader) ?? 0) + 1)
  }
  const groups = new Map<number, number>()
  for (const g of await admin.listGroups()) {
    const id = await admin.cluster.coordinator(g.groupId)
    groups.set(id, (groups.get(id) ?? 0) + 1)
  }
  return { partitions, groups }
}
