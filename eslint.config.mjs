// Lint rules that keep the layering of STYLE.md honest:
// http -> services -> {repositories, runtimes, files, models} -> {db, config, logging}.
// ESLint replaces (does not merge) a rule configured twice for one file, so each
// folder gets its whole list of forbidden imports in one place.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const pkg = (name, why) => ({ group: [name, `${name}/*`], message: why });
const dir = (name) => ({ group: [`**/${name}`, `**/${name}/*`], message: `Nothing imports upward into ${name}/.` });

const express = pkg('express', 'express belongs to http/ and auth/ only.');
const drizzle = pkg('drizzle-orm', 'drizzle belongs to db/ and repositories/ only.');
const sqlite = pkg('better-sqlite3', 'better-sqlite3 belongs to db/ and repositories/ only.');
const dockerode = pkg('dockerode', 'dockerode belongs to the docker runtime driver only.');

const forbidden = {
  http: [drizzle, sqlite, dockerode],
  auth: [drizzle, sqlite, dockerode, dir('http')],
  services: [express, drizzle, sqlite, dockerode, dir('http'), dir('auth')],
  repositories: [express, dockerode, dir('http'), dir('auth'), dir('services')],
  runtimes: [express, drizzle, sqlite, dir('http'), dir('auth'), dir('services')],
  files: [express, drizzle, sqlite, dockerode, dir('http'), dir('auth'), dir('services')],
  models: [express, drizzle, sqlite, dockerode, dir('http'), dir('auth'), dir('services')],
  // What Traefik needs (labels, its peer container): the services use it, so it uses none of theirs.
  proxy: [express, drizzle, sqlite, dir('http'), dir('auth'), dir('services'), dir('repositories')],
  db: [express, dockerode, dir('http'), dir('auth'), dir('services'), dir('repositories')],
  config: [express, drizzle, sqlite, dockerode, dir('http'), dir('services'), dir('repositories'), dir('db')],
  logging: [express, drizzle, sqlite, dockerode, dir('http'), dir('services'), dir('repositories'), dir('db')],
  // Any layer may report to the metrics (like logging), so they import none of the layers.
  metrics: [express, drizzle, sqlite, dockerode, dir('http'), dir('auth'), dir('services'), dir('repositories'), dir('db'), dir('runtimes'), dir('models'), dir('files'), dir('proxy')],
  cli: [express, drizzle, sqlite, dockerode, dir('http')],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'web/**', 'e2e/**', 'bench/**', 'scripts/**', '*.config.js', '*.config.mjs', 'server/test/*.js', 'runtime-image/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  // Plain CommonJS that runs inside runtime containers: linted as JavaScript, without type information.
  {
    files: ['**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { ...tseslint.configs.disableTypeChecked.languageOptions, sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { ...tseslint.configs.disableTypeChecked.rules, '@typescript-eslint/no-require-imports': 'off' },
  },
  ...Object.entries(forbidden).map(([folder, patterns]) => ({
    files: [`server/src/${folder}/**/*.ts`],
    ignores: ['server/src/**/*.spec.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  })),
  {
    files: ['server/src/**/*.ts'],
    ignores: ['server/src/config/**'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read settings through server/src/config only.' }],
    },
  },
  {
    files: ['server/src/**/*.spec.ts', 'server/test/**/*.ts'],
    rules: {
      'no-restricted-properties': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
