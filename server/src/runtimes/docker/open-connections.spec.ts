import { countEstablished } from './open-connections';

// Rows as a runtime's kernel printed them: the gateway on 18789 (0x4965) at 10.213.0.4, the proxy
// at 10.213.0.2, the control plane at 10.213.0.3.
const TABLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:4965 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 1 1 0000000000000000 100 0 0 10 0
   1: 0400D50A:4965 0200D50A:B2A6 01 00000000:00000000 00:00000000 00000000  1000        0 2 1 0000000000000000 20 4 30 10 -1
   2: 0400D50A:4965 0300D50A:C001 01 00000000:00000000 00:00000000 00000000  1000        0 3 1 0000000000000000 20 4 30 10 -1
   3: 0400D50A:4965 0200D50A:B2A8 06 00000000:00000000 03:00000F9E 00000000     0        0 0 3 0000000000000000
   4: 0400D50A:9C40 0200D50A:4965 01 00000000:00000000 00:00000000 00000000  1000        0 4 1 0000000000000000 20 4 30 10 -1
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000400D50A:4965 0000000000000000FFFF00000200D50A:B2AA 01 00000000:00000000 00:00000000 00000000  1000        0 5 1 0000000000000000 20 4 30 10 -1
   1: 00000000000000000000000001000000:4965 00000000000000000000000001000000:D431 01 00000000:00000000 00:00000000 00000000  1000        0 6 1 0000000000000000 20 4 30 10 -1
`;

describe('countEstablished', () => {
  it('counts open connections from the peer to the port, over IPv4 and IPv4-mapped IPv6', () => {
    expect(countEstablished(TABLE, 18789, '10.213.0.2')).toBe(2);
  });

  it('leaves out other peers, other ports, listening and closing sockets', () => {
    expect(countEstablished(TABLE, 18789, '10.213.0.3')).toBe(1);
    expect(countEstablished(TABLE, 18789, '10.213.0.9')).toBe(0);
    expect(countEstablished(TABLE, 40000, '10.213.0.2')).toBe(1);
    expect(countEstablished('', 18789, '10.213.0.2')).toBe(0);
  });
});
