import { MemoryDriver } from '../runtimes/memory-driver';
import { ProxyPeer } from './proxy-peer';

describe('ProxyPeer', () => {
  function setup() {
    const driver = new MemoryDriver();
    const rejoins: number[] = [];
    const peer = new ProxyPeer(driver, 'crewclaw-proxy', {
      reconnectRunning: () => {
        rejoins.push(Date.now());
        return Promise.resolve({ reconnected: ['alice'], unreachable: [] });
      },
    });
    return { driver, peer, rejoins };
  }

  it('believes only the running proxy container, on any of its addresses', async () => {
    const { driver, peer } = setup();
    await peer.check();
    expect(peer.isProxy('172.18.0.2')).toBe(false);
    driver.peers.set('crewclaw-proxy', { id: 'a', startedAt: 't1', addresses: ['172.18.0.2', '10.213.0.2'] });
    await peer.check();
    expect(peer.isProxy('172.18.0.2')).toBe(true);
    expect(peer.isProxy('::ffff:172.18.0.2')).toBe(true);
    expect(peer.isProxy('172.18.0.3')).toBe(false);
    expect(peer.isProxy(undefined)).toBe(false);
    driver.peers.delete('crewclaw-proxy');
    await peer.check();
    expect(peer.isProxy('172.18.0.2')).toBe(false);
  });

  it('joins running runtimes again each time the proxy was (re)started, not on every look', async () => {
    const { driver, peer, rejoins } = setup();
    driver.peers.set('crewclaw-proxy', { id: 'a', startedAt: 't1', addresses: ['172.18.0.2'] });
    await peer.check();
    await peer.check();
    expect(rejoins).toHaveLength(1);
    driver.peers.set('crewclaw-proxy', { id: 'a', startedAt: 't2', addresses: ['172.18.0.2'] });
    await peer.check();
    driver.peers.set('crewclaw-proxy', { id: 'b', startedAt: 't2', addresses: ['172.18.0.5'] });
    await peer.check();
    expect(rejoins).toHaveLength(3);
    expect(peer.isProxy('172.18.0.2')).toBe(false);
    expect(peer.isProxy('172.18.0.5')).toBe(true);
  });

  it('keeps going when Docker does not answer', async () => {
    const errors: unknown[] = [];
    const driver = new MemoryDriver();
    const peer = new ProxyPeer(driver, 'crewclaw-proxy', { reconnectRunning: () => Promise.resolve({ reconnected: [], unreachable: [] }), onError: (error) => errors.push(error) });
    driver.available = false;
    await expect(peer.check()).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
  });
});
