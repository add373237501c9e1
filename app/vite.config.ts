// The app reads its deployment at run time from `deployment.json` next to index.html, so one build
// serves any chain: `npm run app` serves the record `npm run deploy` (or `npm run devnet`) wrote,
// re-read on every request so a redeploy needs no restart; `vite build` copies it into dist/.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

const root = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(root, "..");

/** BULKHEAD_DEPLOYMENT (a path from the repository root), else localhost.json, else devnet.json. */
function deploymentFile(): string | null {
  const given = process.env.BULKHEAD_DEPLOYMENT;
  if (given) return path.resolve(repo, given);
  for (const name of ["localhost.json", "devnet.json"]) {
    const file = path.join(repo, "deployments", name);
    if (existsSync(file)) return file;
  }
  return null;
}

function deployment(): Plugin {
  return {
    name: "bulkhead-deployment",
    configureServer(server) {
      server.middlewares.use("/deployment.json", (_req, res) => {
        const file = deploymentFile();
        if (file === null || !existsSync(file)) {
          res.statusCode = 404;
          res.end("no deployment record: run `npm run deploy -- --network localhost` or `npm run devnet`");
          return;
        }
        res.setHeader("content-type", "application/json");
        res.setHeader("cache-control", "no-store");
        res.end(readFileSync(file));
      });
    },
    generateBundle() {
      const file = deploymentFile();
      if (file !== null && existsSync(file)) this.emitFile({ type: "asset", fileName: "deployment.json", source: readFileSync(file) });
    },
  };
}

export default defineConfig({
  root,
  base: "./",
  plugins: [react(), deployment()],
  server: { host: "127.0.0.1", port: 5173 },
  preview: { host: "127.0.0.1", port: 4173 },
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1024 },
});
