import type { SeededRandom } from './seeded-random.js'

// Everyday posts of a social network, built from word lists. Some use the words spam uses too (`free`,
// `buy`, `deal`, `won`, a price, a link, a shout), so the classifier has to learn more than a word list.

const people = ['my mom', 'my dad', 'my sister', 'my brother', 'my roommate', 'my boss', 'the kids']
const morePeople = ['my partner', 'grandma', 'our neighbor', 'my best friend', 'the whole team', 'my cat']
const places = ['the park', 'the library', 'the gym', 'the office', 'the beach', 'the farmers market']
const morePlaces = [
  'that new ramen place',
  'the coffee shop downtown',
  'the museum',
  'the airport',
  'the lake',
]
const shops = ['dentist', 'bakery', 'mechanic', 'climbing gym', 'bookstore', 'vet', 'thai place', 'barber']
const cities = ['Portland', 'Austin', 'Berlin', 'Lisbon', 'Toronto', 'Melbourne', 'Denver', 'Leeds', 'Osaka']
const foods = ['pancakes', 'tacos', 'leftover pizza', 'ramen', 'a huge salad', 'banana bread', 'pho', 'curry']
const moreFoods = ['grilled cheese', 'sourdough', 'dumplings', 'chili', 'lasagna', 'overnight oats']
const meals = ['breakfast', 'lunch', 'dinner', 'a late snack']
const activities = ['a run', 'a hike', 'board games', 'karaoke', 'yoga', 'a bike ride', 'trivia night']
const moreActivities = ['a movie', 'brunch', 'pottery class', 'band practice', 'a long walk', 'a swim']
const times = ['this morning', 'tonight', 'last night', 'today', 'this weekend', 'on saturday', 'after work']
const moreTimes = ['at lunch', 'tomorrow', 'all day', 'since 6am', 'at 7pm', 'on sunday', 'next week']
const feelings = ['amazing', 'so good', 'exhausting', 'weird', 'perfect', 'hilarious', 'a disaster', 'lovely']
const moreFeelings = [
  'underrated',
  'worth it',
  'chaotic',
  'too cold',
  'surprisingly fun',
  'a lot',
  'fine I guess',
]
const reactions = ['lol', 'haha', 'ugh', 'wow', 'send help', '10/10', 'no regrets', 'wish me luck', 'oh well']
const emoji = ['🙃', '😂', '☕', '🎉', '❤️', '🌧️', '🐶', '🌮', '📚', '🏃', '😴', '🙌', '✨']
const topics = ['typescript generics', 'postgres indexes', 'gardening', 'sourdough starters', 'bird watching']
const moreTopics = [
  'marathon training',
  'climbing',
  'jazz records',
  'pixel art',
  'rust lifetimes',
  'knitting',
]
const shows = ['Dune', 'The Bear', 'Severance', 'an old Hitchcock movie', 'Pride and Prejudice', 'the news']
const teams = ['the Lakers', 'Arsenal', 'the Yankees', 'our local team', 'the Canucks', 'Bayern', 'the Bears']
const items = ['a new bike', 'running shoes', 'a used couch', 'concert tickets', 'a plant', 'a rice cooker']
const chores = ['laundry', 'the dishes', 'groceries', 'my taxes', 'my inbox', 'the garage', 'meal prep']
const groceries = ['milk', 'eggs', 'coffee beans', 'bread', 'cat food', 'batteries', 'a birthday card']
const weather = ['pouring rain', 'sunny for once', 'freezing', 'so windy', 'weirdly warm', 'foggy']
const roads = ['the highway', 'main street', 'the bridge', 'the ring road', 'I-5']
const events = ['the weekend', 'the concert', 'vacation', 'spring', 'the long weekend', 'the wedding']
const facts = [
  'octopuses have three hearts',
  'honey never spoils',
  'bananas are berries',
  'the eiffel tower grows in summer',
  'sloths can hold their breath longer than dolphins',
]
const freebies = ['coffee at the office', 'pizza at the meetup', 'tickets to the museum on sundays']
const milestones = ['the new job', 'the baby', 'finishing the marathon', 'the new place', 'graduating']
const favors = ['the ride', 'the book recommendation', 'helping me move', 'the soup', 'fixing my bike']
const hamDomains = ['nytimes.com', 'bbc.co.uk', 'github.com', 'youtube.com', 'en.wikipedia.org']
const moreHamDomains = ['theguardian.com', 'medium.com', 'npr.org', 'arstechnica.com', 'reddit.com']
const users = ['sam', 'alex_k', 'jordan', 'priya', 'mo', 'lena', 'chris_b', 'taylor', 'nina', 'omar']
const hashtags = ['#mondays', '#coffee', '#running', '#booklover', '#weekend', '#gardening', '#tbt', '#food']

const all = {
  person: [...people, ...morePeople],
  place: [...places, ...morePlaces],
  food: [...foods, ...moreFoods],
  activity: [...activities, ...moreActivities],
  time: [...times, ...moreTimes],
  feeling: [...feelings, ...moreFeelings],
  topic: [...topics, ...moreTopics],
  domain: [...hamDomains, ...moreHamDomains],
}

type Sentence = (r: SeededRandom) => string

const sentences: readonly Sentence[] = [
  (r) => `just finished ${r.pick(all.activity)} ${r.pick(all.time)}, ${r.pick(all.feeling)}`,
  (r) => `anyone know a good ${r.pick(shops)} in ${r.pick(cities)}?`,
  (r) => `can't believe ${r.pick(teams)} ${r.pick(['won', 'lost', 'drew'])} ${r.pick(all.time)}`,
  (r) => `${r.pick(all.food)} for ${r.pick(meals)} again`,
  (r) => `reading ${r.pick(shows)} and it's ${r.pick(all.feeling)}`,
  (r) => `watching ${r.pick(shows)} with ${r.pick(all.person)} ${r.pick(all.time)}`,
  (r) => `need to buy ${r.pick(groceries)} and ${r.pick(groceries)} before ${r.pick(all.time)}`,
  (r) => `who's free ${r.pick(all.time)} for ${r.pick(all.activity)}?`,
  (r) => `happy birthday @${r.pick(users)}! hope it's ${r.pick(all.feeling)}`,
  (r) => `big thanks to @${r.pick(users)} for ${r.pick(favors)}`,
  (r) => `new blog post about ${r.pick(all.topic)}: ${hamUrl(r)}`,
  (r) => `this piece on ${r.pick(all.topic)} is worth a read ${hamUrl(r)}`,
  (r) => `meeting ${r.pick(all.person)} at ${r.pick(all.place)} ${r.pick(all.time)}`,
  (r) => `traffic on ${r.pick(roads)} is ${r.pick(all.feeling)} today`,
  (r) => `got ${r.pick(items)} for $${r.int(5, 400)}, what a deal`,
  (r) => `call me when you land @${r.pick(users)}`,
  (r) => `${r.pick(all.person)} made ${r.pick(all.food)}, ${r.pick(reactions)}`,
  (r) => `can't wait for ${r.pick(events)}`,
  (r) => `finally done with ${r.pick(chores)}`,
  (r) => `${r.pick(all.place)} was packed ${r.pick(all.time)}`,
  (r) => `learning ${r.pick(all.topic)} is ${r.pick(all.feeling)}`,
  (r) => `TIL ${r.pick(facts)}`,
  (r) => `weather in ${r.pick(cities)} is ${r.pick(weather)}`,
  (r) => `free ${r.pick(freebies)}!`,
  (r) => `we won ${r.pick(all.activity)}!!! ${r.pick(emoji)}`,
  (r) => `selling ${r.pick(items)}, DM me if interested`,
  (r) => `congrats @${r.pick(users)} on ${r.pick(milestones)}!`,
  (r) => `${r.pick(all.person)} says hi to everyone`,
  (r) => `ran ${r.int(3, 21)}k ${r.pick(all.time)} in ${r.int(20, 59)} minutes`,
  (r) => `my flight to ${r.pick(cities)} is delayed ${r.int(2, 5)} hours ${r.pick(reactions)}`,
  (r) => `photos from ${r.pick(all.place)} ${hamUrl(r)}`,
]

/**
 * One everyday post: one to three sentences, then now and then a reaction, an emoji, a hashtag, a
 * stretched word or a shout.
 */
export function hamPost(r: SeededRandom): string {
  const count = r.chance(0.6) ? 1 : r.chance(0.75) ? 2 : 3
  const parts: string[] = []
  for (let i = 0; i < count; i++) parts.push(r.pick(sentences)(r))
  let text = parts.join(r.pick(['. ', ', ', ' - ', '! ', '\n']))
  if (r.chance(0.5)) text = text.charAt(0).toUpperCase() + text.slice(1)
  if (r.chance(0.3)) text += ` ${r.pick(reactions)}`
  if (r.chance(0.25)) text += ` ${r.pick(emoji)}`
  if (r.chance(0.15)) text += ` ${r.pick(hashtags)}`
  if (r.chance(0.06)) text = stretch(r, text)
  if (r.chance(0.05)) text = `${r.pick(['OMG', 'WOW', 'FINALLY', 'YES'])} ${text}`
  if (r.chance(0.05)) text = typo(r, text)
  return text
}

function hamUrl(r: SeededRandom): string {
  const path = r.pick(['2024/05/', 'watch?v=', 'wiki/', 'r/', 'p/', ''])
  return `${r.pick(['https://', 'https://www.', 'http://', 'www.', ''])}${r.pick(all.domain)}/${path}${slug(r)}`
}

function slug(r: SeededRandom): string {
  const words = ['the', 'best', 'guide', 'why', 'how', 'we', 'built', 'city', 'notes', 'release', 'history']
  const n = r.int(1, 4)
  const out: string[] = []
  for (let i = 0; i < n; i++) out.push(r.pick(words))
  return out.join('-')
}

/** `so` → `soooo`: people stretch words, not past four letters. */
function stretch(r: SeededRandom, text: string): string {
  return text.replace(/\b(so|good|yes|no|nice|love)\b/, (w) => w + w.at(-1)!.repeat(r.int(1, 3)))
}

/** Two neighbouring letters swapped somewhere. */
function typo(r: SeededRandom, text: string): string {
  const i = r.int(1, Math.max(1, text.length - 2))
  return text.slice(0, i) + text.charAt(i + 1) + text.charAt(i) + text.slice(i + 2)
}
