// The lint that matters most here: src/core stays pure (bytes and keys in, results out).
import tseslint from 'typescript-eslint';

const ioModules = [
  'fs',
  'fs/promises',
  'child_process',
  'net',
  'http',
  'https',
  'http2',
  'dgram',
  'dns',
  'tls',
  'process',
  'worker_threads',
  'cluster',
  'readline',
  'os',
].flatMap((name) => [name, `node:${name}`]);

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.bench/**', 'coverage/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'off',
      'no-debugger': 'error',
    },
  },
  // Relative imports may move around inside src/core but never climb out of it: how many '../'
  // leave src/core depends on how deep the file is, so each depth gets its own pattern.
  ...[1, 2, 3, 4, 5].map((depth) => ({
    files: [`src/core/${'*/'.repeat(depth - 1)}*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioModules.map((name) => ({ name, message: 'src/core is pure: do I/O at the edge and pass bytes in.' })),
          patterns: [
            {
              group: ['pino', 'pino/*', 'probot', 'probot/*', '@octokit/*', 'node-cron', 'better-sqlite3', 'pg', 'isomorphic-git', 'isomorphic-git/*'],
              message: 'src/core is pure: no logger, forge client, store or git I/O.',
            },
            { group: [`${'../'.repeat(depth)}*`], message: 'src/core must not depend on outer layers.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'src/core is pure: take what you need as an argument.' },
        { name: 'fetch', message: 'src/core does no network I/O.' },
        { name: 'console', message: 'src/core does not log; return data.' },
      ],
    },
  })),
  // The files that write Markdown from untrusted text. The check report's renderers are typed
  // (src/core/render/markdown-text.ts: a branded Markdown type that only the escapers make, and
  // an md`` tag that accepts only Markdown); here lint closes the two ways back to raw text.
  {
    files: [
      'src/forge/report.ts',
      'src/release/render.ts',
      'src/report/render-markdown.ts',
      'src/jobs/key-expiry.ts',
      'src/jobs/revocation-sweep.ts',
      'src/gitlab/run-check.ts',
    ],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TemplateElement[tail=false][value.raw=/\\\\`$/]',
          message: 'A hand-made code span around ${…} is closed by a backtick in the text: use markdownCode() from src/core/render/markdown-text.ts.',
        },
        {
          selector: 'FunctionDeclaration[id.name=/^(cell|escape\\w*|sanitize\\w*)$/]',
          message: 'One escaping function per medium: use markdownText()/markdownCode() from src/core/render/markdown-text.ts.',
        },
        {
          selector: 'VariableDeclarator[id.name=/^(escape\\w*|sanitize\\w*)$/][init.type=/Function/]',
          message: 'One escaping function per medium: use markdownText()/markdownCode() from src/core/render/markdown-text.ts.',
        },
      ],
    },
  },
);
