#!/usr/bin/env node
// Fails on a new import cycle between files of src/ or between its folders (issue 16). Imports
// are read with the TypeScript parser: static imports and re-exports anywhere in the file and
// dynamic import() calls (type-only imports count: a type circle is still a circle for a reader). Cycles that existed when this check was added are
// listed in scripts/import-cycles-baseline.json; a cycle that is not (or grows) fails `npm run
// lint`. Remove entries as cycles are broken: `node scripts/check-cycles.mjs --write-baseline`.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const baselinePath = join(root, 'scripts', 'import-cycles-baseline.json');

function sourceFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every module specifier a file names: import/export … from, import x = require(), import(). */
function specifiers(file) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier))
      found.push(node.moduleSpecifier.text);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0]))
      found.push(node.arguments[0].text);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal))
      found.push(node.argument.literal.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

const files = sourceFiles(join(root, 'src'));
const known = new Set(files);
const graph = new Map();
for (const file of files) {
  const targets = new Set();
  for (const fileName of specifiers(file)) {
    if (!fileName.startsWith('.')) continue;
    const target = resolve(dirname(file), fileName).replace(/\.js$/, '.ts');
    if (known.has(target)) targets.add(target);
  }
  graph.set(file, [...targets]);
}

/** Strongly connected components with more than one member (Tarjan). */
function cycles(nodes, edges) {
  let index = 0;
  const stack = [];
  const state = new Map();
  const found = [];
  const visit = (node) => {
    state.set(node, { index, low: index, onStack: true });
    index++;
    stack.push(node);
    for (const next of edges(node)) {
      if (!state.has(next)) {
        visit(next);
        state.get(node).low = Math.min(state.get(node).low, state.get(next).low);
      } else if (state.get(next).onStack) {
        state.get(node).low = Math.min(state.get(node).low, state.get(next).index);
      }
    }
    if (state.get(node).low === state.get(node).index) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        state.get(member).onStack = false;
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of nodes) if (!state.has(node)) visit(node);
  return found;
}

const rel = (file) => relative(root, file);
const folderOf = (file) => rel(dirname(file));
const folders = [...new Set(files.map(folderOf))];
const folderEdges = new Map(folders.map((folder) => [folder, new Set()]));
for (const [file, targets] of graph)
  for (const target of targets) if (folderOf(file) !== folderOf(target)) folderEdges.get(folderOf(file)).add(folderOf(target));

const current = {
  files: cycles(files, (file) => graph.get(file)).map((component) => component.map(rel)),
  folders: cycles(folders, (folder) => [...folderEdges.get(folder)]),
};

if (process.argv.includes('--write-baseline')) {
  writeFileSync(baselinePath, `${JSON.stringify(current, null, 2)}\n`);
  console.log(`wrote ${rel(baselinePath)}: ${current.files.length} file cycles, ${current.folders.length} folder cycles`);
  process.exit(0);
}

const baseline = JSON.parse(readFileSync(baselinePath, 'utf8'));
const covered = (component, known) => known.some((old) => component.every((member) => old.includes(member)));
const problems = [];
for (const component of current.files) if (!covered(component, baseline.files)) problems.push(`import cycle between files: ${component.join(' → ')}`);
for (const component of current.folders) if (!covered(component, baseline.folders)) problems.push(`import cycle between folders: ${component.join(' → ')}`);
for (const line of problems) console.error(`check-cycles: ${line}`);
if (problems.length > 0) {
  console.error(
    'check-cycles: break the cycle (see docs/architecture.md "Dependency direction"); scripts/import-cycles-baseline.json lists only cycles older than this check',
  );
  process.exit(1);
}
