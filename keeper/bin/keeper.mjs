#!/usr/bin/env node
// Launcher of the Bulkhead keeper: runs keeper/src/cli.ts (and the SDK sources it imports) with
// Node's built-in TypeScript support, no build step and no third-party loader. Two module hooks:
// relative "./x.js" imports resolve to "./x.ts" when only the .ts file exists (the sources use
// .js specifiers, as compiled ESM needs), and .ts files load through module.stripTypeScriptTypes
// in "transform" mode (the SDK uses namespaces and parameter properties, which plain type
// stripping refuses). Needs Node >= 22.15 (module.registerHooks); Node 24 recommended.
import { existsSync, readFileSync } from "node:fs";
import module from "node:module";
import { fileURLToPath } from "node:url";

if (typeof module.registerHooks !== "function" || typeof module.stripTypeScriptTypes !== "function") {
  process.stderr.write(`keeper: Node ${process.versions.node} is too old: use Node 22.15 or later (24 recommended)\n`);
  process.exit(2);
}

// stripTypeScriptTypes is marked experimental; its one-time warning is noise for operators.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  const text = typeof warning === "string" ? warning : warning?.message ?? "";
  if (/stripTypeScriptTypes|Type Stripping|Transform Types/i.test(text)) return;
  return emitWarning.call(process, warning, ...rest);
};

module.registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.endsWith(".js") && (specifier.startsWith("./") || specifier.startsWith("../")) && context.parentURL?.endsWith(".ts")) {
      const url = new URL(specifier, context.parentURL);
      if (!existsSync(fileURLToPath(url))) {
        const ts = new URL(specifier.slice(0, -3) + ".ts", context.parentURL);
        if (existsSync(fileURLToPath(ts))) return nextResolve(ts.href, context);
      }
    }
    return nextResolve(specifier, context);
  },
  load(url, context, nextLoad) {
    if (url.startsWith("file:") && url.endsWith(".ts") && !url.includes("/node_modules/")) {
      const source = readFileSync(fileURLToPath(url), "utf8");
      const code = module.stripTypeScriptTypes(source, { mode: "transform", sourceMap: true, sourceUrl: url });
      return { format: "module", source: code, shortCircuit: true };
    }
    return nextLoad(url, context);
  },
});

const { main } = await import("../src/cli.ts");
const code = await main(process.argv.slice(2), process.env);
process.exit(code);
