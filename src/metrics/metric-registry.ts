// The families that `/metrics` shows, in registration order; one family per name.
import { renderFamilies, type MetricFamily } from './prometheus-text.js';

export class MetricRegistry {
  private readonly families = new Map<string, MetricFamily>();

  /** Adds a family; throws when the name is taken. */
  register<F extends MetricFamily>(family: F): F {
    if (this.families.has(family.name)) throw new Error(`Metric ${family.name} is already registered`);
    this.families.set(family.name, family);
    return family;
  }

  has(name: string): boolean {
    return this.families.has(name);
  }

  /** Prometheus text; `names` (the `name[]` query values) filters samples by name when not empty. */
  render(names: Iterable<string> = []): string {
    return renderFamilies(this.families.values(), new Set(names));
  }
}
