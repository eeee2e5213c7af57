export { expandString, type Env, type ExpandedString } from './expand-env.js'
export { formatIssues, type ConfigIssue } from './issues.js'
export {
  loadConfig,
  parseConfigText,
  type LoadResult,
  type ParseConfigTextOptions,
  type RawConfig,
  type SourcedSection,
} from './load.js'
export {
  isSecretConfigPath,
  isSecretPath,
  redactConfig,
  redactedPlaceholder,
  redactUrlPassword,
  secretFieldsOf,
  type SecretSection,
} from './redact.js'
export {
  channelIdSchema,
  effectiveChannels,
  keelConfigJsonSchema,
  keelConfigSchema,
  parseListenAddress,
  type ChannelSpec,
  type KeelConfig,
  type KeelConfigInput,
  type MonitorSpec,
} from './schema.js'
