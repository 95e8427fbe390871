#!/usr/bin/env node
// `npm run verify:packages`: each package as a stranger gets it from npm. Packs every workspace
// package, checks what the tarball holds, installs it alone into a fresh project (its declared
// dependencies only; the other @hundredfold tarballs stand in for the registry), and imports every
// export entry. An entry that needs an optional peer must fail without it, with an error naming
// the peer; the check then installs just that peer and imports it again.
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const work = mkdtempSync(join(tmpdir(), 'hf-verify-packages-'))
const failures = []
const fail = (name, message) => failures.push(`${name}: ${message}`)

const npm = (args, cwd) =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })

const packageDirs = readdirSync(join(root, 'packages'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => join(root, 'packages', entry.name))
const manifests = packageDirs.map((dir) => ({
  dir,
  json: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')),
}))

// 1. Pack each package and check its contents.
const tarballs = new Map()
mkdirSync(join(work, 'tarballs'))
for (const { dir, json } of manifests) {
  const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', join(work, 'tarballs')], dir))
  tarballs.set(json.name, join(work, 'tarballs', packed.filename))
  const files = packed.files.map((f) => f.path)
  for (const required of ['README.md', 'LICENSE', 'package.json', 'dist/index.js', 'dist/index.d.ts']) {
    if (!files.includes(required)) fail(json.name, `the tarball has no ${required}`)
  }
  for (const file of files) {
    if (/(^|\/)test(s)?\//.test(file) || /\.test\.[cm]?[jt]s$/.test(file))
      fail(json.name, `ships a test: ${file}`)
    if (/\.tsbuildinfo$/.test(file)) fail(json.name, `ships build info: ${file}`)
  }
  for (const field of ['license', 'repository', 'homepage', 'bugs', 'sideEffects']) {
    if (json[field] === undefined) fail(json.name, `package.json has no "${field}"`)
  }
  if (json.publishConfig?.access !== 'public')
    fail(json.name, 'package.json has no publishConfig.access "public"')
}

// 2. Install each alone and import every entry.
const internal = Object.fromEntries([...tarballs].map(([name, file]) => [name, `file:${file}`]))
for (const { json } of manifests) {
  const project = join(work, json.name.replace('/', '+'))
  mkdirSync(project)
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'stranger',
      private: true,
      type: 'module',
      dependencies: { [json.name]: internal[json.name] },
      // Unpublished siblings come from their tarballs, as the registry would serve them.
      overrides: Object.fromEntries(Object.entries(internal).filter(([name]) => name !== json.name)),
    }),
  )
  try {
    npm(['install'], project)
  } catch (err) {
    fail(
      json.name,
      `does not install alone: ${String(err.stderr ?? err.message)
        .trim()
        .split('\n')
        .slice(-3)
        .join(' ')}`,
    )
    continue
  }
  const optionalPeers = Object.keys(json.peerDependenciesMeta ?? {}).filter(
    (peer) => json.peerDependenciesMeta[peer]?.optional,
  )
  for (const entry of Object.keys(json.exports ?? { '.': null })) {
    const specifier = entry === '.' ? json.name : `${json.name}/${entry.slice(2)}`
    const installed = []
    for (let attempt = 0; ; attempt++) {
      const error = tryImport(project, specifier)
      if (error === undefined) break
      // The peer the error says to install, else any it names (`pg` is also in `@hundredfold/pg`).
      const missing = optionalPeers.filter((p) => !installed.includes(p))
      const peer =
        missing.find((p) => error.includes(`npm install ${p}`)) ?? missing.find((p) => error.includes(p))
      if (!peer || attempt > optionalPeers.length) {
        fail(json.name, `import('${specifier}') fails: ${error}`)
        break
      }
      npm(['install', `${peer}@${json.peerDependencies[peer]}`], project)
      installed.push(peer)
    }
    // The next entry starts without the peers this one needed.
    if (installed.length > 0) npm(['uninstall', ...installed], project)
    console.log(`ok ${specifier}${installed.length ? ` (with ${installed.join(', ')})` : ''}`)
  }
}

rmSync(work, { recursive: true, force: true })
if (failures.length > 0) {
  console.error(`\n${failures.length} problem(s):\n${failures.map((f) => `  - ${f}`).join('\n')}`)
  process.exit(1)
}
console.log(`\n${manifests.length} packages pack, install alone and import`)

/** The error message of importing `specifier` in a fresh node, or undefined when it loads. */
function tryImport(cwd, specifier) {
  try {
    execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `await import(${JSON.stringify(specifier)})`],
      {
        cwd,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    return undefined
  } catch (err) {
    return String(err.stderr ?? err.message)
      .split('\n')
      .filter((line) => /Error|install|Cannot find/.test(line))
      .slice(0, 3)
      .join(' ')
      .trim()
  }
}
