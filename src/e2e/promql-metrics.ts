// What a PromQL query reads and what a /metrics page offers, to check dashboards, autoscaler rules
// and KEDA queries against a real Lantern: the metric names in an expression, and the sample names
// and label names of a Prometheus text exposition.

// PromQL's functions, aggregations and keywords: identifiers that are not metric names.
const PROMQL_WORDS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset',
  'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'histogram_quantile', 'clamp_min', 'clamp_max', 'clamp',
  'abs', 'ceil', 'floor', 'round', 'sqrt', 'exp', 'ln', 'log2', 'log10', 'absent', 'vector', 'scalar', 'time',
  'avg_over_time', 'max_over_time', 'min_over_time', 'sum_over_time', 'count_over_time', 'last_over_time',
  'label_replace', 'label_join', 'sort', 'sort_desc', 'label_values', 'inf', 'nan',
]);

/**
 * The metric names an expression selects. Quoted strings, label matchers `{...}`, ranges `[...]`,
 * grouping lists `by (...)`, Grafana's `$variables` and label_values' label are removed first; what is left that is an
 * identifier and not a PromQL word is a metric name (`{__name__=~"x"}` selectors are read too).
 */
export function metricNamesIn(expr: string): string[] {
  const names = new Set<string>();
  for (const m of expr.matchAll(/__name__\s*=~?\s*"\^?([a-zA-Z_:][a-zA-Z0-9_:]*)\$?"/g)) names.add(m[1] as string);
  const stripped = expr
    // Grafana's label_values(metric, label): the second argument is a label.
    .replace(/label_values\(\s*([^,]+),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)/g, ' $1 ')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/<<[^>]*>>/g, ' ')
    .replace(/\$\{?[a-zA-Z_]+\}?/g, ' ');
  for (const m of stripped.matchAll(/(?<![a-zA-Z0-9_:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![a-zA-Z0-9_:])/g)) {
    const word = m[1] as string;
    if (!PROMQL_WORDS.has(word)) names.add(word);
  }
  return [...names];
}

/** A scraped exposition: each sample name with the label names it carries. */
export class Exposition {
  readonly samples = new Map<string, Set<string>>();
  readonly families = new Map<string, string>();

  constructor(readonly text: string) {
    for (const line of text.split('\n')) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type !== null) {
        this.families.set(type[1] as string, type[2] as string);
        continue;
      }
      if (line === '' || line.startsWith('#')) continue;
      const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
      if (sample === null) throw new Error(`not a sample line: ${line}`);
      const labels = this.samples.get(sample[1] as string) ?? new Set<string>();
      for (const l of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(l[1] as string);
      this.samples.set(sample[1] as string, labels);
    }
  }

  /** True when the name is a family declared on the page or one of a histogram's series. */
  offers(name: string): boolean {
    if (this.families.has(name)) return true;
    const base = name.replace(/_(bucket|sum|count)$/, '');
    return base !== name && this.families.get(base) === 'histogram';
  }
}
