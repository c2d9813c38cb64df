/**
 * Named intermediates of the ImageReward forward, in the timm manner (forward_intermediates): a
 * request says which to keep (names, or block / layer indices, and whether attention maps), the
 * forward computes attention maps only where asked and returns the kept tensors themselves (no
 * copies), typed. Names match the golden fixtures: vit.patch_embed, vit.block{i}, vit.norm,
 * bert.embeddings, bert.layer{i}.attention|crossattention|output, cls, mlp.layers.{i}, reward, and
 * attn.vit.block{i}.probs, attn.bert.layer{i}.attention|crossattention.probs.
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../errors.js';
import type { ImageRewardConfig } from './config.js';
import type { Kept, Wants } from './keep.js';

export interface IntermediateRequest {
  /** Keep exactly these names (attn.* ones included when listed). */
  readonly names?: readonly string[];
  /** Keep the outputs of these ViT blocks / BERT layers (negative indices count from the end, as timm). */
  readonly indices?: { readonly vit?: readonly number[]; readonly bert?: readonly number[] };
  /** Also the attention probabilities of every kept block / layer (all of them when nothing else is asked). */
  readonly attentions?: boolean;
}

/** Every intermediate name of a config, in forward order. */
export function intermediateNames(config: ImageRewardConfig, attentions: boolean): string[] {
  const names = ['vit.patch_embed'];
  for (let i = 0; i < config.vit.depth; i++) names.push(...(attentions ? [`attn.vit.block${i}.probs`] : []), `vit.block${i}`);
  names.push('vit.norm', 'bert.embeddings');
  for (let i = 0; i < config.med.numHiddenLayers; i++) {
    const l = `bert.layer${i}`;
    if (attentions) names.push(`attn.${l}.attention.probs`);
    names.push(`${l}.attention`);
    if (attentions) names.push(`attn.${l}.crossattention.probs`);
    names.push(`${l}.crossattention`, `${l}.output`);
  }
  names.push('cls', ...config.head.layerIndices.map((i) => `mlp.layers.${i}`), 'reward');
  return names;
}

/** The predicate a request means (checked against the config: unknown names and indices are InputErrors). */
export function wantsOf(request: IntermediateRequest, config: ImageRewardConfig): Wants {
  const all = intermediateNames(config, true);
  const attentions = request.attentions ?? false;
  if (request.names && request.indices) throw new InputError('intermediates: give names or indices, not both');
  const of = (name: string): string | undefined => /^attn\.(.*)\.probs$/.exec(name)?.[1]; // attn.vit.block0.probs -> vit.block0
  // the output whose block / layer an attention map belongs to: vit.block{i}, bert.layer{i}.attention|crossattention
  const owner = (attn: string): string[] => {
    const base = of(attn)!;
    return base.startsWith('bert.') ? [base, base.replace(/\.(attention|crossattention)$/, '.output')] : [base];
  };
  let kept: Set<string>;
  if (request.names) {
    const unknown = request.names.filter((n) => !all.includes(n));
    if (unknown.length) throw new InputError(`intermediates: unknown name(s) ${unknown.join(', ')} (known: vit.patch_embed, vit.block0..${config.vit.depth - 1}, vit.norm, bert.embeddings, bert.layer{i}.attention|crossattention|output, cls, mlp.layers.{i}, reward, attn.*.probs)`);
    kept = new Set(request.names);
  } else if (request.indices) {
    const pick = (list: readonly number[] | undefined, n: number, what: string): number[] => (list ?? []).map((i) => {
      if (!Number.isInteger(i) || i >= n || i < -n) throw new InputError(`intermediates: ${what} index ${i} is outside ${-n}..${n - 1}`);
      return i < 0 ? n + i : i;
    });
    kept = new Set([
      ...pick(request.indices.vit, config.vit.depth, 'ViT block').map((i) => `vit.block${i}`),
      ...pick(request.indices.bert, config.med.numHiddenLayers, 'BERT layer').map((i) => `bert.layer${i}.output`),
    ]);
  } else {
    kept = new Set(all.filter((n) => !n.startsWith('attn.')));
  }
  if (attentions) for (const n of all) if (of(n) && owner(n).some((o) => kept.has(o))) kept.add(n);
  return (name) => kept.has(name);
}

/** What a stage of the forward needs: whether any wanted name lies in the text encoder, or in the head. */
export function stagesNeeded(wants: Wants, config: ImageRewardConfig): { text: boolean; head: boolean } {
  const all = intermediateNames(config, true).filter(wants);
  const head = all.some((n) => n.startsWith('mlp.') || n === 'reward');
  return { head, text: head || all.some((n) => n.startsWith('bert.') || n.startsWith('attn.bert.') || n === 'cls') };
}

export interface VitIntermediates {
  readonly patchEmbed?: tf.Tensor3D;
  /** Per block: its output (B, T, E) and attention probabilities (B, nh, T, T), where kept. */
  readonly blocks: readonly { readonly output?: tf.Tensor3D; readonly probs?: tf.Tensor4D }[];
  readonly norm?: tf.Tensor3D;
}

export interface BertLayerIntermediates {
  readonly attention?: tf.Tensor3D;
  readonly crossattention?: tf.Tensor3D;
  readonly output?: tf.Tensor3D;
  readonly attentionProbs?: tf.Tensor4D;
  readonly crossattentionProbs?: tf.Tensor4D;
}

/**
 * The kept intermediates: a map by name in forward order (what the API and `inspect` write), and
 * the same tensors typed by module. The caller owns them: dispose() (or each value).
 */
export class Intermediates extends Map<string, tf.Tensor> {
  readonly vit: VitIntermediates;
  readonly bert: { readonly embeddings?: tf.Tensor3D; readonly layers: readonly BertLayerIntermediates[] };
  readonly cls?: tf.Tensor2D;
  /** Per Linear of the head (mlp.layers.{i} in order), where kept. */
  readonly mlp: readonly (tf.Tensor2D | undefined)[];
  readonly reward?: tf.Tensor1D;

  constructor(kept: Kept, config: ImageRewardConfig) {
    super(intermediateNames(config, true).filter((n) => kept[n] !== undefined).map((n) => [n, kept[n]!]));
    const get = <T extends tf.Tensor>(name: string) => kept[name] as T | undefined;
    this.vit = {
      patchEmbed: get('vit.patch_embed'),
      blocks: Array.from({ length: config.vit.depth }, (_, i) => ({ output: get(`vit.block${i}`), probs: get(`attn.vit.block${i}.probs`) })),
      norm: get('vit.norm'),
    };
    this.bert = {
      embeddings: get('bert.embeddings'),
      layers: Array.from({ length: config.med.numHiddenLayers }, (_, i) => ({
        attention: get(`bert.layer${i}.attention`),
        crossattention: get(`bert.layer${i}.crossattention`),
        output: get(`bert.layer${i}.output`),
        attentionProbs: get(`attn.bert.layer${i}.attention.probs`),
        crossattentionProbs: get(`attn.bert.layer${i}.crossattention.probs`),
      })),
    };
    this.cls = get('cls');
    this.mlp = config.head.layerIndices.map((i) => get(`mlp.layers.${i}`));
    this.reward = get('reward');
  }

  dispose(): void {
    tf.dispose([...this.values()]);
    this.clear();
  }
}
