// The demo page: images from a drop or a file input, a prompt, ImageReward.rank, results by rank.
// Model files come from the fields under "Model files" (defaults: ?model=&vocab=&medConfig=&vitConfig=
// in the page URL, else model/ImageReward.safetensors and model/vocab.txt beside this page).
import { ImageReward } from '../../dist/browser/imagereward.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
for (const [id, fallback] of [['model', 'model/ImageReward.safetensors'], ['vocab', 'model/vocab.txt'], ['medConfig', ''], ['vitConfig', '']]) {
  $(id).value = params.get(id) ?? fallback;
}
$('backend').value = params.get('backend') ?? '';
if (params.has('prompt')) $('prompt').value = params.get('prompt');

/** { file, url } of each image added, in order. */
let images = [];
let loaded = { key: '', model: null };

function setState(state, text) {
  document.body.dataset.state = state;
  $('status').textContent = text;
}

function addFiles(files) {
  for (const file of files) if (/^image\/(png|jpeg|webp)$/.test(file.type)) images.push({ file, url: URL.createObjectURL(file) });
  render(images.map((image) => ({ image })));
  setState('idle', `${images.length} image${images.length === 1 ? '' : 's'} ready.`);
}

function render(rows) {
  const list = $('results');
  list.replaceChildren(...rows.map(({ image, rank, reward, share }) => {
    const li = document.createElement('li');
    if (rank !== undefined) li.dataset.rank = String(rank);
    const img = document.createElement('img');
    img.src = image.url;
    img.alt = image.file.name;
    const meta = document.createElement('div');
    meta.className = 'meta';
    meta.innerHTML = '<span class="name"></span>';
    meta.firstChild.textContent = image.file.name;
    if (rank !== undefined) {
      const badge = document.createElement('span');
      badge.className = 'rank';
      badge.textContent = `#${rank}`;
      li.append(badge);
      const value = document.createElement('strong');
      value.className = 'reward';
      value.textContent = `reward ${reward.toFixed(3)}`;
      const bar = document.createElement('div');
      bar.className = 'bar';
      bar.innerHTML = `<span style="width:${(share * 100).toFixed(1)}%"></span>`;
      meta.append(value, bar);
    }
    li.prepend(img);
    li.append(meta);
    return li;
  }));
}

async function model() {
  const options = { vocab: $('vocab').value, medConfig: $('medConfig').value || undefined, vitConfig: $('vitConfig').value || undefined, backend: $('backend').value || undefined };
  const key = JSON.stringify([$('model').value, options]);
  if (loaded.key === key) return loaded.model;
  loaded.model?.dispose();
  loaded = { key: '', model: null };
  const progress = new Map();
  const m = await ImageReward.load($('model').value, {
    ...options,
    onProgress: ({ url, loaded: got, total }) => {
      progress.set(url, { got, total });
      const sum = [...progress.values()].reduce((a, p) => ({ got: a.got + p.got, total: a.total + (p.total ?? p.got) }), { got: 0, total: 0 });
      setState('loading', `Loading the model: ${(sum.got / 2 ** 20).toFixed(1)} of ${(sum.total / 2 ** 20).toFixed(1)} MiB`);
    },
  });
  loaded = { key, model: m };
  return m;
}

async function rank() {
  const prompt = $('prompt').value.trim();
  if (!prompt || images.length === 0) return setState('idle', 'Add images and a prompt.');
  $('rank').disabled = true;
  try {
    setState('loading', 'Loading the model...');
    const m = await model();
    setState('ranking', `Scoring ${images.length} images on ${m.backend}...`);
    const started = performance.now();
    const { ranking, rewards } = await m.rank(prompt, images.map((i) => i.file));
    const min = Math.min(...rewards);
    const span = Math.max(...rewards) - min || 1;
    const rows = images.map((image, i) => ({ image, rank: ranking[i], reward: rewards[i], share: 0.08 + 0.92 * (rewards[i] - min) / span }));
    render(rows.sort((a, b) => a.rank - b.rank));
    setState('done', `Ranked ${images.length} images for "${prompt}" in ${((performance.now() - started) / 1000).toFixed(1)} s on ${m.backend}.`);
  } catch (err) {
    setState('error', String(err?.message ?? err));
  } finally {
    $('rank').disabled = false;
  }
}

$('form').addEventListener('submit', (e) => { e.preventDefault(); rank(); });
$('files').addEventListener('change', (e) => { addFiles(e.target.files); e.target.value = ''; });
$('clear').addEventListener('click', () => { images.forEach((i) => URL.revokeObjectURL(i.url)); images = []; render([]); setState('idle', 'Add images and a prompt.'); });
const drop = $('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); addFiles(e.dataTransfer.files); });
