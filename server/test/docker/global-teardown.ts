/** Removes every container, network and volume a docker test made, whatever happened. */
import { execFileSync } from 'node:child_process';

export default function teardown(): void {
  const list = (args: string[]) =>
    execFileSync('docker', [...args, '--filter', 'label=org.crewclaw.test=1'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  const containers = list(['ps', '-aq']);
  if (containers.length) execFileSync('docker', ['rm', '-f', ...containers]);
  for (const network of list(['network', 'ls', '-q'])) {
    try {
      execFileSync('docker', ['network', 'rm', network], { stdio: 'ignore' });
    } catch {
      // in use by something else of ours that is going away
    }
  }
  const volumes = list(['volume', 'ls', '-q']);
  if (volumes.length) execFileSync('docker', ['volume', 'rm', '-f', ...volumes]);
  // Network namespaces standing in for outside hosts (support/outside-host.ts).
  for (const line of execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n')) {
    const name = line.split(' ')[0];
    if (name?.startsWith('cctest')) execFileSync('ip', ['netns', 'delete', name]);
  }
  const images = list(['images', '-q']);
  if (images.length) execFileSync('docker', ['rmi', '-f', ...new Set(images)], { stdio: 'ignore' });
}
