/** The JSON schema of the `{ error: { name, message, details? } }` body every API error response has. */
export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { name: { type: 'string' }, message: { type: 'string' }, details: {} },
    },
  },
} as const
