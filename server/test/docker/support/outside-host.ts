/**
 * A stand-in for "the internet": a host in its own network namespace, reached from the Docker host
 * through a veth pair. A runtime's packets to it leave their bridge through the host's forwarding and
 * NAT, exactly as they would on their way to a real server, without the test depending on the
 * machine's outside network (CI machines have none).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export interface OutsideHost {
  address: string;
  port: number;
  close(): void;
}

// 198.18.0.0/15 is reserved for network tests (RFC 2544), so it never collides with a real route.
const HOST_SIDE = '198.18.77.1';
const OUTSIDE_SIDE = '198.18.77.2';
const PORT = 8077;

const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });

export async function startOutsideHost(name: string): Promise<OutsideHost> {
  removeOutsideHost(name);
  const hostLink = `${name.slice(0, 11)}h`;
  ip('netns', 'add', name);
  ip('link', 'add', hostLink, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', name);
  ip('addr', 'add', `${HOST_SIDE}/30`, 'dev', hostLink);
  ip('link', 'set', hostLink, 'up');
  ip('-n', name, 'addr', 'add', `${OUTSIDE_SIDE}/30`, 'dev', 'eth0');
  ip('-n', name, 'link', 'set', 'eth0', 'up');
  ip('-n', name, 'link', 'set', 'lo', 'up');
  // The outside host knows nothing of Docker's subnets, like a real server: replies only work
  // because the Docker host masquerades the runtime's traffic as its own address.
  const server: ChildProcess = spawn(
    'ip',
    ['netns', 'exec', name, process.execPath, '-e', `require('node:net').createServer((s) => s.on('error', () => {}).end('outside\\n')).listen(${PORT}, '${OUTSIDE_SIDE}', () => console.log('ready'))`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    server.stdout?.once('data', () => resolve());
    server.once('exit', (code) => reject(new Error(`the outside host's server exited with ${code}`)));
  });
  return {
    address: OUTSIDE_SIDE,
    port: PORT,
    close() {
      server.kill();
      removeOutsideHost(name);
    },
  };
}

export function removeOutsideHost(name: string): void {
  try {
    // Deleting the namespace also deletes both ends of the veth pair.
    ip('netns', 'delete', name);
  } catch {
    // not there
  }
}
