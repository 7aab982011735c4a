// The repository as TypeScript programs with nothing to emit: one per distinct set of compiler
// options once output paths are set aside (today two: every Node package, and the browser apps).
// `tsc -b` checks each of its ~24 projects against the declarations of the projects it references,
// so it emits and re-reads declarations nobody else uses (packages export their sources) and
// binds the shared libraries again in every project: 72 s against 27 s for the same files checked
// once. The lint (eslint.config.js) and the type-check (scripts/type-check.mjs) both start here.
import { dirname } from 'node:path';
import ts from 'typescript';

const repositoryRoot = dirname(import.meta.dirname);

/** Options that only say where a project's output goes, or that follow from having one. */
const outputOptions = new Set(['rootDir', 'outDir', 'tsBuildInfoFile', 'composite', 'declaration', 'emitDeclarationOnly', 'configFilePath', 'pathsBasePath']);

/** @returns {{ options: import('typescript').CompilerOptions, files: string[] }[]} */
export function repositoryProgramGroups() {
  const host = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
      throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    },
  };
  const root = ts.readConfigFile(`${repositoryRoot}/tsconfig.json`, ts.sys.readFile).config;
  const groups = new Map();
  for (const { path } of root.references) {
    const parsed = ts.getParsedCommandLineOfConfigFile(`${repositoryRoot}/${path}/tsconfig.json`, {}, host);
    if (!parsed) throw new Error(`cannot read ${path}/tsconfig.json`);
    const options = Object.fromEntries(Object.entries(parsed.options).filter(([name]) => !outputOptions.has(name)));
    const key = JSON.stringify(options);
    const group = groups.get(key) ?? { options: { ...options, noEmit: true }, files: [] };
    group.files.push(...parsed.fileNames);
    groups.set(key, group);
  }
  return [...groups.values()];
}

/** @returns {import('typescript').Program[]} */
export function createRepositoryPrograms() {
  return repositoryProgramGroups().map(({ options, files }) => ts.createProgram({ rootNames: files, options }));
}
