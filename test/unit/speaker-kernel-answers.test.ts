// Which service IPs this node's kernel answers ARP for by itself
// (src/speaker/kernel-answers.ts): IPv4 service IPs on a local interface, on
// answering interfaces whose effective arp_ignore (max of all and its own) is 0.
import test from 'ava';
import { kernelAnswers, readArpIgnore } from '../../src/speaker/kernel-answers.ts';

const sysctl =
  (values: Record<string, number>) =>
  (ifname: string): number | undefined =>
    values[ifname];

test('IPVS without strictARP: the LoadBalancer IPs on kube-ipvs0 are answered on eth0', (t) => {
  const local = new Set(['10.0.0.5', '192.0.2.10', 'fd00::10']);
  t.deepEqual(
    kernelAnswers(['192.0.2.10', '192.0.2.11', 'fd00::10'], local, ['eth0'], sysctl({ all: 0, eth0: 0 })),
    { ips: ['192.0.2.10'], interfaces: ['eth0'] },
    'IPv4 only: Linux answers a solicitation only for an address of the interface it came in on',
  );
});

test('strictARP (arp_ignore 1 on all, or on the interface) or no local service IP: nothing', (t) => {
  const local = new Set(['192.0.2.10']);
  t.deepEqual(kernelAnswers(['192.0.2.10'], local, ['eth0'], sysctl({ all: 1, eth0: 0 })), {
    ips: [],
    interfaces: [],
  });
  t.deepEqual(kernelAnswers(['192.0.2.10'], local, ['eth0', 'eth1'], sysctl({ all: 0, eth0: 1, eth1: 0 })), {
    ips: ['192.0.2.10'],
    interfaces: ['eth1'],
  });
  t.deepEqual(kernelAnswers(['192.0.2.11'], local, ['eth0'], sysctl({ all: 0, eth0: 0 })), {
    ips: [],
    interfaces: [],
  });
});

test('the real sysctl is read; an interface that does not exist reads as unknown', (t) => {
  t.true([0, 1, 2, 3, 8].includes(readArpIgnore('all') ?? -1));
  t.is(readArpIgnore('no-such-if0'), undefined);
});
