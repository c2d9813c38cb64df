/**
 * The environment-free core of the API (src/api/core.ts: scoring over a loaded model) and the
 * streaming safetensors reader must bundle for the browser with nothing from Node: the browser
 * build (scripts/build-browser.ts) is made of them.
 */
import { expect } from 'chai';
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('api core: Node-free', function () {
  it('bundles core.ts + safetensorsStream.ts for platform "browser" without a Node import', async function () {
    const result = await build({
      stdin: {
        contents: "export { ImageRewardCore } from './src/api/core.ts';\nexport { readSafetensorsStream } from './src/weights/safetensorsStream.ts';\n",
        resolveDir: repoRoot,
        loader: 'ts',
      },
      bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent',
    });
    expect(result.errors).to.deep.equal([]);
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs).to.include.members(['src/api/core.ts', 'src/model/imageRewardModel.ts', 'src/weights/safetensorsHeader.ts']);
    expect(inputs.filter((p) => p.startsWith('node:') || p.includes('src/util/fs.ts') || p.includes('src/backend.ts'))).to.deep.equal([]);
  });
});
