/**
 * A page of the proxied application (served by EchoOrigin at `/app-page`) whose inline script tries
 * what a hostile script on the worker's origin could try against the admin session of the browser it
 * runs in, and writes what it obtained as JSON into `#result` (and `#popup` for the window it opens
 * when `#open` is clicked: a popup needs a user's click).
 */
const SCRIPT = `
const attempt = async (action) => { try { return await action(); } catch (error) { return 'threw ' + error.name; } };
const rows = (doc) => doc.querySelectorAll('tr[data-origin]').length;

async function attack() {
  const result = { cookie: document.cookie };
  // Path is no security boundary (RFC 6265 §8.5): a document whose URL is under /_affinity sees its cookies.
  history.replaceState(null, '', '/_affinity/status');
  result.cookieUnderAdminPath = document.cookie;
  history.replaceState(null, '', '/app-page');
  result.statusPage = await attempt(async () => {
    const response = await fetch('/_affinity/status', { headers: { accept: 'text/html' }, credentials: 'include' });
    return { status: response.status, rows: (await response.text()).includes('data-origin') };
  });
  result.statusJson = await attempt(async () => (await fetch('/_affinity/status')).status);
  result.configPut = await attempt(async () => (await fetch('/_affinity/config', {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ origins: [{ id: 'evil', url: 'http://127.0.0.1:9' }] }),
  })).status);
  result.frame = await attempt(() => new Promise((resolve) => {
    const frame = document.createElement('iframe');
    frame.src = '/_affinity/status';
    frame.onload = () => resolve(attempt(() => (frame.contentDocument ? rows(frame.contentDocument) : 'no document')));
    document.body.append(frame);
  }));
  document.getElementById('result').textContent = JSON.stringify(result);
}

document.getElementById('open').addEventListener('click', () => {
  const opened = window.open('/_affinity/status');
  const seen = new Set();
  let tries = 0;
  const look = setInterval(async () => {
    seen.add(String(await attempt(() => rows(opened.document))));
    if (!opened.closed && ++tries < 50) return;
    clearInterval(look);
    document.getElementById('popup').textContent = JSON.stringify({ closed: opened.closed, seen: [...seen] });
  }, 100);
});

attack();
`;

export const HOSTILE_APP_PAGE = `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>The application</title></head>
  <body>
    <h1>A page of the application</h1>
    <button id="open">Open the status page</button>
    <pre id="result"></pre>
    <pre id="popup"></pre>
    <script>${SCRIPT}</script>
  </body>
</html>
`;
