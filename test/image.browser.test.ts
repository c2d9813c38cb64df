/**
 * The image pipeline is meant to run wherever tfjs runs, browsers included (decode.ts + pipeline.ts;
 * index.ts adds file reading). Bundling those entry points for the browser with esbuild must succeed:
 * any import of a Node module (node:fs, node:zlib, ...) or of sharp fails the bundle.
 */
import { expect } from 'chai';
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('image pipeline in a browser bundle', function () {
  it('bundles decode.ts + pipeline.ts for platform "browser" with no Node or native imports', async function () {
    const result = await build({
      stdin: {
        contents: "export { decodeImage } from './src/image/decode.ts';\nexport { preprocessDecoded } from './src/image/pipeline.ts';\n",
        resolveDir: repoRoot,
        loader: 'ts',
      },
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    expect(result.errors).to.deep.equal([]);
    const inputs = Object.keys(result.metafile.inputs);
    for (const module of ['src/image/jpegjs/decoder.ts', 'src/image/simd/simdResample.ts', 'src/image/nativeCodecs.ts', 'src/image/png.ts']) {
      expect(inputs, module).to.include(module);
    }
    expect(inputs.filter((p) => p.includes('node_modules/sharp'))).to.deep.equal([]);
  });
});
