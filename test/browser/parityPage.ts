/**
 * The browser half of the tiny model's parity, as page source (a string: evaluated in the page as
 * written, untouched by this repo's TypeScript loader). It loads the bundle and the model, vocab and
 * configs by URL, and returns for each pair the intermediates the golden file has, the rank() of
 * each prompt over the four images by URL, progress reports, and tf's tensor count around a call.
 */
export interface ParityArgs {
  readonly bundle: string;
  readonly backend: 'webgpu' | 'wasm';
  readonly model: string;
  readonly vocab: string;
  readonly medConfig: string;
  readonly vitConfig: string;
  readonly prompts: string[];
  readonly images: string[];
  readonly pairs: { p: number; j: number }[];
}

export interface ParityResult {
  readonly isNode: boolean;
  readonly backend: string;
  readonly adapter?: { vendor: string; architecture: string; description: string };
  readonly intermediates: { p: number; j: number; arrays: Record<string, number[]> }[];
  readonly ranks: { rewards: number[]; ranking: number[] }[];
  readonly progress: Record<string, { calls: number; loaded: number; total?: number }>;
  readonly tensorsBefore: number;
  readonly tensorsAfter: number;
  readonly error?: string;
}

export const PARITY_PAGE = String.raw`async (args) => {
  const progress = {};
  try {
    const { ImageReward, tf } = await import(args.bundle);
    const model = await ImageReward.load(args.model, {
      vocab: args.vocab, medConfig: args.medConfig, vitConfig: args.vitConfig, backend: args.backend,
      onProgress: ({ url, loaded, total }) => {
        const p = (progress[url] ??= { calls: 0, loaded: 0 });
        p.calls++; p.loaded = loaded; if (total !== undefined) p.total = total;
      },
    });
    const intermediates = [];
    for (const { p, j } of args.pairs) {
      const named = await model.intermediates(args.prompts[p], args.images[j]);
      const arrays = {};
      for (const [name, t] of named) arrays[name] = Array.from(t.data);
      intermediates.push({ p, j, arrays });
    }
    const ranks = [];
    for (const prompt of args.prompts) ranks.push(await model.rank(prompt, args.images));
    const before = tf.memory().numTensors;
    await model.rank(args.prompts[0], args.images);
    const after = tf.memory().numTensors;
    const out = { isNode: typeof process !== 'undefined', backend: model.backend, adapter: model.description.adapter, intermediates, ranks, progress, tensorsBefore: before, tensorsAfter: after };
    model.dispose();
    return out;
  } catch (err) {
    return { error: String((err && err.stack) || err), progress };
  }
}`;
