/**
 * How the admin API changes the configuration, whether it replaces it (`PUT /_affinity/config`) or
 * changes one origin (`PATCH /_affinity/origins/<id>`): If-Match checked against what KV holds now,
 * stored in KV through the configuration's one source, applied in this isolate at once, handed to the
 * health coordinator. Nothing invalid ever reaches here: callers validate first.
 */
import type { Context } from 'hono';
import type { AppEnv } from '../bindings';
import { logConfigFailure, readConfigText, storeConfig } from '../config/config-source';
import type { Config } from '../core/config/config-schema';
import { coordinatorOf } from '../monitor/monitor-client';
import type { IsolateState } from '../isolate-state';
import { errorMessage, logEvent } from '../log';
import { encodeBase64Url } from '../core/text/base64url';

export type Refusal = { status: 412 | 503; error: string };

export type Commit = { ok: true; text: string; etag: string } | ({ ok: false } & Refusal);

/** If-Match compares with what KV holds now, read through the same source as every other reader. */
export async function ifMatchRefusal(kv: KVNamespace, ifMatch: string | undefined): Promise<Refusal | undefined> {
  if (ifMatch === undefined) return undefined;
  const stored = await readConfigText(kv);
  if (!stored.ok && stored.failure === 'unreadable') {
    logConfigFailure('error', stored, { reader: 'if-match' });
    return { status: 503, error: 'the stored configuration could not be read to check If-Match; nothing changed' };
  }
  if (ifMatchHolds(ifMatch, stored.ok ? await etagOf(stored.text) : null)) return undefined;
  return { status: 412, error: 'the stored configuration changed since it was read (If-Match failed)' };
}

export interface CommitOptions {
  /** What the change was, for the `config.updated` log line: `admin` (a PUT) or `admin-patch`. */
  via: 'admin' | 'admin-patch';
}

/** Checks If-Match, stores, applies here at once, tells the health monitor. */
export async function commitConfig(
  c: Context<AppEnv>,
  isolate: IsolateState,
  config: Config,
  { via }: CommitOptions,
): Promise<Commit> {
  const refusal = await ifMatchRefusal(c.env.ORIGINS, c.req.header('if-match'));
  if (refusal) return { ok: false, ...refusal };
  const stored = await storeConfig(c.env.ORIGINS, config);
  if (!stored.ok) {
    logEvent('error', 'config.store-failed', { error: stored.reason });
    return { ok: false, status: 503, error: 'the configuration could not be stored in KV; nothing changed' };
  }
  isolate.config.apply(config, stored.text, Date.now());
  logEvent('info', 'config.updated', { via, origins: config.origins.length });
  await tellMonitor(c, stored.text);
  return { ok: true, text: stored.text, etag: await etagOf(stored.text) };
}

/** The coordinator adopts the stored text, and keeps it as the last good configuration. */
async function tellMonitor(c: Context<AppEnv>, text: string): Promise<void> {
  try {
    await coordinatorOf(c.env.HEALTH_MONITOR).configure(text);
  } catch (error) {
    // Stored and applied all the same: the coordinator reads KV when isolates or the cron ask it to.
    logEvent('warn', 'health.configure-failed', { error: errorMessage(error) });
  }
}

/**
 * The entity tag of a stored configuration, so that an operator's read-modify-write can say "only if
 * nobody changed it since I read it" (`If-Match`, RFC 9110 §13.1.1) instead of silently overwriting a
 * colleague's change.
 */
export async function etagOf(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return `"${encodeBase64Url(new Uint8Array(digest)).slice(0, 22)}"`;
}

/** Strong comparison: `*` matches any stored value; weak tags never match. */
export function ifMatchHolds(ifMatch: string, current: string | null): boolean {
  if (current === null) return false;
  return ifMatch
    .split(',')
    .map((tag) => tag.trim())
    .some((tag) => tag === '*' || tag === current);
}
