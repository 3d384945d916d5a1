/**
 * `requireHardware`: which `hw` claims a verifier accepts (PROTOCOL.md §5.5, docs/ENFORCEMENT.md).
 * The verify library's option, the authorizer's REQUIRE_HARDWARE variable and the
 * AttestationAuthorizer construct's prop all go through these functions, so the construct refuses
 * at synth exactly what the function would refuse at cold start. No imports beyond the protocol's
 * constants: the CDK package and the authorizer bundle both load it.
 */
import { HARDWARE_KINDS, type HardwareKind } from './protocol';

/** `true`: any hardware evidence; a list: only these kinds; `false` (the default): none needed. */
export type HardwareRequirement = boolean | readonly HardwareKind[];

/** The authorizer function's variable (docs/ENFORCEMENT.md): `false`, `true`, or kinds separated by commas. */
export const REQUIRE_HARDWARE_ENV = 'REQUIRE_HARDWARE';

/** Every kind of hardware evidence a token can rest on, in the order docs list them. */
export const ALL_HARDWARE_KINDS: readonly HardwareKind[] = [HARDWARE_KINDS.ios, HARDWARE_KINDS.android];

/** A requirement no verifier can honour; the message reads after the option's name ("requireHardware must ..."). */
export class HardwareRequirementError extends Error {
  override readonly name = 'HardwareRequirementError';
}

/**
 * The accepted kinds, or undefined when no hardware is required. Refuses an empty list (it would deny
 * every token: `false` says "not required"), unknown kinds and a kind named twice.
 * @example
 * ```ts
 * acceptedHardwareKinds(true); // ['app-attest', 'android-key']
 * acceptedHardwareKinds(['android-key']); // ['android-key']
 * acceptedHardwareKinds(false); // undefined
 * ```
 */
export function acceptedHardwareKinds(requirement: HardwareRequirement | undefined): readonly HardwareKind[] | undefined {
  if (requirement === undefined || requirement === false) return undefined;
  if (requirement === true) return ALL_HARDWARE_KINDS;
  if (!Array.isArray(requirement)) throw new HardwareRequirementError(`must be true, false or a list of ${ALL_HARDWARE_KINDS.join(', ')}`);
  if (requirement.length === 0) {
    throw new HardwareRequirementError('must not be an empty list: it would deny every token (false, the default, requires no hardware)');
  }
  const seen = new Set<string>();
  for (const kind of requirement as readonly unknown[]) {
    if (typeof kind !== 'string' || !(ALL_HARDWARE_KINDS as readonly string[]).includes(kind)) {
      throw new HardwareRequirementError(`names "${String(kind)}", which is not a kind of hardware evidence: use ${ALL_HARDWARE_KINDS.join(' or ')}`);
    }
    if (seen.has(kind)) throw new HardwareRequirementError(`names ${kind} twice`);
    seen.add(kind);
  }
  return Object.freeze([...requirement]);
}

/**
 * REQUIRE_HARDWARE's value as written, not yet checked: absent, empty or `false` requires none;
 * `true` any; otherwise the kinds separated by commas. The authorizer's record reads it so and checks
 * the kinds with its other settings (config-authorizer.ts), in the words the construct uses.
 */
export function hardwareKindsInText(text: string | undefined): readonly HardwareKind[] | undefined {
  if (text === undefined || text === '' || text === 'false') return undefined;
  if (text === 'true') return ALL_HARDWARE_KINDS;
  return text.split(',').map((kind) => kind.trim()) as HardwareKind[];
}

/** REQUIRE_HARDWARE's value as accepted kinds (`app-attest`, `android-key`, or both), checked. */
export function hardwareRequirementFromText(text: string | undefined): readonly HardwareKind[] | undefined {
  const kinds = hardwareKindsInText(text);
  return kinds === undefined || kinds === ALL_HARDWARE_KINDS ? kinds : acceptedHardwareKinds(kinds);
}

/** The inverse of hardwareRequirementFromText: what the construct writes into REQUIRE_HARDWARE. */
export function hardwareRequirementText(kinds: readonly HardwareKind[] | undefined): string {
  return kinds === undefined ? 'false' : kinds.join(',');
}
