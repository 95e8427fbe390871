import { fileURLToPath } from 'node:url'

/** The bench package folder (this file sits in `bench/src` or `bench/dist`). */
export const BENCH_DIR = fileURLToPath(new URL('../', import.meta.url))
/** The repository root. */
export const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url))
/** Where suites write their JSON, HTML and PNG. */
export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url))
/** The reference system's entry point after `npm run build`. */
export const APP_ENTRY = fileURLToPath(new URL('../../apps/microblog/dist/main.js', import.meta.url))
/** The kit's own stand-in server (built with the kit), for self-checks without the app. */
export const SYNTHETIC_ENTRY = fileURLToPath(new URL('../dist/target/synthetic/main.js', import.meta.url))
/** socfb-Reed98 beside the repository. */
export const DEFAULT_DATASET_DIR = fileURLToPath(
  new URL('../../../shared/datasets/socfb-Reed98', import.meta.url),
)
