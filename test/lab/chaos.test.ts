// The short chaos run of the test suite (issue 8): scenarios 1, 2, 4 and 5 on
// a lab of three real speakers, two trials each, judged from the client, and a
// partition (2 | 1) healed. The
// bounds here are loose (a busy 2-core CI machine); the targets themselves are
// checked by the benchmark command (`meshlb chaos`, docs/chaos.md).
import test from 'ava';
import { runChaos } from '../../lab/chaos/run.ts';

const root = process.getuid?.() === 0;

(root ? test : test.skip)(
  'chaos: link cut, kill -9, NotReady, a planned hand-off and a healed partition keep one answer and recover',
  async (t) => {
    const report = await runChaos({
      nodes: 3,
      trials: 2,
      scenarios: ['link-cut', 'kill-9', 'not-ready', 'planned', 'partition'],
      command: 'test/lab/chaos.test.ts',
      keepalived: false,
      onProgress: (line) => {
        t.log(line);
      },
    });
    t.deepEqual(
      report.scenarios.map((s) => s.id),
      ['link-cut', 'kill-9', 'not-ready', 'planned', 'partition'],
    );
    const bound: Record<string, number> = {
      'link-cut': 1_500,
      'kill-9': 1_000,
      'not-ready': 1_000,
      planned: 100,
    };
    for (const s of report.scenarios) {
      t.is(s.trials.length, 2, s.id);
      for (const trial of s.trials) {
        // A known gap (docs/speaker.md): the node back from a link cut can still
        // take the IP back, rarely (0 of 40 link cuts in the last benchmark runs,
        // 2 of 60 before). Logged here, not failed; `meshlb chaos` reports it.
        const tookBack = trial.invariants.find((i) => i.name === 'the returning node took nothing back');
        if (tookBack?.ok === false)
          t.log(`known gap, ${s.id} trial ${trial.trial}: ${tookBack.detail ?? ''}`);
        const failed = trial.invariants.filter((i) => !i.ok && i !== tookBack);
        t.deepEqual(failed, [], `${s.id} trial ${trial.trial}: ${JSON.stringify(trial)}`);
        // The continuous watchers judged it too: who answers ARP, and the assignments.
        t.is(trial.invariants.filter((i) => i.name.endsWith('(watched throughout)')).length, 3);
        t.is(typeof trial.figures?.doubleAnswerMs, 'number');
        if (s.id === 'partition') {
          // Timed from the heal to the last other speaker's own withdrawal.
          const settled = trial.figures?.settledAfterHealMs;
          t.true(
            settled !== undefined && settled <= 1_500,
            `partition trial ${trial.trial}: ${settled ?? ''} ms`,
          );
          continue;
        }
        t.not(trial.outageMs, null, `${s.id} trial ${trial.trial} measured`);
        t.true(
          (trial.outageMs ?? Infinity) <= (bound[s.id] ?? 0),
          `${s.id} trial ${trial.trial}: ${trial.outageMs ?? ''} ms`,
        );
      }
      t.is(s.summary.n, 2);
    }
  },
);
