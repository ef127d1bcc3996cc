// A binary built for another libtorch than the one found must be refused at load with one
// E_NATIVE_LOAD error, never loaded: its libtorch would join the first in the process and crash it
// (a bus error, measured). Each case runs in a child process, so this jest process keeps one libtorch.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { discoverLibtorch } from '../../lib/libtorch-discovery';

const REPO = path.resolve(__dirname, '../..');
const DEBIAN = '/usr/lib/x86_64-linux-gnu';

let scratch: string;
beforeEach(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-mismatch-'));
});
afterEach(() => fs.rmSync(scratch, { recursive: true, force: true }));

const defaultRuntime = discoverLibtorch(REPO);
const debianRuntime = discoverLibtorch(REPO, { ...process.env, TORCH_ENCODERS_LIBTORCH: DEBIAN });

describe.each([
  ['the Debian 1.13 binary', 'libtorch 2.13 found', debianRuntime, defaultRuntime, /libtorch_cpu\.so\.1\.13/],
  ['the 2.13 binary', "Debian's 1.13 found", defaultRuntime, debianRuntime, /libtorch_cpu\.so[,]/],
])('%s where %s expects its own', (_, __, built, found, foreignSoname) => {
  it('is refused before loading, catchably, naming the libraries it links', () => {
    expect(built.tag).not.toBe(found.tag);
    const source = path.join(REPO, 'build', built.tag, 'Release');
    expect(fs.existsSync(path.join(source, 'torch_encoders.node'))).toBe(true);
    const misplaced = path.join(scratch, 'package', 'build', found.tag, 'Release');
    fs.mkdirSync(misplaced, { recursive: true });
    for (const file of fs.readdirSync(source).filter((name) => /\.(node|so)$/.test(name))) {
      fs.copyFileSync(path.join(source, file), path.join(misplaced, file));
    }
    const script = `
      const { loadBinding } = require(${JSON.stringify(path.join(REPO, 'dist/lib/native.js'))});
      try { loadBinding(${JSON.stringify(path.join(scratch, 'package'))}); console.log('LOADED'); }
      catch (error) { console.log(error.code + ' ' + error.message.split('\\n').slice(0, 2).join(' | ')); }`;
    const output = execFileSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      env: { ...process.env, TORCH_ENCODERS_LIBTORCH: found.libDir },
    });
    expect(output).toMatch(
      /^E_NATIVE_LOAD torch-encoders could not load its native binary .*torch_encoders\.node/,
    );
    expect(output).toMatch(foreignSoname);
    expect(output).toContain('it was built for another libtorch');
  });
});
