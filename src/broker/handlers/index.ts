import type { AnyHandler } from '../handler.ts'
import produce from './00-produce.ts'
import fetch from './01-fetch.ts'
import listOffsets from './02-list-offsets.ts'
import metadata from './03-metadata.ts'
import apiVersions from './18-api-versions.ts'
import createTopics from './19-create-topics.ts'

/** Every API this broker serves; ApiVersions advertises exactly this list. */
export const HANDLERS: readonly AnyHandler[] = [produce, fetch, listOffsets, metadata, apiVersions, createTopics]
