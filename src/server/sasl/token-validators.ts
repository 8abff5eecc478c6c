/**
 * The two ways Kafka's brokers check OAUTHBEARER tokens:
 * - signed JWTs against the keys of a JWKS (`sasl.oauthbearer.jwks.endpoint.url`, an https URL or
 *   a file: URL): signature, `exp` and `iat` present, expiry with the allowed clock skew, the
 *   expected audience and issuer when configured, and the subject and scope claims' form;
 * - unsecured JWTs (`alg: none`), Kafka's test mode, with the OAuthBearerLoginModule's
 *   `unsecuredValidator*` options (principal claim, scope claim, required scopes, clock skew).
 */
import { readFile, stat } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { JWTPayload, jwtVerify } from 'jose'
import { type BearerIdentity, TokenRefusal, type TokenValidator } from './oauthbearer.ts'

type Jose = typeof import('jose')

/** jose, loaded on the first token a JWKS validator checks: it adds ~40 ms to every broker's start otherwise. */
let jose: Promise<Jose> | undefined
const loadJose = (): Promise<Jose> => {
  jose ??= import('jose')
  return jose
}

export interface JwksValidatorOptions {
  /** sasl.oauthbearer.jwks.endpoint.url */
  jwksUrl: string
  /** sasl.oauthbearer.expected.audience: the token's `aud` must hold one of them (none: not checked). */
  audiences: readonly string[]
  /** sasl.oauthbearer.expected.issuer (undefined: not checked). */
  issuer: string | undefined
  /** sasl.oauthbearer.sub.claim.name */
  subClaim: string
  /** sasl.oauthbearer.scope.claim.name */
  scopeClaim: string
  /** sasl.oauthbearer.clock.skew.seconds */
  clockSkewSeconds: number
  /** sasl.oauthbearer.jwks.endpoint.refresh.ms: how long fetched keys are kept. */
  refreshMs: number
}

type KeySet = Parameters<typeof jwtVerify>[1]

/** The keys of a JWKS file, read again when the file changes. */
function fileKeySet({ createLocalJWKSet }: Jose, path: string): KeySet {
  let loaded: { mtimeMs: number; keys: ReturnType<typeof createLocalJWKSet> } | undefined
  return async (header, token) => {
    const { mtimeMs } = await stat(path)
    if (loaded?.mtimeMs !== mtimeMs) {
      loaded = { mtimeMs, keys: createLocalJWKSet(JSON.parse(await readFile(path, 'utf8'))) }
    }
    return loaded.keys(header, token)
  }
}

function keySetOf(j: Jose, options: JwksValidatorOptions): KeySet {
  const url = new URL(options.jwksUrl)
  if (url.protocol === 'file:') return fileKeySet(j, fileURLToPath(url))
  return j.createRemoteJWKSet(url, { cacheMaxAge: options.refreshMs })
}

/** A scope claim's scopes: a space-separated string or a list of strings (anything else is refused). */
function scopesOf(payload: JWTPayload, claim: string): string[] {
  const value = payload[claim]
  if (value === undefined) return []
  if (typeof value === 'string') return value.split(' ').filter(Boolean)
  if (Array.isArray(value) && value.every((s) => typeof s === 'string')) return value as string[]
  throw new TokenRefusal(`the ${claim} claim is neither a string nor a list of strings`)
}

function subjectOf(payload: JWTPayload, claim: string): string {
  const value = payload[claim]
  if (typeof value !== 'string' || value.trim() === '') {
    throw new TokenRefusal(`the ${claim} claim is missing or empty`)
  }
  return value.trim()
}

/** Why jose refused a token, in a line for the log. */
function reasonOf({ errors }: Jose, err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the token expired'
  if (err instanceof errors.JWTClaimValidationFailed) return `claim ${err.claim} refused: ${err.reason}`
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the signature does not verify'
  if (err instanceof errors.JWKSNoMatchingKey) return 'no key of the JWKS matches the token'
  return (err as Error).message
}

export function jwksValidator(options: JwksValidatorOptions): TokenValidator {
  let keys: KeySet | undefined
  return async (token) => {
    const j = await loadJose()
    keys ??= keySetOf(j, options)
    let payload: JWTPayload
    try {
      ;({ payload } = await j.jwtVerify(token, keys, {
        audience: options.audiences.length > 0 ? [...options.audiences] : undefined,
        issuer: options.issuer,
        clockTolerance: options.clockSkewSeconds,
        requiredClaims: ['exp', 'iat'],
      }))
    } catch (err) {
      throw err instanceof TokenRefusal ? err : new TokenRefusal(reasonOf(j, err))
    }
    scopesOf(payload, options.scopeClaim)
    return { principal: subjectOf(payload, options.subClaim), expiresAtMs: (payload.exp as number) * 1000 }
  }
}

export interface UnsecuredValidatorOptions {
  /** unsecuredValidatorPrincipalClaimName (sub) */
  principalClaim: string
  /** unsecuredValidatorScopeClaimName (scope) */
  scopeClaim: string
  /** unsecuredValidatorRequiredScope: every one must be in the token. */
  requiredScopes: readonly string[]
  /** unsecuredValidatorAllowableClockSkewMs (0) */
  clockSkewMs: number
}

/** The JAAS options of Kafka's unsecured validator, with its defaults. */
export function unsecuredOptionsOf(jaas: ReadonlyMap<string, string>): UnsecuredValidatorOptions {
  const skew = Number(jaas.get('unsecuredValidatorAllowableClockSkewMs') ?? '0')
  if (!Number.isInteger(skew) || skew < 0) {
    throw new Error('unsecuredValidatorAllowableClockSkewMs must be a non-negative integer')
  }
  return {
    principalClaim: jaas.get('unsecuredValidatorPrincipalClaimName')?.trim() || 'sub',
    scopeClaim: jaas.get('unsecuredValidatorScopeClaimName')?.trim() || 'scope',
    requiredScopes: (jaas.get('unsecuredValidatorRequiredScope') ?? '').split(' ').filter(Boolean),
    clockSkewMs: skew,
  }
}

function decodePart(part: string, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>
  } catch {}
  throw new TokenRefusal(`the token's ${what} is not a base64url JSON object`)
}

/** A NumericDate claim in milliseconds (seconds, fractions allowed), undefined when absent. */
function timeClaim(claims: Record<string, unknown>, name: string): number | undefined {
  const value = claims[name]
  if (value === undefined) return undefined
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TokenRefusal(`the ${name} claim is not a number`)
  return value * 1000
}

export function unsecuredValidator(options: UnsecuredValidatorOptions): TokenValidator {
  return async (token): Promise<BearerIdentity> => {
    const parts = token.split('.')
    if (parts.length !== 3 || parts[2] !== '')
      throw new TokenRefusal('not an unsecured JWT (header.claims. with no signature)')
    const header = decodePart(parts[0] as string, 'header')
    if (header.alg !== 'none') throw new TokenRefusal(`unsecured JWTs have alg none, not ${String(header.alg)}`)
    const claims = decodePart(parts[1] as string, 'claims')
    const now = Date.now()
    const expiresAtMs = timeClaim(claims, 'exp')
    if (expiresAtMs === undefined) throw new TokenRefusal('the exp claim is missing')
    if (now - options.clockSkewMs >= expiresAtMs) throw new TokenRefusal('the token expired')
    const issuedAtMs = timeClaim(claims, 'iat')
    if (issuedAtMs !== undefined && issuedAtMs > now + options.clockSkewMs) {
      throw new TokenRefusal('the token was issued in the future')
    }
    if (issuedAtMs !== undefined && issuedAtMs > expiresAtMs)
      throw new TokenRefusal('the token expires before it was issued')
    const principal = subjectOf(claims, options.principalClaim)
    const scopes = scopesOf(claims, options.scopeClaim)
    const missing = options.requiredScopes.filter((s) => !scopes.includes(s))
    if (missing.length > 0) {
      throw new TokenRefusal(`the token lacks the required scope ${missing.join(' ')}`, 'insufficient_scope')
    }
    return { principal, expiresAtMs }
  }
}
