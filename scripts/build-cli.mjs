// Bundles the CLI's own TypeScript (every @carshare/* package) into dist/carshare.mjs so that
// `npm start` runs on plain Node: loading through tsx's hooks cost ~2 s of a warm start here.
// Third-party packages stay external, pinned to the exact file Node would load for the importing
// package (workspaces may hold different versions of one package).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const resolvingExternal = Symbol('resolving an external');
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: [join(repoRoot, 'apps/carshare/src/main.ts')],
  outfile: join(repoRoot, 'dist/carshare.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'inline',
  // Resolve externals the way Node does: `main`, and no bundler-only `module` condition, whose
  // ESM builds (e.g. @opentelemetry/api's) use extensionless imports Node cannot load.
  mainFields: ['main'],
  conditions: [],
  logLevel: 'warning',
  plugins: [
    {
      name: 'third-party-external',
      setup(builder) {
        builder.onResolve({ filter: /^[^./]/ }, async (args) => {
          if (args.pluginData === resolvingExternal) return undefined;
          if (args.path.startsWith('@carshare/') || args.path.startsWith('node:')) return undefined;
          const resolved = await builder.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: resolvingExternal });
          if (resolved.errors.length > 0) return undefined;
          return { path: resolved.path, external: true };
        });
      },
    },
  ],
});
