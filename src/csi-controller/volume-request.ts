// Pure: reading CSI Controller requests into the provisioning core's vocabulary (capabilities,
// capacity, StorageClass parameters, the claim facts a subDir template may use).
import { createHash } from 'node:crypto';
import { describeProblem, readCapability } from '../csi/capabilities.ts';
import type { CapacityRange__Output } from '../csi/generated/csi/v1/CapacityRange.ts';
import type { ValidateVolumeCapabilitiesRequest__Output } from '../csi/generated/csi/v1/ValidateVolumeCapabilitiesRequest.ts';
import type { ValidateVolumeCapabilitiesResponse } from '../csi/generated/csi/v1/ValidateVolumeCapabilitiesResponse.ts';
import { invalidArgument } from '../errors.ts';
import { parseClassParameters } from '../provisioning/parameters.ts';
import type { ClaimFacts } from '../provisioning/types.ts';
import { quote } from '../text.ts';

/** external-provisioner adds parameters with this prefix (--extra-create-metadata); they are not ours. */
export const provisionerMetadataPrefix = 'csi.storage.k8s.io/';
const pvcNameKey = `${provisionerMetadataPrefix}pvc/name`;
const pvcNamespaceKey = `${provisionerMetadataPrefix}pvc/namespace`;
const pvNameKey = `${provisionerMetadataPrefix}pv/name`;

/** Namespace the template sees when the request carries no claim (csi-sanity, a bare CO). */
export const unclaimedNamespace = 'csi';
/**
 * Template used without claim facts and without a subDir parameter: the default template repeats
 * the name (`csi-NAME-NAME`), which overflows a 255-byte directory name for a 128-byte CSI name.
 */
export const unclaimedSubDirTemplate = '${pv.metadata.name}';

export const defaultCapacityBytes = 1n << 30n;

export interface CapacityRequest {
  required: bigint;
  /** 0 = no limit. */
  limit: bigint;
}

function bytes(field: string, value: string | undefined): bigint {
  if (value === undefined || value === '') return 0n;
  if (!/^-?\d+$/.test(value))
    throw invalidArgument(`${field} ${quote(value)} is not a whole number of bytes`);
  const parsed = BigInt(value);
  if (parsed < 0n) throw invalidArgument(`${field} ${value} must not be negative`);
  return parsed;
}

/** Checks a capacity_range; a missing range is "no preference" (0/0). */
export function readCapacityRange(range: CapacityRange__Output | null | undefined): CapacityRequest {
  const required = bytes('capacity_range.required_bytes', range?.required_bytes);
  const limit = bytes('capacity_range.limit_bytes', range?.limit_bytes);
  if (limit !== 0n && limit < required) {
    throw invalidArgument(`capacity_range.limit_bytes ${limit} is smaller than required_bytes ${required}`);
  }
  return { required, limit };
}

/** The size Warren records for a request: required, else the limit, else the default. */
export function capacityFor(request: CapacityRequest, fallback = defaultCapacityBytes): bigint {
  if (request.required > 0n) return request.required;
  if (request.limit > 0n) return request.limit;
  return fallback;
}

export function capacityFits(capacity: bigint, request: CapacityRequest): boolean {
  return capacity >= request.required && (request.limit === 0n || capacity <= request.limit);
}

export interface ProvisionerMetadata {
  pvcName?: string;
  pvcNamespace?: string;
  pvName?: string;
}

/** Splits request parameters into StorageClass parameters and external-provisioner's claim metadata. */
export function splitParameters(parameters: Record<string, string>): {
  classParameters: Record<string, string>;
  metadata: ProvisionerMetadata;
} {
  const classParameters: Record<string, string> = {};
  for (const [key, value] of Object.entries(parameters)) {
    if (!key.startsWith(provisionerMetadataPrefix)) classParameters[key] = value;
  }
  const metadata: ProvisionerMetadata = {};
  if (parameters[pvcNameKey]) metadata.pvcName = parameters[pvcNameKey];
  if (parameters[pvcNamespaceKey]) metadata.pvcNamespace = parameters[pvcNamespaceKey];
  if (parameters[pvNameKey]) metadata.pvName = parameters[pvNameKey];
  return { classParameters, metadata };
}

/** `pvc-<uid>` (external-provisioner's default volume name) gives back the claim's uid. */
const claimUidInName = /^pvc-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** A stable UUID-shaped stand-in for a claim uid, derived from the CSI volume name. */
export function uidFromName(name: string): string {
  const fromName = claimUidInName.exec(name)?.[1];
  if (fromName) return fromName;
  const hex = createHash('sha256').update(name).digest('hex');
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20, 32)].join(
    '-',
  );
}

/**
 * What the subDir template sees for a CSI CreateVolume. With external-provisioner's claim metadata:
 * the claim's namespace and name, PV name = the metadata's PV name (else the CSI name). Without it:
 * namespace `csi`, claim name and PV name = the CSI name. The uid comes from the name either way.
 */
export function claimFactsFor(
  name: string,
  metadata: ProvisionerMetadata,
): { claim: ClaimFacts; pvName: string; claimed: boolean } {
  const claimed = metadata.pvcName !== undefined && metadata.pvcNamespace !== undefined;
  return {
    claim: {
      namespace: claimed ? (metadata.pvcNamespace ?? '') : unclaimedNamespace,
      name: claimed ? (metadata.pvcName ?? '') : name,
      uid: uidFromName(name),
      labels: {},
      annotations: {},
    },
    pvName: metadata.pvName ?? name,
    claimed,
  };
}

/** Adds the unclaimed default template when the request has neither claim facts nor a subDir. */
export function withUnclaimedDefault(classParameters: Record<string, string>, claimed: boolean) {
  const hasSubDir = Object.keys(classParameters).some((key) => key.toLowerCase() === 'subdir');
  return claimed || hasSubDir ? classParameters : { ...classParameters, subDir: unclaimedSubDirTemplate };
}

/**
 * ValidateVolumeCapabilities for a volume known to exist: confirmed when Warren can serve every
 * capability and the parameters (if any) are valid; otherwise unconfirmed with the reason.
 */
export function answerValidation(
  request: ValidateVolumeCapabilitiesRequest__Output,
): ValidateVolumeCapabilitiesResponse {
  const problems = request.volume_capabilities.flatMap((capability, index) => {
    const reading = readCapability(capability);
    return reading.ok ? [] : [describeProblem(`volume_capabilities[${index}]`, reading.problem)];
  });
  if (problems.length > 0) return { message: problems.join('; ') };
  if (Object.keys(request.mutable_parameters).length > 0) {
    return { message: 'mutable_parameters are not supported (Warren has no MODIFY_VOLUME capability)' };
  }
  if (Object.keys(request.parameters).length > 0) {
    try {
      parseClassParameters(splitParameters(request.parameters).classParameters);
    } catch (err) {
      return { message: (err as Error).message };
    }
  }
  return {
    confirmed: {
      volume_context: request.volume_context,
      volume_capabilities: request.volume_capabilities,
      parameters: request.parameters,
    },
  };
}
