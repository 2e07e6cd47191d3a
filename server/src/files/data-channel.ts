/**
 * The control plane's end of the workspace tool's data channel (workspace-tool.cjs, openChannel):
 * a plain TCP connection to the runtime on its private network, which carries a transfer's bytes
 * straight between this process and the tool. `docker exec` stdio would route every byte through
 * dockerd and containerd-shim as well, which on its own runs at about half the speed of `docker cp`.
 */
import { randomBytes } from 'node:crypto';
import net, { type Socket } from 'node:net';

const TOKEN_BYTES = 32;
const CONNECT_TIMEOUT_MS = 5_000;
/**
 * Node's default of 16 KiB makes every 64 KiB chunk a full buffer, so the source is paused and
 * resumed once per chunk (a pair of epoll calls each time); 1 MiB lets chunks flow. The workspace
 * tool uses the same on its end.
 */
export const CHANNEL_BUFFER_BYTES = 1024 * 1024;

/** A one-time secret: handed to the tool on its stdin, presented as the channel's first bytes. */
export function channelToken(): Buffer {
  return randomBytes(TOKEN_BYTES);
}

/** Connects and presents the token; the socket always has an error listener, so a reset never crashes us. */
export function connectChannel(host: string, port: number, token: Buffer): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // net.Socket honours highWaterMark (Node >= 18.17), though @types/node lists it for servers only.
    const options: net.TcpNetConnectOpts & { highWaterMark: number } = { host, port, noDelay: true, highWaterMark: CHANNEL_BUFFER_BYTES };
    const socket = net.connect(options);
    socket.on('error', () => undefined);
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => socket.destroy(new Error(`no answer from ${host}:${port}`)));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.setTimeout(0);
      // A runtime that vanished without a FIN or RST (its host network torn down) is noticed.
      socket.setKeepAlive(true, 10_000);
      socket.off('error', reject);
      socket.write(token);
      resolve(socket);
    });
  });
}
