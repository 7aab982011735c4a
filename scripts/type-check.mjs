// `npm run check`, and the type-check half of `npm test`'s static checks: the whole repository
// as the programs of repository-programs.mjs, every diagnostic `tsc` would give, nothing emitted.
// `tsc -b` (per package, or at the root) still works for editors and for checking one package.
import console from 'node:console';
import process from 'node:process';
import ts from 'typescript';
import { repositoryProgramGroups } from './repository-programs.mjs';

const formatHost = {
  getCanonicalFileName: (fileName) => fileName,
  getCurrentDirectory: () => process.cwd(),
  getNewLine: () => '\n',
};

let errors = 0;
for (const { options, files } of repositoryProgramGroups()) {
  // Nothing is emitted (tsx and esbuild run the sources), so a cross-package `.ts` import that an
  // emit would not rewrite (TS2877) is no error here; `tsc -b` never sees one either, because it
  // reads the referenced package's declarations instead of its sources.
  const program = ts.createProgram({ rootNames: files, options: { ...options, rewriteRelativeImportExtensions: false } });
  const diagnostics = ts.getPreEmitDiagnostics(program);
  errors += diagnostics.filter((diagnostic) => diagnostic.category === ts.DiagnosticCategory.Error).length;
  if (diagnostics.length > 0) process.stdout.write(ts.formatDiagnosticsWithColorAndContext(diagnostics, formatHost) + '\n');
}
if (errors > 0) {
  console.error(`type-check: ${errors} error${errors === 1 ? '' : 's'}`);
  process.exit(1);
}
