import { describe } from 'vitest'
import { memoryHomeTimelines } from '../src/storage/home-timelines-memory.js'
import { redisHomeTimelines } from '../src/storage/home-timelines-redis.js'
import { homeTimelinesContract } from './home-timelines-contract.js'

const REDIS_URL = process.env['HF_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379'

describe('home timelines in process', () => {
  homeTimelinesContract((max) => memoryHomeTimelines({ max }))
})

describe('home timelines on Redis', () => {
  const prefix = `hf:test${process.pid}:home:`
  homeTimelinesContract((max) => redisHomeTimelines({ connection: REDIS_URL, max, prefix }))
})
