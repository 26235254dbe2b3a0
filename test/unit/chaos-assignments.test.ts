import test from 'ava';
import type { V1Service } from '@kubernetes/client-node';
import { AssignmentLedger, FOUGHT_LABEL } from '../../lab/chaos/assignments.ts';

const svc = (name: string, ips: string[], labels?: Record<string, string>): V1Service => ({
  metadata: labels === undefined ? { name } : { name, labels },
  status: { loadBalancer: { ingress: ips.map((ip) => ({ ip })) } },
});

test('an assignment that appears, stays, or goes with its deleted Service is no violation', (t) => {
  const l = new AssignmentLedger();
  l.seen(svc('a', []), 1);
  l.seen(svc('a', ['10.0.0.1']), 2);
  l.seen(svc('a', ['10.0.0.1']), 3);
  l.deleted('a');
  l.seen(svc('a', ['10.0.0.2']), 4); // a new Service of that name
  l.seen(svc('b', ['10.0.0.1']), 5); // the freed address reused
  t.deepEqual(l.violations, []);
  t.true(l.checksSince(0).every((c) => c.ok));
});

test('a changed or dropped address and an address on two Services are violations, reported per window', (t) => {
  const l = new AssignmentLedger();
  l.seen(svc('a', ['10.0.0.1']), 1);
  l.seen(svc('a', ['10.0.0.9']), 10);
  l.seen(svc('b', ['10.0.0.9']), 20);
  l.seen(svc('b', []), 30);
  t.deepEqual(
    l.violations.map((v) => [v.kind, v.detail]),
    [
      ['changed', 'a: 10.0.0.1 → 10.0.0.9'],
      ['twice', '10.0.0.9: b and a'],
      ['changed', 'b: 10.0.0.9 → none'],
    ],
  );
  const [changed, twice] = l.checksSince(25);
  t.false(changed?.ok);
  t.is(changed?.detail, 'b: 10.0.0.9 → none');
  t.true(twice?.ok, 'the double assignment was before the window');
});

test('a Service a scenario fights over (labelled) is not judged', (t) => {
  const l = new AssignmentLedger();
  l.seen(svc('war', ['10.0.0.1'], { [FOUGHT_LABEL]: 'true' }), 1);
  l.seen(svc('war', ['203.0.113.9'], { [FOUGHT_LABEL]: 'true' }), 2);
  t.deepEqual(l.violations, []);
});
