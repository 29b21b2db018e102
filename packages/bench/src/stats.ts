/** Percentiles of one sample, and ratios of paired per-round figures. */

export interface Stats {
  median: number;
  min: number;
  max: number;
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function summarize(values: readonly number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** `numerator[i] / denominator[i]` for each round: the median and the range. */
export function ratioSummary(numerator: readonly number[], denominator: readonly number[]): Stats {
  const ratios = numerator.map((value, i) => value / (denominator[i] as number)).sort((a, b) => a - b);
  return { median: percentile(ratios, 50), min: ratios[0] as number, max: ratios[ratios.length - 1] as number };
}
