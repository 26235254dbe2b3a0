// Lint: typescript-eslint's strictTypeChecked rules. We pin TypeScript 6.0.x
// because typed lint rules (no-floating-promises, no-misused-promises,
// switch-exhaustiveness-check, ...) do not support TypeScript 7 yet, and an
// unawaited promise in a socket or timer callback is exactly the bug class a
// network daemon cannot afford. Formatting is Prettier's job, not ESLint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', 'coverage/**', 'native/build/**', 'tools/**', 'dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
      // @kubernetes/client-node's models (V1Service, V1ObjectMeta, ...) are
      // classes holding plain data, and the library takes object literals for
      // them (its own docs do). The rule would forbid the normal way to call it.
      '@typescript-eslint/no-unsafe-class-instance-assignment': 'off',
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'src/cli/**/*.ts', 'lab/cli/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
);
