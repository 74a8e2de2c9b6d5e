import { html } from './html.js';
import { layout } from './layout.js';
import type { Theme } from './theme.js';

export function errorPage(
  theme: Theme,
  { error, description }: { error: string; description?: string | undefined },
): string {
  return layout(
    theme,
    'Error',
    html`<h1>Something went wrong</h1>
<p><strong>${error}</strong></p>
${description ? html`<p>${description}</p>` : ''}`,
  );
}
