import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';

export interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Scrape {
  families: Map<string, ParsedFamily>;
  series: Series[];
  /** The sum of the series of `name` that carry these labels (among others); 0 when there is none. */
  value(name: string, labels?: Record<string, string>): number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^[+-]?(\d+(\.\d*)?([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|nan)$/i;

/**
 * Parses a /metrics answer with parse-prometheus-text-format (it throws on a malformed line), and
 * checks what it lets through: names, label names, numeric values, a TYPE for every family.
 * The package folds a labelled histogram's series into one, so histograms are read a second time
 * as their plain `_bucket`, `_sum` and `_count` series.
 */
export function parseMetrics(text: string): Scrape {
  const families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
  const histograms = [...families.values()].filter((f) => f.type === 'HISTOGRAM').map((f) => f.name);
  const untyped = histograms.reduce((t, name) => t.replace(`# TYPE ${name} histogram`, `# TYPE ${name} untyped`), text);
  const series: Series[] = [];
  for (const family of parsePrometheusTextFormat(untyped)) {
    if (!METRIC_NAME.test(family.name)) throw new Error(`metric name ${family.name} is not valid`);
    for (const sample of family.metrics) {
      const labels = sample.labels ?? {};
      for (const label of Object.keys(labels)) {
        if (!LABEL_NAME.test(label)) throw new Error(`label name ${label} of ${family.name} is not valid`);
      }
      if (sample.value === undefined || !FLOAT.test(sample.value)) {
        throw new Error(`${family.name} ${JSON.stringify(labels)} has a value that is not a number: ${sample.value}`);
      }
      series.push({ name: family.name, labels, value: Number(sample.value) });
    }
  }
  for (const family of families.values()) {
    if (family.type === 'UNTYPED') throw new Error(`${family.name} has no TYPE line`);
  }
  return {
    families,
    series,
    value(name, wanted = {}) {
      const matching = series.filter(
        (s) => s.name === name && Object.entries(wanted).every(([k, v]) => s.labels[k] === v),
      );
      return matching.reduce((sum, s) => sum + s.value, 0);
    },
  };
}
