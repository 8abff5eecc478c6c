/**
 * `samsa users scram set|delete|list`: SCRAM credentials of users (kafka-configs.sh --entity-type
 * users --alter --add-config 'SCRAM-SHA-256=[password=...]'), through AlterUserScramCredentials
 * and DescribeUserScramCredentials. The password is salted here and only the salted form is sent.
 */
import { randomBytes } from 'node:crypto'
import { type Command, InvalidArgumentError } from 'commander'
import { KafkaError } from '../../client/errors.ts'
import { saltedPassword } from '../../client/sasl-client.ts'
import {
  type AlterUserScramCredentialsResponse,
  createAlterUserScramCredentialsRequest,
} from '../../protocol/generated/alter-user-scram-credentials.ts'
import {
  createDescribeUserScramCredentialsRequest,
  type DescribeUserScramCredentialsResponse,
} from '../../protocol/generated/describe-user-scram-credentials.ts'
import { ApiKey } from '../../protocol/generated/index.ts'
import {
  type CommonFlags,
  EXIT_CODES_HELP,
  info,
  parsePositiveArg,
  printJson,
  UsageError,
  withAdmin,
  withCommonFlags,
} from '../common.ts'
import { printTable } from '../output/table.ts'
import { sendNewest } from '../requests.ts'

const MECHANISMS = { 'SCRAM-SHA-256': 1, 'SCRAM-SHA-512': 2 } as const
type Mechanism = keyof typeof MECHANISMS
const V0 = { min: 0, max: 0 }

function parseMechanism(value: string): Mechanism {
  const m = value.toUpperCase()
  if (!(m in MECHANISMS)) throw new InvalidArgumentError('must be SCRAM-SHA-256 or SCRAM-SHA-512.')
  return m as Mechanism
}

interface ScramFlags extends CommonFlags {
  mechanism: Mechanism
  password?: string
  iterations: number
}

/** Sends one AlterUserScramCredentials and throws the user's error, if any. */
async function alter(flags: CommonFlags, request: Parameters<typeof createAlterUserScramCredentialsRequest>[0]) {
  await withAdmin(flags, async (admin) => {
    const conn = await admin.cluster.anyConnection()
    const res = await sendNewest<AlterUserScramCredentialsResponse>(conn, ApiKey.AlterUserScramCredentials, V0, () =>
      createAlterUserScramCredentialsRequest(request),
    )
    for (const r of res.results) if (r.errorCode !== 0) throw new KafkaError(r.errorCode, r.errorMessage, r.user)
  })
}

/** Registers the users command group. */
export function registerUsersCommand(program: Command): void {
  const users = program.command('users').description('users of SASL authentication')
  const scram = users.command('scram').description('SCRAM-SHA-256 and SCRAM-SHA-512 credentials')

  withCommonFlags(
    scram
      .command('set')
      .description('create or replace the SCRAM credential of a user for one mechanism')
      .argument('<user>'),
  )
    .requiredOption('-m, --mechanism <name>', 'SCRAM-SHA-256 or SCRAM-SHA-512', parseMechanism)
    .option('--password <password>', 'the password (default: read from env SAMSA_SCRAM_PASSWORD)')
    .option('--iterations <n>', 'PBKDF2 iterations, 4096-16384 as Kafka allows', parsePositiveArg, 8192)
    .addHelpText(
      'after',
      `
The password is salted on this machine; the broker stores the salted keys, never the password.

Examples:
  samsa users scram set alice --mechanism SCRAM-SHA-512 --password alice-secret
  SAMSA_SCRAM_PASSWORD=alice-secret samsa users scram set alice -m SCRAM-SHA-256
${EXIT_CODES_HELP}`,
    )
    .action(async (user: string, flags: ScramFlags) => {
      const password = flags.password ?? process.env.SAMSA_SCRAM_PASSWORD
      if (!password) throw new UsageError('give the password with --password or env SAMSA_SCRAM_PASSWORD')
      const salt = randomBytes(32)
      await alter(flags, {
        upsertions: [
          {
            name: user,
            mechanism: MECHANISMS[flags.mechanism],
            iterations: flags.iterations,
            salt,
            saltedPassword: saltedPassword(flags.mechanism, password, salt, flags.iterations),
          },
        ],
      })
      info(`set ${flags.mechanism} credential of ${user}`)
    })

  withCommonFlags(
    scram.command('delete').description('delete the SCRAM credential of a user for one mechanism').argument('<user>'),
  )
    .requiredOption('-m, --mechanism <name>', 'SCRAM-SHA-256 or SCRAM-SHA-512', parseMechanism)
    .addHelpText(
      'after',
      `
Example:
  samsa users scram delete alice --mechanism SCRAM-SHA-512
${EXIT_CODES_HELP}`,
    )
    .action(async (user: string, flags: ScramFlags) => {
      await alter(flags, { deletions: [{ name: user, mechanism: MECHANISMS[flags.mechanism] }] })
      info(`deleted ${flags.mechanism} credential of ${user}`)
    })

  withCommonFlags(
    scram
      .command('list')
      .description('users with SCRAM credentials, their mechanisms and iterations')
      .argument('[users...]', 'only these users (default: every user)'),
    { json: true },
  )
    .addHelpText(
      'after',
      `
Examples:
  samsa users scram list
  samsa users scram list alice --json
${EXIT_CODES_HELP}`,
    )
    .action(async (names: string[], flags: CommonFlags) => {
      const rows = await withAdmin(flags, async (admin) => {
        const conn = await admin.cluster.anyConnection()
        const res = await sendNewest<DescribeUserScramCredentialsResponse>(
          conn,
          ApiKey.DescribeUserScramCredentials,
          V0,
          () =>
            createDescribeUserScramCredentialsRequest({
              users: names.length > 0 ? names.map((name) => ({ name })) : null,
            }),
        )
        if (res.errorCode !== 0) throw new KafkaError(res.errorCode, res.errorMessage)
        const byId = new Map(Object.entries(MECHANISMS).map(([name, id]) => [id as number, name]))
        return res.results.flatMap((r) => {
          if (r.errorCode !== 0) throw new KafkaError(r.errorCode, r.errorMessage, r.user)
          return r.credentialInfos.map((c) => ({
            user: r.user,
            mechanism: byId.get(c.mechanism) ?? String(c.mechanism),
            iterations: c.iterations,
          }))
        })
      })
      if (flags.json) printJson(rows)
      else
        printTable(
          ['USER', 'MECHANISM', 'ITERATIONS'],
          rows.map((r) => [r.user, r.mechanism, r.iterations]),
        )
    })
}
