import { html } from './html.js';
import { layout } from './layout.js';

export function errorPage({ error, description }: { error: string; description?: string | undefined }): string {
  return layout(
    'Error',
    html`<h1>Something went wrong</h1>
<p><strong>${error}</strong></p>
${description ? html`<p>${description}</p>` : ''}`,
  );
}
