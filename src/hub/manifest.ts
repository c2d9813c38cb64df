/**
 * What "ImageReward-v1.0" is made of on the Hugging Face hub, mirroring upstream
 * ImageReward/utils.py (`_MODELS`, `ImageReward_download`, `load(..., med_config)`) and the BERT
 * tokenizer that upstream loads with BertTokenizer.from_pretrained('bert-base-uncased').
 */

export interface HubFile {
  /** Hub repository, e.g. "THUDM/ImageReward". */
  readonly repo: string;
  /** Path inside the repository. */
  readonly path: string;
  readonly revision: string;
  /**
   * Published sha256 of the content, when known. Without it, the download is checked against the
   * sha256 the hub states for LFS files (`x-linked-etag`) or the git blob id (`etag`) of small files.
   */
  readonly sha256?: string;
  /** Size in bytes, when known (else the server's `x-linked-size` / `content-length`). */
  readonly size?: number;
}

export interface HubModel {
  readonly name: string;
  /** The PyTorch checkpoint (pickle zip), converted once to safetensors after download. */
  readonly checkpoint: HubFile;
  /** The BLIP "med" BERT config. */
  readonly medConfig: HubFile;
  /** WordPiece vocabulary (bert-base-uncased). */
  readonly vocab: HubFile;
}

export const BERT_BASE_UNCASED_VOCAB: HubFile = {
  repo: 'google-bert/bert-base-uncased',
  path: 'vocab.txt',
  revision: 'main',
  sha256: '07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3',
  size: 231508,
};

export const HUB_MODELS: Readonly<Record<string, HubModel>> = {
  'ImageReward-v1.0': {
    name: 'ImageReward-v1.0',
    // No sha256 is published for ImageReward.pt: it is checked against the hub's LFS sha256 (x-linked-etag).
    checkpoint: { repo: 'THUDM/ImageReward', path: 'ImageReward.pt', revision: 'main' },
    medConfig: { repo: 'THUDM/ImageReward', path: 'med_config.json', revision: 'main' },
    vocab: BERT_BASE_UNCASED_VOCAB,
  },
};

export const DEFAULT_HUB_ENDPOINT = 'https://huggingface.co';

/** The hub endpoint: the explicit option, else $HF_ENDPOINT (huggingface_hub's convention), else huggingface.co. */
export function hubEndpoint(explicit?: string): string {
  return (explicit ?? (process.env.HF_ENDPOINT || DEFAULT_HUB_ENDPOINT)).replace(/\/+$/, '');
}

/** `{endpoint}/{repo}/resolve/{revision}/{path}`, the URL huggingface_hub's hf_hub_download uses. */
export function hubUrl(file: HubFile, endpoint: string): string {
  const path = file.path.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${file.repo}/resolve/${encodeURIComponent(file.revision)}/${path}`;
}
