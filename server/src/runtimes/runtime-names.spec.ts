import { egressNetworkName, runtimeNames, subnetCapacity, subnetPlan } from './runtime-names';

describe('runtime names and addresses', () => {
  it('names every resource after the user', () => {
    expect(runtimeNames('crewclaw', 'alice')).toEqual({ container: 'crewclaw-rt-alice', volume: 'crewclaw-home-alice', network: 'crewclaw-net-alice' });
    expect(egressNetworkName('crewclaw')).toBe('crewclaw-egress');
  });

  it('carves one /28 per user with a fixed plan', () => {
    expect(subnetPlan('10.213.0.0/16', 0)).toEqual({
      subnet: '10.213.0.0/28',
      gateway: '10.213.0.1',
      proxy: '10.213.0.2',
      controlPlane: '10.213.0.3',
      runtime: '10.213.0.4',
    });
    expect(subnetPlan('10.213.0.0/16', 17).subnet).toBe('10.213.1.16/28');
    expect(subnetPlan('10.213.0.0/16', 4095).runtime).toBe('10.213.255.244');
  });

  it('has room for thousands of users and refuses to leave the pool', () => {
    expect(subnetCapacity('10.213.0.0/16')).toBe(4096);
    expect(() => subnetPlan('10.213.0.0/16', 4096)).toThrow(RangeError);
    expect(() => subnetPlan('10.213.0.0/16', -1)).toThrow(RangeError);
  });
});
