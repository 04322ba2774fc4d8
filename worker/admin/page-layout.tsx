/**
 * The frame of the admin pages: one inline style sheet and one inline script (CSP nonce), no
 * external asset.
 *
 * A browser cannot put a bearer token on a navigation, so the page signs itself in: the token comes
 * from the URL fragment (`#token=…`, never sent to any server) or the sign-in form, is kept in this
 * tab's sessionStorage, and the script fetches the page again with `Authorization: Bearer` every few
 * seconds, replacing its content. That is also how the page refreshes itself.
 */
import type { Child, FC } from 'hono/jsx';
import { raw } from 'hono/html';

export const REFRESH_SECONDS = 5;

const STYLE = `
:root{color-scheme:light dark;--ok:#15803d;--bad:#b91c1c;--muted:#6b7280;--line:#e5e7eb}
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem}
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
`;

const SCRIPT = `
(() => {
  const KEY = 'edge-affinity-admin-token';
  const hash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (hash) { sessionStorage.setItem(KEY, hash); history.replaceState(null, '', location.pathname + location.search); }
  async function load() {
    const token = sessionStorage.getItem(KEY);
    if (!token) return;
    const response = await fetch(location.pathname, { headers: { accept: 'text/html', authorization: 'Bearer ' + token }, cache: 'no-store' });
    if (response.status === 401) sessionStorage.removeItem(KEY);
    const next = new DOMParser().parseFromString(await response.text(), 'text/html').getElementById('page');
    if (next) document.getElementById('page').replaceWith(next);
  }
  document.addEventListener('submit', (event) => {
    if (event.target.id !== 'sign-in') return;
    event.preventDefault();
    sessionStorage.setItem(KEY, new FormData(event.target).get('token'));
    load();
  });
  load();
  setInterval(load, ${REFRESH_SECONDS * 1000});
})();
`;

export const PageLayout: FC<{ title: string; nonce?: string; children: Child }> = ({ title, nonce, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{title}</title>
      <style nonce={nonce}>{raw(STYLE)}</style>
    </head>
    <body>
      <div id="page">{children}</div>
      <script nonce={nonce}>{raw(SCRIPT)}</script>
    </body>
  </html>
);

export const SignInPage: FC<{ nonce?: string; refused: boolean }> = ({ nonce, refused }) => (
  <PageLayout title="edge-affinity: sign in" nonce={nonce}>
    <h1>edge-affinity</h1>
    <p class="sub">The admin pages need the admin token (the ADMIN_TOKEN secret).</p>
    {refused && <p class="banner">That token was refused.</p>}
    <form id="sign-in">
      <input type="password" name="token" placeholder="Admin token" autocomplete="current-password" required />{' '}
      <button>Sign in</button>
    </form>
  </PageLayout>
);

export function renderSignInPage(nonce: string | undefined, refused: boolean) {
  return <SignInPage nonce={nonce} refused={refused} />;
}
