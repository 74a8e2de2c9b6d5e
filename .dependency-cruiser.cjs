// The layers of docs/architecture.md, enforced: a module may import its own layer and the layers below, never above.
// `npm run lint` runs this; a new upward import fails CI.
const layers = [
  ['kernel', '^src/(config|errors)\\.ts$'],
  // Pure functions from data to escaped HTML: they import nothing of ours but each other, so every layer may render.
  ['templates', '^views/'],
  ['infrastructure', '^src/(db|store|crypto|observability|request|mail)/'],
  ['domain', '^src/(families|accounts|clients|sessions|audit|security|registration|anomalies|logout)/'],
  ['adapters', '^adapters/'],
  ['protocol', '^src/oidc/'],
  ['delivery', '^src/(http|admin)/'],
  ['composition', '^(src/(app|boot|cluster|main|services)\\.ts$|src/cli/)'],
];

const upward = layers.slice(0, -1).map(([name, path], i) => ({
  name: `no-upward-from-${name}`,
  comment: `${name} may not import from ${layers
    .slice(i + 1)
    .map(([n]) => n)
    .join(', ')} (docs/architecture.md, "Layers")`,
  severity: 'error',
  from: { path },
  to: {
    path: layers
      .slice(i + 1)
      .map(([, p]) => `(${p})`)
      .join('|'),
  },
}));

module.exports = {
  forbidden: [
    ...upward,
    {
      name: 'oidc-provider-internals-through-the-seam',
      comment: 'only src/oidc/internals*.ts may deep-import oidc-provider/lib (docs/architecture.md, "The seam")',
      severity: 'error',
      from: { pathNot: '^src/oidc/internals' },
      to: { path: 'node_modules/oidc-provider/lib/', pathNot: 'node_modules/oidc-provider/lib/index\\.js$' },
    },
    {
      name: 'every-module-in-a-layer',
      comment: 'a new folder or top-level module must be placed in a layer above (docs/architecture.md, "Layers")',
      severity: 'error',
      from: { path: '^(src|adapters|views)/', pathNot: layers.map(([, p]) => `(${p})`).join('|') },
      to: {},
    },
    { name: 'no-circular', severity: 'error', from: { path: '^(src|adapters|views)/' }, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^(src|adapters|views|node_modules/oidc-provider/lib)/',
    exclude: { path: '^src/db/generated/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
