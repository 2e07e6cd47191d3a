import { routingLabels } from './routing-labels';
import { runtimeAddressing } from './runtime-address';

const byPath = runtimeAddressing('http://localhost:8081');
const byHost = runtimeAddressing('https://*.crew.example.com');

describe('routingLabels', () => {
  it('routes /u/<user> on the runtime entrypoint only, behind forward-auth, never /u/<user>-more', () => {
    const labels = routingLabels('crewclaw', 'al', { tls: false, addressing: byPath });
    expect(labels['traefik.http.routers.crewclaw-rt-al.rule']).toBe('Path(`/u/al`) || PathPrefix(`/u/al/`)');
    expect(labels['traefik.http.routers.crewclaw-rt-al.entrypoints']).toBe('runtimes');
    expect(labels['traefik.http.routers.crewclaw-rt-al.middlewares']).toBe('crewclaw-auth@file,crewclaw-runtime-headers@file');
    expect(labels['traefik.http.routers.crewclaw-rt-al.tls']).toBeUndefined();
  });

  it('marks the router TLS when Traefik serves the runtime origin over HTTPS', () => {
    expect(routingLabels('crewclaw', 'al', { tls: true, addressing: byPath })['traefik.http.routers.crewclaw-rt-al.tls']).toBe('true');
  });

  it('with per-user subdomains, routes the user’s own host (whatever its path) on the runtime and the platform entrypoints', () => {
    const labels = routingLabels('crewclaw', 'al', { tls: true, addressing: byHost });
    expect(labels['traefik.http.routers.crewclaw-rt-al.rule']).toBe('Host(`al.crew.example.com`)');
    expect(labels['traefik.http.routers.crewclaw-rt-al.entrypoints']).toBe('runtimes,websecure');
    expect(labels['traefik.http.routers.crewclaw-rt-al.middlewares']).toBe('crewclaw-auth@file,crewclaw-runtime-headers@file');
    expect(routingLabels('crewclaw', 'al', { tls: false, addressing: byHost })['traefik.http.routers.crewclaw-rt-al.entrypoints']).toBe('runtimes,web');
  });
});
