/**
 * Bundles the package's two entry points (`samsa` and `samsa/testing`) into dist/bundle: a few
 * files instead of ~160 ES modules, which is most of what importing them costs (a test suite
 * pays it in every test file's process). Shared code goes to common chunks, so a program that
 * imports both entries gets one copy of each class. npm packages stay external.
 *
 * The embedded PostgreSQL's process (storage/postgres/embedded-process.ts) is an entry too, at
 * the top of dist/bundle beside the chunks: its launcher starts it from the file next to its own
 * module, whether that module is one of dist/src or a chunk of the bundle.
 */
import { rmSync } from 'node:fs'
import { build } from 'esbuild'

const outdir = 'dist/bundle'
rmSync(outdir, { recursive: true, force: true })
await build({
  entryPoints: [
    'src/index.ts',
    'src/testing/index.ts',
    { in: 'src/storage/postgres/embedded-process.ts', out: 'embedded-process' },
  ],
  outbase: 'src',
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning',
})
