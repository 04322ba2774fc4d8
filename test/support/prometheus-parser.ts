/**
 * The Prometheus text parser from npm (a port of the Prometheus Python client's parser, output shaped
 * like prom2json's), typed for the tests: the package ships no types.
 */
// @ts-expect-error -- parse-prometheus-text-format has no type declarations
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export interface ParsedSample {
  value?: string;
  labels?: Record<string, string>;
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
}

export interface ParsedFamily {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: ParsedSample[];
}

export function parsePrometheus(text: string): ParsedFamily[] {
  return (parsePrometheusTextFormat as (text: string) => ParsedFamily[])(text);
}

/** The value of one sample of a family, found by its labels; throws when the family or sample is absent. */
export function sampleValue(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  if (!family) throw new Error(`no metric family ${name}`);
  const sample = family.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (!sample) throw new Error(`no sample of ${name} with ${JSON.stringify(labels)}`);
  return Number(sample.value ?? sample.count);
}

/**
 * The samples of a histogram family one label set at a time. The parser merges every label set of a
 * histogram into one (it keeps only `le`), so the family is parsed again without its TYPE line: its
 * `_bucket`, `_sum` and `_count` lines then come back as plain samples, every label intact.
 */
export function histogramSamples(text: string, name: string, labels: Record<string, string>) {
  const untyped = parsePrometheus(text.replace(`# TYPE ${name} histogram\n`, ''));
  const matching = (suffix: string) =>
    untyped
      .filter((f) => f.name === `${name}${suffix}`)
      .flatMap((f) => f.metrics)
      .filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return {
    buckets: Object.fromEntries(matching('_bucket').map((m) => [m.labels!.le!, Number(m.value)])),
    sum: Number(matching('_sum')[0]?.value),
    count: Number(matching('_count')[0]?.value),
  };
}
