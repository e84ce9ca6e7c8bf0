// The yaml library, loaded on first use: only a model-config.yaml or a metrics_config file needs
// it, and loading it at startup is 15 ms of every cold start.
import { createRequire } from 'node:module';

type Yaml = typeof import('yaml');

let loaded: Yaml | null = null;

export function yamlLibrary(): Yaml {
  loaded ??= createRequire(import.meta.url)('yaml') as Yaml;
  return loaded;
}
