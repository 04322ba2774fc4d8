/**
 * The status page (`GET /_affinity/status` with `Accept: text/html`): every origin at a glance, its
 * health and its traffic across the fleet (requests per second, error rate, latency, sessions, moves,
 * share of new sessions, a chart of 15 minutes), server-rendered with Hono JSX. It reloads itself every few seconds (page-layout.tsx), and a person
 * signed in with the admin session cookie can sign out from it.
 */
import type { FC } from 'hono/jsx';
import type { OriginFigures } from '../core/fleet/fleet-figures';
import { ConfigSummary } from './config-summary';
import { PageLayout, REFRESH_SECONDS, SignOutButton } from './page-layout';
import type { OriginReport, StatusReport } from './status-report';
import { TrafficChart } from './traffic-chart';

export const StatusPage: FC<{ report: StatusReport; nonce?: string }> = ({ report, nonce }) => {
  const healthy = report.origins.filter((o) => o.health === 'healthy').length;
  const now = Date.parse(report.generatedAt);
  const scaleMax = Math.max(1, ...report.origins.flatMap((o) => o.live?.series ?? []));
  return (
    <PageLayout title="edge-affinity status" nonce={nonce} refreshSeconds={REFRESH_SECONDS}>
      <header>
        <h1>edge-affinity</h1>
        <SignOutButton />
      </header>
      <p class="sub" id="summary">
        {report.origins.length} origins · {healthy} healthy · health monitor {report.health.monitor}
        {report.health.inSync ? '' : ' (catching up with the configuration)'}
        {report.fleet.activeSessions !== null && ` · ${report.fleet.activeSessions} active sessions`} · updated{' '}
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
            <th>Traffic</th>
            <th>Sessions</th>
            <th>Last 15 min</th>
          </tr>
        </thead>
        <tbody>
          {report.origins.map((origin) => (
            <OriginRow origin={origin} now={now} scaleMax={scaleMax} />
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
    {report.fleet.error && <p class="banner">Traffic figures unavailable (fleet aggregator): {report.fleet.error}</p>}
  </>
);

const OriginRow: FC<{ origin: OriginReport; now: number; scaleMax: number }> = ({ origin, now, scaleMax }) => (
  <tr data-origin={origin.id}>
    <td>
      <strong>{origin.id}</strong>
      <div class="url">{origin.url}</div>
    </td>
    <td class={`state-${origin.state}`}>
      {origin.state}
      {origin.stateSetBy === 'origin' && <SaidByOrigin since={origin.control?.drainingSince ?? null} now={now} />}
    </td>
    <td>
      {origin.weight}
      {origin.weightSetBy === 'origin' && (
        <div class="when">
          {origin.configured.weight} × {origin.control?.weightPercent}%
        </div>
      )}
      {origin.weightSetBy === 'origin' && <SaidByOrigin since={origin.control?.weightSince ?? null} now={now} />}
    </td>
    <td>
      <span class={`pill ${origin.health}`}>{origin.health}</span>
      {origin.healthSince && <div class="when">since {ago(origin.healthSince, now)}</div>}
    </td>
    <td class="when">{origin.lastProbe ? ago(origin.lastProbe, now) : 'not yet'}</td>
    <td>{origin.latencyMs === null ? '—' : `${origin.latencyMs} ms`}</td>
    <td class="error">{origin.lastError ?? ''}</td>
    <td class="share">
      {percent(origin.newSessionShare)}
      <meter min={0} max={1} value={origin.newSessionShare} />
      <div class="when">took {origin.live?.newSessionShare == null ? '—' : percent(origin.live.newSessionShare)}</div>
    </td>
    {origin.live ? <LiveCells origin={origin.id} live={origin.live} scaleMax={scaleMax} /> : <NoFigures />}
  </tr>
);

/** A state or weight the origin set itself with `Affinity-Control`, not the operator. */
const SaidByOrigin: FC<{ since: string | null; now: number }> = ({ since, now }) => (
  <div class="when said-by-origin">said by the origin{since && `, ${ago(since, now)}`}</div>
);

/** Requests/s, error rate and latency; active sessions and moves; the chart. Rates cover the last minute. */
const LiveCells: FC<{ origin: string; live: OriginFigures; scaleMax: number }> = ({ origin, live, scaleMax }) => (
  <>
    <td class="traffic">
      <div class="rps">{live.requestsPerSecond.toFixed(1)} req/s</div>
      <div class={live.errorRate ? 'error' : 'when'}>
        {live.errorRate === null ? 'no errors' : `${percent(live.errorRate)} errors`}
      </div>
      <div class="when">{live.p50Ms === null ? 'p50 —' : `p50 ${ms(live.p50Ms)} · p95 ${ms(live.p95Ms!)}`}</div>
    </td>
    <td class="sessions">
      <div class="active">{live.activeSessions} active</div>
      <div class="when">{live.moves} moved in</div>
    </td>
    <td>
      <TrafficChart originId={origin} series={live.series} errorSeries={live.errorSeries} scaleMax={scaleMax} />
    </td>
  </>
);

const NoFigures: FC = () => (
  <>
    <td class="when">—</td>
    <td class="when">—</td>
    <td class="when">—</td>
  </>
);

const percent = (fraction: number) => `${(fraction * 100).toFixed(1)}%`;
const ms = (value: number) => (value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`);

function ago(iso: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 120) return `${seconds} s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}

export function renderStatusPage(report: StatusReport, nonce?: string) {
  return <StatusPage report={report} nonce={nonce} />;
}
