// Type-aware lint, zero warnings (DESIGN.md rule 13): no floating promises, exhaustive
// switches, no default exports, and the import boundaries that keep services apart.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { createRepositoryPrograms } from './scripts/repository-programs.mjs';

/**
 * Whole-repository lint (`npm run lint`, `npm test`) gives the rules the programs of
 * scripts/repository-programs.mjs: one of every Node package's files, one of the browser apps'
 * (DOM, JSX). The project service instead opens a program per tsconfig, and each of those loads,
 * through the packages' source exports, the sources of everything it imports: the same files bound
 * ~20 times over. Linting a file or two by hand keeps the project service, which loads only what
 * those need.
 */
const typeInformation = process.env['CARSHARE_LINT_PROGRAMS'] === '1' ? { programs: createRepositoryPrograms() } : { projectService: true };

const serviceNames = ['gateway', 'user', 'car', 'trip', 'profile', 'blob', 'payment', 'analytics'];

export default tseslint.config(
  {
    ignores: ['**/node_modules/**', '**/dist/**', 'data/**', '.data/**', 'bench/results/**', 'contracts/schema/**', 'eslint.config.js'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { ...typeInformation, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/only-throw-error': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Named exports only (DESIGN.md rule 11).' },
        { selector: 'TSEnumDeclaration', message: 'No enums: erasable syntax only, use a union of literals.' },
      ],
    },
  },
  // Plain JavaScript is in no program: no type information, and none asked for.
  {
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { parserOptions: { ...tseslint.configs.disableTypeChecked.languageOptions?.parserOptions, programs: null } },
  },
  // A service meets others only through contracts/: never through their code.
  ...serviceNames.map((service) => ({
    files: [`services/${service}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: serviceNames.filter((other) => other !== service).map((other) => `@carshare/${other}-service`),
              message: 'Services never import each other: use contracts/ (RPC or events).',
            },
            { group: ['../../*/src/*', '../../../services/*'], message: 'Import other packages by name, not by path.' },
          ],
        },
      ],
    },
  })),
  {
    files: ['libs/**/*.ts', 'contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@carshare/*-service', '@carshare/cli'], message: 'Libraries and contracts never depend on services or apps.' }] },
      ],
    },
  },
  {
    files: ['services/*/src/domain/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fastify', 'undici', 'kysely', 'pg', '@electric-sql/*', 'amqplib', 'ioredis', '@carshare/storage', '@carshare/messaging'], message: 'Domain code is pure: no I/O (DESIGN.md rule 2).' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', '**/*.contract.ts', 'e2e/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] }],
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // fast-check's inferred types differ between tsc and the lint's project service here.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
