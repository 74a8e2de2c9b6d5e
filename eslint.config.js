// ESLint (flat config): typescript-eslint's recommended rules on every TypeScript file, formatting left to Prettier.
// Layer boundaries are checked by dependency-cruiser (.dependency-cruiser.cjs); `npm run lint` runs both.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', 'src/db/generated/', '.data/', 'bench/profiles/', 'scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', fetch: 'readonly' } },
    rules: {
      // Unused names are a compile error already (noUnusedLocals); `_name` marks a deliberate one.
      // Input validation here refuses control characters on purpose.
      'no-control-regex': 'off',
      // A variable assigned once but read earlier by a closure (wired before it exists) stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // Every deep import of oidc-provider goes through the seam (also enforced for resolution by dependency-cruiser).
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['oidc-provider/lib/*'],
              message: 'import oidc-provider internals only in src/oidc/internals*.ts',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  // Tests read JSON bodies field by field; typing each response would only restate the assertions.
  { files: ['test/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  {
    files: ['src/oidc/internals*.ts', 'src/oidc/*.d.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
