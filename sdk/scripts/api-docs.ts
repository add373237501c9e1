// Writes sdk/API.md, the API reference, from the TSDoc comments of everything sdk/src/index.ts
// exports, with the TypeScript compiler API (no typedoc needed). Run: npm run sdk:docs
// With --check it writes nothing and exits 1 when the committed API.md is stale.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { join, dirname, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const sdk = join(dirname(fileURLToPath(import.meta.url)), "..");
const entry = join(sdk, "src", "index.ts");
const program = ts.createProgram([entry], {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  skipLibCheck: true,
});
const checker = program.getTypeChecker();
const source = program.getSourceFile(entry)!;
const moduleSymbol = checker.getSymbolAtLocation(source)!;

const doc = (s: ts.Symbol): string => ts.displayPartsToString(s.getDocumentationComment(checker)).trim();
const oneLine = (t: string) => t.replace(/\s+/g, " ").trim();
const print = (node: ts.Node) => oneLine(node.getText());

type Entry = { name: string; kind: string; file: string; text: string };
const sections = new Map<string, Entry[]>();

function resolve(s: ts.Symbol): ts.Symbol {
  return s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
}

function signatureOf(decl: ts.Declaration): string {
  if (ts.isFunctionDeclaration(decl) || ts.isMethodDeclaration(decl)) {
    const params = decl.parameters.map((p) => print(p)).join(", ");
    return `(${params})${decl.type ? `: ${print(decl.type)}` : ""}`;
  }
  return "";
}

function members(symbol: ts.Symbol, isClass: boolean): string[] {
  const out: string[] = [];
  const table = isClass ? symbol.members : symbol.members;
  const statics = isClass ? symbol.exports : undefined;
  const visit = (m: ts.Symbol, prefix: string) => {
    const name = m.getName();
    if (name.startsWith("#") || name === "__constructor" && !isClass) return;
    const decl = m.declarations?.[0];
    if (!decl) return;
    const mods = ts.canHaveModifiers(decl) ? ts.getModifiers(decl) ?? [] : [];
    if (mods.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword || x.kind === ts.SyntaxKind.ProtectedKeyword)) return;
    if (ts.isPropertyDeclaration(decl) && ts.isPrivateIdentifier(decl.name)) return;
    if (name === "prototype") return;
    const d = oneLine(doc(m));
    let sig = "";
    if (ts.isMethodDeclaration(decl) || ts.isFunctionDeclaration(decl)) sig = `${name}${signatureOf(decl)}`;
    else if (ts.isConstructorDeclaration(decl)) sig = `new (${decl.parameters.map(print).join(", ")})`;
    else if (ts.isGetAccessorDeclaration(decl)) sig = `get ${name}: ${decl.type ? print(decl.type) : "unknown"}`;
    else if (ts.isPropertySignature(decl) || ts.isPropertyDeclaration(decl)) sig = `${name}${decl.questionToken ? "?" : ""}: ${decl.type ? print(decl.type) : checker.typeToString(checker.getTypeOfSymbol(m))}`;
    else if (ts.isMethodSignature(decl)) sig = `${name}(${decl.parameters.map(print).join(", ")})${decl.type ? `: ${print(decl.type)}` : ""}`;
    else if (ts.isVariableDeclaration(decl)) sig = `${name}: ${decl.type ? print(decl.type) : checker.typeToString(checker.getTypeOfSymbol(m))}`;
    else if (ts.isModuleDeclaration(decl) || ts.isInterfaceDeclaration(decl) || ts.isTypeAliasDeclaration(decl)) return;
    else return;
    out.push(`- \`${prefix}${sig}\`${d ? ` — ${d}` : ""}`);
  };
  table?.forEach((m) => visit(m, ""));
  statics?.forEach((m) => visit(m, isClass ? "static " : ""));
  return out;
}

for (const exported of checker.getExportsOfModule(moduleSymbol)) {
  const s = resolve(exported);
  const decl = s.declarations?.[0];
  if (!decl) continue;
  // The client's modules (src/client/*) document one API: they share the client's section.
  const file = relative(join(sdk, "src"), decl.getSourceFile().fileName).replace(/\.ts$/, "").replace(/^client\/.*/, "client");
  let kind = "";
  const lines: string[] = [];
  const summary = doc(s);
  if (ts.isClassDeclaration(decl)) {
    kind = "class";
    const base = decl.heritageClauses?.map(print).join(" ") ?? "";
    lines.push(`\`class ${s.getName()}${base ? ` ${base}` : ""}\``);
    if (summary) lines.push("", summary);
    const m = members(s, true);
    if (m.length && !/^(ContractRevert|Oracle)?Error$/.test(s.getName()) && (s.getName().endsWith("Client") || m.length < 40)) lines.push("", ...m);
  } else if (ts.isInterfaceDeclaration(decl)) {
    kind = "interface";
    lines.push(`\`interface ${s.getName()}${decl.heritageClauses ? ` ${decl.heritageClauses.map(print).join(" ")}` : ""}\``);
    if (summary) lines.push("", summary);
    const m = members(s, false);
    if (m.length) lines.push("", ...m);
  } else if (ts.isTypeAliasDeclaration(decl)) {
    kind = "type";
    lines.push(`\`type ${s.getName()} = ${print(decl.type)}\``);
    if (summary) lines.push("", summary);
  } else if (ts.isFunctionDeclaration(decl)) {
    kind = "function";
    lines.push(`\`${s.getName()}${signatureOf(decl)}\``);
    if (summary) lines.push("", summary);
  } else if (ts.isModuleDeclaration(decl)) {
    kind = "namespace";
    lines.push(`\`namespace ${s.getName()}\``);
    if (summary) lines.push("", summary);
    const fns: string[] = [];
    s.exports?.forEach((m) => {
      const d = m.declarations?.[0];
      if (!d) return;
      if (ts.isFunctionDeclaration(d)) fns.push(`- \`${m.getName()}${signatureOf(d)}\`${doc(m) ? ` — ${oneLine(doc(m))}` : ""}`);
      else if (ts.isVariableDeclaration(d)) fns.push(`- \`${m.getName()}\`${doc(m) ? ` — ${oneLine(doc(m))}` : ""}`);
    });
    if (fns.length) lines.push("", ...fns);
  } else if (ts.isVariableDeclaration(decl)) {
    kind = "const";
    const t = decl.type ? print(decl.type) : checker.typeToString(checker.getTypeOfSymbol(s));
    lines.push(`\`const ${s.getName()}: ${t.length > 120 ? "readonly [...] (ABI)" : t}\``);
    if (summary) lines.push("", summary);
  } else continue;
  const list = sections.get(file) ?? [];
  list.push({ name: s.getName(), kind, file, text: lines.join("\n") });
  sections.set(file, list);
}

const order = ["client", "health", "types", "errors", "events", "addresses", "vault", "format"];
const files = [...sections.keys()].sort((a, b) => {
  const ia = order.indexOf(a) === -1 ? 99 : order.indexOf(a);
  const ib = order.indexOf(b) === -1 ? 99 : order.indexOf(b);
  return ia - ib || a.localeCompare(b);
});
let md = "# @bulkhead/sdk API reference\n\nGenerated from the TSDoc comments by `sdk/scripts/api-docs.ts` (`npm run sdk:docs`). Do not edit.\n\n";
md += files.map((f) => `- [${f}](#${f.replace(/[^a-z0-9]+/gi, "").toLowerCase()})`).join("\n") + "\n";
for (const f of files) {
  md += `\n## ${f}\n`;
  for (const e of sections.get(f)!.sort((a, b) => a.name.localeCompare(b.name))) md += `\n### ${e.name}\n\n${e.text}\n`;
}

const out = join(sdk, "API.md");
if (process.argv.includes("--check")) {
  if (!existsSync(out) || readFileSync(out, "utf8") !== md) {
    console.error("sdk/API.md is stale: run npm run sdk:docs");
    process.exit(1);
  }
  console.log("sdk/API.md is up to date");
} else {
  writeFileSync(out, md);
  console.log(`wrote sdk/API.md (${md.length} chars)`);
}
