// ESLint for everything outside the plugin (which keeps Headlamp's own config): typescript-eslint's
// recommended rules, and a few that keep files and functions small enough to read at once. npm test
// runs it with zero warnings allowed (test/lint.test.ts).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// max-lines-per-function never sees code outside a function: a command table built by one long
// chain at the top of a module is as hard to read as a long function, so it gets the same limit.
const vmplane = {
  rules: {
    'max-lines-per-top-level-statement': {
      meta: {
        type: 'suggestion',
        docs: {
          description: 'A statement at the top of a module is no longer than a function may be.',
        },
        schema: [{ type: 'integer', minimum: 1 }],
      },
      create(context) {
        const max = context.options[0] ?? 80;
        const check = (node) => {
          const lines = node.loc.end.line - node.loc.start.line + 1;
          if (lines > max) {
            context.report({
              node,
              message: `This top-level statement has ${lines} lines (at most ${max}): split it into named functions.`,
            });
          }
        };
        return {
          'Program > ExpressionStatement': check,
          'Program > ExportDefaultDeclaration': check,
        };
      },
    },
  },
};

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/**',
      'plugin/**',
      'dist/**',
      'api/generated/**',
      'test-results/**',
      'bench/results/**',
      '.vmplane/**',
      'cli/krew/dist/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mjs', '**/*.js', '**/*.cjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        module: 'writable',
        require: 'readonly',
        structuredClone: 'readonly',
        fetch: 'readonly',
        AbortController: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        setImmediate: 'readonly',
        queueMicrotask: 'readonly',
        performance: 'readonly',
        WebSocket: 'readonly',
        URLSearchParams: 'readonly',
        AbortSignal: 'readonly',
      },
    },
    rules: {
      // Small functions and files of one idea: a reader holds one in their head.
      'max-lines-per-function': [
        'error',
        { max: 80, skipBlankLines: true, skipComments: true, IIFEs: true },
      ],
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      complexity: ['error', 25],
      'max-depth': ['error', 4],
      'max-statements': ['error', 40],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      // A variable a callback reads before its one assignment (a server the reload hook uses) stays let.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Configuration files are data; modules are code.
    files: ['**/*.ts'],
    plugins: { vmplane },
    rules: { 'vmplane/max-lines-per-top-level-statement': ['error', 80] },
  },
  {
    // Tests are long lists of cases in describe blocks: the function-size rules are for the code
    // they test. A test file still holds one subject: its cases share one costly set-up (a control
    // plane namespace, a booted guest), so it may run longer than a source file before it splits.
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: {
      'max-lines-per-function': 'off',
      'max-statements': 'off',
      complexity: 'off',
      'vmplane/max-lines-per-top-level-statement': 'off',
      'max-lines': ['error', { max: 600, skipBlankLines: true, skipComments: true }],
    },
  },
  {
    // Tests and the benchmark walk JSON as the API server returns it.
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
