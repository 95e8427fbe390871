import { describe, expect, it } from 'vitest'
import { isReadOnly, splitStatements, transactionControl, transactionEffect } from '../src/statement-kind.js'

describe('statement kinds', () => {
  it('finds transaction control past comments, in any case, in any statement of a script', () => {
    const cases: Array<[string, string | undefined]> = [
      ['BEGIN', 'BEGIN'],
      ['begin isolation level serializable', 'BEGIN'],
      ['  /* why */ -- note\n start transaction read only', 'START'],
      ['COMMIT', 'COMMIT'],
      ['commit prepared $$x$$', 'COMMIT'],
      ['ROLLBACK TO SAVEPOINT sp1', 'ROLLBACK'],
      ['END', 'END'],
      ['abort', 'ABORT'],
      ['savepoint sp1', 'SAVEPOINT'],
      ['RELEASE SAVEPOINT sp1', 'RELEASE'],
      ["PREPARE TRANSACTION 'tx1'", 'PREPARE TRANSACTION'],
      ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'SET TRANSACTION'],
      ['set local statement_timeout = 10', 'SET LOCAL'],
      ['SET CONSTRAINTS ALL DEFERRED', 'SET CONSTRAINTS'],
      ['SELECT 1; COMMIT', 'COMMIT'],
      // Not transaction control:
      ['SELECT 1', undefined],
      ["SELECT 'begin; commit'", undefined],
      ['SELECT $$;commit$$', undefined],
      ['SELECT 1 -- ; commit', undefined],
      ['PREPARE q AS SELECT 1', undefined],
      ['SET search_path = app', undefined],
      ['INSERT INTO t (begin) VALUES (1)', undefined],
    ]
    for (const [sql, expected] of cases) expect([sql, transactionControl(sql)]).toEqual([sql, expected])
  })

  it('says what a statement does to the session transaction', () => {
    expect(transactionEffect('BEGIN')).toBe('begin')
    expect(transactionEffect('START TRANSACTION')).toBe('begin')
    expect(transactionEffect('COMMIT')).toBe('end')
    expect(transactionEffect('rollback')).toBe('end')
    expect(transactionEffect('END')).toBe('end')
    expect(transactionEffect("PREPARE TRANSACTION 'x'")).toBe('end')
    expect(transactionEffect('ROLLBACK TO SAVEPOINT a')).toBe('inside')
    expect(transactionEffect('COMMIT AND CHAIN')).toBe('inside')
    expect(transactionEffect('SAVEPOINT a')).toBe('inside')
    expect(transactionEffect('SELECT 1')).toBeUndefined()
  })

  it('splits scripts at top-level semicolons only', () => {
    expect(splitStatements("SELECT ';'; SELECT $t$;$t$ ; /* ; */ SELECT 3;;")).toEqual([
      "SELECT ';'",
      ' SELECT $t$;$t$ ',
      ' /* ; */ SELECT 3',
    ])
  })

  it('classifies a script as read-only only when every statement is', () => {
    expect(isReadOnly('SELECT 1; SELECT 2')).toBe(true)
    expect(isReadOnly('SELECT 1; CREATE TABLE t (a int)')).toBe(false)
    expect(isReadOnly('SELECT 1; DELETE FROM t')).toBe(false)
    expect(isReadOnly('')).toBe(false)
  })
})
