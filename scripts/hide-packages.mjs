// `node --import ./scripts/hide-packages.mjs`: resolves the packages named in HIDE_PACKAGES (comma-separated)
// as if they were not installed, so a test can import a driver entry without its optional peer and see
// the error a user without it would see. Used by the peer tests of packages/cache and packages/pg.
import { register } from 'node:module'

const hidden = (process.env.HIDE_PACKAGES ?? '').split(',').filter(Boolean)

const hook = `let hidden = []
export function initialize(data) { hidden = data.hidden }
export async function resolve(specifier, context, next) {
  if (hidden.includes(specifier)) {
    const err = new Error("Cannot find package '" + specifier + "'")
    err.code = 'ERR_MODULE_NOT_FOUND'
    throw err
  }
  return next(specifier, context)
}`
register(`data:text/javascript,${encodeURIComponent(hook)}`, { data: { hidden } })
