import { SignetError } from '../errors.ts';
import { isRecord } from './encoding.ts';

/** SLSA v1 ResourceDescriptor (the fields provenance uses). */
export interface SlsaResource {
  uri?: string;
  name?: string;
  digest?: Record<string, string>;
}

/** The predicate of `https://slsa.dev/provenance/v1`. */
export interface SlsaProvenanceV1 {
  buildDefinition: {
    buildType: string;
    externalParameters: Record<string, unknown>;
    internalParameters?: Record<string, unknown>;
    resolvedDependencies?: SlsaResource[];
  };
  runDetails: {
    builder: { id: string; version?: Record<string, string> };
    metadata?: { invocationId?: string; startedOn?: string; finishedOn?: string };
    byproducts?: SlsaResource[];
  };
}

export interface SlsaProvenanceInput {
  buildType: string;
  builderId: string;
  externalParameters?: Record<string, unknown>;
  internalParameters?: Record<string, unknown>;
  /** The source the build started from, e.g. `git+https://host/repo@refs/tags/v1.2.3` with `{gitCommit: sha}`. */
  resolvedDependencies?: SlsaResource[];
  invocationId?: string;
  startedOn?: string;
  finishedOn?: string;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z$/;

export function slsaProvenanceV1(input: SlsaProvenanceInput): SlsaProvenanceV1 {
  const metadata = {
    ...(input.invocationId ? { invocationId: input.invocationId } : {}),
    ...(input.startedOn ? { startedOn: input.startedOn } : {}),
    ...(input.finishedOn ? { finishedOn: input.finishedOn } : {}),
  };
  const predicate: SlsaProvenanceV1 = {
    buildDefinition: {
      buildType: input.buildType,
      externalParameters: input.externalParameters ?? {},
      ...(input.internalParameters ? { internalParameters: input.internalParameters } : {}),
      ...(input.resolvedDependencies?.length ? { resolvedDependencies: input.resolvedDependencies } : {}),
    },
    runDetails: {
      builder: { id: input.builderId },
      ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
    },
  };
  checkSlsaProvenanceV1(predicate);
  return predicate;
}

function fail(field: string, problem: string): never {
  throw new SignetError('CONFIG_INVALID', `SLSA provenance: ${field} ${problem}`);
}

function isUri(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(value);
}

/** The checks the SLSA v1 spec makes required; names the first field that is wrong. */
export function checkSlsaProvenanceV1(value: unknown): asserts value is SlsaProvenanceV1 {
  if (!isRecord(value)) fail('predicate', 'must be an object');
  const definition = value.buildDefinition;
  if (!isRecord(definition)) fail('buildDefinition', 'is required');
  if (typeof definition.buildType !== 'string' || !isUri(definition.buildType)) fail('buildDefinition.buildType', 'must be a URI');
  if (!isRecord(definition.externalParameters)) fail('buildDefinition.externalParameters', 'must be an object');
  const run = value.runDetails;
  if (!isRecord(run)) fail('runDetails', 'is required');
  if (!isRecord(run.builder) || typeof run.builder.id !== 'string' || !isUri(run.builder.id)) fail('runDetails.builder.id', 'must be a URI');
  const dependencies = definition.resolvedDependencies;
  if (dependencies !== undefined) {
    if (!Array.isArray(dependencies)) fail('buildDefinition.resolvedDependencies', 'must be a list');
    dependencies.forEach((entry, index) => {
      if (!isRecord(entry) || (entry.uri === undefined && entry.digest === undefined && entry.name === undefined)) {
        fail(`buildDefinition.resolvedDependencies[${index}]`, 'needs a uri, digest or name');
      }
    });
  }
  if (isRecord(run.metadata)) {
    for (const field of ['startedOn', 'finishedOn'] as const) {
      const stamp = run.metadata[field];
      if (stamp !== undefined && (typeof stamp !== 'string' || !TIMESTAMP.test(stamp)))
        fail(`runDetails.metadata.${field}`, 'must be an RFC 3339 UTC timestamp');
    }
  }
}
