import {
  invisibleInside,
  leetSpeak,
  lookAlikes,
  misspelt,
  spacedOut,
  stretched,
  styled,
} from './disguises.js'
import { blocklistedDomains, urlShorteners } from './lexicon.js'
import type { SeededRandom } from './seeded-random.js'

// Spam as it reaches a social network: pharma, crypto, easy money, link farms, bought followers, prizes,
// dating, casinos, loans and replicas, with links, phone numbers, shouting and disguised words.

const drugs = ['viagra', 'cialis', 'levitra', 'xanax', 'tramadol', 'oxycodone', 'adderall', 'phentermine']
const moreDrugs = ['valium', 'ambien', 'ozempic', 'weight loss pills', 'keto pills', 'steroids']
const coins = ['bitcoin', 'ethereum', 'crypto', 'dogecoin', 'solana']
const tickers = ['BTC', 'ETH', 'DOGE', 'SOL', 'USDT']
const celebrities = ['Elon', 'Mr Beast', 'Vitalik', 'Binance']
const prizes = ['iPhone 15', 'PS5', '$1000 gift card', 'MacBook', 'Tesla', 'vacation to Bali']
const brands = ['Rolex', 'Gucci', 'Louis Vuitton', 'Ray-Ban', 'Omega', 'Nike']
const cities = ['Portland', 'Austin', 'Berlin', 'Toronto', 'Melbourne', 'Denver', 'your area', 'your city']
const baits = ['best deals here', 'check these out', 'top offers', 'hot deals', 'must see', 'click here']
const shouts = ['!!!!!!', '$$$$$', '🔥🔥🔥🔥', '💰💰💰', '🚀🚀🚀', '‼️‼️', '!!!', '💯💯💯']
const openers = ['🚨', '💰', '🔥', '🚀', '✅', '⚡', 'ATTENTION:', 'WOW', 'LAST CHANCE:']
const spamWordsIn = [
  'viagra',
  'cialis',
  'bitcoin',
  'crypto',
  'free',
  'casino',
  'cash',
  'money',
  'followers',
  'giveaway',
  'prize',
  'winner',
  'click',
  'offer',
  'cheap',
  'pharmacy',
  'loans',
  'bonus',
]
const siteWords = ['cheap', 'meds', 'pills', 'rx', 'crypto', 'btc', 'cash', 'win', 'prize', 'free', 'bonus']
const moreSiteWords = ['deals', 'promo', 'gift', 'claim', 'earn', 'fast', 'best', 'shop', 'hot', 'vip']
const spamTlds = ['xyz', 'top', 'click', 'ru', 'biz', 'info', 'online', 'site', 'live', 'win', 'icu', 'com']

type Template = (r: SeededRandom) => string

const templates: readonly Template[] = [
  // pharma
  (r) =>
    `${r.pick(['buy', 'order', 'get', 'cheap', 'discount'])} ${r.pick([...drugs, ...moreDrugs])} ${r.pick(['online', 'today', 'overnight delivery', 'discreet shipping', 'from canada'])} ${r.pick(['no prescription needed', 'without prescription', 'no rx', ''])} ${r.pick([`${r.int(30, 90)}% off`, 'lowest prices', 'best price guaranteed', 'free shipping', ''])} ${link(r)}`,
  (r) => `${r.pick(drugs)} ${r.pick(drugs)} ${r.pick(moreDrugs)} online pharmacy, ${contact(r)}`,
  // crypto
  (r) =>
    `${r.pick(coins)} giveaway! send ${r.int(1, 5) / 10} ${r.pick(tickers)} and get ${r.int(1, 5)} ${r.pick(tickers)} back ${link(r)}`,
  (r) =>
    `turn $${r.int(1, 9)}00 into $${r.int(5, 50)},000 in ${r.int(24, 72)} hours with our ${r.pick(coins)} trading bot ${contact(r)}`,
  (r) => `${r.pick(celebrities)} is giving away ${r.int(100, 5000)} ${r.pick(tickers)}! claim now ${link(r)}`,
  (r) => `airdrop is live, connect your wallet to claim free ${r.pick(tickers)} ${link(r)}`,
  (r) => `guaranteed ${r.int(5, 40)}% daily returns on ${r.pick(coins)}, send to ${wallet(r)}`,
  // easy money
  (r) =>
    `work from home and earn $${r.int(2, 9)}${r.pick(['00', ',000'])} per day, no experience needed ${link(r)}`,
  (r) => `I made $${r.int(3, 30)},${r.int(100, 999)} last week from my phone, ask me how ${contact(r)}`,
  (r) => `make money fast with this one trick ${link(r)}`,
  (r) => `passive income secret the banks don't want you to know ${link(r)}`,
  // link farm
  (r) => `${r.pick(baits)} ${links(r, r.int(3, 6))}`,
  // followers
  (r) => `get ${r.int(1, 50)}000 real followers for just $${r.int(5, 49)} ${link(r)}`,
  (r) => `free followers and likes, visit my profile ${r.pick(shouts)}`,
  (r) => `want to go viral? ${r.int(10, 100)}k views guaranteed ${link(r)}`,
  // prizes
  (r) => `congratulations! you won a free ${r.pick(prizes)}! claim your prize now ${link(r)}`,
  (r) => `you have been selected for a $${r.int(1, 9)}00 gift card, limited time ${link(r)}`,
  // dating
  (r) => `hot singles in ${r.pick(cities)} want to meet you tonight ${link(r)}`,
  (r) => `lonely? chat with sexy girls near you ${link(r)}`,
  // casino
  (r) => `best online casino, ${r.int(100, 500)}% bonus and ${r.int(50, 300)} free spins ${link(r)}`,
  (r) => `bet now and win big, jackpot every hour ${link(r)}`,
  // loans
  (r) => `payday loans approved in ${r.int(2, 15)} minutes, bad credit ok ${contact(r)}`,
  // replicas
  (r) =>
    `cheap replica ${r.pick(brands)} ${r.pick(['watches', 'bags', 'sunglasses', 'shoes'])} ${r.int(50, 90)}% off ${link(r)}`,
  // no link at all
  (r) => `call now ${phone(r)} for a free quote, limited offer`,
  (r) => `dm me for promo, ${r.int(1, 9)}k followers in a day ${r.pick(shouts)}`,
  (r) => `check my profile for a surprise 😉 ${r.pick(shouts)}`,
]

/** One spam post: a template of one kind of spam, then disguises, each with its own probability. */
export function spamPost(r: SeededRandom): string {
  let text = r.pick(templates)(r).replace(/\s+/g, ' ').trim()
  if (r.chance(0.3)) text = `${r.pick(openers)} ${text}`
  if (r.chance(0.3)) text = `${text} ${r.pick(shouts)}`
  if (r.chance(0.2)) text = `${text} ${contact(r)}`
  if (r.chance(0.6)) text = disguise(r, text)
  if (r.chance(0.2)) text = text.toUpperCase()
  return text
}

/** Disguises one to three of the spam words in `text`. */
function disguise(r: SeededRandom, text: string): string {
  const disguises = [leetSpeak, lookAlikes, spacedOut, invisibleInside, styled, stretched, misspelt]
  const times = r.int(1, 3)
  for (let i = 0; i < times; i++) {
    const word = r.pick(spamWordsIn)
    const at = text.toLowerCase().indexOf(word)
    if (at < 0) continue
    const original = text.slice(at, at + word.length)
    text = text.slice(0, at) + r.pick(disguises)(r, original) + text.slice(at + word.length)
  }
  return text
}

function link(r: SeededRandom): string {
  const roll = r.next()
  let host: string
  if (roll < 0.2) host = r.pick(blocklistedDomains)
  else if (roll < 0.35) host = r.pick(urlShorteners)
  else {
    const words = [...siteWords, ...moreSiteWords]
    host = `${r.pick(words)}${r.pick(['-', '', '4'])}${r.pick(words)}${r.chance(0.3) ? r.int(1, 99) : ''}.${r.pick(spamTlds)}`
  }
  const scheme = r.pick(['https://', 'http://', 'www.', ''])
  return `${scheme}${host}/${randomPath(r)}`
}

function links(r: SeededRandom, n: number): string {
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(link(r))
  return out.join(' ')
}

function randomPath(r: SeededRandom): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'
  let out = ''
  for (let i = r.int(0, 8); i > 0; i--) out += alphabet.charAt(r.int(0, alphabet.length - 1))
  return out
}

function contact(r: SeededRandom): string {
  const roll = r.next()
  if (roll < 0.45) return `${r.pick(['whatsapp', 'call', 'text', 'WhatsApp', 'Call'])} ${phone(r)}`
  if (roll < 0.7)
    return `telegram @${r.pick(['crypto', 'rich', 'vip', 'fx', 'promo'])}_${r.pick(['king', 'guru', 'desk', 'help'])}${r.int(1, 999)}`
  return r.pick(['dm me', 'DM me now', 'inbox me', 'message me for details'])
}

function phone(r: SeededRandom): string {
  const d = (n: number) => {
    let s = String(r.int(1, 9))
    for (let i = 1; i < n; i++) s += String(r.int(0, 9))
    return s
  }
  return r.pick([
    () => `+1 (${d(3)}) ${d(3)}-${d(4)}`,
    () => `${d(3)}-${d(3)}-${d(4)}`,
    () => `+44 7${d(3)} ${d(6)}`,
    () => `+234 ${d(3)} ${d(3)} ${d(4)}`,
    () => `+91 ${d(5)} ${d(5)}`,
    () => `(${d(3)}) ${d(3)} ${d(4)}`,
  ])()
}

function wallet(r: SeededRandom): string {
  const base58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
  const hex = '0123456789abcdef'
  const bech32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'
  const roll = r.next()
  if (roll < 0.35) {
    let s = r.pick(['1', '3'])
    for (let i = r.int(25, 33); i > 0; i--) s += base58.charAt(r.int(0, base58.length - 1))
    return s
  }
  if (roll < 0.6) {
    let s = 'bc1q'
    for (let i = 38; i > 0; i--) s += bech32.charAt(r.int(0, bech32.length - 1))
    return s
  }
  let s = '0x'
  for (let i = 0; i < 40; i++) s += hex.charAt(r.int(0, 15))
  return s
}
