import { buildInfo, cudaAvailable, cudaDeviceCount, libtorchVersion, Model } from '../../lib';
import { fixtureModel, maxAbsDiff, readGoldens } from '../helpers/fixtures';

describe('runtime facts', () => {
  it('reports the libtorch version and what was built', () => {
    const info = buildInfo();
    expect(libtorchVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.libtorch).toBe(libtorchVersion());
    expect(typeof info.cuda).toBe('boolean');
    expect(info.cudaAvailable).toBe(cudaAvailable());
    expect(info.cxx11Abi).toBe(true);
    expect(info.napiVersion).toBe(8);
    expect(info.torchLibDir).not.toBe('');
  });

  it('finds the BLAS libtorch multiplies through (setup installs OpenBLAS)', () => {
    const { blas } = buildInfo();
    expect(['openblas', 'mkl']).toContain(blas.name);
    if (blas.name === 'openblas') expect(blas.path).toMatch(/openblas/);
  });

  it('counts CUDA devices consistently with availability', () => {
    if (cudaAvailable()) expect(cudaDeviceCount()).toBeGreaterThan(0);
    else expect(cudaDeviceCount()).toBe(0);
  });
});

const gpuTest = cudaAvailable() ? it : it.skip;
const gpuReason = cudaAvailable() ? '' : ' [skipped: no CUDA device on this machine]';

describe('CUDA', () => {
  gpuTest(`runs a fixture on cuda:0 and matches the Python goldens${gpuReason}`, async () => {
    const goldens = readGoldens('base');
    await using model = await Model.load(fixtureModel('base'), { device: 'cuda:0' });
    expect(model.device).toBe('cuda:0');
    for (const c of goldens.cases) {
      const make = (v: number[]) => BigInt64Array.from(v, BigInt);
      const outputs = await model.forward(
        {
          input_ids: make(c.input_ids),
          attention_mask: make(c.attention_mask),
          token_type_ids: make(c.token_type_ids),
        },
        c.dims,
      );
      // GPU kernels order their sums differently from the CPU ones.
      expect(
        maxAbsDiff(outputs.last_hidden_state!.data, c.outputs.last_hidden_state!.data),
      ).toBeLessThanOrEqual(1e-4);
    }
  });
});
