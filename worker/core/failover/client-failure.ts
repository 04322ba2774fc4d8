/**
 * What a client can get wrong, as opposed to what an origin can: a request that cannot be forwarded,
 * or a body that never arrives whole. These are answered as the client's problem and change nothing
 * about any origin's standing or any session's pin: a request the client broke says nothing about the
 * origin it was going to.
 */

export type ClientFailureKind =
  /** A GET or HEAD with a non-empty body: the Workers runtime cannot send one (RFC 9110 §9.3.1 gives it no meaning). */
  | 'body-not-allowed'
  /** The body stream failed: the client left half way, or sent a malformed chunked body. */
  | 'body-incomplete'
  /** The client did not finish a body the worker buffers within `proxy.bodyTimeout`. */
  | 'body-timeout'
  /** The runtime refused to build the request for the origin. */
  | 'unforwardable';

export interface ClientFailure {
  kind: ClientFailureKind;
  /** The runtime's own words, for the log. */
  error: string;
}
