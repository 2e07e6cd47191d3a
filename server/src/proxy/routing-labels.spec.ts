import { routingLabels } from './routing-labels';

describe('routingLabels', () => {
  it('routes /u/<user> on the runtime entrypoint only, behind forward-auth, never /u/<user>-more', () => {
    const labels = routingLabels('crewclaw', 'al', { tls: false });
    expect(labels['traefik.http.routers.crewclaw-rt-al.rule']).toBe('Path(`/u/al`) || PathPrefix(`/u/al/`)');
    expect(labels['traefik.http.routers.crewclaw-rt-al.entrypoints']).toBe('runtimes');
    expect(labels['traefik.http.routers.crewclaw-rt-al.middlewares']).toBe('crewclaw-auth@file,crewclaw-runtime-headers@file');
    expect(labels['traefik.http.routers.crewclaw-rt-al.tls']).toBeUndefined();
  });

  it('marks the router TLS when Traefik serves the runtime origin over HTTPS', () => {
    expect(routingLabels('crewclaw', 'al', { tls: true })['traefik.http.routers.crewclaw-rt-al.tls']).toBe('true');
  });
});
