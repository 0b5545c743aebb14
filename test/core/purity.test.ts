// core/ must not reach the world directly: time, randomness, network and disk come only through the
// ports in core/ports.ts. This reads every file of core/ and fails on a forbidden import or call.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const coreDir = join(root, "core");

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? tsFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

const forbidden: { what: string; pattern: RegExp }[] = [
  { what: "a node: built-in module", pattern: /\bfrom\s+["']node:/ },
  { what: "an I/O built-in module", pattern: /\bfrom\s+["'](fs|net|http|https|http2|dgram|dns|child_process|worker_threads|os|timers|cluster|tls|readline|stream|crypto|process)(\/[a-z]+)?["']/ },
  { what: "a dynamic import", pattern: /\bimport\s*\(/ },
  { what: "require()", pattern: /\brequire\s*\(/ },
  { what: "Date.now()", pattern: /\bDate\.now\s*\(/ },
  { what: "new Date()", pattern: /\bnew\s+Date\s*\(/ },
  { what: "Math.random()", pattern: /\bMath\.random\s*\(/ },
  { what: "a timer", pattern: /\b(setTimeout|setInterval|setImmediate|queueMicrotask)\s*\(/ },
  { what: "performance.now()", pattern: /\bperformance\.now\s*\(/ },
  { what: "process.*", pattern: /\bprocess\.(env|hrtime|nextTick|argv|exit|cwd)\b/ },
  { what: "global fetch", pattern: /\bfetch\s*\(/ },
];

/** Imports of packages: only these pure ones may enter core/. */
const allowedPackages = new Set(["xxhash-wasm"]);

export function violations(source: string): string[] {
  const found: string[] = [];
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
  for (const { what, pattern } of forbidden) if (pattern.test(code)) found.push(what);
  for (const match of code.matchAll(/\bfrom\s+["']([^"'.][^"']*)["']/g)) {
    const pkg = match[1]!;
    if (!allowedPackages.has(pkg) && !pkg.startsWith("node:")) found.push(`package ${pkg}`);
  }
  return found;
}

describe("core purity", () => {
  it("no file in core/ imports node I/O modules or uses Date.now, Math.random, timers or performance.now", () => {
    const files = tsFiles(coreDir);
    expect(files.length).toBeGreaterThan(5);
    const report = files.flatMap((file) => violations(readFileSync(file, "utf8")).map((v) => `${relative(root, file)}: ${v}`));
    expect(report).toEqual([]);
  });

  it("the checker itself catches each forbidden form", () => {
    const samples = [
      `import { readFile } from "node:fs/promises";`,
      `import * as fs from "fs";`,
      `import { request } from "undici";`,
      `const t = Date.now();`,
      `const d = new Date();`,
      `const r = Math.random();`,
      `setTimeout(() => {}, 10);`,
      `const p = performance.now();`,
      `const m = await import("node:net");`,
      `const home = process.env.HOME;`,
    ];
    for (const sample of samples) expect(violations(sample), sample).not.toEqual([]);
    expect(violations(`import xxhash from "xxhash-wasm";\n// Date.now() in a comment is fine\nconst x = clock.nowMs();`)).toEqual([]);
  });
});
