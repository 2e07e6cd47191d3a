/**
 * Reads the kernel's table of a container's TCP connections (/proc/net/tcp and tcp6, as `cat` prints
 * them inside the container) to count the open connections from one peer to one local port. That is
 * how the idle stop sees a Control UI in use: its WebSocket passes the forward-auth check once, when
 * it opens, and then stays open through Traefik for as long as the page is.
 */

const ESTABLISHED = '01';
/** An IPv4 address as an IPv6 socket shows it: ::ffff:a.b.c.d. */
const V4_MAPPED_PREFIX = '0000000000000000FFFF0000';

/** The kernel prints each 32-bit word of an address in host byte order: little-endian on x86 and arm64. */
function ipv4FromHex(hex: string): string {
  const bytes = hex.match(/../g) ?? [];
  return bytes.reverse().map((byte) => Number.parseInt(byte, 16)).join('.');
}

function addressOf(hexAddress: string): string | null {
  if (hexAddress.length === 8) return ipv4FromHex(hexAddress);
  if (hexAddress.length === 32 && hexAddress.toUpperCase().startsWith(V4_MAPPED_PREFIX)) return ipv4FromHex(hexAddress.slice(24));
  return null;
}

export function countEstablished(table: string, localPort: number, peerAddress: string): number {
  let count = 0;
  for (const line of table.split('\n')) {
    // "  sl  local_address rem_address   st ..." then rows such as
    // "   3: 0400D50A:4965 0200D50A:B2A6 01 ..."
    const [, local, remote, state] = line.trim().split(/\s+/);
    if (!local || !remote || state !== ESTABLISHED) continue;
    const [, localPortHex] = local.split(':');
    const [remoteHex] = remote.split(':');
    if (localPortHex === undefined || remoteHex === undefined) continue;
    if (Number.parseInt(localPortHex, 16) === localPort && addressOf(remoteHex) === peerAddress) count += 1;
  }
  return count;
}
