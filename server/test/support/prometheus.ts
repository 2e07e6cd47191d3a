/**
 * Reads a /metrics answer with a real Prometheus text-format parser (prom2javascript), and looks
 * samples up by name and labels; a series that is not there reads 0, as a counter never moved would.
 */
import { Readable } from 'node:stream';
import { getMetricsFromStream, type PromHistogramData, type PromData, type PromMetrics } from 'prom2javascript';

export class Scrape {
  private constructor(readonly families: PromMetrics) {}

  /**
   * prom2javascript reads numbers only, not NaN, which Prometheus reads (case-insensitively, as Go's
   * ParseFloat does) and prom-client writes for Node's event-loop lag before its first sample: those
   * samples are left out, and nothing of ours is ever NaN.
   */
  static async parse(text: string): Promise<Scrape> {
    const lines = text.split('\n').filter((line) => !/\snan$/i.test(line));
    return new Scrape(await getMetricsFromStream(Readable.from([lines.join('\n')])));
  }

  private series<T extends { labels: Record<string, string> }>(name: string, labels: Record<string, string>): T | undefined {
    const family = this.families[name];
    if (!family) throw new Error(`no metric ${name} in the scrape`);
    return (family.data as unknown as T[]).find((series) => Object.entries(labels).every(([key, value]) => series.labels[key] === value));
  }

  /** A counter's or gauge's value. */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.series<PromData>(name, labels)?.value ?? 0;
  }

  /** A histogram's count and sum. */
  histogram(name: string, labels: Record<string, string> = {}): { count: number; sum: number } {
    const series = this.series<PromHistogramData>(name, labels);
    return { count: series?.count ?? 0, sum: series?.sum ?? 0 };
  }

  /** Every label set of a metric. */
  labelsOf(name: string): Record<string, string>[] {
    return (this.families[name]?.data ?? []).map((series) => series.labels);
  }
}
