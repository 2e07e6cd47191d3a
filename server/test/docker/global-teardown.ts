/**
 * Removes every container, network and volume a docker test made, whatever happened. Resources
 * carry the prefix of the run that made them (cctest<pid>, support/docker-platform.ts): those of a
 * run still going in another process are left alone, so two test runs on one daemon never pull
 * each other's runtimes away.
 */
import { execFileSync } from 'node:child_process';

function isOtherLiveRun(platform: string | undefined): boolean {
  const pid = Number(/^cctest(\d+)$/.exec(platform ?? '')?.[1]);
  if (!pid || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export default function teardown(): void {
  // Volumes have no ID, only a name.
  const list = (args: string[], id = '{{.ID}}') =>
    execFileSync('docker', [...args, '--filter', 'label=org.crewclaw.test=1', '--format', `${id} {{.Label "org.crewclaw.platform"}}`], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' '))
      .filter(([, platform]) => !isOtherLiveRun(platform))
      .map(([id]) => id!);
  const containers = list(['ps', '-a']);
  if (containers.length) execFileSync('docker', ['rm', '-f', '-v', ...containers]);
  for (const network of list(['network', 'ls'])) {
    try {
      execFileSync('docker', ['network', 'rm', network], { stdio: 'ignore' });
    } catch {
      // in use by something else of ours that is going away
    }
  }
  const volumes = list(['volume', 'ls'], '{{.Name}}');
  if (volumes.length) execFileSync('docker', ['volume', 'rm', '-f', ...volumes]);
  // Network namespaces standing in for outside hosts (support/outside-host.ts), of runs that are over.
  for (const line of execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n')) {
    const name = line.split(' ')[0];
    const owner = /^cctest(\d+)/.exec(name ?? '')?.[1];
    if (name?.startsWith('cctest') && !isOtherLiveRun(owner ? `cctest${owner}` : undefined)) execFileSync('ip', ['netns', 'delete', name]);
  }
  const images = execFileSync('docker', ['images', '-q', '--filter', 'label=org.crewclaw.test=1'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  // An image in use by another run's container refuses to go, which is what we want.
  for (const image of new Set(images)) {
    try {
      execFileSync('docker', ['rmi', image], { stdio: 'ignore' });
    } catch {
      // in use
    }
  }
}
