// Entry of scripts/netlab: build the LAN, print it, wait for Ctrl-C.
import { createLan } from '../lab/testbed/netns/index.ts';

const hosts = Number(process.argv[2] ?? 3);
const lan = await createLan({ hosts, prefix: 'mlblab' });
console.log(
  `switch namespace ${lan.switchNs} (bridge br0); service ranges ${lan.vipRange4}, ${lan.vipRange6}`,
);
for (const h of lan.all)
  console.log(`${h.name.padEnd(3)} ${h.ns.padEnd(22)} ${h.mac}  ${h.ipv4.padEnd(12)} ${h.ipv6}`);
console.log(`enter one:  ip netns exec ${lan.all[0]?.ns ?? ''} bash`);
console.error('netlab: up; Ctrl-C removes every namespace');
process.once('SIGINT', () => {
  void lan.teardown().then(() => process.exit(0));
});
setInterval(() => undefined, 1 << 30);
