/**
 * SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), the server side: client-first →
 * server-first (nonce, salt, iterations) → client-final with its proof → server-final with the
 * server's signature. Only the salted keys are stored, never the password. An unknown user gets
 * a made-up salt and fails at the proof like a wrong password, so the exchange does not tell
 * which users exist.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import { type SaslExchange, SaslFailure } from './exchange.ts'

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512'

export const SCRAM_MECHANISMS: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512']

/** Kafka's bounds on iterations (AlterUserScramCredentials refuses others). */
export const MIN_ITERATIONS = 4096
export const MAX_ITERATIONS = 16384

/** What the broker keeps of a user's password for one mechanism. */
export interface ScramCredential {
  salt: Buffer
  storedKey: Buffer
  serverKey: Buffer
  iterations: number
}

const hashOf = (mechanism: ScramMechanism): 'sha256' | 'sha512' => (mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512')

const hmac = (alg: string, key: Buffer, data: string | Buffer): Buffer => createHmac(alg, key).update(data).digest()

/** The stored keys of a salted password (Hi(password, salt, i)), as AlterUserScramCredentials sends it. */
export function credentialFromSaltedPassword(
  mechanism: ScramMechanism,
  salt: Buffer,
  saltedPassword: Buffer,
  iterations: number,
): ScramCredential {
  const alg = hashOf(mechanism)
  const clientKey = hmac(alg, saltedPassword, 'Client Key')
  return {
    salt,
    storedKey: createHash(alg).update(clientKey).digest(),
    serverKey: hmac(alg, saltedPassword, 'Server Key'),
    iterations,
  }
}

/** Why a client gets no further; Kafka tells every SCRAM failure the same way. */
const failure = (mechanism: ScramMechanism, reason: string): SaslFailure =>
  new SaslFailure(
    `Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`,
    reason,
  )

/** Kafka's SCRAM user names escape ',' and '=' as =2C and =3D (RFC 5802 saslname). */
function decodeSaslName(name: string): string | undefined {
  if (/=(?!2C|3D)/.test(name)) return undefined
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=')
}

/** The attributes of a SCRAM message (`a=1,b=2`), in order. */
function attributes(message: string): [string, string][] {
  return message.split(',').map((part) => {
    const eq = part.indexOf('=')
    return eq === 1 ? [part[0] as string, part.slice(2)] : ['', part]
  })
}

/** A per-process secret that makes the salts of unknown users stable but unguessable. */
const FAKE_SALT_KEY = randomBytes(32)

/** Who a SCRAM user name stands for: its credential, and for a delegation token its owner and expiry. */
export interface ScramIdentity {
  credential: ScramCredential
  /** The principal's name when it is not the user name (a delegation token's owner). */
  user?: string
  /** When the credential expires (a delegation token's expiry). */
  expiresAtMs?: number
}

/** Hi(password, salt, i) of RFC 5802. */
export function saltedPassword(mechanism: ScramMechanism, password: string, salt: Buffer, iterations: number): Buffer {
  const alg = hashOf(mechanism)
  return pbkdf2Sync(password, salt, iterations, alg === 'sha256' ? 32 : 64, alg)
}

/**
 * One SCRAM exchange. `lookup` finds who a user name stands for (undefined: no such user); with
 * `tokenAuth` (Kafka's tokenauth=true extension) the name is a delegation token's id.
 */
export function scramExchange(
  mechanism: ScramMechanism,
  lookup: (user: string, tokenAuth: boolean) => Promise<ScramIdentity | undefined>,
): SaslExchange {
  const alg = hashOf(mechanism)
  let step: 'first' | 'final' | 'done' = 'first'
  let user = ''
  let credential: ScramCredential | undefined
  let identity: ScramIdentity | undefined
  let gs2Header = ''
  let clientFirstBare = ''
  let serverFirst = ''
  let nonce = ''

  const first = async (message: string): Promise<Buffer> => {
    // gs2-header: n or y (no channel binding), then an optional authzid, then the bare message.
    const m = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(message)
    if (!m) throw failure(mechanism, 'malformed client-first message (or channel binding asked)')
    gs2Header = `${m[1]},${m[2] ?? ''},`
    clientFirstBare = m[3] as string
    const attrs = attributes(clientFirstBare)
    if (attrs[0]?.[0] === 'm') throw failure(mechanism, 'mandatory extension asked')
    const name = attrs[0]?.[0] === 'n' ? decodeSaslName(attrs[0][1]) : undefined
    const clientNonce = attrs[1]?.[0] === 'r' ? attrs[1][1] : ''
    if (!name || clientNonce === '' || /[^\x21-\x2b\x2d-\x7e]/.test(clientNonce)) {
      throw failure(mechanism, 'malformed client-first message')
    }
    if (m[2] !== undefined && decodeSaslName(m[2].slice(2)) !== name) {
      throw failure(mechanism, 'authorization id differs from the user name')
    }
    // Kafka's tokenauth extension: the user name is a delegation token's id.
    const tokenAuth = attrs.slice(2).some(([k, v]) => k === '' && v === 'tokenauth=true')
    user = name
    identity = await lookup(user, tokenAuth)
    credential = identity?.credential
    const salt = credential?.salt ?? hmac(alg, FAKE_SALT_KEY, `${mechanism}\u0000${user}`).subarray(0, 16)
    const iterations = credential?.iterations ?? MIN_ITERATIONS
    nonce = clientNonce + randomBytes(18).toString('base64')
    serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${iterations}`
    return Buffer.from(serverFirst)
  }

  const final = (message: string): Buffer => {
    const at = message.lastIndexOf(',p=')
    if (at < 0) throw failure(mechanism, 'malformed client-final message')
    const withoutProof = message.slice(0, at)
    const proof = Buffer.from(message.slice(at + 3), 'base64')
    const attrs = attributes(withoutProof)
    if (attrs[0]?.[0] !== 'c' || attrs[0][1] !== Buffer.from(gs2Header).toString('base64')) {
      throw failure(mechanism, 'channel binding does not match the client-first message')
    }
    // Kafka takes a final nonce that ends with the one it sent (librdkafka puts its own nonce before it again).
    if (attrs[1]?.[0] !== 'r' || !attrs[1][1].endsWith(nonce)) throw failure(mechanism, 'nonce does not match')
    if (credential === undefined) throw failure(mechanism, `unknown user ${user}`)
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`
    const clientSignature = hmac(alg, credential.storedKey, authMessage)
    if (proof.length !== clientSignature.length) throw failure(mechanism, `wrong password for ${user}`)
    const clientKey = Buffer.alloc(proof.length)
    for (let i = 0; i < proof.length; i++) clientKey[i] = (proof[i] as number) ^ (clientSignature[i] as number)
    if (!timingSafeEqual(createHash(alg).update(clientKey).digest(), credential.storedKey)) {
      throw failure(mechanism, `wrong password for ${user}`)
    }
    const serverSignature = hmac(alg, credential.serverKey, authMessage)
    return Buffer.from(`v=${serverSignature.toString('base64')}`)
  }

  return {
    async evaluate(token) {
      const message = token.toString('utf8')
      if (step === 'first') {
        step = 'final'
        return { challenge: await first(message) }
      }
      if (step === 'final') {
        step = 'done'
        return { challenge: final(message), user: identity?.user ?? user, expiresAtMs: identity?.expiresAtMs }
      }
      throw failure(mechanism, 'message after the exchange ended')
    },
  }
}
