/**
 * The client side of SASL, run on a connection right after ApiVersions as Kafka clients do:
 * SaslHandshake v1 naming the mechanism, then SaslAuthenticate with the mechanism's messages.
 * PLAIN (RFC 4616), SCRAM-SHA-256/512 (RFC 5802, the server's signature checked too) and
 * OAUTHBEARER with a token the caller has (RFC 7628).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import { ErrorCode } from '../protocol/error-codes.ts'
import { ApiKey } from '../protocol/generated/index.ts'
import {
  createSaslAuthenticateRequest,
  type SaslAuthenticateResponse,
} from '../protocol/generated/sasl-authenticate.ts'
import { createSaslHandshakeRequest, type SaslHandshakeResponse } from '../protocol/generated/sasl-handshake.ts'
import { KafkaError } from './errors.ts'

export type SaslCredentials =
  | {
      mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'
      username: string
      password: string
      /** SCRAM with a delegation token: the token id as user name, its HMAC in base64 as password. */
      tokenAuth?: boolean
    }
  /** The token is asked for at each authentication (a provider may cache or refresh it). */
  | { mechanism: 'OAUTHBEARER'; token: () => Promise<string> }

/** What authentication needs of a connection. */
export interface SaslTransport {
  readonly address: string
  version(apiKey: number): number
  sendVersion<Res>(apiKey: number, version: number, request: unknown): Promise<Res>
}

/** Authenticates a freshly negotiated connection; rejects with the broker's error when refused. */
export async function authenticate(conn: SaslTransport, sasl: SaslCredentials): Promise<void> {
  const handshake = await conn.sendVersion<SaslHandshakeResponse>(
    ApiKey.SaslHandshake,
    1,
    createSaslHandshakeRequest({ mechanism: sasl.mechanism }),
  )
  if (handshake.errorCode !== 0) {
    throw new KafkaError(
      handshake.errorCode,
      `${conn.address} does not offer SASL ${sasl.mechanism} (it offers ${handshake.mechanisms.join(', ') || 'none'})`,
      sasl.mechanism,
    )
  }
  const version = conn.version(ApiKey.SaslAuthenticate)
  const step = async (message: Buffer): Promise<Buffer> => {
    const res = await conn.sendVersion<SaslAuthenticateResponse>(
      ApiKey.SaslAuthenticate,
      version,
      createSaslAuthenticateRequest({ authBytes: message }),
    )
    if (res.errorCode !== 0) {
      throw new KafkaError(res.errorCode, res.errorMessage ?? `SASL ${sasl.mechanism} authentication failed`)
    }
    return res.authBytes
  }
  if (sasl.mechanism === 'PLAIN') {
    await step(Buffer.from(`\u0000${sasl.username}\u0000${sasl.password}`))
  } else if (sasl.mechanism === 'OAUTHBEARER') {
    const answer = await step(Buffer.from(`n,,\u0001auth=Bearer ${await sasl.token()}\u0001\u0001`))
    if (answer.length > 0) {
      // An error challenge: acknowledge it, and the broker answers with the failure.
      await step(Buffer.from([1]))
      throw new KafkaError(
        ErrorCode.SASL_AUTHENTICATION_FAILED,
        `OAUTHBEARER token refused: ${answer.toString('utf8')}`,
      )
    }
  } else {
    await scram(sasl.mechanism, sasl.username, sasl.password, sasl.tokenAuth === true, step)
  }
}

const hmac = (alg: string, key: Buffer, data: string | Buffer): Buffer => createHmac(alg, key).update(data).digest()

/** RFC 5802 saslname: ',' and '=' escaped. */
const saslName = (name: string): string => name.replace(/=/g, '=3D').replace(/,/g, '=2C')

const scramHash = (mechanism: ScramMechanismName): 'sha256' | 'sha512' =>
  mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512'

type ScramMechanismName = 'SCRAM-SHA-256' | 'SCRAM-SHA-512'

/** Hi(password, salt, i) of RFC 5802: what a client proves and AlterUserScramCredentials sends. */
export function saltedPassword(
  mechanism: ScramMechanismName,
  password: string,
  salt: Buffer,
  iterations: number,
): Buffer {
  const alg = scramHash(mechanism)
  return pbkdf2Sync(password, salt, iterations, alg === 'sha256' ? 32 : 64, alg)
}

async function scram(
  mechanism: ScramMechanismName,
  username: string,
  password: string,
  tokenAuth: boolean,
  step: (message: Buffer) => Promise<Buffer>,
): Promise<void> {
  const alg = scramHash(mechanism)
  const clientNonce = randomBytes(24).toString('base64url')
  // Kafka's tokenauth extension follows the nonce.
  const firstBare = `n=${saslName(username)},r=${clientNonce}${tokenAuth ? ',tokenauth=true' : ''}`
  const serverFirst = (await step(Buffer.from(`n,,${firstBare}`))).toString('utf8')
  const attrs = new Map(serverFirst.split(',').map((p) => [p.slice(0, 1), p.slice(2)] as const))
  const nonce = attrs.get('r') ?? ''
  const salt = Buffer.from(attrs.get('s') ?? '', 'base64')
  const iterations = Number(attrs.get('i'))
  if (!nonce.startsWith(clientNonce) || salt.length === 0 || !Number.isInteger(iterations) || iterations < 1) {
    throw new KafkaError(ErrorCode.SASL_AUTHENTICATION_FAILED, `${mechanism}: the broker's first message is malformed`)
  }
  const salted = saltedPassword(mechanism, password, salt, iterations)
  const clientKey = hmac(alg, salted, 'Client Key')
  const storedKey = createHash(alg).update(clientKey).digest()
  const finalWithoutProof = `c=biws,r=${nonce}`
  const authMessage = `${firstBare},${serverFirst},${finalWithoutProof}`
  const signature = hmac(alg, storedKey, authMessage)
  const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] as number)))
  const serverFinal = (await step(Buffer.from(`${finalWithoutProof},p=${proof.toString('base64')}`))).toString('utf8')
  const expected = hmac(alg, hmac(alg, salted, 'Server Key'), authMessage)
  const verifier = Buffer.from(/^v=([^,]*)/.exec(serverFinal)?.[1] ?? '', 'base64')
  if (verifier.length !== expected.length || !timingSafeEqual(verifier, expected)) {
    throw new KafkaError(
      ErrorCode.SASL_AUTHENTICATION_FAILED,
      `${mechanism}: the broker did not prove it knows the credential`,
    )
  }
}
