// The look of every page, from the operator's brand (BRAND_NAME, BRAND_LOGO_URL, BRAND_PRIMARY_COLOR, parsed in
// src/config.ts): built once at start, not per request. The pages carry one inline style and no script, so the
// Content-Security-Policy allows that style by its hash and images from this origin and the logo's origin only.
import { createHash } from 'node:crypto';

export interface Brand {
  name: string;
  logoUrl: string | undefined;
  /** #rrggbb */
  primaryColor: string;
}

export interface Theme {
  name: string;
  logoUrl: string | undefined;
  /** The page's one stylesheet (brand colours included). */
  css: string;
  /** CSP source allowing exactly `css`. */
  styleHash: string;
  /** CSP img-src sources: this server, and the logo's origin when there is one. */
  imgSrc: string;
  /** The colours chosen from the brand colour (tests and the README's promise of contrast). */
  colors: { primary: string; onPrimary: string; accent: string; edge: string };
}

const TEXT = '#1b1b1b';
const WHITE = '#ffffff';
const BLACK = '#000000';

/** WCAG 2.2 relative luminance of a #rrggbb colour. */
export function luminance(hex: string): number {
  const channel = (i: number) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

/** WCAG 2.2 contrast ratio of two #rrggbb colours (1 to 21). */
export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/**
 * Button text on the brand colour: black or white, whichever contrasts more (one of them always reaches 4.5:1).
 * Links and focus rings sit on white: the brand colour when it reaches 4.5:1 there, else the body text colour.
 * A button's edge must stand out from the white page (WCAG 1.4.11, 3:1): the brand colour, or the text colour for a
 * light brand colour.
 */
export function brandColors(primary: string): Theme['colors'] {
  const onPrimary = contrast(primary, WHITE) >= contrast(primary, BLACK) ? WHITE : BLACK;
  const accent = contrast(primary, WHITE) >= 4.5 ? primary : TEXT;
  const edge = contrast(primary, WHITE) >= 3 ? primary : TEXT;
  return { primary, onPrimary, accent, edge };
}

// The second button of a pair (Deny, Cancel, "No, stay signed in") is the quieter answer: outlined, not filled.
const STYLE = `*,*::before,*::after{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5;color:${TEXT};background:#f3f4f6;overflow-wrap:anywhere}
.brand{background:#fff;border-top:4px solid var(--primary);border-bottom:1px solid #d1d5db}
.brand div{max-width:32rem;margin:0 auto;padding:.6rem 1.5rem;display:flex;align-items:center;gap:.6rem;font-weight:600;font-size:1.1rem}
.brand img{display:block;max-height:2rem;max-width:8rem;width:auto;height:auto}
main{max-width:32rem;margin:1.5rem auto;padding:1.25rem 1.5rem 1.5rem;background:#fff;border:1px solid #d1d5db;border-radius:8px}
@media (max-width:34rem){body{background:#fff}.brand div{padding:.6rem 1rem}main{margin:0;border:0;border-radius:0;padding:1rem}}
h1{font-size:1.4rem;line-height:1.25;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:1.6rem 0 .5rem}h3{font-size:1rem;margin:0 0 .2rem}
a{color:var(--accent)}
label{display:block;margin:.9rem 0 .3rem;font-weight:600}
input{width:100%;max-width:100%;padding:.55rem .6rem;font:inherit;color:${TEXT};background:#fff;border:1px solid #6b7280;border-radius:6px}
button{font:inherit;margin:1rem .5rem 0 0;padding:.55rem 1.1rem;border-radius:6px;border:2px solid var(--edge);background:var(--primary);color:var(--on-primary);cursor:pointer;max-width:100%}
button+button{background:#fff;color:${TEXT};border-color:#6b7280}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
input:focus-visible{outline-offset:1px;border-color:var(--accent)}
.error{color:#a30000;background:#fdf2f2;border-left:4px solid #a30000;padding:.5rem .75rem}
.notice{background:#eef7ee;border-left:4px solid #2e7d32;padding:.5rem .75rem}
.muted{color:#4b5563}
.user-code code{font-size:1.6rem;letter-spacing:.12em}
ul{padding-left:1.2rem}code{font-size:.9em}
.cards{list-style:none;padding:0;margin:.5rem 0}
.card{border:1px solid #d1d5db;border-radius:6px;padding:.75rem 1rem;margin:.75rem 0}.card.current{border:2px solid var(--accent)}
.card p{margin:.2rem 0}.card button{margin-top:.6rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .75rem;margin:.4rem 0;font-size:.95rem}dt{color:#4b5563}dd{margin:0}
.badge{display:inline-block;font-size:.8rem;font-weight:600;background:var(--primary);color:var(--on-primary);border-radius:999px;padding:0 .5rem;margin-left:.3rem;vertical-align:middle}`;

export function createTheme(brand: Brand): Theme {
  const colors = brandColors(brand.primaryColor);
  const css = `:root{--primary:${colors.primary};--on-primary:${colors.onPrimary};--accent:${colors.accent};--edge:${colors.edge}}\n${STYLE}`;
  return {
    name: brand.name,
    logoUrl: brand.logoUrl,
    css,
    styleHash: `'sha256-${createHash('sha256').update(css).digest('base64')}'`,
    imgSrc: brand.logoUrl ? `'self' ${new URL(brand.logoUrl).origin}` : "'self'",
    colors,
  };
}
