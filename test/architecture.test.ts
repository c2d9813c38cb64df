/**
 * The import graph of src/ against docs/architecture.md: every file belongs to one layer, imports
 * only its own layer and the layers its row allows, no relative import leaves src/, and no two
 * files import each other, directly or around a cycle. Imports are read with TypeScript's own
 * pre-processor (static, type-only, re-exports and dynamic import() alike).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Layer { readonly name: string; readonly paths: readonly string[]; readonly mayImport: readonly string[] }

/** The rows between the `<!-- layers` markers of docs/architecture.md. */
function readLayers(): Layer[] {
  const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');
  const table = /<!-- layers[^>]*-->([\s\S]*?)<!-- \/layers -->/.exec(doc)?.[1];
  if (!table) throw new Error('docs/architecture.md has no <!-- layers --> table');
  return table.split('\n').filter((l) => l.startsWith('|') && !/^\|\s*(layer|-)/.test(l)).map((line) => {
    const [name, paths, may] = line.split('|').slice(1, 4).map((c) => c.trim());
    return {
      name: name!,
      paths: [...paths!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!),
      mayImport: may!.split(',').map((s) => s.trim()).filter((s) => s !== ''),
    };
  });
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourceFiles(rel);
    return e.name.endsWith('.ts') ? [rel] : [];
  });
}

/** Relative imports of a file, resolved to repo-relative paths (`.js` specifiers name `.ts` files). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName).filter((s) => s.startsWith('.')).map((spec) => {
    const target = relative(root, resolve(root, dirname(file), spec)).split('\\').join('/');
    return target.replace(/\.js$/, '.ts');
  });
}

const layers = readLayers();
const files = sourceFiles('src');
const graph = new Map(files.map((f) => [f, importsOf(f)]));

function layerOf(file: string): Layer | undefined {
  const matches = layers.filter((l) => l.paths.some((p) => (p.endsWith('/') ? file.startsWith(p) : file === p)));
  return matches.length === 1 ? matches[0] : undefined;
}

/** Strongly connected components with more than one file (Tarjan), i.e. the import cycles. */
function cycles(): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

describe('architecture: the import graph of src/ (docs/architecture.md)', function () {
  it('the layer table is well formed: unique names, allowed layers defined above their user', function () {
    const names = layers.map((l) => l.name);
    expect(names.length, 'layers').to.be.above(5);
    expect(new Set(names).size, 'unique layer names').to.equal(names.length);
    layers.forEach((l, i) => {
      for (const m of l.mayImport) expect(names.slice(0, i), `${l.name} may import ${m}: a layer listed above it`).to.include(m);
    });
  });

  it('every source file belongs to exactly one layer', function () {
    expect(files.length).to.be.above(50);
    const homeless = files.filter((f) => layerOf(f) === undefined);
    expect(homeless, 'files in no layer (or in two): add their folder to docs/architecture.md').to.deep.equal([]);
  });

  it('no relative import leaves src/, and every one names an existing file', function () {
    const bad = [...graph].flatMap(([f, targets]) => targets.filter((t) => !t.startsWith('src/') || !graph.has(t)).map((t) => `${f} -> ${t}`));
    expect(bad).to.deep.equal([]);
  });

  it('each file imports only its own layer and the layers its row allows (nothing upwards)', function () {
    const violations: string[] = [];
    for (const [f, targets] of graph) {
      const from = layerOf(f);
      if (!from) continue;
      for (const t of targets) {
        const to = layerOf(t);
        if (to && to !== from && !from.mayImport.includes(to.name)) violations.push(`${f} (${from.name}) -> ${t} (${to.name})`);
      }
    }
    expect(violations).to.deep.equal([]);
  });

  it('has no import cycle between files', function () {
    expect(cycles()).to.deep.equal([]);
  });

  it('the checker sees a cycle and an upward import when there is one', function () {
    // the analysis itself, on a graph with a known cycle: model -> api -> model
    graph.set('src/model/__probe.ts', ['src/api/__probe.ts']);
    graph.set('src/api/__probe.ts', ['src/model/__probe.ts']);
    files.push('src/model/__probe.ts', 'src/api/__probe.ts');
    try {
      expect(cycles()).to.deep.include(['src/api/__probe.ts', 'src/model/__probe.ts']);
      expect(layerOf('src/model/__probe.ts')!.mayImport).to.not.include('api');
    } finally {
      graph.delete('src/model/__probe.ts');
      graph.delete('src/api/__probe.ts');
      files.splice(files.length - 2, 2);
    }
  });
});
