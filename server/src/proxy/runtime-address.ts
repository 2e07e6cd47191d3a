/**
 * Where each user's runtime is served, read from RUNTIME_URL, in one of two layouts:
 *
 * - `path` (the default, `http://localhost:8081`): one runtime origin for everyone, each runtime under
 *   /u/<user>/. Needs no DNS, so it works with a bare IP or localhost. The runtime origin is apart from
 *   the platform's, but all runtimes share it, and it shares the platform's host name (cookies ignore ports).
 * - `subdomain` (`https://*.crew.example.com`): every runtime at the root of a host of its own,
 *   `<user>.crew.example.com`, as JupyterHub does. The platform's host-only session cookie never reaches
 *   a runtime's host, one user's agent pages cannot reach another's, and OpenClaw serves its Control UI and
 *   canvas at the paths it expects. The browser signs in to a runtime's host through a one-time code
 *   (runtime-handoff.ts). Needs a wildcard DNS name and, for HTTPS, a wildcard certificate.
 */
export type RuntimeAddressing =
  | { readonly layout: 'path'; readonly origin: string }
  | { readonly layout: 'subdomain'; readonly protocol: string; readonly domain: string; readonly port: string };

const WILDCARD = '*.';

/** RUNTIME_URL read; it is already a checked origin (config.ts). */
export function runtimeAddressing(runtimeUrl: string): RuntimeAddressing {
  const url = new URL(runtimeUrl);
  if (!url.hostname.startsWith(WILDCARD)) return { layout: 'path', origin: url.origin };
  return { layout: 'subdomain', protocol: url.protocol, domain: url.hostname.slice(WILDCARD.length), port: url.port };
}

/** The origin a user's Control UI is served from: the only one its WebSocket accepts. */
export function runtimeOrigin(addressing: RuntimeAddressing, username: string): string {
  if (addressing.layout === 'path') return addressing.origin;
  return `${addressing.protocol}//${username}.${addressing.domain}${addressing.port ? `:${addressing.port}` : ''}`;
}

/** Where the Control UI's paths start on its origin: `/u/<user>`, or the root of the user's own host. */
export function runtimeBasePath(addressing: RuntimeAddressing, username: string): string {
  return addressing.layout === 'path' ? `/u/${username}` : '';
}

/** The Control UI's address, what "Open Control UI" opens. */
export function controlUiUrl(addressing: RuntimeAddressing, username: string): string {
  return `${runtimeOrigin(addressing, username)}${runtimeBasePath(addressing, username)}/`;
}

/**
 * The address of `rest` (a path, query kept) inside a user's runtime: `/chat?x` becomes
 * `<origin>/u/alice/chat?x` or `<alice's origin>/chat?x`.
 */
export function runtimeAddress(addressing: RuntimeAddressing, username: string, rest: string): string {
  return `${runtimeOrigin(addressing, username)}${runtimeBasePath(addressing, username)}${rest.startsWith('/') ? rest : `/${rest}`}`;
}

/**
 * The first label of a Host header in the subdomain layout when the rest is the runtimes' domain
 * (`alice` from `alice.crew.example.com[:port]`), or null for any other host. Whether it names a user
 * is for the caller to say. DNS names are case-blind (browsers send them in lower case anyway).
 */
export function hostLabel(addressing: RuntimeAddressing, host: string | undefined): string | null {
  if (addressing.layout !== 'subdomain' || !host) return null;
  const name = host.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  const suffix = `.${addressing.domain}`;
  if (!name.endsWith(suffix)) return null;
  const label = name.slice(0, -suffix.length);
  return /^[a-z0-9-]+$/.test(label) ? label : null;
}

/** A problem with RUNTIME_URL's layout next to PUBLIC_URL, or null. */
export function addressingProblem(addressing: RuntimeAddressing, publicUrl: string): string | null {
  if (addressing.layout === 'path') return null;
  if (addressing.domain.includes('*') || !addressing.domain.includes('.') && addressing.domain !== 'localhost') {
    return `RUNTIME_URL: a wildcard is only allowed as the whole first label, over a domain with a dot or localhost (https://*.crew.example.com), got ${addressing.protocol}//*.${addressing.domain}`;
  }
  // The platform's own host must not be under the runtime hosts' domain: Traefik routes every name there
  // to runtimes (a user "crew" would get crew.<domain>).
  const platform = new URL(publicUrl);
  if (platform.hostname.toLowerCase().replace(/\.$/, '').endsWith(`.${addressing.domain}`)) {
    return `RUNTIME_URL: PUBLIC_URL's host ${platform.hostname} is one of the runtime hosts *.${addressing.domain}; serve the platform on another name (for example the domain itself)`;
  }
  // One scheme for both: HSTS from an https platform would also force its subdomains to https, and a
  // plain-http platform would make every runtime host's cookie pointless.
  if (platform.protocol !== addressing.protocol) {
    return `RUNTIME_URL: with per-user hosts, use the same scheme as PUBLIC_URL (${platform.protocol.slice(0, -1)}), got ${addressing.protocol}//*.${addressing.domain}`;
  }
  return null;
}
