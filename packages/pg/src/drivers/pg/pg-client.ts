import { loadPeer } from '../../load-peer.js'

// node-postgres, an optional peer dependency, loaded once for the whole driver. Types come from
// `import type pg from 'pg'`, which is erased; values come from here.
const { default: pg } = await loadPeer(() => import('pg'), '@hundredfold/pg/node-postgres', 'pg')

export const { Client, Connection, Pool } = pg
