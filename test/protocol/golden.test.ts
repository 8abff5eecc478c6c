/**
 * Golden vectors: request frames captured from real clients (scripts/capture-golden.ts) decode
 * and re-encode to the identical bytes, header included.
 */
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { decodeRequestHeader, encodeRequestHeader } from '../../src/protocol/frame.ts'
import { API_DESCRIPTORS } from '../../src/protocol/generated/index.ts'
import { Reader } from '../../src/protocol/wire/reader.ts'
import { Writer } from '../../src/protocol/wire/writer.ts'

const root = fileURLToPath(new URL('../../../test/fixtures/golden/', import.meta.url))

for (const client of readdirSync(root)) {
  describe(`requests captured from ${client}`, () => {
    const files = readdirSync(`${root}${client}`).filter((f) => f.endsWith('.bin'))
    test('there are captures', () => assert.ok(files.length >= 5, `${files.length} files`))
    for (const file of files) {
      test(file, () => {
        const frame = readFileSync(`${root}${client}/${file}`)
        const r = new Reader(frame)
        const header = decodeRequestHeader(r)
        const api = API_DESCRIPTORS.find((d) => d.apiKey === header.apiKey)
        assert.ok(api, `unknown API key ${header.apiKey}`)
        assert.equal(`${api.name}-v${header.apiVersion}.bin`, file)
        const request = api.decodeRequest(r, header.apiVersion)
        assert.equal(r.remaining(), 0, 'the decoder consumed the whole frame')
        const w = new Writer()
        encodeRequestHeader(w, header)
        api.encodeRequest(w, header.apiVersion, request as never)
        assert.deepEqual(w.toBuffer(), frame)
      })
    }
  })
}
