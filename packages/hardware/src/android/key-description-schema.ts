import {
  AttestationApplicationId,
  IntegerSet,
  NonStandardAuthorization,
  NonStandardAuthorizationList,
  NonStandardKeyDescription,
  id_ce_keyDescription,
} from '@peculiar/asn1-android';
import { AsnProp, AsnPropTypes, AsnType, AsnTypeTypes } from '@peculiar/asn1-schema';

export { AttestationApplicationId, id_ce_keyDescription as KEY_DESCRIPTION_OID };

/**
 * One AuthorizationList entry. @peculiar/asn1-android's NonStandardAuthorization (a CHOICE, so
 * tag order is not imposed while parsing) lacks two tags real devices send: blockMode [4] (in
 * the format's complete list) and mlDsaVariant [11] (ML-DSA keys, Android 17). Without them the
 * whole record fails to parse, so they are added here; the other ~40 tags come from the library.
 * Decorators are applied as plain calls: the repository's swc setup does not parse decorator syntax.
 */
export class AuthorizationEntry extends NonStandardAuthorization {
  blockMode?: IntegerSet;
  mlDsaVariant?: number;
}
AsnProp({ type: IntegerSet, context: 4, optional: true })(AuthorizationEntry.prototype, 'blockMode');
AsnProp({ type: AsnPropTypes.Integer, context: 11, optional: true })(AuthorizationEntry.prototype, 'mlDsaVariant');
AsnType({ type: AsnTypeTypes.Choice })(AuthorizationEntry);

/** `AuthorizationList` read as a SEQUENCE OF entries, so order can be checked instead of assumed. */
export class AuthorizationEntries extends NonStandardAuthorizationList {
  constructor(items?: AuthorizationEntry[]) {
    super(items);
    Object.setPrototypeOf(this, AuthorizationEntries.prototype);
  }
}
AsnType({ type: AsnTypeTypes.Sequence, itemType: AuthorizationEntry })(AuthorizationEntries);

/**
 * The KeyDescription extension value, in the layout shared by Keymaster (versions 1-4) and
 * KeyMint (100-500): NonStandardKeyDescription with the two lists retyped to the entries above.
 */
export class AttestationRecord extends NonStandardKeyDescription {
  override softwareEnforced = new AuthorizationEntries();
  override teeEnforced = new AuthorizationEntries();
}
AsnProp({ type: AuthorizationEntries })(AttestationRecord.prototype, 'softwareEnforced');
AsnProp({ type: AuthorizationEntries })(AttestationRecord.prototype, 'teeEnforced');
AsnType({ type: AsnTypeTypes.Sequence })(AttestationRecord);
