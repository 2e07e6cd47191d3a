/**
 * Names and addresses of a user's runtime resources, shared by every driver:
 * container <prefix>-rt-<user>, volume <prefix>-home-<user>, network
 * <prefix>-net-<user>, the fixed plan of the user's /28, and the one egress
 * network <prefix>-egress that every runtime shares for its way out.
 */
export const GATEWAY_PORT = 18789;
export const STATE_DIR = '/home/node/.openclaw';
export const WORKSPACE_DIR = `${STATE_DIR}/workspace`;

export const LABELS = {
  platform: 'org.crewclaw.platform',
  role: 'org.crewclaw.role',
  user: 'org.crewclaw.user',
  image: 'org.crewclaw.image',
  specHash: 'org.crewclaw.spec-hash',
} as const;

export interface RuntimeNames {
  container: string;
  volume: string;
  network: string;
}

export function runtimeNames(prefix: string, username: string): RuntimeNames {
  return { container: `${prefix}-rt-${username}`, volume: `${prefix}-home-${username}`, network: `${prefix}-net-${username}` };
}

/**
 * The network that gives runtimes their way to the internet. User networks have none (they are
 * internal, so they can never become a shared container's default route); no shared container joins
 * this one, and runtimes on it cannot reach each other.
 */
export function egressNetworkName(prefix: string): string {
  return `${prefix}-egress`;
}

/**
 * One /28 per user: .1 the bridge's own address on the host (not a way out: user networks are
 * internal), .2 Traefik, .3 the control plane, .4 the runtime.
 */
export interface SubnetPlan {
  subnet: string;
  gateway: string;
  proxy: string;
  controlPlane: string;
  runtime: string;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);
}

function intToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export function subnetCapacity(pool: string): number {
  const prefixLength = Number(pool.split('/')[1]);
  return 2 ** (28 - prefixLength);
}

export function subnetPlan(pool: string, index: number): SubnetPlan {
  const [baseIp, bits] = pool.split('/') as [string, string];
  if (!Number.isInteger(index) || index < 0 || index >= subnetCapacity(pool)) {
    throw new RangeError(`subnet index ${index} is outside ${pool}`);
  }
  const mask = 2 ** 32 - 2 ** (32 - Number(bits));
  const base = (ipToInt(baseIp) & mask) >>> 0;
  const start = base + index * 16;
  return {
    subnet: `${intToIp(start)}/28`,
    gateway: intToIp(start + 1),
    proxy: intToIp(start + 2),
    controlPlane: intToIp(start + 3),
    runtime: intToIp(start + 4),
  };
}
