/**
 * The frame of the admin pages: one inline style sheet (CSP nonce), no script at all, no external
 * asset.
 *
 * A browser cannot put a bearer token on a navigation, so a person signs in with a plain HTML form
 * that posts the token (never in a URL) and receives an HttpOnly admin session cookie
 * (session-routes.ts). No script ever holds the token, and none is needed: the status page refreshes
 * itself with `<meta http-equiv="refresh">`, a navigation that the cookie authenticates.
 */
import type { Child, FC } from 'hono/jsx';
import { raw } from 'hono/html';
import { ADMIN_ROUTES, adminPath } from './admin-paths';

export const REFRESH_SECONDS = 5;

const STYLE = `
:root{color-scheme:light dark;--ok:#15803d;--bad:#b91c1c;--muted:#6b7280;--line:#e5e7eb}
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:90rem;padding:0 1rem}
h1{font-size:1.4rem;margin:0 0 .25rem}.sub{color:var(--muted);margin:0 0 1.25rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.5rem .6rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.pill{display:inline-block;padding:.05rem .55rem;border-radius:1rem;font-size:.85rem;font-weight:600;color:#fff}
.healthy{background:var(--ok)}.unhealthy{background:var(--bad)}.unknown{background:var(--muted)}
.state-draining{color:#b45309}.state-disabled{color:var(--muted);text-decoration:line-through}
meter{display:block;width:8rem;margin-top:.25rem}
.url,.when{color:var(--muted);font-size:.85rem}.error{color:var(--bad)}
.banner{border:1px solid var(--bad);color:var(--bad);padding:.6rem .8rem;border-radius:.4rem;margin-bottom:1rem}
form input{font:inherit;padding:.3rem .5rem;width:22rem;max-width:100%}form button{font:inherit;padding:.3rem .8rem}
header{display:flex;justify-content:space-between;align-items:baseline;gap:1rem}
.spark .requests{fill:none;stroke:#2563eb;stroke-width:1.5}.spark .errors{fill:none;stroke:var(--bad);stroke-width:1.5}
.spark .plot{fill:none;stroke:var(--line)}.spark .area{fill:#2563eb;fill-opacity:.12;stroke:none}
.spark .scale{font-size:9px;fill:var(--muted)}.traffic div,.sessions div,.share div{white-space:nowrap}
.rps,.active{font-variant-numeric:tabular-nums}
`;

interface PageLayoutProps {
  title: string;
  nonce?: string;
  /** Reload the page every so many seconds (a navigation, so the admin session cookie comes along). */
  refreshSeconds?: number;
  children: Child;
}

export const PageLayout: FC<PageLayoutProps> = ({ title, nonce, refreshSeconds, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      {refreshSeconds !== undefined && <meta http-equiv="refresh" content={String(refreshSeconds)} />}
      <title>{title}</title>
      <style nonce={nonce}>{raw(STYLE)}</style>
    </head>
    <body>{children}</body>
  </html>
);

/** Why the sign-in page is shown again: a token that did not match, or a session past its end. */
export type SignInNotice = 'refused' | 'ended';

const NOTICES: Record<SignInNotice, string> = {
  refused: 'That token was refused.',
  ended: 'Your admin session has ended. Sign in again.',
};

export const SignInPage: FC<{ nonce?: string; notice?: SignInNotice }> = ({ nonce, notice }) => (
  <PageLayout title="edge-affinity: sign in" nonce={nonce}>
    <h1>edge-affinity</h1>
    <p class="sub">The admin pages need the admin token (the ADMIN_TOKEN secret).</p>
    {notice && <p class="banner">{NOTICES[notice]}</p>}
    <form id="sign-in" method="post" action={adminPath(ADMIN_ROUTES.signIn)}>
      <input type="password" name="token" placeholder="Admin token" autocomplete="current-password" required />{' '}
      <button>Sign in</button>
    </form>
  </PageLayout>
);

/** Ends the admin session (a form post, so it needs no script). */
export const SignOutButton: FC = () => (
  <form id="sign-out" method="post" action={adminPath(ADMIN_ROUTES.signOut)}>
    <button>Sign out</button>
  </form>
);

export function renderSignInPage(props: { nonce?: string; notice?: SignInNotice }) {
  return <SignInPage {...props} />;
}
