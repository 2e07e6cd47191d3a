/**
 * Asks a runtime's gateway whether it is up. OpenClaw answers 200 with its UI's
 * HTML on almost any path, so only the JSON body of /healthz counts:
 * {"ok":true,"status":"live"}.
 */
export type HealthProbe = (address: { host: string; port: number }) => Promise<boolean>;

export const probeGatewayHealth: HealthProbe = async ({ host, port }) => {
  try {
    const response = await fetch(`http://${host}:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return false;
    const body = (await response.json()) as { ok?: unknown };
    return body.ok === true;
  } catch {
    return false;
  }
};
