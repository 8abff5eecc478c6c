#!/usr/bin/env node
import { Command } from 'commander'
import { registerBrokerCommand } from './commands/broker.ts'

const program = new Command()
program.name('samsa').description('samsa: a Kafka-compatible event streaming platform').showHelpAfterError()
registerBrokerCommand(program)

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`samsa: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
