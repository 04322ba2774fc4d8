/**
 * The status page (`GET /_affinity/status` with `Accept: text/html`): every origin at a glance,
 * server-rendered with Hono JSX. It reloads itself every few seconds (page-layout.tsx), and a person
 * signed in with the admin session cookie can sign out from it.
 */
import type { FC } from 'hono/jsx';
import type { OriginStatus } from '../core/origin-status';
import { ConfigSummary } from './config-summary';
import { PageLayout, REFRESH_SECONDS, SignOutButton } from './page-layout';
import type { StatusReport } from './status-report';

export const StatusPage: FC<{ report: StatusReport; nonce?: string }> = ({ report, nonce }) => {
  const healthy = report.origins.filter((o) => o.health === 'healthy').length;
  const now = Date.parse(report.generatedAt);
  return (
    <PageLayout title="edge-affinity status" nonce={nonce} refreshSeconds={REFRESH_SECONDS}>
      <header>
        <h1>edge-affinity</h1>
        <SignOutButton />
      </header>
      <p class="sub" id="summary">
        {report.origins.length} origins · {healthy} healthy · health monitor {report.health.monitor}
        {report.health.inSync ? '' : ' (catching up with the configuration)'} · updated{' '}
        {report.generatedAt.slice(11, 19)} UTC, refreshes every {REFRESH_SECONDS} s
      </p>
      <Banners report={report} />
      <table>
        <thead>
          <tr>
            <th>Origin</th>
            <th>State</th>
            <th>Weight</th>
            <th>Health</th>
            <th>Last probe</th>
            <th>Latency</th>
            <th>Last error</th>
            <th>New sessions</th>
          </tr>
        </thead>
        <tbody>
          {report.origins.map((origin) => (
            <OriginRow origin={origin} now={now} />
          ))}
        </tbody>
      </table>
    </PageLayout>
  );
};

const Banners: FC<{ report: StatusReport }> = ({ report }) => (
  <>
    <ConfigSummary config={report.config} />
    {report.health.error && <p class="banner">Health monitor unreachable: {report.health.error}</p>}
  </>
);

const OriginRow: FC<{ origin: OriginStatus; now: number }> = ({ origin, now }) => (
  <tr data-origin={origin.id}>
    <td>
      <strong>{origin.id}</strong>
      <div class="url">{origin.url}</div>
    </td>
    <td class={`state-${origin.state}`}>{origin.state}</td>
    <td>{origin.weight}</td>
    <td>
      <span class={`pill ${origin.health}`}>{origin.health}</span>
      {origin.healthSince && <div class="when">since {ago(origin.healthSince, now)}</div>}
    </td>
    <td class="when">{origin.lastProbe ? ago(origin.lastProbe, now) : 'not yet'}</td>
    <td>{origin.latencyMs === null ? '—' : `${origin.latencyMs} ms`}</td>
    <td class="error">{origin.lastError ?? ''}</td>
    <td>
      {(origin.newSessionShare * 100).toFixed(1)}%
      <meter min={0} max={1} value={origin.newSessionShare} />
    </td>
  </tr>
);

function ago(iso: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}

export function renderStatusPage(report: StatusReport, nonce?: string) {
  return <StatusPage report={report} nonce={nonce} />;
}
