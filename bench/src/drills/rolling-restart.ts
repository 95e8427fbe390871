import { stackDrill } from './stack-drill.js'

/**
 * `npm run drill -- rolling-restart`: a release. Under the mix at half its MST, every app process is
 * restarted one at a time (taken out of nginx's upstream, drained, stopped, started, put back). Floor:
 * `failed_requests` = 0.
 */
export const rollingRestart = stackDrill({
  name: 'rolling-restart',
  description:
    'Every app process of the stack restarted one by one under the mix at half its MST, through nginx',
  async action(stack, signal, log) {
    await stack.restartApps(signal, (line) => log(line))
  },
  floors: { failed_requests: { max: 0 } },
  metrics: () => ({}),
})
