import { describe, expect, it } from 'vitest'
import { chooseReplicaSubnet, isReplicaNetName, replicaNetLayout } from '../src/netns/replica-net-layout.js'
import { formatCidr, parseCidr, parseIpv4 } from '../src/vip/cidr.js'

const route = (text: string) => ({ network: parseCidr(text)!, text })

describe('replicaNetLayout', () => {
  it('names the namespace and the host link from the id, within 15 characters, and addresses a /30', () => {
    const layout = replicaNetLayout('a1b2c3', parseIpv4('10.232.7.0')!)
    expect(layout).toMatchObject({
      namespace: 'hfpa1b2c3-ns',
      hostInterface: 'hfpa1b2c3-h',
      namespaceInterface: 'eth0',
      subnet: '10.232.7.0/30',
      hostAddress: '10.232.7.1',
      replicaAddress: '10.232.7.2',
    })
    const longest = replicaNetLayout('abcdefgh', parseIpv4('10.232.7.0')!)
    expect(longest.namespace.length).toBeLessThanOrEqual(15)
    expect(longest.hostInterface.length).toBeLessThanOrEqual(15)
  })

  it('refuses an id that would make a bad name and a base that does not start a /30', () => {
    expect(() => replicaNetLayout('Bad-Id', parseIpv4('10.232.7.0')!)).toThrow(/id must be/)
    expect(() => replicaNetLayout('ok', parseIpv4('10.232.7.1')!)).toThrow(/base must start a \/30/)
  })
})

describe('chooseReplicaSubnet', () => {
  it('picks a /30 in 10.232.0.0/16 that no route overlaps, ignoring the default route', () => {
    const chosen = chooseReplicaSubnet([route('default'), route('172.17.0.0/16')], 'a1b2c3')
    expect(chosen.bits).toBe(30)
    expect(formatCidr({ base: chosen.base & 0xffff0000, bits: 16 })).toBe('10.232.0.0/16')
  })

  it('skips a /24 a route already covers (another replica network, say)', () => {
    const first = chooseReplicaSubnet([], 'a1b2c3')
    const taken = formatCidr({ base: first.base, bits: 24 })
    const next = chooseReplicaSubnet([route(taken)], 'a1b2c3')
    expect(formatCidr({ base: next.base, bits: 24 })).not.toBe(taken)
  })
})

describe('isReplicaNetName', () => {
  it('knows its own namespaces and links, and nothing else', () => {
    expect(isReplicaNetName('hfpa1b2c3-ns')).toBe(true)
    expect(isReplicaNetName('hfpa1b2c3-h')).toBe(true)
    expect(isReplicaNetName('hfa1b2c3-lb1')).toBe(false) // a front network's
    expect(isReplicaNetName('eth0')).toBe(false)
  })
})
