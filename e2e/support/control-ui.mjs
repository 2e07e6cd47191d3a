// The OpenClaw Control UI as the specs see it in Chromium: its WebSockets to the gateway, and whether
// it is usable (the gateway accepted the connection and the chat input takes text).
import assert from 'node:assert/strict';
import { eventually } from './browser.mjs';

/**
 * Follows the Control UI's WebSockets on a page: which opened, and whether the gateway accepted each
 * one's `connect` (trusted-proxy auth: no token, no pairing). A gateway still starting its sidecars
 * answers "retry shortly", and the Control UI opens another.
 */
export function watchGateway(page) {
  const sockets = [];
  page.on('websocket', (socket) => {
    const entry = { url: socket.url(), connectId: null, accepted: null, closed: false };
    sockets.push(entry);
    socket.on('framesent', ({ payload }) => {
      const frame = parse(payload);
      if (frame?.type === 'req' && frame.method === 'connect') entry.connectId = frame.id;
    });
    socket.on('framereceived', ({ payload }) => {
      const frame = parse(payload);
      if (frame?.type === 'res' && frame.id === entry.connectId) entry.accepted = frame.ok === true ? true : JSON.stringify(frame.error ?? frame);
    });
    socket.on('close', () => (entry.closed = true));
  });
  return {
    sockets,
    /** Waits until a socket opened as the `count`-th (1-based) or later is open and accepted. */
    accepted: (count, timeoutMs = 90_000) =>
      eventually(
        () => sockets.slice(count - 1).find((entry) => entry.accepted === true && !entry.closed) ?? null,
        (entry) => entry !== null,
        { timeoutMs, what: `a WebSocket from #${count} on accepted by the gateway (seen: ${JSON.stringify(sockets)})` },
      ),
  };
}

function parse(payload) {
  try {
    return JSON.parse(String(payload));
  } catch {
    return null;
  }
}

/** The Control UI is up and usable: the gateway accepted its WebSocket (opened at `socketPath`) and the chat input takes text. */
export async function expectControlUiUsable(page, watcher, socketCount, socketPath) {
  const socket = await watcher.accepted(socketCount);
  assert.equal(new URL(socket.url).pathname, socketPath);
  const box = page.getByPlaceholder(/^Message /);
  await box.waitFor({ timeout: 60_000 });
  await box.fill('Hello from CrewClaw');
  assert.equal(await box.inputValue(), 'Hello from CrewClaw');
  const text = await page.locator('body').innerText();
  assert.doesNotMatch(text, /pairing required|gateway token|unauthorized/i);
}
