/**
 * Delegation tokens (KIP-48): created over a SASL connection, used to authenticate with SCRAM and
 * the tokenauth extension (the session's principal is the token's owner), described, renewed and
 * expired; refused on PLAINTEXT connections, on token-authenticated ones and without a secret
 * key; renewal only by the owner and renewers; described with the owner filter. An expired token
 * is kept, described and refused with DELEGATION_TOKEN_EXPIRED (its SCRAM session ends at once)
 * until the periodic expiry check removes it. Through Apache Kafka's Java admin and producer
 * (test/java TokenClient) and through samsa's client for the refusals no Java call can provoke.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type Broker, startBroker } from '../../src/broker/broker.ts'
import { Cluster } from '../../src/client/cluster.ts'
import type { Connection } from '../../src/client/connection.ts'
import type { SaslCredentials } from '../../src/client/sasl-client.ts'
import { saltedPassword } from '../../src/client/sasl-client.ts'
import { ErrorCode } from '../../src/protocol/error-codes.ts'
import { createAlterUserScramCredentialsRequest } from '../../src/protocol/generated/alter-user-scram-credentials.ts'
import {
  type CreateDelegationTokenResponse,
  createCreateDelegationTokenRequest,
} from '../../src/protocol/generated/create-delegation-token.ts'
import type { DescribeDelegationTokenResponse } from '../../src/protocol/generated/describe-delegation-token.ts'
import type { ExpireDelegationTokenResponse } from '../../src/protocol/generated/expire-delegation-token.ts'
import { ApiKey } from '../../src/protocol/generated/index.ts'
import { createMetadataRequest } from '../../src/protocol/generated/metadata.ts'
import type { RenewDelegationTokenResponse } from '../../src/protocol/generated/renew-delegation-token.ts'
import { waitUntil } from '../../src/testing/wait.ts'
import { hasJavaClient, JAVA_CLIENT_MISSING, javaProgram } from '../helpers/java-client.ts'
import { RawClient } from '../helpers/raw-client.ts'

const SECRET_KEY = 'samsa-test-token-secret'
const PLAIN_JAAS =
  'org.apache.kafka.common.security.plain.PlainLoginModule required user_carol="carol-secret" user_bob="bob-secret";'

let broker: Broker
let sasl: string
let plaintext: string
const principals: string[] = []

const portOf = (address: string): number => Number(address.slice(address.lastIndexOf(':') + 1))

/** A connection of samsa's client to the SASL listener (the shared broker's by default), authenticated as asked. */
async function connectAs(
  credentials: SaslCredentials,
  bootstrap = sasl,
): Promise<{ conn: Connection; close: () => Promise<void> }> {
  const cluster = new Cluster({ bootstrap, sasl: credentials, retries: 0 })
  const conn = await cluster.anyConnection()
  return { conn, close: () => cluster.close() }
}

const create = (conn: Connection, renewers: string[] = []) =>
  conn.sendVersion<CreateDelegationTokenResponse>(
    ApiKey.CreateDelegationToken,
    3,
    createCreateDelegationTokenRequest({
      renewers: renewers.map((principalName) => ({ principalType: 'User', principalName })),
      maxLifetimeMs: -1n,
    }),
  )

before(async () => {
  broker = await startBroker({
    config: {
      listeners: 'PLAINTEXT://localhost:0,SASL_PLAINTEXT://localhost:0',
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS,
      'delegation.token.secret.key': SECRET_KEY,
      'connection.failed.authentication.delay.ms': '20',
    },
    dispatchHook: (call) => {
      if (call.ctx.listener === 'SASL_PLAINTEXT' && call.apiKey === ApiKey.Produce) {
        principals.push(call.ctx.connection.principal)
      }
      return call.next()
    },
  })
  sasl = (broker.listeners.SASL_PLAINTEXT as string[])[0] as string
  plaintext = (broker.listeners.PLAINTEXT as string[])[0] as string
  // alice's SCRAM-SHA-256 credential, for the Java clients.
  const raw = await RawClient.connect(portOf(plaintext))
  const salt = randomBytes(16)
  await raw.send(
    ApiKey.AlterUserScramCredentials,
    0,
    createAlterUserScramCredentialsRequest({
      upsertions: [
        {
          name: 'alice',
          mechanism: 1,
          iterations: 4096,
          salt,
          saltedPassword: saltedPassword('SCRAM-SHA-256', 'alice-secret', salt, 4096),
        },
      ],
    }),
  )
  await raw.close()
})
after(() => broker?.close())

describe('delegation tokens', () => {
  test('the Java admin creates, describes, renews and expires a token a Java producer authenticates with', {
    skip: hasJavaClient ? false : JAVA_CLIENT_MISSING,
  }, async () => {
    await broker.core.topics.create('token-topic', 1, {})
    principals.length = 0
    const out = await javaProgram<{
      tokenId: string
      owner: string
      maxTimestamp: number
      renewedExpiry: number
      described: string[]
      produced: boolean
      producedAfterExpiry: boolean
    }>('TokenClient', [sasl, 'alice', 'alice-secret', 'token-topic'], 120_000)
    assert.equal(out.owner, 'User:alice')
    assert.equal(out.produced, true, 'a producer authenticated with the token')
    assert.deepEqual(principals, ['User:alice'], "the token's session is its owner's")
    assert.deepEqual(out.described, [`${out.tokenId}/User:alice/[User:bob]`])
    assert.ok(out.renewedExpiry > Date.now() && out.renewedExpiry <= out.maxTimestamp)
    assert.equal(out.producedAfterExpiry, false, 'an expired token authenticates no one')
    assert.deepEqual(await broker.core.tokens.list(), [], 'the expired token is gone')
  })

  test('refusals: PLAINTEXT, token-authenticated sessions, strangers renewing, unknown tokens', async () => {
    const raw = await RawClient.connect(portOf(plaintext))
    const onPlaintext = await raw.send<CreateDelegationTokenResponse>(
      ApiKey.CreateDelegationToken,
      2,
      createCreateDelegationTokenRequest({ renewers: [], maxLifetimeMs: -1n }),
    )
    await raw.close()
    assert.equal(onPlaintext.errorCode, ErrorCode.DELEGATION_TOKEN_REQUEST_NOT_ALLOWED)

    const carol = await connectAs({ mechanism: 'PLAIN', username: 'carol', password: 'carol-secret' })
    const made = await create(carol.conn, ['bob'])
    assert.equal(made.errorCode, ErrorCode.NONE)
    assert.equal(made.principalName, 'carol')
    assert.ok(made.maxTimestampMs >= made.expiryTimestampMs)

    // A session authenticated with the token is carol's, and may not ask for tokens itself.
    const viaToken = await connectAs({
      mechanism: 'SCRAM-SHA-512',
      username: made.tokenId,
      password: made.hmac.toString('base64'),
      tokenAuth: true,
    })
    const nested = await create(viaToken.conn)
    assert.equal(nested.errorCode, ErrorCode.DELEGATION_TOKEN_REQUEST_NOT_ALLOWED)
    await viaToken.close()

    // The token as a plain SCRAM user name is no user.
    await assert.rejects(
      connectAs({ mechanism: 'SCRAM-SHA-512', username: made.tokenId, password: made.hmac.toString('base64') }),
      /SASL_AUTHENTICATION_FAILED/,
    )

    // bob (a renewer) renews; alice (neither owner nor renewer) may not expire it.
    const bob = await connectAs({ mechanism: 'PLAIN', username: 'bob', password: 'bob-secret' })
    const renewed = await bob.conn.sendVersion<RenewDelegationTokenResponse>(ApiKey.RenewDelegationToken, 2, {
      hmac: made.hmac,
      renewPeriodMs: 1000n,
    })
    assert.equal(renewed.errorCode, ErrorCode.NONE)
    assert.ok(renewed.expiryTimestampMs <= BigInt(Date.now() + 1500))
    // A longer period than delegation.token.expiry.time.ms (1 day) is cut to it, as in Kafka.
    const long = await bob.conn.sendVersion<RenewDelegationTokenResponse>(ApiKey.RenewDelegationToken, 2, {
      hmac: made.hmac,
      renewPeriodMs: 30n * 86_400_000n,
    })
    assert.equal(long.errorCode, ErrorCode.NONE)
    assert.ok(long.expiryTimestampMs <= BigInt(Date.now() + 86_400_000), 'renewed for at most a day')
    const alice = await connectAs({ mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'alice-secret' })
    const stranger = await alice.conn.sendVersion<ExpireDelegationTokenResponse>(ApiKey.ExpireDelegationToken, 2, {
      hmac: made.hmac,
      expiryTimePeriodMs: -1n,
    })
    assert.equal(stranger.errorCode, ErrorCode.DELEGATION_TOKEN_OWNER_MISMATCH)
    // Without an authorizer anyone may describe tokens, as in Kafka; the owner filter applies.
    const describe = (owners: { principalType: string; principalName: string }[] | null) =>
      alice.conn.sendVersion<DescribeDelegationTokenResponse>(ApiKey.DescribeDelegationToken, 3, { owners })
    const all = await describe(null)
    assert.deepEqual(
      all.tokens.map((x) => [
        x.tokenId,
        x.principalName,
        x.tokenRequesterPrincipalName,
        x.renewers.map((r) => r.principalName),
      ]),
      [[made.tokenId, 'carol', 'carol', ['bob']]],
    )
    assert.deepEqual((await describe([{ principalType: 'User', principalName: 'bob' }])).tokens, [])
    assert.deepEqual((await describe([])).tokens, [])
    const unknown = await carol.conn.sendVersion<RenewDelegationTokenResponse>(ApiKey.RenewDelegationToken, 2, {
      hmac: randomBytes(64),
      renewPeriodMs: -1n,
    })
    assert.equal(unknown.errorCode, ErrorCode.DELEGATION_TOKEN_NOT_FOUND)
    await Promise.all([carol.close(), bob.close(), alice.close()])
  })

  test('without delegation.token.secret.key every token request is DELEGATION_TOKEN_AUTH_DISABLED', async (t) => {
    const plain = await startBroker()
    t.after(() => plain.close())
    const raw = await RawClient.connect(plain.port)
    try {
      const res = await raw.send<CreateDelegationTokenResponse>(
        ApiKey.CreateDelegationToken,
        3,
        createCreateDelegationTokenRequest({ renewers: [], maxLifetimeMs: -1n }),
      )
      assert.equal(res.errorCode, ErrorCode.DELEGATION_TOKEN_AUTH_DISABLED)
    } finally {
      await raw.close()
    }
  })

  test('an expired token is described and refused with DELEGATION_TOKEN_EXPIRED until the expiry check removes it', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'samsa-tokens-'))
    t.after(() => rm(dir, { recursive: true, force: true }))
    const config = {
      listeners: 'SASL_PLAINTEXT://localhost:0',
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-512',
      'listener.name.sasl_plaintext.plain.sasl.jaas.config': PLAIN_JAAS.replace(';', ' user_dave="dave-secret";'),
      'delegation.token.secret.key': SECRET_KEY,
      'delegation.token.expiry.time.ms': '300',
      'connection.failed.authentication.delay.ms': '20',
    }
    const carolLogin = { mechanism: 'PLAIN', username: 'carol', password: 'carol-secret' } as const
    const daveLogin = { mechanism: 'PLAIN', username: 'dave', password: 'dave-secret' } as const
    const tokenLogin = (made: CreateDelegationTokenResponse): SaslCredentials => ({
      mechanism: 'SCRAM-SHA-512',
      username: made.tokenId,
      password: made.hmac.toString('base64'),
      tokenAuth: true,
    })
    const describeAll = (conn: Connection) =>
      conn.sendVersion<DescribeDelegationTokenResponse>(ApiKey.DescribeDelegationToken, 3, { owners: null })
    const renew = (conn: Connection, hmac: Buffer) =>
      conn.sendVersion<RenewDelegationTokenResponse>(ApiKey.RenewDelegationToken, 2, { hmac, renewPeriodMs: -1n })
    const expire = (conn: Connection, hmac: Buffer, expiryTimePeriodMs: bigint) =>
      conn.sendVersion<ExpireDelegationTokenResponse>(ApiKey.ExpireDelegationToken, 2, { hmac, expiryTimePeriodMs })

    // The first broker checks for expired tokens once an hour (the default): they stay meanwhile.
    const first = await startBroker({ storage: 'local', dataDir: dir, config })
    let made: CreateDelegationTokenResponse
    try {
      const address = (first.listeners.SASL_PLAINTEXT as string[])[0] as string
      const carol = await connectAs(carolLogin, address)
      const dave = await connectAs(daveLogin, address)
      try {
        made = await create(carol.conn)
        const other = await create(carol.conn)
        assert.equal(made.errorCode, ErrorCode.NONE)
        await waitUntil('the tokens expired', () => Date.now() > Number(other.expiryTimestampMs) + 10)
        assert.deepEqual(
          (await describeAll(carol.conn)).tokens.map((x) => x.tokenId).sort(),
          [made.tokenId, other.tokenId].sort(),
          'expired tokens are described until removed',
        )
        assert.equal((await renew(carol.conn, made.hmac)).errorCode, ErrorCode.DELEGATION_TOKEN_EXPIRED)
        // Renewal checks the expiry before the requester; expiry checks the requester first.
        assert.equal((await renew(dave.conn, made.hmac)).errorCode, ErrorCode.DELEGATION_TOKEN_EXPIRED)
        assert.equal((await expire(dave.conn, made.hmac, 1000n)).errorCode, ErrorCode.DELEGATION_TOKEN_OWNER_MISMATCH)
        assert.equal((await expire(carol.conn, made.hmac, 1000n)).errorCode, ErrorCode.DELEGATION_TOKEN_EXPIRED)
        // Removing an expired token at once works.
        assert.equal((await expire(carol.conn, other.hmac, -1n)).errorCode, ErrorCode.NONE)
        assert.deepEqual(
          (await describeAll(carol.conn)).tokens.map((x) => x.tokenId),
          [made.tokenId],
        )
        // SCRAM with the expired token completes, as in Kafka, but the session has already
        // ended: its first request closes the connection.
        const viaToken = await connectAs(tokenLogin(made), address)
        try {
          await assert.rejects(
            viaToken.conn.sendVersion(ApiKey.Metadata, 12, createMetadataRequest({ topics: null })),
            /connection to .* lost/,
          )
        } finally {
          await viaToken.close()
        }
      } finally {
        await Promise.all([carol.close(), dave.close()])
      }
    } finally {
      await first.close()
    }

    // The same data with a broker that checks every 100 ms: the token goes.
    const second = await startBroker({
      storage: 'local',
      dataDir: dir,
      config: { ...config, 'delegation.token.expiry.check.interval.ms': '100' },
    })
    try {
      const address = (second.listeners.SASL_PLAINTEXT as string[])[0] as string
      const carol = await connectAs(carolLogin, address)
      try {
        await waitUntil(
          'the expiry check removed the token',
          async () => (await describeAll(carol.conn)).tokens.length === 0,
        )
        assert.equal((await renew(carol.conn, made.hmac)).errorCode, ErrorCode.DELEGATION_TOKEN_NOT_FOUND)
      } finally {
        await carol.close()
      }
      await assert.rejects(connectAs(tokenLogin(made), address), /SASL_AUTHENTICATION_FAILED/)
    } finally {
      await second.close()
    }
  })
})
