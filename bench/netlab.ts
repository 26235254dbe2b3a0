/**
 * How long the network harness takes to build and remove a LAN. Needs root.
 *   node bench/netlab.ts [--hosts 5] [--runs 20]
 */
import { parseArgs } from 'node:util';
import { createLan } from '../lab/testbed/netns/index.ts';
import { summarize } from './stats.ts';

const { values } = parseArgs({
  options: { hosts: { type: 'string', default: '5' }, runs: { type: 'string', default: '20' } },
});
const create: number[] = [];
const teardown: number[] = [];
for (let i = 0; i < Number(values.runs); i++) {
  let t = performance.now();
  const lan = await createLan({ hosts: Number(values.hosts), prefix: 'mlbbench' });
  create.push(performance.now() - t);
  t = performance.now();
  await lan.teardown();
  teardown.push(performance.now() - t);
}
console.log(
  JSON.stringify(
    {
      benchmark: 'netlab',
      hosts: Number(values.hosts),
      create_ms: summarize(create),
      teardown_ms: summarize(teardown),
    },
    null,
    2,
  ),
);
