/**
 * The status page's chart of an origin's last 15 minutes: requests per second (and failures plus 5xx
 * answers per second, in red) for each 10 s bucket, as inline SVG. No script, no external asset: the
 * page's security policy allows neither, and a chart needs neither.
 */
import type { FC } from 'hono/jsx';

const WIDTH = 200;
const HEIGHT = 44;

export interface TrafficChartProps {
  originId: string;
  series: readonly number[];
  errorSeries: readonly number[];
  /** The top of the scale, shared by every origin's chart so that their heights compare. */
  scaleMax: number;
}

export const TrafficChart: FC<TrafficChartProps> = ({ originId, series, errorSeries, scaleMax }) => {
  const peak = Math.max(0, ...series);
  const label = `${originId}: requests per second over the last 15 minutes, peak ${peak.toFixed(1)}`;
  return (
    <svg class="spark" width={WIDTH} height={HEIGHT} viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={label}>
      <title>{label}</title>
      <rect class="plot" x="0" y="0" width={WIDTH} height={HEIGHT} />
      <polygon class="area" points={`0,${HEIGHT} ${points(series, scaleMax)} ${WIDTH},${HEIGHT}`} />
      <polyline class="requests" points={points(series, scaleMax)} />
      {errorSeries.some((n) => n > 0) && <polyline class="errors" points={points(errorSeries, scaleMax)} />}
      <text class="scale" x="3" y="10">
        {formatRate(scaleMax)}/s
      </text>
    </svg>
  );
};

/** `x,y` pairs across the chart's width; 0 at the bottom, `max` at the top (1 px of margin). */
function points(series: readonly number[], max: number): string {
  const step = series.length > 1 ? WIDTH / (series.length - 1) : 0;
  const scale = max > 0 ? (HEIGHT - 2) / max : 0;
  return series.map((n, i) => `${round(i * step)},${round(HEIGHT - 1 - n * scale)}`).join(' ');
}

const round = (n: number) => Math.round(n * 10) / 10;
const formatRate = (n: number) => (n >= 10 ? String(Math.round(n)) : n.toFixed(1));
