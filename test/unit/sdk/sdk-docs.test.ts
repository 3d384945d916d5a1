/**
 * Every public symbol of the SDK's two entries (`@attestor/sdk` = packages/sdk/src/index.ts and
 * `@attestor/sdk/node` = packages/sdk/src/node.ts), and every public member of its exported
 * classes, has a TSDoc comment with an `@example`, including the protocol constants the SDK
 * re-exports from @attestor/contracts/protocol.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';

const SDK = resolve(__dirname, '../../../packages/sdk/src');
const PROTOCOL = resolve(__dirname, '../../../packages/contracts/src/protocol.ts');

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
}

function hasExample(node: ts.Node): boolean {
  return ts.getJSDocTags(node).some((tag) => tag.tagName.text === 'example');
}

function declarationName(node: ts.Node): string[] {
  if (ts.isVariableStatement(node)) return node.declarationList.declarations.map((d) => d.name.getText());
  const name = (node as { name?: ts.Node }).name;
  return name ? [name.getText()] : [];
}

function isExported(node: ts.Node): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
}

/** Top-level declarations of a module by name. */
function declarations(file: ts.SourceFile): Map<string, ts.Node> {
  const found = new Map<string, ts.Node>();
  for (const statement of file.statements) for (const name of declarationName(statement)) found.set(name, statement);
  return found;
}

/** Names the entry exports, each with the declaration it resolves to. */
function publicSymbols(entry: string): Array<[string, ts.Node]> {
  const file = parse(entry);
  const out: Array<[string, ts.Node]> = [];
  for (const statement of file.statements) {
    if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      const specifier = (statement.moduleSpecifier as ts.StringLiteral).text;
      // The protocol's constants come from the module the server shares (bundled into the SDK).
      const target = specifier === '@attestor/contracts/protocol' ? PROTOCOL : join(dirname(entry), `${specifier}.ts`);
      const decls = declarations(parse(target));
      for (const element of statement.exportClause.elements) {
        const name = (element.propertyName ?? element.name).text;
        const decl = decls.get(name);
        if (!decl) throw new Error(`${name} is not declared in ${target}`);
        out.push([name, decl]);
      }
    } else if (isExported(statement)) {
      for (const name of declarationName(statement)) out.push([name, statement]);
    }
  }
  return out;
}

function publicMembers(node: ts.Node): Array<[string, ts.Node]> {
  if (!ts.isClassDeclaration(node)) return [];
  return node.members
    .filter(
      (m) =>
        !(ts.canHaveModifiers(m) && (ts.getModifiers(m) ?? []).some((mod) => mod.kind === ts.SyntaxKind.PrivateKeyword)) &&
        !(m.name && ts.isPrivateIdentifier(m.name)),
    )
    .filter(
      (m) =>
        ts.isMethodDeclaration(m) ||
        ts.isConstructorDeclaration(m) ||
        (ts.isPropertyDeclaration(m) && m.initializer !== undefined && ts.isArrowFunction(m.initializer)),
    )
    .map((m) => [ts.isConstructorDeclaration(m) ? 'constructor' : m.name!.getText(), m]);
}

describe.each([
  ['attestor/sdk', join(SDK, 'index.ts')],
  ['attestor/sdk/node', join(SDK, 'node.ts')],
])('%s', (_entry, file) => {
  const symbols = publicSymbols(file);

  it('exports something', () => {
    expect(symbols.length).toBeGreaterThan(5);
  });

  it.each(symbols.map(([name, node]) => [name, node] as const))('%s has TSDoc with @example', (_name, node) => {
    expect(hasExample(node)).toBe(true);
    for (const [member, memberNode] of publicMembers(node)) expect({ member, documented: hasExample(memberNode) }).toEqual({ member, documented: true });
  });
});

it('the checker notices a missing @example', () => {
  const file = ts.createSourceFile(
    'x.ts',
    '/** Just text. */\nexport function f() {}\n/**\n * @example\n * f();\n */\nexport function g() {}',
    ts.ScriptTarget.ES2022,
    true,
  );
  const [f, g] = file.statements;
  expect([hasExample(f!), hasExample(g!)]).toEqual([false, true]);
});
