/**
 * The environment of a Node process of the stack: this one's, without any `HF_*` (so a stray
 * `HF_DATABASE_URL` never points an app elsewhere), plus exactly the settings given.
 */
export function nodeEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('HF_') && !key.startsWith('npm_') && value !== undefined) env[key] = value
  }
  return { ...env, NODE_ENV: process.env['NODE_ENV'] ?? 'production', ...settings }
}
