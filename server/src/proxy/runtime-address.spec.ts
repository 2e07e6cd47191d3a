import { addressingProblem, controlUiUrl, hostLabel, runtimeAddress, runtimeAddressing, runtimeOrigin } from './runtime-address';

describe('runtime addresses', () => {
  const byPath = runtimeAddressing('http://192.168.1.20:8081');
  const byHost = runtimeAddressing('https://*.crew.example.com');
  const byHostWithPort = runtimeAddressing('http://*.localhost:8080');

  it('serves every runtime under /u/<user>/ on one origin by default', () => {
    expect(byPath.layout).toBe('path');
    expect(controlUiUrl(byPath, 'alice')).toBe('http://192.168.1.20:8081/u/alice/');
    expect(runtimeAddress(byPath, 'alice', '/chat?session=main')).toBe('http://192.168.1.20:8081/u/alice/chat?session=main');
    expect(runtimeOrigin(byPath, 'alice')).toBe(runtimeOrigin(byPath, 'bob'));
  });

  it('gives each user a host of their own with a wildcard, the port kept', () => {
    expect(controlUiUrl(byHost, 'alice')).toBe('https://alice.crew.example.com/');
    expect(runtimeAddress(byHost, 'alice', '/chat?session=main')).toBe('https://alice.crew.example.com/chat?session=main');
    expect(runtimeOrigin(byHostWithPort, 'bob')).toBe('http://bob.localhost:8080');
  });

  it.each([
    ['alice.crew.example.com', 'alice'],
    ['ALICE.Crew.Example.com:443', 'alice'],
    ['alice.crew.example.com.', 'alice'],
    ['crew.example.com', null],
    ['a.b.crew.example.com', null],
    ['alice.crew.example.com.evil.test', null],
    ['alice_x.crew.example.com', null],
    ['9lives.crew.example.com', '9lives'],
    ['evilcrew.example.com', null],
    [undefined, null],
  ])('reads the label a Host header puts before the runtimes’ domain: %s', (host, owner) => {
    expect(hostLabel(byHost, host)).toBe(owner);
    expect(hostLabel(byPath, host)).toBeNull();
  });

  it('refuses a platform host that a user could be named after, and a wildcard elsewhere than the first label', () => {
    expect(addressingProblem(byHost, 'https://crew.example.com')).toBeNull();
    expect(addressingProblem(byHost, 'https://app.crew.example.com')).toMatch(/PUBLIC_URL's host app.crew.example.com is one of the runtime hosts/);
    expect(addressingProblem(runtimeAddressing('https://*.*.example.com'), 'https://example.com')).toMatch(/whole first label/);
    expect(addressingProblem(runtimeAddressing('https://*.com'), 'https://example.com')).toMatch(/whole first label/);
    expect(addressingProblem(byHostWithPort, 'http://localhost:8080')).toBeNull();
    expect(addressingProblem(byHost, 'https://a.b.crew.example.com')).toMatch(/is one of the runtime hosts/);
    expect(addressingProblem(byHost, 'http://crew.example.com')).toMatch(/the same scheme as PUBLIC_URL \(http\)/);
  });
});
