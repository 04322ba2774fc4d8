/**
 * The status page's account of the configuration: which one is in force here, where it came from,
 * and, when KV holds nothing usable, what is wrong with it and what stays in force instead.
 */
import type { FC } from 'hono/jsx';
import { CONFIG_KEY } from '../config/config-source';
import type { ConfigReport } from './status-report';

type InForce = NonNullable<ConfigReport['inForce']>;
type KvFailure = Extract<ConfigReport['kv'], { ok: false }>;

const SOURCES: Record<InForce['source'], string> = {
  kv: 'from KV',
  admin: 'from the admin API',
  'last-good': 'the last good one, kept by the health monitor',
};

export const ConfigSummary: FC<{ config: ConfigReport }> = ({ config }) => (
  <>
    {config.inForce ? (
      <InForceLine inForce={config.inForce} />
    ) : (
      <p class="banner">No configuration in force: put one under the KV key "{CONFIG_KEY}".</p>
    )}
    {!config.kv.ok && <KvBanner kv={config.kv} inForce={!!config.inForce} />}
  </>
);

const InForceLine: FC<{ inForce: InForce }> = ({ inForce: { source, lastGood, appliedAt, etag } }) => (
  <p class="sub" id="config">
    Configuration {SOURCES[source]}
    {lastGood &&
      ` (${lastGood.source === 'kv' ? 'read from KV' : 'stored by the admin API'}, adopted ${utc(lastGood.adoptedAt)})`}
    {` · applied ${utc(appliedAt)} · ETag ${etag}`}
  </p>
);

const KvBanner: FC<{ kv: KvFailure; inForce: boolean }> = ({ kv, inForce }) => {
  const stays = inForce ? '; the last good one stays in force.' : '.';
  switch (kv.failure) {
    case 'invalid':
      return (
        <p class="banner" id="kv-problem">
          The configuration in KV was refused ({kv.problems.length} problem(s)){stays} First: {kv.problems[0]?.path}{' '}
          {kv.problems[0]?.message}
        </p>
      );
    case 'unreadable':
      return (
        <p class="banner" id="kv-problem">
          KV could not be read since {utc(kv.since)} ({kv.reason}){stays}
        </p>
      );
    case 'missing':
      // Before the first configuration, the banner above says all there is to say.
      if (!inForce) return null;
      return (
        <p class="banner" id="kv-problem">
          The KV key "{CONFIG_KEY}" is missing{stays}
        </p>
      );
  }
};

function utc(iso: string): string {
  return `${iso.slice(0, 19).replace('T', ' ')} UTC`;
}
