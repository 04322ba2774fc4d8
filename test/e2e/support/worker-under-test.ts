/**
 * The bundled worker running under Miniflare (the runtime of `wrangler dev`), with its KV namespace
 * and secrets, listening on a real port of 127.0.0.1.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Miniflare, convertV4MiniflareOptions } from 'miniflare';
import { BUNDLE_DIR, BUNDLE_ENTRY } from './build-worker';

export interface Secrets {
  AFFINITY_SECRET?: string;
  AFFINITY_SECRET_PREVIOUS?: string;
  ADMIN_TOKEN?: string;
}

export const DEFAULT_SECRETS: Secrets = { AFFINITY_SECRET: 'e2e-secret-current', ADMIN_TOKEN: 'e2e-admin-token' };

const ROOT = resolve(import.meta.dirname, '../../..');
const COMPATIBILITY_DATE = /compatibility_date\s*=\s*"([^"]+)"/.exec(
  readFileSync(join(ROOT, 'wrangler.toml'), 'utf8'),
)![1]!;

export class WorkerUnderTest {
  readonly logs: string[] = [];
  #mf!: Miniflare;
  #url!: URL;
  /** Binds the optional Analytics Engine dataset `AFFINITY_ANALYTICS` (Miniflare's local simulator). */
  #analytics = false;
  readonly #state = mkdtempSync(join(tmpdir(), 'edge-affinity-e2e-'));

  static async start(
    options: { config?: unknown; secrets?: Secrets; analytics?: boolean } = {},
  ): Promise<WorkerUnderTest> {
    const worker = new WorkerUnderTest();
    worker.#analytics = options.analytics ?? false;
    worker.#mf = new Miniflare(worker.#options(options.secrets ?? DEFAULT_SECRETS));
    worker.#url = await worker.#mf.ready;
    if (options.config !== undefined) await worker.putConfig(options.config);
    return worker;
  }

  get url(): string {
    return this.#url.origin;
  }

  fetch(path: string, init?: RequestInit): Promise<Response> {
    return fetch(new URL(path, this.#url), { redirect: 'manual', ...init });
  }

  /** Writes the configuration into KV as an operator would (`wrangler kv key put`). */
  async putConfig(config: unknown): Promise<void> {
    // Miniflare types its bindings with @cloudflare/workers-types, which this project does not install.
    const kv = (await this.#mf.getKVNamespace('ORIGINS')) as unknown as {
      put(key: string, value: string): Promise<void>;
    };
    await kv.put('config', typeof config === 'string' ? config : JSON.stringify(config));
  }

  /** Restarts the runtime with other secrets; KV (and Durable Object storage) survive, as on a redeploy. */
  async redeploy(secrets: Secrets): Promise<void> {
    await this.#mf.setOptions(this.#options(secrets));
    this.#url = await this.#mf.ready;
  }

  async dispose(): Promise<void> {
    await this.#mf.dispose();
    rmSync(this.#state, { recursive: true, force: true });
  }

  #options(secrets: Secrets) {
    return convertV4MiniflareOptions({
      host: '127.0.0.1',
      port: 0,
      scriptPath: BUNDLE_ENTRY,
      modulesRoot: BUNDLE_DIR,
      modules: true,
      compatibilityDate: COMPATIBILITY_DATE,
      kvNamespaces: { ORIGINS: 'origins' },
      durableObjects: { HEALTH_MONITOR: 'OriginHealthMonitor' },
      ...(this.#analytics
        ? { analyticsEngineDatasets: { AFFINITY_ANALYTICS: { dataset: 'edge_affinity_decisions' } } }
        : {}),
      resourcePersistencePath: this.#state,
      bindings: Object.fromEntries(Object.entries(secrets).filter(([, value]) => value !== undefined)),
      handleStructuredLogs: (log) => this.logs.push(log.message),
    });
  }
}
