/**
 * What the browser checks (test/browser/run-in-chromium.ts) and the browser bench share: a static
 * server on 127.0.0.1 (WebGPU in Chromium needs a real origin, not about:blank) and headless
 * Chromium through playwright-core with SwiftShader WebGPU switched on.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
  '.wasm': 'application/wasm', '.txt': 'text/plain; charset=utf-8', '.webp': 'image/webp', '.png': 'image/png',
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.safetensors': 'application/octet-stream',
};

/** URL prefix -> a directory served below it, or a function giving a page's text (or a file path). */
export type Route = { dir: string } | { file: string } | { text: string; type: string };

export interface StaticServer {
  readonly origin: string;
  close(): Promise<void>;
}

/** Serves `routes` (longest prefix first) with content-length, so fetch progress knows the total. */
export async function startServer(routes: Record<string, Route>): Promise<StaticServer> {
  const prefixes = Object.keys(routes).sort((a, b) => b.length - a.length);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const prefix = prefixes.find((p) => path === p || (p.endsWith('/') && path.startsWith(p)));
    const route = prefix === undefined ? undefined : routes[prefix]!;
    let file: string | undefined;
    if (route && 'text' in route) {
      res.writeHead(200, { 'content-type': route.type, 'content-length': Buffer.byteLength(route.text) }).end(route.text);
      return;
    }
    if (route && 'file' in route) file = route.file;
    if (route && 'dir' in route) {
      const rest = path.slice(prefix!.length) || 'index.html';
      const candidate = resolve(route.dir, rest);
      if (candidate.startsWith(resolve(route.dir) + sep)) file = candidate;
    }
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

/** Chromium to use: $CHROMIUM, else chromium / chromium-browser / google-chrome on the PATH; null when none runs. */
export function findChromium(): string | null {
  const candidates = [process.env.CHROMIUM, '/usr/bin/chromium', 'chromium', 'chromium-browser', 'google-chrome'].filter((c): c is string => Boolean(c));
  return candidates.find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0) ?? null;
}

/** Headless Chromium with WebGPU over SwiftShader (the CPU Vulkan driver Chromium ships). */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--headless=new', '--no-sandbox', '--no-first-run',
      '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader', '--enable-features=Vulkan,WebGPUService', '--use-webgpu-adapter=swiftshader',
    ],
  });
}
