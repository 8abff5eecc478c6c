/** `samsa cluster info`: cluster id, controller, brokers and the API versions they support. */
import type { Command } from 'commander'
import { type CommonFlags, EXIT_CODES_HELP, printJson, withAdmin, withCommonFlags } from '../common.ts'
import { printTable } from '../output/table.ts'

/** Registers the cluster command group. */
export function registerClusterCommand(program: Command): void {
  const cluster = program.command('cluster').description('information about the cluster')

  withCommonFlags(cluster.command('info').description('cluster id, controller, brokers and supported API versions'), {
    json: true,
  })
    .option('--no-apis', 'leave out the API version table')
    .addHelpText(
      'after',
      `\nExamples:\n  samsa cluster info\n  samsa cluster info --json | jq .clusterId\n${EXIT_CODES_HELP}`,
    )
    .action(async (flags: CommonFlags & { apis: boolean }) => {
      await withAdmin(flags, async (admin) => {
        const desc = await admin.describeCluster()
        const apis = flags.apis ? await admin.apiVersions() : []
        if (flags.json) {
          printJson({
            clusterId: desc.clusterId,
            controllerId: desc.controllerId,
            brokers: desc.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack })),
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
          ['BROKER', 'HOST', 'PORT', 'RACK'],
          desc.brokers.map((b) => [`${b.nodeId}${b.nodeId === desc.controllerId ? '*' : ''}`, b.host, b.port, b.rack]),
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
}
