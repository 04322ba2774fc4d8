/**
 * The metric names a PromQL expression selects, read with the grammar the Prometheus web UI itself
 * parses PromQL with (@prometheus-io/lezer-promql): a name is the identifier of a vector selector,
 * never a function, an aggregation, a label or a duration that merely looks like one.
 */
import { parser } from '@prometheus-io/lezer-promql';

/**
 * A Grafana query as Prometheus would get it: the interval variables stand where PromQL wants a
 * duration, and any duration parses the same (other variables stand inside label values).
 */
export function asPromQL(query: string): string {
  return query.replace(/\$__(rate_interval|interval|range)\b/g, '5m');
}

/** Every metric name `expr` selects; throws, with where, when it is not PromQL. */
export function metricNamesOf(expr: string): string[] {
  const text = asPromQL(expr);
  const names: string[] = [];
  parser.parse(text).iterate({
    enter(node) {
      if (node.type.isError) {
        throw new Error(
          `not PromQL at ${node.from}: ${JSON.stringify(text.slice(node.from, node.from + 40))} in ${text}`,
        );
      }
      if (node.name !== 'VectorSelector') return;
      const identifier = node.node.getChild('Identifier');
      // `{__name__="…"}` would hide a name from this check: the files name every metric plainly.
      if (!identifier) throw new Error(`a selector without a metric name: ${text.slice(node.from, node.to)}`);
      names.push(text.slice(identifier.from, identifier.to));
    },
  });
  return names;
}
