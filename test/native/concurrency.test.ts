import { Model } from '../../lib';
import { fixtureModel, maxAbsDiff, readGoldens } from '../helpers/fixtures';

describe('concurrency', () => {
  it('200 concurrent forwards all resolve correctly while the event loop keeps turning', async () => {
    const goldens = readGoldens('token-classification');
    // One intra-op thread: two OpenMP threads on two cores shared with other work wait on each
    // other at every op (at load average 17 this test took 25 s with two threads, 2 s with one).
    await using model = await Model.load(fixtureModel('token-classification'), { threads: 1 });

    // Nothing here is timed: how late the loop runs depends on the machine's load, and the bench
    // measures it (bench/contenders/responsiveness.js). This test checks what cannot depend on the
    // load. First, no forward settles before the loop turns: a result can only come back through the
    // loop. Then, the loop keeps turning while forwards are pending; forwards run on the main thread
    // would all finish before its first turn. The turns are counted on a 1 ms timer, which sleeps
    // between turns; setImmediate would spin a core that the forwards need.
    let pending = 200;
    let turnsWhilePending = 0;
    const turn = () => {
      if (pending === 0) return;
      turnsWhilePending += 1;
      setTimeout(turn, 1);
    };
    setTimeout(turn, 1);

    const calls = Array.from({ length: 200 }, (_, i) => {
      const c = goldens.cases[i % goldens.cases.length]!;
      const make =
        i % 2 === 0 ? (v: number[]) => BigInt64Array.from(v, BigInt) : (v: number[]) => Int32Array.from(v);
      const inputs = {
        input_ids: make(c.input_ids),
        attention_mask: make(c.attention_mask),
        token_type_ids: make(c.token_type_ids),
      };
      return model.forward(inputs, c.dims).then((outputs) => {
        pending -= 1;
        return { c, outputs };
      });
    });
    // Far more promise hops than a forward settled in place would take to reach `pending`.
    for (let hop = 0; hop < 100; hop++) await Promise.resolve();
    expect(pending).toBe(200);

    const results = await Promise.all(calls);
    expect(turnsWhilePending).toBeGreaterThanOrEqual(3);
    expect(results).toHaveLength(200);
    for (const { c, outputs } of results) {
      expect(maxAbsDiff(outputs.output_0!.data, c.outputs.output_0!.data)).toBeLessThanOrEqual(1e-5);
    }
  });

  it('with 2 workers, 200 concurrent forwards of mixed shapes all match the goldens', async () => {
    const goldens = readGoldens('token-classification');
    await using model = await Model.load(fixtureModel('token-classification'), { threads: 2, workers: 2 });
    expect([model.workers, model.threads]).toEqual([2, 2]);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const c = goldens.cases[i % goldens.cases.length]!;
        const inputs = {
          input_ids: Int32Array.from(c.input_ids),
          attention_mask: Int32Array.from(c.attention_mask),
          token_type_ids: Int32Array.from(c.token_type_ids),
        };
        return model.forward(inputs, c.dims).then((outputs) => ({ c, outputs }));
      }),
    );
    for (const { c, outputs } of results) {
      expect(maxAbsDiff(outputs.output_0!.data, c.outputs.output_0!.data)).toBeLessThanOrEqual(1e-5);
    }
  });

  it('two models run side by side, each on its own thread', async () => {
    await using a = await Model.load(fixtureModel('base'), { threads: 1 });
    await using b = await Model.load(fixtureModel('question-answering'), { threads: 1 });
    const goldensA = readGoldens('base').cases[3]!;
    const goldensB = readGoldens('question-answering').cases[3]!;
    const inputs = (c: typeof goldensA) => ({
      input_ids: Int32Array.from(c.input_ids),
      attention_mask: Int32Array.from(c.attention_mask),
      token_type_ids: Int32Array.from(c.token_type_ids),
    });
    const [outA, outB] = await Promise.all([
      a.forward(inputs(goldensA), goldensA.dims),
      b.forward(inputs(goldensB), goldensB.dims),
    ]);
    expect(
      maxAbsDiff(outA.last_hidden_state!.data, goldensA.outputs.last_hidden_state!.data),
    ).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(outB.output_1!.data, goldensB.outputs.output_1!.data)).toBeLessThanOrEqual(1e-5);
  });
});
