import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      '**/dist/',
      '.herald/',
      'libs/db/src/generated/',
      'coverage/',
      'test/jest-transform.js',
      'jest.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Nest's module and decorator style uses empty classes.
      '@typescript-eslint/no-extraneous-class': 'off',
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: 'Read settings from HeraldConfig (libs/config), not process.env.',
        },
      ],
    },
  },
  {
    // npm start composes the apps through their public entry points (apps/api/src/index.ts, apps/worker/src/index.ts),
    // so a change inside an app cannot break the all-in-one process behind its back.
    files: ['apps/herald/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../../api/src/*', '../../worker/src/*', '../../console/**'],
              message: "Import another app through its index ('../../api/src', '../../worker/src').",
            },
          ],
        },
      ],
    },
  },
  {
    // A package of its own, run by MCP clients: it cannot use HeraldConfig, its bin reads HERALD_URL/HERALD_API_KEY.
    files: ['libs/mcp/src/bin.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: [
      'test/**',
      'scripts/**',
      'bench/**',
      'examples/**',
      'apps/*/src/main.ts',
      'libs/dev-services/**',
      'prisma.config.ts',
      '**/*.spec.ts',
    ],
    rules: {
      'no-restricted-syntax': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
