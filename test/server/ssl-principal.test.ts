/** Kafka's principals of TLS clients: ssl.principal.mapping.rules as Kafka parses and applies them. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { mapSubject, parsePrincipalRules } from '../../src/server/ssl-principal.ts'

test('rules apply in order, the first whose pattern matches the whole subject wins; DEFAULT keeps the subject', () => {
  const rules = parsePrincipalRules(
    'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U,DEFAULT',
  )
  assert.equal(mapSubject('CN=kafka-server,OU=ServiceUsers,O=Acme', rules), 'User:kafka-server')
  assert.equal(mapSubject('CN=Duke,OU=JavaSoft,O=Sun,L=Santa Clara,ST=CA,C=US', rules), 'User:duke@javasoft')
  assert.equal(mapSubject('OU=x,cn=shout', rules), 'User:SHOUT')
  assert.equal(mapSubject('O=nobody', rules), 'User:O=nobody')
})

test('without DEFAULT a subject no rule matches has no principal; a malformed rule is refused', () => {
  const rules = parsePrincipalRules('RULE:^CN=([^,]*)$/$1/')
  assert.equal(mapSubject('CN=alice', rules), 'User:alice')
  assert.equal(mapSubject('CN=alice,O=acme', rules), undefined)
  assert.throws(
    () => parsePrincipalRules('RULE:^CN=(.*)$'),
    /Invalid value RULE:\^CN=\(\.\*\)\$ for configuration ssl\.principal\.mapping\.rules/,
  )
  assert.throws(() => parsePrincipalRules('DEFAULT,NOPE'), /Invalid rule: NOPE/)
  // A slash in a pattern is escaped.
  assert.equal(mapSubject('CN=a/b', parsePrincipalRules('RULE:^CN=(.*)\\/(.*)$/$2/')), 'User:b')
})
