// Renders Mermaid diagrams with the real mermaid package in jsdom. Reads a JSON list of
// diagram texts on stdin and prints a JSON list with, for each, {"ok": true, "states": [...],
// "edges": [...]} (the text a reader sees in each state box and on each edge) or, on a parse
// or render error, {"ok": false, "error": "..."}. One process for many diagrams: loading
// mermaid takes a second or two.
// Used by tests/domain/test_diagram_renderers.py; needs `npm ci --prefix tests/mermaid` (or
// PHASEGATE_MERMAID_DIR naming a folder whose node_modules has mermaid and jsdom).
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const base = process.env.PHASEGATE_MERMAID_DIR || path.dirname(new URL(import.meta.url).pathname);
const require = createRequire(path.join(base, 'package.json'));
const { JSDOM } = require('jsdom');
const dom = new JSDOM('<!DOCTYPE html><body></body>', { pretendToBeVisual: true });
const w = dom.window;
globalThis.window = w;
globalThis.document = w.document;
// jsdom lays nothing out: a size proportional to the text is enough for mermaid's layout.
globalThis.CSSStyleSheet ??= class { insertRule() {} replaceSync() {} get cssRules() { return []; } };
const size = (el) => 8 * (el.textContent || '').length;
w.SVGElement.prototype.getBBox = function () { return { x: 0, y: 0, width: size(this), height: 16 }; };
w.SVGElement.prototype.getComputedTextLength = function () { return size(this); };

const entry = path.join(path.dirname(require.resolve('mermaid/package.json')), 'dist', 'mermaid.core.mjs');
const { default: mermaid } = await import(pathToFileURL(entry).href);
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });

async function labels(text, id) {
  try {
    await mermaid.parse(text);
    const { svg } = await mermaid.render(id, text);
    const doc = new w.DOMParser().parseFromString(`<body>${svg}</body>`, 'text/html');
    const texts = (selector) => [...doc.querySelectorAll(selector)].map((node) => node.textContent);
    const edges = texts('g.edgeLabel span.edgeLabel').filter((t) => t !== '');
    return { ok: true, states: texts('g.node .nodeLabel'), edges };
  } catch (error) {
    return { ok: false, error: String(error?.message ?? error) };
  }
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const [i, text] of JSON.parse(input).entries()) results.push(await labels(text, `diagram${i}`));
console.log(JSON.stringify(results));
