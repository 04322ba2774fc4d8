/**
 * The request path as logs show it: path parameters (`/cart;jsessionid=8F3A…/checkout`, RFC 3986
 * §3.3) carry session ids and tokens in Java, PHP and older frameworks, and a log is read by more
 * people, for longer, than a request. Each parameter keeps its name and loses its value
 * (`;jsessionid=…`); a parameter without a name is dropped whole (`;…`). The query is never logged.
 */
const PARAMETER = /;([^/;=]*)(=[^/;]*)?/g;
/** Names longer than this, or not a plain token, are not names: they are dropped like values. */
const NAME = /^[A-Za-z0-9._-]{1,32}$/;

export function loggedPath(pathname: string): string {
  if (!pathname.includes(';')) return pathname; // almost every path: no copy
  return pathname.replace(PARAMETER, (_, name: string, value: string | undefined) =>
    value !== undefined && NAME.test(name) ? `;${name}=…` : ';…',
  );
}
