import { closeSync, constants, openSync, readFileSync, readSync, writeSync } from 'node:fs'

const DEVICE = '/dev/cpu_dma_latency'

/** A held PM-QoS CPU-latency request of 0 µs; lasts until {@link CpuDmaLatencyHold.close}. */
export interface CpuDmaLatencyHold extends Disposable {
  /** The machine-wide CPU-latency limit the kernel reported once the request was made, in µs (0 expected). */
  readonly effectiveUs: number | null
  /** Closes the file descriptor, which withdraws the request; idempotent. */
  close(): void
}

/**
 * Asks the kernel for a CPU wake-up latency of 0 µs by holding `/dev/cpu_dma_latency` open with the 32-bit
 * value 0 written to it — the PM-QoS request tuned's `latency-performance` profile makes. The cpuidle
 * governor then only picks idle states whose exit latency fits, i.e. POLL: an idle CPU spins instead of
 * halting. On a guest with the `haltpoll` cpuidle driver that keeps an idle vCPU from exiting to the host,
 * so a packet for the server does not wait for the host to wake and reschedule the vCPU.
 *
 * Not the machine's default and not part of the service: use it only to show how much of a latency figure is
 * the VM's idle wake-up. The request lasts only while the descriptor is open; close it (or `using`) right after.
 * Returns undefined when the device cannot be opened (not Linux, not root); `why` hears the reason.
 *
 * @example
 * const hold = holdCpuDmaLatencyZero()
 * try { await measure() } finally { hold?.close() }
 */
export function holdCpuDmaLatencyZero(why?: (reason: string) => void): CpuDmaLatencyHold | undefined {
  if (process.platform !== 'linux') {
    why?.(`${DEVICE} exists on Linux only (this is ${process.platform})`)
    return undefined
  }
  let fd: number
  try {
    // O_RDWR without O_CREAT/O_TRUNC: a character device, written to make the request, read to confirm it.
    fd = openSync(DEVICE, constants.O_RDWR)
  } catch (error) {
    why?.(`cannot open ${DEVICE}: ${(error as Error).message}`)
    return undefined
  }
  const value = Buffer.alloc(4)
  try {
    value.writeInt32LE(0)
    writeSync(fd, value)
  } catch (error) {
    closeSync(fd)
    why?.(`cannot write 0 to ${DEVICE}: ${(error as Error).message}`)
    return undefined
  }
  let effectiveUs: number | null = null
  try {
    if (readSync(fd, value, 0, 4, null) === 4) effectiveUs = value.readInt32LE(0)
  } catch {
    // Reading back is only a confirmation; the request stands without it.
  }
  let open = true
  const close = (): void => {
    if (!open) return
    open = false
    closeSync(fd)
  }
  return { effectiveUs, close, [Symbol.dispose]: close }
}

/** The guest's cpuidle driver and governor (`haltpoll`, `intel_idle`, …), or null where sysfs has none. */
export function cpuidleDriver(): { driver: string; governor: string | null } | null {
  const read = (name: string): string | null => {
    try {
      return readFileSync(`/sys/devices/system/cpu/cpuidle/${name}`, 'utf8').trim() || null
    } catch {
      return null
    }
  }
  const driver = read('current_driver')
  return driver === null
    ? null
    : { driver, governor: read('current_governor_ro') ?? read('current_governor') }
}
